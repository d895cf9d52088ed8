#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets everything up, then runs duet-server with a demo room that a native peer sits in.
# Open the printed link in a browser to call the peer. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

HOST=${DUET_HOST:-127.0.0.1}
PORT=${DUET_PORT:-8080}
ROOM=${DUET_ROOM:-demo}
SINK=${DUET_SINK:-auto}

pids=()
cleanup() {
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

coproc SERVER { exec build/signaling/duet-server --host "$HOST" --port "$PORT"; }
pids+=("$SERVER_PID")
# The server prints its readiness line once it is listening; no guessing with sleeps.
if ! read -r -t 10 line <&"${SERVER[0]}" || [[ $line != "listening on "* ]]; then
  echo "demo: duet-server did not start (port $PORT in use? set DUET_PORT)" >&2
  exit 1
fi
url=${line#listening on }
echo "demo: duet-server $url"
ws="ws://${url#http://}ws"

build/src/duet-peer --room "$ROOM" --server "$ws" --video-source auto --audio-source auto \
  --sink "$SINK" &
pids+=("$!")

echo
echo "demo: a native duet-peer is waiting in room '$ROOM'."
echo "demo: open ${url}?room=${ROOM} in a browser to call it (Ctrl-C to stop)."
echo
wait -n "${pids[@]}"
