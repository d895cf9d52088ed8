// SPDX-License-Identifier: MIT
// Issue 16: a private room. Its link carries the key in the fragment; the same name
// without the key (or with a wrong one) is refused with its own message and state, and
// the people inside hear nothing of it; the link lets the invited person in.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  enterRoom,
  expectSeesAndHears,
  noticeHistory,
  peerIdOf,
  recordSocketFrames,
  sentFrames,
  startEnv,
  statusOf,
  waitForState,
} from './lib.mjs';

test('a private room: the link with its key gets in, the bare name does not', async (t) => {
  const env = await startEnv(t);
  const room = `secret-${process.pid}`;

  const alice = await env.open('/', { initScript: recordSocketFrames });
  await waitForState(alice, 'choosing-room');
  await alice.getByTestId('private-toggle').check();
  await enterRoom(alice, room);
  await waitForState(alice, 'waiting');
  assert.ok(await alice.getByTestId('room-private').isVisible(), 'the room shows it is private');

  // The share link and the address bar carry the key in the fragment, never in the query.
  const link = new URL(await alice.getByTestId('share-link').inputValue());
  assert.equal(link.searchParams.get('room'), room);
  assert.equal(link.searchParams.get('key'), null);
  const key = new URLSearchParams(link.hash.slice(1)).get('key');
  assert.match(key ?? '', /^[0-9a-f]{32}$/, `a 128-bit key in ${link.href}`);
  assert.equal(new URL(alice.url()).hash, `#key=${key}`);
  const join = (await sentFrames(alice)).find((f) => f.type === 'join');
  assert.equal(join.private, true);

  // The bare name: refused, with its own state and words, and the dialog asks again.
  const mallory = await env.open(`/?room=${encodeURIComponent(room)}`);
  await waitForState(mallory, 'private-room');
  assert.match(await mallory.getByTestId('room-error').innerText(), /private: ask for its link/i);
  assert.match(await mallory.getByTestId('status').innerText(), /private/i);
  assert.ok(await mallory.getByTestId('room-dialog').isVisible());
  assert.equal(await mallory.evaluate(() => window.duet.pcs.size), 0);

  // A wrong key is refused the same way.
  const guesser = await env.open(`/?room=${encodeURIComponent(room)}#key=${'0'.repeat(32)}`);
  await waitForState(guesser, 'private-room');

  // Alice heard nothing of either.
  assert.equal(await statusOf(alice), 'waiting');
  assert.deepEqual(await noticeHistory(alice), []);

  // The link itself: Bob is in, and the call works both ways.
  const bob = await env.open(`${link.pathname}${link.search}${link.hash}`);
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  await expectSeesAndHears(alice, await peerIdOf(bob));
  await expectSeesAndHears(bob, await peerIdOf(alice));
  assert.ok(await bob.getByTestId('room-private').isVisible());
  // Bob can pass the same link on.
  assert.equal(await bob.getByTestId('share-link').inputValue(), link.href);

  // A name typed in the dialog never borrows the key of the link that opened the page.
  await mallory.getByTestId('room-input').fill(`elsewhere-${process.pid}`);
  await mallory.getByTestId('join-button').click();
  await waitForState(mallory, 'waiting');
  assert.ok(!(await mallory.getByTestId('room-private').isVisible()));
  assert.equal(new URL(mallory.url()).hash, '');
});

test('asking for a private room under an open room’s name is refused, not joined', async (t) => {
  const env = await startEnv(t);
  const room = `open-${process.pid}`;
  const host = await env.open('/');
  await waitForState(host, 'choosing-room');
  await enterRoom(host, room);
  await waitForState(host, 'waiting');

  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  await page.getByTestId('private-toggle').check();
  await enterRoom(page, room);
  await page.getByTestId('room-error').filter({ hasText: /already exists/i }).waitFor({ timeout: 10000 });
  assert.equal(await statusOf(page), 'choosing-room');
  assert.ok(await page.getByTestId('private-toggle').isChecked(), 'the choice is kept for the next name');
  assert.equal(await statusOf(host), 'waiting');
});
