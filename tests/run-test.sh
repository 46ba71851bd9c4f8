#!/bin/sh
# Runs one test binary, wrapped by $TEST_PREFIX (valgrind, gdb -batch ...).
# libtool wrappers are run through "libtool --mode=execute" so the prefix
# sees the real binary.
if [ -n "$TEST_PREFIX" ]; then
  exec "${top_builddir:-.}/libtool" --mode=execute $TEST_PREFIX "$@"
fi
exec "$@"
