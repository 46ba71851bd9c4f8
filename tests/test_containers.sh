#!/bin/sh
# Issue 12, bug 2 (a container parent reaped under the engine). Runs tests/stress_containers for
# CONTAINER_SECONDS (default 20) against an ensemble of its own that reaps
# empty containers every 100 ms, and requires no failed acquire and never
# two holders at once. Its own ensemble: the fast reaper must not change
# what the other tests see.
: "${top_srcdir:?}" "${top_builddir:?}"
ens=$top_srcdir/tests/ensemble.sh
ZKLOCK_ENSEMBLE_DIR=$top_builddir/tests/.ensemble-containers
ZK_CONTAINER_CHECK_MS=100
export ZKLOCK_ENSEMBLE_DIR ZK_CONTAINER_CHECK_MS
unset ZKLOCK_TEST_HOSTS

. "$top_srcdir/tests/proc-lib.sh"
cleanup() {
  proc_stop_all
  "$ens" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

log=$top_builddir/tests/containers-ensemble.log
if ! "$ens" start >"$log" 2>&1; then
  cat "$log"
  echo "could not start the containers ensemble"
  exit 1
fi
hosts=$("$ens" hosts) || exit 99

secs=${CONTAINER_SECONDS:-20}
echo "12 threads, 4 clients, 6 five-level paths, reaper every 100 ms, ${secs}s"
# In the background so a signal to this script is handled at once.
setsid "$top_builddir/libtool" --mode=execute $TEST_PREFIX \
  "$top_builddir/tests/stress_containers" "$hosts" \
  "/zklock-test/containers-$$" "$secs" &
p=$!
proc_track "$p" group
# it runs secs seconds; 120 more is a generous bound for its end
proc_wait "$p" $((secs + 120)) "stress_containers to finish"
exit $proc_rc
