// SPDX-License-Identifier: MIT
// The echo part of the media bench: a far-end duet-peer talks (espeak-ng speech) into a
// kiosk duet-peer whose microphone and speaker are a simulated room (--simulate-room: echo
// path with delay, reflections and low-pass, then a near-end talker). The kiosk measures
// what it sends and reports it (`echo-report`): ERLE in the echo-only window (after 2 s of
// convergence) and how much of the near-end talker survives double talk.

import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { startPeer } from './peer.mjs';

const FAR_TEXT =
  'The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore. ' +
  'How much wood would a woodchuck chuck if a woodchuck could chuck wood.';
const NEAR_TEXT = 'Hello from the kiosk. Can you hear me over your own voice?';

function speech(scratch, name, voice, text) {
  const file = path.join(scratch, `${name}.wav`);
  execFileSync('espeak-ng', ['-v', voice, '-s', '165', '-w', file, text]);
  return file;
}

// Each case: one call, a fresh room. `mode`: 'off' (--audio-processing off), 'auto' (the
// default: on, the delay measured during the call), 'next' (the same again, a new process
// in the state directory 'auto' left: it starts from the delay kept there), 'given'
// (--echo-delay-ms = the room's).
async function oneCase(server, scratch, files, delayMs, mode, serial, stateSerial = serial) {
  const room = `bench-echo-${process.pid}-${serial}`;
  const common = { stateDir: path.join(scratch, `echo-state-${stateSerial}`), size: '320x240', fps: 15, phaseLog: false };
  const far = startPeer(server.exe, server.wsUrl, room, {
    ...common,
    logPath: path.join(scratch, `echo-far-${serial}.log`),
    args: ['--simulate-room', `talk=${files.far},echo-gain=0`, '--audio-processing', 'off'],
  });
  const extra = mode === 'off' ? ['--audio-processing', 'off'] : mode === 'given' ? ['--echo-delay-ms', String(delayMs)] : [];
  let kiosk;
  try {
    await far.wait('joined', () => true, 20000);
    kiosk = startPeer(server.exe, server.wsUrl, room, {
      ...common,
      logPath: path.join(scratch, `echo-kiosk-${serial}.log`),
      args: ['--simulate-room', `talk=${files.near},talk-after-ms=5000,delay-ms=${delayMs}`, ...extra],
    });
    const report = await kiosk.wait('echo-report', () => true, 60000);
    const found = kiosk.events.find((e) => e.event === 'echo-delay' && !e.saved);
    const saved = kiosk.events.find((e) => e.event === 'echo-delay' && e.saved);
    return {
      delay_ms: delayMs,
      mode,
      erle_db: round(report.erle_db),
      near_kept_db: round(report.near_kept_db),
      echo_dbfs: round(report.echo_dbfs),
      residual_dbfs: round(report.residual_dbfs),
      found_delay_ms: found?.delay_ms ?? null,
      saved_delay_ms: saved?.delay_ms ?? null,
    };
  } catch (err) {
    return { delay_ms: delayMs, mode, error: String(err.message ?? err) };
  } finally {
    await kiosk?.stop();
    await far.stop();
  }
}

const round = (x) => (Number.isFinite(x) ? Number(x.toFixed(1)) : null);

/** Runs every delay with processing off, auto and given; returns the rows. */
export async function echoBench({ server, exe, scratch, delays, log }) {
  const files = {
    far: speech(scratch, 'echo-far', 'en-us', FAR_TEXT),
    near: speech(scratch, 'echo-near', 'en-gb+f3', NEAR_TEXT),
  };
  const rows = [];
  let serial = 0;
  for (const d of delays) {
    let autoSerial = 0;
    for (const mode of ['off', 'auto', 'next', 'given']) {
      if (mode !== 'off' && mode !== 'auto' && d <= 50) continue; // the same as auto: nothing to move
      log(`echo: room delay ${d} ms, processing ${mode}`);
      if (mode === 'auto') autoSerial = serial + 1;
      const stateSerial = mode === 'next' ? autoSerial : serial + 1;
      rows.push(await oneCase({ exe, wsUrl: server.wsUrl }, scratch, files, d, mode, ++serial, stateSerial));
    }
  }
  return rows;
}

export function echoTable(rows) {
  const lines = ['Echo cancellation (simulated room, espeak-ng speech; ERLE over the echo-only window after 2 s)'];
  lines.push('  room delay  processing                ERLE      near end in double talk  delay found');
  const label = { off: 'off', auto: 'on (measured delay)', next: 'on, next run (kept delay)', given: 'on, --echo-delay-ms' };
  for (const r of rows) {
    if (r.error) {
      lines.push(`  ${String(r.delay_ms).padStart(6)} ms  ${label[r.mode].padEnd(24)}  failed: ${r.error}`);
      continue;
    }
    lines.push(
      `  ${String(r.delay_ms).padStart(6)} ms  ${label[r.mode].padEnd(24)}  ${String(r.erle_db).padStart(5)} dB  ` +
        `${String(r.near_kept_db).padStart(6)} dB                ${r.found_delay_ms ?? '-'} ms` +
        (r.saved_delay_ms != null ? ` (started from ${r.saved_delay_ms} ms)` : ''),
    );
  }
  lines.push('  Chromium: not measurable here (its canceller listens to a real output device; headless');
  lines.push('  Chromium with a fake microphone has none), so there is no browser figure beside these.');
  return lines;
}

export function echoProblems(rows) {
  const problems = [];
  for (const r of rows) {
    if (r.error) problems.push(`echo ${r.delay_ms} ms ${r.mode}: ${r.error}`);
    else if (!Number.isFinite(r.erle_db) || r.erle_db < -20 || r.erle_db > 100)
      problems.push(`echo ${r.delay_ms} ms ${r.mode}: ERLE ${r.erle_db}`);
  }
  return problems;
}
