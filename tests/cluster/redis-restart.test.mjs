// SPDX-License-Identifier: MIT
// Redis killed (SIGKILL) under a call between browsers on two instances, then started
// again, empty, on the same port: no instance crashes; while it is down new joins get
// `unavailable`, /healthz is 503 and duet_redis_up 0, and the call's media keeps flowing;
// once it is back the instances have written their members back, so the room is still
// full for a stranger and a member who reloads resumes its seat.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  expectSeesAndHears,
  joinedTab,
  peerIdOf,
  receivedFrames,
  recordSocketFrames,
  startEnv,
  statusOf,
  waitForState,
} from '../e2e/lib.mjs';
import { at, metrics, startCluster, waitHealth, watchMedia, wsClient } from './lib.mjs';

/** Spec: the instances reconnect with backoff of at most 5 s. */
const BACK_MS = 8000;

test('Redis killed and restarted empty: joins refused meanwhile, calls go on, seats kept', async (t) => {
  const cluster = await startCluster(t, { instances: 2 });
  const [A, B] = cluster.servers;
  const env = await startEnv(t);
  const room = 'redis-restart';
  const alice = await joinedTab(at(env, A), room, { expect: 'waiting', initScript: recordSocketFrames });
  const bob = await joinedTab(at(env, B), room, { expect: ['connecting', 'connected'] });
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
  const reconnectsBefore = (await metrics(A.url)).get('duet_redis_reconnects_total');

  const watch = await watchMedia([
    { page: alice, peer: bobId },
    { page: bob, peer: aliceId },
  ]);
  const killedAt = Date.now();
  await cluster.redis.kill();
  await Promise.all([waitHealth(A.url, 503, 5000), waitHealth(B.url, 503, 5000)]);
  const noticedMs = Date.now() - killedAt;
  for (const s of [A, B]) assert.equal((await metrics(s.url)).get('duet_redis_up'), 0);
  // A new join, to a new room and to the full one, on either instance: refused, clearly.
  for (const [s, r] of [
    [A, 'during-the-outage'],
    [B, room],
  ]) {
    const c = await wsClient(s.url);
    c.join(r);
    const err = await c.next(['joined', 'error']);
    assert.equal(err.type, 'error');
    assert.equal(err.code, 'unavailable');
    assert.match(err.message, /unavailable/);
    c.close();
  }
  // The call in progress is not disturbed: the pages stay in it.
  assert.equal(await statusOf(alice), 'connected');
  assert.equal(await statusOf(bob), 'connected');

  // Back, empty, on the same port.
  await cluster.redis.restart();
  const restartedAt = Date.now();
  await Promise.all([waitHealth(A.url, 200, BACK_MS), waitHealth(B.url, 200, BACK_MS)]);
  const backMs = Date.now() - restartedAt;
  await watch.stop();
  const mA = await metrics(A.url);
  assert.equal(mA.get('duet_redis_up'), 1);
  assert.ok(mA.get('duet_redis_reconnects_total') > reconnectsBefore, 'the reconnect was counted');

  // Both seats were written back: the room is still full...
  const stranger = await wsClient(B.url);
  stranger.join(room);
  assert.equal((await stranger.next(['joined', 'error'])).code, 'room-full');
  stranger.close();
  // ...and alice, reloading, resumes her seat with her token.
  await alice.reload();
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  assert.equal(await peerIdOf(alice), aliceId);
  const joined = (await receivedFrames(alice)).filter((f) => f.type === 'joined').at(-1);
  assert.equal(joined.resumed, true);
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
  // And a new room works again.
  const fresh = await wsClient(A.url);
  fresh.join('after-the-outage');
  assert.equal((await fresh.next(['joined', 'error'])).type, 'joined');
  fresh.close();
  t.diagnostic(`the instances reported Redis down ${noticedMs} ms after it was killed, and up ${backMs} ms after it restarted`);
});
