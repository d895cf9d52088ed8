// SPDX-License-Identifier: MIT
// Story 9: a reloaded tab takes its seat back by itself and the call resumes without anyone doing anything.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectedPair,
  expectSeesAndHears,
  noticeHistory,
  peerIdOf,
  startEnv,
  stateHistory,
  waitForState,
  waitForStateSeen,
} from './lib.mjs';

test('story 9: reloading a tab resumes its seat and the call', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'porch');
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];
  await expectSeesAndHears(alice, bobId);
  await alice.evaluate((id) => {
    window.__oldPc = window.duet.pcs.get(id);
  }, bobId);
  const seen = (await stateHistory(alice)).length;

  await bob.reload();

  // Alice is told Bob dropped and that he may come back...
  await waitForStateSeen(alice, 'peer-left', seen);
  assert.ok(
    (await noticeHistory(alice)).some((n) => /dropped, waiting for them to come back/i.test(n)),
    'Alice gets a "dropped, waiting" notice',
  );
  // ...and the call comes back by itself: same seat, same id, new connection.
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  assert.equal(await peerIdOf(bob), bobId, 'Bob resumed his seat (same peer id)');
  assert.equal(new URL(bob.url()).searchParams.get('room'), 'porch');
  assert.equal(await bob.getByTestId('room-dialog').isVisible(), false, 'no questions asked');
  const history = await stateHistory(bob);
  assert.ok(!history.includes('choosing-room') && !history.includes('room-full'), `bob went ${history}`);
  assert.ok(
    await alice.evaluate((id) => window.duet.pcs.get(id) !== window.__oldPc && window.duet.pcs.size === 1, bobId),
    'Alice answered the newcomer with a fresh RTCPeerConnection',
  );

  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);

  // Reloading again (the token from the resumed join is kept too) works the same way.
  await alice.reload();
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  assert.equal(await peerIdOf(alice), aliceId);
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
});
