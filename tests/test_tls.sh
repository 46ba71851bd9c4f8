#!/usr/bin/env bash
# Issue 27: zklock over TLS, end to end. A 3-node ensemble of its own with a
# secureClientPort only (Netty; key and trust stores made here with openssl
# and keytool), and the zklock tool of a build configured
# --with-zookeeper=<a TLS client> (scripts/build-tls-client.sh):
#   - a mutex and a read-write lock through TLS keep a counter exact
#     (several processes increment a file under the lock);
#   - a client without TLS cannot connect;
#   - a wrong CA, an expired certificate, a wrong key password fail with a
#     clear message, in bounded time;
#   - digest authentication over TLS: the owner's ACL holds against
#     another user;
#   - a libzookeeper without TLS answers the TLS options with ENOTSUP.
# Run by ./scripts/test.sh --tls:
#   top_srcdir=. top_builddir=build/tls ZKLOCK_PLAIN_BUILD=build/default \
#     tests/test_tls.sh
# top_builddir: the TLS build; ZKLOCK_PLAIN_BUILD: a build on Debian's
# client (for the ENOTSUP check). Stops everything it started, whatever
# happens.
# No -e: tests/proc-lib.sh expects failing kills of gone processes.
set -uo pipefail
: "${top_srcdir:?}" "${top_builddir:?}" "${ZKLOCK_PLAIN_BUILD:?}"
top_srcdir=$(cd "$top_srcdir" && pwd) || exit 1
top_builddir=$(cd "$top_builddir" && pwd) || exit 1
plain=$(cd "$ZKLOCK_PLAIN_BUILD" && pwd)/tools/zklock || exit 1
zk=$top_builddir/tools/zklock
ens=$top_srcdir/tests/ensemble.sh
grep -q '^#define ZKLOCK_HAVE_TLS 1' "$top_builddir/config.h" || {
  echo "$top_builddir is not built against a TLS client (configure --with-zookeeper)"
  exit 1
}
[ -x "$plain" ] || { echo "no plain build's zklock at $plain"; exit 1; }
grep -q '^#define ZKLOCK_HAVE_TLS' "$(dirname "$plain")/../config.h" &&
  { echo "$plain has TLS: not a plain build"; exit 1; }

work=$top_builddir/tests/.tls
rm -rf "$work"
mkdir -p "$work"
export ZKLOCK_ENSEMBLE_DIR=$work/ensemble
unset ZKLOCK_TEST_HOSTS ZKLOCK_HOSTS ZKLOCK_AUTH ZKLOCK_TLS_CA ZKLOCK_TLS_CERT \
  ZKLOCK_TLS_KEY ZKLOCK_TLS_KEY_PASSWORD

. "$top_srcdir/tests/proc-lib.sh"
cleanup() {
  proc_stop_all
  "$ens" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

# ---- certificates: a CA, the servers', clients' (one expired), another CA
cd "$work" || exit 1
pw=zklock-test-store
cat >ca.cnf <<EOF
[ca]
default_ca = test
[test]
dir = $work
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
policy = anything
copy_extensions = copy
[anything]
commonName = supplied
EOF
: >index.txt
echo 01 >serial
newca() { # NAME
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 2 -subj "/CN=zklock test $1" 2>/dev/null
}
# sign NAME CA [openssl ca date options]: key NAME.key, certificate NAME.pem
sign() {
  local name=$1 ca=$2
  shift 2
  openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" \
    -subj "/CN=$name" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    2>/dev/null
  openssl ca -batch -config ca.cnf -cert "$ca.pem" -keyfile "$ca.key" \
    -in "$name.csr" -out "$name.pem" -notext "$@" 2>/dev/null
}
newca ca
newca otherca
sign server ca -days 2
sign client ca -days 2
sign bob ca -days 2
sign carol ca -days 2
sign expired ca -startdate 20200101000000Z -enddate 20200102000000Z
# the client key again, encrypted (ZKLOCK_TLS_KEY_PASSWORD)
openssl pkey -in client.key -aes256 -passout pass:key-secret -out client-enc.key
openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem \
  -name server -out server.p12 -passout "pass:$pw"
keytool -importcert -noprompt -alias ca -file ca.pem -keystore trust.jks \
  -storepass "$pw" >/dev/null 2>&1
[ -s server.p12 ] && [ -s trust.jks ] && [ -s expired.pem ] ||
  { echo "could not make the certificates"; exit 1; }
ok "certificates, key store (openssl) and trust store (keytool)"

# ---- the TLS-only ensemble (its four-letter words go over TLS too)
export ZK_TLS_KEYSTORE=$work/server.p12 ZK_TLS_TRUSTSTORE=$work/trust.jks
export ZK_TLS_PASSWORD=$pw
export ZK_TLS_CA=$work/ca.pem ZK_TLS_CERT=$work/client.pem ZK_TLS_KEY=$work/client.key
if ! "$ens" start >"$work/ensemble.log" 2>&1; then
  cat "$work/ensemble.log"
  for n in 1 2 3; do "$ens" logs "$n" 30 || true; done
  echo "could not start the TLS ensemble"
  exit 1
fi
hosts=$("$ens" hosts) || exit 1
grep -q '^secureClientPort=' "$ZKLOCK_ENSEMBLE_DIR/zk1/zoo1.cfg" &&
  ! grep -q '^clientPort=' "$ZKLOCK_ENSEMBLE_DIR/zk1/zoo1.cfg" ||
  { echo "ensemble config is not TLS-only"; exit 1; }
ok "3-node ensemble with secureClientPort only: $hosts"

tls=(--tls-ca "$work/ca.pem" --tls-cert "$work/client.pem" --tls-key "$work/client.key")
# run SECS OUT CMD...: CMD's exit status, output in OUT, killed after SECS
run() {
  local secs=$1 out=$2
  shift 2
  local rc=0
  timeout -k 5 "$secs" "$@" >"$out" 2>&1 || rc=$?
  return $rc
}

# ---- a counter under each lock kind: lost updates unless exclusive
# bump FILE: read, pause (so an overlap would lose an update), write
cat >bump.sh <<'EOF'
n=$(cat "$1")
sleep 0.02
echo $((n + 1)) >"$1.tmp" && mv "$1.tmp" "$1"
EOF
# worker.sh ZKLOCK PATH FLAG COUNTER TIMES: TIMES locked increments; the
# TLS files come from $ZKLOCK_TLS_* or from WORKER_TLS (options).
cat >worker.sh <<'EOF'
zk=$1 path=$2 flag=$3 counter=$4 times=$5
i=0
while [ $i -lt "$times" ]; do
  # shellcheck disable=SC2086
  "$zk" -z "$HOSTS" $WORKER_TLS $flag -t 60 "$path" -- sh "$WORK/bump.sh" "$counter" || exit 1
  i=$((i + 1))
done
EOF
# reader.sh ZKLOCK PATH COUNTER: shared holds never see a torn value
cat >reader.sh <<'EOF'
i=0
while [ $i -lt 10 ]; do
  # shellcheck disable=SC2086
  v=$("$1" -z "$HOSTS" $WORKER_TLS -s -t 60 "$2" -- cat "$3") || exit 1
  case $v in '' | *[!0-9]*) echo "reader saw '$v'"; exit 1 ;; esac
  i=$((i + 1))
done
EOF
export HOSTS=$hosts WORK=$work
opt_tls="--tls-ca $work/ca.pem --tls-cert $work/client.pem --tls-key $work/client.key"
counter_test() { # NAME FLAG
  local name=$1 flag=$2 counter=$work/counter$2 path=/zklock-tls/counter$2
  local procs=4 times=8 p pids="" rc=0 t0=$SECONDS
  echo 0 >"$counter"
  for ((p = 0; p < procs; p++)); do
    if ((p % 2)); then # the environment's TLS files
      ZKLOCK_TLS_CA=$work/ca.pem ZKLOCK_TLS_CERT=$work/client.pem \
        ZKLOCK_TLS_KEY=$work/client.key WORKER_TLS= \
        setsid sh worker.sh "$zk" "$path" "$flag" "$counter" $times &
    else
      WORKER_TLS=$opt_tls setsid sh worker.sh "$zk" "$path" "$flag" "$counter" $times &
    fi
    proc_track $! group
    pids="$pids $!"
  done
  if [ "$flag" = -w ]; then
    WORKER_TLS=$opt_tls setsid sh reader.sh "$zk" "$path" "$counter" &
    proc_track $! group
    pids="$pids $!"
  fi
  # bounded: 32 short holds take seconds; a hung run is stopped
  local deadline=$((SECONDS + 300))
  for p in $pids; do
    while kill -0 "$p" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -0 "$p" 2>/dev/null && { stop_tree "$p"; rc=1; }
    wait "$p" || rc=1
    proc_reaped "$p"
  done
  local v
  v=$(cat "$counter")
  if [ $rc = 0 ] && [ "$v" = $((procs * times)) ]; then
    ok "$name through TLS: $procs processes x $times increments = $v ($((SECONDS - t0)) s; half with \$ZKLOCK_TLS_*)"
  else
    bad "$name through TLS: counter $v, expected $((procs * times)) (workers rc $rc)"
  fi
}
counter_test mutex ""
counter_test "rwlock (write side; a reader alongside)" -w

# ---- clients that must not get in, each bounded and each saying why
# expect NAME WANT_RC PATTERN CMD...: exit status and a message that says it
expect() {
  local name=$1 want=$2 pat=$3 rc=0 t0=$SECONDS
  shift 3
  run 40 "$work/out" "$@" || rc=$?
  if [ "$rc" = "$want" ] && grep -qE -- "$pat" "$work/out"; then
    ok "$name: exit $rc in $((SECONDS - t0)) s: $(head -c 200 "$work/out")"
  else
    bad "$name: exit $rc (want $want, message /$pat/): $(cat "$work/out")"
  fi
}
expect "no TLS (TLS build, no --tls-*)" 69 "cannot connect" \
  "$zk" -z "$hosts" --connect-timeout 3 /zklock-tls/plain -- true
expect "no TLS (Debian's client)" 69 "cannot connect" \
  "$plain" -z "$hosts" --connect-timeout 3 /zklock-tls/plain -- true
expect "TLS options, Debian's client" 78 "built without TLS" \
  "$plain" -z "$hosts" "${tls[@]}" --connect-timeout 3 /zklock-tls/x -- true
# refused NAME RC PATTERN CA CERT KEY: a connect with these files (names in
# $work) fails with RC and a message matching PATTERN
refused() {
  expect "$1" "$2" "$3" "$zk" -z "$hosts" --tls-ca "$work/$4" \
    --tls-cert "$work/$5" --tls-key "$work/$6" --connect-timeout 3 \
    /zklock-tls/x -- true
}
refused "wrong CA" 69 "TLS handshake .* failed" otherca.pem client.pem client.key
refused "client certificate of another CA" 69 "TLS handshake .* failed" \
  ca.pem otherca.pem otherca.key
refused "expired certificate" 78 "has expired" ca.pem expired.pem expired.key
refused "missing CA file" 78 "cannot load the CA file" nonexistent.pem \
  client.pem client.key
refused "key of another certificate" 78 "does not match the certificate" \
  ca.pem client.pem server.key
refused "encrypted key, no password" 78 "cannot load the key" ca.pem \
  client.pem client-enc.key
expect "CA only" 78 "go together" \
  "$zk" -z "$hosts" --tls-ca "$work/ca.pem" --connect-timeout 3 /zklock-tls/x -- true
expect "encrypted key, ZKLOCK_TLS_KEY_PASSWORD" 0 "^held$" \
  env ZKLOCK_TLS_KEY_PASSWORD=key-secret "$zk" -z "$hosts" --tls-ca "$work/ca.pem" \
  --tls-cert "$work/client.pem" --tls-key "$work/client-enc.key" \
  --connect-timeout 10 /zklock-tls/enc -- echo held

# ---- digest authentication over TLS: the owner's ACL holds against others
printf 'alice:alice-secret\n' >alice.auth
printf 'bob:bob-secret\n' >bob.auth
chmod 600 alice.auth bob.auth
expect "digest auth over TLS (alice)" 0 "^held$" \
  "$zk" -z "$hosts" "${tls[@]}" --auth-file alice.auth /zklock-tls/acl -- echo held
# bob tries while alice holds (the lock path, a container, goes once empty)
rm -f held done
setsid "$zk" -z "$hosts" "${tls[@]}" --auth-file alice.auth /zklock-tls/acl -- \
  sh -c 'touch held; i=0; while [ ! -f done ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done' \
  >alice.out 2>&1 &
alice=$!
proc_track $alice group
for ((i = 0; i < 300; i++)); do
  [ -f held ] || ! kill -0 $alice 2>/dev/null && break
  sleep 0.1
done
if [ -f held ]; then
  # Over TLS the servers also know each client by its certificate (x509
  # scheme), and the creator ACL covers that identity too: others need
  # certificates of their own.
  expect "another user (bob, own certificate) on alice's lock path" 77 \
    "not authorized|rejected" "$zk" -z "$hosts" --tls-ca "$work/ca.pem" \
    --tls-cert "$work/bob.pem" --tls-key "$work/bob.key" --auth-file bob.auth \
    -t 5 /zklock-tls/acl -- echo held
  expect "no credentials (carol, own certificate) on alice's lock path" 77 \
    "not authorized|rejected" "$zk" -z "$hosts" --tls-ca "$work/ca.pem" \
    --tls-cert "$work/carol.pem" --tls-key "$work/carol.key" \
    -t 5 /zklock-tls/acl -- echo held
  expect "alice's certificate without her credentials: queues (x509 identity)" \
    124 "timed out" "$zk" -z "$hosts" "${tls[@]}" -t 2 /zklock-tls/acl -- echo held
else
  bad "alice did not get the lock: $(cat alice.out)"
fi
touch done
wait $alice || bad "alice's hold: exit $? $(cat alice.out)"
proc_reaped $alice
expect "alice again" 0 "^held$" \
  "$zk" -z "$hosts" "${tls[@]}" --auth-file alice.auth -n /zklock-tls/acl -- echo held

echo
if [ "$fails" = 0 ]; then
  echo "test_tls: all passed"
  exit 0
fi
echo "test_tls: $fails failed"
exit 1
