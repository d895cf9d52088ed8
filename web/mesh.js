// SPDX-License-Identifier: MIT
// Rooms of more than two: how many people are in the call, and who is speaking (from the
// audio level each connection receives).

/** How often the received audio levels are read. */
const SPEAKING_POLL_MS = 200;
/**
 * Loudness (RMS of the received audio, 0..1) above which someone counts as speaking:
 * about -36 dBFS, well above a quiet room after the sender's noise suppression, well below
 * a voice at a normal distance.
 */
const SPEAKING_RMS = 0.016;
/** Speech has gaps between words: a tile stays marked this long after the last loud read. */
const SPEAKING_HOLD_MS = 600;

/**
 * The `participant-count` element: the number of people in the call, me included, or
 * hidden when we are not in a call.
 */
export function showParticipantCount(count) {
  const box = document.getElementById('participants');
  const number = document.getElementById('participant-count');
  box.hidden = count === null;
  if (count === null) return;
  const text = String(count);
  if (number.textContent !== text) number.textContent = text;
  box.title = count === 1 ? 'Only you are in the call' : `${count} people in the call, you included`;
  box.setAttribute('aria-label', box.title);
}

/** Marks the tile of `id` speaking or not (`data-speaking` on `.tile[data-peer]`). */
function markTile(id, speaking) {
  const tile = document.querySelector(`.tile[data-peer="${CSS.escape(id)}"]`);
  if (!tile) return;
  const value = String(speaking);
  if (tile.dataset.speaking !== value) tile.dataset.speaking = value;
}

/**
 * Watches the audio each connection receives and sets `data-speaking="true"` on the tile of
 * whoever is louder than SPEAKING_RMS. It reads getStats (the inbound audio's energy), so
 * it needs no AudioContext and works before the page has had a click.
 */
export class SpeakingWatch {
  #connections;
  #timer = null;
  /** Per peer: {pc, energy, duration} of the last read, and when they were last loud. */
  #last = new Map();
  #loudAt = new Map();
  #busy = false;

  /** @param {() => Map<string, RTCPeerConnection>} connections the current links, by peer id */
  constructor(connections) {
    this.#connections = connections;
  }

  start() {
    if (this.#timer === null) this.#timer = setInterval(() => this.#poll(), SPEAKING_POLL_MS);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Who is speaking right now, by peer id (for tests and the console). */
  get speaking() {
    const now = performance.now();
    return [...this.#loudAt].filter(([, at]) => now - at < SPEAKING_HOLD_MS).map(([id]) => id);
  }

  async #poll() {
    if (this.#busy) return; // a slow getStats must not pile reads up
    this.#busy = true;
    try {
      const links = this.#connections();
      for (const id of [...this.#last.keys()]) {
        if (!links.has(id)) {
          this.#last.delete(id);
          this.#loudAt.delete(id);
        }
      }
      await Promise.all([...links].map(([id, pc]) => this.#read(id, pc)));
      const now = performance.now();
      for (const id of links.keys()) markTile(id, now - (this.#loudAt.get(id) ?? -Infinity) < SPEAKING_HOLD_MS);
    } finally {
      this.#busy = false;
    }
  }

  async #read(id, pc) {
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return; // closed while we asked
    }
    let energy = 0;
    let duration = 0;
    let level = null;
    for (const s of report.values()) {
      if (s.type !== 'inbound-rtp' || s.kind !== 'audio') continue;
      energy += s.totalAudioEnergy ?? 0;
      duration += s.totalSamplesDuration ?? 0;
      if (typeof s.audioLevel === 'number') level = Math.max(level ?? 0, s.audioLevel);
    }
    const last = this.#last.get(id);
    this.#last.set(id, { pc, energy, duration });
    let rms = null;
    // Energy is the sum of squared samples times their duration: its growth over the
    // growth of the duration is the mean square since the last read.
    if (last && last.pc === pc && duration > last.duration) {
      rms = Math.sqrt(Math.max(0, energy - last.energy) / (duration - last.duration));
    } else if (level !== null) {
      rms = level;
    }
    if (rms !== null && rms > SPEAKING_RMS) this.#loudAt.set(id, performance.now());
  }
}

/**
 * Marks each remote tile with the shape of what it receives (`data-shape` `wide` for a
 * shared screen or a 16:9 camera, else `camera`), so a phone can crop a camera to fill its
 * tile but show a screen whole. A screen share changes the shape without any signaling.
 */
export function watchTileShapes(container) {
  // `resize` (the video's own size changed) does not bubble: listen while it goes down.
  container.addEventListener(
    'resize',
    (e) => {
      const video = e.target;
      const tile = video.closest?.('.tile');
      if (!tile || !video.videoHeight) return;
      tile.dataset.shape = video.videoWidth / video.videoHeight > 1.5 ? 'wide' : 'camera';
    },
    true,
  );
}
