// SPDX-License-Identifier: MIT
// Text chat and the device control channel, the pure half: what may be sent, what a
// received message means, and how it is labelled (docs/PROTOCOL.md, "Data channels").
// No DOM here, so node's test runner checks it directly.

/** The chat channel: negotiated on both sides with this id, before the offer or answer. */
export const CHAT_LABEL = 'duet-chat';
export const CHAT_CHANNEL_ID = 0;

/** The control channel a device (duet-peer --control) opens in-band to each browser. */
export const CONTROL_LABEL = 'duet-control';

/** Longest chat message, in Unicode code points after trimming. */
export const MAX_CHAT_CHARS = 2000;

/** Longest command to a device, in UTF-8 bytes. */
export const MAX_CONTROL_BYTES = 16 * 1024;

/** The label of a member who gave no name. */
export const GUEST = 'Guest';

/** The label of my own messages. */
export const YOU = 'You';

const codePoints = (text) => [...text].length;

/**
 * What the user typed in the chat box, checked before sending.
 * @param {string} raw
 * @returns {{ok: true, text: string} | {ok: false, reason: 'empty'|'too-long', message: string}}
 */
export function validateChat(raw) {
  const text = String(raw ?? '').trim();
  if (text.length === 0) return { ok: false, reason: 'empty', message: 'Type a message first.' };
  const chars = codePoints(text);
  if (chars > MAX_CHAT_CHARS) {
    return {
      ok: false,
      reason: 'too-long',
      message: `Messages are at most ${MAX_CHAT_CHARS} characters (this one has ${chars}). Shorten it or send it in parts.`,
    };
  }
  return { ok: true, text };
}

/** The wire form of a chat message; `ts` is the sender's clock, for information only. */
export function encodeChat(text, now = Date.now()) {
  return JSON.stringify({ type: 'chat', text, ts: Math.floor(now) });
}

/**
 * Reads one message from a `duet-chat` channel.
 * @param {unknown} data what the channel delivered (binary data is never chat)
 * @returns {{text: string} | null} null for anything that is not a valid chat message
 */
export function parseChat(data) {
  if (typeof data !== 'string') return null;
  let m;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m) || m.type !== 'chat') return null;
  if (typeof m.text !== 'string') return null;
  const text = m.text.trim();
  if (text.length === 0 || codePoints(text) > MAX_CHAT_CHARS) return null;
  return { text };
}

/**
 * A command typed for a device, checked before sending; sent exactly as typed.
 * @param {string} raw
 * @returns {{ok: true, text: string} | {ok: false, reason: 'empty'|'too-long', message: string}}
 */
export function validateControl(raw) {
  const text = String(raw ?? '');
  if (text.trim().length === 0) return { ok: false, reason: 'empty', message: 'Type a command first.' };
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_CONTROL_BYTES) {
    return {
      ok: false,
      reason: 'too-long',
      message: `Commands are at most 16 KiB (this one is ${bytes} bytes).`,
    };
  }
  return { ok: true, text };
}

/** Who a message is from, as shown: "You", the sender's name, or "Guest". */
export function senderLabel(name, mine = false) {
  if (mine) return YOU;
  return typeof name === 'string' && name.length > 0 ? name : GUEST;
}

/** The unread badge's text: '' for none, then the number, capped at "99+". */
export function unreadText(count) {
  if (!Number.isFinite(count) || count <= 0) return '';
  return count > 99 ? '99+' : String(Math.floor(count));
}

/** A message's arrival time as shown beside it: hours and minutes, 24-hour, e.g. "09:05". */
export function clockText(ms) {
  const d = new Date(ms);
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}
