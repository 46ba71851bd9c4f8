#!/bin/sh
# Fault suite. Starts its own 3-node ensemble (killing and pausing servers
# must not disturb tests running in parallel on the suite's ensemble),
# then runs tests/fault/zkfault:
#   1. zklock, 8 workers, every fault kind at random seeded intervals:
#      must report no violation;
#   2. a naive lock that skips the predecessor check: must be caught;
#   3. a naive lock that ignores session expiry, under expiry faults:
#      must be caught.
# FAULT_SOAK=1 runs step 1 for FAULT_SOAK_SECONDS (default 600) instead of
# FAULT_SECONDS (default 45). FAULT_SEED replays a fault schedule.
: "${top_srcdir:?}" "${top_builddir:?}"
b=$top_builddir/tests/fault
ens=$top_srcdir/tests/ensemble.sh
work=$b/work
rm -rf "$work"
mkdir -p "$work"

ZKLOCK_ENSEMBLE_DIR=$top_builddir/tests/.ensemble-fault
export ZKLOCK_ENSEMBLE_DIR
unset ZKLOCK_TEST_HOSTS
. "$top_srcdir/tests/proc-lib.sh"
cleanup() {
  proc_stop_all
  "$ens" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
if ! "$ens" start > "$work/ensemble-start.log" 2>&1; then
  cat "$work/ensemble-start.log"
  echo "could not start the fault ensemble: skipped"
  exit 77
fi

secs=${FAULT_SECONDS:-45}
[ "${FAULT_SOAK:-0}" = 1 ] && secs=${FAULT_SOAK_SECONDS:-600}
seed=${FAULT_SEED:-$(date +%s)}
rc=0

run() {
  name=$1
  shift
  echo "== $name"
  # In the background so a signal to this script is handled at once
  # (sh runs traps only between foreground commands); its own group so
  # cleanup also reaches the workers and proxies it spawned.
  setsid "$b/zkfault" --workdir "$work" "$@" &
  zp=$!
  proc_track "$zp" group
  wait "$zp"
  zrc=$?
  proc_reaped "$zp"
  if [ "$zrc" -ne 0 ]; then
    echo "== $name FAILED (replay with FAULT_SEED=$seed)"
    rc=1
    echo "-- fault log tail"
    tail -n 40 "$work/zkfault-faults.log" 2>/dev/null
  fi
  mv "$work/zkfault-records.txt" "$work/records-$name.txt" 2>/dev/null
}

run zklock --lock zklock --duration "$secs" --seed "$seed" \
  --ensemble "$ens" --proxy "$b/zkproxy"
run naive-nowait --lock naive-nowait --duration 4 --seed "$seed" \
  --faults none --expect violations
run naive-nolost --lock naive-nolost --duration 10 --seed "$seed" \
  --faults expire --interval 800:1200 --hold-ms 400 --expect violations
exit $rc
