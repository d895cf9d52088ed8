// SPDX-License-Identifier: MIT
// Story 3: entering a new room name creates the room and waits for someone to join.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, startEnv, waitForState } from './lib.mjs';

test('story 3: entering a name joins (creating the room) and waits for someone', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  await enterRoom(page, '  garden  ');
  await waitForState(page, 'waiting');

  assert.match(await page.getByTestId('status').innerText(), /Waiting for someone to join…/);
  assert.equal(await page.getByTestId('room-dialog').isVisible(), false);
  // The room name is trimmed, as the server does, and is in the shareable URL.
  assert.equal(await page.evaluate(() => window.duet.room), 'garden');
  assert.equal(new URL(page.url()).searchParams.get('room'), 'garden');
  assert.equal(await page.getByTestId('share-link').inputValue(), new URL('/?room=garden', env.url).href);
  assert.match(await page.evaluate(() => window.duet.peerId), /^[0-9a-f]+$/);
  assert.equal(await page.evaluate(() => window.duet.pcs.size), 0);
  assert.equal(await page.getByTestId('leave-button').isEnabled(), true);
});
