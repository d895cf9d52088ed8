#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signalling capacity bench: starts duet-server, runs duet-loadgen at each N, prints a table
# and writes bench/results/signalling.json. Usage: bench/signalling.sh [N ...] (default
# 1000 5000 10000). Env: BUILD (default build), RELAY_SECONDS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RELAY_SECONDS=${RELAY_SECONDS:-5}
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 5000 10000)
mkdir -p bench/results
ulimit -n "$(ulimit -Hn)"

out=bench/results/signalling.json
echo "[" > "$out"
first=1
for n in "${sizes[@]}"; do
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
echo "]" >> "$out"
echo "wrote $out ($(nproc) cores, $(uname -r), $(date -u +%F))"
