// SPDX-License-Identifier: MIT
// Firefox ESR (duet-server's own client, driven by puppeteer-core) and duet-peer in one room,
// both join orders: each side decodes the other's video and hears its audio; and Firefox as
// it comes, hiding its host addresses behind mDNS names, still reaches duet-peer.

import assert from 'node:assert/strict';
import fs from 'node:fs';
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

/** Waits until Firefox has sent `more` audio packets on the link beyond what it had sent. */
async function audioSentBeyond(page, peerId, more) {
  const start = (await linkReport(page, peerId)).audio?.packetsSent ?? 0;
  await page.waitForFunction(
    async ({ id, n }) => {
      let sent = 0;
      (await window.duet.pcs.get(id).getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'audio') sent = s.packetsSent;
      });
      return sent >= n;
    },
    { id: peerId, n: start + more },
    { timeout: 20000, polling: 250 },
  );
  return linkReport(page, peerId);
}

// Issue 13, bug 2: every duet-peer jitter buffer had do-retransmission on, so it NACKed
// audio although no `nack` was negotiated for it, and Firefox resent those packets (5-8%
// of its audio on a clean loopback link). Now only the video's jitter buffer asks.
async function audioNeverResent(t, page, peerId) {
  await t.test('duet-peer never asks Firefox to resend audio', async () => {
    // ~3 s of Opus at 50 packets/s.
    const r = await audioSentBeyond(page, peerId, 150);
    assert.equal(r.audioNackOffered, false, 'no nack feedback negotiated for audio');
    assert.equal(r.audio.retransmittedPacketsSent, 0, `Firefox resent audio: ${JSON.stringify(r.audio)}`);
  });
}

// Issue 14: Firefox's transport-cc feedback about duet-peer's packets reaches duet-peer's
// bandwidth controller in both join orders (Firefox numbers the extension 7, Chromium 3:
// an answer takes the offer's id). Called after audioNeverResent's seconds of call.
async function twccReachesPeer(t, peer, browserId) {
  await t.test("Firefox's transport-wide feedback reaches duet-peer's controller", () => {
    const last = peer.events.filter((e) => e.event === 'stats' && e.peer === browserId).at(-1);
    assert.ok(last?.twcc > 0, `no transport-wide feedback counted: ${JSON.stringify(last)}`);
  });
}

// One server and one Firefox for both join orders (a Firefox start is the slow part); each
// order in its own room with its own duet-peer, the tab closed afterwards.
test('Firefox and duet-peer, both join orders', async (t) => {
  const env = await startEnv(t, { firefox: true, chromium: false });

  await t.test('Firefox first, then duet-peer (duet-peer offers)', async (st) => {
    const room = freshRoom('firefox-first');
    const page = await env.open(`/?room=${room}`, { browser: 'firefox' });
    await waitForState(page, 'waiting');
    const browserId = await peerIdOf(page);

    const peer = peerFor(st, env, room, { name: 'peer-second' });
    const joined = await peer.waitEvent('joined');
    assert.deepEqual(joined.peers, [browserId]);
    await waitForState(page, 'connected');
    await peer.waitEvent('connected', (e) => e.peer === browserId);
    await assertTwoWay(page, peer, browserId, joined.id);
    await audioNeverResent(st, page, joined.id);
    await twccReachesPeer(st, peer, browserId);
    st.diagnostic(`Firefox's view of duet-peer's offer: ${JSON.stringify(await linkReport(page, joined.id))}`);
    await stopCleanly(page, peer);
    await page.close();
  });

  await t.test('duet-peer first, then Firefox (Firefox offers)', async (st) => {
    const room = freshRoom('peer-first');
    const peer = peerFor(st, env, room, { name: 'peer-first' });
    const joined = await peer.waitEvent('joined');
    assert.deepEqual(joined.peers, []);

    const page = await env.open(`/?room=${room}`, { browser: 'firefox' });
    await waitForState(page, 'connected');
    const browserId = await peerIdOf(page);
    await peer.waitEvent('peer-joined', (e) => e.peer === browserId);
    await assertTwoWay(page, peer, browserId, joined.id);
    await audioNeverResent(st, page, joined.id);
    await twccReachesPeer(st, peer, browserId);
    st.diagnostic(`Firefox's view of duet-peer's answer: ${JSON.stringify(await linkReport(page, joined.id))}`);
    await stopCleanly(page, peer);
    await page.close();
  });
});

// Issue 13, bug 3: duet-peer's advice for mDNS candidates named a Chromium flag even when
// the other side was Firefox, whose setting is media.peerconnection.ice.obfuscate_host_addresses.

test('Firefox with mDNS host names (its default) still reaches duet-peer', async (t) => {
  const env = await startEnv(t, {
    firefox: true,
    chromium: false,
    firefoxPrefs: { 'media.peerconnection.ice.obfuscate_host_addresses': true },
  });
  const room = freshRoom('mdns');
  const page = await env.open(`/?room=${room}`, { browser: 'firefox' });
  await waitForState(page, 'waiting');
  const browserId = await peerIdOf(page);
  const peer = peerFor(t, env, room, { name: 'peer-mdns' });
  const joined = await peer.waitEvent('joined');
  await waitForState(page, 'connected');
  // Firefox's checks reach duet-peer's plain host candidates, which learns Firefox's address
  // from them (peer-reflexive): the call works although no .local name is resolved.
  await assertTwoWay(page, peer, browserId, joined.id);

  const warnings = fs
    .readFileSync(peer.logPath, 'utf8')
    .split('\n')
    .filter((l) => /mDNS|\.local\b/.test(l));
  assert.ok(warnings.length > 0, 'Firefox really sent .local host candidates and duet-peer noticed');
  await t.test('the advice names what applies to Firefox', () => {
    const wrong = warnings.filter((l) => /WebRtcHideLocalIpsWithMdns/.test(l));
    assert.deepEqual(wrong, [], 'advice for Chromium given to a Firefox peer');
    // Where .local names do not resolve here (no libnss-mdns), the warning says what to change.
    const advice = warnings.filter((l) => /obfuscate_host_addresses/.test(l));
    assert.ok(advice.length > 0 || warnings.every((l) => / is \d/.test(l)), `no advice: ${warnings.join('\n')}`);
  });
  await stopCleanly(page, peer);
});
