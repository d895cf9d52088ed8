// SPDX-License-Identifier: MIT
// Screen sharing: the shared screen takes the camera's place on every connection (replaceTrack,
// no renegotiation), with an indicator and a stop, and the camera comes back when it ends.

/**
 * Why a share did not start, in words for the notice.
 * @param {unknown} err what getDisplayMedia threw
 */
function whyNot(err) {
  switch (err?.name) {
    case 'NotAllowedError':
      return 'Screen sharing was cancelled or blocked.';
    case 'NotFoundError':
      return 'There is no screen or window to share.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The screen could not be captured. Try again, or pick another window.';
    default:
      return `The screen could not be shared (${err?.name ?? 'error'}).`;
  }
}

/**
 * The share button, the "you are sharing" indicator with its own stop button, and the
 * local preview (which shows what is sent). Elements: #share-button (aria-pressed),
 * #share-indicator, #share-stop, #local-video, #self.
 */
export class ScreenShare {
  /** @type {MediaStreamTrack|null} */
  #track = null;
  #starting = false;
  #getCall;
  #getCamera;
  #toast;
  #button;
  #indicator;
  #stopButton;
  #preview;
  #self;

  /**
   * @param {{call: () => import('./call.js').Call|null, camera: () => MediaStream|null,
   *   toast: (text: string, opts?: {kind?: string}) => void}} hooks
   *   call: the call whose connections send our video; camera: our camera and microphone
   */
  constructor({ call, camera, toast }) {
    this.#getCall = call;
    this.#getCamera = camera;
    this.#toast = toast;
    this.#button = document.getElementById('share-button');
    this.#indicator = document.getElementById('share-indicator');
    this.#stopButton = document.getElementById('share-stop');
    this.#preview = document.getElementById('local-video');
    this.#self = document.getElementById('self');
    // Phones and older browsers cannot capture a screen: no button that cannot work.
    this.#button.hidden = !navigator.mediaDevices?.getDisplayMedia;
    this.#button.addEventListener('click', () => (this.sharing ? this.stop() : this.start()));
    this.#stopButton.addEventListener('click', () => this.stop());
    this.#show();
  }

  get sharing() {
    return this.#track !== null;
  }

  /** The screen track being sent, or null. */
  get track() {
    return this.#track;
  }

  /** Asks which screen to share (must run in a click) and sends it instead of the camera. */
  async start() {
    const call = this.#getCall();
    if (this.sharing || this.#starting || !call) return;
    this.#starting = true;
    this.#button.disabled = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      this.#toast(whyNot(err), { kind: 'warn' });
      return;
    } finally {
      this.#starting = false;
      this.#button.disabled = false;
    }
    const track = stream.getVideoTracks()[0];
    if (!track) {
      for (const t of stream.getTracks()) t.stop();
      this.#toast('The browser gave no picture of the screen.', { kind: 'warn' });
      return;
    }
    // Text and lines stay sharp: the encoder keeps the resolution and gives up frame rate.
    track.contentHint = 'detail';
    // Stopped from the browser's own "Stop sharing" bar (or the window closed).
    track.addEventListener('ended', () => {
      if (this.#track === track) this.stop();
    });
    for (const t of stream.getAudioTracks()) t.stop();
    this.#track = track;
    this.#show();
    await call.setOutgoingVideo(track);
    if (this.#track === track) this.#toast('You are sharing your screen.');
  }

  /** Stops sharing: the camera goes back on every connection (off if it was off). */
  async stop() {
    const track = this.#track;
    if (!track) return;
    this.#track = null;
    track.stop();
    this.#show();
    await this.#getCall()?.setOutgoingVideo(null);
    this.#toast('You stopped sharing your screen.');
  }

  /** Button, indicator and preview as the state is now. */
  #show() {
    const on = this.sharing;
    this.#button.setAttribute('aria-pressed', String(on));
    this.#button.querySelector('.ctl-label').textContent = on ? 'Stop sharing' : 'Share screen';
    this.#indicator.hidden = !on;
    this.#self.dataset.sharing = String(on);
    const preview = on ? new MediaStream([this.#track]) : this.#getCamera();
    if (this.#preview.srcObject !== preview) {
      this.#preview.srcObject = preview;
      this.#preview.play().catch(() => {});
    }
  }
}
