# SPDX-License-Identifier: MIT
# Sourced by the browser benches (media.sh, mesh.sh) from the repository root:
# bench_prepare TARGET... builds those ninja targets (configuring $BUILD first if needed) and
# the e2e node modules, unless DUET_BENCH_NO_BUILD is set (the meson smoke tests build
# first), then prints the machine and the load the figures come from.
bench_prepare() {
  BUILD=${BUILD:-build}
  export BUILD
  if [[ -z "${DUET_BENCH_NO_BUILD:-}" ]]; then
    [[ -f "$BUILD/build.ninja" ]] || meson setup "$BUILD" >/dev/null
    ninja -C "$BUILD" "$@" >/dev/null
    [[ -d tests/e2e/node_modules/playwright-core ]] || npm ci --prefix tests/e2e >/dev/null
  fi
  echo "machine: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(uname -r)"
  echo "date: $(date -u '+%F %T UTC'); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
}
