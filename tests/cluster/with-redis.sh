#!/bin/sh
# SPDX-License-Identifier: MIT
# with-redis.sh COMMAND [ARG...]: runs COMMAND with a throwaway redis-server on a Unix
# socket (nothing saved), and DUET_SERVER_ARGS="--redis unix:SOCKET", so every duet-server
# the integration harness starts (tests/integration/harness.cpp) shares rooms through it.
# Redis is killed when COMMAND ends, whatever happened.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/duet-redis-XXXXXX") || exit 1
sock="$dir/redis.sock"
redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
  --dir "$dir" >"$dir/log" 2>&1 &
pid=$!
trap 'kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# Ready when it answers PING (polled for up to 5 s).
tries=0
until [ "$(redis-cli -s "$sock" ping 2>/dev/null)" = PONG ]; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
    echo "with-redis.sh: redis-server did not answer PING on $sock" >&2
    cat "$dir/log" >&2
    exit 1
  fi
  sleep 0.05
done
DUET_SERVER_ARGS="--redis unix:$sock" "$@"
