// SPDX-License-Identifier: MIT
// The Leave button gives up the seat: the other person is told, and the room takes someone new.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectedPair,
  enterRoom,
  expectSeesAndHears,
  noticeHistory,
  peerIdOf,
  startEnv,
  waitForState,
} from './lib.mjs';

test('leave button: back to the room dialog, and the other tab is told', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'library');

  await bob.getByTestId('leave-button').click();

  await waitForState(bob, 'choosing-room');
  assert.ok(await bob.getByTestId('room-dialog').isVisible());
  assert.equal(await bob.evaluate(() => window.duet.pcs.size), 0);
  assert.equal(await bob.getByTestId('remote-video').count(), 0);
  assert.equal(new URL(bob.url()).search, '', 'the link no longer points at the room');

  await waitForState(alice, 'peer-left');
  assert.ok((await noticeHistory(alice)).some((n) => /left the call/i.test(n)));
  assert.match(await alice.getByTestId('status').innerText(), /left/i);
  assert.equal(await alice.evaluate(() => window.duet.pcs.size), 0);
  assert.equal(await alice.getByTestId('remote-video').count(), 0);

  // The seat is free at once (no resume hold for a leave): Carol gets in and calls Alice.
  const carol = await env.open('/');
  await waitForState(carol, 'choosing-room');
  await enterRoom(carol, 'library');
  await Promise.all([waitForState(alice, 'connected'), waitForState(carol, 'connected')]);
  await expectSeesAndHears(alice, await peerIdOf(carol));

  // Bob gave up his seat for good: coming back finds the room full, not his old seat.
  await enterRoom(bob, 'library');
  await waitForState(bob, 'room-full');
});

test('closing the tab: the other side waits for a resume, then frees the seat when it expires', async (t) => {
  const env = await startEnv(t, { serverArgs: ['--resume-grace', '2'] });
  const [alice, bob] = await connectedPair(env, 'terrace');

  await bob.close();
  await waitForState(alice, 'peer-left');
  assert.match(await alice.getByTestId('status').innerText(), /dropped, waiting for them to come back/i);
  // The remote tile stays (frozen) while the seat is held.
  assert.equal(await alice.getByTestId('remote-video').count(), 1);

  // Once the grace period is over the seat is freed and the old connection is dropped.
  await alice.waitForFunction(() => window.duet.pcs.size === 0, null, { timeout: 15000 });
  assert.ok((await noticeHistory(alice)).some((n) => /did not come back/i.test(n)));
  assert.equal(await alice.getByTestId('remote-video').count(), 0);
  assert.equal(await alice.getAttribute('[data-testid=status]', 'data-state'), 'peer-left');
});
