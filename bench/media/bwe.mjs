// SPDX-License-Identifier: MIT
// The bandwidth part of the media bench (bench/media.sh --bwe): calls across a link between
// two network namespaces (build/bench/media/duet-netlink) that is squeezed to a 300 kbit/s
// bottleneck for a while and then widened to 2 Mbit/s. Chromium<->Chromium and Chromium<->
// duet-peer run one after the other over the same link in the same run; a Chromium page on
// side a receives in both, so the same code measures what each sender gets through:
// frames decoded per second and time frozen (no new frame for more than 200 ms) under the
// cap, the sender's video bitrate, and how long after the cap lifts it sends 700 kbit/s.
// Root only (namespaces). Prints a table and writes bench/results/media-bwe.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { CHROMIUM, CHROMIUM_ARGS } from '../../tests/e2e/lib.mjs';
import { flag, value } from './cli.mjs';
import { removeQuietly, scratchDir, startPeer } from './peer.mjs';
import { loadavg, machine } from './procstat.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const smoke = flag('--smoke');
const opts = {
  capKbps: Number(value('--cap-kbps', 300)),
  wideKbps: Number(value('--wide-kbps', 2000)),
  // Before the cap: the call settles on the wide path.
  settleSeconds: Number(value('--settle-seconds', smoke ? 3 : 10)),
  capSeconds: Number(value('--cap-seconds', smoke ? 4 : 20)),
  wideSeconds: Number(value('--wide-seconds', smoke ? 4 : 20)),
  delayMs: Number(value('--delay-ms', 20)),
  // What both senders show. `demanding`: the same scrolling colour bars on both sides, which
  // take every bit an encoder is given (800 kbit/s VP8 here uses 750; it needs 2.7 Mbit/s
  // before it stops asking), as a camera's busy picture does, so recovery to 700 kbit/s can
  // be judged. `simple`: Chromium's fake camera and duet-peer's own test picture, which
  // need only 200-600 kbit/s.
  picture: value('--picture', 'demanding'),
  out: path.resolve(value('--out', path.join(repoRoot, 'bench/results/media-bwe.json'))),
};
// The figures the issue asks for.
const FROZEN_GAP_MS = 200;
const RECOVERED_KBPS = 700;
const SAMPLE_MS = 50;

// videotestsrc's properties for the demanding picture, in duet-peer and in the clip
// Chromium's fake camera plays.
const DEMANDING = 'pattern=smpte horizontal-speed=4';

const build = path.resolve(repoRoot, process.env.BUILD || 'build');
const exe = {
  peer: path.join(build, 'src/duet-peer'),
  // duet-peer itself; it also takes DUET_BENCH_PICTURE for its test picture.
  benchPeer: path.join(build, 'bench/media/duet-bench-display-peer'),
  server: path.join(build, 'signaling/duet-server'),
  netlink: path.join(build, 'bench/media/duet-netlink'),
};
const scratch = scratchDir(path.join(build, 'bench/media/scratch-bwe'));
const log = (...a) => console.error('[media-bwe]', ...a);
const pause = (ms) => new Promise((r) => setTimeout(r, ms));
let roomCounter = 0;
const room = (what) => `bwe-${what}-${process.pid}-${++roomCounter}`;

// A child whose stdout lines are JSON (others are skipped); resolves the first that `pred`
// accepts, or rejects after `timeout` ms or when the child exits.
function jsonLines(proc, label) {
  const lines = [];
  const waiters = new Set();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of [...waiters]) w();
  });
  return {
    next(pred, timeout = 20000) {
      const from = lines.length;
      return new Promise((resolve, reject) => {
        const check = () => {
          const l = lines.slice(from).find(pred);
          if (l) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(l);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${label}: no expected line within ${timeout} ms`));
        }, timeout);
        waiters.add(check);
        proc.once('exit', () => {
          clearTimeout(timer);
          reject(new Error(`${label} exited`));
        });
      });
    },
  };
}

// The link: duet-netlink holds it while it runs and takes `rate KBPS` on stdin.
async function startLink() {
  const proc = spawn(exe.netlink, ['0', String(opts.delayMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const out = jsonLines(proc, 'duet-netlink');
  const ready = await out.next((l) => l.ready, 20000);
  return {
    ...ready,
    async rate(kbps) {
      const answer = out.next((l) => 'ok' in l, 10000);
      proc.stdin.write(`rate ${kbps}\n`);
      const a = await answer;
      if (!a.ok) throw new Error(`duet-netlink: ${a.error}`);
    },
    async stop() {
      proc.stdin.end();
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
    },
  };
}

// A program run inside namespace `ns`: a wrapper script that execs it there. Playwright and
// startPeer take an executable path, and `ip netns exec` keeps the descriptors they pass.
function inNamespace(ns, program, name) {
  const file = path.join(scratch, `${name}.sh`);
  fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${ns} ${program} "$@"\n`, { mode: 0o755 });
  return file;
}

async function startServer(link) {
  const proc = spawn(inNamespace(link.ns_a, exe.server, 'server-a'), ['--host', '0.0.0.0', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('duet-server did not listen within 10 s')), 10000);
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^listening on https?:\/\/[^\s/]+:(\d+)\/$/.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  return {
    // Side a reaches it on loopback (a secure context for the camera), side b across the link.
    urlA: `http://127.0.0.1:${port}/`,
    urlB: `http://${link.ip_a}:${port}/`,
    wsB: `ws://${link.ip_a}:${port}/ws`,
    stop: () => new Promise((r) => (proc.exitCode !== null ? r() : (proc.once('exit', r), proc.kill('SIGTERM')))),
  };
}

async function launch(ns, name, extra = []) {
  const { chromium } = createRequire(path.join(repoRoot, 'tests/e2e/package.json'))('playwright-core');
  const args = CHROMIUM_ARGS.map((a) =>
    a === '--use-fake-device-for-media-stream' ? '--use-fake-device-for-media-stream=fps=30' : a,
  );
  return chromium.launch({
    executablePath: inNamespace(ns, CHROMIUM, name),
    headless: true,
    args: [...args, ...extra],
    timeout: 30000,
  });
}

// Opens the client in a fresh context and joins `roomName`; from then on the page samples
// its first remote peer's video every SAMPLE_MS: frames decoded and bytes received, and
// bytes of video it sends.
async function joinPage(browser, url, roomName) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(`${url}?room=${encodeURIComponent(roomName)}`);
  await page.evaluate((sampleMs) => {
    const samples = (window.__bwe = []);
    const tick = async () => {
      const pc = [...window.duet.pcs.values()][0];
      if (pc) {
        const s = { t: performance.now(), frames: 0, rx: 0, tx: 0 };
        (await pc.getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') {
            s.frames += r.framesDecoded ?? 0;
            s.rx += r.bytesReceived ?? 0;
          }
          if (r.type === 'outbound-rtp' && r.kind === 'video') s.tx += r.bytesSent ?? 0;
        });
        samples.push(s);
      }
      setTimeout(tick, sampleMs);
    };
    tick();
  }, SAMPLE_MS);
  return { context, page, clockOffset: await pageOffset(page) };
}

// Page time (performance.now) minus ours, so page samples and our marks share a clock.
async function pageOffset(page) {
  const before = performance.now() + performance.timeOrigin;
  const pageAbs = await page.evaluate(() => performance.timeOrigin + performance.now());
  const after = performance.now() + performance.timeOrigin;
  return pageAbs - (before + after) / 2;
}

async function waitDecoding(page, timeout = 30000) {
  await page.waitForFunction(() => (window.__bwe?.at(-1)?.frames ?? 0) > 10, null, { timeout, polling: 100 });
}

const nowAbs = () => performance.timeOrigin + performance.now();

// Page samples on our absolute clock.
async function samplesOf(p) {
  const origin = await p.page.evaluate(() => performance.timeOrigin);
  const s = await p.page.evaluate(() => window.__bwe);
  return s.map((x) => ({ ...x, at: origin + x.t - p.clockOffset }));
}

// Decoded fps and frozen share over [from, to] from the receiving page's samples.
function pictureFigures(samples, from, to) {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  if (inside.length < 2) return { fps: NaN, frozen_percent: NaN };
  let frozen = 0;
  // Each freeze, for reading: [seconds from `from` to its start, its length in ms].
  const freezes = [];
  const freeze = (start, gap) => {
    frozen += gap;
    freezes.push([Number(((start - from) / 1000).toFixed(1)), Math.round(gap)]);
  };
  let lastNew = inside[0].at;
  for (let i = 1; i < inside.length; i++) {
    if (inside[i].frames > inside[i - 1].frames) {
      const gap = inside[i].at - lastNew;
      if (gap > FROZEN_GAP_MS) freeze(lastNew, gap);
      lastNew = inside[i].at;
    }
  }
  const tailGap = inside.at(-1).at - lastNew;
  if (tailGap > FROZEN_GAP_MS) freeze(lastNew, tailGap);
  const span = inside.at(-1).at - inside[0].at;
  return {
    fps: Number((((inside.at(-1).frames - inside[0].frames) * 1000) / span).toFixed(1)),
    frozen_percent: Number(((100 * frozen) / span).toFixed(1)),
    freezes,
  };
}

// A (time, kbit/s) series over 1 s windows from cumulative byte counts.
function rateSeries(points) {
  const out = [];
  let j = 0;
  for (let i = 0; i < points.length; i++) {
    while (j < i && points[i].at - points[j].at > 1000) j++;
    const dt = points[i].at - points[j].at;
    if (dt >= 500) out.push({ at: points[i].at, kbps: ((points[i].bytes - points[j].bytes) * 8) / dt });
  }
  return out;
}

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

// Recovery: the time from the cap lifting to the first 1 s window at RECOVERED_KBPS, or at
// 90% of what the sender sent before the cap when that is less (a simple picture, like
// duet-peer's test source, never needs 700 kbit/s; its encoder does not pad).
function rateFigures(series, marks) {
  const during = (a, b) => series.filter((s) => s.at >= a && s.at <= b).map((s) => s.kbps);
  const before = mean(during(marks.start + 2000, marks.cap));
  const threshold = Math.round(Math.min(RECOVERED_KBPS, 0.9 * before));
  const back = series.find((s) => s.at >= marks.lift && s.kbps >= threshold);
  return {
    before_kbps: Math.round(before),
    capped_kbps: Math.round(mean(during(marks.cap, marks.lift))),
    after_kbps: Math.round(mean(during(marks.lift + (opts.wideSeconds * 1000) / 2, marks.end))),
    recovery_threshold_kbps: threshold,
    recovery_ms: back ? Math.round(back.at - marks.lift) : null,
  };
}

// The demanding picture as a clip for Chromium's fake camera (it loops it): 5 s of 640x480
// at 30 fps, I420 in Y4M.
async function demandingClip() {
  const file = path.join(scratch, 'demanding.y4m');
  const args = ['-q', 'videotestsrc', 'num-buffers=150', ...DEMANDING.split(' '), '!',
    'video/x-raw,format=I420,width=640,height=480,framerate=30/1', '!', 'y4menc', '!', 'filesink', `location=${file}`];
  await new Promise((resolve, reject) => {
    const proc = spawn('gst-launch-1.0', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`gst-launch-1.0 could not write the clip (${code})`));
    });
  });
  return file;
}

// settle on the wide path, cap, widen; returns the marks on our clock.
async function squeeze(link) {
  const marks = { start: nowAbs() };
  await pause(opts.settleSeconds * 1000);
  await link.rate(opts.capKbps);
  marks.cap = nowAbs();
  await pause(opts.capSeconds * 1000);
  await link.rate(opts.wideKbps);
  marks.lift = nowAbs();
  await pause(opts.wideSeconds * 1000);
  marks.end = nowAbs();
  return marks;
}

async function chromiumPair(link, server, browserA, browserB) {
  const r = room('cc');
  await link.rate(opts.wideKbps);
  const receiver = await joinPage(browserA, server.urlA, r);
  const sender = await joinPage(browserB, server.urlB, r);
  await waitDecoding(receiver.page);
  const marks = await squeeze(link);
  const rx = await samplesOf(receiver);
  const tx = await samplesOf(sender);
  await receiver.context.close();
  await sender.context.close();
  return {
    ...pictureFigures(rx, marks.cap, marks.lift),
    ...rateFigures(rateSeries(tx.map((s) => ({ at: s.at, bytes: s.tx }))), marks),
    received_kbps_capped: Math.round(
      mean(rateSeries(rx.map((s) => ({ at: s.at, bytes: s.rx }))).filter((s) => s.at >= marks.cap && s.at <= marks.lift).map((s) => s.kbps)),
    ),
  };
}

async function duetPeerPair(link, server, browserA) {
  const r = room('cp');
  await link.rate(opts.wideKbps);
  const receiver = await joinPage(browserA, server.urlA, r);
  const demanding = opts.picture === 'demanding';
  const p = startPeer(inNamespace(link.ns_b, demanding ? exe.benchPeer : exe.peer, 'peer-b'), server.wsB, r, {
    logPath: path.join(scratch, 'duet-peer.log'),
    stateDir: path.join(scratch, 'state'),
    args: ['--stats-interval', '250', '--latency-ms', '200', '--video-source', 'test'],
    phaseLog: false,
    env: demanding ? { DUET_BENCH_PICTURE: DEMANDING } : {},
  });
  try {
    await p.wait('connected', () => true, 30000);
    await waitDecoding(receiver.page);
    const marks = await squeeze(link);
    const rx = await samplesOf(receiver);
    // duet-peer's own count of video bytes sent (webrtcbin's outbound-rtp), as kbit/s per
    // stats line: integrated back into bytes for the same 1 s windows as Chromium's.
    const stats = p.events.filter((e) => e.event === 'stats' && e.sent_kbps !== undefined);
    let bytes = 0;
    const points = stats.map((e, i) => {
      if (i > 0) bytes += (e.sent_kbps * 1000 * (e.at - stats[i - 1].at)) / 1000 / 8;
      return { at: e.at, bytes };
    });
    return {
      ...pictureFigures(rx, marks.cap, marks.lift),
      ...rateFigures(rateSeries(points), marks),
      received_kbps_capped: Math.round(
        mean(rateSeries(rx.map((s) => ({ at: s.at, bytes: s.rx }))).filter((s) => s.at >= marks.cap && s.at <= marks.lift).map((s) => s.kbps)),
      ),
      sizes_sent: [...new Set(stats.filter((e) => e.at >= marks.cap).map((e) => `${e.send_size}@${e.send_fps}`))],
      // Chromium's transport-wide (transport-cc) feedback packets that reached duet-peer's
      // controller over the call: 0 means it fell back to receiver reports alone.
      twcc_feedbacks: Math.max(0, ...stats.map((e) => e.twcc ?? 0)),
      // What duet-peer's controller did, second by second from the cap on (for reading).
      controller: stats
        .filter((e, i) => e.at >= marks.cap - 1000 && i % 4 === 0)
        .map((e) => ({
          t_s: Number(((e.at - marks.cap) / 1000).toFixed(1)),
          target_kbps: e.send_kbps,
          sent_kbps: e.sent_kbps,
          loss: e.send_loss,
          rtt_ms: e.rtt_ms,
          // Transport-wide feedback: how many came so far, our video's rate as it
          // arrived, our own queue (one-way delay above its lowest) and its trend.
          twcc: e.twcc,
          acked_kbps: e.acked_kbps,
          queue_ms: e.queue_ms,
          delay_trend: e.delay_trend,
          picture: `${e.send_size}@${e.send_fps}`,
        })),
    };
  } finally {
    await p.stop();
    await receiver.context.close();
  }
}

function recovery(x) {
  const t = x.recovery_ms === null ? 'not within the run' : `${(x.recovery_ms / 1000).toFixed(1)} s`;
  return `${t} (to ${x.recovery_threshold_kbps})`;
}

function printTable(r) {
  const c = r.chromium_chromium;
  const d = r.chromium_duet_peer;
  const row = (name, a, b, target = '') => `| ${name} | ${a} | ${b} | ${target} |`;
  const lines = [
    `${r.options.capKbps} kbit/s for ${r.options.capSeconds} s, then ${r.options.wideKbps} kbit/s; ${r.options.delayMs} ms each way; ${r.link}; ` +
      `picture: ${r.options.picture === 'demanding' ? `${DEMANDING} on both senders` : "Chromium's fake camera, duet-peer's test picture"}`,
    '| figure | Chromium -> Chromium | duet-peer -> Chromium | target |',
    '|---|---:|---:|---:|',
    row('fps decoded under the cap', c.fps, d.fps, '>= 15'),
    row('time frozen under the cap (gaps > 200 ms)', `${c.frozen_percent}%`, `${d.frozen_percent}%`, '< 5%'),
    row('video bitrate sent before / under / after the cap (kbit/s)', `${c.before_kbps} / ${c.capped_kbps} / ${c.after_kbps}`, `${d.before_kbps} / ${d.capped_kbps} / ${d.after_kbps}`),
    row('video received under the cap (kbit/s)', c.received_kbps_capped, d.received_kbps_capped),
    row(`back to ${RECOVERED_KBPS} kbit/s (or 90% of the rate before the cap, if less) after it lifts`, recovery(c), recovery(d), '<= 10 s'),
  ];
  console.log(lines.join('\n'));
  if (d.sizes_sent) console.log(`duet-peer sent (size@fps) from the cap on: ${d.sizes_sent.join(', ')}`);
  if (d.twcc_feedbacks !== undefined) console.log(`transport-wide feedback packets from Chromium read by duet-peer's controller: ${d.twcc_feedbacks}`);
}

// The smoke run: every figure is there and plausible. No speed limits.
function checkSane(r) {
  const problems = [];
  for (const [who, x] of [['chromium_chromium', r.chromium_chromium], ['chromium_duet_peer', r.chromium_duet_peer]]) {
    if (!(x.fps >= 0 && x.fps <= 120)) problems.push(`${who}.fps ${x.fps}`);
    if (!(x.frozen_percent >= 0 && x.frozen_percent <= 100)) problems.push(`${who}.frozen_percent ${x.frozen_percent}`);
    for (const k of ['before_kbps', 'capped_kbps', 'after_kbps', 'received_kbps_capped'])
      if (!(x[k] > 0 && x[k] < 100000)) problems.push(`${who}.${k} ${x[k]}`);
    if (x.recovery_ms !== null && !(x.recovery_ms >= 0)) problems.push(`${who}.recovery_ms ${x.recovery_ms}`);
  }
  // Chromium's transport-cc feedback must reach duet-peer's controller (its delay signal).
  if (!(r.chromium_duet_peer.twcc_feedbacks > 0)) problems.push(`chromium_duet_peer.twcc_feedbacks ${r.chromium_duet_peer.twcc_feedbacks}`);
  if (problems.length) {
    console.error(`media bwe smoke: implausible numbers:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.error('media bwe smoke: all figures present and plausible');
  }
}

async function main() {
  for (const [k, f] of Object.entries(exe)) {
    if (!fs.existsSync(f)) throw new Error(`${k} not found at ${f}: build first (bench/media.sh does)`);
  }
  if (process.getuid?.() !== 0) {
    console.error('media bwe: skipped, needs root (network namespaces)');
    process.exit(77); // meson's "skipped"
  }
  const started = Date.now();
  const link = await startLink();
  const result = { date: new Date(started).toISOString(), machine: machine(), options: opts, link: link.how };
  let server, browserA, browserB;
  try {
    server = await startServer(link);
    browserA = await launch(link.ns_a, 'chromium-a');
    // Side b loads the page over plain http from a's address: let it count as secure, so the
    // fake camera is allowed there as on localhost.
    const origin = new URL(server.urlB).origin;
    const camera = opts.picture === 'demanding' ? [`--use-file-for-fake-video-capture=${await demandingClip()}`] : [];
    browserB = await launch(link.ns_b, 'chromium-b', [`--unsafely-treat-insecure-origin-as-secure=${origin}`, ...camera]);
    log('Chromium -> Chromium');
    result.chromium_chromium = await chromiumPair(link, server, browserA, browserB);
    log('duet-peer -> Chromium');
    result.chromium_duet_peer = await duetPeerPair(link, server, browserA);
  } finally {
    for (const b of [browserA, browserB]) if (b) await b.close().catch(() => {});
    if (server) await server.stop();
    await link.stop();
  }
  result.seconds = Math.round((Date.now() - started) / 1000);
  result.load_end = loadavg();
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
  printTable(result);
  console.log(`wrote ${path.relative(repoRoot, opts.out)}; reproduce with: bench/media.sh --bwe${smoke ? ' --smoke' : ''}`);
  if (smoke) checkSane(result);
  if (process.env.DUET_BENCH_KEEP_LOGS) log(`logs kept in ${scratch}`);
  else removeQuietly(scratch);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
