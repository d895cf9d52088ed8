// SPDX-License-Identifier: MIT
// Issue 16: "ask before anyone joins". A member switches it on; a newcomer (with a display
// name) waits in the lobby knowing nothing of who is inside; the members see who asks and
// hear a ring; Admit starts the call, Decline sends them away with its own state.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  enterRoom,
  expectSeesAndHears,
  peerIdOf,
  receivedFrames,
  recordSocketFrames,
  startEnv,
  statusOf,
  waitForState,
} from './lib.mjs';

/** Opens the start page and asks to join `room` as `name`. */
async function knock(env, room, name, opts = {}) {
  const page = await env.open('/', opts);
  await waitForState(page, 'choosing-room');
  await page.getByTestId('name-input').fill(name);
  await enterRoom(page, room);
  return page;
}

test('ask before anyone joins: admit and decline', async (t) => {
  const env = await startEnv(t, { serverArgs: ['--max-peers', '3'] });
  const room = `porch-${process.pid}`;

  const alice = await env.open('/');
  await waitForState(alice, 'choosing-room');
  await enterRoom(alice, room);
  await waitForState(alice, 'waiting');
  const toggle = alice.getByTestId('lobby-toggle');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false');
  await toggle.click();
  await alice.waitForFunction(() => document.querySelector('[data-testid=lobby-toggle]').ariaPressed === 'true');

  // Bob waits, and is told so; all he has heard from the server is that he waits.
  const bob = await knock(env, room, 'Bob', { initScript: recordSocketFrames });
  await waitForState(bob, 'lobby-waiting');
  assert.match(await bob.getByTestId('status').innerText(), /let you in/i);
  assert.deepEqual(
    (await receivedFrames(bob)).map((f) => f.type),
    ['waiting'],
    'a waiting person learns nothing about who is in the room',
  );

  // Alice sees who asks, and her page rings.
  const admit = alice.locator('[data-testid=admit-button][data-peer-name="Bob"]');
  await admit.waitFor({ timeout: 10000 });
  assert.equal(await alice.evaluate(() => window.duet.ringing), true);
  await admit.click();
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  await expectSeesAndHears(bob, await peerIdOf(alice));
  assert.equal(await alice.evaluate(() => window.duet.ringing), false, 'the ring stops once answered');
  assert.equal(await alice.getByTestId('admit-button').count(), 0);
  // Bob, now inside, sees the room asks first.
  assert.equal(await bob.getByTestId('lobby-toggle').getAttribute('aria-pressed'), 'true');

  // Carol is turned away: her own state and words, no call, and both inside stay put.
  const carol = await knock(env, room, 'Carol');
  await waitForState(carol, 'lobby-waiting');
  const decline = bob.locator('[data-testid=decline-button][data-peer-name="Carol"]');
  await decline.waitFor({ timeout: 10000 }); // every member is asked
  await alice.locator('[data-testid=decline-button][data-peer-name="Carol"]').click();
  await waitForState(carol, 'declined');
  assert.match(await carol.getByTestId('room-error').innerText(), /declined/i);
  assert.equal(await carol.evaluate(() => window.duet.pcs.size), 0);
  await decline.waitFor({ state: 'detached', timeout: 10000 }); // settled for Bob too
  assert.equal(await alice.evaluate(() => window.duet.ringing), false);
  assert.equal(await statusOf(alice), 'connected');
  assert.equal(await statusOf(bob), 'connected');

  // Straight back: refused for a while, and nobody inside is rung.
  await carol.getByTestId('join-button').click();
  await carol.getByTestId('room-error').filter({ hasText: /try again in/i }).waitFor({ timeout: 10000 });
  assert.equal(await alice.getByTestId('admit-button').count(), 0);
});
