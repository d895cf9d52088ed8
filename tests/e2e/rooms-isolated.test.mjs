// SPDX-License-Identifier: MIT
// Story 6: any number of rooms; two rooms in use at once never see each other's media or messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectedPair,
  expectSeesAndHears,
  linkedPeers,
  peerIdOf,
  receivedFrames,
  recordSocketFrames,
  startEnv,
} from './lib.mjs';

test('story 6: two rooms in parallel (4 tabs) stay apart', async (t) => {
  const env = await startEnv(t);
  const opts = { initScript: recordSocketFrames, viewport: { width: 480, height: 360 } };
  const [red1, red2] = await connectedPair(env, 'red', opts);
  const [blue1, blue2] = await connectedPair(env, 'blue', opts);

  const ids = {};
  for (const [name, page] of Object.entries({ red1, red2, blue1, blue2 })) ids[name] = await peerIdOf(page);
  assert.equal(new Set(Object.values(ids)).size, 4, 'four distinct peer ids');

  const pairs = [
    [red1, red2, 'red1', 'red2'],
    [red2, red1, 'red2', 'red1'],
    [blue1, blue2, 'blue1', 'blue2'],
    [blue2, blue1, 'blue2', 'blue1'],
  ];
  // Each tab decodes frames and hears audio from its own partner only.
  await Promise.all(pairs.map(([page, , , partner]) => expectSeesAndHears(page, ids[partner])));
  for (const [page, , self, partner] of pairs) {
    assert.deepEqual(await linkedPeers(page), [ids[partner]], `${self} is linked only to ${partner}`);
  }

  // Every frame each tab received names only its own room and its own partner.
  for (const [page, , self, partner] of pairs) {
    const room = self.startsWith('red') ? 'red' : 'blue';
    const frames = await receivedFrames(page);
    assert.ok(frames.length > 0);
    for (const f of frames) {
      if (f.type === 'joined') {
        assert.equal(f.room, room);
        assert.ok(f.peers.every((p) => p === ids[partner]), `${self} joined with peers ${f.peers}`);
      }
      for (const key of ['from', 'id']) {
        if (f[key] && f[key] !== ids[self]) assert.equal(f[key], ids[partner], `${self} got ${JSON.stringify(f)}`);
      }
    }
    assert.ok(frames.some((f) => f.type === 'signal'), `${self} exchanged signaling`);
  }
});
