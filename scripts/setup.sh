#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs what duet needs on Debian 12 (only what is missing), then configures and builds.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  meson ninja-build pkg-config g++ libglib2.0-dev libglib2.0-dev-bin
  libsoup-3.0-dev libjson-glib-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-nice gstreamer1.0-tools gstreamer1.0-x gstreamer1.0-plugins-base-apps
  # H.264: x264enc (plugins-ugly) beside openh264enc (plugins-bad), and avdec_h264 (libav).
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  libx11-dev chromium xvfb coturn openssl
  # The second browser of the e2e and peer-browser suites (driven by puppeteer-core).
  firefox-esr
  # Speech for the echo-cancellation test and bench (tests/integration/test_peer_echo.cpp).
  espeak-ng
  # libcamerasrc, for --video-source libcamera (Raspberry Pi camera modules)
  gstreamer1.0-libcamera
  # duet-server --redis (several servers sharing rooms): hiredis to build against, and
  # redis-server for the tests, which start throwaway ones on loopback.
  libhiredis-dev redis-server
  # libFuzzer (tests/fuzz/run.sh): clang and its fuzzer runtime, which clang only recommends.
  clang libclang-rt-14-dev
  # The balancer in front of several duet-servers in the cluster tests (tests/cluster/,
  # docs/nginx-duet.conf), run as a foreground process of the test; its service is not used.
  nginx
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs npm)

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=()
  [[ $(id -u) -eq 0 ]] || SUDO=(sudo)
  "${SUDO[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# playwright-core drives Debian's /usr/bin/chromium and puppeteer-core its
# /usr/bin/firefox-esr; neither downloads a browser.
if [[ ! -d tests/e2e/node_modules/playwright-core || ! -d tests/e2e/node_modules/puppeteer-core ||
      tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix tests/e2e --no-audit --no-fund
fi

if [[ ! -f build/build.ninja ]]; then
  meson setup build
else
  meson configure build -Dpeer=true -De2e=true >/dev/null
fi
ninja -C build
