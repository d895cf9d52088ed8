#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check-install.sh BUILD BINDIR MANDIR UNITDIR DOCDIR: `meson install` into a throw-away
# DESTDIR, then checks what a person gets: the programs, units whose ExecStart= runs the
# installed programs and that systemd-analyze verifies, man pages that name every flag
# of --help and that groff reads without a warning, the examples and the docs.
set -euo pipefail
build=$1 bindir=$2 mandir=$3 unitdir=$4 docdir=$5
here=$(cd "$(dirname "$0")" && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >/dev/null
fail() { echo "FAIL: $*"; exit 1; }

programs=(duet-server)
[[ -x $dest$bindir/duet-peer ]] && programs+=(duet-peer)
[[ -x $dest$bindir/duet-server ]] || fail "no $bindir/duet-server"
[[ -f $dest$unitdir/duet-server.service ]] || fail "no duet-server.service in $unitdir"
if [[ ${programs[*]} == *duet-peer* ]]; then
  [[ -f $dest$unitdir/duet-peer@.service ]] || fail "no duet-peer@.service in $unitdir"
  [[ -f $dest$docdir/examples/peer.env ]] || fail "no examples/peer.env in $docdir"
fi
[[ -f $dest$docdir/examples/server.conf ]] || fail "no examples/server.conf in $docdir"
for doc in DEPLOYING.md KIOSK.md PROTOCOL.md; do
  [[ -f $dest$docdir/$doc ]] || fail "no $doc in $docdir"
done

# The example server.conf is what the packaged unit starts with: the server must take it.
"$here/server-starts.sh" "$dest$bindir/duet-server" "$dest$docdir/examples/server.conf" ||
  fail "duet-server does not start with examples/server.conf"

# A unit's Documentation=man:PAGE(1) is a page this installation has.
for unit in "$dest$unitdir"/duet-*.service; do
  for page in $(sed -n 's/^Documentation=man:\([a-z-]*\)(1)$/\1/p' "$unit"); do
    [[ -f $dest$mandir/man1/$page.1 ]] || fail "$(basename "$unit") names man:$page(1), not installed"
  done
  grep -q '^Documentation=man:' "$unit" || fail "$(basename "$unit") names no man page"
done

installed=()
for p in "${programs[@]}"; do installed+=("$dest$bindir/$p"); done
"$here/verify-units.sh" "$dest$unitdir" "$bindir" "${installed[@]}"

for p in "${programs[@]}"; do
  page=$dest$mandir/man1/$p.1
  [[ -f $page ]] || fail "no $mandir/man1/$p.1"
  # Every long flag --help lists (GOption's own --help included) is on the page.
  flags=$("$dest$bindir/$p" --help | grep -oE '^ +(-[a-zA-Z?], )?--[a-z0-9-]+' |
    sed -E 's/.*--//' | sort -u)
  [[ -n $flags ]] || fail "$p --help lists no flags"
  for f in $flags; do
    grep -qF "\\fB\\-\\-${f//-/\\-}\\fR" "$page" || fail "$p.1 does not describe --$f"
  done
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" FILES EXAMPLES; do
    grep -q "^\.SH \"\?$section" "$page" || fail "$p.1 has no $section section"
  done
  grep -q '@[A-Z]*@' "$page" && fail "$p.1 has an unfilled @...@"
  if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [[ -z $warnings ]] || fail "groff warns about $p.1: $warnings"
  fi
  echo "$p.1: $(wc -w <<<"$flags") flags of --help described"
done
echo "installed: ${programs[*]}, units, man pages, examples, docs"
