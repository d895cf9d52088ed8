// SPDX-License-Identifier: MIT
// The duet client's flow: camera first, then a room, then the call, surviving drops on either side.

import { Call } from './call.js';
import { ChatPanel } from './chat_panel.js';
import { codecFromQuery } from './codecs.js';
import { requestMedia } from './media.js';
import { showParticipantCount, SpeakingWatch, watchTileShapes } from './mesh.js';
import { ErrorCode, keyFromHash, LeaveReason, normalizeRoom, roomFromLink } from './protocol.js';
import { addRecent, browserStorage, loadRecent, saveRecent } from './recent.js';
import { Ringer } from './ring.js';
import * as rules from './room_rules.js';
import { ScreenShare } from './share.js';
import { Signaling } from './signaling.js';
import { named, State, Ui } from './ui.js';

/** How long a failed connection waits before we (its offerer) start a fresh one: long
 * enough for the `peer-left` or `peer-joined` that usually explains the failure to arrive
 * first, so we do not offer into a reload that is about to offer to us. */
const REOFFER_DELAY_MS = 2500;

/** The dialog's hint for a link whose room is not escaped the way duet writes links. */
const MANGLED_LINK =
  'This link’s room name has a “%” that is not a valid escape, so the link may have been cut short ' +
  'or typed by hand. Check the name below and press Join.';

const ui = new Ui();
const signaling = new Signaling();
const ringer = new Ringer();

// ---- names ----

/** Display names of the others in the room, by peer id (absent: they gave none). */
const names = new Map();

/** How a notice names someone: their name, or `fallback` ("The other person") without one. */
const who = (id, fallback) => (names.get(id) ? { name: names.get(id) } : fallback);

/** A notice about someone: `[who, rest]`, the name isolated in the page (ui.js's `fill`). */
const about = (id, fallback, rest) => [who(id, fallback), rest];

/** Puts the current name of `id` on its tile ("Guest" without one). */
function showName(id) {
  ui.setRemoteName(id, names.get(id) ?? '');
}

const chat = new ChatPanel({ nameOf: (id) => names.get(id) ?? '', notify: (m) => ui.toast(m) });

/** An answer or switch that could not be sent: the socket is down and reconnecting. */
const NOT_CONNECTED = 'Not connected to the server: try again in a moment.';

/** Where this browser keeps the display name it was given (never sent anywhere else). */
const NAME_KEY = 'duet.name';
const savedName = {
  get() {
    try {
      return browserStorage()?.getItem(NAME_KEY) ?? '';
    } catch {
      return '';
    }
  },
  set(name) {
    try {
      if (name) browserStorage()?.setItem(NAME_KEY, name);
      else browserStorage()?.removeItem(NAME_KEY);
    } catch {
      /* storage disabled: the name is used for this visit only */
    }
  },
};

/** Where the user is in the flow. */
const Phase = Object.freeze({ MEDIA: 'media', MEDIA_ERROR: 'media-error', ROOM: 'room', CALL: 'call' });

const session = {
  phase: Phase.MEDIA,
  /** @type {MediaStream|null} */
  stream: null,
  /** @type {Call|null} */
  call: null,
  /** The room we are in or joining (normalised), or the one that was full. */
  room: null,
  peerId: null,
  /** Ids in the room whose socket is up. */
  peers: new Set(),
  /** Ids whose socket dropped; their seat is held and they may come back. */
  dropped: new Set(),
  /** Joined this room at least once, so losing the socket means "reconnecting". */
  everJoined: false,
  linkDown: false,
  /** Why the server refused the room we asked for (room-full, private-room...), or null. */
  refused: null,
  /** The room a link opened and the key in its fragment (`#key=`), if any. */
  linkRoom: null,
  linkKey: null,
  /** The room we are in is private; its key, for the share link. */
  isPrivate: false,
  key: null,
  /** We knocked on a room with a lobby and wait for someone inside to let us in. */
  waiting: false,
  /** The room asks newcomers first; those asking now, by request id -> name. */
  lobby: false,
  requests: new Map(),
  /** Someone left and nobody has come since: keeps the "left" notice in the status. */
  someoneLeft: false,
  /** How many people the full room holds, from the server's room-full message, or null. */
  roomSize: null,
};

/** @type {Map<string, number>} */
const reofferTimers = new Map();

/** Screen sharing (share.js) and who is speaking (mesh.js). */
const screenShare = new ScreenShare({
  call: () => session.call,
  camera: () => session.stream,
  toast: (text, opts) => ui.toast(text, opts),
});
const speaking = new SpeakingWatch(() => session.call?.connections ?? new Map());
watchTileShapes(ui.remotes);

// ---- status ----

function deriveStatus() {
  const room = session.room ?? '';
  switch (session.phase) {
    case Phase.MEDIA:
      return [State.REQUESTING_MEDIA, 'Asking for your camera and microphone…'];
    case Phase.MEDIA_ERROR:
      return [State.MEDIA_ERROR, 'Camera or microphone unavailable. See below for how to fix it.'];
    case Phase.ROOM:
      if (session.refused === ErrorCode.ROOM_FULL)
        return [State.ROOM_FULL, withTail(named`Room “${room}” is full`, `${fullSize()}. Choose another name.`)];
      if (session.refused === ErrorCode.PRIVATE_ROOM)
        return [State.PRIVATE_ROOM, named`Room “${room}” is private. Ask someone in it for its link.`];
      if (session.refused === ErrorCode.DECLINED)
        return [State.DECLINED, named`Someone in “${room}” declined to let you in. You may try again later.`];
      return [State.CHOOSING_ROOM, 'Choose a room name to start or join a call.'];
    default:
      break;
  }
  if (session.waiting && !signaling.joined) {
    return [State.LOBBY_WAITING, 'Waiting for someone in the room to let you in…'];
  }
  if (!signaling.joined) {
    return session.everJoined || session.linkDown
      ? [State.RECONNECTING, 'Connection to the server lost. Reconnecting…']
      : [State.CONNECTING, named`Joining “${room}”…`];
  }
  // Connected while media flows with anyone whose socket is up; someone else dropping
  // only matters once nobody is left to talk to.
  const live = [...session.peers].some((id) => session.call.isLive(id));
  if (live) return [State.CONNECTED, 'Connected'];
  if (session.dropped.size > 0) {
    return [State.PEER_LEFT, 'The other person dropped, waiting for them to come back…'];
  }
  if (live) return [State.CONNECTED, 'Connected'];
  if (session.peers.size > 0) return [State.CONNECTING, 'Connecting to the other person…'];
  if (session.someoneLeft) return [State.PEER_LEFT, 'The other person left. Waiting for someone to join…'];
  return [State.WAITING, 'Waiting for someone to join…'];
}

const PLACEHOLDERS = {
  [State.REQUESTING_MEDIA]: ['Getting your camera ready', 'Your browser will ask to use the camera and microphone.'],
  [State.CHOOSING_ROOM]: ['Choose a room', 'Type a room name to start a call.'],
  [State.ROOM_FULL]: ['That room is full', 'Try another name.'],
  [State.LOBBY_WAITING]: ['Waiting to be let in', 'Someone in the room has been asked. This takes up to a minute.'],
  [State.DECLINED]: ['Not let in', 'Someone in the room said no. You may try again later.'],
  [State.PRIVATE_ROOM]: ['That room is private', 'Only people with its link can join. Ask someone in it for the link.'],
  [State.WAITING]: ['Waiting for someone to join…', 'Send them the link below. Whoever opens it lands in this room.'],
  [State.CONNECTING]: ['Connecting…', 'Setting up the call.'],
  [State.RECONNECTING]: ['Reconnecting…', 'The connection to the server dropped. duet is trying again by itself.'],
  [State.PEER_LEFT]: ['The other person is away', 'They can come back with the same link.'],
};

function render() {
  const [state, text] = deriveStatus();
  ui.setStatus(state, text);
  const placeholder = PLACEHOLDERS[state];
  if (placeholder) ui.setPlaceholder(...placeholder);
  renderPeople();
}

// ---- rooms of more than two ----

/** The participant count: me plus everyone in the room, a dropped seat included. */
function renderPeople() {
  const inCall = session.phase === Phase.CALL && signaling.joined;
  showParticipantCount(inCall ? 1 + new Set([...session.peers, ...session.dropped]).size : null);
  if (inCall) speaking.start();
  else speaking.stop();
}

/** `parts` (from `named`) with `tail` added to its last words, as one text node. */
function withTail(parts, tail) {
  const out = [...parts];
  if (typeof out.at(-1) === 'string') out[out.length - 1] += tail;
  else out.push(tail);
  return out;
}

/** " (4 people)" for the room-full notice when the server said how many fit, else "". */
function fullSize() {
  const n = session.roomSize;
  return n ? ` (${n} ${n === 1 ? 'person' : 'people'})` : '';
}

// ---- camera and microphone ----

async function acquireMedia() {
  session.phase = Phase.MEDIA;
  ui.hideMediaError();
  render();
  let stream;
  try {
    stream = await requestMedia();
  } catch (problem) {
    session.phase = Phase.MEDIA_ERROR;
    ui.showMediaError(problem);
    render();
    return;
  }
  session.stream = stream;
  ui.setLocalStream(stream);
  for (const track of stream.getTracks()) {
    track.addEventListener('ended', () =>
      ui.toast(`Your ${track.kind === 'video' ? 'camera' : 'microphone'} stopped. Check that it is still connected.`, {
        kind: 'warn',
      }),
    );
  }
  session.call = createCall(stream);
  session.phase = Phase.ROOM;

  // A shared link (/?room=NAME) goes straight in; a bad one is shown in the dialog, and so
  // is one duet did not write (a stray % or a broken escape), so a mangled link never drops
  // anyone silently into a room nobody else is in.
  const linked = roomFromLink(location.search);
  if (linked) {
    const result = normalizeRoom(linked.text);
    // A private room's link carries its key in the fragment, which never reaches a server.
    session.linkRoom = result.ok ? result.room : null;
    session.linkKey = keyFromHash(location.hash);
    if (result.ok && linked.wellFormed) {
      startJoin(result.room);
      return;
    }
    askRoom({ value: linked.text, error: result.ok ? MANGLED_LINK : result.message });
  } else {
    askRoom();
  }
  render();
}

function createCall(stream) {
  // `?relay=1` keeps the call on TURN relays (hides this device's IP addresses).
  const relayOnly = new URLSearchParams(location.search).get('relay') === '1';
  // `?codec=h264|vp8` (a test hook) puts that video codec first in our offers and answers.
  const videoCodec = codecFromQuery(location.search);
  const call = new Call(stream, (to, data) => signaling.signal(to, data), { relayOnly, videoCodec });
  call.addEventListener('stream', (e) => {
    ui.showRemote(e.detail.id, e.detail.stream);
    showName(e.detail.id);
    ui.setRemoteState(e.detail.id, remoteState(e.detail.id));
  });
  call.addEventListener('channel', (e) => chat.addChannel(e.detail.id, e.detail.channel));
  call.addEventListener('state', (e) => {
    const { id, state } = e.detail;
    ui.setRemoteState(id, remoteState(id));
    if (state === 'connected') cancelReoffer(id);
    if (state === 'failed' && call.isOfferer(id)) scheduleReoffer(id);
    render();
  });
  call.addEventListener('removed', (e) => {
    cancelReoffer(e.detail.id);
    chat.removePeer(e.detail.id);
    ui.removeRemote(e.detail.id);
    render();
  });
  return call;
}

function remoteState(id) {
  return session.dropped.has(id) ? 'dropped' : session.call.stateOf(id) ?? 'new';
}

// ---- choosing a room ----

/** Opens (or keeps open) the room dialog, its recent rooms read afresh. */
function askRoom(opts) {
  ui.setRecent(loadRecent(browserStorage()), Date.now());
  ui.askRoom(opts);
}

/** One click on a recent room: join it, a private one with the key kept for it. */
function joinRecent(entry) {
  if (session.phase !== Phase.ROOM) return;
  startJoin(entry.room, { key: entry.private ? entry.key ?? null : null });
}

function forgetRecent() {
  saveRecent(browserStorage(), []);
  ui.setRecent([], Date.now());
  ui.toast('Recent rooms forgotten.');
}

/** Puts the room we are now in at the top of this browser's recent rooms. */
function rememberRoom(room, isPrivate, key) {
  const storage = browserStorage();
  saveRecent(storage, addRecent(loadRecent(storage), { room, private: isPrivate, key }, Date.now()));
}

function submitRoom(raw, makePrivate = false, rawName = '') {
  if (session.phase !== Phase.ROOM) return;
  const result = normalizeRoom(raw);
  if (!result.ok) {
    askRoom({ error: result.message });
    return;
  }
  // A display name follows the room-name rules (the server checks them too); empty is fine.
  const name = normalizeRoom(rawName);
  if (rawName.trim() && !name.ok) {
    askRoom({ error: `Your name: ${name.message}` });
    return;
  }
  savedName.set(name.ok ? name.room : '');
  startJoin(result.room, { makePrivate });
}

function cancelRoom() {
  if (session.phase !== Phase.ROOM) return;
  // There is nothing to go back to: a call needs a room, so explain and ask again.
  askRoom({
    error: 'A call needs a room name. Type any name, then share the link with the person you want to talk to.',
  });
  render();
}

function startJoin(room, { makePrivate = false, key = null } = {}) {
  session.phase = Phase.CALL;
  session.room = room;
  session.peerId = null;
  session.everJoined = false;
  session.linkDown = false;
  session.refused = null;
  // The key from the link opens that room only, never one typed in the dialog later; a
  // recent room brings its own.
  session.key = key ?? (room === session.linkRoom ? session.linkKey : null);
  session.isPrivate = false;
  session.waiting = false;
  session.someoneLeft = false;
  session.peers.clear();
  session.dropped.clear();
  ui.closeRoomDialog();
  signaling.join(room, { makePrivate, key: session.key, name: savedName.get() || null });
  render();
}

/** Back to the room dialog, closing every connection of the old room. */
function exitCall() {
  for (const id of [...reofferTimers.keys()]) cancelReoffer(id);
  screenShare.stop();
  session.call?.closeAll();
  ui.clearRemotes();
  names.clear();
  chat.reset();
  ui.setRoom(null);
  session.phase = Phase.ROOM;
  session.peerId = null;
  session.peers.clear();
  session.dropped.clear();
  session.everJoined = false;
  session.linkDown = false;
  session.someoneLeft = false;
  session.waiting = false;
  session.lobby = false;
  clearRequests();
  history.replaceState(null, '', keepTabParams('') || location.pathname);
}

/** Query parameters about this tab, not the room (`?relay=1`, the `?codec=` test hook). */
const TAB_PARAMS = ['relay', 'codec'];

/**
 * `search` with this tab's own parameters from the address bar added back, so a reload
 * keeps them; the share link never carries them.
 */
function keepTabParams(search) {
  const current = new URLSearchParams(location.search);
  const kept = TAB_PARAMS.filter((k) => current.has(k));
  if (!kept.length) return search;
  const out = new URLSearchParams(search);
  for (const k of kept) out.set(k, current.get(k));
  return `?${out}`;
}

/** The link to `room`; a private room's carries its key in the fragment (`#key=`). */
function shareLink(room, key = null) {
  const url = new URL('/', location.href);
  url.searchParams.set('room', room);
  if (key) url.hash = `key=${key}`;
  return url.href;
}

// ---- server messages ----

function onServerMessage(msg) {
  switch (msg.type) {
    case 'joined':
      onJoined(msg);
      break;
    case 'peer-joined':
      onPeerJoined(msg);
      break;
    case 'peer-left':
      onPeerLeft(msg);
      break;
    case 'signal':
      if (session.phase === Phase.CALL) session.call.handleSignal(msg.from, msg.data);
      break;
    case 'error':
      onServerError(msg);
      break;
    case 'waiting':
      session.waiting = true;
      break;
    case 'lobby':
      session.lobby = msg.on;
      ui.setLobby(msg.on);
      ui.toast(msg.on ? 'Newcomers now ask before they join.' : 'Anyone with the room name (or link) can join again.');
      break;
    case 'admit-request':
      session.requests.set(msg.id, msg.name);
      ui.showAdmitRequest(msg.id, msg.name, (id) => answer(id, true), (id) => answer(id, false));
      ringer.start();
      break;
    case 'admit-resolved':
      dropRequest(msg.id);
      break;
    default:
      break;
  }
  render();
}

function onJoined(msg) {
  const call = session.call;
  const wasAway = session.everJoined;
  session.phase = Phase.CALL;
  session.room = msg.room;
  session.peerId = msg.id;
  session.everJoined = true;
  session.linkDown = false;
  session.peers = new Set(msg.peers);
  for (const id of msg.peers) {
    if (msg.names.has(id)) names.set(id, msg.names.get(id));
    else names.delete(id);
    showName(id);
  }
  session.dropped.clear();
  session.waiting = false;
  session.lobby = msg.lobby;
  ui.setLobby(msg.lobby);
  clearRequests(); // the server asks again about whoever still waits
  call.setIceServers(msg.iceServers);

  // Newcomer offers; a fresh seat closes old links, a resume keeps live ones (room_rules.js).
  const plan = rules.onJoined(msg, call);
  for (const id of msg.peers) cancelReoffer(id);
  apply(plan);
  // A live link kept with someone not in the room now: they dropped, their seat is held.
  for (const id of call.ids()) {
    if (session.peers.has(id)) continue;
    session.dropped.add(id);
    ui.setRemoteState(id, remoteState(id));
  }

  session.isPrivate = msg.private;
  session.key = msg.private ? (msg.key ?? session.key) : null;
  const link = new URL(shareLink(msg.room, session.key));
  history.replaceState(null, '', keepTabParams(link.search) + link.hash);
  ui.setRoom(msg.room, link.href, session.isPrivate);
  ui.closeRoomDialog();
  rememberRoom(msg.room, session.isPrivate, session.key);
  if (wasAway) ui.toast('Reconnected.');
}

function onPeerJoined(msg) {
  const { id, resumed } = msg;
  cancelReoffer(id);
  session.peers.add(id);
  session.dropped.delete(id);
  session.someoneLeft = false;
  if (msg.name) names.set(id, msg.name);
  else names.delete(id);
  showName(id);
  apply(rules.onPeerJoined(msg, session.call));
  ui.toast(resumed ? about(id, 'The other person', ' is back.') : about(id, 'Someone', ' joined.'));
  // Either way they offer to us (newcomer rule); a live link stays until they do.
  ui.setRemoteState(id, remoteState(id));
}

function onPeerLeft(msg) {
  const { id, reason } = msg;
  cancelReoffer(id);
  session.peers.delete(id);
  if (reason === LeaveReason.DROPPED) session.dropped.add(id);
  else session.dropped.delete(id);
  // A dropped peer keeps its link (media may still flow); one that left or expired does not.
  apply(rules.onPeerLeft(msg, session.call));
  if (reason === LeaveReason.DROPPED) {
    ui.setRemoteState(id, 'dropped');
    ui.toast(about(id, 'The other person', ' dropped, waiting for them to come back…'), { kind: 'warn' });
    return;
  }
  session.someoneLeft = true;
  ui.toast(about(id, 'The other person', reason === LeaveReason.EXPIRED ? ' did not come back.' : ' left the call.'));
  names.delete(id);
}

function onServerError(msg) {
  const { code, message } = msg;
  if (rules.onError(msg).length === 0) {
    // unknown-peer and friends: a message raced with someone leaving. Nothing to show.
    console.warn(`duet: server error ${code}: ${message}`);
    return;
  }
  // The room itself was refused: back to the room dialog, saying why.
  const room = session.room;
  exitCall();
  if (code === ErrorCode.ROOM_FULL || code === ErrorCode.PRIVATE_ROOM) {
    session.room = room;
    session.refused = code;
    // duet-server says "room 'x' is full (4 people)"; the page says how many fit.
    const size = code === ErrorCode.ROOM_FULL ? /\((\d+) (?:people|person)\)/.exec(message ?? '') : null;
    session.roomSize = size ? Number(size[1]) : null;
    const why =
      code === ErrorCode.ROOM_FULL
        ? withTail(named`Room “${room}” is already full`, `${fullSize()}. Try another name.`)
        : named`Room “${room}” is private: ask for its link. Only people with the link can join.`;
    askRoom({ value: room, error: why });
  } else if (code === ErrorCode.ROOM_NOT_PRIVATE) {
    session.room = null;
    askRoom({
      value: room,
      makePrivate: true,
      error: named`Room “${room}” already exists and anyone who knows its name can join. Choose another name for a private room.`,
    });
  } else if (code === ErrorCode.DECLINED) {
    session.room = room;
    session.refused = code;
    askRoom({ value: room, error: 'Someone in the room declined to let you in. You may try again later.' });
  } else if (code === ErrorCode.LOBBY_TIMEOUT) {
    session.room = null;
    askRoom({ value: room, error: `Nobody let you in: ${message || 'nobody in the room answered'}` });
  } else if (code === ErrorCode.TOO_MANY_ATTEMPTS) {
    session.room = null;
    askRoom({ value: room, error: `Too many tries with wrong links: ${message}.` });
  } else {
    session.room = null;
    askRoom({ value: room ?? '', error: `The server did not accept that name: ${message || 'invalid room name'}.` });
  }
}

/** Carries out the actions room_rules.js decided on. */
function apply(actions) {
  for (const action of actions) {
    if ('close' in action) session.call.remove(action.close);
    else if ('offer' in action) session.call.offer(action.offer);
  }
}

// ---- the lobby: people asking to join ----

function answer(id, letIn) {
  if (!(letIn ? signaling.admit(id) : signaling.decline(id))) {
    ui.toast(NOT_CONNECTED, { kind: 'warn' });
    return;
  }
  dropRequest(id); // the server confirms with admit-resolved
}

function dropRequest(id) {
  session.requests.delete(id);
  ui.removeAdmitRequest(id);
  if (session.requests.size === 0) ringer.stop();
}

function clearRequests() {
  session.requests.clear();
  ui.clearAdmitRequests();
  ringer.stop();
}

function toggleLobby() {
  if (!signaling.setLobby(!session.lobby)) {
    ui.toast(NOT_CONNECTED, { kind: 'warn' });
  }
}

// ---- recovering a failed connection ----

function scheduleReoffer(id) {
  cancelReoffer(id);
  const timer = setTimeout(() => {
    reofferTimers.delete(id);
    const call = session.call;
    const stillFailed = call.stateOf(id) === 'failed' && call.isOfferer(id);
    if (session.phase === Phase.CALL && signaling.joined && session.peers.has(id) && stillFailed) {
      call.offer(id);
    }
  }, REOFFER_DELAY_MS);
  reofferTimers.set(id, timer);
}

function cancelReoffer(id) {
  clearTimeout(reofferTimers.get(id));
  reofferTimers.delete(id);
}

// ---- controls ----

function toggleMute() {
  const muted = ui.muteButton.getAttribute('aria-pressed') !== 'true';
  for (const t of session.stream?.getAudioTracks() ?? []) t.enabled = !muted;
  ui.setMuted(muted);
  ui.toast(muted ? 'Microphone muted.' : 'Microphone on.');
}

function toggleCamera() {
  const off = ui.cameraButton.getAttribute('aria-pressed') !== 'true';
  for (const t of session.stream?.getVideoTracks() ?? []) t.enabled = !off;
  ui.setCameraOff(off);
  ui.toast(off ? 'Camera off.' : 'Camera on.');
}

function leaveRoom() {
  if (session.phase !== Phase.CALL) return;
  signaling.leave();
  exitCall();
  session.room = null;
  askRoom({ value: '' });
  ui.toast('You left the call.');
  render();
}

async function copyLink() {
  if (!session.room) return;
  const link = shareLink(session.room, session.key);
  try {
    await navigator.clipboard.writeText(link);
    ui.toast('Link copied. Send it to the person you want to call.');
  } catch {
    // No clipboard access (plain http on another host, or denied): select it instead.
    ui.shareUrl.hidden = false;
    ui.shareUrl.focus();
    ui.shareUrl.select();
    ui.toast('Copy the selected link with Ctrl+C (⌘C on a Mac).');
  }
}

// ---- wiring ----

signaling.addEventListener('message', (e) => onServerMessage(e.detail));
signaling.addEventListener('link', (e) => {
  // 'open' and 'idle' come with a message or an action that renders once it is done.
  session.linkDown = e.detail.state === 'reconnecting';
  if (session.linkDown) render();
});
signaling.addEventListener('replaced', () => {
  exitCall();
  session.room = null;
  askRoom({
    error: 'This call continued in another tab or window. Close this tab, or pick a room to start a new call here.',
  });
  render();
});

ui.onRoomDialog(submitRoom, cancelRoom);
ui.onRecent(joinRecent, forgetRecent);
ui.onRetry(() => {
  if (session.phase === Phase.MEDIA_ERROR) acquireMedia();
});
ui.muteButton.addEventListener('click', toggleMute);
ui.cameraButton.addEventListener('click', toggleCamera);
ui.leaveButton.addEventListener('click', leaveRoom);
ui.lobbyToggle.addEventListener('click', toggleLobby);
ui.nameInput.value = savedName.get();
ui.onCopyLink(copyLink);

/** Read-only hook for tests and for poking at a call from the console. */
window.duet = Object.freeze({
  get peerId() {
    return session.peerId;
  },
  get room() {
    return session.room;
  },
  /** Map of peer id -> RTCPeerConnection. */
  get pcs() {
    return session.call ? session.call.connections : new Map();
  },
  get ws() {
    return signaling.ws;
  },
  get localStream() {
    return session.stream;
  },
  /** The screen track being sent instead of the camera, or null. */
  get screenTrack() {
    return screenShare.track;
  },
  /** Peer ids whose tile is marked speaking. */
  get speaking() {
    return speaking.speaking;
  },
  /** A ring is playing: someone asks to join. */
  get ringing() {
    return ringer.ringing;
  },
  /** Kills the WebSocket as a network drop would (not a leave): the client reconnects. */
  dropSocket() {
    signaling.dropSocket();
  },
});

acquireMedia();
