// SPDX-License-Identifier: MIT
// Issue 15 between a browser and duet-peer: chat both ways (the browser's chat panel and
// duet-peer's `chat` events; a control program's {"chat":...} line and the browser's
// chat log, with duet-peer's --name), and the control channel end to end: duet-peer
// --control unix:PATH opens `duet-control`, the page shows its command box, and a test
// program on the socket answers the browser's `ping` with `pong`.

import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

import { enterRoom, peerIdOf, startEnv, waitForState, WAIT_MS } from '../e2e/lib.mjs';
import { startPeer } from './peer.mjs';

const waitFor = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });

/** The chat messages a page shows: sender and text. */
const messages = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="chat-log"] [data-testid="chat-message"]')].map((m) => ({
      sender: m.querySelector('.chat-sender').textContent,
      text: m.querySelector('[data-testid="chat-text"]').textContent,
    })),
  );

test('chat both ways with duet-peer, and a control program answers the browser', async (t) => {
  const env = await startEnv(t);
  const room = `kiosk-chat-${process.pid}`;
  // Short and private: a Unix socket path has at most 107 bytes.
  const sock = path.join(os.tmpdir(), `duet-ctl-${process.pid}.sock`);
  const peer = startPeer(env.url, room, {
    name: 'chat-control',
    args: ['--name', 'Kiosk', '--control', `unix:${sock}`],
  });
  t.after(() => peer.stop('SIGKILL'));
  const joined = await peer.waitEvent('joined');

  // The device program: JSON lines in, `pong` for `ping`.
  const prog = net.createConnection(sock);
  await once(prog, 'connect');
  t.after(() => prog.destroy());
  const got = [];
  createInterface({ input: prog }).on('line', (line) => {
    const m = JSON.parse(line);
    got.push(m);
    if (m.data === 'ping') prog.write('pong\n');
  });

  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  await page.getByTestId('name-input').fill('Ana');
  await enterRoom(page, room);
  await waitForState(page, 'connected');
  const anaId = await peerIdOf(page);
  const pj = await peer.waitEvent('peer-joined', (e) => e.peer === anaId);
  assert.equal(pj.name, 'Ana');
  await peer.waitEvent('connected', (e) => e.peer === anaId);

  // Browser -> duet-peer: a `chat` event with the browser's name.
  await page.getByTestId('chat-toggle').click();
  await page.getByTestId('chat-input').fill('  Hello kiosk ☕ ');
  await page.getByTestId('chat-input').press('Enter');
  const chat = await peer.waitEvent('chat', (e) => e.from === anaId);
  assert.equal(chat.name, 'Ana');
  assert.equal(chat.text, 'Hello kiosk ☕');

  // duet-peer -> browser: the program's chat command shows under duet-peer's --name.
  prog.write(`${JSON.stringify({ chat: 'Hello Ana' })}\n`);
  await waitFor(page, () =>
    [...document.querySelectorAll('[data-testid="chat-text"]')].some((m) => m.textContent === 'Hello Ana'),
  );
  const shown = (await messages(page)).find((m) => m.text === 'Hello Ana');
  assert.match(shown.sender, /Kiosk/);

  // The command box appears for the device's channel; ping is answered by the program.
  await page.getByTestId('control-input').waitFor({ state: 'visible', timeout: WAIT_MS });
  await page.getByTestId('control-input').fill('ping');
  await page.getByTestId('control-send').click();
  await waitFor(page, () => /pong/.test(document.querySelector('[data-testid="control-log"]').textContent));
  assert.deepEqual(
    got.find((m) => m.data === 'ping'),
    { from: anaId, name: 'Ana', data: 'ping' },
    'the program got the command with who sent it',
  );
  assert.ok(!got.some((m) => m.data === 'Hello kiosk ☕'), 'chat does not go to the control program');
  assert.ok(joined.id);
});
