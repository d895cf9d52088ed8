// SPDX-License-Identifier: MIT
// A call on a phone-sized screen fits without sideways scrolling, plays inline, and every
// control has an accessible name and is reachable from the keyboard.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectSeesAndHears, joinedTab, peerIdOf, startEnv, waitForState } from './lib.mjs';

const PHONE = { width: 390, height: 844 };

test('phone layout and accessible controls in a call', async (t) => {
  const env = await startEnv(t);
  const alice = await joinedTab(env, 'pocket', { expect: 'waiting', viewport: PHONE });
  const bob = await joinedTab(env, 'pocket', { viewport: PHONE });
  await Promise.all([waitForState(alice, 'connected'), waitForState(bob, 'connected')]);
  await expectSeesAndHears(alice, await peerIdOf(bob));

  for (const id of ['local-video', 'remote-video']) {
    const video = alice.getByTestId(id);
    // iOS Safari would otherwise open a full-screen player instead of the call view.
    assert.notEqual(await video.getAttribute('playsinline'), null, `${id} plays inline`);
    assert.notEqual(await video.getAttribute('autoplay'), null, `${id} autoplays`);
  }
  assert.notEqual(await alice.getByTestId('local-video').getAttribute('muted'), undefined);

  // Nothing wider than the screen, and the remote picture is the big one.
  const layout = await alice.evaluate(() => {
    const box = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
    const r = box('remote-video'), l = box('local-video');
    return {
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
      remoteArea: r.width * r.height,
      localArea: l.width * l.height,
      viewportMeta: document.querySelector('meta[name="viewport"]')?.content ?? '',
    };
  });
  assert.ok(layout.scrollWidth <= layout.innerWidth, `no sideways scroll (${layout.scrollWidth} > ${layout.innerWidth})`);
  assert.ok(layout.remoteArea > layout.localArea, 'remote video is larger than the local preview');
  assert.match(layout.viewportMeta, /width=device-width/);

  // Every control is on screen, has an accessible name, and is a real button.
  for (const id of ['mute-button', 'camera-button', 'share-button', 'leave-button']) {
    const button = alice.getByTestId(id);
    const box = await button.boundingBox();
    assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= PHONE.width && box.y + box.height <= PHONE.height,
      `${id} is visible on a phone screen`);
    assert.ok(box.width >= 40 && box.height >= 40, `${id} is large enough to tap`);
    const name = await button.evaluate((el) => (el.getAttribute('aria-label') || el.textContent || '').trim());
    assert.ok(name.length > 0, `${id} has an accessible name`);
    assert.equal(await button.evaluate((el) => el.tagName), 'BUTTON');
  }
  assert.equal(await alice.getByTestId('status').getAttribute('aria-live'), 'polite');

  // Keyboard only: Tab reaches the mute button and Space toggles it.
  let reached = false;
  for (let i = 0; i < 15 && !reached; ++i) {
    await alice.keyboard.press('Tab');
    reached = await alice.evaluate(() => document.activeElement?.dataset?.testid === 'mute-button');
  }
  assert.ok(reached, 'Tab reaches the mute button');
  const before = await alice.getByTestId('mute-button').getAttribute('aria-pressed');
  await alice.keyboard.press('Space');
  await alice.waitForFunction((b) => document.querySelector('[data-testid="mute-button"]').getAttribute('aria-pressed') !== b, before);

  // The chat panel on the narrowest common phone (375 px): opened from the keyboard, it
  // fits without sideways scrolling, its parts are on screen, named and large enough to
  // tap, and Escape gives focus back to the toggle.
  const SMALL = { width: 375, height: 667 };
  await alice.setViewportSize(SMALL);
  await alice.getByTestId('chat-toggle').focus();
  await alice.keyboard.press('Enter');
  await alice.getByTestId('chat-input').waitFor({ state: 'visible' });
  assert.equal(await alice.evaluate(() => document.activeElement?.dataset?.testid), 'chat-input');
  assert.ok(
    (await alice.evaluate(() => document.documentElement.scrollWidth)) <= SMALL.width,
    'no sideways scroll with the chat open',
  );
  for (const id of ['chat-log', 'chat-input', 'chat-send']) {
    const box = await alice.getByTestId(id).boundingBox();
    assert.ok(box && box.x >= 0 && box.y >= 0 && box.x + box.width <= SMALL.width && box.y + box.height <= SMALL.height,
      `${id} is on a 375 px screen: ${JSON.stringify(box)}`);
    const name = await alice.getByTestId(id).evaluate((el) =>
      (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent || '').trim());
    assert.ok(name.length > 0, `${id} has an accessible name`);
  }
  assert.ok((await alice.getByTestId('chat-send').boundingBox()).height >= 36, 'chat-send is large enough to tap');
  assert.ok((await alice.getByTestId('chat-log').boundingBox()).height >= 100, 'the chat log has room for messages');
  await alice.keyboard.press('Escape');
  assert.equal(await alice.getByTestId('chat-toggle').getAttribute('aria-expanded'), 'false');
  assert.equal(await alice.evaluate(() => document.activeElement?.dataset?.testid), 'chat-toggle');
});
