// SPDX-License-Identifier: MIT
// The media bench: time to first frame (native<->native, browser<->native), glass-to-glass
// latency, and CPU/RSS of duet-peer and of headless Chromium in a call. Writes JSON, prints
// a table. Run through bench/media.sh, which builds first; `--smoke` makes every part tiny
// and checks that the numbers are sane (never that they are fast).

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { CHROMIUM, CHROMIUM_ARGS, startServer } from '../../tests/e2e/lib.mjs';
import { displayLatency } from './display.mjs';
import { flag, value } from './cli.mjs';
import { echoBench, echoProblems, echoTable } from './echo.mjs';
import { now, phasesOf, removeQuietly, scratchDir, startPeer } from './peer.mjs';
import { descendants, loadavg, machine, measure } from './procstat.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

// ---- options ----
const smoke = flag('--smoke');
const opts = {
  runs: Number(value('--runs', smoke ? 1 : 10)),
  cpuSeconds: Number(value('--cpu-seconds', smoke ? 3 : 30)),
  latencies: value('--latencies', smoke ? 'auto' : 'auto,0,20,50,200').split(',').map((x) => (x === 'auto' ? x : Number(x))),
  switches: Number(value('--switches', smoke ? 6 : 60)),
  browser: !flag('--no-browser'),
  // The display part (display.mjs): flips per run, and duet-peer's --latency-ms per run.
  displayFlips: Number(value('--display-flips', smoke ? 6 : 40)),
  // Simulated-room echo delays (ms); each is run with processing off, on, and given.
  echoDelays: value('--echo-delays', smoke ? '30' : '30,80,150').split(',').filter(Boolean).map(Number),
  echoOnly: flag('--echo-only'),
  displayOnly: flag('--display-only'),
  displayLatencies: value('--display-latencies', smoke ? 'auto' : 'auto,50').split(','),
  // Each CODEC:ENCODER pair gets a glass-to-glass run and a CPU window of its own.
  codecs: value('--codecs', 'vp8:vp8enc,h264:openh264enc,h264:x264enc')
    .split(',')
    .filter(Boolean)
    .map((c) => {
      const [codec, encoder] = c.split(':');
      return { codec, encoder };
    }),
  out: path.resolve(value('--out', path.join(repoRoot, 'bench/results/media.json'))),
};
const build = path.resolve(repoRoot, process.env.BUILD || 'build');
const exe = {
  server: path.join(build, 'signaling/duet-server'),
  peer: path.join(build, 'src/duet-peer'),
  g2g: path.join(build, 'bench/media/duet-bench-g2g'),
  displayPeer: path.join(build, 'bench/media/duet-bench-display-peer'),
};
process.env.DUET_SERVER = exe.server;
const SIZE = '640x480';
const FPS = 30;
const scratch = scratchDir(path.join(build, 'bench/media/scratch'));
let roomCounter = 0;
const room = (what) => `bench-${what}-${process.pid}-${++roomCounter}`;
const log = (...a) => console.error('[media-bench]', ...a);

// ---- statistics ----
function quantile(xs, q) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const pos = q * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}
function summary(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  const r = (x) => (x === null ? null : Number(x.toFixed(1)));
  return {
    n: v.length,
    median: r(quantile(v, 0.5)),
    p10: r(quantile(v, 0.1)),
    p90: r(quantile(v, 0.9)),
    min: r(quantile(v, 0)),
    max: r(quantile(v, 1)),
  };
}

// ---- helpers ----
// Every duet-peer started, so that none outlives a run that fails half-way.
const peersStarted = new Set();
process.on('exit', () => {
  for (const p of peersStarted) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
});

function peer(server, name, roomName, extra = {}) {
  const ws = server.url.replace(/^http/, 'ws') + 'ws';
  const p = startPeer(exe.peer, ws, roomName, {
    logPath: path.join(scratch, `${name}.log`),
    stateDir: path.join(scratch, `state-${name}`),
    size: SIZE,
    fps: FPS,
    ...extra,
  });
  peersStarted.add(p);
  return p;
}
const isVideo = (e) => e.kind === 'video';
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- 1a. TTFF native <-> native ----
// A waits in the room (a kiosk), B starts, joins and offers; t0 is B's `joined` event.
async function ttffNative(server) {
  const r = room('ttff-native');
  const a = peer(server, 'ttff-a', r);
  await a.wait('joined');
  // A kiosk waits in its room long before anyone calls; give A that head start.
  await pause(1000);
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    const b = peer(server, `ttff-b${i}`, r);
    const bj = await b.wait('joined');
    const t0 = bj.at;
    const [aFrame, bFrame] = await Promise.all([
      a.wait('first-frame', (e) => isVideo(e) && e.peer === bj.id),
      b.wait('first-frame', isVideo),
    ]);
    await b.stop();
    await a.wait('peer-left', (e) => e.peer === bj.id);
    const rel = (p) => (p ? Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v - t0])) : null);
    runs.push({
      joiner_decodes_ms: bFrame.at - t0,
      waiter_decodes_ms: aFrame.at - t0,
      call_ms: Math.max(bFrame.at, aFrame.at) - t0,
      joiner_start_to_frame_ms: bFrame.at - b.startedAt,
      // A's log holds every call so far: call number i is this run's.
      phases: { joiner_offerer: rel(phasesOf(b)), waiter_answerer: rel(phasesOf(a, i)) },
      load: loadavg(),
    });
    log(`native ttff run ${i + 1}: ${runs.at(-1).call_ms.toFixed(0)} ms (load ${loadavg()[0]})`);
  }
  await a.stop();
  return runs;
}

// ---- browser ----
async function launch() {
  // playwright-core is installed for the e2e tests; resolve it from there.
  const { chromium } = createRequire(path.join(repoRoot, 'tests/e2e/package.json'))('playwright-core');
  // Chromium's fake camera runs at 20 fps unless told; the call is 640x480@30 both ways.
  const args = CHROMIUM_ARGS.map((a) =>
    a === '--use-fake-device-for-media-stream' ? '--use-fake-device-for-media-stream=fps=30' : a,
  );
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: 30000 });
}

// Loads the client, lets it get media and show the room dialog: nothing of this is timed.
// Installed before the page's own scripts: stamps the signaling steps of the page's call.
function stampSignaling() {
  const marks = (window.__benchSignal = {});
  const mark = (k) => {
    if (!(k in marks)) marks[k] = performance.now();
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        try {
          const m = JSON.parse(e.data);
          if (m.type === 'joined') mark('joined');
          if (m.type === 'signal' && m.data?.sdp) mark(`${m.data.sdp.type}_received`);
          if (m.type === 'signal' && m.data?.candidate) mark('candidate_received');
        } catch {
          /* not ours to judge */
        }
      });
    }

    send(data) {
      try {
        const m = JSON.parse(data);
        if (m.type === 'join') mark('join_sent');
        if (m.type === 'signal' && m.data?.sdp) mark(`${m.data.sdp.type}_sent`);
      } catch {
        /* not ours to judge */
      }
      return super.send(data);
    }
  };
}

async function readyPage(browser, server) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  await context.addInitScript(stampSignaling);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(
    () => document.querySelector('[data-testid=status]')?.dataset.state === 'choosing-room',
    null,
    { timeout: 20000 },
  );
  // Watches, from now on, for the first decoded remote video frame (getStats every 8 ms) and
  // the first frame handed to the <video> element (requestVideoFrameCallback), on the
  // page's clock.
  await page.evaluate(() => {
    const marks = (window.__bench = {});
    const poll = async () => {
      for (const pc of window.duet.pcs.values()) {
        if (pc.connectionState === 'connected' && !marks.connected) marks.connected = performance.now();
        const stats = await pc.getStats();
        stats.forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && !marks.decoded)
            marks.decoded = performance.now();
        });
      }
      const video = document.querySelector('[data-testid=remote-video]');
      if (video && !marks.rvfcArmed && video.requestVideoFrameCallback) {
        marks.rvfcArmed = true;
        video.requestVideoFrameCallback(() => {
          marks.presented = performance.now();
        });
      }
      // Stops soon after the first frame, so it costs nothing in the CPU window; headless
      // Chromium does not always call requestVideoFrameCallback.
      const done = marks.decoded && (marks.presented || performance.now() - marks.decoded > 500);
      if (!done) setTimeout(poll, 8);
    };
    poll();
  });
  return { context, page };
}

// performance.timeOrigin + now() on both sides; the offset is measured, not assumed.
async function pageClockOffset(page) {
  let best = null;
  for (let i = 0; i < 5; i++) {
    const before = now();
    const pageNow = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = now();
    const off = pageNow - (before + after) / 2;
    if (!best || after - before < best.rtt) best = { off, rtt: after - before };
  }
  return best.off;
}

async function waitMarks(page, keys, timeout = 20000) {
  try {
    await page.waitForFunction((k) => k.every((x) => window.__bench?.[x]), keys, { timeout, polling: 20 });
  } catch (err) {
    const seen = await page.evaluate(() => ({
      marks: window.__bench,
      state: document.querySelector('[data-testid=status]')?.dataset.state,
    }));
    throw new Error(`page: no ${keys.join('+')} within ${timeout} ms (${JSON.stringify(seen)})`, { cause: err });
  }
  return page.evaluate(() => ({ ...window.__bench, signal: window.__benchSignal, origin: performance.timeOrigin }));
}

// 1b. The browser joins a room where duet-peer waits (the browser offers); t0 is the join.
async function ttffBrowserJoins(server, browser) {
  const r = room('ttff-browser');
  const p = peer(server, 'ttff-bp', r);
  await p.wait('joined');
  await pause(1000);
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    const { context, page } = await readyPage(browser, server);
    const offset = await pageClockOffset(page);
    const t0page = await page.evaluate((name) => {
      const input = document.querySelector('[data-testid=room-input]');
      input.value = name;
      const t = performance.now();
      input.form.requestSubmit();
      return t;
    }, r);
    const marks = await waitMarks(page, ['decoded']);
    const t0 = marks.origin + t0page - offset; // on our clock
    const id = await page.evaluate(() => window.duet.peerId);
    const pf = await p.wait('first-frame', (e) => isVideo(e) && e.peer === id);
    const phases = phasesOf(p, i);
    runs.push({
      browser_decodes_ms: marks.decoded - t0page,
      browser_presents_ms: marks.presented ? marks.presented - t0page : null,
      native_decodes_ms: pf.at - t0,
      phases: {
        browser: {
          ...Object.fromEntries(Object.entries(marks.signal ?? {}).map(([k, v]) => [k, v - t0page])),
          connected: marks.connected ? marks.connected - t0page : undefined,
        },
        duet_peer: phases ? Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v - t0])) : null,
      },
      load: loadavg(),
    });
    await page.getByTestId('leave-button').click();
    await p.wait('peer-left', (e) => e.peer === id);
    await context.close();
    log(`browser-joins ttff run ${i + 1}: browser ${runs.at(-1).browser_decodes_ms.toFixed(0)} ms, ` +
      `duet-peer ${runs.at(-1).native_decodes_ms.toFixed(0)} ms (load ${loadavg()[0]})`);
  }
  await p.stop();
  return runs;
}

// 1c. duet-peer joins a room where the browser waits (duet-peer offers); t0 is its `joined`.
async function ttffNativeJoins(server, browser) {
  const runs = [];
  for (let i = 0; i < opts.runs; i++) {
    const r = room('ttff-native-joins');
    const { context, page } = await readyPage(browser, server);
    await page.evaluate((name) => {
      const input = document.querySelector('[data-testid=room-input]');
      input.value = name;
      input.form.requestSubmit();
    }, r);
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.dataset.state === 'waiting');
    const offset = await pageClockOffset(page);
    const p = peer(server, `ttff-np${i}`, r);
    const pj = await p.wait('joined');
    const t0 = pj.at;
    const marks = await waitMarks(page, ['decoded']);
    const pf = await p.wait('first-frame', isVideo);
    const onOurClock = (x) => marks.origin + x - offset;
    const phases = phasesOf(p);
    runs.push({
      browser_decodes_ms: onOurClock(marks.decoded) - t0,
      native_decodes_ms: pf.at - t0,
      phases: {
        duet_peer: phases ? Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v - t0])) : null,
      },
      load: loadavg(),
    });
    await p.stop();
    await context.close();
    log(`native-joins ttff run ${i + 1}: browser ${runs.at(-1).browser_decodes_ms.toFixed(0)} ms, ` +
      `duet-peer ${runs.at(-1).native_decodes_ms.toFixed(0)} ms`);
  }
  return runs;
}

// ---- 2. glass-to-glass ----
async function glassToGlass() {
  const out = [];
  for (const latency of opts.latencies) {
    const load = loadavg();
    const { stdout } = await run(exe.g2g, ['--latency-ms', String(latency), '--switches', String(opts.switches),
      '--size', SIZE, '--fps', String(FPS)], { timeout: 120000 });
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    const r = { ...JSON.parse(line), load };
    out.push(r);
    log(`g2g latency-ms ${latency}: p50 ${r.p50_ms} ms p95 ${r.p95_ms} ms (${r.detected}/${r.switches}, load ${load[0]})`);
  }
  return out;
}

// ---- 3. CPU and memory ----
async function cpuNative(server, args = [], label = 'native') {
  const r = room(`cpu-${label}`);
  const a = peer(server, `cpu-a-${label}`, r, { phaseLog: false, args });
  await a.wait('joined');
  const b = peer(server, `cpu-b-${label}`, r, { phaseLog: false, args });
  await Promise.all([a.wait('first-frame', isVideo), b.wait('first-frame', isVideo)]);
  const load = loadavg();
  const m = await measure(() => [a.proc.pid], opts.cpuSeconds);
  await Promise.all([a.stop(), b.stop()]);
  return { ...m, load_before: load, load_after: loadavg() };
}

// ---- 4. codecs and encoders side by side ----
const codecArgs = (c) => ['--video-codec', c.codec, '--video-encoder', c.encoder];

async function perCodec(server) {
  const out = [];
  for (const c of opts.codecs) {
    const load = loadavg();
    const g2gOnce = () => run(exe.g2g, ['--latency-ms', '50', '--switches', String(opts.switches),
      '--size', SIZE, '--fps', String(FPS), ...codecArgs(c)], { timeout: 120000 }).catch((err) => ({ err }));
    let g = await g2gOnce();
    if (g.err) {
      // One failed run on a loaded 2-core machine is not yet a broken encoder (CI once lost
      // openh264enc's run without saying why): say why, and try once more.
      const said = String(g.err.stderr || '').trim().split('\n').slice(-15).join('\n    ');
      log(`${c.codec}/${c.encoder}: glass-to-glass run failed, once more (load ${loadavg()[0]}):\n    ${said}`);
      g = await g2gOnce();
    }
    if (g.err) {
      // What the program said last is the reason; keep it in the log.
      const said = String(g.err.stderr || '').trim().split('\n').slice(-15).join('\n    ');
      log(`${c.codec}/${c.encoder}: glass-to-glass failed (${g.err.message.split('\n')[0]}); skipped\n    ${said}`);
      out.push({ ...c, error: String(g.err.message).split('\n')[0] });
      continue;
    }
    const g2g = { ...JSON.parse(g.stdout.split('\n').find((l) => l.startsWith('{'))), load };
    const cpu = await cpuNative(server, codecArgs(c), `${c.codec}-${c.encoder}`);
    log(`${c.codec}/${c.encoder}: g2g p50 ${g2g.p50_ms} ms, duet-peer CPU ${cpu.cpu_percent_of_one_core}%`);
    out.push({ ...c, g2g, cpu });
  }
  return out;
}

// An encoder per call: what a second call in the room adds to one duet-peer's CPU.
async function cpuPerLeg(server) {
  const r = room('cpu-legs');
  const args = ['--video-codec', 'vp8'];
  const a = peer(server, 'legs-a', r, { phaseLog: false, args });
  await a.wait('joined');
  const b = peer(server, 'legs-b', r, { phaseLog: false, args });
  const bId = (await b.wait('joined')).id;
  await a.wait('first-frame', isVideo);
  const one = await measure(() => [a.proc.pid], opts.cpuSeconds);
  const c = peer(server, 'legs-c', r, { phaseLog: false, args });
  await a.wait('first-frame', (e) => isVideo(e) && e.peer !== bId);
  const two = await measure(() => [a.proc.pid], opts.cpuSeconds);
  await Promise.all([a.stop(), b.stop(), c.stop()]);
  return { one_leg: one, two_legs: two };
}

async function cpuBrowser(server, browser) {
  const r = room('cpu-browser');
  const p = peer(server, 'cpu-bp', r, { phaseLog: false });
  await p.wait('joined');
  const { context, page } = await readyPage(browser, server);
  await page.evaluate((name) => {
    const input = document.querySelector('[data-testid=room-input]');
    input.value = name;
    input.form.requestSubmit();
  }, r);
  await waitMarks(page, ['decoded']);
  await p.wait('first-frame', isVideo);
  // The first-frame watcher has stopped polling by now (500 ms after the first frame).
  await pause(600);
  const sent = await page.evaluate(() => {
    const s = window.duet.localStream.getVideoTracks()[0].getSettings();
    return { width: s.width, height: s.height, frameRate: s.frameRate };
  });
  const load = loadavg();
  const chromium = () => descendants(process.pid, /chrom/i);
  const [browserM, peerM] = await Promise.all([
    measure(chromium, opts.cpuSeconds),
    measure(() => [p.proc.pid], opts.cpuSeconds),
  ]);
  await context.close();
  await p.stop();
  return { chromium: browserM, duet_peer: peerM, browser_sends: sent, load_before: load, load_after: loadavg() };
}

// ---- 5. what the screen shows (display.mjs) ----
function summariseDisplay(d) {
  const seen = (xs) => xs.filter((x) => x !== null).length;
  const out = { ...d, load: loadavg() };
  for (const k of ['duet_peer_window', 'duet_peer_enters_sink', 'chromium_shown', 'chromium_presented',
    'duet_peer_sends_to_chromium'])
    out[`${k}_ms`] = { ...summary(d[k].filter((x) => x !== null)), p95: quantile(d[k].filter((x) => x !== null), 0.95), seen: seen(d[k]) };
  out.duet_peer_stages_ms = {};
  for (const k of ['net_first', 'net_last', 'jitter_out', 'pts', 'decoded', 'enters_sink', 'shown', 'sink_latency'])
    out.duet_peer_stages_ms[k] = summary((d.duet_peer_stages ?? []).map((x) => x?.[k]).filter((x) => x !== null && x !== undefined)).median;
  out.duet_peer_send_stages_ms = {};
  for (const k of ['encoded', 'sent'])
    out.duet_peer_send_stages_ms[k] = summary((d.duet_peer_send_stages ?? []).map((x) => x?.[k]).filter((x) => x !== null && x !== undefined)).median;
  return out;
}

// ---- report ----
function fmt(s) {
  return s && s.median !== null ? `${s.median.toFixed(0)} (${s.p10.toFixed(0)}-${s.p90.toFixed(0)})` : 'n/a';
}

// Median (and spread) of every phase any run recorded for `who`.
function phaseSummary(runs, who) {
  const names = new Set(runs.flatMap((r) => Object.keys(r.phases?.[who] ?? {})));
  const out = {};
  for (const n of names) out[n] = summary(runs.map((r) => r.phases?.[who]?.[n]).filter((x) => x !== undefined));
  return Object.fromEntries(Object.entries(out).sort((a, b) => (a[1].median ?? 0) - (b[1].median ?? 0)));
}

function phaseTable(runs, who) {
  const names = ['sdp_created', 'local_set', 'remote_set', 'ice_checking', 'ice_connected', 'pc_connected',
    'first_rtp', 'first_video_rtp'];
  const out = {};
  for (const n of names) out[n] = summary(runs.map((r) => r.phases?.[who]?.[n]).filter((x) => x !== undefined));
  return out;
}

async function main() {
  for (const [k, f] of Object.entries(exe)) {
    if (!fs.existsSync(f)) throw new Error(`${k} not found at ${f}: build first (bench/media.sh does)`);
  }
  const started = new Date();
  const result = { date: started.toISOString(), machine: machine(), options: { ...opts, size: SIZE, fps: FPS } };
  // Three seats: the per-leg measurement holds two calls in one room.
  const server = await startServer({ args: ['--max-peers', '3'] });
  let browser;
  const echo = async () => {
    log(`echo cancellation: room delays ${opts.echoDelays.join(', ')} ms`);
    result.echo = await echoBench({
      server: { wsUrl: server.url.replace(/^http/, 'ws') + 'ws' }, exe: exe.peer, scratch,
      delays: opts.echoDelays, log,
    });
  };
  const display = async (browser) => {
    log(`display: Chromium -> duet-peer --sink window and -> Chromium, ${opts.displayFlips} flips`);
    result.display = [];
    for (const latency of opts.displayLatencies)
      result.display.push(summariseDisplay(await displayLatency(server, browser, {
        flips: opts.displayFlips, latency, scratch, exe: exe.displayPeer, log,
      })));
    // The same without the sender's sound: what holding the picture in step with it costs.
    if (!smoke)
      result.display.push(summariseDisplay(await displayLatency(server, browser, {
        flips: opts.displayFlips, latency: opts.displayLatencies[0], sound: false, scratch, exe: exe.displayPeer, log,
      })));
  };
  if (opts.echoOnly) {
    try {
      await echo();
    } finally {
      await server.stop();
    }
    for (const line of echoTable(result.echo)) console.log(line);
    const problems = echoProblems(result.echo);
    if (problems.length) {
      console.error(`echo bench: ${problems.join('; ')}`);
      process.exitCode = 1;
    }
    return;
  }
  if (opts.displayOnly) {
    try {
      browser = await launch();
      await display(browser);
    } finally {
      await browser?.close().catch(() => {});
      await server.stop();
    }
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
    for (const line of displayTable(result.display)) console.log(line);
    console.log(`wrote ${path.relative(repoRoot, opts.out)}; reproduce with: bench/media.sh --display-only`);
    return;
  }
  try {
    await echo();
    log(`native<->native TTFF, ${opts.runs} runs`);
    const native = await ttffNative(server);
    result.ttff_native = {
      runs: native,
      joiner_decodes_ms: summary(native.map((r) => r.joiner_decodes_ms)),
      waiter_decodes_ms: summary(native.map((r) => r.waiter_decodes_ms)),
      call_ms: summary(native.map((r) => r.call_ms)),
      joiner_start_to_frame_ms: summary(native.map((r) => r.joiner_start_to_frame_ms)),
      phases_joiner: phaseTable(native, 'joiner_offerer'),
      phases_waiter: phaseTable(native, 'waiter_answerer'),
    };
    if (opts.browser) {
      browser = await launch();
      log(`browser joins duet-peer, ${opts.runs} runs`);
      const bj = await ttffBrowserJoins(server, browser);
      result.ttff_browser_joins = {
        runs: bj,
        browser_decodes_ms: summary(bj.map((r) => r.browser_decodes_ms)),
        browser_decodes_from_join_sent_ms: summary(
          bj.map((r) => r.browser_decodes_ms - (r.phases.browser.join_sent ?? NaN)),
        ),
        browser_presents_ms: summary(bj.map((r) => r.browser_presents_ms)),
        native_decodes_ms: summary(bj.map((r) => r.native_decodes_ms)),
        phases_browser: phaseSummary(bj, 'browser'),
        phases_duet_peer: phaseSummary(bj, 'duet_peer'),
      };
      log(`duet-peer joins the browser, ${opts.runs} runs`);
      const nj = await ttffNativeJoins(server, browser);
      result.ttff_native_joins = {
        runs: nj,
        browser_decodes_ms: summary(nj.map((r) => r.browser_decodes_ms)),
        native_decodes_ms: summary(nj.map((r) => r.native_decodes_ms)),
        phases_duet_peer: phaseSummary(nj, 'duet_peer'),
      };
    }
    if (browser) await display(browser);
    log(`glass-to-glass at latency-ms ${opts.latencies.join(', ')}`);
    result.glass_to_glass = await glassToGlass();
    log(`CPU/RSS, ${opts.cpuSeconds} s windows`);
    result.cpu_native_call = await cpuNative(server);
    log(`codecs and encoders: ${opts.codecs.map((c) => `${c.codec}/${c.encoder}`).join(', ')}`);
    result.codecs = await perCodec(server);
    log('one call, then two, on one duet-peer (an encoder per call)');
    result.cpu_per_leg = await cpuPerLeg(server);
    if (browser) {
      result.cpu_browser_call = await cpuBrowser(server, browser);
      const c = result.cpu_browser_call;
      result.cpu_ratio = {
        duet_peer_native_call_over_chromium: Number(
          (result.cpu_native_call.cpu_percent_of_one_core / c.chromium.cpu_percent_of_one_core).toFixed(2),
        ),
        duet_peer_same_call_over_chromium: Number(
          (c.duet_peer.cpu_percent_of_one_core / c.chromium.cpu_percent_of_one_core).toFixed(2),
        ),
      };
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    await server.stop();
  }
  result.seconds = Math.round((Date.now() - started.getTime()) / 1000);
  result.load_end = loadavg();
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
  printTable(result);
  if (smoke) checkSane(result);
  if (process.env.DUET_BENCH_KEEP_LOGS) log(`logs kept in ${scratch}`);
  else removeQuietly(scratch);
}

function displayTable(display) {
  const lines = [];
  lines.push('Displayed glass-to-glass, 640x480@30 canvas flips from one Chromium page to duet-peer --sink window');
  lines.push('  (Xvfb, sync on, timed at render) and to a Chromium page (requestVideoFrameCallback');
  lines.push('  expectedDisplayTime), same flips, same run; ms p50 (p10-p90) p95, flips seen');
  const f = (s) => (s.n ? `${s.median.toFixed(0)} (${s.p10.toFixed(0)}-${s.p90.toFixed(0)}) p95 ${s.p95.toFixed(0)}, ${s.seen}/` : 'n/a, 0/');
  for (const d of display) {
    const lat = d.duet_peer_latency_ms;
    lines.push(`  duet-peer --latency-ms ${d.latency}${d.sound === false ? ", the sender without sound (no lip sync)" : ""}: window ${f(d.duet_peer_window_ms)}${d.flips}` +
      `   [into the sink ${f(d.duet_peer_enters_sink_ms)}${d.flips}]`);
    const st = d.duet_peer_stages_ms ?? {};
    const ms = (x) => (x === null || x === undefined ? 'n/a' : x.toFixed(0));
    lines.push(`    its way in, p50 ms after the flip: first packet ${ms(st.net_first)}, last ${ms(st.net_last)}, ` +
      `out of the jitter buffer ${ms(st.jitter_out)} (timestamped ${ms(st.pts)}), decoded ${ms(st.decoded)}, into the sink ${ms(st.enters_sink)}, ` +
      `shown ${ms(st.shown)} (the sink's latency ${ms(st.sink_latency)})`);
    lines.push(`    Chromium shows ${f(d.chromium_shown_ms)}${d.flips}` +
      `   [presented ${d.chromium_presented_ms.n ? d.chromium_presented_ms.median.toFixed(0) : 'n/a'}]`);
    lines.push(`    duet-peer's own flips (320x240), from capture to Chromium's screen: ` +
      `${f(d.duet_peer_sends_to_chromium_ms)}${d.duet_peer_sends_to_chromium.length}`);
    const ss = d.duet_peer_send_stages_ms ?? {};
    lines.push(`      its way out, p50 ms after the capture: out of the encoder ${ms(ss.encoded)}, onto the network ${ms(ss.sent)}`);
    const latViewer = d.duet_peer_latency_viewer_ms;
    lines.push(`    latency set by auto: ${lat.length ? lat.join(' ') : 'none'} (call with the viewer: ` +
      `${latViewer.length ? latViewer.join(' ') : 'none'}); late frames dropped by the sink ` +
      `${d.duet_peer_late_dropped} of ${d.duet_peer_frames_to_sink}; clock error <= ${d.clock_error_ms} ms; load ${d.load[0]}`);
    const leg = (l) => (l ? `${l.width}px ${l.fps} fps, target ${l.target_kbps?.toFixed(0)} kbit/s of ${l.available_kbps?.toFixed(0)}, ` +
      `pacer ${l.pacer_ms?.toFixed(1)} ms, encode ${l.encode_ms?.toFixed(1)} ms, limited by ${l.limited_by}` : 'n/a');
    lines.push(`    the sender's encoder and pacer, to duet-peer: ${leg(d.sender_legs?.duet_peer)}`);
    lines.push(`                                  to Chromium: ${leg(d.sender_legs?.chromium)}`);
    const rx = (l) => (l ? `${l.width}px ${l.fps} fps, jitter buffer ${l.jitter_buffer_ms?.toFixed(0)} ms ` +
      `(target ${l.target_delay_ms?.toFixed(0)}), decode ${l.decode_ms?.toFixed(1)} ms, jitter ${l.jitter_ms?.toFixed(0)} ms; ` +
      `its sound's jitter buffer ${l.audio_jitter_buffer_ms?.toFixed(0)} ms` : 'n/a');
    lines.push(`    the viewer plays, from duet-peer: ${rx(d.viewer_receives?.from_duet_peer)}`);
    lines.push(`                  from the sender: ${rx(d.viewer_receives?.from_chromium)}`);
  }
  return lines;
}

function printTable(r) {
  const m = r.machine;
  const lines = [];
  lines.push(`duet media bench, ${r.date}, ${m.nproc} x ${m.cpu_model}, Linux ${m.kernel}`);
  lines.push(`load average at start ${m.loadavg.join(' ')}, at end ${r.load_end.join(' ')}; ${r.seconds} s`);
  lines.push('');
  lines.push(`Time to first frame (ms, median (p10-p90) of ${r.options.runs}; t0 = second peer's join)`);
  const n = r.ttff_native;
  lines.push(`  native<->native   joiner decodes ${fmt(n.joiner_decodes_ms)}, waiter decodes ${fmt(n.waiter_decodes_ms)}, ` +
    `both ${fmt(n.call_ms)}   [target <=300]`);
  lines.push(`                    joiner process start -> frame ${fmt(n.joiner_start_to_frame_ms)}`);
  const warm = r.glass_to_glass.map((g) => g.ttff_inprocess_ms);
  lines.push(`  native<->native, both processes warm (in-process, loopback signaling, from the g2g runs): ` +
    `${warm.map((x) => x.toFixed(0)).join(', ')}`);
  if (r.ttff_browser_joins) {
    const b = r.ttff_browser_joins;
    lines.push(`  browser joins     browser decodes ${fmt(b.browser_decodes_ms)} (presents ${fmt(b.browser_presents_ms)}), ` +
      `duet-peer decodes ${fmt(b.native_decodes_ms)}   [target <=500]`);
    lines.push(`                    browser decodes, from its join message (not the click) ${fmt(b.browser_decodes_from_join_sent_ms)}`);
    const c = r.ttff_native_joins;
    lines.push(`  duet-peer joins   browser decodes ${fmt(c.browser_decodes_ms)}, duet-peer decodes ${fmt(c.native_decodes_ms)}`);
  }
  lines.push('  phases, native<->native (ms after the join, median):');
  const ph = (t) =>
    Object.entries(t)
      .filter(([, s]) => s.n)
      .map(([k, s]) => `${k} ${s.median.toFixed(0)}`)
      .join(', ');
  lines.push(`    joiner (offers):  ${ph(n.phases_joiner)}`);
  lines.push(`    waiter (answers): ${ph(n.phases_waiter)}`);
  if (r.ttff_browser_joins) {
    lines.push('  phases, browser joins a waiting duet-peer (ms after the join, median):');
    lines.push(`    browser (offers):    ${ph(r.ttff_browser_joins.phases_browser)}`);
    lines.push(`    duet-peer (answers): ${ph(r.ttff_browser_joins.phases_duet_peer)}`);
    lines.push('  phases, a fresh duet-peer joins a waiting browser (ms after its join, median):');
    lines.push(`    duet-peer (offers):  ${ph(r.ttff_native_joins.phases_duet_peer)}`);
  }
  lines.push('');
  lines.push(`Glass-to-glass, ${r.options.size}@${r.options.fps}, black/white flips (ms)   [target p50 <=100]`);
  lines.push('  decoded = flip -> receiver decodes the new colour; capture = flip -> frame leaves the test source;');
  lines.push('  sync sink = decoded + what a sync=true sink (--sink window) would hold it for (pipeline latency)');
  lines.push('  latency-ms  flips   decoded p50   p95   capture p50  after-capture p50   sync sink p50/p95  load');
  for (const g of r.glass_to_glass)
    lines.push(`  ${String(g.latency_ms).padStart(10)}  ${String(g.detected).padStart(2)}/${String(g.switches).padEnd(3)}` +
      `${g.p50_ms.toFixed(0).padStart(12)} ${g.p95_ms.toFixed(0).padStart(5)} ${g.capture_p50_ms.toFixed(0).padStart(12)}` +
      `${g.after_capture_p50_ms.toFixed(0).padStart(19)} ${g.sync_sink_p50_ms.toFixed(0).padStart(14)}/${g.sync_sink_p95_ms.toFixed(0)}` +
      `  ${g.load[0]}`);
  lines.push('');
  if (r.display) {
    lines.push(...displayTable(r.display));
    lines.push('');
  }
  lines.push(`CPU (% of one core) and RSS over ${r.options.cpuSeconds} s, ${r.options.size}@${r.options.fps} VP8+Opus two-way`);
  lines.push('  CPU is the whole window; (p10-p90) is over its 1 s parts; steal = host CPU taken from this VM');
  const c = r.cpu_native_call;
  const spread = (m) => `${m.cpu_percent_of_one_core}% (${m.cpu_per_second.p10}-${m.cpu_per_second.p90})`;
  lines.push(`  duet-peer (native<->native call)  ${spread(c)}  RSS peak ${c.rss_peak_mb} MB mean ${c.rss_mean_mb} MB` +
    `   [targets <=25%, <=80 MB]  load ${c.load_before[0]}, steal ${c.host_steal_percent}%`);
  if (r.cpu_browser_call) {
    const b = r.cpu_browser_call;
    lines.push(`  duet-peer (call with Chromium)    ${spread(b.duet_peer)}  RSS peak ${b.duet_peer.rss_peak_mb} MB mean ${b.duet_peer.rss_mean_mb} MB`);
    lines.push(`  Chromium, ${b.chromium.processes} processes          ${spread(b.chromium)}  RSS peak ${b.chromium.rss_peak_mb} MB mean ${b.chromium.rss_mean_mb} MB` +
      `  (sends ${b.browser_sends.width}x${b.browser_sends.height}@${b.browser_sends.frameRate})  load ${b.load_before[0]}, steal ${b.duet_peer.host_steal_percent}%`);
    lines.push(`  ratio duet-peer/Chromium: ${r.cpu_ratio.duet_peer_same_call_over_chromium} (same call), ` +
      `${r.cpu_ratio.duet_peer_native_call_over_chromium} (native call)   [target <=0.5]`);
  }
  lines.push('');
  lines.push(`Codecs and encoders side by side, ${r.options.size}@${r.options.fps}, duet-peer<->duet-peer, latency-ms 50`);
  lines.push('  codec  encoder        g2g decoded p50   p95   CPU % of one core (p10-p90)   RSS peak MB');
  for (const c of r.codecs) {
    if (c.error) {
      lines.push(`  ${c.codec.padEnd(6)} ${c.encoder.padEnd(14)} failed: ${c.error}`);
      continue;
    }
    lines.push(`  ${c.codec.padEnd(6)} ${c.encoder.padEnd(14)} ${c.g2g.p50_ms.toFixed(0).padStart(15)} ${c.g2g.p95_ms.toFixed(0).padStart(5)}` +
      `   ${spread(c.cpu).padEnd(28)} ${c.cpu.rss_peak_mb}`);
  }
  const legs = r.cpu_per_leg;
  lines.push(`  an encoder per call (VP8): one call ${spread(legs.one_leg)}, two calls ${spread(legs.two_legs)} ` +
    `(RSS peak ${legs.one_leg.rss_peak_mb} -> ${legs.two_legs.rss_peak_mb} MB)`);
  lines.push('');
  if (r.echo) {
    lines.push(...echoTable(r.echo));
    lines.push('');
  }
  lines.push(`wrote ${path.relative(repoRoot, opts.out)}; reproduce with: bench/media.sh${smoke ? ' --smoke' : ''}`);
  console.log(lines.join('\n'));
}

// The smoke test: the tooling produced numbers, and they are plausible. No speed limits.
function checkSane(r) {
  const problems = [...echoProblems(r.echo ?? [])];
  const positive = (what, x) => {
    if (!(Number.isFinite(x) && x > 0 && x < 60000)) problems.push(`${what} = ${x}`);
  };
  positive('native joiner TTFF', r.ttff_native.joiner_decodes_ms.median);
  positive('native waiter TTFF', r.ttff_native.waiter_decodes_ms.median);
  if (r.ttff_browser_joins) {
    positive('browser TTFF', r.ttff_browser_joins.browser_decodes_ms.median);
    positive('duet-peer TTFF with browser', r.ttff_browser_joins.native_decodes_ms.median);
    positive('browser TTFF (duet-peer joins)', r.ttff_native_joins.browser_decodes_ms.median);
    positive('Chromium CPU', r.cpu_browser_call.chromium.cpu_percent_of_one_core);
    positive('Chromium RSS', r.cpu_browser_call.chromium.rss_peak_mb);
  }
  for (const d of r.display ?? []) {
    positive(`displayed g2g p50, duet-peer --latency-ms ${d.latency}`, d.duet_peer_window_ms.median);
    positive(`displayed g2g p50, Chromium (with --latency-ms ${d.latency})`, d.chromium_shown_ms.median);
    if (d.duet_peer_window_ms.seen < d.flips / 2) problems.push(`duet-peer's window showed ${d.duet_peer_window_ms.seen} of ${d.flips} flips`);
  }
  for (const g of r.glass_to_glass) {
    positive(`g2g p50 at ${g.latency_ms}`, g.p50_ms);
    if (g.detected < g.switches / 2) problems.push(`g2g saw ${g.detected} of ${g.switches} flips`);
  }
  positive('duet-peer CPU', r.cpu_native_call.cpu_percent_of_one_core);
  for (const c of r.codecs) {
    if (c.error) problems.push(`${c.codec}/${c.encoder}: ${c.error}`);
    else positive(`${c.codec}/${c.encoder} g2g p50`, c.g2g.p50_ms);
  }
  positive('CPU with two calls', r.cpu_per_leg.two_legs.cpu_percent_of_one_core);
  positive('duet-peer RSS', r.cpu_native_call.rss_peak_mb);
  if (problems.length) {
    console.error(`media bench smoke: implausible numbers:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.error('media bench smoke: all figures present and plausible');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
