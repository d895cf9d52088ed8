// SPDX-License-Identifier: MIT
// Camera and microphone: asking for them, and turning a refusal into advice the user can act on.

/**
 * @typedef {object} MediaProblem
 * @property {'denied'|'missing'|'busy'|'insecure'|'unknown'} reason
 * @property {string} title   one line saying what is wrong
 * @property {string} detail  what it means
 * @property {string[]} steps how to fix it, in order
 * @property {string} errorName the DOMException name, for bug reports
 */

/** Asks for the camera and microphone. Resolves to the stream or rejects with a MediaProblem. */
export async function requestMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw describeMediaError({ name: 'InsecureContext' });
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (err) {
    throw describeMediaError(err);
  }
}

/** @returns {MediaProblem} */
export function describeMediaError(err) {
  const name = err?.name ?? 'Error';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError': // older Chromium name
    case 'SecurityError':
      return {
        reason: 'denied',
        errorName: name,
        title: 'Camera and microphone are blocked',
        detail: 'Your browser (or you) blocked duet from using the camera and microphone, and a call needs both.',
        steps: [
          'Click the camera or lock icon at the left of the address bar and open the site settings.',
          'Set Camera and Microphone to “Allow” for this site.',
          'Press Retry.',
        ],
      };
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return {
        reason: 'missing',
        errorName: name,
        title: 'No camera or microphone found',
        detail: 'duet could not find a camera and a microphone on this device.',
        steps: [
          'Plug in a camera and a microphone (a headset or webcam with a mic is fine), or switch them on.',
          'Check that your system settings do not disable them.',
          'Press Retry.',
        ],
      };
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return {
        reason: 'busy',
        errorName: name,
        title: 'Your camera or microphone is busy',
        detail: 'The device is there but could not be started. Usually another app or tab is using it.',
        steps: [
          'Close other apps and tabs that use the camera or microphone (video calls, camera apps).',
          'If that does not help, unplug the camera and plug it back in.',
          'Press Retry.',
        ],
      };
    case 'InsecureContext':
      return {
        reason: 'insecure',
        errorName: name,
        title: 'This page needs a secure connection',
        detail: 'Browsers only share the camera and microphone with https:// pages or http://localhost.',
        steps: [
          'Open duet through an https:// address (or on this machine at http://localhost).',
          'Press Retry.',
        ],
      };
    default:
      return {
        reason: 'unknown',
        errorName: name,
        title: 'The camera or microphone could not be started',
        detail: `The browser reported “${err?.message || name}”.`,
        steps: [
          'Check that a camera and microphone are connected and not used by another app.',
          'Press Retry, or reload the page.',
        ],
      };
  }
}

/** Stops every track so the camera light goes off. */
export function stopMedia(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
