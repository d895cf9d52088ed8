#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Mesh bench: duet-peer's CPU (% of one core, from /proc/PID/stat over a window) and RSS in a
# call with one headless Chromium page (a room of two) and with three (a room of four, full
# mesh: duet-peer holds one leg, one encoder and decoders, per browser), with the load average.
# Prints a table and writes bench/results/mesh.json.
# Usage: bench/mesh.sh [--smoke] [--cpu-seconds S] [--size WxH] [--fps N] [--out FILE]
# Env: BUILD (default build; configured with meson and built if needed).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD

if [[ -z "${DUET_BENCH_NO_BUILD:-}" ]]; then
  [[ -f "$BUILD/build.ninja" ]] || meson setup "$BUILD" >/dev/null
  ninja -C "$BUILD" src/duet-peer signaling/duet-server >/dev/null
  [[ -d tests/e2e/node_modules/playwright-core ]] || npm ci --prefix tests/e2e >/dev/null
fi

echo "machine: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -r)"
echo "date: $(date -u '+%F %T UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec node bench/media/mesh.mjs "$@"
