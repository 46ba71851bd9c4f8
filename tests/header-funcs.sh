#!/bin/sh
# tests/header-funcs.sh HEADER: the zklock_* functions HEADER declares, one
# a line, sorted. Parsed after the C preprocessor (the build's $CC -E), so
# a declaration split over lines, a macro in front of it or a comment
# cannot hide one; function pointer typedefs and members ("(*name)(") are
# not functions. Plain POSIX tools (it runs in package builds). Fails
# (exit 1) when it finds none.
hdr=${1:?usage: header-funcs.sh HEADER}
if [ -z "$CC" ] && [ -n "$top_builddir" ] && [ -f "$top_builddir/Makefile" ]; then
  CC=$(sed -n 's/^CC = //p' "$top_builddir/Makefile" | head -1)
fi
pre=$(${CC:-cc} -E -P -DTHREADED -I"$(dirname "$hdr")" "$hdr") || {
  echo "header-funcs.sh: ${CC:-cc} -E $hdr failed" >&2
  exit 1
}
# One line, then every identifier followed by "(" that is not "(*name".
names=$(printf '%s\n' "$pre" | tr '\n' ' ' |
  grep -oE '(^|[^A-Za-z0-9_])(\([[:space:]]*\*[[:space:]]*)?zklock_[A-Za-z0-9_]+[[:space:]]*\(' |
  grep -vE '\([[:space:]]*\*' | grep -oE 'zklock_[A-Za-z0-9_]+' | sort -u)
[ -n "$names" ] || { echo "header-funcs.sh: no zklock_ function declared in $hdr" >&2; exit 1; }
printf '%s\n' "$names"
