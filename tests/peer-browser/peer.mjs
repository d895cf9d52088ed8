// SPDX-License-Identifier: MIT
// duet-peer as a child process for browser tests: its `--events` lines, awaited with bounds.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Bound for waits on duet-peer: a call connects in ~1.5 s; this absorbs a loaded machine. */
export const PEER_WAIT_MS = 20000;

function peerExe() {
  const exe = process.env.DUET_PEER
    ? path.resolve(repoRoot, process.env.DUET_PEER)
    : path.join(repoRoot, 'build/src/duet-peer');
  if (!fs.existsSync(exe)) {
    throw new Error(`duet-peer not found at ${exe}: build with -Dpeer=true or set DUET_PEER`);
  }
  return exe;
}

/**
 * A scratch directory per test file, for peer logs and resume-token state: under
 * $DUET_SCRATCH (the build directory, set by meson) or the system temp directory. Removed
 * when every test passed, kept (and named) otherwise.
 */
const scratchBase = process.env.DUET_SCRATCH || os.tmpdir();
fs.mkdirSync(scratchBase, { recursive: true });
const scratch = fs.mkdtempSync(path.join(scratchBase, 'duet-peer-browser-'));
process.on('exit', (code) => {
  if (code === 0 && !process.exitCode && !process.env.DUET_KEEP_SCRATCH) fs.rmSync(scratch, { recursive: true, force: true });
  else console.error(`duet-peer logs kept in ${scratch}`);
});

/**
 * A script that runs `program` (with its arguments) inside network namespace `ns`, for
 * spawners that take an executable path; `ip netns exec` keeps the descriptors passed.
 */
export function inNamespace(ns, program, name) {
  const file = path.join(scratch, `${name}.sh`);
  fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${ns} ${program} "$@"\n`, { mode: 0o755 });
  return file;
}

/**
 * Starts duet-peer on test sources, decoding without a window, printing events.
 * @param {string} httpUrl the server's `http://HOST:PORT/`
 * @param {string} room
 * @param {{name?: string, args?: string[], stdin?: boolean, exe?: string}} [opts] stdin: a
 *   pipe for `send`; exe: what to run instead of duet-peer (e.g. a script that runs it in a
 *   network namespace, see inNamespace)
 */
export function startPeer(httpUrl, room, { name = 'peer', args = [], stdin = false, exe = null } = {}) {
  const ws = httpUrl.replace(/^http/, 'ws') + 'ws';
  const logPath = path.join(scratch, `${name}.log`);
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(
    exe ?? peerExe(),
    [
      '--room', room, '--server', ws, '--events', '--sink', 'none',
      '--video-source', 'test', '--audio-source', 'test', '--size', '320x240', '--fps', '15',
      '--state-dir', path.join(scratch, 'state'), ...args,
    ],
    { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', log], env: { ...process.env, G_MESSAGES_DEBUG: 'duet' } },
  );
  fs.closeSync(log);
  const events = [];
  const waiters = new Set();
  createInterface({ input: proc.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      e = { event: 'unparsable', line };
    }
    if (process.env.DUET_E2E_VERBOSE) console.log(`[${name}] ${line}`);
    events.push(e);
    for (const w of waiters) w();
  });
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

  const logTail = () =>
    fs
      .readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => !/^(ALSA lib|AL lib)/.test(l))
      .slice(-40)
      .join('\n');

  return {
    events,
    exited,
    logPath,
    /** Writes one line to its standard input (started with `stdin: true`). */
    send(line) {
      proc.stdin.write(`${line}\n`);
    },
    /** Index to pass as `from` so only later events count. */
    mark: () => events.length,
    /**
     * Resolves with the first event `name` at index >= from matching `pred`.
     * @param {string} eventName
     * @param {(e: object) => boolean} [pred]
     */
    waitEvent(eventName, pred = () => true, { from = 0, timeout = PEER_WAIT_MS } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const e = events.slice(from).find((x) => x.event === eventName && pred(x));
          if (!e) return false;
          cleanup();
          resolve(e);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `${name}: no '${eventName}' event within ${timeout} ms\n--- events ---\n` +
                `${events.map((x) => JSON.stringify(x)).join('\n')}\n--- log tail (${logPath}) ---\n${logTail()}`,
            ),
          );
        }, timeout);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    /** first-frame of `kind` from `peer`. */
    firstFrame(kind, peer, opts) {
      return this.waitEvent('first-frame', (e) => e.kind === kind && e.peer === peer, opts);
    },
    /** Stops it with `signal`; resolves with {code, signal}, SIGKILL after 10 s. */
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}
