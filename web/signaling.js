// SPDX-License-Identifier: MIT
// The WebSocket to duet-server: joining a room, resuming the seat after a drop, reconnecting with backoff.

import * as proto from './protocol.js';

/** First reconnect delay; short, because a reload or a blip is the common case. */
const BACKOFF_START_MS = 500;
/** Longest reconnect delay: slow enough to spare the server, fast enough to feel alive. */
const BACKOFF_CAP_MS = 8000;
/** A socket that has not opened by then is stuck (half-open network); try again. */
const CONNECT_TIMEOUT_MS = 10000;

const RESUME_KEY_PREFIX = 'duet.resume:';

/** Resume tokens live in sessionStorage per room, so a reload of this tab takes its seat back. */
export const resumeTokens = {
  get(room) {
    try {
      return sessionStorage.getItem(RESUME_KEY_PREFIX + room);
    } catch {
      return null; // storage disabled: we just cannot resume across a reload
    }
  },
  set(room, token) {
    try {
      sessionStorage.setItem(RESUME_KEY_PREFIX + room, token);
    } catch {
      /* as above */
    }
  },
  forget(room) {
    try {
      sessionStorage.removeItem(RESUME_KEY_PREFIX + room);
    } catch {
      /* as above */
    }
  },
};

/** Reconnect delay for the given attempt: exponential, capped, with jitter so a server
 * restart is not met by every client at the same instant. */
export function backoffDelay(attempt) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

export function defaultUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

/**
 * Events (CustomEvent, detail shown):
 *  - `message`   a parsed server message
 *  - `link`      {state: 'connecting'|'open'|'reconnecting'|'idle', delayMs?, attempt?}
 *  - `replaced`  {}  another connection holding our token took the seat (close 4001)
 */
export class Signaling extends EventTarget {
  #url;
  /** @type {WebSocket|null} */
  #ws = null;
  /** The room we want to be in; null when we do not want to be anywhere. */
  #room = null;
  /** How we enter it: create it private, and/or its key (kept for every rejoin, so a
   * restarted server gets the same private room back from whoever returns first), and
   * the display name shown when we ask to join. */
  #access = { makePrivate: false, key: null, name: null };
  #joined = false;
  #attempt = 0;
  #retryTimer = 0;
  #connectTimer = 0;

  constructor(url = defaultUrl()) {
    super();
    this.#url = url;
    window.addEventListener('online', () => {
      // The network is back: no point waiting out the rest of the backoff.
      if (this.#retryTimer) this.#retryNow();
    });
  }

  get ws() {
    return this.#ws;
  }

  get joined() {
    return this.#joined;
  }

  get room() {
    return this.#room;
  }

  /**
   * Asks to be in `room` (a normalised name), resuming our seat if we hold a token.
   * @param {{makePrivate?: boolean, key?: string|null, name?: string|null}} [access]
   */
  join(room, access = {}) {
    this.#room = room;
    this.#access = { makePrivate: !!access.makePrivate, key: access.key ?? null, name: access.name ?? null };
    this.#joined = false;
    if (this.#ws?.readyState === WebSocket.OPEN) this.#sendJoin();
    else if (!this.#ws) this.#open();
    // CONNECTING: the join goes out on open.
  }

  /** Gives up on the room we asked for (it was full or invalid); the socket may stay open. */
  abandon() {
    this.#room = null;
    this.#joined = false;
    this.#cancelRetry();
  }

  /** Leaves the room for good (no resume) and closes the socket. */
  leave() {
    const room = this.#room;
    this.abandon();
    if (room) resumeTokens.forget(room);
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      if (ws.readyState === WebSocket.OPEN) ws.send(proto.leave());
      ws.close(proto.CLOSE_NORMAL, 'left');
    }
    this.#emitLink('idle');
  }

  /** Relays `data` to peer `to`. Returns false if the socket is down (the caller retries
   * through the resume path, so nothing is queued here). */
  signal(to, data) {
    return this.#sendJoined(proto.signal(to, data));
  }

  /** Members only: "ask before anyone joins", and answers to whoever asks. */
  setLobby(on) {
    return this.#sendJoined(proto.lobby(on));
  }

  admit(id) {
    return this.#sendJoined(proto.admit(id));
  }

  decline(id) {
    return this.#sendJoined(proto.decline(id));
  }

  #sendJoined(text) {
    if (!this.#joined || this.#ws?.readyState !== WebSocket.OPEN) return false;
    this.#ws.send(text);
    return true;
  }

  /** Closes the socket as if the network dropped (not a `leave`), so we reconnect and resume. */
  dropSocket() {
    if (this.#ws) this.#ws.close(4000, 'dropped on purpose');
  }

  #open() {
    this.#cancelRetry();
    const ws = new WebSocket(this.#url);
    this.#ws = ws;
    this.#emitLink(this.#attempt === 0 ? 'connecting' : 'reconnecting');
    this.#connectTimer = setTimeout(() => {
      if (ws.readyState === WebSocket.CONNECTING) ws.close();
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      clearTimeout(this.#connectTimer);
      if (this.#ws !== ws) return;
      if (this.#room) this.#sendJoin();
    };
    ws.onmessage = (e) => {
      if (this.#ws !== ws || typeof e.data !== 'string') return;
      const msg = proto.parseServer(e.data);
      if (!msg) {
        console.warn('duet: ignoring a malformed server message', e.data);
        return;
      }
      this.#track(msg);
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    };
    ws.onclose = (e) => this.#onClose(ws, e);
  }

  #sendJoin() {
    this.#ws.send(proto.join(this.#room, resumeTokens.get(this.#room), this.#access));
  }

  /** Keeps our own view of the session in step with what the server says. */
  #track(msg) {
    if (msg.type === 'joined') {
      this.#joined = true;
      this.#attempt = 0;
      this.#room = msg.room;
      resumeTokens.set(msg.room, msg.resume);
      const key = msg.private ? (msg.key ?? this.#access.key) : null;
      this.#access = { ...this.#access, makePrivate: msg.private, key };
      this.#emitLink('open');
    } else if (msg.type === 'error' && !this.#joined) {
      // A refused join: the seat we hoped to resume is gone too.
      if (proto.ROOM_REFUSALS.has(msg.code)) {
        if (this.#room) resumeTokens.forget(this.#room);
        this.abandon();
      } else if (msg.code === proto.ErrorCode.UNAVAILABLE && this.#room) {
        // This server cannot reach the rooms (several servers share them through Redis):
        // try again later, perhaps through another server, keeping the seat's token.
        this.#ws?.close(4000, 'room service unavailable');
      }
    }
  }

  #onClose(ws, e) {
    clearTimeout(this.#connectTimer);
    if (this.#ws !== ws) return; // an old socket we already let go of
    this.#ws = null;
    this.#joined = false;
    if (e.code === proto.CLOSE_REPLACED) {
      // Another tab or window now holds our seat. Reconnecting would steal it back and
      // the two would fight forever, so stop, and forget the token here.
      if (this.#room) resumeTokens.forget(this.#room);
      this.#room = null;
      this.#emitLink('idle');
      this.dispatchEvent(new CustomEvent('replaced', { detail: {} }));
      return;
    }
    if (!this.#room) {
      this.#emitLink('idle'); // not in a room (e.g. the server's idle timeout): nothing to restore
      return;
    }
    const delayMs = backoffDelay(this.#attempt);
    this.#attempt += 1;
    this.#retryTimer = setTimeout(() => this.#retryNow(), delayMs);
    this.#emitLink('reconnecting', { delayMs, attempt: this.#attempt, code: e.code });
  }

  #retryNow() {
    this.#cancelRetry();
    if (this.#room && !this.#ws) this.#open();
  }

  #cancelRetry() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = 0;
  }

  #emitLink(state, extra = {}) {
    this.dispatchEvent(new CustomEvent('link', { detail: { state, ...extra } }));
  }
}
