// SPDX-License-Identifier: MIT
// Story 9: when only the WebSocket dies the client reconnects with backoff and keeps the live RTCPeerConnection.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectedPair,
  expectSeesAndHears,
  noticeHistory,
  peerIdOf,
  readMedia,
  recordSocketFrames,
  sentFrames,
  startEnv,
  startServer,
  stateHistory,
  waitForState,
  waitForStateSeen,
} from './lib.mjs';

test('story 9: a killed WebSocket reconnects and resumes; the media connection survives', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'balcony', { initScript: recordSocketFrames });
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];
  await expectSeesAndHears(alice, bobId);
  await alice.evaluate((id) => {
    window.__pcBefore = window.duet.pcs.get(id);
    window.__wsBefore = window.duet.ws;
  }, bobId);
  await bob.evaluate((id) => {
    window.__pcBefore = window.duet.pcs.get(id);
  }, aliceId);
  const [aliceSeen, bobSeen] = [(await stateHistory(alice)).length, (await stateHistory(bob)).length];
  const framesBefore = (await readMedia(alice))[bobId].framesDecoded;

  await alice.evaluate(() => window.duet.dropSocket());

  await waitForStateSeen(alice, 'reconnecting', aliceSeen);
  await waitForStateSeen(bob, 'peer-left', bobSeen);
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  assert.ok((await noticeHistory(bob)).some((n) => /dropped, waiting for them to come back/i.test(n)));

  assert.equal(await peerIdOf(alice), aliceId, 'same seat');
  // The rejoin carried the resume token from the first `joined`, kept in sessionStorage.
  const joins = (await sentFrames(alice)).filter((f) => f.type === 'join');
  const token = await alice.evaluate(() => sessionStorage.getItem('duet.resume:balcony'));
  assert.ok(token);
  assert.deepEqual(joins.at(-1), { type: 'join', room: 'balcony', resume: token });
  assert.equal(joins.length, 2);
  assert.ok(await alice.evaluate(() => window.duet.ws !== window.__wsBefore && window.duet.ws.readyState === 1));
  // Nobody re-offered: both ends kept the RTCPeerConnection that was working.
  assert.ok(await alice.evaluate((id) => window.duet.pcs.get(id) === window.__pcBefore, bobId), 'alice kept her pc');
  assert.ok(await bob.evaluate((id) => window.duet.pcs.get(id) === window.__pcBefore, aliceId), 'bob kept his pc');
  const during = await expectSeesAndHears(alice, bobId);
  assert.ok(during.framesDecoded > framesBefore, 'frames kept being decoded on the same connection');
  await expectSeesAndHears(bob, aliceId);

  // After the socket came back, a later reload still resumes (the token is still good).
  await alice.reload();
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  assert.equal(await peerIdOf(alice), aliceId);
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
});

test('story 9: after a server restart both sides reconnect by themselves and call again', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'shed');
  const port = new URL(env.url).port;
  const [aliceSeen, bobSeen] = [(await stateHistory(alice)).length, (await stateHistory(bob)).length];

  await env.server.stop();
  await Promise.all([waitForStateSeen(alice, 'reconnecting', aliceSeen), waitForStateSeen(bob, 'reconnecting', bobSeen)]);
  // Still down after a few attempts: the backoff keeps the page in "reconnecting".
  assert.equal(await alice.getAttribute('[data-testid=status]', 'data-state'), 'reconnecting');

  // The same address comes back with an empty registry: tokens are unknown, so both join
  // afresh under new ids and the newcomer offers again.
  const again = await startServer({ args: ['--port', port] });
  t.after(() => again.stop());
  await Promise.all([waitForState(alice, 'connected', 30000), waitForState(bob, 'connected', 30000)]);
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];
  assert.deepEqual(await alice.evaluate(() => [...window.duet.pcs.keys()]), [bobId]);
  assert.deepEqual(await bob.evaluate(() => [...window.duet.pcs.keys()]), [aliceId]);
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
});

test('story 9: reconnect delays back off exponentially from 0.5 s to an 8 s cap, with jitter', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/');
  const delays = await page.evaluate(async () => {
    const { backoffDelay } = await import('/signaling.js');
    return Array.from({ length: 8 }, (_, attempt) => Array.from({ length: 200 }, () => backoffDelay(attempt)));
  });
  const ceilings = [500, 1000, 2000, 4000, 8000, 8000, 8000, 8000];
  delays.forEach((samples, attempt) => {
    const ceiling = ceilings[attempt];
    assert.ok(samples.every((d) => d >= ceiling / 2 && d <= ceiling), `attempt ${attempt} within [${ceiling / 2}, ${ceiling}]`);
    assert.ok(new Set(samples).size > 20, `attempt ${attempt} is jittered`);
  });
});
