#!/usr/bin/env bash
# Runs the whole test suite: installs packages if missing, builds, starts a
# throwaway 3-node ZooKeeper ensemble on 127.0.0.1, runs `make check`,
# stops the ensemble. Safe to rerun.
#
#   ./scripts/test.sh              the suite
#   ./scripts/test.sh --asan       the suite built with ASan+UBSan
#   ./scripts/test.sh --tsan       the suite built with ThreadSanitizer
#   ./scripts/test.sh --valgrind   the suite under valgrind (TEST_PREFIX)
#   ./scripts/test.sh --soak       also the long fault soak (FAULT_SOAK=1)
#   ./scripts/test.sh --distcheck  make distcheck
#   ./scripts/test.sh --packages   the Debian packages, lintian, and builds
#                                  against them (scripts/test-packages.sh)
#   ./scripts/test.sh --tls        TLS: builds the TLS C client
#                                  (scripts/build-tls-client.sh), zklock on
#                                  it in build/tls, runs tests/test_tls.sh
#   ./scripts/test.sh --model-deep the protocol model at larger bounds
#                                  (tests/model/run.sh --deep)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mode=default
for arg in "$@"; do
  case "$arg" in
    --asan) mode=asan ;;
    --tsan) mode=tsan ;;
    --valgrind) mode=valgrind ;;
    --soak) export FAULT_SOAK=1 ;;
    --distcheck) mode=distcheck ;;
    --packages) mode=packages ;;
    --tls) mode=tls ;;
    --model-deep) mode=model-deep ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

[ "$mode" = packages ] && PACKAGES="$PACKAGES $PACKAGING_PACKAGES"
[ "$mode" = tls ] && PACKAGES="$PACKAGES $TLS_PACKAGES"
install_packages
[ "$mode" = packages ] && exec "$ROOT/scripts/test-packages.sh"
[ "$mode" = model-deep ] && exec "$ROOT/tests/model/run.sh" --deep
if [ "$mode" = tls ]; then
  # test_tls.sh also needs a build on Debian's client (the ENOTSUP check)
  (build default)
  "$ROOT/scripts/build-tls-client.sh" "$ROOT/build/zk-tls"
  build tls --with-zookeeper="$ROOT/build/zk-tls"
  exec env top_srcdir="$ROOT" top_builddir="$ROOT/build/tls" \
    ZKLOCK_PLAIN_BUILD="$ROOT/build/default" "$ROOT/tests/test_tls.sh"
fi
case "$mode" in
  asan) build asan --enable-sanitizers CC=clang --with-libpq ;;
  tsan) build tsan --enable-tsan CC=clang --with-libpq ;;
  *) build default --with-libpq ;;
esac

# TEST_PREFIX wraps each test binary (hiredis style).
if [ "$mode" = valgrind ]; then
  export TEST_PREFIX="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions=$ROOT/tests/valgrind.supp"
fi
if [ "$mode" = tsan ]; then
  export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp halt_on_error=1"
fi
if [ "$mode" = asan ]; then
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi

# (--with-libpq: examples/fenced_pg is optional elsewhere, required here, so
# tests/test_fenced_pg.sh cannot skip.)
# Each build directory gets its own ensemble state (and ports).
export ZKLOCK_ENSEMBLE_DIR="$PWD/tests/.ensemble"
trap '"$ROOT/tests/ensemble.sh" stop >/dev/null 2>&1 || true' EXIT

target=check
[ "$mode" = distcheck ] && target=distcheck
set +e
make -j"$(nproc)" $target
rc=$?
set -e
echo
echo "== cmocka summaries ($mode)"
for log in tests/*.log tests/*/*.log; do
  [ -f "$log" ] || continue
  case "$log" in */test-suite.log) continue ;; esac
  grep -hE '^\[ *(PASSED|FAILED|SKIPPED) *\]|^\[==========\] .* run\.' "$log" |
    sed "s|^|$(basename "$log" .log): |" || true
done
# The install list provides every dependency, so here a skip is a failure
# (a test exits 77 only when something it needs is missing; a cmocka
# binary does when any of its tests called skip()).
if [ "$mode" != distcheck ]; then
  skipped=$(grep -l '^:test-result: SKIP' tests/*.trs tests/*/*.trs 2>/dev/null || true)
  nskip=$(printf '%s' "$skipped" | grep -c . || true)
  echo
  echo "== skipped: $nskip"
  if [ "$nskip" -ne 0 ]; then
    printf '  %s\n' $skipped
    echo "a skip is a failure under scripts/test.sh: every dependency is in the install list"
    [ $rc -ne 0 ] || rc=1
  fi
fi
[ -f test-suite.log ] && [ $rc -ne 0 ] && cat test-suite.log
exit $rc
