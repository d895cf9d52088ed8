// SPDX-License-Identifier: MIT
// An instance killed with SIGKILL mid-call, two browsers behind nginx (docs/nginx-duet.conf):
// the member on it reconnects through the balancer to a live instance and resumes its seat,
// and media flows peer to peer throughout. Twice: once reconnecting at once, as a browser
// does; once with the reconnect held back until the other member has been told
// `peer-left` `dropped` (the dead instance's heartbeat expired) and a stranger has found
// the seat still held.
//
// Where each browser is: both pages go through nginx, whose `least_conn` sends the second
// WebSocket to an instance without one; each instance's /metrics duet_peers, read after
// each join, says which instance took it.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  expectSeesAndHears,
  joinedTab,
  noticeHistory,
  peerIdOf,
  receivedFrames,
  recordSocketFrames,
  stateHistory,
  startEnv,
  waitForState,
  waitForStateSeen,
} from '../e2e/lib.mjs';
import { at, metrics, peersPerInstance, startCluster, watchMedia, wsClient } from './lib.mjs';

/** Spec: members of a dead instance are marked dropped within about 4 s (heartbeat PX 3000). */
const REAP_MS = 6000;

// In the page: while window.__duetHold is set, new WebSockets ask for a path that is not
// a WebSocket (same origin, so the page's CSP allows it; refused with 404), as if the
// network were down; the client keeps backing off.
function holdableSockets() {
  const Native = window.WebSocket;
  window.__duetHold = false;
  window.WebSocket = class extends Native {
    constructor(url, ...rest) {
      super(window.__duetHold ? new URL('/held-by-the-test', url).href : url, ...rest);
    }
  };
}

/** The instance that gained a member between two duet_peers readings. */
function gained(before, after) {
  const i = after.findIndex((n, k) => n === (before[k] ?? 0) + 1);
  assert.ok(i >= 0, `no instance gained a member: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
  return i;
}

async function lastJoined(page) {
  return (await receivedFrames(page)).filter((f) => f.type === 'joined').at(-1);
}

test('an instance killed mid-call: its member resumes on another through nginx, media flows', async (t) => {
  const cluster = await startCluster(t, { instances: 3, balancer: true });
  const { servers } = cluster;
  const env = await startEnv(t);
  const lb = at(env, cluster.balancer);
  const room = 'instance-killed';
  const initScript = [recordSocketFrames, holdableSockets];

  const p0 = await peersPerInstance(servers);
  const alice = await joinedTab(lb, room, { expect: 'waiting', initScript });
  const p1 = await peersPerInstance(servers);
  const bob = await joinedTab(lb, room, { expect: ['connecting', 'connected'], initScript });
  // 'connecting' may still be the socket's; once connected, bob has surely joined.
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  const p2 = await peersPerInstance(servers);
  const [x, y] = [gained(p0, p1), gained(p1, p2)];
  assert.notEqual(x, y, `least_conn put both WebSockets on one instance: ${JSON.stringify(p2)}`);
  const z = [0, 1, 2].find((i) => i !== x && i !== y);
  const [aliceId, bobId] = [await peerIdOf(alice), await peerIdOf(bob)];
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
  const links = [
    { page: alice, peer: bobId },
    { page: bob, peer: aliceId },
  ];

  // 1. Alice's instance dies; her browser reconnects at once, through nginx, which skips
  // the dead instance. Her token is good on a live one: same seat, same call.
  let watch = await watchMedia(links);
  let seen = (await stateHistory(alice)).length;
  const killedAt = Date.now();
  await servers[x].kill();
  await waitForStateSeen(alice, 'reconnecting', seen);
  await waitForState(alice, 'connected');
  const resumedMs = Date.now() - killedAt;
  assert.equal(await peerIdOf(alice), aliceId, 'alice has her seat back');
  assert.equal((await lastJoined(alice)).resumed, true);
  // Past the time the dead instance's members are reaped: alice is not dropped again
  // (she moved), bob still has her, and the video never stalled for a second.
  await new Promise((r) => setTimeout(r, Math.max(0, killedAt + REAP_MS - Date.now())));
  await watch.stop();
  await waitForState(bob, 'connected');
  assert.deepEqual(await bob.evaluate(() => [...window.duet.pcs.keys()]), [aliceId]);
  const after1 = await peersPerInstance(servers);
  assert.equal(after1[x], null, 'instance x is dead');
  assert.equal(after1[y] + after1[z], 2, `both members on live instances: ${JSON.stringify(after1)}`);

  // 2. Bob's instance dies while his network is "down": the live instance notices the
  // missing heartbeat, alice is told bob dropped, and his seat is held for him.
  const bobOn = y;
  await bob.evaluate(() => {
    window.__duetHold = true;
  });
  watch = await watchMedia(links);
  seen = (await stateHistory(alice)).length;
  const bobSeen = (await stateHistory(bob)).length;
  const killed2At = Date.now();
  await servers[bobOn].kill();
  await waitForStateSeen(bob, 'reconnecting', bobSeen);
  await waitForStateSeen(alice, 'peer-left', seen, REAP_MS + 4000);
  const toldMs = Date.now() - killed2At;
  assert.ok((await noticeHistory(alice)).some((n) => /dropped, waiting for them to come back/i.test(n)));
  const live = servers.find((s, i) => i !== x && i !== bobOn);
  assert.ok((await metrics(live.url)).get('duet_cluster_members_reaped_total') >= 1);
  const stranger = await wsClient(cluster.balancer.url);
  stranger.join(room);
  assert.equal((await stranger.next('error')).code, 'room-full', "bob's seat is held for him");
  stranger.close();

  // The network is back: bob reconnects through nginx (past two dead instances) and resumes.
  await bob.evaluate(() => {
    window.__duetHold = false;
    window.dispatchEvent(new Event('online'));
  });
  await Promise.all([waitForState(bob, 'connected'), waitForState(alice, 'connected')]);
  assert.equal(await peerIdOf(bob), bobId, 'bob has his seat back');
  assert.equal((await lastJoined(bob)).resumed, true);
  await watch.stop();
  await Promise.all([expectSeesAndHears(alice, bobId), expectSeesAndHears(bob, aliceId)]);
  assert.equal((await metrics(live.url)).get('duet_peers'), 2);
  t.diagnostic(
    `alice resumed ${resumedMs} ms after her instance was killed; alice was told bob dropped ` +
      `${toldMs} ms after his was`,
  );
});
