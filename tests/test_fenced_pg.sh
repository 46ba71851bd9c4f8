#!/bin/sh
# examples/fenced_pg against a real PostgreSQL server of its own (initdb
# in a temporary directory, 127.0.0.1 only, stopped on exit): a holder
# paused (SIGSTOP) past its session timeout loses the lock, another
# process takes it and writes, and the first one's write, once resumed,
# is rejected by its stale fencing token; the row's counter equals the
# accepted writes.
. "$top_srcdir/tests/cli-lib.sh"

FENCED="$top_builddir/examples/fenced_pg"
[ -x "$FENCED" ] || {
  echo "SKIP: examples/fenced_pg not built (configure found no libpq)"
  exit 77
}
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] && [ -x "$PGBIN/psql" ] || {
  echo "SKIP: no PostgreSQL server (Debian package postgresql)"
  exit 77
}
# The server refuses to run as root: run it as nobody then.
as=""
[ "$(id -u)" -ne 0 ] || as="runuser -u nobody --"
pgdir=$(mktemp -d "${TMPDIR:-/tmp}/zklock-pg.XXXXXX") || exit 99
chmod 755 "$pgdir"
[ -z "$as" ] || chown nobody "$pgdir"
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

pg_stop() {
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    $as "$PGBIN/pg_ctl" -D "$pgdir/data" -m immediate -w -t 30 stop \
      >/dev/null 2>&1
    pid=$(head -1 "$pgdir/data/postmaster.pid" 2>/dev/null)
    [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null
  fi
  rm -rf "$pgdir"
}
trap 'for p in $proc_pids; do kill -CONT "$p" 2>/dev/null; done; pg_stop; cleanup' EXIT

(cd "$pgdir" && $as "$PGBIN/initdb" -D "$pgdir/data" -A trust -U postgres \
  --no-sync -E UTF8 >"$pgdir/initdb.log" 2>&1) ||
  { cat "$pgdir/initdb.log"; fail "initdb"; }
(cd "$pgdir" && $as "$PGBIN/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" \
  -w -t 60 -o "-h 127.0.0.1 -p $port -k $pgdir -c fsync=off" start \
  >/dev/null 2>&1) || { cat "$pgdir/server.log"; fail "pg_ctl start"; }
ok "PostgreSQL up on 127.0.0.1:$port"
conn="host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=10"
sql() { "$PGBIN/psql" -X -A -t -q -d "$conn" -c "$1"; }

lock="$root/lock"
# A takes the lock, then is stopped before its write.
FENCED_PG_WAIT_FOR="$tmp/go" setsid "$FENCED" "$hosts" "$lock" "$conn" A \
  >"$tmp/a.out" 2>"$tmp/a.err" &
a=$!
proc_track $a group
n=0
until grep -q "holds" "$tmp/a.out"; do
  n=$((n + 1))
  [ $n -lt 600 ] || fail "A never took the lock: $(cat "$tmp/a.err")"
  sleep 0.05
done
kill -STOP $a
touch "$tmp/go"
tok_a=$(sed -n 's/.*with token \([0-9]*\)$/\1/p' "$tmp/a.out")
ok "A holds with token $tok_a and is stopped"

# B waits for A's session (2 s) to expire, then takes the lock and writes.
expect_rc 0 "B takes the lock after A's expiry and writes" \
  timeout 60 "$FENCED" "$hosts" "$lock" "$conn" B
grep -q "accepted" "$tmp/out" || fail "B: $(cat "$tmp/out")"
tok_b=$(sed -n 's/.*with token \([0-9]*\)$/\1/p' "$tmp/out")
[ "$tok_b" -gt "$tok_a" ] || fail "B's token $tok_b not above A's $tok_a"

# A resumes believing it holds: its write carries the stale token.
kill -CONT $a
wait_rc $a 3 "A's write after resuming is rejected (exit 3)"
grep -q "token $tok_a rejected" "$tmp/a.out" || fail "A: $(cat "$tmp/a.out")"

expect_rc 0 "C writes after both" timeout 60 "$FENCED" "$hosts" "$lock" "$conn" C
tok_c=$(sed -n 's/.*with token \([0-9]*\)$/\1/p' "$tmp/out")
row=$(sql "SELECT writes, last_token, value FROM fenced WHERE id = 1")
[ "$row" = "2|$tok_c|C" ] ||
  fail "row is '$row', expected 2 accepted writes, token $tok_c, value C"
ok "the counter equals the accepted writes (2), the highest token is kept"
echo "1..$checks"
