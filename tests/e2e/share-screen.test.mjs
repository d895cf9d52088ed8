// SPDX-License-Identifier: MIT
// Screen sharing: the shared screen replaces the camera on the existing connection (no new
// offer, same RTCPeerConnection), the far side decodes frames throughout, and stopping (with
// the button, the indicator, or from the browser's own UI) brings the camera back.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  connectedPair,
  expectSeesAndHears,
  joinedTab,
  peerIdOf,
  recordSocketFrames,
  sentFrames,
  startEnv,
  waitForRemotePicture,
  waitForState,
  WAIT_MS,
} from './lib.mjs';

// Chromium's fake camera is 640x480 (4:3); its fake screen is 1280x720 (16:9).
const CAMERA = 4 / 3;
const SCREEN = 16 / 9;

/** In the page: samples the video received from `id` (frames decoded and their size) 5x a second. */
function startFrameLog(page, id) {
  return page.evaluate((peer) => {
    window.__shareLog = [];
    window.__sharePc = window.duet.pcs.get(peer);
    setInterval(async () => {
      const pc = window.duet.pcs.get(peer);
      if (!pc) return;
      const stats = await pc.getStats();
      for (const s of stats.values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          window.__shareLog.push({ t: performance.now(), frames: s.framesDecoded ?? 0, w: s.frameWidth ?? 0, h: s.frameHeight ?? 0 });
        }
      }
    }, 200);
  }, id);
}

/** Waits until the page receives video of aspect ratio `ratio` from its sampled peer, decoding new frames. */
async function waitForAspect(page, ratio, what) {
  try {
    await page.waitForFunction(
      (want) => {
        const log = window.__shareLog;
        const last = log.at(-1);
        const before = log.at(-6);
        return last && before && last.h > 0 && Math.abs(last.w / last.h - want) < 0.05 && last.frames > before.frames;
      },
      ratio,
      { timeout: WAIT_MS, polling: 200 },
    );
  } catch (err) {
    const log = await page.evaluate(() => window.__shareLog.slice(-5));
    throw new Error(`${what}: never received ${ratio.toFixed(2)} video: ${JSON.stringify(log)}\n${err.message}`);
  }
}

/** The longest stretch (ms) in the page's log during which no new frame was decoded. */
function longestStall(page) {
  return page.evaluate(() => {
    const log = window.__shareLog;
    let worst = 0;
    let since = log[0]?.t ?? 0;
    for (let i = 1; i < log.length; i++) {
      if (log[i].frames > log[i - 1].frames) since = log[i].t;
      worst = Math.max(worst, log[i].t - since);
    }
    return { worst, samples: log.length, frames: log.at(-1)?.frames ?? 0 };
  });
}

const offersSent = async (page) => (await sentFrames(page)).filter((f) => f.type === 'signal' && f.data?.type === 'offer').length;

/** The sharer's controls and preview agree with `sharing`. */
async function expectSharingUi(page, sharing) {
  const button = page.getByTestId('share-button');
  await page.waitForFunction(
    (on) => document.querySelector('[data-testid=share-button]').getAttribute('aria-pressed') === String(on),
    sharing,
    { timeout: WAIT_MS, polling: 200 },
  );
  assert.equal(await page.getByTestId('share-indicator').isVisible(), sharing, 'indicator shown while sharing');
  assert.equal(await button.getAttribute('aria-pressed'), String(sharing));
  // The preview shows what is sent: the screen while sharing, the camera otherwise.
  const preview = await page.evaluate(() => {
    const v = document.querySelector('[data-testid=local-video]');
    const sent = [...window.duet.pcs.values()][0]?.getSenders().find((s) => s.track?.kind === 'video')?.track ?? null;
    const shown = v.srcObject?.getVideoTracks()[0] ?? null;
    return {
      shownIsSent: !!sent && shown === sent,
      sentIsScreen: !!sent && sent === window.duet.screenTrack,
      sentIsCamera: !!sent && sent === window.duet.localStream.getVideoTracks()[0],
    };
  });
  assert.ok(preview.shownIsSent, `the local preview shows the track being sent: ${JSON.stringify(preview)}`);
  assert.equal(preview.sentIsScreen, sharing, JSON.stringify(preview));
  assert.equal(preview.sentIsCamera, !sharing, JSON.stringify(preview));
}

test('sharing the screen replaces the camera without renegotiating, and stopping restores it', async (t) => {
  const env = await startEnv(t);
  const [a, b] = await connectedPair(env, 'share-room', { initScript: recordSocketFrames });
  const [aId, bId] = await Promise.all([peerIdOf(a), peerIdOf(b)]);
  await expectSeesAndHears(b, aId);
  await startFrameLog(b, aId);
  await waitForAspect(b, CAMERA, 'before sharing');
  const offers = (await offersSent(a)) + (await offersSent(b));
  const pcA = await a.evaluate((id) => {
    window.__sharePcA = window.duet.pcs.get(id);
    return window.__sharePcA.localDescription.sdp;
  }, bId);
  await expectSharingUi(a, false);

  // Share with the button: B's picture becomes the 16:9 screen on the same connection.
  await a.getByTestId('share-button').click();
  await expectSharingUi(a, true);
  await waitForAspect(b, SCREEN, 'after sharing');
  // B's tile knows it shows something wide (a phone shows it whole, not cropped).
  await b.waitForFunction((id) => document.querySelector(`.tile[data-peer="${id}"]`)?.dataset.shape === 'wide', aId, {
    timeout: WAIT_MS,
    polling: 200,
  });

  // Stop from the indicator's own button: the camera again.
  await a.getByTestId('share-stop').click();
  await expectSharingUi(a, false);
  await waitForAspect(b, CAMERA, 'after share-stop');
  await b.waitForFunction((id) => document.querySelector(`.tile[data-peer="${id}"]`)?.dataset.shape === 'camera', aId, {
    timeout: WAIT_MS,
    polling: 200,
  });

  // Share again, then the browser's own "Stop sharing" ends the track.
  await a.getByTestId('share-button').click();
  await expectSharingUi(a, true);
  await waitForAspect(b, SCREEN, 'sharing again');
  await a.evaluate(() => window.duet.screenTrack.dispatchEvent(new Event('ended')));
  await expectSharingUi(a, false);
  await waitForAspect(b, CAMERA, 'after the track ended');

  // Nothing was renegotiated: no new offer either way, the very same connections.
  assert.equal((await offersSent(a)) + (await offersSent(b)), offers, 'no offer was sent for sharing');
  assert.ok(await b.evaluate((id) => window.__sharePc === window.duet.pcs.get(id), aId), "B's connection is the same");
  assert.ok(
    await a.evaluate(({ id, sdp }) => window.__sharePcA === window.duet.pcs.get(id) && window.__sharePcA.localDescription.sdp === sdp, { id: bId, sdp: pcA }),
    "A's connection and its description are the same",
  );
  // B kept decoding through every switch.
  const stall = await longestStall(b);
  assert.ok(stall.samples >= 10 && stall.worst < 2000, `B kept decoding frames throughout: ${JSON.stringify(stall)}`);
  await waitForState(a, 'connected');
  await waitForState(b, 'connected');
});

test('a camera that was off stays off after sharing, and a newcomer gets the screen', async (t) => {
  const env = await startEnv(t, { serverArgs: ['--max-peers', '3'] });
  const [a, b] = await connectedPair(env, 'share-off');
  const aId = await peerIdOf(a);
  await startFrameLog(b, aId);
  await a.getByTestId('camera-button').click();
  await waitForRemotePicture(b, { dark: true });

  await a.getByTestId('share-button').click();
  await expectSharingUi(a, true);
  await waitForAspect(b, SCREEN, 'sharing with the camera off');
  await waitForRemotePicture(b, { dark: false }); // the screen is shown, not the black camera

  // Someone joining now gets the screen on their new connection.
  const c = await joinedTab(env, 'share-off', { expect: 'connected' });
  await startFrameLog(c, aId);
  await waitForAspect(c, SCREEN, 'the newcomer');

  await a.getByTestId('share-button').click();
  await expectSharingUi(a, false);
  await waitForAspect(b, CAMERA, 'after sharing, camera off');
  await waitForRemotePicture(b, { dark: true });
  assert.equal(await a.getByTestId('camera-button').getAttribute('aria-pressed'), 'true', 'the camera is still off');
  assert.ok(await a.locator('#self-off').isVisible(), 'the preview says the camera is off again');
});
