#!/bin/sh
# tests/header-funcs.sh HEADER: the zklock_* functions HEADER declares, one
# a line, sorted. Parsed after the C preprocessor (the build's $CC -E), so
# a declaration split over lines, a macro in front of it or a comment
# cannot hide one; function pointer typedefs and members ("(*name)(") are
# not functions. Fails (exit 1) when it finds none.
hdr=${1:?usage: header-funcs.sh HEADER}
if [ -z "$CC" ] && [ -n "$top_builddir" ] && [ -f "$top_builddir/Makefile" ]; then
  CC=$(sed -n 's/^CC = //p' "$top_builddir/Makefile" | head -1)
fi
PY=${ZK_PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
pre=$(${CC:-cc} -E -P -DTHREADED -I"$(dirname "$hdr")" "$hdr") || {
  echo "header-funcs.sh: ${CC:-cc} -E $hdr failed" >&2
  exit 1
}
printf '%s\n' "$pre" | "$PY" -c '
import re, sys
text = sys.stdin.read()
names = {m.group(2) for m in
         re.finditer(r"(\(\s*\*\s*)?\b(zklock_\w+)\s*\(", text)
         if not m.group(1)}
if not names:
    sys.exit("header-funcs.sh: no zklock_ function declared")
print("\n".join(sorted(names)))
'
