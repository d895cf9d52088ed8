// SPDX-License-Identifier: MIT
// Issue 11 item 7: room names that deceive are refused in the dialog, café is one room however it is typed, and names are shown isolated.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, joinedTab, startEnv, waitForRoomError, waitForState } from './lib.mjs';

/** Waits until the dialog shows an error matching `pattern`; returns its text. */
async function refused(page, pattern) {
  const text = await waitForRoomError(page, pattern);
  assert.equal(await page.getByTestId('room-input').getAttribute('aria-invalid'), 'true');
  return text;
}

test('item 7: the dialog refuses invisible-only and direction-control names with a hint', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/');
  await waitForState(page, 'choosing-room');

  for (const name of ['\u200b', '\u200b\u200b\u200b', ' \u200b \u2060 \ufeff ', '\u00ad', '\u200d\u200c', '\u2800']) {
    await enterRoom(page, name);
    const hint = await refused(page, /no visible characters/);
    assert.match(hint, /zero-width/, `hint for ${JSON.stringify(name)}`);
  }
  for (const [name, code] of [
    ['\u202eabc', 'U+202E'],
    ['invoice\u202efdp.exe', 'U+202E'],
    ['a\u2067b\u2069', 'U+2067'],
  ]) {
    await enterRoom(page, name);
    const hint = await refused(page, /text-direction/);
    assert.ok(hint.includes(code), `hint for ${JSON.stringify(name)} names ${code}: ${hint}`);
  }
  assert.equal(await page.evaluate(() => window.duet.ws), null, 'none of them reached the server');

  // An emoji ZWJ sequence is a name like any other.
  await enterRoom(page, '👩‍💻');
  await waitForState(page, 'waiting');
  assert.equal(await page.evaluate(() => window.duet.room), '👩‍💻');
});

test('item 7: café typed in NFC and in NFD is one room, and the link says it in NFC', async (t) => {
  const env = await startEnv(t);
  const nfc = 'caf\u00e9';
  const nfd = 'cafe\u0301';
  const alice = await joinedTab(env, nfc, { expect: 'waiting' });
  const bob = await joinedTab(env, nfd, { expect: ['connecting', 'connected'] });
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  for (const page of [alice, bob]) {
    assert.equal(await page.evaluate(() => window.duet.room), nfc);
    assert.equal(new URL(page.url()).searchParams.get('room'), nfc);
    assert.equal(new URL(await page.getByTestId('share-link').inputValue()).searchParams.get('room'), nfc);
    assert.equal(await page.getByTestId('room-name').textContent(), nfc);
  }
  // A link spelled in NFD leads there too: the room is full.
  const carol = await env.open('/?room=cafe%CC%81');
  await waitForState(carol, 'room-full');
  assert.equal(await carol.evaluate(() => window.duet.room), nfc);
});

/** Where each child of #status-text is drawn: its kind, text and horizontal extent. */
function statusLayout() {
  return [...document.getElementById('status-text').childNodes].map((n) => {
    const range = document.createRange();
    range.selectNodeContents(n);
    const rects = [...range.getClientRects()];
    return {
      node: n.nodeName,
      dir: n.nodeType === Node.ELEMENT_NODE ? getComputedStyle(n).unicodeBidi : null,
      text: n.textContent,
      left: Math.min(...rects.map((r) => r.left)),
      right: Math.max(...rects.map((r) => r.right)),
    };
  });
}

test('item 7: room names are shown isolated (<bdi>, FSI/PDI in the title)', async (t) => {
  // One seat per room, so the second tab sees the room-full line with the name in it.
  const env = await startEnv(t, { serverArgs: ['--max-peers', '1'] });
  const name = 'שלום 2024';
  const viewport = { width: 1280, height: 720 };
  const alice = await joinedTab(env, name, { expect: 'waiting', viewport });

  const shown = await alice.evaluate(() => {
    const el = document.querySelector('[data-testid=room-name]');
    return { tag: el.tagName, text: el.textContent, title: document.title };
  });
  assert.deepEqual(shown, { tag: 'BDI', text: name, title: `\u2068${name}\u2069 · duet` });
  assert.equal(await alice.getByTestId('share-link').getAttribute('dir'), 'ltr');
  assert.equal(await alice.getByTestId('room-input').getAttribute('dir'), 'auto');

  const bob = await env.open('/', { viewport });
  await waitForState(bob, 'choosing-room');
  await enterRoom(bob, name);
  await waitForState(bob, 'room-full');
  const error = await bob.evaluate(() =>
    [...document.querySelectorAll('[data-testid=room-error] bdi')].map((b) => b.textContent),
  );
  assert.deepEqual(error, [name], 'the room-full hint holds the name in a <bdi>');

  // The status line: words, the name in an isolating <bdi>, words; drawn in that order from
  // left to right, the name in one piece between its quotes.
  const layout = await bob.evaluate(statusLayout);
  assert.deepEqual(
    layout.map((p) => [p.node, p.text]),
    [
      ['#text', 'Room “'],
      ['BDI', name],
      ['#text', '” is full (1 person). Choose another name.'],
    ],
  );
  assert.equal(layout[1].dir, 'isolate');
  const [before, bdi, after] = layout;
  assert.ok(before.right <= bdi.left + 0.5, `"Room “" ends (${before.right}) before the name starts (${bdi.left})`);
  assert.ok(bdi.right <= after.left + 0.5, `the name ends (${bdi.right}) before "” is full" starts (${after.left})`);
  assert.ok(bdi.right - bdi.left > 20, 'the name is drawn');
});
