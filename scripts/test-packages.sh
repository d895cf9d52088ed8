#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages (dpkg-buildpackage -b) from a copy of this tree in a temp
# dir, so build/ is untouched; installs them on this machine with apt-get (root); checks
# that the programs run, the man pages are there and systemd-analyze verifies the
# installed units; then purges them. Installs its own build dependencies, so a fresh
# Debian 12 machine passes. Prints how long the build and the checks took.
set -euo pipefail
cd "$(dirname "$0")/.."
begin=$SECONDS
SUDO=()
[[ $(id -u) -eq 0 ]] || SUDO=(sudo)
export DEBIAN_FRONTEND=noninteractive

# dpkg-buildpackage and debhelper, the test's own tools (man -w, systemd-analyze), then
# what debian/control's Build-Depends names (apt-get build-dep reads it from the tree).
tools=(dpkg-dev debhelper build-essential man-db systemd adduser)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) || ! dpkg-checkbuilddeps debian/control 2>/dev/null; then
  echo "test-packages: installing ${missing[*]:-} and the build dependencies"
  "${SUDO[@]}" apt-get update -q
  ((${#missing[@]} == 0)) ||
    "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  "${SUDO[@]}" apt-get build-dep -y -q --no-install-recommends ./
fi

for p in duet-server duet-peer; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
    echo "test-packages: $p is installed already; not touching this machine's copy" >&2
    exit 1
  fi
done
had_user=0
getent passwd duet-peer >/dev/null && had_user=1

tmp=$(mktemp -d)
installed=0
cleanup() {
  if ((installed)); then
    "${SUDO[@]}" apt-get purge -y -q duet-server duet-peer >/dev/null || true
    ((had_user)) || "${SUDO[@]}" deluser --system --quiet duet-peer 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test-packages: FAIL: $*" >&2; exit 1; }

# The tree as git sees it, with uncommitted changes but nothing ignored (build*/,
# node_modules/).
mkdir "$tmp/duet"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$tmp/duet" -xf -

t=$SECONDS
if ! (cd "$tmp/duet" &&
      DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" dpkg-buildpackage -b -us -uc) \
      >"$tmp/build.log" 2>&1; then
  tail -n 60 "$tmp/build.log"
  fail "dpkg-buildpackage failed (log above)"
fi
build_s=$((SECONDS - t))
debs=("$tmp"/duet-server_*.deb "$tmp"/duet-peer_*.deb)
for d in "${debs[@]}"; do [[ -f $d ]] || fail "no $(basename "$d") built"; done
echo "test-packages: built $(cd "$tmp" && echo duet-*.deb) in ${build_s} s"

# Dependencies are computed: the libraries from shlibs, the GStreamer plugins by hand.
peer_depends=$(dpkg-deb -f "$tmp"/duet-peer_*.deb Depends)
server_depends=$(dpkg-deb -f "$tmp"/duet-server_*.deb Depends)
[[ $server_depends == *libsoup-3.0-0* && $server_depends == *libglib2.0-0* &&
   $server_depends == *libhiredis* ]] ||
  fail "duet-server Depends lacks its libraries: $server_depends"
[[ $peer_depends == *libgstreamer1.0-0* && $peer_depends == *gstreamer1.0-plugins-bad* &&
   $peer_depends == *gstreamer1.0-nice* ]] ||
  fail "duet-peer Depends lacks GStreamer: $peer_depends"

t=$SECONDS
installed=1
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${debs[@]}" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "apt-get install failed"; }

# Outputs are read whole before they are searched: `grep -q` leaves at its first match, and
# under pipefail a writer still going (duet-peer's --help is over one 4 KiB pipe write)
# would fail with SIGPIPE.
for p in duet-server duet-peer; do
  [[ $(command -v "$p") == /usr/bin/$p ]] || fail "$p is not /usr/bin/$p"
  help=$("$p" --help) || fail "$p --help exited with $?"
  grep -q "^Usage:" <<<"$help" || fail "$p --help has no Usage: line"
  page=$(man -w "$p") || fail "man -w $p found no page"
  [[ $page == /usr/share/man/man1/$p.1.gz ]] || fail "man -w $p: $page"
  # The page renders, with the flags of the option table in it.
  text=$(man -P cat "$p" 2>/dev/null) || fail "man $p did not render"
  grep -q -- "--config" <<<"$text" || fail "man $p lacks --config"
  [[ $p != duet-peer ]] || grep -q -- "--room" <<<"$text" || fail "man duet-peer lacks --room"
done

# The units as installed, run against the installed programs.
tests/deploy/verify-units.sh /lib/systemd/system /usr/bin /usr/bin/duet-server /usr/bin/duet-peer

# The kiosk's user: a system user in the groups for camera and sound; not started.
id duet-peer >/dev/null || fail "no user duet-peer"
groups=$(id -nG duet-peer)
for g in video audio; do [[ " $groups " == *" $g "* ]] || fail "duet-peer not in $g ($groups)"; done
[[ ! -e /etc/systemd/system/graphical.target.wants/duet-peer@.service ]] ||
  fail "duet-peer@ was enabled"
# The server is enabled, with the shipped settings, which it accepts.
[[ -L /etc/systemd/system/multi-user.target.wants/duet-server.service ]] ||
  fail "duet-server.service is not enabled"
tests/deploy/server-starts.sh /usr/bin/duet-server /etc/duet/server.conf ||
  fail "duet-server does not start with /etc/duet/server.conf"

"${SUDO[@]}" apt-get purge -y -q duet-server duet-peer >/dev/null
installed=0
((had_user)) || "${SUDO[@]}" deluser --system --quiet duet-peer >/dev/null 2>&1 ||
  fail "cannot remove the user duet-peer"
for f in /usr/bin/duet-server /usr/bin/duet-peer /lib/systemd/system/duet-server.service \
         /etc/duet/server.conf /etc/systemd/system/multi-user.target.wants/duet-server.service; do
  [[ ! -e $f ]] || fail "$f is still there after purge"
done
check_s=$((SECONDS - t))
echo "test-packages: all passed: build ${build_s} s, install/check/purge ${check_s} s," \
  "total $((SECONDS - begin)) s"
