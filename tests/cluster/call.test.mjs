// SPDX-License-Identifier: MIT
// Rooms shared through Redis: two browsers on different instances hold a call, and a
// duet-peer on a third instance joins a room of a browser on the first. Redis runs with
// the password-protected ACL user of docs/DEPLOYING.md, reached by a redis:// URL.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expectSeesAndHears, joinedTab, peerIdOf, startEnv, waitForState } from '../e2e/lib.mjs';
import { startPeer } from '../peer-browser/peer.mjs';
import { at, metrics, startCluster } from './lib.mjs';

test('two browsers on different instances call; a duet-peer on a third joins a browser on the first', async (t) => {
  const cluster = await startCluster(t, { instances: 3, redisPassword: 'duet-test-password' });
  const [A, B, C] = cluster.servers;
  // startEnv's own server is not used: each page is opened from the instance it belongs to.
  const env = await startEnv(t);

  const alice = await joinedTab(at(env, A), 'across', { expect: 'waiting' });
  const bob = await joinedTab(at(env, B), 'across', { expect: ['connecting', 'connected'] });
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
  const [mA, mB] = [await metrics(A.url), await metrics(B.url)];
  assert.equal(mA.get('duet_peers'), 1, 'alice is on instance A');
  assert.equal(mB.get('duet_peers'), 1, 'bob is on instance B');
  // The offer, the answer and the candidates crossed from one instance to the other.
  assert.ok(mA.get('duet_cluster_relayed_remote_total') > 0, 'A relayed through Redis');
  assert.ok(mB.get('duet_cluster_relayed_remote_total') > 0, 'B relayed through Redis');

  // A browser waits on A; duet-peer joins the same room on C.
  const carol = await joinedTab(at(env, A), 'with-a-device', { expect: 'waiting' });
  const carolId = await peerIdOf(carol);
  const peer = startPeer(C.url, 'with-a-device', { name: 'cluster-peer' });
  t.after(() => peer.stop('SIGKILL'));
  const joined = await peer.waitEvent('joined');
  assert.deepEqual(joined.peers, [carolId]);
  await waitForState(carol, 'connected');
  await Promise.all([peer.firstFrame('video', carolId), expectSeesAndHears(carol, joined.id)]);
  assert.equal((await metrics(C.url)).get('duet_peers'), 1, 'duet-peer is on instance C');
  assert.equal((await metrics(A.url)).get('duet_peers'), 2, 'alice and carol are on A');
});
