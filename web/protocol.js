// SPDX-License-Identifier: MIT
// The duet room protocol as the browser sees it: message builders, parsing and room-name rules (mirrors docs/PROTOCOL.md).

/** Longest room name, in Unicode code points (same limit as the server). */
export const MAX_ROOM_CHARS = 64;

/** Close code the server uses when a newer connection took over our seat; never reconnect on it. */
export const CLOSE_REPLACED = 4001;

/** Close code we use ourselves when we are done with the socket on purpose. */
export const CLOSE_NORMAL = 1000;

export const ErrorCode = Object.freeze({
  BAD_MESSAGE: 'bad-message',
  UNKNOWN_TYPE: 'unknown-type',
  INVALID_ROOM: 'invalid-room',
  ROOM_FULL: 'room-full',
  ALREADY_JOINED: 'already-joined',
  NOT_JOINED: 'not-joined',
  UNKNOWN_PEER: 'unknown-peer',
  PRIVATE_ROOM: 'private-room',
  ROOM_NOT_PRIVATE: 'room-not-private',
  TOO_MANY_ATTEMPTS: 'too-many-attempts',
  DECLINED: 'declined',
  LOBBY_TIMEOUT: 'lobby-timeout',
  UNAVAILABLE: 'unavailable',
});

/** Errors that refuse the room itself: nothing to resume there, the user must choose again. */
export const ROOM_REFUSALS = Object.freeze(
  new Set([
    ErrorCode.ROOM_FULL,
    ErrorCode.INVALID_ROOM,
    ErrorCode.PRIVATE_ROOM,
    ErrorCode.ROOM_NOT_PRIVATE,
    ErrorCode.TOO_MANY_ATTEMPTS,
    ErrorCode.DECLINED,
    ErrorCode.LOBBY_TIMEOUT,
  ]),
);

/** A private room's key as links carry it (`#key=`): 32-128 of A-Z a-z 0-9 - _. */
const KEY_SHAPE = /^[A-Za-z0-9_-]{32,128}$/;

/** Whether `key` has the shape of a private room's key. */
export function isRoomKey(key) {
  return typeof key === 'string' && KEY_SHAPE.test(key);
}

/**
 * The key in a link's fragment (`#key=KEY`), or null when there is none or it is not a key.
 * @param {string} hash location.hash
 */
export function keyFromHash(hash) {
  const params = new URLSearchParams(String(hash ?? '').replace(/^#/, ''));
  const key = params.get('key');
  return key && KEY_SHAPE.test(key) ? key : null;
}

export const LeaveReason = Object.freeze({ LEFT: 'left', DROPPED: 'dropped', EXPIRED: 'expired' });

// The server trims what GLib calls white space: ASCII \t\n\v\f\r and the Unicode space
// separators. JavaScript's trim() also removes U+FEFF, which the server keeps, so we
// spell the set out instead of using trim().
const EDGE_SPACE = /^[\t\n\v\f\r\p{Zs}\p{Zl}\p{Zp}]+|[\t\n\v\f\r\p{Zs}\p{Zl}\p{Zp}]+$/gu;
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
const LONE_SURROGATE = /\p{Cs}/u;
// Bidi embeddings and overrides (U+202A-202E) and isolates (U+2066-2069): they make a name
// read as another wherever it is shown as plain text. Marks (U+200E/200F/061C) are allowed.
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
// A name made only of what nobody can see: space separators, format characters (zero-width
// space and joiners, BOM, soft hyphen, tags, ...), other default-ignorables (variation
// selectors, Hangul fillers, ...) and the braille blank. Same set as signaling/room_name.cpp.
const ALL_INVISIBLE = /^[\p{Zs}\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]*$/u;

const codePoint = (ch) => `U+${ch.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Applies the server's room-name rules (docs/PROTOCOL.md): NFC, trimmed, no control or bidi
 * control characters, something visible, at most MAX_ROOM_CHARS code points.
 * @param {string} raw what the user typed
 * @returns {{ok: true, room: string} | {ok: false, reason: 'empty'|'too-long'|'control'|'bidi'|'invisible', message: string}}
 *   `room` is the NFC form, the room's identity: "café" typed either way is one room.
 */
export function normalizeRoom(raw) {
  const room = String(raw ?? '')
    .normalize('NFC')
    .replace(EDGE_SPACE, '');
  if (room.length === 0) {
    return { ok: false, reason: 'empty', message: 'Type a room name to start or join a call.' };
  }
  if (CONTROL.test(room) || LONE_SURROGATE.test(room)) {
    return {
      ok: false,
      reason: 'control',
      message: 'Room names cannot contain line breaks or other invisible control characters.',
    };
  }
  const bidi = BIDI_CONTROL.exec(room);
  if (bidi) {
    return {
      ok: false,
      reason: 'bidi',
      message:
        `Room names cannot contain hidden text-direction controls (this one has ${codePoint(bidi[0])}): ` +
        'they make a name read as something else. Clear the field and type the name again.',
    };
  }
  if (ALL_INVISIBLE.test(room)) {
    return {
      ok: false,
      reason: 'invisible',
      message:
        'This name has no visible characters, only invisible ones such as zero-width spaces. ' +
        'Type a name people can read.',
    };
  }
  const chars = [...room].length;
  if (chars > MAX_ROOM_CHARS) {
    return {
      ok: false,
      reason: 'too-long',
      message: `Room names are at most ${MAX_ROOM_CHARS} characters (this one has ${chars}).`,
    };
  }
  return { ok: true, room };
}

/** The still percent-encoded value of the first `name` parameter of a query, or null. */
function rawParam(search, name) {
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (![...new URLSearchParams(part).keys()].includes(name)) continue;
    const eq = part.indexOf('=');
    return eq < 0 ? '' : part.slice(eq + 1);
  }
  return null;
}

function decodesCleanly(raw) {
  try {
    decodeURIComponent(raw.replaceAll('+', ' '));
    return true;
  } catch {
    return false; // a % without two hex digits after it, or escapes that are not UTF-8
  }
}

/**
 * The room a link names (`/?room=NAME`), read as URLSearchParams reads it, which never
 * throws: a stray `%` (`100%`) or a bad escape (`%ZZ`) stays as it is, bytes that are not
 * UTF-8 become U+FFFD. `wellFormed` says whether the value was written the way duet writes
 * links. duet's own links escape every `%` as `%25`, so one that is not means the link was
 * typed by hand or cut short (`caf%C3%A`); the page then asks before joining.
 * @param {string} search location.search
 * @returns {{text: string, wellFormed: boolean} | null} null when the link names no room
 */
export function roomFromLink(search) {
  const text = new URLSearchParams(search).get('room');
  if (text === null) return null;
  const raw = rawParam(search, 'room');
  return { text, wellFormed: raw === null || decodesCleanly(raw) };
}

// ---- client -> server ----

/** @param {string} room @param {string|null} [resume] */
/**
 * @param {string} room @param {string|null} [resume]
 * @param {{makePrivate?: boolean, key?: string|null}} [access] create private, and/or the key
 */
export function join(room, resume, { makePrivate = false, key = null, name = null } = {}) {
  const msg = { type: 'join', room };
  if (resume) msg.resume = resume;
  if (makePrivate) msg.private = true;
  if (key) msg.key = key;
  if (name) msg.name = name;
  return JSON.stringify(msg);
}

/** Members: "ask before anyone joins" on or off. */
export const lobby = (on) => JSON.stringify({ type: 'lobby', on: !!on });
/** Members: let in, or turn away, whoever waits as `id`. */
export const admit = (id) => JSON.stringify({ type: 'admit', id });
export const decline = (id) => JSON.stringify({ type: 'decline', id });

export function leave() {
  return JSON.stringify({ type: 'leave' });
}

/** @param {string} to peer id @param {object} data an `sdp` or `candidate` payload */
export function signal(to, data) {
  return JSON.stringify({ type: 'signal', to, data });
}

/** @param {RTCSessionDescriptionInit} desc */
export function sdpData(desc) {
  return { sdp: { type: desc.type, sdp: desc.sdp } };
}

/** @param {RTCIceCandidate} c */
export function candidateData(c) {
  return { candidate: { candidate: c.candidate, sdpMLineIndex: c.sdpMLineIndex, sdpMid: c.sdpMid } };
}

// ---- server -> client ----

const isString = (v) => typeof v === 'string';
const isStringArray = (v) => Array.isArray(v) && v.every(isString);
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

// What each server message must carry; anything else is dropped with a console warning
// rather than half-handled.
const SHAPES = {
  joined: (m) => isString(m.id) && isString(m.room) && isStringArray(m.peers) && isString(m.resume),
  'peer-joined': (m) => isString(m.id),
  'peer-left': (m) => isString(m.id) && isString(m.reason),
  signal: (m) => isString(m.from) && isObject(m.data),
  error: (m) => isString(m.code),
  lobby: (m) => typeof m.on === 'boolean',
  waiting: (m) => isString(m.room),
  'admit-request': (m) => isString(m.id),
  'admit-resolved': (m) => isString(m.id) && isString(m.outcome),
};

/** A display name as the server sends it: a non-empty string (the server checks the rules). */
const isDisplayName = (v) => isString(v) && v.length > 0;

/**
 * The `names` of a `joined` ({peer id: name}) as a Map, for members in `peers` only; a
 * server without names (older than issue 15) sends none, and bad entries are left out.
 * @returns {Map<string, string>}
 */
function namesOf(names, peers) {
  const out = new Map();
  if (!isObject(names)) return out;
  for (const id of peers) {
    if (Object.hasOwn(names, id) && isDisplayName(names[id])) out.set(id, names[id]);
  }
  return out;
}

/**
 * Parses one text frame from the server.
 * @param {string} text
 * @returns {object|null} the message, with defaults filled in, or null if malformed
 */
export function parseServer(text) {
  let m;
  try {
    m = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(m) || !isString(m.type)) return null;
  const valid = SHAPES[m.type];
  if (!valid || !valid(m)) return null;
  if (m.type === 'joined') {
    m.resumed = m.resumed === true;
    m.private = m.private === true;
    m.lobby = m.lobby === true;
    if (!isString(m.key) || !KEY_SHAPE.test(m.key)) delete m.key;
    m.iceServers = Array.isArray(m.iceServers) ? m.iceServers.filter(isObject) : [];
  }
  if (m.type === 'joined') m.names = namesOf(m.names, m.peers);
  if (m.type === 'peer-joined') {
    m.resumed = m.resumed === true;
    m.name = isDisplayName(m.name) ? m.name : '';
  }
  if (m.type === 'error' && !isString(m.message)) m.message = '';
  if (m.type === 'admit-request' && !isString(m.name)) m.name = '';
  return m;
}

/**
 * Reads the `data` of a relayed signal.
 * @returns {{kind: 'sdp', desc: RTCSessionDescriptionInit} | {kind: 'candidate', candidate: RTCIceCandidateInit} | null}
 */
export function parseSignalData(data) {
  if (isObject(data.sdp)) {
    const { type, sdp } = data.sdp;
    if ((type === 'offer' || type === 'answer') && isString(sdp)) {
      return { kind: 'sdp', desc: { type, sdp } };
    }
    return null;
  }
  if (isObject(data.candidate)) {
    const c = data.candidate;
    if (!isString(c.candidate)) return null;
    return {
      kind: 'candidate',
      candidate: {
        candidate: c.candidate,
        sdpMLineIndex: Number.isInteger(c.sdpMLineIndex) ? c.sdpMLineIndex : null,
        sdpMid: isString(c.sdpMid) ? c.sdpMid : null,
      },
    };
  }
  return null;
}
