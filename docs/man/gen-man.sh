#!/bin/sh
# SPDX-License-Identifier: MIT
# gen-man.sh OPTIONS TEMPLATE OUTPUT VERSION: the man page is TEMPLATE with @VERSION@
# filled in and the @OPTIONS@ line replaced by the file OPTIONS, what `PROGRAM --help-man`
# printed (docs/man/meson.build runs the program, through the exe_wrapper when cross
# building), so every flag of the program's option table is on its page.
set -eu
optfile=$1 template=$2 out=$3 version=$4
options=$(cat "$optfile")
case $options in
  .TP*) ;;
  *) echo "gen-man.sh: $optfile (--help-man's output) has no options" >&2; exit 1 ;;
esac
grep -q '^@OPTIONS@$' "$template" || { echo "gen-man.sh: no @OPTIONS@ line in $template" >&2; exit 1; }
tmp=$out.tmp
printf '%s\n' "$options" > "$tmp.options"
sed -e "s/@VERSION@/$version/g" -e "/^@OPTIONS@\$/{
r $tmp.options
d
}" "$template" > "$tmp"
rm -f "$tmp.options"
mv "$tmp" "$out"
