#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Signaling capacity bench: starts duet-server, runs duet-loadgen at each N, prints a table
# and writes bench/results/signaling.json. Usage: bench/signaling.sh [N ...] (default
# 1000 5000 10000). Env: BUILD (default build), SERVER (default $BUILD/signaling/duet-server),
# RELAY_SECONDS (default 5), REPEAT (runs per N, each against fresh servers; default 3),
# CLUSTER (default "none"): the set-ups to compare, any of
#   none    one duet-server, no Redis (the embedded registry)
#   redis1  one duet-server with --redis (a throwaway redis-server on 127.0.0.1)
#   redis2  two duet-servers on one Redis; the two members of every room are on different
#           servers, so every relayed message crosses Redis
# e.g. CLUSTER="none redis1 redis2" bench/signaling.sh 1000 5000. Ends with medians and
# min-max per set-up and N. "server us/msg" is the CPU time (user + system) of every
# duet-server, summed, per relayed message ("of which user": in its own code, the rest is
# the kernel's); "redis us/msg" is redis-server's own.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SERVER=${SERVER:-$BUILD/signaling/duet-server}
RELAY_SECONDS=${RELAY_SECONDS:-5}
REPEAT=${REPEAT:-3}
CLUSTER=${CLUSTER:-none}
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 5000 10000)
for mode in $CLUSTER; do
  case $mode in
    none | redis1 | redis2) ;;
    *) echo "signaling.sh: unknown CLUSTER set-up '$mode' (none, redis1, redis2)" >&2; exit 2 ;;
  esac
done
mkdir -p bench/results
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=() fds=()
stop_all() {
  local p
  # Last started first: the servers go before the Redis they use.
  for ((p = ${#pids[@]} - 1; p >= 0; p--)); do
    kill "${pids[p]}" 2>/dev/null || true
    wait "${pids[p]}" 2>/dev/null || true
  done
  for p in "${fds[@]}"; do exec {p}<&-; done
  pids=() fds=()
}
trap 'stop_all; rm -rf "$work"' EXIT

# Waits (10 s at most) until `line` holds a line of the process's output matching $2.
wait_line() { # fd pattern
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    if read -r -t 1 line <&"$1"; then
      [[ $line =~ $2 ]] && return 0
    fi
  done
  echo "signaling.sh: no '$2' within 10 s" >&2
  return 1
}

# A throwaway Redis on a free loopback port: no persistence, gone with the run.
start_redis() {
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  exec {redis_out}< <(exec redis-server --bind 127.0.0.1 --port "$redis_port" --save '' \
    --appendonly no --dir "$work" 2>&1)
  redis_pid=$!
  pids+=("$redis_pid") fds+=("$redis_out")
  wait_line "$redis_out" 'Ready to accept connections'
}

# One duet-server; sets `port` and appends its pid to server_pids.
start_server() { # extra args...
  local fd
  exec {fd}< <(exec "$SERVER" --port 0 --max-message-rate 100000 --join-timeout 3600 \
    --max-connections-per-ip 1000000 "$@")
  local pid=$!
  pids+=("$pid") fds+=("$fd")
  server_pids+=(--server-pid "$pid")
  read -r -t 10 line <&"$fd"
  port=${line##*:}; port=${port%/}
  # With --redis the server listens at once and says so on /healthz once Redis is there.
  if (($#)); then
    local deadline=$((SECONDS + 10))
    until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz") == 200 ]]; do
      ((SECONDS < deadline)) || { echo "signaling.sh: /healthz never said ok" >&2; return 1; }
      sleep 0.05
    done
  fi
}

out=bench/results/signaling.json
echo "[" > "$out"
first=1
for mode in $CLUSTER; do
for n in "${sizes[@]}"; do
for ((run = 1; run <= REPEAT; run++)); do
  # The load generator is one client process standing in for N people, so the per-socket
  # rate limit, the per-address cap and the unjoined timeout are lifted for the run.
  server_pids=()
  args=()
  ports=()
  redis_args=()
  if [[ $mode != none ]]; then
    start_redis
    args=(--redis "redis://127.0.0.1:$redis_port/0")
    redis_args=(--redis-pid "$redis_pid")
  fi
  instances=1
  [[ $mode != redis2 ]] || instances=2
  for ((i = 0; i < instances; i++)); do
    start_server "${args[@]}"
    ports+=(--port "$port")
  done
  tmp=$work/run.json
  echo "== $mode, $n connections, run $run"
  "$BUILD/bench/duet-loadgen" "${ports[@]}" --connections "$n" --relay-seconds "$RELAY_SECONDS" \
    "${server_pids[@]}" "${redis_args[@]}" --json "$tmp" \
    | { if ((first)); then cat; else tail -n +2; fi; }
  stop_all
  ((first)) || echo "," >> "$out"
  sed "s/^{/{\"mode\":\"$mode\",/" "$tmp" >> "$out"
  first=0
done
done
done
echo "]" >> "$out"
python3 - "$out" <<'PY'
import json, statistics, sys
runs = json.load(open(sys.argv[1]))
cols = [("accept_per_s", "accept/s", 1), ("join_p50_ms", "join p50 ms", 1),
        ("join_p99_ms", "join p99 ms", 1), ("relay_msgs_per_s", "relay msg/s", 1),
        ("rss_per_conn_bytes", "RSS/conn KB", 1 / 1024),
        ("server_cpu_us_per_msg", "server us/msg", 1),
        ("server_user_us_per_msg", "of which user", 1),
        ("redis_cpu_us_per_msg", "redis us/msg", 1)]
groups = sorted({(r["mode"], r["connections"]) for r in runs},
                key=lambda g: (["none", "redis1", "redis2"].index(g[0]), g[1]))
print("\nmedian (min-max) over %d run(s) per set-up and N" % max(
    sum((r["mode"], r["connections"]) == g for r in runs) for g in groups))
print("%-8s%-12s" % ("set-up", "connections") + "".join("%22s" % c[1] for c in cols))
for mode, n in groups:
    rs = [r for r in runs if (r["mode"], r["connections"]) == (mode, n)]
    cells = []
    for key, _, scale in cols:
        v = [r[key] * scale for r in rs]
        if min(v) < 0:
            cells.append("-")
            continue
        fmt = "%.0f" if max(v) >= 100 else "%.2f"
        cells.append((fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(v), min(v), max(v)))
    print("%-8s%-12d" % (mode, n) + "".join("%22s" % c for c in cells))
PY
echo "wrote $out ($(nproc) cores, $(uname -r), $(date -u +%F))"
