// SPDX-License-Identifier: MIT
// Story 7: a blocked permission and a missing or busy device get different, actionable messages and a Retry.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEnv, waitForState } from './lib.mjs';

/** What the media error panel says, and proof that the app did not go on to the room step. */
async function mediaErrorShown(page) {
  await waitForState(page, 'media-error');
  const panel = page.getByTestId('media-error');
  await panel.waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await page.getByTestId('room-dialog').isVisible(), false, 'no room step without media');
  assert.equal(await page.evaluate(() => window.duet.ws), null, 'no server connection without media');
  assert.equal(await panel.getAttribute('role'), 'alert');
  const retry = page.getByTestId('retry-button');
  assert.ok(await retry.isVisible());
  assert.ok(await retry.evaluate((b) => b === document.activeElement), 'focus moves to Retry');
  return { reason: await panel.getAttribute('data-reason'), text: await panel.innerText() };
}

// Makes the first `failures` getUserMedia calls fail with a DOMException named `name`, as a
// machine with no camera (or one held by another app) would; later calls use the fake device.
function failMedia([name, failures]) {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  let left = failures;
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    if (left > 0) {
      left -= 1;
      throw new DOMException(`simulated ${name}`, name);
    }
    return real(constraints);
  };
}

test('story 7: denied permission explains how to allow it, and Retry works once allowed', async (t) => {
  // Without the fake-UI flag the permission decides; this context grants nothing.
  const env = await startEnv(t, { fakeUi: false });
  const page = await env.open('/', { permissions: [] });
  const origin = new URL(env.url).origin;
  // Nothing granted and no fake UI: Chromium refuses the request as a blocked prompt would.
  const shown = await mediaErrorShown(page);
  assert.equal(shown.reason, 'denied');
  assert.match(shown.text, /blocked/i);
  assert.match(shown.text, /address bar/i);
  assert.match(shown.text, /allow/i);
  assert.match(shown.text, /Retry/);
  assert.match(shown.text, /NotAllowedError/);

  // The user allows the camera in site settings and presses Retry.
  await page.context().grantPermissions(['camera', 'microphone'], { origin });
  await page.getByTestId('retry-button').click();
  await waitForState(page, 'choosing-room');
  assert.equal(await page.getByTestId('media-error').isVisible(), false);
  assert.ok(await page.getByTestId('room-dialog').isVisible());
});

test('story 7: a missing camera and a busy camera get their own advice', async (t) => {
  const env = await startEnv(t);

  const missing = await env.open('/', { initScript: { content: `(${failMedia})(["NotFoundError", 2])` } });
  const missingShown = await mediaErrorShown(missing);
  assert.equal(missingShown.reason, 'missing');
  assert.match(missingShown.text, /plug in/i);
  assert.match(missingShown.text, /Retry/);

  const busy = await env.open('/', { initScript: { content: `(${failMedia})(["NotReadableError", 1])` } });
  const busyShown = await mediaErrorShown(busy);
  assert.equal(busyShown.reason, 'busy');
  assert.match(busyShown.text, /close other apps/i);
  assert.match(busyShown.text, /Retry/);

  const other = await env.open('/', { initScript: { content: `(${failMedia})(["OverconstrainedError", 1])` } });
  assert.equal((await mediaErrorShown(other)).reason, 'missing');

  assert.notEqual(missingShown.text, busyShown.text);

  // Retry asks again; the "missing" tab still fails once more (still not plugged in)...
  await missing.getByTestId('retry-button').click();
  await waitForState(missing, 'media-error');
  await missing.getByTestId('retry-button').waitFor({ state: 'visible' });
  // ...and then succeeds, going on to the room step.
  await missing.getByTestId('retry-button').click();
  await waitForState(missing, 'choosing-room');
  await busy.getByTestId('retry-button').click();
  await waitForState(busy, 'choosing-room');
});
