// SPDX-License-Identifier: MIT
// duet-peer processes for the media bench: events stamped on arrival, and the webrtcbin
// phases read back from the GStreamer log of each process.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

/** Milliseconds on this process's monotonic clock (also used for the page clock bridge). */
export const now = () => performance.timeOrigin + performance.now();

/**
 * Starts duet-peer sending test media at `size`@`fps`, decoding to fakesinks.
 * webrtcbin's INFO lines go to `logPath` for the phase breakdown, unless `phaseLog` is
 * false: the CPU runs leave that logging out, since it costs CPU of its own. `env` adds to
 * the environment (the display part's DISPLAY and stopwatch file).
 */
export function startPeer(exe, wsUrl, room, { logPath, stateDir, size = '640x480', fps = 30, args = [], phaseLog = true, env = {} }) {
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(
    exe,
    ['--room', room, '--server', wsUrl, '--events', '--sink', 'none', '--video-source', 'test',
      '--audio-source', 'test', '--size', size, '--fps', String(fps), '--state-dir', stateDir, ...args],
    {
      stdio: ['ignore', 'pipe', log],
      env: { ...process.env, ...env, GST_DEBUG: [phaseLog && 'webrtcbin:5', process.env.DUET_BENCH_GST_DEBUG].filter(Boolean).join(','), GST_DEBUG_NO_COLOR: '1' },
    },
  );
  fs.closeSync(log);
  const startedAt = now();
  const events = [];
  const waiters = new Set();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    e.at = now();
    events.push(e);
    for (const w of [...waiters]) w();
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  return {
    proc,
    events,
    startedAt,
    logPath,
    /** Resolves with the first event `name` matching `pred`, rejects after `timeout` ms. */
    wait(name, pred = () => true, timeout = 20000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.find((x) => x.event === name && pred(x));
          if (!e) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(e);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`duet-peer: no '${name}' within ${timeout} ms (log: ${logPath})`));
        }, timeout);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      const r = await exited;
      clearTimeout(timer);
      return r;
    },
  };
}

// webrtcbin INFO lines that mark a phase of call set-up (first occurrence counts).
const PHASE_PATTERNS = {
  sdp_created: /_create_sdp_task:.* creating (offer|answer) sdp/,
  local_set: /Attempting to set local (offer|answer)/,
  remote_set: /Attempting to set remote (offer|answer)/,
  ice_checking: /ICE connection state change from new\(0\) to checking\(1\)/,
  ice_connected: /ICE connection state change from checking\(1\) to (connected\(2\)|completed\(3\))/,
  pc_connected: /Peer connection state change from \w+\(\d\) to connected\(2\)/,
  first_rtp: /on_rtpbin_new_jitterbuffer/,
};

// Where a call's set-up starts in the log: our offer, or the other side's offer arriving.
const CALL_START = /creating offer sdp|Attempting to set remote offer/;

/**
 * The phases of call number `callIndex` (0 = the first) in a duet-peer log, as times on this
 * process's clock. GStreamer stamps log lines from its own start; the `connected` event is
 * emitted right after webrtcbin's "Peer connection state ... connected" line, which pins
 * the two clocks together.
 */
export function phasesOf(peer, callIndex = 0, videoPt = 96) {
  const lines = fs.readFileSync(peer.logPath, 'utf8').split('\n');
  const starts = [];
  lines.forEach((l, i) => CALL_START.test(l) && starts.push(i));
  if (callIndex >= starts.length) return null;
  const segment = lines.slice(starts[callIndex], starts[callIndex + 1] ?? lines.length);
  const gstMs = {};
  const patterns = { ...PHASE_PATTERNS, first_video_rtp: new RegExp(`getting pt map for pt ${videoPt} `) };
  for (const line of segment) {
    const m = /^(\d+):(\d+):(\d+\.\d+) /.exec(line);
    if (!m) continue;
    const ms = (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000;
    for (const [name, re] of Object.entries(patterns)) if (!(name in gstMs) && re.test(line)) gstMs[name] = ms;
  }
  const joined = peer.events.find((e) => e.event === 'joined');
  const connected = peer.events.filter((e) => e.event === 'connected')[callIndex];
  if (!joined || !connected || !('pc_connected' in gstMs)) return null;
  // event t_ms -> our clock, and GStreamer's log clock -> event t_ms.
  const eventBase = joined.at - joined.t_ms;
  const gstToEvent = connected.t_ms - gstMs.pc_connected;
  const out = {};
  for (const [name, ms] of Object.entries(gstMs)) out[name] = eventBase + ms + gstToEvent;
  return out;
}

export function removeQuietly(p) {
  fs.rmSync(p, { recursive: true, force: true });
}

export function scratchDir(base) {
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, 'duet-media-bench-'));
}
