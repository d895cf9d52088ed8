// SPDX-License-Identifier: MIT
// Rooms of more than two: three browsers in a room of four (duet-server --max-peers 4), a
// full mesh where everyone sees and hears everyone, the participant count, who is speaking,
// and someone leaving. (The room-full notice with the room's size: room-full.test.mjs.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  audioEnergyOver,
  expectSeesAndHears,
  noticeHistory,
  peerIdOf,
  startEnv,
  stateHistory,
  waitForState,
  WAIT_MS,
} from './lib.mjs';

const ROOM = 'mesh-room';
/** The first member is on a small phone. */
const PHONE = { width: 375, height: 667 };

/** Waits until the page's participant count reads `n`. */
async function waitForCount(page, n) {
  await page.waitForFunction(
    (want) => {
      const el = document.querySelector('[data-testid=participant-count]');
      return el && el.offsetParent !== null && el.textContent === String(want);
    },
    n,
    { timeout: WAIT_MS, polling: 200 },
  );
}

/** Waits until the page has a connected RTCPeerConnection with each of `ids` (and no other). */
async function waitForLinks(page, ids) {
  await page.waitForFunction(
    (want) => {
      const pcs = window.duet.pcs;
      return pcs.size === want.length && want.every((id) => pcs.get(id)?.connectionState === 'connected');
    },
    ids,
    { timeout: WAIT_MS, polling: 200 },
  );
}

/** Which peers' tiles showed data-speaking="true" at any time during `ms`. */
function speakersDuring(page, ms) {
  return page.evaluate(
    (span) =>
      new Promise((resolve) => {
        const seen = new Set();
        const look = () => {
          for (const tile of document.querySelectorAll('.tile[data-speaking="true"]')) seen.add(tile.dataset.peer);
        };
        look();
        const observer = new MutationObserver(look);
        observer.observe(document.getElementById('remotes'), { attributes: true, subtree: true, attributeFilter: ['data-speaking'] });
        setTimeout(() => {
          observer.disconnect();
          resolve([...seen]);
        }, span);
      }),
    ms,
  );
}

test('three browsers in a room of four: a full mesh, counted, speaking marked, one leaves', async (t) => {
  const env = await startEnv(t, { serverArgs: ['--max-peers', '4'] });
  const pages = [];
  for (let i = 0; i < 3; i++) {
    const page = await env.open(`/?room=${ROOM}`, i === 0 ? { viewport: PHONE } : {});
    await waitForState(page, i === 0 ? 'waiting' : ['connecting', 'connected']);
    // "connecting" is also shown while the join is on its way: wait until it is in.
    await page.waitForFunction(() => window.duet.peerId, null, { timeout: WAIT_MS, polling: 100 });
    pages.push(page);
  }
  const ids = await Promise.all(pages.map(peerIdOf));
  assert.equal(new Set(ids).size, 3, 'three distinct members');
  const others = (i) => ids.filter((_, j) => j !== i);

  // Full mesh: each page holds one connection to each other member, and decodes their
  // video and hears their audio.
  await Promise.all(pages.map((p, i) => waitForLinks(p, others(i))));
  await Promise.all(pages.flatMap((p, i) => others(i).map((id) => expectSeesAndHears(p, id))));
  const energies = await Promise.all(pages.flatMap((p, i) => others(i).map((id) => audioEnergyOver(p, id, 1))));
  assert.ok(energies.every((e) => e > 0), `everyone hears everyone: ${energies}`);
  for (const p of pages) {
    assert.equal(await p.getByTestId('remote-video').count(), 2, 'one tile per other member');
    await waitForCount(p, 3);
    await waitForState(p, 'connected');
  }

  // On the phone, both tiles and every control fit the screen, without sideways scrolling.
  const phone = await pages[0].evaluate(() => {
    const rect = (el) => {
      const r = el.getBoundingClientRect();
      return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, area: r.width * r.height };
    };
    return {
      scrollWidth: document.documentElement.scrollWidth,
      tiles: [...document.querySelectorAll('.tile')].map(rect),
      controls: [...document.querySelectorAll('#controls button')].filter((b) => !b.hidden).map(rect),
    };
  });
  assert.ok(phone.scrollWidth <= PHONE.width, `no sideways scroll on a phone: ${phone.scrollWidth}`);
  for (const box of [...phone.tiles, ...phone.controls]) {
    assert.ok(box.left >= 0 && box.right <= PHONE.width && box.top >= 0 && box.bottom <= PHONE.height, `on screen: ${JSON.stringify(box)}`);
  }
  assert.ok(phone.tiles.every((b) => b.area > 120 * 90), `tiles big enough to see: ${JSON.stringify(phone.tiles)}`);

  // A reload in a room of three: the tab takes its seat back and reconnects to both others;
  // the other two stay "connected" all along (they still have each other), counting 3.
  const seen = (await stateHistory(pages[0])).length;
  await pages[1].reload();
  await pages[1].waitForFunction((id) => window.duet.peerId === id, ids[1], { timeout: WAIT_MS, polling: 100 });
  await Promise.all(pages.map((p, i) => waitForLinks(p, others(i))));
  await Promise.all(others(1).map((id) => expectSeesAndHears(pages[1], id)));
  await Promise.all(pages.map((p) => waitForCount(p, 3)));
  const during = (await stateHistory(pages[0])).slice(seen);
  assert.ok(during.every((s) => s === 'connected'), `the first member stayed connected: ${during}`);

  // Who speaks: Chromium's fake microphone beeps. With the third member muted, the first
  // sees the second's tile marked speaking and never the third's.
  await pages[2].getByTestId('mute-button').click();
  await pages[0].waitForFunction(
    (id) => document.querySelector(`.tile[data-peer="${id}"]`)?.dataset.speaking !== 'true',
    ids[2],
    { timeout: WAIT_MS, polling: 200 },
  );
  const speakers = await speakersDuring(pages[0], 2500);
  assert.ok(speakers.includes(ids[1]), `the beeping member is marked speaking: ${speakers}`);
  assert.ok(!speakers.includes(ids[2]), `the muted member is not: ${speakers}`);

  // The third leaves: the others' counts drop to 2, its tile goes, the call goes on.
  await pages[2].getByTestId('leave-button').click();
  await pages[0].waitForFunction(() => window.__duetNotices.some((n) => /left/i.test(n)), null, { timeout: WAIT_MS, polling: 200 });
  assert.ok((await noticeHistory(pages[0])).some((n) => /joined/i.test(n)), 'joins were announced');
  for (const [i, p] of pages.slice(0, 2).entries()) {
    await waitForCount(p, 2);
    await p.waitForFunction((id) => !document.querySelector(`.tile[data-peer="${id}"]`), ids[2], { timeout: WAIT_MS, polling: 200 });
    assert.equal(await p.getByTestId('remote-video').count(), 1);
    await waitForState(p, 'connected');
    await expectSeesAndHears(p, ids[1 - i]);
  }
});
