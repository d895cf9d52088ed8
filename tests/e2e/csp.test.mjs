// SPDX-License-Identifier: MIT
// The client under its Content-Security-Policy: served with it, a whole call without a
// single violation, and no other page can frame it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectedPair, expectSeesAndHears, peerIdOf, startEnv, WAIT_MS } from './lib.mjs';

test('the page is served with a strict CSP and a whole call breaks none of it', async (t) => {
  const env = await startEnv(t);
  const probe = await env.browser.newPage();
  const response = await probe.goto(env.url);
  const headers = response.headers();
  const csp = headers['content-security-policy'] ?? '';
  for (const part of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(part), `CSP has ${part}: ${csp}`);
  }
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
  assert.equal(headers['x-frame-options'], 'DENY');
  await probe.close();

  // The call itself: WebSocket, camera, both videos, controls. startEnv fails the test if
  // any page logged a CSP violation; count them here too, to say so where it happens.
  const violations = [];
  const [a, b] = await connectedPair(env, 'csp-room', {
    initScript: () =>
      document.addEventListener('securitypolicyviolation', (e) =>
        console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`),
      ),
  });
  for (const p of [a, b]) p.on('console', (m) => /Content Security Policy/.test(m.text()) && violations.push(m.text()));
  const [aId, bId] = await Promise.all([peerIdOf(a), peerIdOf(b)]);
  await Promise.all([expectSeesAndHears(a, bId), expectSeesAndHears(b, aId)]);
  await a.getByTestId('mute-button').click();
  await a.getByTestId('camera-button').click();
  assert.deepEqual(violations, []);

  // An inline script is refused: the policy really is enforced, not only sent.
  const ran = await a.evaluate(async () => {
    window.__inlineRan = false;
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
    await new Promise((r) => setTimeout(r, 50));
    return window.__inlineRan;
  });
  assert.equal(ran, false, 'an injected inline script must not run');
  a.duetCspViolations.length = 0; // that refusal was the point of the check
});

test('another site cannot frame the call page', async (t) => {
  const env = await startEnv(t);
  const page = await env.browser.newPage();
  // A page of another origin (about:blank here) that frames duet.
  await page.setContent(`<iframe id="f" src="${env.url}?room=framed" width="400" height="300"></iframe>`);
  await page.waitForFunction(
    () => {
      try {
        return document.getElementById('f').contentWindow.location.href !== 'about:blank';
      } catch {
        return true; // it navigated away to another origin: duet's page or an error page
      }
    },
    null,
    { timeout: WAIT_MS },
  );
  const frame = page.frames().find((f) => f !== page.mainFrame());
  assert.ok(frame, 'the iframe exists');
  await frame.waitForLoadState('load', { timeout: WAIT_MS }).catch(() => {});
  const rendered = await frame.evaluate(() => !!document.querySelector('[data-testid=room-dialog]')).catch(() => false);
  assert.equal(rendered, false, `the duet page must not render inside a frame (frame url ${frame.url()})`);
});
