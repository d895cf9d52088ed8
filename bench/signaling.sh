#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signaling capacity bench: starts duet-server, runs duet-loadgen at each N, prints a table
# and writes bench/results/signaling.json. Usage: bench/signaling.sh [N ...] (default
# 1000 5000 10000). Env: BUILD (default build), RELAY_SECONDS (default 5), REPEAT (runs per
# N, each against a fresh server; default 3). Ends with medians and min-max per N.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RELAY_SECONDS=${RELAY_SECONDS:-5}
REPEAT=${REPEAT:-3}
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 5000 10000)
mkdir -p bench/results
ulimit -n "$(ulimit -Hn)"

out=bench/results/signaling.json
echo "[" > "$out"
first=1
for n in "${sizes[@]}"; do
for ((run = 1; run <= REPEAT; run++)); do
  # The load generator is one client process standing in for N people, so the per-socket
  # rate limit, the per-address cap and the unjoined timeout are lifted for the run.
  coproc SRV { exec "$BUILD/signaling/duet-server" --port 0 --max-message-rate 100000 --join-timeout 3600 \
    --max-connections-per-ip 1000000; }
  read -r -t 10 line <&"${SRV[0]}"
  port=${line##*:}; port=${port%/}
  tmp=$(mktemp)
  "$BUILD/bench/duet-loadgen" --port "$port" --connections "$n" --relay-seconds "$RELAY_SECONDS" \
    --server-pid "$SRV_PID" --json "$tmp" | { if ((first)); then cat; else tail -n 1; fi; }
  kill "$SRV_PID"; wait "$SRV_PID" || true
  ((first)) || echo "," >> "$out"
  cat "$tmp" >> "$out"; rm -f "$tmp"
  first=0
done
done
echo "]" >> "$out"
python3 - "$out" <<'PY'
import json, statistics, sys
runs = json.load(open(sys.argv[1]))
cols = [("accept_per_s", "accept/s", 1), ("join_p50_ms", "join p50 ms", 1),
        ("join_p99_ms", "join p99 ms", 1), ("relay_msgs_per_s", "relay msg/s", 1),
        ("rss_per_conn_bytes", "RSS/conn KB", 1 / 1024)]
print("\nmedian (min-max) over %d run(s) per N" % max(
    sum(r["connections"] == n for r in runs) for n in {r["connections"] for r in runs}))
print("%-12s" % "connections" + "".join("%24s" % c[1] for c in cols))
for n in sorted({r["connections"] for r in runs}):
    rs = [r for r in runs if r["connections"] == n]
    cells = []
    for key, _, scale in cols:
        v = [r[key] * scale for r in rs]
        fmt = "%.0f" if max(v) >= 100 else "%.2f"
        cells.append((fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(v), min(v), max(v)))
    print("%-12d" % n + "".join("%24s" % c for c in cells))
PY
echo "wrote $out ($(nproc) cores, $(uname -r), $(date -u +%F))"
