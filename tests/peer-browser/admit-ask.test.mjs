// SPDX-License-Identifier: MIT
// Issue 16: a kiosk that asks. duet-peer --admit ask switches on "ask before anyone joins";
// each browser that knocks shows up as an admit-request event with its name, and the
// answer typed on duet-peer's standard input lets it in (a call, media both ways) or
// turns it away (the page's `declined` state).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { enterRoom, expectSeesAndHears, peerIdOf, startEnv, waitForState } from '../e2e/lib.mjs';
import { startPeer } from './peer.mjs';

async function knock(env, room, name) {
  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  await page.getByTestId('name-input').fill(name);
  await enterRoom(page, room);
  await waitForState(page, 'lobby-waiting');
  return page;
}

test('duet-peer --admit ask: admits one browser and declines another from its input', async (t) => {
  const env = await startEnv(t);
  const room = `door-${process.pid}`;
  const peer = startPeer(env.url, room, { name: 'admit-ask', args: ['--admit', 'ask'], stdin: true });
  t.after(() => peer.stop('SIGKILL'));
  const joined = await peer.waitEvent('joined');

  // Both browsers come from 127.0.0.1, and a decline keeps that address from knocking on
  // the room for 30 s: admit first, then decline.
  const bo = await knock(env, room, 'Bo');
  const first = await peer.waitEvent('admit-request', (e) => e.name === 'Bo');
  peer.send(JSON.stringify({ admit: first.id }));
  await waitForState(bo, 'connected');
  const boId = await peerIdOf(bo);
  await Promise.all([peer.firstFrame('video', boId), peer.firstFrame('audio', boId)]);
  await expectSeesAndHears(bo, joined.id);
  const admitted = await peer.waitEvent('admit-resolved', (e) => e.id === first.id);
  assert.equal(admitted.outcome, 'admitted');

  const mark = peer.mark();
  const ana = await knock(env, room, 'Ana');
  const asked = await peer.waitEvent('admit-request', (e) => e.name === 'Ana', { from: mark });
  peer.send(`decline ${asked.id}`);
  await waitForState(ana, 'declined');
  const settled = await peer.waitEvent('admit-resolved', (e) => e.id === asked.id, { from: mark });
  assert.equal(settled.outcome, 'declined');
  assert.equal(await ana.evaluate(() => window.duet.pcs.size), 0);
  assert.ok(
    !peer.events.slice(mark).some((e) => e.event === 'peer-joined'),
    'a declined knock reached the call',
  );
  await waitForState(bo, 'connected');
});
