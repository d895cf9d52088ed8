// SPDX-License-Identifier: MIT
// WebRTC side of a call: one RTCPeerConnection per remote peer, offers, answers and queued ICE candidates.

import { CHAT_CHANNEL_ID, CHAT_LABEL } from './chat.js';
import { applyCodecPreference, applySendCodec } from './codecs.js';
import { candidateData, parseSignalData, sdpData } from './protocol.js';

/**
 * One remote peer's connection. A link is replaced, never renegotiated: a fresh offer
 * from the peer (or a fresh offer of ours) always comes with a fresh RTCPeerConnection.
 */
class Link {
  /** @param {string} id @param {RTCPeerConnection} pc @param {boolean} offerer */
  constructor(id, pc, offerer) {
    this.id = id;
    this.pc = pc;
    this.offerer = offerer;
    /** Remote candidates that came before the remote description. */
    this.pending = [];
    /** Every remote track lands here, whether or not the sender tagged a stream id. */
    this.stream = new MediaStream();
    /** @type {RTCRtpSender|null} the sender of our video (camera or shared screen) */
    this.videoSender = null;
  }
}

/**
 * Events (all CustomEvent, detail shown):
 *  - `stream`  {id, stream}   remote media for a peer (a new stream after each replacement)
 *  - `state`   {id, state}    connectionState of the current link to a peer changed
 *  - `removed` {id}           the link to a peer was closed for good
 *  - `channel` {id, channel}  a data channel of the current link to a peer: our `duet-chat`
 *                             (as soon as the link is made) or one the peer opened in-band
 */
export class Call extends EventTarget {
  /** @type {Map<string, Link>} */
  #links = new Map();
  /** Per-peer promise chains, so each peer's signaling is handled strictly in order. */
  #chains = new Map();
  #stream;
  #send;
  #iceServers = [];
  #relayOnly = false;
  /** @type {'h264'|'vp8'|null} */
  #videoCodec = null;
  /** What we send as video instead of the camera (a shared screen), or null. */
  #videoOverride = null;

  /**
   * @param {MediaStream} localStream our camera and microphone
   * @param {(to: string, data: object) => boolean} send relays signaling data to a peer
   * @param {{relayOnly?: boolean, videoCodec?: 'h264'|'vp8'|null}} [options] relayOnly:
   *   use TURN relays only, never a direct path, so the other side never learns this
   *   device's addresses; videoCodec: put this video codec first in offers and answers,
   *   and send it whenever the other side accepted it (the `?codec=` test hook)
   */
  constructor(localStream, send, { relayOnly = false, videoCodec = null } = {}) {
    super();
    this.#stream = localStream;
    this.#send = send;
    this.#relayOnly = relayOnly;
    this.#videoCodec = videoCodec;
  }

  /** ICE servers from the latest `joined`; used by connections created from now on. */
  setIceServers(list) {
    this.#iceServers = Array.isArray(list) ? list : [];
  }

  /** Map of peer id -> RTCPeerConnection (a copy, for tests and diagnostics). */
  get connections() {
    return new Map([...this.#links].map(([id, link]) => [id, link.pc]));
  }

  has(id) {
    return this.#links.has(id);
  }

  ids() {
    return [...this.#links.keys()];
  }

  /** @returns {RTCPeerConnectionState|null} */
  stateOf(id) {
    return this.#links.get(id)?.pc.connectionState ?? null;
  }

  /** True if media is flowing to `id` right now: such a link survives a signaling drop. */
  isLive(id) {
    return this.stateOf(id) === 'connected';
  }

  /** Whether we made the offer on the current link to `id`. */
  isOfferer(id) {
    return this.#links.get(id)?.offerer ?? false;
  }

  /**
   * Sends `track` as our video on every connection, now and on the ones made later, in
   * place of the camera (null: the camera again). RTCRtpSender.replaceTrack swaps what a
   * sender carries without a new offer, so nothing is renegotiated.
   * @param {MediaStreamTrack|null} track
   */
  async setOutgoingVideo(track) {
    this.#videoOverride = track;
    const next = this.#outgoingVideo();
    const swaps = [];
    for (const link of this.#links.values()) {
      const sender = link.videoSender;
      if (!sender || sender.track === next) continue;
      swaps.push(
        sender.replaceTrack(next).catch((err) => console.warn('duet: could not switch the video sent to', link.id, err)),
      );
    }
    await Promise.all(swaps);
  }

  /** The video track connections send: the shared screen, or else the camera. */
  #outgoingVideo() {
    return this.#videoOverride ?? this.#stream.getVideoTracks()[0] ?? null;
  }

  /** Starts a fresh connection to `id` and sends it our offer (we are the newcomer). */
  offer(id) {
    return this.#queue(id, async () => {
      const link = this.#replace(id, true);
      applyCodecPreference(link.pc, this.#videoCodec);
      const offer = await link.pc.createOffer();
      if (!this.#current(link)) return;
      await link.pc.setLocalDescription(offer);
      if (!this.#current(link)) return;
      this.#send(id, sdpData(link.pc.localDescription));
    });
  }

  /** Handles the `data` of a relayed `signal` from `from`. */
  handleSignal(from, data) {
    const parsed = parseSignalData(data);
    if (!parsed) {
      console.warn('duet: ignoring unrecognised signal data from', from, data);
      return Promise.resolve();
    }
    return this.#queue(from, async () => {
      if (parsed.kind === 'candidate') await this.#onCandidate(from, parsed.candidate);
      else if (parsed.desc.type === 'offer') await this.#onOffer(from, parsed.desc);
      else await this.#onAnswer(from, parsed.desc);
    });
  }

  /** Closes the link to `id` (they left, expired, or belong to an old session). */
  remove(id) {
    const link = this.#links.get(id);
    if (!link) return;
    this.#links.delete(id);
    link.pc.close();
    this.#emit('removed', { id });
  }

  /** Closes every link. */
  closeAll() {
    for (const id of this.ids()) this.remove(id);
  }

  async #onOffer(from, desc) {
    // Protocol rule: an offer always means "start over", even if a link exists.
    const link = this.#replace(from, false);
    await link.pc.setRemoteDescription(desc);
    if (!this.#current(link)) return;
    await this.#flush(link);
    // The offer's m-lines are now bound to our transceivers; the answer lists their codecs
    // in the order set here (what the offerer will send us).
    applyCodecPreference(link.pc, this.#videoCodec);
    const answer = await link.pc.createAnswer();
    if (!this.#current(link)) return;
    await link.pc.setLocalDescription(answer);
    if (!this.#current(link)) return;
    this.#send(from, sdpData(link.pc.localDescription));
    if (this.#current(link)) await applySendCodec(link.pc, this.#videoCodec);
  }

  async #onAnswer(from, desc) {
    const link = this.#links.get(from);
    if (!link || link.pc.signalingState !== 'have-local-offer') {
      console.warn('duet: ignoring an answer from', from, 'that matches no offer of ours');
      return;
    }
    await link.pc.setRemoteDescription(desc);
    if (!this.#current(link)) return;
    await this.#flush(link);
    await applySendCodec(link.pc, this.#videoCodec);
  }

  async #onCandidate(from, candidate) {
    const link = this.#links.get(from);
    if (!link) return; // belongs to a connection that no longer exists
    if (!link.pc.remoteDescription) {
      link.pending.push(candidate);
      return;
    }
    await this.#addCandidate(link, candidate);
  }

  async #flush(link) {
    const queued = link.pending.splice(0);
    for (const c of queued) await this.#addCandidate(link, c);
  }

  async #addCandidate(link, candidate) {
    try {
      await link.pc.addIceCandidate(candidate);
    } catch (err) {
      // One bad candidate (e.g. an mDNS name) must not break the others.
      console.warn('duet: could not add an ICE candidate from', link.id, err);
    }
  }

  /** Closes any link to `id` and creates a fresh one carrying our tracks. */
  #replace(id, offerer) {
    const old = this.#links.get(id);
    if (old) old.pc.close();
    const pc = new RTCPeerConnection({
      iceServers: this.#iceServers,
      bundlePolicy: 'max-bundle',
      iceTransportPolicy: this.#relayOnly ? 'relay' : 'all',
    });
    const link = new Link(id, pc, offerer);
    this.#links.set(id, link);
    // Our tracks go in before the offer or answer is created, so an answer to an offer
    // with audio and video m-lines (a browser's or duet-peer's) sends on both.
    for (const track of this.#stream.getTracks()) {
      const sent = track.kind === 'video' ? this.#outgoingVideo() : track;
      const sender = pc.addTrack(sent, this.#stream);
      if (track.kind === 'video') link.videoSender = sender;
    }

    pc.onicecandidate = (e) => {
      if (!this.#current(link) || !e.candidate || !e.candidate.candidate) return;
      this.#send(id, candidateData(e.candidate));
    };
    pc.ontrack = (e) => {
      if (!this.#current(link)) return;
      if (!link.stream.getTrackById(e.track.id)) link.stream.addTrack(e.track);
      this.#emit('stream', { id, stream: link.stream });
    };
    this.#openChannels(link);
    pc.onconnectionstatechange = () => {
      if (this.#current(link)) this.#emit('state', { id, state: pc.connectionState });
    };
    this.#emit('state', { id, state: pc.connectionState });
    return link;
  }

  /**
   * Text chat rides on every link: a channel both sides create with the same id
   * (negotiated, so no side waits for the other to open it). Channels the peer opens
   * itself (a device's `duet-control`) arrive through `ondatachannel`.
   */
  #openChannels(link) {
    const chat = link.pc.createDataChannel(CHAT_LABEL, { negotiated: true, id: CHAT_CHANNEL_ID });
    link.pc.ondatachannel = (e) => {
      if (this.#current(link)) this.#emit('channel', { id: link.id, channel: e.channel });
    };
    this.#emit('channel', { id: link.id, channel: chat });
  }

  #current(link) {
    return this.#links.get(link.id) === link;
  }

  #queue(id, task) {
    const previous = this.#chains.get(id) ?? Promise.resolve();
    const next = previous.then(task).catch((err) => {
      console.error('duet: signaling with', id, 'failed:', err);
    });
    this.#chains.set(id, next);
    next.then(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    });
    return next;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
