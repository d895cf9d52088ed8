// SPDX-License-Identifier: MIT
// The mesh bench: duet-peer's CPU (% of one core) and RSS in a call with one browser (a room
// of two) and with three (a room of four, full mesh: one leg per browser), with the load
// average around each window. Run through bench/mesh.sh; `--smoke` makes the windows short
// and checks the figures are present and plausible, never that they are fast.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launchBrowser, startServer } from '../../tests/e2e/lib.mjs';
import { flag, value } from './cli.mjs';
import { scratchDir, startPeer } from './peer.mjs';
import { descendants, loadavg, machine, measure } from './procstat.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const smoke = flag('--smoke');
const opts = {
  cpuSeconds: Number(value('--cpu-seconds', smoke ? 3 : 20)),
  size: value('--size', '640x480'),
  fps: Number(value('--fps', 30)),
  out: path.resolve(value('--out', path.join(repoRoot, 'bench/results/mesh.json'))),
};
const build = path.resolve(repoRoot, process.env.BUILD || 'build');
const exe = { server: path.join(build, 'signaling/duet-server'), peer: path.join(build, 'src/duet-peer') };
process.env.DUET_SERVER = exe.server;
const scratch = scratchDir(path.join(build, 'bench/media/scratch'));
const log = (...a) => console.error('[mesh-bench]', ...a);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** A page of duet-server's own client in its own context, joined to `room`. */
async function joinPage(browser, server, room) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(new URL(`/?room=${encodeURIComponent(room)}`, server.url).href);
  await page.waitForFunction(() => window.duet?.peerId, null, { timeout: 20000, polling: 100 });
  return { context, page, id: await page.evaluate(() => window.duet.peerId) };
}

/** duet-peer has decoded video and audio from each of `ids`. */
async function framesFrom(peer, ids) {
  await Promise.all(
    ids.flatMap((id) => ['video', 'audio'].map((kind) => peer.wait('first-frame', (e) => e.kind === kind && e.peer === id))),
  );
}

/** One CPU/RSS window over duet-peer (and, for context, over Chromium). */
async function measureRoom(peer, members) {
  // Let the legs' bandwidth estimation settle, then measure.
  await pause(smoke ? 500 : 3000);
  const loadBefore = loadavg();
  const [duetPeer, chromium] = await Promise.all([
    measure(() => [peer.proc.pid], opts.cpuSeconds),
    measure(() => descendants(process.pid, /chrom/i), opts.cpuSeconds),
  ]);
  const legs = peer.events.filter((e) => e.event === 'connected').length;
  // What each leg carried at the end of the window (duet-peer's own `stats` events): the
  // CPU depends on it, and congestion control lowers it on a starved machine.
  const latest = new Map();
  for (const e of peer.events) if (e.event === 'stats') latest.set(e.peer, e);
  const perLeg = [...latest.values()].map((e) => ({
    received_fps: e.video_fps,
    sent_kbps: e.sent_kbps,
    send_target_kbps: e.send_kbps,
    send_size: e.send_size,
  }));
  return { members, browsers: members - 1, duet_peer: duetPeer, chromium, legs_connected: legs, legs: perLeg, load_before: loadBefore, load_after: loadavg() };
}

async function main() {
  const server = await startServer({ args: ['--max-peers', '4'] });
  const browser = await launchBrowser();
  const room = `bench-mesh-${process.pid}`;
  const ws = server.url.replace(/^http/, 'ws') + 'ws';
  const peer = startPeer(exe.peer, ws, room, {
    logPath: path.join(scratch, 'mesh-peer.log'),
    stateDir: path.join(scratch, 'state-mesh'),
    size: opts.size,
    fps: opts.fps,
    phaseLog: false,
  });
  try {
    await peer.wait('joined');
    const pages = [await joinPage(browser, server, room)];
    await framesFrom(peer, [pages[0].id]);
    log(`room of 2: measuring ${opts.cpuSeconds} s`);
    const two = await measureRoom(peer, 2);
    for (let i = 0; i < 2; i++) pages.push(await joinPage(browser, server, room));
    await framesFrom(peer, pages.map((p) => p.id));
    log(`room of 4: measuring ${opts.cpuSeconds} s`);
    const four = await measureRoom(peer, 4);
    return { two, four };
  } finally {
    await peer.stop();
    await browser.close().catch(() => {});
    await server.stop();
  }
}

const started = Date.now();
const rooms = await main();
const result = {
  bench: 'mesh',
  date: new Date().toISOString(),
  machine: machine(),
  options: { ...opts, smoke },
  duet_peer_sends: `test sources at ${opts.size}@${opts.fps}, a video encoder per leg and one shared Opus encoder, every leg decoded to fakesinks`,
  room_of_2: rooms.two,
  room_of_4: rooms.four,
  cpu_ratio_4_over_2: Number((rooms.four.duet_peer.cpu_percent_of_one_core / Math.max(0.1, rooms.two.duet_peer.cpu_percent_of_one_core)).toFixed(2)),
  seconds: Math.round((Date.now() - started) / 1000),
};
fs.mkdirSync(path.dirname(opts.out), { recursive: true });
fs.writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);

const row = (r) =>
  `${String(r.members).padStart(7)} | ${String(r.duet_peer.cpu_percent_of_one_core).padStart(13)} | ` +
  `${String(r.duet_peer.rss_peak_mb).padStart(11)} | ${String(r.chromium.cpu_percent_of_one_core).padStart(15)} | ` +
  `${r.load_before.join(' ')} -> ${r.load_after.join(' ')}`;
console.log(`duet-peer in a room of 2 and of 4 (${opts.cpuSeconds} s windows, ${result.duet_peer_sends})`);
console.log('members | duet-peer CPU% | RSS peak MB | Chromium CPU% * | load average (1 5 15 min)');
console.log(row(rooms.two));
console.log(row(rooms.four));
console.log(`CPU room of 4 / room of 2: ${result.cpu_ratio_4_over_2}x`);
for (const [name, r] of [['room of 2', rooms.two], ['room of 4', rooms.four]]) {
  const legs = r.legs.map((l) => `${l.received_fps} fps in, ${l.sent_kbps} kbit/s out (target ${l.send_target_kbps})`);
  console.log(`${name}, per leg at the end: ${legs.join('; ')}`);
}
console.log('* all pages of the one headless Chromium, % of one core, for context');
console.log(`written to ${path.relative(process.cwd(), opts.out)}; reproduce: bench/mesh.sh${smoke ? ' --smoke' : ''} --cpu-seconds ${opts.cpuSeconds}`);

// Plausibility only: figures present and in range, never a speed requirement.
const problems = [];
for (const [name, r] of [['room of 2', rooms.two], ['room of 4', rooms.four]]) {
  const cpu = r.duet_peer.cpu_percent_of_one_core;
  if (!(cpu > 0 && cpu < 100 * result.machine.nproc)) problems.push(`${name}: duet-peer CPU ${cpu}% is not plausible`);
  const rss = r.duet_peer.rss_peak_mb;
  if (!(rss > 5 && rss < 4096)) problems.push(`${name}: duet-peer RSS ${rss} MB is not plausible`);
  if (r.legs_connected < r.browsers) problems.push(`${name}: only ${r.legs_connected} legs connected`);
}
if (problems.length) {
  console.error(`[mesh-bench] implausible figures:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
fs.rmSync(scratch, { recursive: true, force: true });
