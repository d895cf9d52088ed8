#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with clang (ASan + UBSan, coverage in every library) and
# fuzzes them all at once for SECONDS (default 60) of wall-clock time each, then prints how
# many inputs each one ran. A crash, leak or timeout input is copied into
# tests/fuzz/regressions/<target>/, which every `meson test` replays (fuzz-replay-*), and
# the run fails: commit the input with the fix. New coverage found is thrown away, so the
# committed corpus stays small and reviewed.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
TARGETS=(protocol registry ws_frame)
options=(-Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false -Dpeer=false -De2e=false)
if [[ ! -f build-fuzz/build.ninja ]]; then
  CC=clang CXX=clang++ meson setup build-fuzz "${options[@]}" >/dev/null
else
  meson configure build-fuzz "${options[@]}" >/dev/null
fi
ninja -C build-fuzz "${TARGETS[@]/#/tests/fuzz/fuzz-}"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# One at a time would take SECONDS x targets; side by side they share the cores instead.
declare -A pid work out
for t in "${TARGETS[@]}"; do
  work[$t]=$(mktemp -d)
  out[$t]=build-fuzz/artifacts-$t
  rm -rf "${out[$t]}" && mkdir -p "${out[$t]}"
  cp tests/fuzz/corpus/$t/* "${work[$t]}/"
  build-fuzz/tests/fuzz/fuzz-$t "${work[$t]}" -max_total_time="$SECONDS_PER_TARGET" \
    -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="${out[$t]}/" >build-fuzz/fuzz-$t.log 2>&1 &
  pid[$t]=$!
done

status=0
for t in "${TARGETS[@]}"; do
  log=build-fuzz/fuzz-$t.log
  if wait "${pid[$t]}"; then
    runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
    speed=$(grep -Eo '^stat::average_exec_per_sec: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
    cov=$(grep -Eo 'DONE +cov: [0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -1)
    echo "fuzz-$t: ${runs:-?} executions in ${SECONDS_PER_TARGET} s (${speed:-?}/s, coverage ${cov:-?}), no crash"
  else
    tail -n 40 "$log"
    mkdir -p tests/fuzz/regressions/$t
    for c in "${out[$t]}"/*; do
      [[ -f $c ]] || continue
      cp "$c" tests/fuzz/regressions/$t/
      echo "fuzz-$t: saved $(basename "$c") into tests/fuzz/regressions/$t/" >&2
    done
    echo "fuzz-$t: FAILED (full log: $log)" >&2
    status=1
  fi
  rm -rf "${work[$t]}"
done
exit $status
