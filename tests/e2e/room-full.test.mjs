// SPDX-License-Identifier: MIT
// Story 5: a third person entering a full room is told so, and is asked for another name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectedPair, enterRoom, linkedPeers, startEnv, statusOf, waitForState } from './lib.mjs';

test('story 5: a full room says so and the dialog asks for another name', async (t) => {
  const env = await startEnv(t);
  const [alice, bob] = await connectedPair(env, 'attic');

  const carol = await env.open('/');
  await waitForState(carol, 'choosing-room');
  await enterRoom(carol, 'attic');
  await waitForState(carol, 'room-full');

  const dialog = carol.getByTestId('room-dialog');
  await dialog.waitFor({ state: 'visible', timeout: 5000 });
  // Both say how many people the room holds (duet-server's --max-peers, 2 by default).
  assert.match(await carol.getByTestId('room-error').innerText(), /full \(2 people\)/i);
  assert.match(await carol.getByTestId('status').innerText(), /full \(2 people\)/i);
  // The name is kept, selected, so typing replaces it.
  const input = carol.getByTestId('room-input');
  assert.equal(await input.inputValue(), 'attic');
  assert.ok(await input.evaluate((el) => el === document.activeElement));
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.equal(await carol.evaluate(() => window.duet.pcs.size), 0, 'no media links for a refused join');
  assert.equal(new URL(carol.url()).search, '', 'the URL does not claim the full room');

  // The two in the room are not disturbed.
  assert.equal(await statusOf(alice), 'connected');
  assert.equal(await statusOf(bob), 'connected');
  assert.deepEqual(await linkedPeers(alice), [await bob.evaluate(() => window.duet.peerId)]);

  // Another name works straight away on the same page.
  await input.fill('cellar');
  await carol.getByTestId('join-button').click();
  await waitForState(carol, 'waiting');
  assert.equal(await carol.getByTestId('room-error').innerText(), '');
  assert.equal(await carol.evaluate(() => window.duet.room), 'cellar');
});
