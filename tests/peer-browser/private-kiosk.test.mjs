// SPDX-License-Identifier: MIT
// Issue 16: a kiosk in a private room. duet-peer --room-key-file makes the key on its
// first start (mode 0600) and prints the room's link; that link lets a browser into the
// call, and the bare name is refused. A restart keeps the same key.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { expectSeesAndHears, peerIdOf, startEnv, waitForState } from '../e2e/lib.mjs';
import { startPeer } from './peer.mjs';

test('a private kiosk: its printed link gets in, its bare name does not', async (t) => {
  const env = await startEnv(t);
  const room = `kiosk-${process.pid}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'duet-kiosk-key-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const keyFile = path.join(dir, 'room.key');

  const peer = startPeer(env.url, room, { name: 'private-kiosk', args: ['--room-key-file', keyFile] });
  t.after(() => peer.stop('SIGKILL'));
  const joined = await peer.waitEvent('joined');

  const key = fs.readFileSync(keyFile, 'utf8').trim();
  assert.match(key, /^[0-9a-f]{32}$/);
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'the key file is for its owner only');
  // The link, printed once for the owner to hand on.
  const log = fs.readFileSync(peer.logPath, 'utf8');
  const printed = log.match(/https?:\/\/\S+#key=\S+/)?.[0];
  assert.ok(printed, `no share link in the log:\n${log}`);
  const link = new URL(printed);
  assert.equal(link.searchParams.get('room'), room);
  assert.equal(link.hash, `#key=${key}`);
  assert.equal(link.origin, new URL(env.url).origin);

  // The bare name is refused, and the kiosk hears nothing of it.
  const stranger = await env.open(`/?room=${encodeURIComponent(room)}`);
  await waitForState(stranger, 'private-room');
  assert.ok(!peer.events.some((e) => e.event === 'peer-joined'), 'a refused join reached the kiosk');

  // The printed link: a call, media both ways.
  const page = await env.open(`${link.pathname}${link.search}${link.hash}`);
  await waitForState(page, 'connected');
  const browserId = await peerIdOf(page);
  await Promise.all([peer.firstFrame('video', browserId), peer.firstFrame('audio', browserId)]);
  await expectSeesAndHears(page, joined.id);
  assert.ok(await page.getByTestId('room-private').isVisible());

  // A second start reads the same key and prints no new link.
  const { code } = await peer.stop('SIGTERM');
  assert.equal(code, 0);
  await waitForState(page, ['waiting', 'peer-left']);
  const again = startPeer(env.url, room, { name: 'private-kiosk-again', args: ['--room-key-file', keyFile] });
  t.after(() => again.stop('SIGKILL'));
  await again.waitEvent('joined');
  assert.equal(fs.readFileSync(keyFile, 'utf8').trim(), key);
  assert.doesNotMatch(fs.readFileSync(again.logPath, 'utf8'), /Share this link/);
  await waitForState(page, 'connected');
});
