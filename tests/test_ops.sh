#!/bin/sh
# Operating a lock tree with the zklock tool: status -r (text, --json),
# status --watch (a terminal and a pipe), metrics (checked by promtool)
# and deadlocks (two processes that take two locks in crossed orders).
. "$top_srcdir/tests/cli-lib.sh"

command -v promtool >/dev/null 2>&1 || {
  echo "SKIP: promtool (Debian package prometheus) not installed"
  exit 77
}
ORDER="$top_builddir/tests/lock_order"

# ---- an empty tree ----
expect_rc 0 "status -r of a missing root" zl status -r "$root"
grep -q "^$root: 0 lock paths" "$tmp/out" || fail "empty: $(cat "$tmp/out")"
expect_rc 64 "-r only with status" zl -r "$root/m" -- true
expect_rc 64 "bad --interval" zl status --watch -i 0.01 "$root/m"

# ---- one lock of each recipe ----
bg_zl --owner holder-m "$root/m" -- sh -c "$HOLD" hold "$tmp/m"
wait_file "$tmp/m.held"
bg_zl --owner waiter-m "$root/m" -- true
waiter=$last_pid
bg_zl -s "$root/rw/x" -- sh -c "$HOLD" hold "$tmp/r1"
bg_zl -s "$root/rw/x" -- sh -c "$HOLD" hold "$tmp/r2"
bg_zl --permits 2 "$root/s" -- sh -c "$HOLD" hold "$tmp/s"
bg_zl elect "$root/e" --id leader-1 -- sh -c "$HOLD" hold "$tmp/e"
for f in r1 r2 s e; do wait_file "$tmp/$f.held"; done
n=0
until zl status "$root/m" | grep -q "waits"; do
  n=$((n + 1))
  [ $n -lt 200 ] || fail "the waiter on $root/m never queued"
  sleep 0.05
done

expect_rc 0 "status -r" zl status -r "$root"
cat "$tmp/out"
grep -q "^$root: 4 lock paths" "$tmp/out" || fail "status -r: path count"
line() { grep "^$1 " "$tmp/out" || fail "status -r: no line for $1"; }
line "$root/m" | grep -Eq "^[^ ]+ +mutex +1 +1 .*holder-m" ||
  fail "status -r: mutex line: $(line "$root/m")"
line "$root/rw/x" | grep -Eq " rwlock +2 +0 " || fail "status -r: rwlock line"
line "$root/s" | grep -Eq " semaphore +1 +0 " || fail "status -r: semaphore"
line "$root/e" | grep -Eq " election +1 +0 .*leader leader-1" ||
  fail "status -r: election line: $(line "$root/e")"
ok "status -r: one line per path with kind, holders, waiters, holder"

expect_rc 0 "status -r --json" zl status -r --json "$root"
"$PY" - "$tmp/out" "$root" <<'PYEOF' || fail "status -r --json content"
import json, sys
d = json.load(open(sys.argv[1]))
r = sys.argv[2]
p = {x["path"]: x for x in d["paths"]}
assert d["root"] == r and sorted(p) == sorted(r + s for s in ["/m", "/rw/x", "/s", "/e"]), p
m = p[r + "/m"]
assert m["kind"] == "mutex" and m["holders"] == 1 and m["waiters"] == 1, m
assert m["held_ms"] >= m["oldest_wait_ms"] >= 0, m
assert m["holder"]["user"] == "holder-m" and m["holder"]["pid"] > 0, m
assert p[r + "/rw/x"]["holders"] == 2 and p[r + "/rw/x"]["holder"] is not None
assert p[r + "/s"]["kind"] == "semaphore"
PYEOF
ok "status -r --json: ages, holders, owner"

# ---- metrics ----
expect_rc 0 "metrics" zl metrics "$root"
promtool check metrics <"$tmp/out" >"$tmp/promtool" 2>&1 ||
  { cat "$tmp/promtool"; fail "promtool check metrics"; }
ok "promtool check metrics accepts the exposition"
grep -q "^zklock_lock_holders{path=\"$root/m\",kind=\"mutex\"} 1$" "$tmp/out" &&
  grep -q "^zklock_lock_waiters{path=\"$root/m\",kind=\"mutex\"} 1$" "$tmp/out" &&
  grep -q "^zklock_lock_holders{path=\"$root/rw/x\",kind=\"rwlock\"} 2$" "$tmp/out" &&
  grep -Eq "^zklock_lock_held_seconds\{path=\"$root/m\",kind=\"mutex\"\} [0-9.]+$" "$tmp/out" &&
  grep -Eq "^zklock_lock_oldest_wait_seconds\{path=\"$root/m\",kind=\"mutex\"\} [0-9.]+$" "$tmp/out" ||
  { cat "$tmp/out"; fail "metrics samples"; }
ok "metrics: holders, waiters and ages per path"

# ---- watch ----
# watch_until FILE PATTERN COUNT: wait (at most 60 s) until FILE has COUNT
# lines matching PATTERN.
watch_until() {
  n=0
  while c=$(grep -c "$2" "$1" 2>/dev/null); [ "${c:-0}" -lt "$3" ]; do
    n=$((n + 1))
    [ $n -lt 1200 ] || fail "watch: $3 x '$2' not seen in 60 s"
    sleep 0.05
  done
}
bg_zl status --watch -i 0.5 -r "$root" >"$tmp/watch" 2>&1
w=$last_pid
watch_until "$tmp/watch" "^Every 0.5s: zklock status -r $root" 2
kill -INT $w
wait_rc $w 0 "watch on a pipe ends on SIGINT with status 0"
grep -q "$(printf '\033')\[H" "$tmp/watch" && fail "watch on a pipe: escapes"
grep -q "^$root/m " "$tmp/watch" || fail "watch on a pipe: no lock line"
ok "watch on a pipe: a new block per interval"
# On a terminal (script(1) gives it one): home, clear, redraw.
setsid script -qfec "sh -c 'echo \$\$ >$tmp/watch.pid; exec $ZKLOCK -z $hosts status --watch -i 0.5 $root/m'" \
  "$tmp/typescript" >/dev/null 2>&1 </dev/null &
proc_track $! group
sp=$!
watch_until "$tmp/typescript" "holds" 2
wait_file "$tmp/watch.pid"
kill -INT "$(cat "$tmp/watch.pid")"
wait_rc $sp 0 "watch on a terminal ends on SIGINT"
grep -q "$(printf '\033')\[H$(printf '\033')\[2J" "$tmp/typescript" ||
  fail "watch on a terminal: no redraw"
ok "watch on a terminal redraws in place"

touch "$tmp/m.release" "$tmp/r1.release" "$tmp/r2.release" "$tmp/s.release" \
  "$tmp/e.release"
wait_rc "$waiter" 0 "the waiter got the mutex once released"

# ---- another library's lock: named, not ordered ----
kz() {
  "$PY" - "$hosts" "$root/kz/lock" "$tmp/kz" <<'PYEOF'
import logging, os, sys, time
logging.basicConfig(level=logging.CRITICAL)
from kazoo.client import KazooClient
zk = KazooClient(hosts=sys.argv[1]); zk.start()
lock = zk.Lock(sys.argv[2], "kazoo-holder"); lock.acquire(timeout=30)
open(sys.argv[3] + ".held", "w").close()
for _ in range(600):
    if os.path.exists(sys.argv[3] + ".release"):
        break
    time.sleep(0.05)
lock.release(); zk.stop()
PYEOF
}
bg kz
kzpid=$last_pid
wait_file "$tmp/kz.held"
expect_rc 0 "status -r with a kazoo lock" zl status -r "$root/kz"
grep -Eq "^$root/kz/lock +kazoo +0 +0 .*1 kazoo node \(not ordered" "$tmp/out" ||
  fail "kazoo lock line: $(cat "$tmp/out")"
ok "status -r names another library's lock without ordering it"
touch "$tmp/kz.release"
wait_rc "$kzpid" 0 "the kazoo holder let go"

# ---- deadlocks: /a then /b against /b then /a ----
expect_rc 0 "no deadlock" zl deadlocks "$root"
grep -q "no deadlock" "$tmp/out" || fail "no deadlock: message"
mkdir "$tmp/dl"
setsid "$ORDER" "$hosts" "$root/a" "$root/b" "$tmp/dl" &
p1=$!
proc_track $p1 group
setsid "$ORDER" "$hosts" "$root/b" "$root/a" "$tmp/dl" &
p2=$!
proc_track $p2 group
wait_file "$tmp/dl/$p1.held"
wait_file "$tmp/dl/$p2.held"
touch "$tmp/dl/go"
n=0
while :; do
  zl deadlocks "$root" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  [ $rc -eq 1 ] && break
  [ $rc -eq 0 ] || fail "deadlocks: exit $rc: $(cat "$tmp/err")"
  n=$((n + 1))
  [ $n -lt 100 ] || fail "deadlocks: no cycle found in 100 tries"
  sleep 0.1
done
cat "$tmp/out"
grep -q "deadlock 1: 2 sessions" "$tmp/out" &&
  grep -q ":$p1 lock-order-test) waits .* for $root/b" "$tmp/out" &&
  grep -q ":$p2 lock-order-test) waits .* for $root/a" "$tmp/out" ||
  fail "deadlocks: the cycle does not name both processes"
ok "deadlocks: exit 1, names both processes, their paths and owners"
expect_rc 1 "deadlocks --json" zl deadlocks --json "$root"
"$PY" - "$tmp/out" "$p1" "$p2" "$root" <<'PYEOF' || fail "deadlocks --json"
import json, sys
d = json.load(open(sys.argv[1]))
p1, p2, r = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
assert len(d["cycles"]) == 1, d
c = {e["pid"]: e for e in d["cycles"][0]}
assert sorted(c) == sorted([p1, p2]), c
assert c[p1]["waits_for"] == r + "/b" and c[p2]["waits_for"] == r + "/a"
assert c[p1]["held_by"] == c[p2]["session"] and c[p2]["held_by"] == c[p1]["session"]
PYEOF
ok "deadlocks --json: one cycle of both sessions"

# Killing one side ends its session: the other takes both and finishes.
kill -9 $p1
wait $p1 2>/dev/null
proc_reaped $p1
wait_file "$tmp/dl/$p2.both" 60
wait_rc $p2 0 "the survivor got both locks after the other's expiry"
expect_rc 0 "no deadlock once broken" zl deadlocks "$root"
echo "1..$checks"
