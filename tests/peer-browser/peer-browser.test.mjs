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

/** The m-section of `kind` in an SDP text. */
function section(sdp, kind) {
  const parts = sdp.split(/\r?\n(?=m=)/);
  return parts.find((p) => p.startsWith(`m=${kind} `)) ?? '';
}

/** What the page's connection with `peerId` sends and receives: codecs, NACKs, both SDPs. */
function rtpReport(page, peerId) {
  return page.evaluate(async (id) => {
    const pc = window.duet.pcs.get(id);
    const stats = await pc.getStats();
    const codecs = new Map();
    stats.forEach((s) => s.type === 'codec' && codecs.set(s.id, s.mimeType));
    const out = { local: pc.localDescription?.sdp ?? '', remote: pc.remoteDescription?.sdp ?? '' };
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp' && s.type !== 'outbound-rtp') return;
      const key = `${s.type === 'inbound-rtp' ? 'in' : 'out'}_${s.kind}`;
      out[key] = { codec: codecs.get(s.codecId) ?? null, nackCount: s.nackCount ?? 0, packets: s.packetsSent ?? s.packetsReceived };
    });
    return out;
  }, peerId);
}

// Issue 13: duet-peer asked for retransmission of audio that nobody offered to resend, so
// browsers resent audio (Firefox 4-12% of it) or answered a NACK a second (Chromium).
for (const order of ['duet-peer offers', 'browser offers']) {
  test(`audio is never NACKed, video may be (${order})`, async (t) => {
    const env = await startEnv(t);
    const room = freshRoom('nack');
    let page, peer, peerId;
    if (order === 'duet-peer offers') {
      page = await env.open(`/?room=${room}`);
      await waitForState(page, 'waiting');
      peer = peerFor(t, env, room, { name: 'peer-nack-offers' });
      peerId = (await peer.waitEvent('joined')).id;
    } else {
      peer = peerFor(t, env, room, { name: 'peer-nack-answers' });
      peerId = (await peer.waitEvent('joined')).id;
      page = await env.open(`/?room=${room}`);
    }
    await waitForState(page, 'connected');
    const browserId = await peerIdOf(page);
    // Five seconds of the browser's audio decoded by duet-peer: time for NACKs to show.
    await peer.waitEvent('stats', (e) => e.peer === browserId && e.audio_buffers >= 250);
    const r = await rtpReport(page, peerId);
    // What duet-peer wrote (its offer or its answer): NACK for video, not for audio.
    const theirs = r.remote;
    assert.match(section(theirs, 'video'), /a=rtcp-fb:\d+ nack\r?\n/, 'video should ask for lost packets');
    assert.doesNotMatch(section(theirs, 'audio'), /a=rtcp-fb:\d+ nack/, 'audio must not ask for lost packets');
    // No m-line on port 0 with bundle-only in duet-peer's SDP (stacks without it refuse it).
    assert.doesNotMatch(theirs, /a=bundle-only/);
    assert.ok(r.out_audio.packets > 200, `browser sent audio: ${JSON.stringify(r.out_audio)}`);
    assert.equal(r.out_audio.nackCount, 0, `duet-peer NACKed the browser's audio: ${JSON.stringify(r.out_audio)}`);
    // Issue 14: duet-peer's packets carry transport-wide sequence numbers (in the id the
    // offer gave them), and the browser's transport-cc feedback reaches duet-peer's
    // bandwidth controller (the stats event counts it).
    for (const kind of ['video', 'audio']) {
      assert.match(section(theirs, kind), /a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01\r?\n/, `${kind} should carry transport-wide sequence numbers`);
      assert.match(section(theirs, kind), /a=rtcp-fb:\d+ transport-cc\r?\n/, `${kind} should ask for transport-cc feedback`);
    }
    const fed = peer.events.filter((e) => e.event === 'stats' && e.peer === browserId).at(-1);
    assert.ok(fed?.twcc > 0, `no transport-wide feedback reached duet-peer's controller: ${JSON.stringify(fed)}`);
    assert.ok(fed.acked_kbps > 0, `the feedback gave no acknowledged rate: ${JSON.stringify(fed)}`);
    await stopCleanly(page, peer);
  });
}

// The web client's test hook (/?codec=h264) makes Chromium prefer H.264; duet-peer answers
// in it (auto takes the offer's first codec it can send), or offers it (--video-codec h264).
for (const order of ['duet-peer offers', 'browser offers']) {
  test(`H.264 both ways with Chromium (${order})`, async (t) => {
    const env = await startEnv(t);
    const room = freshRoom('h264');
    let page, peer, peerId;
    if (order === 'duet-peer offers') {
      page = await env.open(`/?room=${room}&codec=h264`);
      await waitForState(page, 'waiting');
      peer = peerFor(t, env, room, { name: 'peer-h264-offers', args: ['--video-codec', 'h264'] });
      peerId = (await peer.waitEvent('joined')).id;
    } else {
      peer = peerFor(t, env, room, { name: 'peer-h264-answers' });
      peerId = (await peer.waitEvent('joined')).id;
      page = await env.open(`/?room=${room}&codec=h264`);
    }
    await waitForState(page, 'connected');
    const browserId = await peerIdOf(page);
    const connected = await peer.waitEvent('connected', (e) => e.peer === browserId);
    assert.equal(connected.codec, 'H264');
    await assertTwoWay(page, peer, browserId, peerId);
    await peer.waitEvent('stats', (e) => e.peer === browserId && e.video_frames >= 30);
    const r = await rtpReport(page, peerId);
    assert.equal(r.in_video?.codec, 'video/H264', `browser receives ${JSON.stringify(r.in_video)}`);
    assert.equal(r.out_video?.codec, 'video/H264', `browser sends ${JSON.stringify(r.out_video)}`);
    await stopCleanly(page, peer);
  });
}
