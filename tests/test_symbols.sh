#!/bin/sh
# Only zklock_* symbols may leave the shared library.
lib="$top_builddir/.libs/libzklock.so"
[ -f "$lib" ] || { echo "no $lib (static-only build?)"; exit 77; }
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^zklock_' | grep -v '^_')
if [ -n "$bad" ]; then
  echo "symbols leaking from libzklock.so:"; echo "$bad"; exit 1
fi
internal=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep '^zklock__')
[ -z "$internal" ] || { echo "internal symbols exported: $internal"; exit 1; }
n=$(nm -D --defined-only "$lib" | awk '$2=="T"' | grep -c '^.* zklock_')
echo "ok: $n exported functions, all zklock_*"
