// SPDX-License-Identifier: MIT
// A duplicated tab takes the seat over (close 4001): the old tab stops and says so instead of fighting back.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectedPair, expectSeesAndHears, peerIdOf, startEnv, waitForState } from './lib.mjs';

test('a duplicated tab continues the call; the original does not reconnect', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'hallway');
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];

  // window.open copies sessionStorage, resume token included, like "Duplicate tab" does.
  const [copy] = await Promise.all([
    alice.context().waitForEvent('page', { timeout: 10000 }),
    alice.evaluate(() => {
      window.open(location.href);
    }),
  ]);

  await waitForState(alice, 'choosing-room');
  assert.match(await alice.getByTestId('room-error').innerText(), /another tab or window/i);
  assert.equal(await alice.evaluate(() => window.duet.pcs.size), 0);
  assert.equal(await alice.evaluate(() => window.duet.ws), null, 'the old tab gave up its socket for good');

  await Promise.all([waitForState(copy, 'connected'), waitForState(bob, 'connected')]);
  assert.equal(await peerIdOf(copy), aliceId, 'the copy holds the same seat');
  await Promise.all([expectSeesAndHears(copy, bobId), expectSeesAndHears(bob, aliceId)]);
  // Still no reconnect attempt from the old tab once things settled.
  assert.equal(await alice.evaluate(() => window.duet.ws), null);
});
