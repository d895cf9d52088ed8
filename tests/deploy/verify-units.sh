#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# verify-units.sh UNIT_DIR BINDIR PROGRAM...: runs systemd-analyze verify on the duet
# units in UNIT_DIR (as configured by dist/meson.build, or as installed), after pointing
# each ExecStart=BINDIR/NAME at the PROGRAM of that name (in this build or install tree).
# Checks first that every unit's ExecStart runs one of them from BINDIR.
set -euo pipefail
units=$1 bindir=$2
shift 2
declare -A real
for p in "$@"; do real[$(basename "$p")]=$p; done
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
found=()
for unit in "$units"/duet-*.service; do
  name=$(basename "$unit")
  exec_start=$(grep '^ExecStart=' "$unit")
  if [[ $exec_start != "ExecStart=$bindir/duet-"* ]]; then
    echo "$name: ExecStart does not run a program from $bindir: $exec_start"
    exit 1
  fi
  program=${exec_start#ExecStart="$bindir"/}
  program=${program%% *}
  path=${real[$program]:-}
  [[ -n $path && -x $path ]] || { echo "$name: no built program $program to run"; exit 1; }
  sed -e "s|^ExecStart=$bindir/$program|ExecStart=$path|" "$unit" > "$tmp/$name"
  found+=("$name")
done
[[ -f $tmp/duet-server.service ]] || { echo "no duet-server.service in $units"; exit 1; }
cd "$tmp"
check=(./duet-server.service)
# An instance name is needed to verify a template.
if [[ -f duet-peer@.service ]]; then
  cp duet-peer@.service duet-peer@demo.service
  check+=(./duet-peer@demo.service)
fi
out=$(systemd-analyze verify --man=no "${check[@]}" 2>&1 || true)
# Warnings about the host (no running systemd in a container) are not about our units.
bad=$(printf '%s\n' "$out" | grep -E "duet-(server|peer)" | grep -v -E "Failed to (connect|create)" || true)
if [[ -n $bad ]]; then
  printf '%s\n' "$out"
  exit 1
fi
echo "verified: ${found[*]} (from $units)"
[[ -z $out ]] || printf '%s\n' "$out" | sed 's/^/  (host) /'
