#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs systemd-analyze verify on the shipped units, with ExecStart pointed at this build.
set -euo pipefail
src=$1 build=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for unit in "$src"/dist/systemd/*.service; do
  sed -e "s|/usr/local/bin/duet-server|$build/signaling/duet-server|" \
      -e "s|/usr/local/bin/duet-peer|$build/src/duet-peer|" "$unit" > "$tmp/$(basename "$unit")"
done
cd "$tmp"
# An instance name is needed to verify a template.
cp duet-peer@.service duet-peer@demo.service
out=$(systemd-analyze verify --man=no ./duet-server.service ./duet-peer@demo.service 2>&1 || true)
# Warnings about the host (no running systemd in a container) are not about our units.
bad=$(printf '%s\n' "$out" | grep -E "duet-(server|peer)" | grep -v -E "Failed to (connect|create)" || true)
if [[ -n $bad ]]; then
  printf '%s\n' "$out"
  exit 1
fi
echo "verified: duet-server.service duet-peer@.service"
printf '%s\n' "$out" | sed 's/^/  (host) /'
