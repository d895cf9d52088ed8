// SPDX-License-Identifier: MIT
// The shareable link /?room=NAME joins directly once media is granted, and "Copy link" copies it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectSeesAndHears, peerIdOf, startEnv, statusOf, waitForState } from './lib.mjs';

test('shareable link: /?room=NAME joins directly and can be copied', async (t) => {
  const env = await startEnv(t);
  const permissions = ['camera', 'microphone', 'clipboard-read', 'clipboard-write'];
  const alice = await env.open('/?room=Kitchen%20table%20%F0%9F%8D%B5', { permissions });
  await waitForState(alice, 'waiting');
  assert.equal(await alice.getByTestId('room-dialog').isVisible(), false, 'no dialog for a linked room');
  assert.equal(await alice.evaluate(() => window.duet.room), 'Kitchen table 🍵');

  await alice.getByTestId('copy-link-button').click();
  const copied = await alice.evaluate(() => navigator.clipboard.readText());
  assert.equal(new URL(copied).searchParams.get('room'), 'Kitchen table 🍵');
  assert.equal(new URL(copied).origin, new URL(env.url).origin);
  assert.equal(await alice.getByTestId('share-link').inputValue(), copied);

  // Whoever opens the link lands in the same room and the call starts.
  const bob = await env.open(copied);
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  await expectSeesAndHears(bob, await peerIdOf(alice));
});

test('shareable link: a bad room in the link opens the dialog with the problem', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/?room=%20%20');
  await waitForState(page, 'choosing-room');
  assert.ok(await page.getByTestId('room-dialog').isVisible());
  assert.match(await page.getByTestId('room-error').innerText(), /room name/i);
  assert.equal(await statusOf(page), 'choosing-room');
});
