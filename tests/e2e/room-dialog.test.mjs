// SPDX-License-Identifier: MIT
// Story 2: once media is granted, an accessible in-page dialog asks for the room name.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEnv, waitForState } from './lib.mjs';

test('story 2: after media is granted an in-page dialog asks for a room name', async (t) => {
  const env = await startEnv(t);
  // window.prompt would block the page; the app must never use it.
  const page = await env.open('/', {
    initScript: () => {
      window.__prompts = 0;
      window.prompt = () => {
        window.__prompts += 1;
        return null;
      };
    },
  });
  await waitForState(page, 'choosing-room');

  const dialog = page.getByTestId('room-dialog');
  await dialog.waitFor({ state: 'visible', timeout: 10000 });
  const info = await dialog.evaluate((d) => ({
    tag: d.tagName.toLowerCase(),
    modal: d.matches(':modal'),
    label: document.getElementById(d.getAttribute('aria-labelledby'))?.textContent.trim(),
  }));
  assert.equal(info.tag, 'dialog');
  assert.ok(info.modal, 'shown as a modal dialog');
  assert.ok(info.label, 'the dialog has an accessible name');

  // The input is labelled and focused, ready to type.
  const input = page.getByTestId('room-input');
  assert.ok(await input.evaluate((el) => el === document.activeElement), 'focus is in the room name field');
  assert.equal(await page.getByLabel('Room name').getAttribute('data-testid'), 'room-input');
  assert.ok(await page.getByTestId('join-button').isVisible());
  assert.ok(await page.getByTestId('cancel-button').isVisible());
  assert.equal(await page.getByTestId('room-error').innerText(), '');
  assert.equal(await page.evaluate(() => window.__prompts), 0);

  // Keyboard only: typing and Enter submits the dialog.
  await page.keyboard.type('lounge');
  await page.keyboard.press('Enter');
  await waitForState(page, 'waiting');
  await dialog.waitFor({ state: 'hidden', timeout: 5000 });
});
