// SPDX-License-Identifier: MIT
// The display part of the media bench: glass-to-glass as a person in front of the screen
// sees it. One room of three on one duet-server:
//
//   sender   headless Chromium whose "camera" is a canvas that turns black or white when
//            told; the flip's time is when the canvas is drawn (a camera-like source: the
//            frame is stamped at capture)
//   kiosk    duet-bench-display-peer (duet-peer plus a stopwatch at its video sink) with
//            --sink window on an Xvfb screen, sync on; its own test picture flips too
//   viewer   a second Chromium page; requestVideoFrameCallback reads each frame it shows
//
// The sender's flips reach the kiosk and the viewer at once (one track, a call to each), so
// duet-peer's screen and Chromium's are timed on the same flips in the same run. The
// kiosk's own flips, timed from their capture, show duet-peer's send side against
// Chromium's (the viewer sees those too).
//
// Clocks: the kiosk writes CLOCK_MONOTONIC; pages write performance.timeOrigin + now();
// everything is moved onto this process's clock (peer.mjs `now()`): process.hrtime is
// CLOCK_MONOTONIC on Linux, read together with now(), and each page's offset is measured
// over CDP (the round trip bounds its error, ~1 ms).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { now, startPeer } from './peer.mjs';

const SIZE = { width: 640, height: 480 };

/** Milliseconds between CLOCK_MONOTONIC and now(): monotonic_ms - now_ms. */
function monotonicOffset() {
  let best = null;
  for (let i = 0; i < 5; i++) {
    const a = now();
    const mono = Number(process.hrtime.bigint()) / 1e6;
    const b = now();
    if (!best || b - a < best.spread) best = { off: mono - (a + b) / 2, spread: b - a };
  }
  return best.off;
}

/** Page clock minus now(), from the fastest of five round trips. */
async function pageOffset(page) {
  let best = null;
  for (let i = 0; i < 5; i++) {
    const before = now();
    const t = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = now();
    if (!best || after - before < best.rtt) best = { off: t - (before + after) / 2, rtt: after - before };
  }
  return best;
}

/**
 * Xvfb on a free display; resolves with its name once it says it is ready (-displayfd).
 * The screen is the picture's size, so duet-peer's window sink does not scale (on a kiosk
 * it would, to fill the screen: a cost this part leaves out).
 */
function startXvfb() {
  const proc = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${SIZE.width}x${SIZE.height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (c) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`Xvfb did not start within 10 s: ${err}`));
    }, 10000);
    let out = '';
    proc.stdio[3].on('data', (c) => {
      out += c;
      if (!out.includes('\n')) return;
      clearTimeout(timer);
      resolve({ display: `:${out.trim()}`, stop: () => proc.kill('SIGTERM') });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}): ${err}`));
    });
  });
}

// Installed before the page's scripts: getUserMedia hands out a canvas instead of the fake
// camera (plus the fake microphone, unless `sound` is false: then the receivers have no sound
// to hold the picture in step with). The canvas is redrawn 30 times a second with a small
// moving mark, so it is a live picture like a camera's; window.__flip(white) repaints it at
// once and returns when, on the page's clock.
function canvasCamera({ width, height, sound = true }) {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.style.cssText = 'position:fixed;left:0;top:0;width:64px;height:48px';
    document.body.append(canvas);
    const ctx = canvas.getContext('2d');
    let white = false;
    let n = 0;
    const draw = () => {
      ctx.fillStyle = white ? '#fff' : '#000';
      ctx.fillRect(0, 0, width, height);
      ctx.fillStyle = '#808080';
      ctx.fillRect((n++ % 40) * 8, height - 16, 16, 16);
    };
    draw();
    setInterval(draw, 1000 / 30);
    window.__flip = (w) => {
      white = w;
      draw();
      return performance.timeOrigin + performance.now();
    };
    const stream = canvas.captureStream(30);
    if (!sound) return stream;
    const mic = await original({ audio: true });
    for (const t of mic.getAudioTracks()) stream.addTrack(t);
    return stream;
  };
}

// The viewer's own camera: a small canvas at 10 fps, so that its two encoders take little
// of the CPU the timed paths need. It keeps moving: a still canvas sends frames only now and
// then, which reads as 100+ ms of jitter at duet-peer, and a sync sink's latency is the whole
// pipeline's, so that call's latency would hold back the timed one's picture too.
function smallCamera() {
  const original = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 160;
    canvas.height = 120;
    const ctx = canvas.getContext('2d');
    let n = 0;
    setInterval(() => {
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, 160, 120);
      ctx.fillStyle = '#808080';
      ctx.fillRect((n++ % 20) * 8, 52, 16, 16);
    }, 100);
    document.body.append(canvas);
    const stream = canvas.captureStream(10);
    const mic = await original({ audio: true });
    for (const t of mic.getAudioTracks()) stream.addTrack(t);
    return stream;
  };
}

// In the viewer: times every black/white change of the tile showing `peerId`, with
// requestVideoFrameCallback's expectedDisplayTime (when the compositor puts it on screen)
// and presentationTime (when it was handed to the compositor), on the page's clock.
function watchTile(peerId) {
  const video = document.querySelector(`video[data-peer="${peerId}"]`);
  if (!video || !video.requestVideoFrameCallback) return false;
  const canvas = document.createElement('canvas');
  canvas.width = 32;
  canvas.height = 24;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const seen = (window.__seen ??= {})[peerId] = { frames: 0, changes: [] };
  let last = -1;
  const onFrame = (nowMs, meta) => {
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i];
    const cls = sum / (d.length / 4) > 128 ? 1 : 0;
    seen.frames++;
    if (cls !== last) {
      if (last >= 0)
        seen.changes.push({
          white: cls === 1,
          shown: performance.timeOrigin + meta.expectedDisplayTime,
          presented: performance.timeOrigin + meta.presentationTime,
        });
      last = cls;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  return true;
}

// In the sender: how each of its calls sends the flips (per receiving peer id): its
// encoder's rate and picture, and the pacer's average hold (totalPacketSendDelay).
async function sendStats() {
  const out = {};
  for (const [id, pc] of window.duet.pcs) {
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'outbound-rtp' && s.kind === 'video')
        Object.assign(out[id] ??= {}, {
          fps: s.framesPerSecond,
          width: s.frameWidth,
          target_kbps: s.targetBitrate / 1000,
          pacer_ms: s.packetsSent ? (1000 * s.totalPacketSendDelay) / s.packetsSent : null,
          encode_ms: s.framesEncoded ? (1000 * s.totalEncodeTime) / s.framesEncoded : null,
          limited_by: s.qualityLimitationReason,
          nacks: s.nackCount,
          plis: s.pliCount,
        });
      if (s.type === 'candidate-pair' && s.nominated)
        Object.assign(out[id] ??= {}, { available_kbps: s.availableOutgoingBitrate / 1000, rtt_ms: 1000 * s.currentRoundTripTime });
    }
  }
  return out;
}

// In the viewer: how it plays each call's video (per sending peer id): its jitter buffer's
// average hold, decode time, frame rate and size.
async function receiveStats() {
  const out = {};
  for (const [id, pc] of window.duet.pcs) {
    const stats = await pc.getStats();
    for (const s of stats.values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'audio')
        (out[id] ??= {}).audio_jitter_buffer_ms = s.jitterBufferEmittedCount
          ? (1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount
          : null;
      if (s.type === 'inbound-rtp' && s.kind === 'video')
        out[id] = { ...out[id],
          fps: s.framesPerSecond,
          width: s.frameWidth,
          jitter_buffer_ms: s.jitterBufferEmittedCount ? (1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount : null,
          target_delay_ms: s.jitterBufferEmittedCount ? (1000 * s.jitterBufferTargetDelay) / s.jitterBufferEmittedCount : null,
          decode_ms: s.framesDecoded ? (1000 * s.totalDecodeTime) / s.framesDecoded : null,
          jitter_ms: 1000 * s.jitter,
          frames_dropped: s.framesDropped,
        };
    }
  }
  return out;
}

async function joinPage(browser, server, room, init, initArg = SIZE) {
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  if (init) await context.addInitScript(init, initArg);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.dataset.state === 'choosing-room',
    null, { timeout: 20000 });
  await page.evaluate((name) => {
    const input = document.querySelector('[data-testid=room-input]');
    input.value = name;
    input.form.requestSubmit();
  }, room);
  await page.waitForFunction(() => window.duet.peerId, null, { timeout: 20000 });
  const id = await page.evaluate(() => window.duet.peerId);
  return { context, page, id };
}

/**
 * Each flip (its colour and time, on now()'s clock) and the first change to that colour
 * after it and before the next flip: the delay in ms, or nothing if it was not seen.
 */
export function matchFlips(flips, changes) {
  return matchFlipHits(flips, changes).map((hit, i) => (hit ? hit.at - flips[i].at : null));
}

/** As matchFlips, but the matching change itself (or null) for each flip. */
function matchFlipHits(flips, changes) {
  const sorted = [...changes].sort((a, b) => a.at - b.at);
  return flips.map((f, i) => {
    const next = flips[i + 1]?.at ?? Infinity;
    return sorted.find((c) => c.white === f.white && c.at >= f.at && c.at < next + 1000) ?? null;
  });
}

/**
 * Where duet-peer's flips spent their time on the way in, per flip (ms after the flip): the
 * frame's first and last packet off the network, out of the jitter buffer, out of the
 * decoder, into the sink, on the screen.
 */
function kioskStages(flips, nativeFlips, monoOff) {
  const at = (us) => (us ? us / 1000 - monoOff : null);
  const changes = nativeFlips.map((f) => ({ white: f.white, at: at(f.render_us), f }));
  return matchFlipHits(flips, changes).map((hit, i) => {
    if (!hit) return null;
    const rel = (us) => (us ? Number((at(us) - flips[i].at).toFixed(1)) : null);
    return {
      net_first: rel(hit.f.net_first_us), net_last: rel(hit.f.net_last_us), jitter_out: rel(hit.f.jitter_out_us),
      decoded: rel(hit.f.decoded_us), enters_sink: rel(hit.f.enter_us), shown: rel(hit.f.render_us),
      // The frame's timestamp, as a time: when a sink with no latency would show it.
      pts: hit.f.latency_us ? rel(hit.f.render_us - hit.f.latency_us) : null,
      sink_latency: hit.f.latency_us ? hit.f.latency_us / 1000 : null,
    };
  });
}

/**
 * Runs the part. `opts`: flips (per direction), intervalMs, latency (duet-peer's
 * --latency-ms, 'auto' or a number), scratch dir, exe (duet-bench-display-peer), log.
 */
export async function displayLatency(server, browser, opts) {
  const { flips: count, intervalMs = 300, latency = 'auto', sound = true, scratch, exe, log = () => {} } = opts;
  const xvfb = await startXvfb();
  const tag = `${latency}${sound ? '' : '-picture-only'}`;
  const room = `bench-display-${process.pid}-${tag}`;
  const flipsFile = path.join(scratch, `display-flips-${tag}.json`);
  const ws = server.url.replace(/^http/, 'ws') + 'ws';
  let kiosk;
  const pages = [];
  try {
    kiosk = startPeer(exe, ws, room, {
      logPath: path.join(scratch, `display-kiosk-${tag}.log`),
      stateDir: path.join(scratch, `state-display-${tag}`),
      // It sends to both pages (an encoder each): 320x240 keeps that from taking the CPU
      // the timed paths need; its own flips are timed at that size.
      size: '320x240',
      fps: 30,
      phaseLog: false,
      args: ['--sink', 'window', '--latency-ms', String(latency)],
      env: { DISPLAY: xvfb.display, DUET_BENCH_FLIPS: flipsFile, DUET_BENCH_SEND_FLIP_MS: String(intervalMs) },
    });
    const died = new Promise((_, reject) => kiosk.proc.once('exit', (code, signal) =>
      reject(new Error(`duet-bench-display-peer exited (${code ?? signal}); log: ${kiosk.logPath}`))));
    died.catch(() => {});
    const kioskId = (await Promise.race([kiosk.wait('joined', () => true, 60000), died])).id;
    const viewer = await joinPage(browser, server, room, smallCamera);
    pages.push(viewer);
    const sender = await joinPage(browser, server, room, canvasCamera, { ...SIZE, sound });
    pages.push(sender);
    await kiosk.wait('first-frame', (e) => e.kind === 'video' && e.peer === sender.id, 30000);
    for (const id of [sender.id, kioskId])
      await viewer.page.waitForFunction((peer) => {
        const v = document.querySelector(`video[data-peer="${peer}"]`);
        return v && v.readyState >= 2 && v.videoWidth > 0;
      }, id, { timeout: 30000 });
    // watchTile runs in the page: hand its source over, then start it on both tiles.
    await viewer.page.evaluate(`window.__watchTile = ${watchTile.toString()}`);
    const watching = await viewer.page.evaluate(([a, b]) => window.__watchTile(a) && window.__watchTile(b),
      [sender.id, kioskId]);
    if (!watching) throw new Error('viewer: no requestVideoFrameCallback on the remote tiles');
    // Let encoders, rate control and `auto` settle (the kiosk's latency events show it).
    await new Promise((r) => setTimeout(r, 2000));

    const senderClock = await pageOffset(sender.page);
    const viewerClock = await pageOffset(viewer.page);
    const flips = [];
    let white = false;
    for (let i = 0; i < count; i++) {
      // A random phase against the 33 ms frame grid, as in g2g.cpp.
      await new Promise((r) => setTimeout(r, intervalMs + Math.random() * 33));
      white = !white;
      const at = await sender.page.evaluate((w) => window.__flip(w), white);
      flips.push({ white, at: at - senderClock.off });
    }
    await new Promise((r) => setTimeout(r, 800));
    const seen = await viewer.page.evaluate(() => window.__seen);
    const senderStats = await sender.page.evaluate(sendStats);
    const viewerStats = await viewer.page.evaluate(receiveStats);
    const monoOff = monotonicOffset();
    await kiosk.stop();
    const native = JSON.parse(fs.readFileSync(flipsFile, 'utf8'));

    const fromSender = (k) => (seen[sender.id]?.changes ?? []).map((c) => ({ white: c.white, at: c[k] - viewerClock.off }));
    const chromiumShown = matchFlips(flips, fromSender('shown'));
    const chromiumPresented = matchFlips(flips, fromSender('presented'));
    const kioskShown = matchFlips(flips, native.flips.map((f) => ({ white: f.white, at: f.render_us / 1000 - monoOff })));
    const kioskEnters = matchFlips(flips, native.flips.map((f) => ({ white: f.white, at: f.enter_us / 1000 - monoOff })));
    // duet-peer's own flips, from the capture of their first frame to Chromium's screen.
    const captures = native.captures
      .map((c) => ({ white: c.white, at: c.capture_us / 1000 - monoOff }))
      .filter((c) => c.at >= flips[0].at && c.at <= flips.at(-1).at);
    const fromKiosk = (seen[kioskId]?.changes ?? []).map((c) => ({ white: c.white, at: c.shown - viewerClock.off }));
    const kioskToChromium = matchFlips(captures, fromKiosk);
    // ... and their way out of duet-peer: ms from capture to out of the encoder, to the network.
    const since = (c, k) => (c[k] ? (c[k] - c.capture_us) / 1000 : null);
    const sendStages = native.captures.map((c) => ({ encoded: since(c, 'encoded_us'), sent: since(c, 'sent_us') }));
    const latencyOf = (peer) => kiosk.events.filter((e) => e.event === 'latency' && e.peer === peer).map((e) => e.latency_ms);
    return {
      latency,
      sound,
      flips: flips.length,
      clock_error_ms: Number(Math.max(senderClock.rtt, viewerClock.rtt).toFixed(2)),
      duet_peer_window: kioskShown,
      duet_peer_enters_sink: kioskEnters,
      duet_peer_stages: kioskStages(flips, native.flips, monoOff),
      chromium_shown: chromiumShown,
      chromium_presented: chromiumPresented,
      duet_peer_sends_to_chromium: kioskToChromium,
      duet_peer_send_stages: sendStages,
      duet_peer_frames_to_sink: native.frames,
      duet_peer_late_dropped: native.late,
      viewer_frames: { from_sender: seen[sender.id]?.frames ?? 0, from_duet_peer: seen[kioskId]?.frames ?? 0 },
      sender_legs: { duet_peer: senderStats[kioskId], chromium: senderStats[viewer.id] },
      viewer_receives: { from_duet_peer: viewerStats[kioskId], from_chromium: viewerStats[sender.id] },
      duet_peer_latency_ms: latencyOf(sender.id),
      duet_peer_latency_viewer_ms: latencyOf(viewer.id),
    };
  } finally {
    if (kiosk) await kiosk.stop().catch(() => {});
    for (const p of pages) await p.context.close().catch(() => {});
    xvfb.stop();
    log(`display part (latency ${latency}${sound ? '' : ', picture only'}) done`);
  }
}
