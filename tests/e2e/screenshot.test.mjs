// SPDX-License-Identifier: MIT
// Takes the README's screenshot from a real call between two headless tabs. It goes to
// $DUET_SCREENSHOT_OUT (the build directory, set by meson), so a test run leaves the source
// tree as it was; DUET_UPDATE_DOCS_SCREENSHOT=1 also copies it to docs/screenshot.png.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { connectedPair, expectSeesAndHears, peerIdOf, repoRoot, startEnv } from './lib.mjs';

test('screenshot of a connected call at 1280x720', async (t) => {
  const env = await startEnv(t);
  const viewport = { width: 1280, height: 720 };
  const [alice, bob] = await connectedPair(env, 'sunday-call', { viewport });
  await expectSeesAndHears(alice, await peerIdOf(bob));
  await expectSeesAndHears(bob, await peerIdOf(alice));

  // Let the join notices fade, so the picture shows the call itself.
  await alice.getByTestId('notice').first().waitFor({ state: 'detached', timeout: 15000 }).catch(() => {});

  const file = process.env.DUET_SCREENSHOT_OUT || path.join(os.tmpdir(), `duet-screenshot-${process.pid}.png`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await alice.screenshot({ path: file });
  const png = fs.readFileSync(file);
  assert.equal(png.subarray(1, 4).toString(), 'PNG');
  assert.equal(png.readUInt32BE(16), viewport.width);
  assert.equal(png.readUInt32BE(20), viewport.height);
  if (process.env.DUET_UPDATE_DOCS_SCREENSHOT === '1') fs.copyFileSync(file, path.join(repoRoot, 'docs', 'screenshot.png'));
  t.diagnostic(`screenshot written to ${file}`);
});
