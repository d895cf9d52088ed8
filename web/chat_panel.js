// SPDX-License-Identifier: MIT
// Text chat and the device command box on the page: the chat panel and its toggle, the
// control box, and the data channels behind them (one `duet-chat` per connection, one
// `duet-control` per device). Everything received is shown as text, never as HTML.

import {
  CHAT_LABEL,
  clockText,
  CONTROL_LABEL,
  encodeChat,
  parseChat,
  senderLabel,
  unreadText,
  validateChat,
  validateControl,
  YOU,
} from './chat.js';
import { icon } from './ui.js';

/** Messages kept on screen; older ones are dropped from the top. */
const MAX_LINES = 500;

/** A plain element: `el('p', {className: 'x', textContent: 'y'})`, attributes via `attrs`. */
function el(tag, props = {}, attrs = {}) {
  const node = Object.assign(document.createElement(tag), props);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

/** A name, isolated so a right-to-left one cannot reorder what is around it. */
function nameNode(text, className) {
  return el('bdi', { className, textContent: text }, { dir: 'auto' });
}

const bubbleIcon = () => icon([['path', { d: 'M4 5h16v11H9l-5 4z' }]]);

/** Keeps a log scrolled to its newest line, unless the reader scrolled up to read. */
function appendLine(log, node) {
  const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(node);
  while (log.children.length > MAX_LINES) log.firstElementChild.remove();
  if (atEnd) log.scrollTop = log.scrollHeight;
}

export class ChatPanel {
  /** @type {Map<string, RTCDataChannel>} peer id -> the chat channel of its current link */
  #chat = new Map();
  /** @type {Map<string, RTCDataChannel>} peer id -> the control channel of a device */
  #control = new Map();
  #unread = 0;
  #nameOf;
  #notify;

  /**
   * @param {{nameOf: (id: string) => string, notify: (message: any) => void}} opts
   *   nameOf: a peer's display name ('' when none); notify: shows a short notice
   */
  constructor({ nameOf, notify }) {
    this.#nameOf = nameOf;
    this.#notify = notify;
    this.#buildToggle();
    this.#buildPanel();
    this.#buildControlBox();
  }

  // ---- channels ----

  /** A data channel of the link to `id`: chat, a device's control channel, or ignored. */
  addChannel(id, channel) {
    if (channel.label === CHAT_LABEL) this.#addChat(id, channel);
    else if (channel.label === CONTROL_LABEL) this.#addControl(id, channel);
    else console.warn('duet: ignoring a data channel', JSON.stringify(channel.label), 'from', id);
  }

  /** The link to `id` is gone for good (left, expired, or we left the room). */
  removePeer(id) {
    this.#chat.delete(id);
    this.#dropControl(id);
  }

  /** Out of the room: no channels, an empty chat, no command box. */
  reset() {
    this.#chat.clear();
    for (const id of [...this.#control.keys()]) this.#dropControl(id);
    this.log.replaceChildren();
    this.controlLog.replaceChildren();
    this.#setUnread(0);
    this.#setError(this.error, this.input, '');
  }

  #addChat(id, channel) {
    // A new link to `id` (the old one was closed, which fires no `close` on its channels):
    // a device's box stays only if its channel still works; its new link brings a new one.
    if (this.#control.get(id)?.readyState === 'closed') this.#dropControl(id);
    this.#chat.set(id, channel);
    channel.onmessage = (e) => {
      const msg = parseChat(e.data);
      if (!msg) {
        console.warn('duet: ignoring a chat message from', id, 'that is not {"type":"chat","text":...}');
        return;
      }
      const name = senderLabel(this.#nameOf(id));
      this.#showMessage(name, msg.text, Date.now(), false);
      if (!this.open) {
        this.#setUnread(this.#unread + 1);
        this.#notify([`New message from `, { name }, '.']);
      }
    };
  }

  #addControl(id, channel) {
    const old = this.#control.get(id);
    if (old && old !== channel) old.onclose = null;
    this.#control.set(id, channel);
    channel.onmessage = (e) => {
      if (typeof e.data !== 'string') {
        console.warn('duet: ignoring a binary message on the control channel of', id);
        return;
      }
      this.#controlLine(senderLabel(this.#nameOf(id)), e.data, 'device');
    };
    channel.onclose = () => {
      if (this.#control.get(id) === channel) this.#dropControl(id);
    };
    this.#renderDevices();
  }

  #dropControl(id) {
    const channel = this.#control.get(id);
    if (!channel) return;
    channel.onmessage = null;
    channel.onclose = null;
    this.#control.delete(id);
    this.#renderDevices();
  }

  // ---- the chat panel ----

  get open() {
    return !this.panel.hidden;
  }

  #buildToggle() {
    this.toggle = el(
      'button',
      { type: 'button', className: 'ctl chat-toggle' },
      { 'data-testid': 'chat-toggle', 'aria-expanded': 'false', 'aria-controls': 'chat-panel', 'aria-label': 'Chat' },
    );
    this.unread = el('span', { className: 'chat-unread', hidden: true }, { 'data-testid': 'chat-unread', 'aria-hidden': 'true' });
    this.toggle.append(bubbleIcon(), el('span', { className: 'ctl-label', textContent: 'Chat' }), this.unread);
    this.toggle.addEventListener('click', () => (this.open ? this.close() : this.show()));
    const controls = document.getElementById('controls');
    controls.insertBefore(this.toggle, document.getElementById('leave-button'));
  }

  #buildPanel() {
    this.panel = el('aside', { id: 'chat-panel', className: 'chat-panel', hidden: true }, { 'aria-labelledby': 'chat-title' });
    const head = el('div', { className: 'side-head' });
    const close = el('button', { type: 'button', className: 'btn btn-ghost side-close', textContent: 'Close' }, { 'aria-label': 'Close chat' });
    close.addEventListener('click', () => this.close());
    head.append(el('h2', { id: 'chat-title', textContent: 'Chat' }), close);
    this.log = el(
      'div',
      { className: 'side-log chat-log', tabIndex: 0 },
      { 'data-testid': 'chat-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Chat messages' },
    );
    const hint = el('p', { className: 'hint', textContent: 'Messages go to everyone in the call and are not saved.' });
    const form = el('form', { className: 'side-form' }, { novalidate: '' });
    this.input = el(
      'textarea',
      { id: 'chat-input', className: 'side-input', rows: 2, maxLength: 2000, placeholder: 'Message everyone' },
      { 'data-testid': 'chat-input', dir: 'auto', 'aria-label': 'Message', 'aria-describedby': 'chat-error' },
    );
    const send = el('button', { type: 'submit', className: 'btn btn-primary', textContent: 'Send' }, { 'data-testid': 'chat-send' });
    form.append(this.input, send);
    this.error = el('p', { id: 'chat-error', className: 'field-error' }, { 'data-testid': 'chat-error', role: 'alert' });
    this.panel.append(head, this.log, hint, form, this.error);
    document.body.append(this.panel);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#sendChat();
    });
    this.input.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter is a new line; Enter while composing (IME) is neither.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.#sendChat();
      }
    });
    this.input.addEventListener('input', () => this.#setError(this.error, this.input, ''));
    this.panel.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      this.close();
    });
  }

  show() {
    this.panel.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
    this.#setUnread(0);
    this.log.scrollTop = this.log.scrollHeight;
    this.input.focus();
  }

  close() {
    const hadFocus = this.panel.contains(document.activeElement);
    this.panel.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
    if (hadFocus || document.activeElement === document.body) this.toggle.focus();
  }

  #sendChat() {
    const result = validateChat(this.input.value);
    if (!result.ok) {
      this.#setError(this.error, this.input, result.message);
      return;
    }
    const open = [...this.#chat.values()].filter((c) => c.readyState === 'open');
    if (open.length === 0) {
      this.#setError(this.error, this.input, 'Nobody can read it yet: chat starts once someone is connected to the call.');
      return;
    }
    const wire = encodeChat(result.text);
    let sent = 0;
    for (const channel of open) {
      try {
        channel.send(wire);
        sent += 1;
      } catch (err) {
        console.warn('duet: a chat message could not be sent on one connection', err);
      }
    }
    if (sent === 0) {
      this.#setError(this.error, this.input, 'The message could not be sent. Try again in a moment.');
      return;
    }
    this.#showMessage(YOU, result.text, Date.now(), true);
    this.input.value = '';
    this.#setError(this.error, this.input, '');
  }

  #showMessage(sender, text, at, mine) {
    const item = el('div', { className: 'chat-message' }, { 'data-testid': 'chat-message', 'data-mine': String(mine) });
    const meta = el('div', { className: 'chat-meta' });
    const time = el('time', { dateTime: new Date(at).toISOString(), textContent: clockText(at) });
    meta.append(nameNode(sender, 'chat-sender'), ' ', time);
    const body = el('p', { className: 'chat-text', textContent: text }, { dir: 'auto', 'data-testid': 'chat-text' });
    item.append(meta, body);
    appendLine(this.log, item);
  }

  #setUnread(count) {
    this.#unread = count;
    const text = unreadText(count);
    this.unread.textContent = text;
    this.unread.hidden = text === '';
    this.toggle.setAttribute('aria-label', text ? `Chat, ${text} unread` : 'Chat');
  }

  #setError(box, input, message) {
    box.textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  // ---- the device command box ----

  #buildControlBox() {
    this.controlBox = el('section', { className: 'control-box', hidden: true }, { 'data-testid': 'control-box', 'aria-labelledby': 'control-title' });
    const head = el('div', { className: 'side-head' });
    this.controlTitle = el('h2', { id: 'control-title', textContent: 'Device' });
    head.append(this.controlTitle);
    this.deviceChooser = el('select', { className: 'device-chooser', hidden: true }, { 'data-testid': 'control-device', 'aria-label': 'Device to command' });
    this.controlLog = el(
      'div',
      { className: 'side-log control-log', tabIndex: 0 },
      { 'data-testid': 'control-log', role: 'log', 'aria-live': 'polite', 'aria-label': 'Device messages' },
    );
    const form = el('form', { className: 'side-form' }, { novalidate: '' });
    this.controlInput = el(
      'input',
      { type: 'text', className: 'side-input', placeholder: 'Command', autocomplete: 'off', spellcheck: false },
      { 'data-testid': 'control-input', dir: 'auto', 'aria-label': 'Command for the device', 'aria-describedby': 'control-error' },
    );
    const send = el('button', { type: 'submit', className: 'btn', textContent: 'Send' }, { 'data-testid': 'control-send' });
    form.append(this.controlInput, send);
    this.controlError = el('p', { id: 'control-error', className: 'field-error' }, { 'data-testid': 'control-error', role: 'alert' });
    this.controlBox.append(head, this.deviceChooser, this.controlLog, form, this.controlError);
    document.body.append(this.controlBox);

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.#sendControl();
    });
    this.controlInput.addEventListener('input', () => this.#setError(this.controlError, this.controlInput, ''));
  }

  /** Shows the box while at least one device is there, with a chooser when several are. */
  #renderDevices() {
    const ids = [...this.#control.keys()];
    const chosen = this.deviceChooser.value;
    this.deviceChooser.replaceChildren(
      ...ids.map((id) => el('option', { value: id, textContent: senderLabel(this.#nameOf(id)) })),
    );
    if (ids.includes(chosen)) this.deviceChooser.value = chosen;
    this.deviceChooser.hidden = ids.length < 2;
    this.controlBox.hidden = ids.length === 0;
    if (ids.length === 1) {
      this.controlTitle.replaceChildren('Device: ', nameNode(senderLabel(this.#nameOf(ids[0])), 'name'));
    } else {
      this.controlTitle.textContent = 'Devices';
    }
  }

  #sendControl() {
    const result = validateControl(this.controlInput.value);
    if (!result.ok) {
      this.#setError(this.controlError, this.controlInput, result.message);
      return;
    }
    const id = this.#control.size > 1 ? this.deviceChooser.value : [...this.#control.keys()][0];
    const channel = this.#control.get(id);
    if (!channel || channel.readyState !== 'open') {
      this.#setError(this.controlError, this.controlInput, 'The device is not connected right now. Try again in a moment.');
      return;
    }
    try {
      channel.send(result.text);
    } catch (err) {
      this.#setError(this.controlError, this.controlInput, `The command could not be sent: ${err.message}`);
      return;
    }
    this.#controlLine(YOU, result.text, 'me');
    this.controlInput.value = '';
    this.#setError(this.controlError, this.controlInput, '');
  }

  #controlLine(sender, text, from) {
    const line = el('div', { className: 'control-line' }, { 'data-from': from });
    line.append(nameNode(sender, 'chat-sender'), ': ', el('span', { className: 'control-text', textContent: text }, { dir: 'auto' }));
    appendLine(this.controlLog, line);
  }
}
