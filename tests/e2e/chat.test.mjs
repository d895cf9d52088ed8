// SPDX-License-Identifier: MIT
// Issue 15 in the browser: names given in the room dialog show on the other's tile and in
// notices, text chat both ways over `duet-chat` (unread count, limits, links as plain
// text), and a device's `duet-control` channel (played here by the other page) gets a
// command box whose replies land in control-log.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, noticeHistory, peerIdOf, startEnv, waitForState, WAIT_MS } from './lib.mjs';

/** Opens a tab, gives a name in the room dialog and joins `room`. */
async function namedTab(env, room, name, expect, opts = {}) {
  const page = await env.open('/', opts);
  await waitForState(page, 'choosing-room');
  await page.getByTestId('name-input').fill(name);
  await enterRoom(page, room);
  await waitForState(page, expect);
  return page;
}

const texts = (page, id) => page.evaluate((t) => [...document.querySelectorAll(`[data-testid="${t}"]`)].map((e) => e.textContent), id);

/** The chat messages of a page, as shown: sender, time and text. */
const messages = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="chat-log"] [data-testid="chat-message"]')].map((m) => ({
      sender: m.querySelector('.chat-sender').textContent,
      time: m.querySelector('time').textContent,
      text: m.querySelector('[data-testid="chat-text"]').textContent,
    })),
  );

const waitFor = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 50 });

// Bob is in Firefox: both browsers' ways with a negotiated channel and an in-band one.
test('names on tiles and in notices, chat both ways, and a device command box', async (t) => {
  const env = await startEnv(t, { firefox: true });
  const ana = await namedTab(env, 'chat-room', 'Ana', 'waiting');
  const bob = await namedTab(env, 'chat-room', 'Bob', ['connecting', 'connected'], { browser: 'firefox' });
  assert.match(await bob.evaluate(() => navigator.userAgent), /Firefox\//);
  await Promise.all([waitForState(ana, 'connected'), waitForState(bob, 'connected')]);
  const anaId = await peerIdOf(ana);

  // ---- names ----
  await waitFor(ana, () => document.querySelector('[data-testid="peer-name"]')?.textContent === 'Bob');
  await waitFor(bob, () => document.querySelector('[data-testid="peer-name"]')?.textContent === 'Ana');
  assert.equal(await ana.getByTestId('peer-name').evaluate((e) => e.tagName), 'BDI');
  assert.ok((await noticeHistory(ana)).includes('Bob joined.'), `Ana's notices: ${await noticeHistory(ana)}`);

  // ---- chat: Ana writes while Bob's panel is closed ----
  assert.equal(await bob.getByTestId('chat-toggle').getAttribute('aria-expanded'), 'false');
  for (const page of [ana, bob]) {
    await waitFor(page, () => [...window.duet.pcs.values()].every((pc) => pc.sctp?.state === 'connected'));
  }
  await ana.getByTestId('chat-toggle').click();
  assert.equal(await ana.getByTestId('chat-toggle').getAttribute('aria-expanded'), 'true');
  assert.equal(await ana.evaluate(() => document.activeElement?.dataset.testid), 'chat-input', 'opening focuses the input');
  assert.equal(await ana.getByTestId('chat-input').getAttribute('maxlength'), '2000');
  await ana.getByTestId('chat-input').fill('Hello Bob');
  await ana.getByTestId('chat-input').press('Enter');
  assert.equal(await ana.getByTestId('chat-input').inputValue(), '', 'the input is cleared once sent');
  assert.deepEqual((await messages(ana)).map((m) => [m.sender, m.text]), [['You', 'Hello Bob']]);

  await waitFor(bob, () => document.querySelector('[data-testid="chat-unread"]')?.textContent === '1');
  assert.equal(await bob.getByTestId('chat-unread').isVisible(), true);
  await ana.getByTestId('chat-input').fill('Second one');
  await ana.getByTestId('chat-send').click();
  await waitFor(bob, () => document.querySelector('[data-testid="chat-unread"]').textContent === '2');
  assert.match(await bob.getByTestId('chat-toggle').getAttribute('aria-label'), /2 unread/);

  // Bob opens the panel: both messages, from Ana, with a time; the count is gone.
  await bob.getByTestId('chat-toggle').click();
  const got = await messages(bob);
  assert.deepEqual(got.map((m) => [m.sender, m.text]), [['Ana', 'Hello Bob'], ['Ana', 'Second one']]);
  for (const m of got) assert.match(m.time, /^\d\d:\d\d$/);
  assert.equal(await bob.getByTestId('chat-unread').isVisible(), false);
  assert.equal(await bob.getByTestId('chat-log').getAttribute('role'), 'log');
  assert.equal(await bob.getByTestId('chat-log').getAttribute('aria-live'), 'polite');

  // Bob answers with something that looks like HTML: Ana sees it as text, no link, no image.
  const html = '<a href="https://example.invalid/">click me</a><img src=x data-x=1>';
  await bob.getByTestId('chat-input').fill(html);
  await bob.getByTestId('chat-input').press('Enter');
  await waitFor(ana, (n) => document.querySelectorAll('[data-testid="chat-message"]').length === n, 3);
  const last = (await messages(ana)).at(-1);
  assert.deepEqual([last.sender, last.text], ['Bob', html]);
  assert.equal(await ana.evaluate(() => document.querySelectorAll('[data-testid="chat-log"] a, [data-testid="chat-log"] img').length), 0);

  // Too long (past maxlength, as a paste script could) and empty: refused with a clear error, nothing sent.
  await ana.evaluate(() => {
    document.querySelector('[data-testid="chat-input"]').value = 'y'.repeat(2001);
  });
  await ana.getByTestId('chat-send').click();
  assert.match(await ana.getByTestId('chat-error').innerText(), /at most 2000 characters/);
  assert.equal(await ana.getByTestId('chat-input').getAttribute('aria-invalid'), 'true');
  await ana.getByTestId('chat-input').fill('   ');
  await ana.getByTestId('chat-send').click();
  assert.match(await ana.getByTestId('chat-error').innerText(), /Type a message/);
  await ana.getByTestId('chat-input').fill('after the refusals');
  assert.equal(await ana.getByTestId('chat-error').innerText(), '', 'typing clears the error');
  await ana.getByTestId('chat-input').press('Enter');
  await waitFor(bob, () => document.querySelectorAll('[data-testid="chat-message"]').length === 4);
  assert.deepEqual((await messages(bob)).map((m) => m.text).slice(2), [html, 'after the refusals'], 'the refused ones never went out');

  // Escape closes the panel and gives focus back to the toggle.
  await ana.getByTestId('chat-input').press('Escape');
  assert.equal(await ana.getByTestId('chat-toggle').getAttribute('aria-expanded'), 'false');
  assert.equal(await ana.evaluate(() => document.activeElement?.dataset.testid), 'chat-toggle');

  // ---- the control box: Bob's page plays a device and opens `duet-control` in-band ----
  assert.equal(await ana.getByTestId('control-input').isVisible(), false, 'no command box without a device');
  await bob.evaluate((id) => {
    const channel = window.duet.pcs.get(id).createDataChannel('duet-control');
    window.__device = channel;
    window.__deviceGot = [];
    channel.onmessage = (e) => {
      window.__deviceGot.push(e.data);
      channel.send(`ack ${e.data}`);
      channel.send('<b>not bold</b>');
    };
  }, anaId);
  await ana.getByTestId('control-input').waitFor({ state: 'visible', timeout: WAIT_MS });
  assert.match(await ana.getByTestId('control-box').innerText(), /Device: Bob/);
  await ana.getByTestId('control-input').fill('status please');
  await ana.getByTestId('control-send').click();
  await waitFor(ana, () => /<b>not bold<\/b>/.test(document.querySelector('[data-testid="control-log"]').textContent));
  const log = await texts(ana, 'control-log');
  assert.match(log[0], /You: status please.*Bob: ack status please.*Bob: <b>not bold<\/b>/s);
  assert.equal(await ana.evaluate(() => document.querySelectorAll('[data-testid="control-log"] b').length), 0);
  assert.deepEqual(await bob.evaluate(() => window.__deviceGot), ['status please'], 'the device got the command as typed');

  // 16 KiB of UTF-8 at most: one byte more is refused, nothing sent.
  await ana.evaluate(() => {
    document.querySelector('[data-testid="control-input"]').value = 'é'.repeat(8192) + 'x';
  });
  await ana.getByTestId('control-send').click();
  assert.match(await ana.getByTestId('control-error').innerText(), /at most 16 KiB/);
  assert.equal((await bob.evaluate(() => window.__deviceGot)).length, 1);

  // The device goes away: its box goes too.
  await bob.evaluate(() => window.__device.close());
  await ana.getByTestId('control-input').waitFor({ state: 'hidden', timeout: WAIT_MS });

  // ---- Bob leaves: the notice names him ----
  await bob.getByTestId('leave-button').click();
  await waitFor(ana, () => (window.__duetNotices ?? []).includes('Bob left the call.'));
  assert.equal(await ana.getByTestId('peer-name').count(), 0, 'his tile is gone');
});
