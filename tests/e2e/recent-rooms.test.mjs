// SPDX-License-Identifier: MIT
// Issue 16, recent calls: the start dialog lists the rooms this browser was in (newest
// first, private ones marked), one click joins one again (a private one with its key), a
// refused room is never listed, and "forget" empties the list for good. The list lives in
// localStorage only, so it survives into a new tab of the same browser and no further.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, startEnv, stateHistory, waitForState } from './lib.mjs';

const PHONE = { width: 390, height: 844 };

/** The recent-room entries as shown: room name, "when", the exact time, private or not. */
function recentEntries(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="recent-room"]')].map((el) => ({
      room: el.querySelector('bdi').textContent,
      when: el.querySelector('time')?.textContent ?? null,
      datetime: el.querySelector('time')?.getAttribute('datetime') ?? null,
      private: /private/i.test(el.textContent),
      tag: el.tagName,
      label: el.getAttribute('aria-label') ?? '',
    })),
  );
}

/** A second tab in the same browser context (same localStorage, its own sessionStorage). */
async function sameBrowserTab(page, where) {
  const tab = await page.context().newPage();
  tab.duetCsp = [];
  tab.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) tab.duetCsp.push(msg.text());
  });
  tab.on('pageerror', (err) => tab.duetCsp.push(`pageerror: ${err.message}`));
  await tab.goto(where);
  return tab;
}

async function leave(page) {
  await page.getByTestId('leave-button').click();
  await waitForState(page, 'choosing-room');
}

test('recent rooms: listed newest first, one click joins again (with the key), forget clears', async (t) => {
  const env = await startEnv(t);
  const roomA = `recent-open-${process.pid}`;
  const roomB = `recent-private-${process.pid}`;

  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  assert.deepEqual(await recentEntries(page), [], 'a new browser has no recent rooms');
  assert.equal(await page.getByTestId('forget-recent').isVisible(), false, 'nothing to forget, no button');

  // Room A, open; leaving keeps it in the list, which the dialog shows at once.
  await enterRoom(page, roomA);
  await waitForState(page, 'waiting');
  await leave(page);
  assert.deepEqual((await recentEntries(page)).map((e) => e.room), [roomA]);

  // Room B, private; Bob comes in with its link and stays after we leave.
  await page.getByTestId('private-toggle').check();
  await enterRoom(page, roomB);
  await waitForState(page, 'waiting');
  const link = new URL(await page.getByTestId('share-link').inputValue());
  const bob = await env.open(`${link.pathname}${link.search}${link.hash}`);
  await Promise.all([waitForState(page, 'connected'), waitForState(bob, 'connected')]);
  await leave(page);
  await waitForState(bob, 'peer-left');

  // Someone who only knows B's name is refused, and a refused room is not listed.
  const mallory = await env.open(`/?room=${encodeURIComponent(roomB)}`);
  await waitForState(mallory, 'private-room');
  assert.deepEqual(await recentEntries(mallory), []);
  assert.equal(await mallory.evaluate(() => localStorage.getItem('duet.recent')), null);

  // The start page in a new tab of the same browser: B then A, B marked private.
  const again = await sameBrowserTab(page, env.url);
  await waitForState(again, 'choosing-room');
  const listed = await recentEntries(again);
  assert.deepEqual(
    listed.map((e) => [e.room, e.private]),
    [
      [roomB, true],
      [roomA, false],
    ],
  );
  for (const e of listed) {
    assert.equal(e.tag, 'BUTTON', 'each entry is a real button');
    assert.equal(e.when, 'just now');
    const at = Date.parse(e.datetime);
    assert.ok(Math.abs(Date.now() - at) < 5 * 60 * 1000, `<time datetime="${e.datetime}"> is the join time`);
    assert.ok(e.label.includes(e.room), `the accessible name "${e.label}" names the room`);
  }
  assert.match(listed[0].label, /private/i);
  // The key is in this browser's storage and nowhere in the page's address.
  assert.equal(new URL(again.url()).hash, '');

  // One click on A: in A, waiting.
  await again.getByTestId('recent-room').filter({ hasText: roomA }).click();
  await waitForState(again, 'waiting');
  assert.equal(await again.evaluate(() => window.duet.room), roomA);
  assert.equal(await again.getByTestId('room-private').isVisible(), false);
  await leave(again);
  assert.deepEqual(
    (await recentEntries(again)).map((e) => e.room),
    [roomA, roomB],
    'joining A again moved it to the top',
  );

  // One click on B: in the private room with Bob, never refused.
  await again.getByTestId('recent-room').filter({ hasText: roomB }).click();
  await Promise.all([waitForState(again, 'connected'), waitForState(bob, 'connected')]);
  assert.equal(await again.evaluate(() => window.duet.room), roomB);
  assert.ok(await again.getByTestId('room-private').isVisible());
  assert.ok(!(await stateHistory(again)).includes('private-room'), 'never turned away from B');
  assert.equal(await again.getByTestId('share-link').inputValue(), link.href, 'the same link as before');
  await leave(again);

  // Forget: the list and its button go, focus stays in the dialog, and a reload agrees.
  await again.getByTestId('forget-recent').focus();
  await again.keyboard.press('Enter');
  await again.getByTestId('recent-room').first().waitFor({ state: 'detached' });
  assert.equal(await again.getByTestId('forget-recent').isVisible(), false);
  assert.equal(await again.evaluate(() => document.activeElement?.dataset.testid), 'room-input');
  assert.equal(await again.evaluate(() => localStorage.getItem('duet.recent')), null);
  await again.reload();
  await waitForState(again, 'choosing-room');
  assert.deepEqual(await recentEntries(again), []);
  assert.equal(await again.getByTestId('forget-recent').isVisible(), false);

  assert.deepEqual(again.duetCsp, [], 'the second tab broke no Content-Security-Policy and threw nothing');
});

test('recent rooms: garbage or no storage never breaks the page; the list fits a phone', async (t) => {
  const env = await startEnv(t);
  const errors = (page) => {
    const seen = [];
    page.on('pageerror', (err) => seen.push(err.message));
    return seen;
  };

  // Garbage in the store: no list, and the next join writes a sound one over it.
  const messy = await env.open('/', {
    initScript: () => {
      if (!sessionStorage.getItem('seeded')) {
        sessionStorage.setItem('seeded', '1');
        localStorage.setItem('duet.recent', '[{"room": 42}, "x", {"room":"ok","at":"soon"}');
      }
    },
  });
  const messyErrors = errors(messy);
  await waitForState(messy, 'choosing-room');
  assert.deepEqual(await recentEntries(messy), []);
  await enterRoom(messy, 'tidy');
  await waitForState(messy, 'waiting');
  await leave(messy);
  assert.deepEqual((await recentEntries(messy)).map((e) => e.room), ['tidy']);
  assert.deepEqual(messyErrors, []);

  // Storage turned off (reading window.localStorage throws, as in a locked-down browser).
  const locked = await env.open('/', {
    initScript: () => {
      Object.defineProperty(window, 'localStorage', {
        get() {
          throw new DOMException('The operation is insecure.', 'SecurityError');
        },
      });
    },
  });
  const lockedErrors = errors(locked);
  await waitForState(locked, 'choosing-room');
  await enterRoom(locked, 'no-storage');
  await waitForState(locked, 'waiting');
  await leave(locked);
  assert.deepEqual(await recentEntries(locked), []);
  assert.equal(await locked.getByTestId('forget-recent').isVisible(), false);
  assert.deepEqual(lockedErrors, []);

  // A full list on a phone, with a long right-to-left name: no sideways scroll, every
  // entry wide enough to read and tall enough to tap, the name isolated in a <bdi>.
  const now = Date.now();
  const yesterdayNoon = new Date(now);
  yesterdayNoon.setDate(yesterdayNoon.getDate() - 1);
  yesterdayNoon.setHours(12, 0, 0, 0);
  const long = 'غرفة الجدة يوم الأحد مع كل العائلة والأصدقاء من بعيد جدا';
  const seeded = [long, 'sunday', 'café', 'x', 'y', 'z', 'w', 'v'].map((room, i) => ({
    room,
    at: i === 0 ? now - 60 * 1000 : yesterdayNoon.getTime() - (i - 1) * 24 * 3600 * 1000,
    private: i % 2 === 1,
    ...(i % 2 === 1 ? { key: 'k'.repeat(32) } : {}),
  }));
  const phone = await env.open('/', {
    viewport: PHONE,
    initScript: `localStorage.setItem('duet.recent', ${JSON.stringify(JSON.stringify(seeded))});`,
  });
  await waitForState(phone, 'choosing-room');
  const shown = await recentEntries(phone);
  assert.deepEqual(shown.map((e) => e.room), seeded.map((e) => e.room));
  assert.equal(shown[0].when, '1 min ago');
  assert.equal(shown[1].when, 'yesterday');
  assert.ok(shown[1].private && !shown[0].private);
  const layout = await phone.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    dialogScrollWidth: document.querySelector('[data-testid="room-dialog"]').scrollWidth,
    dialogWidth: document.querySelector('[data-testid="room-dialog"]').clientWidth,
    innerWidth: window.innerWidth,
    boxes: [...document.querySelectorAll('[data-testid="recent-room"], [data-testid="forget-recent"]')].map((el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, right: r.right, height: r.height };
    }),
  }));
  assert.ok(layout.scrollWidth <= layout.innerWidth, `no sideways scroll (${layout.scrollWidth} > ${layout.innerWidth})`);
  assert.ok(layout.dialogScrollWidth <= layout.dialogWidth, 'nothing overflows the dialog sideways');
  for (const b of layout.boxes) {
    assert.ok(b.left >= 0 && b.right <= PHONE.width, `inside the screen: ${JSON.stringify(b)}`);
    assert.ok(b.height >= 40, `tall enough to tap: ${JSON.stringify(b)}`);
  }
  // Keyboard: Tab from the room name reaches the first entry, and Enter on it joins.
  await phone.getByTestId('room-input').focus();
  let reached = false;
  for (let i = 0; i < 8 && !reached; ++i) {
    await phone.keyboard.press('Tab');
    reached = await phone.evaluate(() => document.activeElement?.dataset?.testid === 'recent-room');
  }
  assert.ok(reached, 'Tab reaches the recent rooms');
  await phone.keyboard.press('Enter');
  await waitForState(phone, 'waiting');
  assert.equal(await phone.evaluate(() => window.duet.room), long);
});
