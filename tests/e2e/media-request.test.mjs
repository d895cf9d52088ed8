// SPDX-License-Identifier: MIT
// Story 1: on arrival the page asks for camera and microphone, and says so while it waits.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEnv, waitForState } from './lib.mjs';

// Holds getUserMedia's answer until the test releases it, and records what was asked for.
function holdMediaRequests() {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.__mediaRequests = [];
  let release;
  const released = new Promise((resolve) => {
    release = resolve;
  });
  window.__releaseMedia = () => release();
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    window.__mediaRequests.push(JSON.parse(JSON.stringify(constraints)));
    await released;
    return real(constraints);
  };
}

test('story 1: arriving asks for camera and microphone (status requesting-media)', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/', { initScript: holdMediaRequests });

  await waitForState(page, 'requesting-media');
  await page.waitForFunction(() => window.__mediaRequests.length === 1, null, { timeout: 10000 });
  assert.deepEqual(await page.evaluate(() => window.__mediaRequests), [{ video: true, audio: true }]);
  const status = page.getByTestId('status');
  assert.equal(await status.getAttribute('aria-live'), 'polite');
  assert.match(await status.innerText(), /camera and microphone/i);
  // Nothing about rooms yet, and no connection to the server.
  assert.equal(await page.getByTestId('room-dialog').isVisible(), false);
  assert.equal(await page.evaluate(() => window.duet.ws), null);

  await page.evaluate(() => window.__releaseMedia());
  await waitForState(page, 'choosing-room');
  // The camera shows in the local preview (muted, so we never hear ourselves).
  const local = await page.getByTestId('local-video').evaluate((v) => ({
    muted: v.muted,
    playsInline: v.playsInline,
    autoplay: v.autoplay,
    kinds: v.srcObject?.getTracks().map((tr) => `${tr.kind}:${tr.readyState}`).sort(),
  }));
  assert.deepEqual(local, { muted: true, playsInline: true, autoplay: true, kinds: ['audio:live', 'video:live'] });
  await page.waitForFunction(() => document.querySelector('[data-testid=local-video]').videoWidth > 0, null, {
    timeout: 10000,
  });
  assert.equal(await page.evaluate(() => window.__mediaRequests.length), 1, 'asked exactly once');
});
