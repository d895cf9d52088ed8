#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang and fuzzes each for SECONDS (default 60). A crash
# input is copied into tests/fuzz/corpus/<target>/ so it is replayed by every later run.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup build-fuzz -Dfuzzing=true -Dpeer=false -De2e=false \
    -Db_lundef=false >/dev/null
fi
ninja -C build-fuzz tests/fuzz/fuzz-protocol tests/fuzz/fuzz-registry
for t in protocol registry; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/$t/* "$work/"
  log=build-fuzz/fuzz-$t.log
  if ! build-fuzz/tests/fuzz/fuzz-$t "$work" -max_total_time="$SECONDS_PER_TARGET" \
       -max_len=4096 -artifact_prefix=build-fuzz/crash-$t- >"$log" 2>&1; then
    tail -n 40 "$log"
    for c in build-fuzz/crash-$t-*; do cp "$c" tests/fuzz/corpus/$t/; done
    echo "fuzz-$t: crash saved into tests/fuzz/corpus/$t/" >&2
    exit 1
  fi
  echo "fuzz-$t: $(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)"
  rm -rf "$work"
done
