// SPDX-License-Identifier: MIT
// A browser shares its screen with duet-peer: duet-peer goes on decoding through the switch
// to the bigger picture and back to the camera, on the same connection.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { peerIdOf, startEnv, waitForState, WAIT_MS } from '../e2e/lib.mjs';
import { startPeer } from './peer.mjs';

/** Waits for a `stats` event from duet-peer about `peer`, at index >= from, with frames above `frames`. */
function framesAbove(peer, browserId, frames, from) {
  return peer.waitEvent('stats', (e) => e.peer === browserId && e.video_frames > frames && e.video_fps > 0, { from });
}

/** What the page sends: the size of its outgoing video, from getStats. */
function sentSize(page, peerId) {
  return page.evaluate(async (id) => {
    const stats = await window.duet.pcs.get(id).getStats();
    for (const s of stats.values()) if (s.type === 'outbound-rtp' && s.kind === 'video') return { w: s.frameWidth, h: s.frameHeight, frames: s.framesEncoded };
    return null;
  }, peerId);
}

async function waitSentAspect(page, peerId, ratio) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  while (Date.now() < deadline) {
    last = await sentSize(page, peerId);
    if (last?.h && Math.abs(last.w / last.h - ratio) < 0.05) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the page never sent ${ratio.toFixed(2)} video: ${JSON.stringify(last)}`);
}

test('duet-peer decodes a shared screen and the camera after it, on one connection', async (t) => {
  const env = await startEnv(t);
  const room = `share-peer-${process.pid}`;
  const peer = startPeer(env.url, room, { name: 'share-peer' });
  t.after(() => peer.stop('SIGKILL'));
  const joined = await peer.waitEvent('joined');
  const page = await env.open(`/?room=${room}`);
  await waitForState(page, 'connected');
  const browserId = await peerIdOf(page);
  await peer.firstFrame('video', browserId);
  const connects = () => peer.events.filter((e) => e.event === 'connected').length;
  const before = connects();

  await page.getByTestId('share-button').click();
  await waitSentAspect(page, joined.id, 16 / 9);
  let mark = peer.mark();
  let last = await framesAbove(peer, browserId, 0, mark);
  // Frames keep coming for the screen: two later reports, each with more frames.
  last = await framesAbove(peer, browserId, last.video_frames, peer.mark());
  last = await framesAbove(peer, browserId, last.video_frames, peer.mark());

  await page.getByTestId('share-stop').click();
  await waitSentAspect(page, joined.id, 4 / 3);
  mark = peer.mark();
  last = await framesAbove(peer, browserId, last.video_frames, mark);
  last = await framesAbove(peer, browserId, last.video_frames, peer.mark());

  assert.equal(connects(), before, 'no new connection: the switch was not renegotiated');
  assert.ok(!peer.events.some((e) => e.event === 'error'), 'no errors from duet-peer');
  const { code, signal } = await peer.stop('SIGTERM');
  assert.equal(signal, null);
  assert.equal(code, 0, `duet-peer exited ${code} (log: ${peer.logPath})`);
});
