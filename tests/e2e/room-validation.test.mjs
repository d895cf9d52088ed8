// SPDX-License-Identifier: MIT
// Story 8: cancelling, empty or bad names ask again with a hint; the server's invalid-room is shown too.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, startEnv, waitForRoomError, waitForState } from './lib.mjs';

async function askedAgain(page, pattern) {
  const text = await waitForRoomError(page, pattern);
  assert.ok(await page.getByTestId('room-dialog').isVisible(), 'the dialog is still asking');
  assert.ok(await page.getByTestId('room-input').evaluate((el) => el === document.activeElement), 'focus in the field');
  return text;
}

// Lets the test make the next `join` carry a name the client itself would never send, to
// see how the page shows the server's refusal.
function corruptNextJoin() {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (window.__corruptJoin && typeof data === 'string') {
      const msg = JSON.parse(data);
      if (msg.type === 'join') {
        window.__corruptJoin = false;
        msg.room = `${msg.room}\u0007`;
        return send.call(this, JSON.stringify(msg));
      }
    }
    return send.call(this, data);
  };
}

test('story 8: cancel, Escape, empty and bad names ask again; the server agrees on the rules', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/', { initScript: corruptNextJoin });
  await waitForState(page, 'choosing-room');

  await page.getByTestId('cancel-button').click();
  const hint = await askedAgain(page, /room name/);
  assert.ok(hint.length > 10);

  await page.getByTestId('room-input').fill('');
  await page.keyboard.press('Escape');
  await askedAgain(page, /room name/);
  // A second Escape in a row (browsers may then close a modal regardless) still asks again.
  await page.keyboard.press('Escape');
  await askedAgain(page, /room name/);

  await page.getByTestId('room-input').fill('');
  await page.getByTestId('join-button').click();
  await askedAgain(page, /type a room name/);

  await enterRoom(page, ' \t  \u00a0 ');
  await askedAgain(page, /type a room name/);

  await enterRoom(page, 'x'.repeat(65));
  await askedAgain(page, /64/);

  await enterRoom(page, 'bell\u0007room');
  await askedAgain(page, /control/);
  assert.equal(await page.evaluate(() => window.duet.ws), null, 'nothing invalid was sent to the server');

  // The server's own refusal lands in the same place.
  await page.evaluate(() => {
    window.__corruptJoin = true;
  });
  await enterRoom(page, 'porch');
  const serverSaid = await askedAgain(page, /server/);
  assert.match(serverSaid, /control characters/);
  assert.equal(new URL(page.url()).search, '');

  // Typing clears the error; 64 emoji (128 UTF-16 units) is a valid name.
  await page.getByTestId('room-input').fill('');
  assert.equal(await page.getByTestId('room-error').innerText(), '');
  const emoji = '🦊'.repeat(64);
  await enterRoom(page, emoji);
  await waitForState(page, 'waiting');
  assert.equal(await page.evaluate(() => window.duet.room), emoji);
});

test('story 8: the server refuses invalid room names with invalid-room', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  const replies = await page.evaluate(async (names) => {
    const ws = new WebSocket(`ws://${location.host}/ws`);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    const out = [];
    for (const room of names) {
      ws.send(JSON.stringify({ type: 'join', room }));
      const reply = await new Promise((resolve) => {
        ws.onmessage = (e) => resolve(JSON.parse(e.data));
      });
      out.push({ type: reply.type, code: reply.code, room: reply.room });
      if (reply.type === 'joined') ws.send(JSON.stringify({ type: 'leave' }));
    }
    ws.close();
    return out;
  }, ['', '   ', 'x'.repeat(65), 'line\nbreak', 'tab\tinside', `${'é'.repeat(64)}`, '  padded  ']);
  assert.deepEqual(replies, [
    { type: 'error', code: 'invalid-room', room: undefined },
    { type: 'error', code: 'invalid-room', room: undefined },
    { type: 'error', code: 'invalid-room', room: undefined },
    { type: 'error', code: 'invalid-room', room: undefined },
    { type: 'error', code: 'invalid-room', room: undefined },
    { type: 'joined', code: undefined, room: 'é'.repeat(64) },
    { type: 'joined', code: undefined, room: 'padded' },
  ]);
});
