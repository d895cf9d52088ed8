// SPDX-License-Identifier: MIT
// Loss protection between Chromium and duet-peer: RED/ULPFEC negotiated for video in both
// join orders (and decoded both ways), FEC sent and used when the path loses packets (an
// impaired link between network namespaces, root only), and Opus DTX for a browser whose
// SDP asks for it (usedtx=1).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { CHROMIUM, CHROMIUM_ARGS, expectSeesAndHears, peerIdOf, startEnv, waitForState } from '../e2e/lib.mjs';
import { inNamespace, startPeer } from './peer.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let rooms = 0;
const freshRoom = (what) => `${what}-${process.pid}-${++rooms}`;

function peerFor(t, env, room, opts, url = env.url) {
  const peer = startPeer(url, room, opts);
  t.after(() => peer.stop('SIGKILL'));
  return peer;
}

/** The m-line section of `kind` in an SDP text ('' if none). */
function section(sdp, kind) {
  const parts = sdp.split(/\r?\n(?=m=)/);
  return parts.find((p) => p.startsWith(`m=${kind} `)) ?? '';
}

const RED = /a=rtpmap:\d+ red\/90000/;
const ULPFEC = /a=rtpmap:\d+ ulpfec\/90000/;

/** The browser's view of its call with `peerId`: both descriptions and its RTP stats. */
function rtpView(page, peerId) {
  return page.evaluate(async (id) => {
    const pc = window.duet.pcs.get(id);
    const stats = await pc.getStats();
    const codecs = new Map();
    stats.forEach((s) => s.type === 'codec' && codecs.set(s.id, s.mimeType));
    const out = { local: pc.localDescription?.sdp ?? '', remote: pc.remoteDescription?.sdp ?? '' };
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      out[`in_${s.kind}`] = {
        codec: codecs.get(s.codecId) ?? null,
        packetsReceived: s.packetsReceived ?? 0,
        packetsLost: s.packetsLost ?? 0,
        framesDecoded: s.framesDecoded ?? 0,
        framesReceived: s.framesReceived ?? 0,
        nackCount: s.nackCount ?? 0,
        fecPacketsReceived: s.fecPacketsReceived ?? 0,
        retransmittedPacketsReceived: s.retransmittedPacketsReceived ?? 0,
        pliCount: s.pliCount ?? 0,
        fecPacketsDiscarded: s.fecPacketsDiscarded ?? 0,
        totalSamplesReceived: s.totalSamplesReceived ?? 0,
      };
    });
    return out;
  }, peerId);
}

for (const order of ['duet-peer offers', 'browser offers']) {
  test(`RED and ULPFEC are negotiated for video with Chromium (${order})`, async (t) => {
    const env = await startEnv(t);
    const room = freshRoom('fec');
    let page, peer, peerId;
    if (order === 'duet-peer offers') {
      page = await env.open(`/?room=${room}`);
      await waitForState(page, 'waiting');
      peer = peerFor(t, env, room, { name: 'peer-fec-offers' });
      peerId = (await peer.waitEvent('joined')).id;
    } else {
      peer = peerFor(t, env, room, { name: 'peer-fec-answers' });
      peerId = (await peer.waitEvent('joined')).id;
      page = await env.open(`/?room=${room}`);
    }
    await waitForState(page, 'connected');
    const browserId = await peerIdOf(page);
    await peer.firstFrame('video', browserId);
    const seen = await expectSeesAndHears(page, peerId);
    assert.ok(seen.framesDecoded > 0, `browser decoded no frames: ${JSON.stringify(seen)}`);
    // Both ways through RED: duet-peer decodes 30 more frames of the browser's video.
    await peer.waitEvent('stats', (e) => e.peer === browserId && e.video_frames >= 30);
    const r = await rtpView(page, peerId);
    const theirs = section(r.remote, 'video');
    const ours = section(r.local, 'video');
    assert.match(theirs, RED, `duet-peer's SDP has no RED for video:\n${theirs}`);
    assert.match(theirs, ULPFEC, `duet-peer's SDP has no ULPFEC for video:\n${theirs}`);
    assert.match(ours, RED);
    assert.match(ours, ULPFEC);
    // NACK stays on beside FEC.
    assert.match(theirs, /a=rtcp-fb:\d+ nack\r?\n/);
    assert.equal(r.in_video?.codec, 'video/VP8', `browser receives ${JSON.stringify(r.in_video)}`);
    await peer.stop('SIGTERM');
  });
}

// A page that asks for Opus DTX (usedtx=1 in the Opus format parameters it sends): the
// browser's own description is changed before it is set, as applications do.
const ASK_FOR_DTX = () => {
  const set = RTCPeerConnection.prototype.setLocalDescription;
  RTCPeerConnection.prototype.setLocalDescription = function (d) {
    if (d && d.sdp) {
      const pt = /a=rtpmap:(\d+) opus\/48000/i.exec(d.sdp)?.[1];
      if (pt) d = { type: d.type, sdp: d.sdp.replace(new RegExp(`(a=fmtp:${pt} [^\\r\\n]*)`), '$1;usedtx=1') };
    }
    return set.call(this, d);
  };
};

/** Polls the page's view of its call with `peerId` until `pred` holds (or throws). */
async function until(page, peerId, pred, what, timeout = 15000) {
  const end = Date.now() + timeout;
  for (;;) {
    const r = await rtpView(page, peerId);
    if (pred(r)) return r;
    if (Date.now() > end) throw new Error(`${what} within ${timeout} ms: ${JSON.stringify({ in_audio: r.in_audio, in_video: r.in_video })}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/**
 * Audio packets the page receives from `peerId` per frame of its video, over `frames`
 * frames: both come from duet-peer's live sources (15 frames and 50 Opus frames a second),
 * so the figure is a count, whatever the machine's speed.
 */
async function audioPacketsPerFrame(page, peerId, frames) {
  const a = await rtpView(page, peerId);
  const b = await until(page, peerId, (r) => r.in_video.framesReceived >= a.in_video.framesReceived + frames, `${frames} frames`);
  return (b.in_audio.packetsReceived - a.in_audio.packetsReceived) / (b.in_video.framesReceived - a.in_video.framesReceived);
}

// duet-peer's test sound is short ticks and silence between: without DTX every 20 ms is a
// packet (50 a second, 3.3 per frame at 15 fps), with DTX the silence is left out.
test('Opus DTX only for a browser that asks for it (usedtx=1)', async (t) => {
  const env = await startEnv(t);
  const rates = {};
  for (const asks of [false, true]) {
    const room = freshRoom(asks ? 'dtx' : 'nodtx');
    const page = await env.open(`/?room=${room}`, { initScript: asks ? ASK_FOR_DTX : [] });
    await waitForState(page, 'waiting');
    const peer = peerFor(t, env, room, { name: asks ? 'peer-dtx' : 'peer-no-dtx' });
    const peerId = (await peer.waitEvent('joined')).id;
    await waitForState(page, 'connected');
    await expectSeesAndHears(page, peerId);
    const r = await rtpView(page, peerId);
    assert.equal(/usedtx=1/.test(section(r.local, 'audio')), asks);
    rates[asks ? 'dtx' : 'plain'] = await audioPacketsPerFrame(page, peerId, 45);
    await peer.stop('SIGTERM');
    await page.close();
  }
  t.diagnostic(`audio packets per video frame: ${JSON.stringify(rates)}`);
  assert.ok(rates.plain > 2.5, `without DTX duet-peer should send every 20 ms: ${JSON.stringify(rates)}`);
  assert.ok(rates.dtx < 1.7, `with DTX asked for, silence should be left out: ${JSON.stringify(rates)}`);
});

// ---- under loss: an impaired link between two network namespaces (root only) ----

const netlinkExe = process.env.DUET_NETLINK ?? path.join(repoRoot, 'build/bench/media/duet-netlink');
const serverExe = process.env.DUET_SERVER
  ? path.resolve(repoRoot, process.env.DUET_SERVER)
  : path.join(repoRoot, 'build/signaling/duet-server');
const peerExe = process.env.DUET_PEER ? path.resolve(repoRoot, process.env.DUET_PEER) : path.join(repoRoot, 'build/src/duet-peer');

/** A child's JSON stdout lines, awaited one at a time. */
function jsonLines(proc) {
  const lines = [];
  const waiters = new Set();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of [...waiters]) w();
  });
  return (pred, timeout) =>
    new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < lines.length; seen++) {
          if (pred(lines[seen])) {
            const l = lines[seen++];
            done();
            resolve(l);
            return;
          }
        }
      };
      const timer = setTimeout(() => (done(), reject(new Error('no answer from duet-netlink'))), timeout);
      const done = () => (clearTimeout(timer), waiters.delete(check));
      waiters.add(check);
      check();
    });
}

test('under 10% loss: duet-peer adds ULPFEC, resends through RED, and uses Chromium\'s FEC', { skip: skipLoss() }, async (t) => {
  const proc = spawn(netlinkExe, ['0', '20'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const next = jsonLines(proc);
  t.after(async () => {
    proc.stdin.end();
    await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
  });
  const link = await next((l) => l.ready, 20000);
  const command = async (line) => {
    const answer = next((l) => 'ok' in l, 10000);
    proc.stdin.write(`${line}\n`);
    assert.ok((await answer).ok, `duet-netlink refused ${line}`);
  };

  const server = spawn(inNamespace(link.ns_a, serverExe, 'server-a'), ['--host', '0.0.0.0', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => server.kill('SIGTERM'));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('duet-server did not listen within 10 s')), 10000);
    createInterface({ input: server.stdout }).on('line', (line) => {
      const m = /^listening on https?:\/\/[^\s/]+:(\d+)\/$/.exec(line.trim());
      if (m) (clearTimeout(timer), resolve(Number(m[1])));
    });
  });
  const { chromium } = createRequire(path.join(repoRoot, 'tests/e2e/package.json'))('playwright-core');
  const browser = await chromium.launch({
    executablePath: inNamespace(link.ns_a, CHROMIUM, 'chromium-a'),
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30000,
  });
  t.after(() => browser.close().catch(() => {}));
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const room = freshRoom('fec-loss');
  await page.goto(`http://127.0.0.1:${port}/?room=${room}`);
  await waitForState(page, 'waiting');
  // duet-peer on the far side of the link joins second: it offers.
  const peer = startPeer(`http://${link.ip_a}:${port}/`, room, {
    name: 'peer-fec-loss',
    exe: inNamespace(link.ns_b, peerExe, 'peer-b'),
    args: ['--stats-interval', '500'],
  });
  t.after(() => peer.stop('SIGKILL'));
  const peerId = (await peer.waitEvent('joined')).id;
  await waitForState(page, 'connected', 30000);
  const before = await until(page, peerId, (r) => (r.in_video?.framesDecoded ?? 0) > 10, 'no frames decoded', 30000);
  assert.match(section(before.remote, 'video'), ULPFEC);
  // No loss yet: no FEC.
  assert.equal(peer.events.filter((e) => e.event === 'stats' && e.send_fec > 0).length, 0);

  await command('loss 10');
  // The receiver reports the loss; duet-peer turns FEC on for it.
  const on = await peer.waitEvent('stats', (e) => (e.send_fec ?? 0) > 0, { timeout: 20000 });
  t.diagnostic(`duet-peer under loss: ${JSON.stringify(on)}`);
  const a = (await rtpView(page, peerId)).in_video;
  // The picture goes on: FEC and retransmissions between them keep the frames coming.
  const b = (await until(page, peerId, (r) => r.in_video.framesDecoded >= a.framesDecoded + 30, 'frames stopped')).in_video;
  t.diagnostic(`Chromium's inbound video under 10% loss: ${JSON.stringify(b)}`);
  assert.ok(b.nackCount > 0, `Chromium asked for no retransmission under loss: ${JSON.stringify(b)}`);
  // Retransmissions come as RED's RTX now: Chromium must take them (it dropped them all
  // when duet-peer's offer named no SSRCs, and the picture froze).
  assert.ok(b.retransmittedPacketsReceived > 0, `no retransmission reached Chromium: ${JSON.stringify(b)}`);
  // Chromium 156 reports fecPacketsReceived for audio (Opus in-band FEC) only, never for
  // video ULPFEC (the field is absent): what it does with ours shows as frames decoded
  // here, and /faults/impaired (two duet-peers) counts the packets rebuilt from it.
  // The other way: duet-peer rebuilds lost packets of Chromium's video from its ULPFEC.
  const browserId = await peerIdOf(page);
  const rec = await peer.waitEvent('stats', (e) => e.peer === browserId && e.fec_recovered > 0, { timeout: 20000 });
  t.diagnostic(`duet-peer rebuilt ${rec.fec_recovered} packets from Chromium's FEC`);
  await peer.stop('SIGTERM');
});

function skipLoss() {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!fs.existsSync(netlinkExe)) return `no duet-netlink at ${netlinkExe}`;
  return false;
}
