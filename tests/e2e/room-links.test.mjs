// SPDX-License-Identifier: MIT
// Issue 11 item 6 (client half): links with a stray or bad % escape, or a deceiving room, open the dialog with the problem instead of throwing or joining.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEnv, statusOf, waitForState } from './lib.mjs';

/**
 * Expects the page to be asking for a room, the field holding `value` and a hint matching
 * `hint`, with no script error and nothing sent to the server.
 */
async function asksAbout(page, { value, hint }) {
  await waitForState(page, 'choosing-room');
  assert.ok(await page.getByTestId('room-dialog').isVisible(), 'the dialog is open');
  assert.equal(await page.getByTestId('room-input').inputValue(), value);
  assert.match(await page.getByTestId('room-error').innerText(), hint);
  assert.equal(await page.evaluate(() => window.duet.ws), null, 'no join was sent');
  assert.deepEqual(
    page.duetLog.filter((l) => l.startsWith('pageerror')),
    [],
    'no script error',
  );
}

const STRAY_PERCENT = /“%” that is not a valid escape.*press Join/s;

// Links duet never writes (its own escape % as %25) and what the page makes of them.
const ODD_LINKS = [
  // A stray % is kept literally (as URLSearchParams does); the page asks before joining.
  { query: '?room=100%', value: '100%', hint: STRAY_PERCENT, joins: '100%' },
  { query: '?room=%ZZ', value: '%ZZ', hint: STRAY_PERCENT, joins: '%ZZ' },
  // Cut short in the middle of an escape: the broken bytes read as U+FFFD.
  { query: '?room=caf%C3%A', value: 'caf\ufffd%A', hint: STRAY_PERCENT },
  // Well-formed links to names that deceive: the name's own problem is shown.
  { query: '?room=%E2%80%8B%E2%80%8B', value: '\u200b\u200b', hint: /no visible characters/ },
  { query: '?room=%E2%80%AEabc', value: '\u202eabc', hint: /text-direction.*U\+202E/s },
];

/**
 * Sends every request for `/?...` to the server as `/`, so the client's handling of the raw
 * query is tested whether or not the server itself serves such URLs. The document keeps its
 * odd URL. (`route.continue`, not `fulfill`: Chromium treats a fulfilled page as coming from
 * no network at all, and its local network access checks then block the loopback WebSocket.)
 */
async function servePageForAnyQuery(page, base) {
  await page.context().route(
    (url) => url.pathname === '/' && url.search !== '',
    (route) => route.continue({ url: new URL('/', base).href }),
  );
}

async function checkOddLinks(env, page, how) {
  for (const link of ODD_LINKS) {
    await page.goto(`${env.url.replace(/\/$/, '')}/${link.query}`);
    assert.equal(await page.evaluate(() => location.search), link.query, `${how}: the raw query reaches the page`);
    await asksAbout(page, link);
    if (!link.joins) continue;
    // What the link says is a fine name: Join takes it, and the address is then a proper link.
    await page.getByTestId('join-button').click();
    await waitForState(page, 'waiting');
    assert.equal(await page.evaluate(() => window.duet.room), link.joins);
    assert.equal(new URL(page.url()).searchParams.get('room'), link.joins);
    assert.ok(!/%(?![0-9A-F]{2})/i.test(new URL(page.url()).search), `${page.url()} is well formed`);
    await page.getByTestId('leave-button').click();
    await waitForState(page, 'choosing-room');
  }
}

test('item 6: odd room links open the dialog with the problem (page served for any query)', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  await servePageForAnyQuery(page, env.url);
  await checkOddLinks(env, page, 'routed');
});

// Needs the server to serve the page for these URLs (libsoup alone answers an empty 400 to a
// request line with a bad % escape); that is the server half of item 6.
test('item 6: odd room links as the server itself serves them', async (t) => {
  const env = await startEnv(t);
  const page = await env.open('/');
  await waitForState(page, 'choosing-room');
  await checkOddLinks(env, page, 'served');
  assert.equal(await statusOf(page), 'choosing-room');
});
