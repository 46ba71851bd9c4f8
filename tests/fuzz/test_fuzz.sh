#!/bin/sh
# Builds the libFuzzer target for lock paths and node names with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for FUZZ_SECONDS
# (default 20). Skips (77) when clang cannot build fuzzers.
: "${top_srcdir:?}" "${top_builddir:?}"
CLANG=${CLANG:-clang}
out=$top_builddir/tests/fuzz
rm -rf "$out/corpus"
mkdir -p "$out/corpus"
san="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

command -v "$CLANG" >/dev/null 2>&1 || { echo "no clang: skipped"; exit 77; }
probe=$out/probe.c
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$probe"
if ! $CLANG $san -o "$out/probe" "$probe" >/dev/null 2>&1; then
  echo "clang cannot build -fsanitize=fuzzer targets: skipped"
  rm -f "$probe" "$out/probe"
  exit 77
fi
rm -f "$probe" "$out/probe"

# names.c and error.c compiled straight in: the fuzzer needs the internal
# parser and nothing that talks to a server.
$CLANG -std=gnu11 -g -O1 $san -DTHREADED \
  -I"$top_srcdir/include" -I"$top_srcdir/src" -I"$top_srcdir/tests/fuzz" \
  -o "$out/fuzz_names" "$top_srcdir/tests/fuzz/fuzz_names.c" \
  "$top_srcdir/src/names.c" "$top_srcdir/src/error.c" || exit 1

# A few seeds so the fuzzer starts near the interesting shapes.
printf '/a/b' > "$out/corpus/path"
printf '/zookeeper/x' > "$out/corpus/zk"
printf '/a/\xc3\xa9/\xee\x80\x80' > "$out/corpus/utf8"
printf 'x-0123456789abcdef0123456789abcdef-0000000042' > "$out/corpus/name"
printf 'r-0123456789abcdef0123456789abcdef--2147483648' > "$out/corpus/wrap"

secs=${FUZZ_SECONDS:-20}
echo "fuzzing for ${secs}s"
# In the background and waited for, so an interrupted run stops the
# fuzzer too (sh runs traps only between foreground commands).
. "$top_srcdir/tests/proc-lib.sh"
trap proc_stop_all EXIT
trap 'exit 1' INT TERM HUP
setsid "$out/fuzz_names" -max_total_time="$secs" -max_len=1100 -seed=1 \
  -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" \
  > "$out/fuzz.log" 2>&1 &
fp=$!
proc_track "$fp" group
proc_wait "$fp" $((secs + 120)) "the fuzzer (-max_total_time=$secs)"
rc=$proc_rc
grep -v '^"' "$out/fuzz.log" | tail -n 20
[ $rc -eq 0 ] || echo "fuzzer failed (exit $rc); crashing input saved under $out/"
exit $rc
