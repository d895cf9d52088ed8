// SPDX-License-Identifier: MIT
// Firefox ESR (duet-server's own client, driven by puppeteer-core) and duet-peer in one room,
// both join orders: each side decodes the other's video and hears its audio.

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

/** Both directions: Firefox decodes duet-peer's video and hears it; duet-peer decodes Firefox's. */
async function assertTwoWay(page, peer, browserId, peerId) {
  await Promise.all([peer.firstFrame('video', browserId), peer.firstFrame('audio', browserId)]);
  const stats = await expectSeesAndHears(page, peerId);
  assert.ok(stats.framesDecoded > 0, `Firefox decoded no frames: ${JSON.stringify(stats)}`);
}

/**
 * What Firefox's side of the link shows about the negotiation: the remote description's
 * audio m-line, and its RTP stats (NACKs received and packets resent, per kind).
 */
function linkReport(page, peerId) {
  return page.evaluate(async (id) => {
    const pc = window.duet.pcs.get(id);
    const sdp = pc.remoteDescription?.sdp ?? '';
    const audio = sdp.split(/\r\n(?=m=)/).find((m) => m.startsWith('m=audio')) ?? '';
    const out = {
      remoteType: pc.remoteDescription?.type,
      audioMLine: audio.split('\r\n')[0],
      audioBundleOnly: /\r\na=bundle-only/.test(audio),
      audioNackOffered: /a=rtcp-fb:\d+ nack/.test(audio),
    };
    (await pc.getStats()).forEach((s) => {
      if (s.type !== 'outbound-rtp') return;
      out[s.kind] = {
        packetsSent: s.packetsSent,
        nackCount: s.nackCount,
        retransmittedPacketsSent: s.retransmittedPacketsSent,
      };
    });
    return out;
  }, peerId);
}

test('Firefox first, then duet-peer (duet-peer offers)', async (t) => {
  const env = await startEnv(t, { firefox: true });
  const room = freshRoom('firefox-first');
  const page = await env.open(`/?room=${room}`, { browser: 'firefox' });
  await waitForState(page, 'waiting');
  const browserId = await peerIdOf(page);

  const peer = peerFor(t, env, room, { name: 'peer-second' });
  const joined = await peer.waitEvent('joined');
  assert.deepEqual(joined.peers, [browserId]);
  await waitForState(page, 'connected');
  await peer.waitEvent('connected', (e) => e.peer === browserId);
  await assertTwoWay(page, peer, browserId, joined.id);
  t.diagnostic(`Firefox's view of duet-peer's offer: ${JSON.stringify(await linkReport(page, joined.id))}`);
  await stopCleanly(page, peer);
});

test('duet-peer first, then Firefox (Firefox offers)', async (t) => {
  const env = await startEnv(t, { firefox: true });
  const room = freshRoom('peer-first');
  const peer = peerFor(t, env, room, { name: 'peer-first' });
  const joined = await peer.waitEvent('joined');
  assert.deepEqual(joined.peers, []);

  const page = await env.open(`/?room=${room}`, { browser: 'firefox' });
  await waitForState(page, 'connected');
  const browserId = await peerIdOf(page);
  await peer.waitEvent('peer-joined', (e) => e.peer === browserId);
  await assertTwoWay(page, peer, browserId, joined.id);
  t.diagnostic(`Firefox's view of duet-peer's answer: ${JSON.stringify(await linkReport(page, joined.id))}`);
  await stopCleanly(page, peer);
});
