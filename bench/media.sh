#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Media bench: time to first frame (duet-peer<->duet-peer and Chromium<->duet-peer),
# glass-to-glass latency at several --latency-ms, CPU and RSS of duet-peer and of headless
# Chromium in a 640x480@30 call, then glass-to-glass and CPU per codec and encoder side by
# side, and what a second call adds to one duet-peer (each call has its own encoder).
# Prints a table and writes bench/results/media.json.
# Then what the screen shows: canvas flips from Chromium to duet-peer --sink window (Xvfb)
# and to Chromium, in one run (bench/media/display.mjs). First of all, echo cancellation in
# a simulated room (bench/media/echo.mjs; --echo-only runs just that, about 3 minutes).
# Usage: bench/media.sh [--smoke] [--runs N] [--cpu-seconds S] [--latencies auto,0,20,50,200]
#                       [--switches N] [--no-browser] [--out FILE]
#                       [--display-flips N] [--display-latencies auto,50]
#                       [--echo-delays 30,80,150] [--echo-only]
#                       [--codecs vp8:vp8enc,h264:openh264enc,h264:x264enc]
#        bench/media.sh --bwe [--smoke] [--cap-kbps 300] [--cap-seconds 20] [--wide-kbps 2000] [--picture demanding|simple]
#                       [--wide-seconds 20] [--settle-seconds 10] [--delay-ms 20] [--out FILE]
#   --bwe: bandwidth adaptation instead (bench/media/bwe.mjs, root only): Chromium->Chromium
#   and duet-peer->Chromium across a link between network namespaces capped to 300 kbit/s,
#   then widened; writes bench/results/media-bwe.json.
# Env: BUILD (default build; configured with meson and built if needed).
#      DUET_BENCH_NO_CLOCKSYNC=1: in the display part, duet-peer sends each frame as soon as it is
#      encoded instead of at capture + one frame (webrtcbin's clocksync), to see what that costs.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/prepare.sh
bench_prepare src/duet-peer signaling/duet-server bench/media/duet-bench-g2g \
  bench/media/duet-bench-display-peer bench/media/duet-netlink
if [[ " $* " == *" --bwe "* ]]; then
  exec node bench/media/bwe.mjs "$@"
fi
exec node bench/media/run.mjs "$@"
