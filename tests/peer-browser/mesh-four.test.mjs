// SPDX-License-Identifier: MIT
// A room of four (duet-server --max-peers 4): one duet-peer on test sources and three
// Chromium pages, a full mesh where every member decodes every other member's video and audio.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { audioEnergyOver, expectSeesAndHears, peerIdOf, startEnv, waitForState, WAIT_MS } from '../e2e/lib.mjs';
import { startPeer } from './peer.mjs';

test('duet-peer and three browsers: everyone decodes everyone', async (t) => {
  const env = await startEnv(t, { serverArgs: ['--max-peers', '4'] });
  const room = `mesh-four-${process.pid}`;
  const peer = startPeer(env.url, room, { name: 'mesh-peer' });
  t.after(() => peer.stop('SIGKILL'));
  const joined = await peer.waitEvent('joined');
  assert.deepEqual(joined.peers, []);

  // Three browsers come in one after the other; each newcomer offers to everyone there.
  const pages = [];
  for (let i = 0; i < 3; i++) {
    const page = await env.open(`/?room=${room}`);
    await waitForState(page, ['connecting', 'connected']);
    // "connecting" is also shown while the join is on its way: wait until it is in.
    await page.waitForFunction(() => window.duet.peerId, null, { timeout: WAIT_MS, polling: 100 });
    pages.push(page);
  }
  const browserIds = await Promise.all(pages.map(peerIdOf));
  const members = [joined.id, ...browserIds];

  // duet-peer holds a leg per browser and decodes video and audio from each.
  await Promise.all(
    browserIds.flatMap((id) => [peer.firstFrame('video', id), peer.firstFrame('audio', id)]),
  );

  // Every browser decodes video and audio from each of the other three members.
  await Promise.all(
    pages.flatMap((page, i) => members.filter((id) => id !== browserIds[i]).map((id) => expectSeesAndHears(page, id))),
  );
  // ...and the audio carries sound (decoded energy above zero), not just packets.
  const energies = await Promise.all(
    pages.flatMap((page, i) => members.filter((id) => id !== browserIds[i]).map((id) => audioEnergyOver(page, id, 1))),
  );
  assert.ok(energies.every((e) => e > 0), `every browser hears the three others: ${energies}`);
  for (const page of pages) {
    await page.waitForFunction(
      () => document.querySelector('[data-testid=participant-count]')?.textContent === '4',
      null,
      { timeout: WAIT_MS, polling: 200 },
    );
    assert.equal(await page.getByTestId('remote-video').count(), 3);
  }
  const { code, signal } = await peer.stop('SIGTERM');
  assert.equal(signal, null, `duet-peer was killed by ${signal} (log: ${peer.logPath})`);
  assert.equal(code, 0, `duet-peer exited ${code} (log: ${peer.logPath})`);
});
