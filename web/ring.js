// SPDX-License-Identifier: MIT
// The sound of someone at the door: a soft two-tone ring every few seconds while anyone
// asks to join, made with Web Audio (no file to fetch).

/** One ring: two short tones, as a doorbell. */
const TONES = [
  { hz: 660, at: 0, for: 0.35 },
  { hz: 523, at: 0.4, for: 0.5 },
];
const EVERY_MS = 3000;
const VOLUME = 0.18;

export class Ringer {
  /** @type {AudioContext|null} */
  #ctx = null;
  #timer = 0;

  get ringing() {
    return this.#timer !== 0;
  }

  start() {
    if (this.#timer) return;
    this.#ring();
    this.#timer = setInterval(() => this.#ring(), EVERY_MS);
  }

  stop() {
    clearInterval(this.#timer);
    this.#timer = 0;
  }

  #ring() {
    try {
      this.#ctx ??= new AudioContext();
      // A page that holds the camera may play sound; resume() covers one that may not yet.
      if (this.#ctx.state === 'suspended') this.#ctx.resume().catch(() => {});
      const now = this.#ctx.currentTime;
      for (const tone of TONES) {
        const osc = this.#ctx.createOscillator();
        const gain = this.#ctx.createGain();
        osc.frequency.value = tone.hz;
        gain.gain.setValueAtTime(0, now + tone.at);
        gain.gain.linearRampToValueAtTime(VOLUME, now + tone.at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.001, now + tone.at + tone.for);
        osc.connect(gain).connect(this.#ctx.destination);
        osc.start(now + tone.at);
        osc.stop(now + tone.at + tone.for + 0.05);
      }
    } catch {
      // No audio output: the request on screen is still there.
    }
  }
}
