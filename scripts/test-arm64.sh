#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/test-arm64.sh: cross-build duet for arm64 (the Raspberry Pi's architecture) on a
# Debian 12 amd64 machine and run the unit tests under qemu-user.
#
# No :arm64 package is installed on this machine (Debian 12 cannot co-install the arm64
# GStreamer/libsoup -dev packages beside amd64: gobject-introspection:arm64 needs
# python3:arm64). Instead the arm64 packages are downloaded with a private apt
# configuration (its own lists, cache and an empty dpkg status) and unpacked with dpkg-deb
# into a sysroot, build-arm64-sysroot/root, which is kept and reused. duet is built with
# aarch64-linux-gnu-g++ against it (cross/arm64-debian.ini) and the tests run through
# qemu-aarch64 -L SYSROOT.
#
#   scripts/test-arm64.sh                  # tools, sysroot if missing, build, unit tests
#   scripts/test-arm64.sh --fresh-sysroot  # download and unpack the sysroot again
#   scripts/test-arm64.sh --wipe           # also remove build-arm64 first
#
# Environment: DUET_DEBIAN_MIRROR (default http://deb.debian.org/debian),
# DUET_DEBIAN_SECURITY (default http://deb.debian.org/debian-security),
# DUET_ARM64_TIMEOUT_MULTIPLIER (meson test's, default 6: emulation is slow).
# Exit status: 0 when the build and every unit test run pass, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=$root/build-arm64-sysroot       # the sysroot and the apt state that made it
sysroot=$cache/root
aptdir=$cache/apt
build=$root/build-arm64
mirror=${DUET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DUET_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
multiplier=${DUET_ARM64_TIMEOUT_MULTIPLIER:-6}

fresh=0 wipe=0
for arg in "$@"; do
  case $arg in
    --fresh-sysroot) fresh=1 ;;
    --wipe) wipe=1 fresh=1 ;;
    -h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-arm64.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'test-arm64: %s\n' "$*"; }
die() { printf 'test-arm64: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

# What the sysroot holds: the -dev packages duet builds against (debian/control's
# Build-Depends), libc and libstdc++ for the compiler's --sysroot, and the GStreamer
# plugins duet-peer loads at run time (debian/control's Depends and Recommends, as the
# amd64 test machine has them) so the unit tests see the same elements as on a Pi.
packages=(
  libc6-dev libstdc++-12-dev
  libglib2.0-dev libsoup-3.0-dev libjson-glib-dev libhiredis-dev libx11-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice gstreamer1.0-x
  gstreamer1.0-libcamera
)

# ---- host tools (amd64 packages only; never dpkg --add-architecture) ----------------
t0=$(now)
need=()
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
if command -v qemu-aarch64 >/dev/null; then qemu=qemu-aarch64
elif command -v qemu-aarch64-static >/dev/null; then qemu=qemu-aarch64-static
else need+=(qemu-user); qemu=qemu-aarch64
fi
command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v file >/dev/null || need+=(file)
command -v dpkg-deb >/dev/null || die "dpkg-deb missing: this script is for Debian"
# glib-compile-resources and the build machine's gio-2.0.pc (meson's gnome module runs
# the native tool to compile the web client into duet-server).
command -v glib-compile-resources >/dev/null || need+=(libglib2.0-dev-bin)
pkg-config --exists gio-2.0 || need+=(libglib2.0-dev)
if ((${#need[@]})); then
  sudo=
  ((EUID == 0)) || sudo=sudo
  say "installing host tools: ${need[*]}"
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends "${need[@]}" >/dev/null
fi
t_tools=$(( $(now) - t0 ))

# ---- the arm64 sysroot ------------------------------------------------------------------
# Remade when asked, when an earlier run did not finish it, or when the package list
# changed (the stamp holds the list).
stamp=$cache/complete
want_stamp="bookworm arm64 ${packages[*]}"
if ((fresh)) || [[ ! -f $stamp || $(cat "$stamp") != "$want_stamp" ]]; then
  t0=$(now)
  say "making the arm64 sysroot in $sysroot"
  rm -rf "$sysroot" "$aptdir" "$stamp"
  mkdir -p "$sysroot" "$aptdir"/{lists/partial,archives/partial,etc/apt.conf.d,etc/preferences.d,etc/sources.list.d}
  : > "$aptdir/status"
  key=/usr/share/keyrings/debian-archive-keyring.gpg
  [[ -f $key ]] || die "$key missing (package debian-archive-keyring)"
  cat > "$aptdir/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=$key] $mirror bookworm main
deb [arch=arm64 signed-by=$key] $mirror bookworm-updates main
deb [arch=arm64 signed-by=$key] $security bookworm-security main
EOF
  # A private apt: arm64 as its only architecture, its own lists, cache and empty dpkg
  # status, none of the machine's sources or apt.conf.d, no locks on the machine's apt.
  apt_opts=(
    -o Dir::Etc="$aptdir/etc" -o Dir::Etc::SourceList="$aptdir/etc/sources.list"
    -o Dir::Etc::SourceParts="$aptdir/etc/sources.list.d"
    -o Dir::Etc::Parts="$aptdir/etc/apt.conf.d"
    -o Dir::Etc::PreferencesParts="$aptdir/etc/preferences.d"
    -o Dir::State="$aptdir" -o Dir::State::Lists="$aptdir/lists"
    -o Dir::State::status="$aptdir/status" -o Dir::Cache="$aptdir"
    -o Dir::Cache::Archives="$aptdir/archives"
    -o APT::Architecture=arm64 -o APT::Architectures=arm64
    -o APT::Install-Recommends=false -o APT::Install-Suggests=false
    -o pkgCacheGen::Essential=none -o Debug::NoLocking=true
    -o Acquire::Retries=3 -o Acquire::http::Timeout=60 -o Acquire::Languages=none
  )
  timeout 900 apt-get "${apt_opts[@]}" update -qq \
    || die "apt-get update for arm64 failed (mirror $mirror)"
  timeout 1800 apt-get "${apt_opts[@]}" install -y -qq --download-only "${packages[@]}" >/dev/null \
    || die "downloading the arm64 packages failed"
  t_download=$(( $(now) - t0 ))
  debs=("$aptdir"/archives/*.deb)
  say "downloaded ${#debs[@]} packages in ${t_download}s; unpacking"
  t1=$(now)
  printf '%s\0' "${debs[@]}" | xargs -0 -n 8 -P 2 sh -c \
    'for d; do dpkg-deb -x "$d" "$0" || exit 255; done' "$sysroot"
  # Absolute symlinks (/usr/lib/...so -> /lib/...) would point into this machine's root:
  # make them relative, inside the sysroot.
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    ln -sfn "$(realpath -m --relative-to="$(dirname "$link")" "$sysroot$target")" "$link"
  done < <(find "$sysroot" -type l -lname '/*' -print0)
  # What maintainer scripts would have done that the programs need: update-alternatives
  # links libblas.so.3 and liblapack.so.3 (libavfilter, so GStreamer's libav plugin, needs
  # them) from their blas/ and lapack/ directories.
  for alt in "$sysroot"/usr/lib/aarch64-linux-gnu/{blas,lapack}/lib*.so.*; do
    [[ -e $alt ]] || continue
    link=$sysroot/usr/lib/aarch64-linux-gnu/$(basename "$alt")
    [[ -e $link ]] || ln -s "$(basename "$(dirname "$alt")")/$(basename "$alt")" "$link"
  done
  # Nothing here is read by the build or the tests: documentation, translations, and the
  # static libraries of the -dev packages (OpenCV's alone are 120 MB; duet links
  # dynamically). libc6-dev's archives stay: -lpthread, -ldl and libc.so's
  # libc_nonshared.a are among them.
  rm -rf "$sysroot"/usr/share/{doc,man,info,locale}
  keep=$(dpkg-deb -c "$aptdir"/archives/libc6-dev_*.deb | awk '/\.a$/ {print $NF}' | sed 's|^\./|/|')
  while IFS= read -r -d '' a; do
    grep -qxF "${a#"$sysroot"}" <<<"$keep" || rm -f "$a"
  done < <(find "$sysroot/usr/lib/aarch64-linux-gnu" -name '*.a' -print0)
  t_unpack=$(( $(now) - t1 ))
  rm -f "$aptdir"/archives/*.deb
  printf '%s\n' "$want_stamp" > "$stamp"
  t_sysroot=$(( $(now) - t0 ))
  sysroot_note="fresh: ${t_sysroot}s (download ${t_download}s, unpack ${t_unpack}s)"
else
  t_sysroot=0
  sysroot_note="reused (--fresh-sysroot to remake it)"
fi
sysroot_size=$(du -sh "$sysroot" | cut -f1)
say "sysroot $sysroot: $sysroot_size, $sysroot_note"

# The first cross file: where the sysroot is and which qemu runs the tests.
cat > "$cache/sysroot.ini" <<EOF
# Written by scripts/test-arm64.sh; read before cross/arm64-debian.ini.
[constants]
sysroot = '$sysroot'
qemu = '$qemu'
EOF

# GStreamer under emulation: the sysroot's arm64 plugins, a registry of their own, and
# the plugin scan done in-process. The scan otherwise runs gst-plugin-scanner, an arm64
# program that GStreamer starts with exec, which only works where binfmt_misc hands
# aarch64 binaries to qemu. (These are host paths: qemu -L falls back to them.)
arch_lib=$sysroot/usr/lib/aarch64-linux-gnu
export GST_PLUGIN_SYSTEM_PATH_1_0=$arch_lib/gstreamer-1.0
export GST_PLUGIN_SCANNER_1_0=$arch_lib/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner
export GST_REGISTRY_FORK=no
export GST_REGISTRY_1_0=$build/gst-registry-aarch64.bin
unset GST_PLUGIN_PATH GST_PLUGIN_PATH_1_0 GST_PLUGIN_SYSTEM_PATH GST_PLUGIN_SCANNER GST_REGISTRY

# ---- the cross build --------------------------------------------------------------------
t0=$(now)
((wipe)) && rm -rf "$build"
if [[ ! -f $build/build.ninja ]]; then
  rm -rf "$build"
  # No e2e (headless browsers) and nothing but the build: the tests that need a browser, a
  # network namespace or a sound card are not for arm64 under emulation.
  meson setup "$build" "$root" -De2e=false \
    --cross-file "$cache/sysroot.ini" --cross-file "$root/cross/arm64-debian.ini" \
    > "$cache/meson-setup.log" 2>&1 || { cat "$cache/meson-setup.log"; die "meson setup failed"; }
fi
timeout 3600 nice -n 19 ninja -C "$build" || die "the arm64 build failed"
t_build=$(( $(now) - t0 ))
kind=$(file -b "$build/src/duet-peer")
case $kind in
  *"ARM aarch64"*) ;;
  *) die "src/duet-peer is not an arm64 program: $kind" ;;
esac
say "built in ${t_build}s: duet-peer is $kind"

# ---- the unit tests under qemu ----------------------------------------------------------
# GLib's g_test_trap_subprocess() runs the test program again with exec: an arm64 program
# started by an emulated one reaches the kernel, which runs it only with binfmt_misc
# registered for aarch64 (qemu-user-static's binfmt entry). Without it those cases would
# fail with "Exec format error", so they are skipped by name, and said so, below.
t0=$(now)
subprocess_cases=(/logging/stderr-not-stdout /logging/journal-stream /options/help /options/man)
if "$build/tests/unit/test-options" -l >/dev/null 2>&1; then
  binfmt=1
  say "binfmt_misc runs aarch64 programs here: every unit test case runs"
else
  binfmt=0
  say "no binfmt_misc for aarch64 here: skipping ${subprocess_cases[*]} (each re-executes its test program, which needs binfmt)"
fi
tests=()
while IFS= read -r t; do
  name=${t##* / }
  if ((binfmt == 0)) && [[ $name == unit-logging || $name == unit-options ]]; then continue; fi
  tests+=("$name")
done < <(meson test -C "$build" --list --suite unit 2>/dev/null | grep ' / ')
status=0
nice -n 19 meson test -C "$build" --no-rebuild --print-errorlogs \
  --timeout-multiplier "$multiplier" --num-processes 2 "${tests[@]}" || status=1
if ((binfmt == 0)); then
  skip_args=
  for c in "${subprocess_cases[@]}"; do skip_args+=" -s $c"; done
  nice -n 19 meson test -C "$build" --no-rebuild --print-errorlogs \
    --timeout-multiplier "$multiplier" --logbase testlog-subprocess-skipped \
    --test-args "$skip_args" unit-logging unit-options || status=1
fi
t_tests=$(( $(now) - t0 ))

say "times: host tools ${t_tools}s, sysroot ${t_sysroot}s ($sysroot_note), build ${t_build}s, unit tests ${t_tests}s"
say "sysroot size: $sysroot_size"
if ((status)); then say "FAILED: see $build/meson-logs/"; exit 1; fi
say "arm64 unit tests passed under $qemu"
