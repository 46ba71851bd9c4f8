#!/bin/sh
# Sources must match .clang-format.
command -v clang-format >/dev/null 2>&1 || { echo "clang-format missing"; exit 77; }
cd "$top_srcdir" || exit 1
fail=0
for f in include/*.h src/*.[ch] recipes/*.c tests/*.[ch] tests/*/*.[ch] examples/*.c tools/*.c bench/*.c; do
  [ -f "$f" ] || continue
  if ! clang-format --style=file "$f" | cmp -s - "$f"; then
    echo "not formatted: $f (run: clang-format -i $f)"; fail=1
  fi
done
exit $fail
