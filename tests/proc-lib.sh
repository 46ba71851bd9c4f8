# Stopping what a test script started, also when it fails or is
# interrupted (sourced by tests/cli-lib.sh, tests/test_containers.sh,
# tests/fault/test_fault.sh and tests/fuzz/test_fuzz.sh).
#
# Killing only the pid a script knows is not enough: the zklock tool, a
# shell function run in the background or a test driver has children of
# its own, and a SIGKILLed parent cannot stop them (they would run on,
# re-parented to init). So each job runs in its own process group when it
# is a program (setsid), and stop_tree takes down the whole tree.

proc_pids=
proc_groups=

# proc_track PID [group]: remember PID for proc_stop_all; "group" says
# PID leads its own process group (started through setsid).
proc_track() {
  proc_pids="$proc_pids $1"
  [ "${2:-}" = group ] && proc_groups="$proc_groups $1"
  return 0
}

# stop_tree PID: SIGKILL PID and all its descendants. Each process is
# stopped before its children are listed, so none can fork again or be
# re-parented away while the tree is walked.
stop_tree() {
  kill -STOP "$1" 2>/dev/null || return 0
  for c in $(pgrep -P "$1"); do
    stop_tree "$c"
  done
  kill -KILL "$1" 2>/dev/null
  return 0
}

# proc_reaped PID: PID was waited for; forget it (its number may be
# reused). Members of its group still alive are orphans it left: kill
# them (the group id cannot be reused while they live).
proc_reaped() {
  case " $proc_groups " in
  *" $1 "*) kill -KILL -- "-$1" 2>/dev/null ;;
  esac
  proc_pids=$(echo " $proc_pids " | sed "s/ $1 / /g")
  proc_groups=$(echo " $proc_groups " | sed "s/ $1 / /g")
  return 0
}

# proc_running PID: PID has not exited yet (a zombie has: it only waits
# for its parent's wait).
proc_running() {
  case "$(ps -o stat= -p "$1" 2>/dev/null)" in
  "" | Z*) return 1 ;;
  esac
  return 0
}

# proc_wait PID SECS [DESC]: wait for job PID of this shell, at most SECS
# seconds (every wait in a test has a bound). $proc_rc is its exit status;
# past the bound it says so on stderr (naming DESC), stops PID's tree,
# $proc_rc is 124 and $proc_timed_out 1 (else 0).
proc_wait() {
  proc_timed_out=0
  _pw_n=$(($2 * 10))
  while proc_running "$1"; do
    _pw_n=$((_pw_n - 1))
    if [ "$_pw_n" -le 0 ]; then
      echo "timed out after $2 s waiting for: ${3:-pid $1}" >&2
      stop_tree "$1"
      wait "$1" 2>/dev/null
      proc_reaped "$1"
      proc_rc=124
      proc_timed_out=1
      return 124
    fi
    sleep 0.1
  done
  wait "$1"
  proc_rc=$?
  proc_reaped "$1"
  return "$proc_rc"
}

# proc_stop_all: stop every tracked job still ours (a child of this
# shell), its descendants and, for setsid jobs, anything left in its
# process group, orphans included.
proc_stop_all() {
  for p in $proc_pids; do
    [ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$$" ] || continue
    stop_tree "$p"
    case " $proc_groups " in
    *" $p "*) kill -KILL -- "-$p" 2>/dev/null ;;
    esac
  done
  proc_pids=
  proc_groups=
  return 0
}
