// SPDX-License-Identifier: MIT
// The room rules of docs/PROTOCOL.md as pure decisions: a server message and the links we hold in, actions out.
//
// No DOM, no WebRTC: app.js applies the actions, and tests/room-rules runs the same cases
// against these functions (in node) and against duet-peer's RoomLogic (in GTest).
//
// An action is one of:
//   {offer: id}  start a fresh link to `id` (replacing any) and send it our offer
//   {close: id}  close the link to `id` for good
//   {giveUp: code}  the server refused the room: leave it and let the user choose again

import { LeaveReason, ROOM_REFUSALS } from './protocol.js';

/**
 * The links the decisions look at. Call (call.js) is one.
 * @typedef {{ids(): string[], has(id: string): boolean, isLive(id: string): boolean}} LinkView
 */

/**
 * `joined`, first time or after a reconnection. Newcomer offers: we offer to everyone in
 * `peers`. A fresh seat means a fresh identity, so links made under an old id are closed
 * first. A resumed seat keeps links to people still here, and a link whose media never
 * stopped is kept as it is instead of offered again, even with someone `peers` does not
 * list: their seat may be held (they dropped too, say when a proxy restarted) and they
 * keep the link when they resume. A link still negotiating cannot finish without them.
 * @param {{peers: string[], resumed: boolean}} msg @param {LinkView} links
 */
export function onJoined({ peers, resumed }, links) {
  const actions = [];
  for (const id of links.ids()) {
    if (resumed && (peers.includes(id) || links.isLive(id))) continue;
    actions.push({ close: id });
  }
  for (const id of peers) {
    if (resumed && links.isLive(id)) continue;
    actions.push({ offer: id });
  }
  return actions;
}

/**
 * `peer-joined`: they are the newcomer, so they offer to us (even after a resume, when a
 * live link stays until they do). A new id never has a link yet; if one exists it is stale.
 * @param {{id: string, resumed: boolean}} msg @param {LinkView} links
 */
export function onPeerJoined({ id, resumed }, links) {
  return !resumed && links.has(id) ? [{ close: id }] : [];
}

/**
 * `peer-left`: a dropped peer keeps its link (only their signaling may have dropped, and
 * media keeps flowing while they resume); one that left or expired is gone for good.
 * @param {{id: string, reason: string}} msg @param {LinkView} links
 */
export function onPeerLeft({ id, reason }, links) {
  if (reason === LeaveReason.DROPPED) return [];
  return links.has(id) ? [{ close: id }] : [];
}

/**
 * `error`: a room that is full or whose name the server refused ends the attempt; the rest
 * (unknown-peer: a message raced with someone leaving) change nothing.
 * @param {{code: string}} msg
 */
export function onError({ code }) {
  return ROOM_REFUSALS.has(code) ? [{ giveUp: code }] : [];
}
