// SPDX-License-Identifier: MIT
// Everything the page shows: status line, room dialog, media error panel, videos, controls and notices.

import { exactTime, whenText } from './recent.js';

const $ = (id) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`duet: the page has no #${id}`);
  return el;
};

/** How long a notice stays on screen. Long enough to read two short sentences. */
const TOAST_MS = 5000;

/** Status states the page can be in (the `data-state` of the status line). */
export const State = Object.freeze({
  REQUESTING_MEDIA: 'requesting-media',
  MEDIA_ERROR: 'media-error',
  CHOOSING_ROOM: 'choosing-room',
  WAITING: 'waiting',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  ROOM_FULL: 'room-full',
  PRIVATE_ROOM: 'private-room',
  LOBBY_WAITING: 'lobby-waiting',
  DECLINED: 'declined',
  RECONNECTING: 'reconnecting',
  PEER_LEFT: 'peer-left',
});

/**
 * A sentence that names a room: `named\`Joining “${room}”…\`` keeps the name apart from the
 * words around it, so the page can show it isolated (see `fill`).
 * @returns {Array<string | {name: string}>}
 */
export function named(strings, ...names) {
  const parts = [strings[0]];
  names.forEach((name, i) => parts.push({ name: String(name) }, strings[i + 1]));
  return parts.filter((p) => p !== '');
}

/** FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE: `<bdi>` for places that only take text. */
export const isolate = (name) => `\u2068${name}\u2069`;

/**
 * Sets an element's text to `message`, a string or the parts from `named`. Each room name
 * goes in its own `<bdi>`, so a right-to-left name (or one holding direction controls, from
 * a server with older rules) cannot reorder the words around it.
 * @param {HTMLElement} el
 * @param {string | Array<string | {name: string}>} message
 */
function fill(el, message) {
  const parts = Array.isArray(message) ? message : [message];
  el.replaceChildren(
    ...parts.map((p) => {
      if (typeof p === 'string') return p;
      const bdi = document.createElement('bdi');
      bdi.className = 'name';
      bdi.textContent = p.name;
      return bdi;
    }),
  );
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * A decorative 24x24 icon, built here (the page allows no inline HTML): `shapes` are
 * [tag, attributes] pairs, e.g. ['path', {d: '...'}].
 * @param {Array<[string, Record<string, string|number>]>} shapes
 */
export function icon(shapes) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'icon');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  for (const [tag, attrs] of shapes) {
    const shape = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) shape.setAttribute(k, String(v));
    svg.append(shape);
  }
  return svg;
}

/** The padlock the private-room badge shows. */
const lockIcon = () =>
  icon([
    ['rect', { x: 5, y: 11, width: 14, height: 10, rx: 2 }],
    ['path', { d: 'M8 11V8a4 4 0 0 1 8 0v3' }],
  ]);

export class Ui {
  #statusMessage = '';

  constructor() {
    this.status = $('status');
    this.statusText = $('status-text');
    this.stage = $('stage');
    this.remotes = $('remotes');
    this.placeholder = $('placeholder');
    this.placeholderTitle = $('placeholder-title');
    this.placeholderText = $('placeholder-text');
    this.share = $('share');
    this.shareUrl = $('share-url');
    this.mediaError = $('media-error');
    this.self = $('self');
    this.selfOff = $('self-off');
    this.localVideo = $('local-video');
    this.controls = $('controls');
    this.muteButton = $('mute-button');
    this.cameraButton = $('camera-button');
    this.leaveButton = $('leave-button');
    this.roomInfo = $('room-info');
    this.roomName = $('room-name');
    this.roomPrivate = $('room-private');
    this.privateToggle = $('private-toggle');
    this.nameInput = $('name-input');
    this.lobbyToggle = $('lobby-toggle');
    this.lobby = $('lobby');
    this.lobbyList = $('lobby-list');
    this.toasts = $('toasts');
    this.dialog = $('room-dialog');
    this.form = $('room-form');
    this.input = $('room-input');
    this.roomError = $('room-error');
    this.cancelButton = $('cancel-button');
    this.recent = $('recent');
    this.recentList = $('recent-list');
    this.forgetRecentButton = $('forget-recent');
    /** @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement}>} */
    this.tiles = new Map();
    this.input.addEventListener('input', () => {
      if (this.roomError.textContent) this.setRoomError('');
    });
  }

  /** Sets the status line: a state for machines and a sentence for people. */
  setStatus(state, message) {
    this.status.dataset.state = state;
    const key = JSON.stringify(message);
    // Rewriting an unchanged line would make screen readers announce it again.
    if (this.#statusMessage !== key) {
      this.#statusMessage = key;
      fill(this.statusText, message);
    }
    document.body.dataset.state = state;
  }

  // ---- media ----

  /** @param {import('./media.js').MediaProblem} problem */
  showMediaError(problem) {
    $('media-error-title').textContent = problem.title;
    $('media-error-detail').textContent = problem.detail;
    const steps = $('media-error-steps');
    steps.replaceChildren(
      ...problem.steps.map((s) => {
        const li = document.createElement('li');
        li.textContent = s;
        return li;
      }),
    );
    $('media-error-code').textContent = problem.errorName;
    this.mediaError.dataset.reason = problem.reason;
    this.mediaError.hidden = false;
    this.placeholder.hidden = true;
    $('retry-button').focus();
  }

  hideMediaError() {
    this.mediaError.hidden = true;
    delete this.mediaError.dataset.reason;
    this.placeholder.hidden = false;
  }

  onRetry(handler) {
    $('retry-button').addEventListener('click', handler);
  }

  setLocalStream(stream) {
    this.localVideo.srcObject = stream;
    this.self.hidden = !stream;
    this.controls.hidden = !stream;
    if (stream) this.localVideo.play().catch(() => {}); // muted, so autoplay is allowed
  }

  // ---- the room dialog ----

  /**
   * Opens (or keeps open) the room dialog.
   * @param {{value?: string, error?: string | Array<string | {name: string}>}} [opts]
   */
  askRoom({ value, error, makePrivate } = {}) {
    if (value !== undefined) this.input.value = value;
    if (makePrivate !== undefined) this.privateToggle.checked = makePrivate;
    this.setRoomError(error ?? '');
    if (!this.dialog.open) this.dialog.showModal();
    this.input.focus();
    if (error) this.input.select();
  }

  closeRoomDialog() {
    if (this.dialog.open) this.dialog.close('joined');
  }

  get roomDialogOpen() {
    return this.dialog.open;
  }

  setRoomError(message) {
    fill(this.roomError, message);
    if (message) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }

  /**
   * @param {(room: string, makePrivate: boolean, name: string) => void} onSubmit Enter or the Join button
   * @param {() => void} onCancel the Cancel button, Escape, or the dialog closing any other way
   */
  onRoomDialog(onSubmit, onCancel) {
    this.form.addEventListener('submit', (e) => {
      e.preventDefault(); // we close the dialog ourselves once the name is accepted
      onSubmit(this.input.value, this.privateToggle.checked, this.nameInput.value);
    });
    this.cancelButton.addEventListener('click', () => onCancel());
    // Escape is handled here, before it becomes a close request: Chromium closes a modal
    // on a second Escape even when `cancel` is prevented, and the dialog would flicker
    // shut until the `close` handler below reopened it.
    this.dialog.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      onCancel();
    });
    this.dialog.addEventListener('cancel', (e) => {
      e.preventDefault(); // Escape: ask again rather than leave the page in limbo
      onCancel();
    });
    // Browsers may close a modal dialog on a repeated Escape even when `cancel` is
    // prevented; treat that like Cancel too.
    this.dialog.addEventListener('close', () => {
      if (this.dialog.returnValue !== 'joined') onCancel();
      this.dialog.returnValue = '';
    });
  }

  /**
   * Lists the recent rooms in the dialog, newest first; hides the section when there are none.
   * @param {import('./recent.js').RecentRoom[]} entries
   * @param {number} now
   */
  setRecent(entries, now) {
    const hadFocus = this.recent.contains(document.activeElement);
    this.recentList.replaceChildren(...entries.map((entry) => this.#recentItem(entry, now)));
    this.recent.hidden = entries.length === 0;
    // Focus on an entry that was replaced, or on the forget button now hidden, would fall
    // to the page: keep it in the dialog, on the room name.
    if (hadFocus && (this.recent.hidden || !this.recent.contains(document.activeElement))) this.input.focus();
  }

  /** @param {(entry: import('./recent.js').RecentRoom) => void} onPick @param {() => void} onForget */
  onRecent(onPick, onForget) {
    this.recentList.addEventListener('click', (e) => {
      const button = e.target.closest('[data-testid="recent-room"]');
      if (button?.recentEntry) onPick(button.recentEntry);
    });
    this.forgetRecentButton.addEventListener('click', () => onForget());
  }

  #recentItem(entry, now) {
    const li = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'recent-room';
    button.dataset.testid = 'recent-room';
    button.dataset.private = String(entry.private);
    button.recentEntry = entry;
    const when = whenText(entry.at, now);
    // One name for the whole button, as it reads: "Join NAME again, 5 min ago, private".
    button.setAttribute('aria-label', `Join ${isolate(entry.room)} again, ${when}${entry.private ? ', private' : ''}`);
    const name = document.createElement('bdi');
    name.className = 'name';
    name.textContent = entry.room;
    const meta = document.createElement('span');
    meta.className = 'recent-meta';
    const time = document.createElement('time');
    time.dateTime = new Date(entry.at).toISOString();
    time.title = exactTime(entry.at);
    time.textContent = when;
    meta.append(time);
    if (entry.private) {
      const mark = document.createElement('span');
      mark.className = 'recent-private';
      mark.append(lockIcon(), 'Private');
      meta.append(mark);
    }
    button.append(name, meta);
    li.append(button);
    return li;
  }

  // ---- the call ----

  /** Shows which room we are in and the link that brings someone else into it. */
  /** "Ask before anyone joins" is on (or off) in this room. */
  setLobby(on) {
    this.lobbyToggle.setAttribute('aria-pressed', String(!!on));
  }

  /**
   * Someone asks to join: their name and a pair of buttons, until `removeAdmitRequest`.
   * @param {string} id @param {string} name '' when they gave none
   * @param {(id: string) => void} onAdmit @param {(id: string) => void} onDecline
   */
  showAdmitRequest(id, name, onAdmit, onDecline) {
    if (this.lobbyList.querySelector(`[data-request="${CSS.escape(id)}"]`)) return;
    const li = document.createElement('li');
    li.className = 'lobby-request';
    li.dataset.request = id;
    const who = name || 'Someone';
    const text = document.createElement('p');
    fill(text, named`${who} asks to join.`);
    const button = (label, testid, kind, handler) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `btn ${kind}`;
      b.textContent = label;
      b.dataset.testid = testid;
      b.dataset.peerName = name;
      b.setAttribute('aria-label', `${label} ${isolate(who)}`);
      b.addEventListener('click', () => handler(id));
      return b;
    };
    li.append(
      text,
      button('Admit', 'admit-button', 'btn-primary', onAdmit),
      button('Decline', 'decline-button', 'btn-ghost', onDecline),
    );
    this.lobbyList.append(li);
    this.lobby.hidden = false;
  }

  removeAdmitRequest(id) {
    this.lobbyList.querySelector(`[data-request="${CSS.escape(id)}"]`)?.remove();
    this.lobby.hidden = this.lobbyList.children.length === 0;
  }

  clearAdmitRequests() {
    this.lobbyList.replaceChildren();
    this.lobby.hidden = true;
  }

  setRoom(room, link, isPrivate = false) {
    this.roomInfo.hidden = !room;
    this.roomPrivate.hidden = !room || !isPrivate;
    this.roomName.textContent = room ?? ''; // #room-name is a <bdi>
    this.roomName.title = room ? isolate(room) : '';
    this.shareUrl.value = link ?? '';
    this.share.hidden = !room;
    this.leaveButton.disabled = !room;
    document.title = room ? `${isolate(room)} · duet` : 'duet · video call';
  }

  onCopyLink(handler) {
    $('copy-link').addEventListener('click', handler);
    $('share-copy').addEventListener('click', handler);
  }

  setPlaceholder(title, text) {
    this.placeholderTitle.textContent = title;
    this.placeholderText.textContent = text;
  }

  /** Puts a peer's stream on screen (creating its tile the first time). */
  showRemote(id, stream) {
    let entry = this.tiles.get(id);
    if (!entry) {
      const tile = document.createElement('figure');
      tile.className = 'tile';
      tile.dataset.peer = id;
      const video = document.createElement('video');
      video.dataset.testid = 'remote-video';
      video.dataset.peer = id;
      video.autoplay = true;
      video.playsInline = true;
      video.setAttribute('playsinline', '');
      video.setAttribute('aria-label', 'The other person’s camera');
      const caption = document.createElement('figcaption');
      caption.className = 'tile-caption';
      caption.textContent = 'Connecting…';
      tile.append(video, caption);
      this.remotes.append(tile);
      entry = { tile, video, caption };
      this.tiles.set(id, entry);
      this.#layout();
    }
    if (entry.video.srcObject !== stream) {
      entry.video.srcObject = stream;
      entry.video.play().catch(() => this.#offerTapToPlay(entry.video));
    }
  }

  /**
   * Labels a remote tile with the person's display name ("Guest" without one). The name
   * is text only, isolated, so any script or direction it holds stays inert.
   * @param {string} id @param {string} name '' when they gave none
   */
  setRemoteName(id, name) {
    const entry = this.tiles.get(id);
    if (!entry) return;
    const shown = name || 'Guest';
    if (!entry.name) {
      entry.name = document.createElement('bdi');
      entry.name.className = 'peer-name';
      entry.name.dataset.testid = 'peer-name';
      entry.name.dir = 'auto';
      entry.tile.append(entry.name);
    }
    entry.name.textContent = shown;
    entry.video.setAttribute('aria-label', name ? `${isolate(name)}’s camera` : 'The other person’s camera');
  }

  /** Marks a tile as live or not (a dim overlay while the connection is being made). */
  setRemoteState(id, state) {
    const entry = this.tiles.get(id);
    if (!entry) return;
    entry.tile.dataset.state = state;
    const captions = {
      connected: '',
      dropped: 'Waiting for them to come back…',
      disconnected: 'Connection interrupted…',
      failed: 'Connection lost, trying again…',
    };
    entry.caption.textContent = captions[state] ?? 'Connecting…';
  }

  removeRemote(id) {
    const entry = this.tiles.get(id);
    if (!entry) return;
    entry.video.srcObject = null;
    entry.tile.remove();
    this.tiles.delete(id);
    this.#layout();
  }

  clearRemotes() {
    for (const id of [...this.tiles.keys()]) this.removeRemote(id);
  }

  setToggle(button, pressed) {
    button.setAttribute('aria-pressed', String(pressed));
  }

  setCameraOff(off) {
    this.setToggle(this.cameraButton, off);
    this.selfOff.hidden = !off;
    this.self.classList.toggle('camera-off', off);
  }

  setMuted(muted) {
    this.setToggle(this.muteButton, muted);
    this.self.classList.toggle('muted', muted);
  }

  /** Shows a short notice; the live region reads it out. */
  toast(text, { kind = 'info' } = {}) {
    const el = document.createElement('div');
    el.className = `toast toast-${kind}`;
    el.dataset.testid = 'notice';
    fill(el, text); // a string, or parts naming someone (their name isolated)
    this.toasts.append(el);
    setTimeout(() => {
      el.classList.add('toast-out');
      el.addEventListener('animationend', () => el.remove(), { once: true });
      setTimeout(() => el.remove(), 600); // in case animations are off
    }, TOAST_MS);
  }

  #layout() {
    this.stage.dataset.remotes = String(this.tiles.size);
    this.placeholder.hidden = this.tiles.size > 0 || !this.mediaError.hidden;
  }

  /** Autoplay with sound was refused (rare once the camera is shared): let a tap start it. */
  #offerTapToPlay(video) {
    if (document.getElementById('tap-to-play')) return;
    const button = document.createElement('button');
    button.id = 'tap-to-play';
    button.type = 'button';
    button.className = 'btn btn-primary tap-to-play';
    button.textContent = 'Tap to hear the other person';
    button.addEventListener('click', () => {
      for (const { video: v } of this.tiles.values()) v.play().catch(() => {});
      video.play().catch(() => {});
      button.remove();
    });
    this.stage.append(button);
  }
}
