# Helpers for the script tests of the zklock tool and examples (sourced by
# tests/test_cli.sh, tests/test_examples.sh, tests/test_install.sh).
#
# Provides: $hosts (the test ensemble), $ZKLOCK (the built tool, wrapped
# by $TEST_PREFIX when set), $root (a fresh lock path prefix), $tmp (a
# scratch directory removed on exit), $PY, and the functions below.

: "${top_srcdir:?run from make check}" "${top_builddir:?run from make check}"

if [ -n "$ZKLOCK_TEST_HOSTS" ]; then
  hosts=$ZKLOCK_TEST_HOSTS
elif [ -n "$ZKLOCK_ENSEMBLE_DIR" ] && [ -s "$ZKLOCK_ENSEMBLE_DIR/hosts" ]; then
  hosts=$(cat "$ZKLOCK_ENSEMBLE_DIR/hosts")
else
  echo "SKIP: no ensemble (ZKLOCK_ENSEMBLE_DIR/hosts or ZKLOCK_TEST_HOSTS)"
  exit 77
fi
# Nothing below may fall back to a default ensemble by accident.
unset ZKLOCK_HOSTS ZKLOCK_AUTH ZKLOCK_DEBUG_SESSION_FILE

PY=${ZK_PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3

ZKLOCK="$top_builddir/tools/zklock"
if [ -n "$TEST_PREFIX" ]; then
  ZKLOCK="$top_builddir/libtool --mode=execute $TEST_PREFIX $ZKLOCK"
fi

name=$(basename "$0" .sh)
root="/zklock-test/$name-$$-$(date +%s)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zklock-$name.XXXXXX") || exit 99
. "$top_srcdir/tests/proc-lib.sh"

cleanup() {
  proc_stop_all
  "$PY" "$top_srcdir/tests/cli-zk.py" "$hosts" rmr "$root" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

checks=0
fail() {
  echo "FAIL: $*"
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "ok $checks - $*"
}

# zk ACTION ARG: raw ZooKeeper action through kazoo (tests/cli-zk.py).
zk() {
  "$PY" "$top_srcdir/tests/cli-zk.py" "$hosts" "$@"
}

# zl ARGS...: the tool against the test ensemble.
zl() {
  $ZKLOCK -z "$hosts" "$@"
}

# bg CMD...: start CMD (a shell function is fine) in the background;
# $last_pid is its pid. Cleanup stops it and everything it started.
bg() {
  case "$(type "$1" 2>/dev/null)" in
  *function*)
    "$@" & # setsid cannot run a function; stop_tree finds its children
    last_pid=$!
    proc_track "$last_pid"
    ;;
  *)
    setsid "$@" &
    last_pid=$!
    proc_track "$last_pid" group
    ;;
  esac
}

# bg_zl ARGS...: the tool in the background, $last_pid being the tool's
# own pid (setsid and the libtool wrapper exec it), so tests can signal
# it. It leads its own process group: cleanup kills the command it runs
# too, even after the tool itself died.
bg_zl() {
  setsid $ZKLOCK -z "$hosts" "$@" &
  last_pid=$!
  proc_track "$last_pid" group
}

# wait_file FILE [SECS]: wait until FILE exists (default 30 s).
wait_file() {
  n=$((${2:-30} * 20))
  while [ ! -e "$1" ]; do
    n=$((n - 1))
    [ "$n" -gt 0 ] || fail "timed out waiting for $1"
    sleep 0.05
  done
}

running() { proc_running "$1"; }

# wait_bounded PID SECS DESC: wait for background job PID to exit, at most
# SECS seconds (WAIT_SECS, default 60: every command here ends within its
# own timeout, seconds at most); past that fail naming DESC. Sets $rc.
wait_bounded() {
  proc_wait "$1" "$2" "$3"
  rc=$proc_rc
  [ "$proc_timed_out" = 0 ] || fail "timed out after $2 s waiting for: $3"
}

# wait_rc PID EXPECTED DESC: wait for a background job (bounded), check
# its status.
wait_rc() {
  wait_bounded "$1" "${WAIT_SECS:-60}" "$3"
  [ "$rc" -eq "$2" ] || fail "$3: exit status $rc, expected $2"
  ok "$3"
}

# expect_rc EXPECTED DESC CMD...: run CMD (output to $tmp/out, $tmp/err),
# bounded like wait_rc (in the background so a hang fails, not blocks).
expect_rc() {
  want=$1 desc=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
  ex_pid=$!
  proc_track "$ex_pid"
  wait_bounded "$ex_pid" "${WAIT_SECS:-60}" "$desc"
  if [ "$rc" -ne "$want" ]; then
    echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"
    fail "$desc: exit status $rc, expected $want"
  fi
  ok "$desc"
}

# A command that holds whatever lock it runs under until $1.release
# exists; it creates $1.held once it runs.
HOLD='touch "$1.held"; while [ ! -e "$1.release" ]; do sleep 0.05; done'
