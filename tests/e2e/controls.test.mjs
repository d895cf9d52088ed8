// SPDX-License-Identifier: MIT
// Mute and camera-off: the buttons say their state (aria-pressed) and the other side gets silence / black.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { audioEnergyOver, connectedPair, expectSeesAndHears, peerIdOf, startEnv, waitForRemotePicture } from './lib.mjs';

const senderTracks = (page) =>
  page.evaluate(() => {
    const [pc] = window.duet.pcs.values();
    const out = {};
    for (const s of pc.getSenders()) if (s.track) out[s.track.kind] = s.track.enabled;
    return out;
  });

test('mute and camera toggles reach the other side', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'den');
  const aliceId = await peerIdOf(alice);
  await expectSeesAndHears(bob, aliceId);

  const mute = alice.getByTestId('mute-button');
  const camera = alice.getByTestId('camera-button');
  assert.equal(await mute.getAttribute('aria-pressed'), 'false');
  assert.equal(await camera.getAttribute('aria-pressed'), 'false');
  assert.deepEqual(await senderTracks(alice), { audio: true, video: true });

  // Bob hears Alice's (fake) microphone: a beep with real energy.
  const loud = await audioEnergyOver(bob, aliceId);
  assert.ok(loud > 0, 'audio energy before muting');
  await waitForRemotePicture(bob, { dark: false });

  await mute.click();
  assert.equal(await mute.getAttribute('aria-pressed'), 'true');
  assert.deepEqual(await senderTracks(alice), { audio: false, video: true });
  // Packets still flow, but what Bob hears is silence.
  await audioEnergyOver(bob, aliceId, 0.5); // lets audio already in flight drain
  // Silence, give or take decoder noise (energy is a sum of squared samples in [-1, 1]).
  const quiet = await audioEnergyOver(bob, aliceId);
  assert.ok(quiet < loud / 1000, `muted audio is silent at the other end (${quiet} vs ${loud})`);

  // Keyboard works as well as the mouse.
  await camera.focus();
  await alice.keyboard.press('Enter');
  assert.equal(await camera.getAttribute('aria-pressed'), 'true');
  assert.deepEqual(await senderTracks(alice), { audio: false, video: false });
  await waitForRemotePicture(bob, { dark: true });
  assert.ok(await alice.locator('#self-off').isVisible(), 'Alice sees her camera is off');

  await mute.click();
  await camera.click();
  assert.equal(await mute.getAttribute('aria-pressed'), 'false');
  assert.equal(await camera.getAttribute('aria-pressed'), 'false');
  assert.deepEqual(await senderTracks(alice), { audio: true, video: true });
  await waitForRemotePicture(bob, { dark: false });
  await audioEnergyOver(bob, aliceId, 0.5);
  assert.ok((await audioEnergyOver(bob, aliceId)) > loud / 10, 'audio is back after unmuting');
});
