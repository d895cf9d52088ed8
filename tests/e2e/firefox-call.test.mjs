// SPDX-License-Identifier: MIT
// Story 4 across browsers: Firefox ESR and Chromium in one room through the web client, both
// join orders, each decoding the other's video and receiving its audio (getStats).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enterRoom, expectSeesAndHears, peerIdOf, startEnv, waitForState } from './lib.mjs';

/** The first to arrive waits, the second offers; both end up seeing and hearing each other. */
async function call(env, room, first, second) {
  const a = await env.open('/', { browser: first });
  await waitForState(a, 'choosing-room');
  await enterRoom(a, room);
  await waitForState(a, 'waiting');

  const b = await env.open('/', { browser: second });
  await waitForState(b, 'choosing-room');
  await enterRoom(b, room);
  await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);

  const [aId, bId] = await Promise.all([peerIdOf(a), peerIdOf(b)]);
  assert.ok(aId && bId && aId !== bId);
  const [atA, atB] = await Promise.all([expectSeesAndHears(a, bId), expectSeesAndHears(b, aId)]);
  assert.ok(atA.framesDecoded > 5 && atB.framesDecoded > 5, `${JSON.stringify(atA)} ${JSON.stringify(atB)}`);
  assert.ok(atA.audioPackets > 0 && atB.audioPackets > 0);
  assert.equal(await a.getByTestId('remote-video').getAttribute('data-peer'), bId);
  assert.equal(await b.getByTestId('remote-video').getAttribute('data-peer'), aId);
  return [a, b];
}

const userAgent = (page) => page.evaluate(() => navigator.userAgent);

test('Firefox and Chromium call each other through the web client, both join orders', async (t) => {
  const env = await startEnv(t, { firefox: true });

  const [fox, chrome] = await call(env, 'firefox-first', 'firefox', 'chromium');
  // Really two browsers: the same helpers drove both.
  assert.match(await userAgent(fox), /Firefox\/\d+/);
  assert.match(await userAgent(chrome), /Chrome\/\d+/);
  assert.doesNotMatch(await userAgent(chrome), /Firefox/);

  // The CSP check (in startEnv's teardown) works in Firefox too: an injected inline script
  // is refused and reported.
  const ran = await fox.evaluate(async () => {
    window.__inlineRan = false;
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 100));
    return window.__inlineRan;
  });
  assert.equal(ran, false, 'Firefox must refuse an injected inline script');
  // The report comes as an event of its own: wait for it (bounded).
  const reported = () => fox.duetCspViolations.some((v) => /script-src/.test(v));
  for (const until = Date.now() + 5000; !reported() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
  assert.ok(
    reported(),
    `the refusal is reported: ${JSON.stringify(fox.duetCspViolations)}`,
  );
  fox.duetCspViolations.length = 0; // that refusal was the point of the check
  await Promise.all([fox.close(), chrome.context().close()]); // two encoders fewer for the next call

  const [chrome2, fox2] = await call(env, 'chromium-first', 'chromium', 'firefox');
  assert.match(await userAgent(fox2), /Firefox\/\d+/);
  assert.match(await userAgent(chrome2), /Chrome\/\d+/);
});
