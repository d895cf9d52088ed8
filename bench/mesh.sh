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
source bench/prepare.sh
bench_prepare src/duet-peer signaling/duet-server
exec node bench/media/mesh.mjs "$@"
