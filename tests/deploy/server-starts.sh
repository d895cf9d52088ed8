#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# server-starts.sh DUET_SERVER CONFIG: starts DUET_SERVER --config CONFIG on a free port
# and waits (10 s at most) until it says it listens, then stops it. Prints that line, or
# what the server said instead and exits 1: the settings a unit would start it with work.
set -euo pipefail
server=$1 config=$2
out=$(mktemp)
"$server" --config "$config" --port 0 >"$out" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
  if grep -q "^listening on http://127.0.0.1:" "$out"; then
    grep "^listening on" "$out"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
echo "$server --config $config did not start listening:"
cat "$out"
exit 1
