#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets everything up and runs every test: unit, integration, native peer and real Chromium;
# then builds, installs, checks and purges the Debian packages; then the unit and
# integration suites again under ASan/UBSan/LSan (build-asan), then each
# libFuzzer target for 60 s. With arguments, runs only `meson test -C build ARGS...`.
set -euo pipefail
cd "$(dirname "$0")/.."
begin=$SECONDS
scripts/setup.sh
step() { echo; echo "=== $* ($(date -u +%T))"; }

step "main suite (build/)"
meson test -C build --print-errorlogs "$@"
(($#)) && exit 0
main_s=$((SECONDS - begin))

# The Debian packages, built from a copy of the tree (build/ is untouched), installed on
# this machine, checked and purged.
step "Debian packages (scripts/test-packages.sh)"
t=$SECONDS
scripts/test-packages.sh
pkg_s=$((SECONDS - t))

# Address, undefined-behaviour and leak checks on duet-server, duet-peer and every test
# program. The environment (tests/meson.build, add_test_setup) makes any report exit 86
# and reaches the server and peer processes the integration tests start.
step "unit + integration + cluster (the C++ runs) suites under sanitizers (build-asan/)"
t=$SECONDS
# -O1 and -g1 halve the compile time of the big files (webrtc_session.cpp: 12.4 s -> 6.0 s)
# and keep file:line in the sanitizers' reports.
asan_opts=(-Db_sanitize=address,undefined -Db_lundef=false -De2e=false -Doptimization=1 -Dcpp_args=-g1)
if [[ ! -f build-asan/build.ninja ]]; then
  meson setup build-asan "${asan_opts[@]}" >/dev/null
else
  meson configure build-asan "${asan_opts[@]}" >/dev/null
fi
ninja -C build-asan
meson test -C build-asan --print-errorlogs --suite unit --suite integration --suite cluster
asan_s=$((SECONDS - t))

step "fuzzing, every target side by side for 60 s (build-fuzz/)"
t=$SECONDS
tests/fuzz/run.sh 60
fuzz_s=$((SECONDS - t))

step "all passed: main ${main_s} s, packages ${pkg_s} s, sanitizers ${asan_s} s, fuzzing ${fuzz_s} s, total $((SECONDS - begin)) s"
