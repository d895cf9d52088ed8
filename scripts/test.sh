#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sets everything up and runs every test: unit, integration, native peer and real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
meson test -C build --print-errorlogs "$@"
