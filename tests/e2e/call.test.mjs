// SPDX-License-Identifier: MIT
// Story 4: a second tab entering the same name joins, and both sides see and hear each other.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, expectSeesAndHears, joinedTab, peerIdOf, startEnv, waitForState } from './lib.mjs';

test('story 4: a second person joins the room and the call starts both ways', async (t) => {
  const env = await startEnv(t);
  const alice = await joinedTab(env, 'kitchen', { expect: 'waiting' });

  const bob = await env.open('/');
  await waitForState(bob, 'choosing-room');
  await enterRoom(bob, 'kitchen');
  // Bob passes through "connecting" (or is already past it on a fast machine).
  await waitForState(bob, ['connecting', 'connected']);
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);

  const [aliceId, bobId] = await Promise.all([peerIdOf(alice), peerIdOf(bob)]);
  assert.ok(aliceId && bobId && aliceId !== bobId, 'each tab has its own peer id');

  // Each side decodes the other's video (and keeps decoding) and receives live audio.
  const [atAlice, atBob] = await Promise.all([
    expectSeesAndHears(alice, bobId),
    expectSeesAndHears(bob, aliceId),
  ]);
  assert.ok(atAlice.framesDecoded > 5 && atBob.framesDecoded > 5);
  assert.ok(atAlice.audioPackets > 0 && atBob.audioPackets > 0);

  // One remote video in each tab, carrying the other person's media.
  assert.equal(await alice.getByTestId('remote-video').count(), 1);
  assert.equal(await bob.getByTestId('remote-video').count(), 1);
  assert.equal(await alice.getByTestId('remote-video').getAttribute('data-peer'), bobId);
});
