// SPDX-License-Identifier: MIT
// Story 9 in Firefox: a reloaded Firefox tab takes its seat back by itself and the call with
// Chromium resumes without anyone doing anything.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expectSeesAndHears,
  noticeHistory,
  peerIdOf,
  startEnv,
  stateHistory,
  waitForState,
  waitForStateSeen,
} from './lib.mjs';

test('story 9 in Firefox: reloading the Firefox tab resumes its seat and the call', async (t) => {
  const env = await startEnv(t, { firefox: true });
  const alice = await env.open('/?room=porch');
  await waitForState(alice, 'waiting');
  const fox = await env.open('/?room=porch', { browser: 'firefox' });
  await Promise.all([waitForState(alice, 'connected'), waitForState(fox, 'connected')]);
  const [aliceId, foxId] = [await peerIdOf(alice), await peerIdOf(fox)];
  await Promise.all([expectSeesAndHears(alice, foxId), expectSeesAndHears(fox, aliceId)]);
  await alice.evaluate((id) => {
    window.__oldPc = window.duet.pcs.get(id);
  }, foxId);
  const seen = (await stateHistory(alice)).length;

  await fox.reload();

  // Alice is told Firefox dropped and may come back...
  await waitForStateSeen(alice, 'peer-left', seen);
  assert.ok(
    (await noticeHistory(alice)).some((n) => /dropped, waiting for them to come back/i.test(n)),
    'Alice gets a "dropped, waiting" notice',
  );
  // ...and the call comes back by itself: same seat, same id, new connection.
  await Promise.all([waitForState(alice, 'connected'), waitForState(fox, 'connected')]);
  assert.equal(await peerIdOf(fox), foxId, 'Firefox resumed its seat (same peer id)');
  assert.equal(new URL(fox.url()).searchParams.get('room'), 'porch');
  assert.equal(await fox.getByTestId('room-dialog').isVisible(), false, 'no questions asked');
  const history = await stateHistory(fox);
  assert.ok(!history.includes('choosing-room') && !history.includes('room-full'), `Firefox went ${history}`);
  assert.ok(
    await alice.evaluate((id) => window.duet.pcs.get(id) !== window.__oldPc && window.duet.pcs.size === 1, foxId),
    'Alice answered the newcomer with a fresh RTCPeerConnection',
  );
  await Promise.all([expectSeesAndHears(alice, foxId), expectSeesAndHears(fox, aliceId)]);
});
