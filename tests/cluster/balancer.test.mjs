// SPDX-License-Identifier: MIT
// The nginx config of docs/DEPLOYING.md, run for real in front of duet-server: the page,
// its WebSocket and a call go through it, and a dead instance is skipped. No Redis here:
// the instances do not share rooms, which is not what this checks.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import {
  connectedPair,
  expectSeesAndHears,
  peerIdOf,
  receivedFrames,
  recordSocketFrames,
  repoRoot,
  startEnv,
  stateHistory,
  waitForState,
  waitForStateSeen,
} from '../e2e/lib.mjs';
import {
  NGINX_SNIPPET,
  REDIS_ACL,
  at,
  freePort,
  metrics,
  selfSignedCert,
  startCluster,
  startInstance,
  startNginx,
  watchMedia,
  wsClient,
} from './lib.mjs';

test('docs/DEPLOYING.md shows docs/nginx-duet.conf and the Redis ACL user as they are run', () => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'DEPLOYING.md'), 'utf8');
  const snippet = fs.readFileSync(NGINX_SNIPPET, 'utf8');
  assert.ok(doc.includes(`\`\`\`nginx\n${snippet}\`\`\``), 'DEPLOYING.md must quote docs/nginx-duet.conf whole, in one ```nginx block');
  // The Redis ACL user the guide gives is the one cluster-call runs Redis with.
  assert.ok(doc.includes(`\nuser duet ${REDIS_ACL}\n`), `DEPLOYING.md must give the ACL user as lib.mjs has it: user duet ${REDIS_ACL}`);
});

test('a call between two browsers through nginx: page, WebSocket and Origin check pass through', async (t) => {
  const cluster = await startCluster(t, { instances: 1, redis: false, balancer: true });
  // startEnv's own server is not used: every page is opened through the balancer.
  const env = await startEnv(t);
  const [a, b] = await connectedPair(at(env, cluster.balancer), 'through-nginx');
  await Promise.all([expectSeesAndHears(a, await peerIdOf(b)), expectSeesAndHears(b, await peerIdOf(a))]);
  const m = await metrics(cluster.servers[0].url);
  assert.equal(m.get('duet_peers'), 2, 'both sockets reached the instance behind nginx');
  assert.equal(m.get('duet_origin_refused_total'), 0);
});

test('a dead instance is skipped: every new WebSocket through nginx reaches the live one', async (t) => {
  const cluster = await startCluster(t, { instances: 2, redis: false, balancer: true });
  const [dead, live] = cluster.servers;
  await dead.kill();
  const before = (await metrics(live.url)).get('duet_connections_total');
  for (let i = 0; i < 10; i++) {
    const c = await wsClient(cluster.balancer.url);
    c.join(`skip-${i}`);
    const joined = await c.next('joined');
    assert.equal(joined.room, `skip-${i}`);
    c.close();
  }
  assert.equal((await metrics(live.url)).get('duet_connections_total') - before, 10);
});

test('TLS at the balancer: https and wss at nginx, plain http behind it, with --allow-origin', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-cluster-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tls = selfSignedCert(dir);
  const port = await freePort();
  // The page's origin is https://...; the instance sees plain http, so it must be told.
  const instance = await startInstance({ args: ['--allow-origin', `https://127.0.0.1:${port}`] });
  t.after(() => instance.stop());
  const nginx = await startNginx([instance.url], { port, tls });
  t.after(() => nginx.stop());
  const env = await startEnv(t, { browserArgs: ['--ignore-certificate-errors'] });
  const [a, b] = await connectedPair(at(env, nginx), 'over-tls');
  assert.equal(new URL(a.url()).protocol, 'https:');
  assert.ok(await a.evaluate(() => window.duet.ws.url.startsWith('wss://')));
  await Promise.all([expectSeesAndHears(a, await peerIdOf(b)), expectSeesAndHears(b, await peerIdOf(a))]);
  assert.equal((await metrics(instance.url)).get('duet_peers'), 2);
});

test('the balancer restarts under a call: both reconnect through it and resume, media flows', async (t) => {
  const cluster = await startCluster(t, { instances: 1, redis: false, balancer: true });
  const env = await startEnv(t);
  const [a, b] = await connectedPair(at(env, cluster.balancer), 'balancer-restart', { initScript: recordSocketFrames });
  const [aId, bId] = [await peerIdOf(a), await peerIdOf(b)];
  await Promise.all([expectSeesAndHears(a, bId), expectSeesAndHears(b, aId)]);
  const watch = await watchMedia([
    { page: a, peer: bId },
    { page: b, peer: aId },
  ]);
  const seen = [(await stateHistory(a)).length, (await stateHistory(b)).length];

  await cluster.balancer.stop();
  await Promise.all([waitForStateSeen(a, 'reconnecting', seen[0]), waitForStateSeen(b, 'reconnecting', seen[1])]);
  cluster.balancer = await startNginx(cluster.servers.map((s) => s.url), { port: cluster.balancer.port });
  // The browser's backoff is at most 8 s by now.
  await Promise.all([waitForState(a, 'connected', 15000), waitForState(b, 'connected', 15000)]);
  await watch.stop();
  for (const [page, id] of [
    [a, aId],
    [b, bId],
  ]) {
    assert.equal(await peerIdOf(page), id, 'same seat');
    assert.equal((await receivedFrames(page)).filter((f) => f.type === 'joined').at(-1).resumed, true);
  }
  await Promise.all([expectSeesAndHears(a, bId), expectSeesAndHears(b, aId)]);
});
