#!/bin/sh
# Runs the example programs (examples/) against the test ensemble.
. "$top_srcdir/tests/cli-lib.sh"

ex="$top_builddir/examples"
run() {
  if [ -n "$TEST_PREFIX" ]; then
    "$top_builddir/libtool" --mode=execute $TEST_PREFIX "$@"
  else
    "$@"
  fi
}

expect_rc 0 "mutex_basic" run "$ex/mutex_basic" "$hosts" "$root/basic"
grep -q "^holding $root/basic, token [1-9]" "$tmp/out" || fail "mutex_basic output"

expect_rc 0 "contend: 3 processes x 3 turns" \
  run "$ex/contend" "$hosts" "$root/contend" 3 3
grep -q "tokens strictly increasing: yes" "$tmp/out" || fail "contend output"

# fenced_write: the value lands in the data node, tagged with the token.
expect_rc 0 "fenced_write" \
  run "$ex/fenced_write" "$hosts" "$root/fenced" "$root/data" "v1"
cat "$tmp/out"
zk get "$root/data" >"$tmp/data" || fail "reading $root/data"
grep -qE '^v1 \(token [1-9][0-9]*\)$' "$tmp/data" ||
  fail "data node holds '$(cat "$tmp/data")'"
ok "fenced_write wrote the data node"

# rwlock_demo: readers and writers in several processes; it checks the
# exclusion rule itself.
expect_rc 0 "rwlock_demo: 3 readers, 2 writers" \
  run "$ex/rwlock_demo" "$hosts" "$root/rw" 3 2 2
tail -1 "$tmp/out"
grep -q "rule broken 0 times" "$tmp/out" || fail "rwlock_demo output"

# semaphore_demo: never more processes inside than permits.
expect_rc 0 "semaphore_demo: 2 permits, 4 processes" \
  run "$ex/semaphore_demo" "$hosts" "$root/sem" 2 4 3
tail -1 "$tmp/out"
grep -q "limit broken 0 times, 0 processes failed" "$tmp/out" ||
  fail "semaphore_demo output"

# revoke_demo: the holder is told, lets go, and the asker gets the lock.
expect_rc 0 "revoke_demo" run "$ex/revoke_demo" "$hosts" "$root/revoke"
grep -q "^holder: asked to let go" "$tmp/out" || fail "revoke_demo: no request"
grep -q "^asker: holding $root/revoke" "$tmp/out" || fail "revoke_demo output"

# election_demo: every candidate leads once, the observer sees each.
expect_rc 0 "election_demo: 3 candidates" \
  run "$ex/election_demo" "$hosts" "$root/elect" 3
tail -1 "$tmp/out"
grep -q "3 leaders observed, terms strictly increasing: yes" "$tmp/out" ||
  fail "election_demo output"

# lock_lost: finishes its work while holding ...
expect_rc 0 "lock_lost: work done" run "$ex/lock_lost" "$hosts" "$root/lost" 1
grep -q "work done" "$tmp/out" || fail "lock_lost output"
# ... and stops (exit 3) when its lock node is deleted from outside.
bg run "$ex/lock_lost" "$hosts" "$root/lost" 60
p=$last_pid
n=600
until node=$(zk children "$root/lost" 2>/dev/null | head -1) && [ -n "$node" ]; do
  n=$((n - 1))
  [ "$n" -gt 0 ] || fail "lock_lost never took the lock"
  sleep 0.05
done
zk delete "$root/lost/$node" || fail "deleting $root/lost/$node"
wait_bounded "$p" 60 "lock_lost to stop after its node was deleted"
[ "$rc" -eq 3 ] || fail "lock_lost after node deletion: exit status $rc, expected 3"
ok "lock_lost stops when the lock is lost"

# stats_poll: statistics printed once a second from the poll loop.
expect_rc 0 "stats_poll: 2 s, 3 handles" \
  run "$ex/stats_poll" "$hosts" "$root/stats" 2 3
cat "$tmp/out"
grep -Eq "^t=1s acquired [1-9][0-9]* waiting [0-3] held [0-3] requests [1-9]" "$tmp/out" &&
  grep -q "^t=2s " "$tmp/out" && grep -Eq "^done: [1-9][0-9]* acquisitions" "$tmp/out" ||
  fail "stats_poll output"
[ ! -s "$tmp/err" ] || fail "stats_poll stderr: $(cat "$tmp/err")"

# async_poll / async_libuv: 5 locks on one loop plus the first lock again
# from a second client; every one of the 6 handles is granted exactly once
# and the contended lock's two grants carry increasing tokens.
# async_libuv is built only with libuv (configure --with-libuv, which
# scripts/test.sh passes); make sets ZKLOCK_WITH_LIBUV.
ex_asyncs=async_poll
if [ "${ZKLOCK_WITH_LIBUV:-yes}" = yes ]; then
  ex_asyncs="$ex_asyncs async_libuv"
else
  echo "note: examples/async_libuv not built (no libuv at configure): not run"
fi
for ex_async in $ex_asyncs; do
  expect_rc 0 "$ex_async: 6 waits on one loop" \
    run "$ex/$ex_async" "$hosts" "$root/$ex_async" 5
  tail -1 "$tmp/out"
  grep -q "every lock granted exactly once: yes" "$tmp/out" ||
    fail "$ex_async summary"
  [ "$(grep -c '^granted ' "$tmp/out")" -eq 6 ] ||
    fail "$ex_async: $(grep -c '^granted ' "$tmp/out") grants, expected 6"
  dup=$(awk '/^granted /{print $4}' "$tmp/out" | sort | uniq -d)
  [ -z "$dup" ] || fail "$ex_async: handle(s) granted twice: $dup"
  awk -v p="$root/$ex_async/0" '$1 == "granted" && $2 == p {print $6}' \
    "$tmp/out" >"$tmp/tok"
  [ "$(wc -l <"$tmp/tok")" -eq 2 ] && sort -c -n -u "$tmp/tok" ||
    fail "$ex_async: contended lock tokens $(tr '\n' ' ' <"$tmp/tok")"
  ok "$ex_async: each lock granted once, contended one handed over"
done

echo "all $checks checks passed"
