#!/bin/sh
# The shared library exports exactly the functions include/zklock.h
# declares (tests/header-funcs.sh), and nothing else leaves it but the
# toolchain's own "_" symbols.
: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"
lib="$top_builddir/.libs/libzklock.so"
[ -f "$lib" ] || { echo "FAIL: no $lib (the suite builds the shared library)"; exit 1; }
command -v nm >/dev/null 2>&1 || { echo "FAIL: nm not found (binutils)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zklock-symbols.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" >"$tmp/nm" || { echo "FAIL: nm -D $lib"; exit 1; }
bad=$(awk '$2 ~ /[TDBRVWiu]/ {print $3}' "$tmp/nm" | grep -v '^zklock_' | grep -v '^_')
if [ -n "$bad" ]; then
  echo "FAIL: symbols leaking from libzklock.so:"; echo "$bad"; exit 1
fi
internal=$(awk '{print $3}' "$tmp/nm" | grep '^zklock__')
[ -z "$internal" ] || { echo "FAIL: internal symbols exported: $internal"; exit 1; }
awk '$3 ~ /^zklock_/ {print $3}' "$tmp/nm" | sort -u >"$tmp/exported"
sh "$top_srcdir/tests/header-funcs.sh" "$top_srcdir/include/zklock.h" \
  >"$tmp/declared" || { echo "FAIL: could not read the header's functions"; exit 1; }
if ! diff -u "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
  echo "FAIL: exported symbols (+) differ from zklock.h's declarations (-):"
  cat "$tmp/diff"
  exit 1
fi
n=$(wc -l <"$tmp/exported")
[ "$n" -gt 0 ] || { echo "FAIL: no zklock_ symbol exported"; exit 1; }
echo "ok: $n exported functions, exactly those zklock.h declares"
