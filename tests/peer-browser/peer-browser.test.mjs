// SPDX-License-Identifier: MIT
// A browser (duet-server's own client in Debian's Chromium) and duet-peer in one room.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { expectSeesAndHears, peerIdOf, startEnv, waitForState } from '../e2e/lib.mjs';
import { startPeer } from './peer.mjs';

let rooms = 0;
const freshRoom = (what) => `${what}-${process.pid}-${++rooms}`;

/** Starts a peer; it is killed when the test ends if the test did not stop it. */
function peerFor(t, env, room, opts) {
  const peer = startPeer(env.url, room, opts);
  t.after(() => peer.stop('SIGKILL'));
  return peer;
}

/** SIGTERM ends duet-peer cleanly (exit 0) and the page is told at once. */
async function stopCleanly(page, peer) {
  const { code, signal } = await peer.stop('SIGTERM');
  assert.equal(signal, null, `duet-peer was killed by ${signal} (log: ${peer.logPath})`);
  assert.equal(code, 0, `duet-peer exited ${code} (log: ${peer.logPath})`);
  await waitForState(page, ['waiting', 'peer-left']);
}

/** Both directions: the page decodes duet-peer's video and hears it; duet-peer decodes the page's. */
async function assertTwoWay(page, peer, browserId, peerId, from = 0) {
  await Promise.all([
    peer.firstFrame('video', browserId, { from }),
    peer.firstFrame('audio', browserId, { from }),
  ]);
  const stats = await expectSeesAndHears(page, peerId);
  assert.ok(stats.framesDecoded > 0, `browser decoded no frames: ${JSON.stringify(stats)}`);
}

test('browser first, then duet-peer (duet-peer offers)', async (t) => {
  const env = await startEnv(t);
  const room = freshRoom('browser-first');
  const page = await env.open(`/?room=${room}`);
  await waitForState(page, 'waiting');
  const browserId = await peerIdOf(page);

  const peer = peerFor(t, env, room, { name: 'peer-second' });
  const joined = await peer.waitEvent('joined');
  assert.deepEqual(joined.peers, [browserId]);
  await waitForState(page, 'connected');
  await peer.waitEvent('connected', (e) => e.peer === browserId);
  await assertTwoWay(page, peer, browserId, joined.id);
  await stopCleanly(page, peer);
});

test('duet-peer first, then browser (browser offers)', async (t) => {
  const env = await startEnv(t);
  const room = freshRoom('peer-first');
  const peer = peerFor(t, env, room, { name: 'peer-first' });
  const joined = await peer.waitEvent('joined');
  assert.deepEqual(joined.peers, []);

  const page = await env.open(`/?room=${room}`);
  await waitForState(page, 'connected');
  const browserId = await peerIdOf(page);
  await peer.waitEvent('peer-joined', (e) => e.peer === browserId);
  await assertTwoWay(page, peer, browserId, joined.id);
  await stopCleanly(page, peer);
});

test('a reloaded tab resumes its seat and the call with duet-peer', async (t) => {
  const env = await startEnv(t);
  const room = freshRoom('reload');
  const peer = peerFor(t, env, room, { name: 'peer-reload' });
  const joined = await peer.waitEvent('joined');
  const page = await env.open(`/?room=${room}`);
  await waitForState(page, 'connected');
  const browserId = await peerIdOf(page);
  await assertTwoWay(page, peer, browserId, joined.id);

  const mark = peer.mark();
  await page.reload();
  // The tab takes its seat back (same id) and offers again; duet-peer replaces the old
  // webrtcbin with a fresh one and answers.
  await waitForState(page, 'connected');
  assert.equal(await peerIdOf(page), browserId);
  const back = await peer.waitEvent('peer-joined', (e) => e.peer === browserId, { from: mark });
  assert.equal(back.resumed, true);
  await assertTwoWay(page, peer, browserId, joined.id, mark);
  await stopCleanly(page, peer);
});
