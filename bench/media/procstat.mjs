// SPDX-License-Identifier: MIT
// CPU time and resident memory of a set of processes, read from /proc over a fixed window.

import fs from 'node:fs';
import os from 'node:os';

// utime and stime in /proc/PID/stat are in clock ticks; Linux reports USER_HZ = 100 to user
// space on every architecture we run on.
const TICKS_PER_SECOND = 100;

function readStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function comm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every live descendant of `root` whose command name matches `re`. */
export function descendants(root, re) {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(name);
    if (!st) continue;
    if (!children.has(st.ppid)) children.set(st.ppid, []);
    children.get(st.ppid).push(Number(name));
  }
  const out = [];
  const walk = (pid) => {
    for (const c of children.get(pid) ?? []) {
      if (re.test(comm(c))) out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

// Time the hypervisor gave this machine's CPUs to someone else (the steal column of
// /proc/stat), in ticks summed over all CPUs. On a shared VM the same work takes more CPU
// time when the host is busy, so the bench reports it next to its CPU figures.
function stealTicks() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return Number(f[8] ?? 0);
  } catch {
    return 0;
  }
}

function quantile(sorted, q) {
  if (!sorted.length) return null;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

// How many samples make one window of the per-second spread.
const SAMPLES_PER_WINDOW = 4;

/**
 * Samples the processes `pids()` returns (re-evaluated each sample, for browsers that start
 * helpers) every `everyMs` for `seconds`. CPU is the ticks used in the window as a percentage
 * of one core; RSS is the sum over the processes, peak and mean of the samples.
 */
export async function measure(pids, seconds, everyMs = 250) {
  const startTicks = new Map();
  const lastTicks = new Map();
  const rss = [];
  // [ms since t0, ticks of every process so far], for the per-second spread.
  const marks = [];
  const t0 = performance.now();
  const steal0 = stealTicks();
  const sample = () => {
    let sum = 0;
    for (const pid of pids()) {
      const st = readStat(pid);
      if (!st) continue;
      // A process first seen after the window opened started inside it: all its ticks count.
      if (!startTicks.has(pid)) startTicks.set(pid, rss.length === 0 ? st.ticks : 0);
      lastTicks.set(pid, st.ticks);
      sum += rssKb(pid);
    }
    rss.push(sum);
    let used = 0;
    for (const [p, last] of lastTicks) used += last - startTicks.get(p);
    marks.push([performance.now() - t0, used]);
  };
  sample();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, Math.min(everyMs, Math.max(1, end - performance.now()))));
    sample();
  }
  const elapsed = (performance.now() - t0) / 1000;
  let ticks = 0;
  for (const [pid, last] of lastTicks) ticks += last - startTicks.get(pid);
  // The same CPU share over each second of the window, for its spread.
  const perSecond = [];
  for (let i = SAMPLES_PER_WINDOW; i < marks.length; i += SAMPLES_PER_WINDOW) {
    const [ta, ua] = marks[i - SAMPLES_PER_WINDOW];
    const [tb, ub] = marks[i];
    if (tb > ta) perSecond.push((100 * (ub - ua)) / TICKS_PER_SECOND / ((tb - ta) / 1000));
  }
  perSecond.sort((a, b) => a - b);
  const r1 = (x) => (x === null ? null : Number(x.toFixed(1)));
  const cores = os.cpus().length || 1;
  return {
    seconds: Number(elapsed.toFixed(2)),
    processes: lastTicks.size,
    cpu_percent_of_one_core: Number(((100 * ticks) / TICKS_PER_SECOND / elapsed).toFixed(1)),
    cpu_per_second: {
      n: perSecond.length,
      p10: r1(quantile(perSecond, 0.1)),
      median: r1(quantile(perSecond, 0.5)),
      p90: r1(quantile(perSecond, 0.9)),
    },
    host_steal_percent: r1((100 * (stealTicks() - steal0)) / TICKS_PER_SECOND / elapsed / cores),
    rss_peak_mb: Number((Math.max(...rss) / 1024).toFixed(1)),
    rss_mean_mb: Number((rss.reduce((a, b) => a + b, 0) / rss.length / 1024).toFixed(1)),
  };
}

export function machine() {
  const cpus = os.cpus();
  return {
    nproc: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    kernel: os.release(),
    loadavg: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

export function loadavg() {
  return os.loadavg().map((x) => Number(x.toFixed(2)));
}
