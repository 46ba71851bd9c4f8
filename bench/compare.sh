#!/usr/bin/env bash
# bench/compare.sh - zklock next to Apache Curator and kazoo, on one fresh
# standalone ZooKeeper (fsync on), in one run; prints the figures and their
# ratios. Measures only: it never fails because a figure is bad.
#
# Usage (from anywhere): ./bench/compare.sh [--delay MS] [--ensemble]
#
#   --delay MS   every client program (zklock-bench, the Curator and kazoo
#                anchors) connects through the fault proxy
#                (tests/fault/zkproxy) that holds each packet MS ms, both
#                ways (a round trip costs 2*MS more): what a network between
#                the clients and ZooKeeper costs. The warm-up goes direct,
#                the delay is set after it; requests are counted on the
#                servers themselves (zklock-bench -M, BENCH_MNTR_HOSTS).
#   --ensemble   a fresh 3-node ensemble from tests/ensemble.sh (its own
#                ZKLOCK_ENSEMBLE_DIR under the temp dir, forceSync=yes,
#                stopped on exit, failures too) instead of the standalone
#                server; the sessions are spread over the servers (each
#                connection string lists all three, rotated by one place per
#                session and tried in order: zklock-bench -S, BENCH_SPREAD=1
#                for the anchors), so most writes are forwarded to the
#                leader. With --delay too, the proxy fronts all three.
#
# Every run starts with an untimed warm-up (BENCH_WARMUP seconds of
# zklock-bench and one Curator run: a fresh server, an ensemble above all,
# is several times slower in its first minutes), and each round runs its
# programs in a rotated order, so none always goes first.
#
# Environment:
#   BENCH_N        acquisitions per uncontended/contended scenario (2000)
#   BENCH_HERD     waiters in the herd scenario (1000, over 20 sessions)
#   BENCH_ROUNDS   rounds of the uncontended, contended-8, rwlock and
#                  semaphore runs (3)
#   BENCH_HERD_ROUNDS  rounds of the herd (3; the table takes the median)
#   BENCH_ASYNC_HERD   waiters of the async herd (10000, one thread, one
#                  session; zklock only)
#   BENCH_PATHS    paths:P:K specs of the many-paths rows ("64:1"): P
#                  lock paths, K sessions each, zklock and Curator, with
#                  zklock-bench rawpaths:P:K (raw create+delete pairs/s at
#                  the same P*K sessions) as the floor
#   BENCH_HANDOFF_N  delete->NodeDeleted samples of the handoff floor
#                  (rawhandoff) per round (N/4, at least 100)
#   BENCH_WARMUP   seconds of warm-up (20; 90 with --ensemble)
#   BENCH_BUILD    build/<name> to build zklock-bench in (default)
#   BENCH_TIMEOUT  seconds any one program may run (900)
#   BENCH_KEEP=1   keep the temp dir (server log, raw output)
#   ZK_JAVA_OPTS   extra JVM options for the server
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${BENCH_N:-2000}
HERD=${BENCH_HERD:-1000}
HERD_SESSIONS=20
ROUNDS=${BENCH_ROUNDS:-3}
HERD_ROUNDS=${BENCH_HERD_ROUNDS:-3}
ASYNC_HERD=${BENCH_ASYNC_HERD:-10000}
RW_SESSIONS=8
RW_READS=80
SEM_PERMITS=5
SEM_SESSIONS=20
BUILD=${BENCH_BUILD:-default}
TIMEOUT=${BENCH_TIMEOUT:-900}
PY=/usr/bin/python3
ANCHORS="$ROOT/bench/anchors"

say() { printf '== %s\n' "$*" >&2; }
usage() {
  echo "usage: $0 [--delay MS] [--ensemble]" >&2
  exit 2
}
DELAY=""
ENSEMBLE=0
while [ $# -gt 0 ]; do
  case $1 in
  --delay)
    if [ $# -lt 2 ] || [[ ! $2 =~ ^[0-9]+$ ]]; then usage; fi
    DELAY=$2
    shift 2
    ;;
  --delay=*)
    DELAY=${1#--delay=}
    [[ $DELAY =~ ^[0-9]+$ ]] || usage
    shift
    ;;
  --ensemble)
    ENSEMBLE=1
    shift
    ;;
  *) usage ;;
  esac
done
PATHS_SPECS=${BENCH_PATHS:-64:1}
# shellcheck disable=SC2034 # used in in_turn's evaluated strings
HANDOFF_N=${BENCH_HANDOFF_N:-$((N / 4 > 100 ? N / 4 : 100))}
WARMUP_S=${BENCH_WARMUP:-$([ "$ENSEMBLE" = 1 ] && echo 90 || echo 20)}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- packages ----
PKGS="zookeeper libcurator-recipes-java
  libcurator-framework-java libcurator-client-java libslf4j-java
  python3 python3-kazoo libzookeeper-mt-dev build-essential autoconf
  automake libtool pkg-config procps"
missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
command -v javac >/dev/null || missing+=(default-jdk-headless)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
    --no-install-recommends "${missing[@]}" >/dev/null || {
    echo "compare.sh: could not install ${missing[*]}" >&2
    exit 1
  }
fi

# ---- build zklock-bench with the normal build ----
say "building zklock-bench in build/$BUILD"
(
  # shellcheck source=../scripts/common.sh
  source "$ROOT/scripts/common.sh"
  build "$BUILD" >&2 && make -s bench/zklock-bench tests/fault/zkproxy >&2
) || {
  echo "compare.sh: build failed" >&2
  exit 1
}
ZB="$ROOT/build/$BUILD/bench/zklock-bench"
ZP="$ROOT/build/$BUILD/tests/fault/zkproxy"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zklock-compare.XXXXXX")
ZKPID=""
PROXYPID=""
ENSDIR=""
cleanup() {
  for p in $PROXYPID $ZKPID; do
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  if [ -n "$ENSDIR" ]; then
    ZKLOCK_ENSEMBLE_DIR=$ENSDIR "$ROOT/tests/ensemble.sh" stop >/dev/null 2>&1 ||
      echo "compare.sh: could not stop the ensemble in $ENSDIR" >&2
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- Curator anchor ----
CP=""
for j in curator-framework curator-client curator-recipes zookeeper \
  zookeeper-jute guava slf4j-api slf4j-nop netty-handler \
  netty-transport-native-epoll netty-common netty-buffer netty-transport \
  netty-resolver netty-codec netty-transport-native-unix-common \
  commons-lang3; do
  CP+="${CP:+:}/usr/share/java/$j.jar"
done
mkdir -p "$WORK/curator"
cp "$ANCHORS/CuratorBench.java" "$WORK/curator/"
(cd "$WORK/curator" && javac -cp "$CP" CuratorBench.java) || {
  echo "compare.sh: javac CuratorBench.java failed" >&2
  exit 1
}

fourlw() { # PORT WORD
  $PY - "$1" "$2" <<'EOF'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(sys.argv[2].encode())
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    sys.stdout.write(out.decode(errors="replace"))
except OSError:
    pass
EOF
}

# ---- standalone server: fsync on (forceSync default), own data dir ----
start_standalone() {
  PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  SERVER_HOSTS="127.0.0.1:$PORT"
  mkdir -p "$WORK/data"
  cat >"$WORK/zoo.cfg" <<EOF
tickTime=2000
dataDir=$WORK/data
clientPort=$PORT
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
maxClientCnxns=0
EOF
  cat >"$WORK/log4j.properties" <<EOF
log4j.rootLogger=WARN, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=$WORK/zookeeper.log
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %m%n
EOF
  local scp="/usr/share/java/zookeeper.jar" j
  for j in zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2; do
    [ -e "/usr/share/java/$j.jar" ] && scp+=":/usr/share/java/$j.jar"
  done
  say "starting ZooKeeper on $SERVER_HOSTS (dataDir $WORK/data)"
  # shellcheck disable=SC2086
  java -Xmx512m -Djava.net.preferIPv4Stack=true \
    "-Dlog4j.configuration=file:$WORK/log4j.properties" \
    -Dzookeeper.jmx.log4j.disable=true ${ZK_JAVA_OPTS:-} \
    -cp "$scp" org.apache.zookeeper.server.ZooKeeperServerMain "$WORK/zoo.cfg" \
    >"$WORK/server.out" 2>&1 &
  ZKPID=$!
  for _ in $(seq 1 120); do
    [ "$(fourlw "$PORT" ruok)" = imok ] && break
    kill -0 "$ZKPID" 2>/dev/null || break
    sleep 0.5
  done
  if [ "$(fourlw "$PORT" ruok)" != imok ]; then
    echo "compare.sh: ZooKeeper did not start; its output:" >&2
    tail -20 "$WORK/server.out" "$WORK/zookeeper.log" >&2 2>/dev/null
    exit 1
  fi
}

# ---- 3-node ensemble (tests/ensemble.sh), fsync on like the standalone ----
start_ensemble() {
  ENSDIR="$WORK/ensemble"
  say "starting a 3-node ensemble (tests/ensemble.sh, state $ENSDIR)"
  SERVER_HOSTS=$(ZKLOCK_ENSEMBLE_DIR=$ENSDIR ZK_FORCESYNC=yes ZK_HEAP=512m \
    "$ROOT/tests/ensemble.sh" start 2>"$WORK/ensemble.err" | tail -1)
  if [[ ! $SERVER_HOSTS =~ ^127\.0\.0\.1:[0-9]+, ]]; then
    echo "compare.sh: the ensemble did not start:" >&2
    tail -20 "$WORK/ensemble.err" >&2
    exit 1
  fi
  PORT=${SERVER_HOSTS%%,*}
  PORT=${PORT##*:}
}

# ---- the fault proxy in front of the server(s); delay set after warm-up ----
start_proxy() {
  "$ZP" "$SERVER_HOSTS" >"$WORK/proxy.out" 2>"$WORK/proxy.err" &
  PROXYPID=$!
  local line=""
  for _ in $(seq 1 100); do
    line=$(grep -m1 '^hosts ' "$WORK/proxy.out" 2>/dev/null)
    [ -n "$line" ] && break
    sleep 0.1
  done
  [[ $line =~ ^hosts\ ([^ ]+)\ ctl\ ([0-9]+) ]] || {
    echo "compare.sh: zkproxy did not start" >&2
    cat "$WORK/proxy.err" >&2
    exit 1
  }
  PROXY_HOSTS=${BASH_REMATCH[1]}
  PROXY_CTL=${BASH_REMATCH[2]}
}
proxy_ctl() { # CMD: one line to the proxy's control port, prints the reply
  $PY - "$PROXY_CTL" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall((sys.argv[2] + "\n").encode())
print(s.makefile().readline().strip())
EOF
}

if [ "$ENSEMBLE" = 1 ]; then start_ensemble; else start_standalone; fi
ZKVER=$(fourlw "$PORT" srvr | sed -n 's/^Zookeeper version: \([^,-]*\).*/\1/p')
HOSTS=$SERVER_HOSTS
if [ -n "$DELAY" ]; then
  start_proxy
  HOSTS=$PROXY_HOSTS
fi
# zklock-bench options: the connect string, the servers to count requests
# on, -S (spread the sessions) on an ensemble; the anchors read the env
ZO=(-z "$HOSTS" -M "$SERVER_HOSTS")
export BENCH_MNTR_HOSTS=$SERVER_HOSTS
if [ "$ENSEMBLE" = 1 ]; then
  ZO+=(-S)
  export BENCH_SPREAD=1
fi

# ---- runs: every program's lines go to $OUT (and the terminal) ----
OUT="$WORK/results.txt"
: >"$OUT"
run() {
  say "$*"
  timeout "$TIMEOUT" "$@" 2>"$WORK/last.err" | tee -a "$OUT"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ]; then
    echo "   (exit $rc; stderr follows)" >&2
    tail -5 "$WORK/last.err" >&2
  fi
}
# runtag TAG CMD...: run, with "zklock " at the start of each line turned
# into "TAG " (the await_release=1 A/B runs)
runtag() {
  local tag=$1
  shift
  say "$*"
  timeout "$TIMEOUT" "$@" 2>"$WORK/last.err" | sed "s/^zklock /$tag /" |
    tee -a "$OUT"
}
curator() { run java -cp "$CP:$WORK/curator" CuratorBench "$HOSTS" "$@"; }
kazoo() { run "$PY" "$ANCHORS/kazoo_bench.py" "$HOSTS" "$@"; }
# in_turn R CMD...: evaluates the CMDs starting with the (R mod n)-th, so
# that across rounds no program always goes first or follows the same one
in_turn() {
  local r=$1 i
  shift
  local cmds=("$@")
  for ((i = 0; i < ${#cmds[@]}; i++)); do
    eval "${cmds[(r + i) % ${#cmds[@]}]}"
  done
}

# ---- warm-up: untimed, straight to the server(s), output kept apart ----
warmup() {
  local t0=$SECONDS pass=0 zo=(-z "$SERVER_HOSTS" -M "$SERVER_HOSTS")
  [ "$ENSEMBLE" = 1 ] && zo+=(-S)
  say "warm-up: ${WARMUP_S}s of zklock-bench, then Curator"
  while [ "$pass" -eq 0 ] || [ $((SECONDS - t0)) -lt "$WARMUP_S" ]; do
    pass=$((pass + 1))
    timeout "$TIMEOUT" "$ZB" "${zo[@]}" -n 500 -w 50 raw mutex contended:8 \
      paths:8:1 >>"$WORK/warmup.txt" 2>&1
    say "warm-up pass $pass ($((SECONDS - t0))s): raw create+delete median" \
      "$(grep '^raw create+delete' "$WORK/warmup.txt" | tail -1 |
        sed 's/.*median_us=\([^ ]*\).*/\1/') us"
  done
  timeout "$TIMEOUT" java -cp "$CP:$WORK/curator" CuratorBench "$SERVER_HOSTS" \
    handoff:8 500 >>"$WORK/warmup.txt" 2>&1
}
warmup
if [ -n "$DELAY" ]; then
  say "proxy $PROXY_HOSTS: $(proxy_ctl "delay $DELAY")"
fi

# The programs in turn (rotated per round), ROUNDS times (the table takes
# the median of the rounds: a shared machine has slow minutes), then the
# herd (in a fresh process: its memory figure is an RSS delta), then the
# breakdown. zklock-await is zklock with await_release=1 (unlock waits for
# the delete), in the same rounds: the gain of the pipelined release.
# shellcheck disable=SC2016 # in_turn evaluates its arguments
for r in $(seq 1 "$ROUNDS"); do
  in_turn "$r" 'run "$ZB" "${ZO[@]}" -n "$N" raw mutex' \
    'runtag zklock-await "$ZB" "${ZO[@]}" -A -n "$N" mutex' \
    'curator mutex "$N"' 'kazoo mutex "$N"'
done
# contended-8 with the handoff latency, and its floor (rawhandoff)
# shellcheck disable=SC2016
for r in $(seq 1 "$ROUNDS"); do
  in_turn "$r" 'run "$ZB" "${ZO[@]}" -n "$N" contended:8' \
    'runtag zklock-await "$ZB" "${ZO[@]}" -A -n "$N" contended:8' \
    'curator handoff:8 "$N"' 'kazoo handoff:8 "$N"' \
    'run "$ZB" "${ZO[@]}" -n "$HANDOFF_N" -w 50 rawhandoff'
done
# many paths (uncontended by path when K=1), and the raw pairs/s floor
# shellcheck disable=SC2016
for pk in $PATHS_SPECS; do
  for r in $(seq 1 "$ROUNDS"); do
    in_turn "$r" 'run "$ZB" "${ZO[@]}" -n "$N" "paths:$pk"' \
      'curator "paths:$pk" "$N"' 'run "$ZB" "${ZO[@]}" -n "$N" "rawpaths:$pk"'
  done
done
# shellcheck disable=SC2016
for r in $(seq 1 "$HERD_ROUNDS"); do
  in_turn "$r" \
    'run "$ZB" "${ZO[@]}" -t "$TIMEOUT" "herd:$HERD_SESSIONS:$HERD"' \
    'curator "herd:$HERD_SESSIONS" "$HERD"'
done
# read-mostly rwlock and the semaphore, round-robin like the above; the
# semaphore column of zklock stays empty while the binary says unsupported
# shellcheck disable=SC2016
for r in $(seq 1 "$ROUNDS"); do
  in_turn "$r" 'run "$ZB" "${ZO[@]}" -n "$N" "rwlock:$RW_SESSIONS:$RW_READS"' \
    'curator "rwlock:$RW_SESSIONS:$RW_READS" "$N"' \
    'kazoo "rwlock:$RW_SESSIONS:$RW_READS" "$N"'
done
# shellcheck disable=SC2016
for r in $(seq 1 "$ROUNDS"); do
  in_turn "$r" 'run "$ZB" "${ZO[@]}" -n "$N" "sem:$SEM_PERMITS:$SEM_SESSIONS"' \
    'curator "sem:$SEM_PERMITS:$SEM_SESSIONS" "$N"' \
    'kazoo "sem:$SEM_PERMITS:$SEM_SESSIONS" "$N"'
done
# async herd: one thread, one session; Curator and kazoo have no async lock
run "$ZB" "${ZO[@]}" -t "$TIMEOUT" "asyncherd:1:$ASYNC_HERD"
# ... and at the threaded herd's W, to compare the drain per handoff
[ "$HERD" != "$ASYNC_HERD" ] &&
  run "$ZB" "${ZO[@]}" -t "$TIMEOUT" "asyncherd:1:$HERD"
run "$ZB" "${ZO[@]}" -n "$N" contended:2 contended:32 rwlock:8
# Interleaved, one op of each per round: what each request costs. -R 60000
# gives the raw handles the resolution delay a tuned client would use.
run "$ZB" "${ZO[@]}" -n "$((N / 2))" -R 60000 split

# ---- table ----
# get PREFIX KEY: the median over all result lines starting with PREFIX of
# the value of KEY= (the lower middle one for an even count)
get() {
  awk -v p="$1" -v k="$2" 'index($0, p) == 1 {
      for (i = 1; i <= NF; i++) if (index($i, k "=") == 1)
        print substr($i, length(k) + 2) }' "$OUT" | sort -g |
    awk '{ v[NR] = $0 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
ratio() { # a/b, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0)
      print "n/a"; else printf "%.2f", a / b }'
}
row() { # label zklock curator kazoo target
  printf '%-30s %10s %10s %10s %8s %8s   %s\n' "$1" "${2:-n/a}" "${3:-n/a}" \
    "${4:-n/a}" "$(ratio "$2" "$3")" "$(ratio "$2" "$4")" "$5"
}

AHB="zklock mutex asyncherd: sessions=1 waiters=$ASYNC_HERD "
AHS="zklock mutex asyncherd: sessions=1 waiters=$HERD "
zu_med=$(get "zklock mutex uncontended" median_us)
zu_ops=$(get "zklock mutex uncontended" ops_s)
cu_med=$(get "curator mutex uncontended" median_us)
cu_ops=$(get "curator mutex uncontended" ops_s)
ku_med=$(get "kazoo mutex uncontended" median_us)
ku_ops=$(get "kazoo mutex uncontended" ops_s)
zc8=$(get "zklock mutex contended: clients=8 " ops_s)
cc8=$(get "curator mutex contended: clients=8 " ops_s)
kc8=$(get "kazoo mutex contended: clients=8 " ops_s)
zh=$(get "zklock mutex herd" drain_ms)
ch=$(get "curator mutex herd" drain_ms)
raw=$(get "raw create+delete" median_us)
c8p="mutex contended: clients=8 "
zh50=$(get "zklock $c8p" handoff_median_us)
zh99=$(get "zklock $c8p" handoff_p99_us)
ch50=$(get "curator $c8p" handoff_median_us)
ch99=$(get "curator $c8p" handoff_p99_us)
kh50=$(get "kazoo $c8p" handoff_median_us)
kh99=$(get "kazoo $c8p" handoff_p99_us)
fl50=$(get "raw handoff delete->NodeDeleted" median_us)
fl99=$(get "raw handoff delete->NodeDeleted" p99_us)
SETUP="standalone, fsync on"
[ "$ENSEMBLE" = 1 ] && SETUP="3-node ensemble (tests/ensemble.sh, forceSync=yes), sessions spread over the servers"
[ -n "$DELAY" ] && SETUP+=", through zkproxy +$DELAY ms each way"

echo
echo "zklock vs Curator $(ls /usr/share/java/curator-recipes-*.jar 2>/dev/null |
  sed 's/.*recipes-\(.*\)\.jar/\1/') and kazoo $(dpkg-query -W -f='${Version}' python3-kazoo 2>/dev/null)" \
  "on ZooKeeper ${ZKVER:-?} $SETUP, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cpu, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "load at start: $LOAD0"
echo "zklock $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src recipes include 2>/dev/null || echo '+local changes'), n=$N, medians of $ROUNDS rounds, herd $HERD_SESSIONS sessions x $HERD waiters (median of $HERD_ROUNDS), warm-up ${WARMUP_S}s"
echo
printf '%-30s %10s %10s %10s %8s %8s   %s\n' metric zklock curator kazoo \
  zk/cur zk/kaz "target"
row "uncontended median (us)" "$zu_med" "$cu_med" "$ku_med" "zk/cur <= 0.67"
row "uncontended ops/s" "$zu_ops" "$cu_ops" "$ku_ops" "zk/cur >= 1.5"
row "contended-8 ops/s" "$zc8" "$cc8" "$kc8" "zk/cur >= 1.5"
row "handoff median (us), cont-8" "$zh50" "$ch50" "$kh50" "zk/floor <= 1.2"
row "handoff p99 (us), cont-8" "$zh99" "$ch99" "$kh99" "-"
row "handoff requests, median" "$(get "zklock $c8p" handoff_requests_median)" \
  "" "" "sent between unlock and grant"
row "handoff requests, max" "$(get "zklock $c8p" handoff_requests_max)" \
  "" "" "sent between unlock and grant"
row "handoff floor median (us)" "$fl50" "" "" "raw delete->NodeDeleted"
row "handoff floor p99 (us)" "$fl99" "" "" "raw delete->NodeDeleted"
for pk in $PATHS_SPECS; do
  pp="paths: paths=${pk%%:*} per_path=${pk#*:} "
  row "paths:$pk acquisitions/s" "$(get "zklock mutex $pp" ops_s)" \
    "$(get "curator mutex $pp" ops_s)" "" "zk/cur >= 2"
  row "paths:$pk median (us)" "$(get "zklock mutex $pp" median_us)" \
    "$(get "curator mutex $pp" median_us)" "" "-"
  row "rawpaths:$pk pairs/s (floor)" "$(get "raw paths create+delete: ${pp#paths: }" ops_s)" \
    "" "" "raw create+delete"
done
row "herd drain (ms, median of $HERD_ROUNDS)" "$zh" "$ch" "" "zk/cur <= 0.5"
row "await_release=1 unc median" "$(get "zklock-await mutex uncontended" median_us)" "$cu_med" "$ku_med" "(A/B)"
row "await_release=1 unc ops/s" "$(get "zklock-await mutex uncontended" ops_s)" "$cu_ops" "$ku_ops" "(A/B)"
row "await_release=1 cont-8 ops/s" "$(get "zklock-await mutex contended: clients=8 " ops_s)" "$cc8" "$kc8" "(A/B)"
rwp="rwlock mixed: clients=$RW_SESSIONS reads_pct=$RW_READS "
row "rwlock-$RW_SESSIONS ${RW_READS}% reads ops/s" "$(get "zklock $rwp" ops_s)" \
  "$(get "curator $rwp" ops_s)" "$(get "kazoo $rwp" ops_s)" "-"
row "rwlock-$RW_SESSIONS ${RW_READS}% median (us)" "$(get "zklock $rwp" median_us)" \
  "$(get "curator $rwp" median_us)" "$(get "kazoo $rwp" median_us)" "-"
smp="semaphore: permits=$SEM_PERMITS sessions=$SEM_SESSIONS "
zs_ops=$(get "zklock ${smp}n=" ops_s)
row "sem $SEM_PERMITS/$SEM_SESSIONS handoffs/s" "$zs_ops" \
  "$(get "curator $smp" ops_s)" "$(get "kazoo $smp" ops_s)" "zk/cur >= 2"
row "sem $SEM_PERMITS/$SEM_SESSIONS median (us)" "$(get "zklock ${smp}n=" median_us)" \
  "$(get "curator $smp" median_us)" "$(get "kazoo $smp" median_us)" "-"
row "sem requests per release" "$(get "zklock ${smp}n=" requests_per_release)" \
  "$(get "curator $smp" requests_per_op)" "$(get "kazoo $smp" requests_per_op)" "-"
row "async heap per waiting lock (B)" "$(get "$AHB" heap_per_waiter_bytes)" \
  "" "" "zklock < 1024"
row "async RSS/lock, settled+trim (B)" "$(get "$AHB" rss_trimmed_per_waiter)" \
  "" "" "zklock < 1024"
row "async RSS/lock, settled (B)" "$(get "$AHB" mem_per_waiter_bytes)" \
  "" "" "-"
row "async herd drain (ms)" "$(get "$AHB" drain_ms)" "" "" "-"
row "herd per handoff (us), W=$HERD" "$(get "zklock mutex herd" per_handoff_us)" \
  "" "" "20 sessions, a thread per waiter"
row "async herd per handoff (us), W=$HERD" "$(get "$AHS" per_handoff_us)" \
  "" "" "one thread: <= the line above"
grep -q "^kazoo ${rwp}deadlock=1" "$OUT" &&
  echo "(kazoo rwlock: deadlocked in $(grep -c "^kazoo ${rwp}deadlock=1" "$OUT") of $ROUNDS rounds, python-zk/kazoo#649, fixed in kazoo 2.9; its figures come from the other rounds)"
grep -q "^zklock ${smp}.*unsupported" "$OUT" &&
  echo "(zklock semaphore: this zklock-bench was built without ZKLOCK_BENCH_SEMAPHORE)"
echo
printf 'zklock uncontended median / raw create+delete median: %s (%s / %s us; target <= 1.1)\n' \
  "$(ratio "$zu_med" "$raw")" "${zu_med:-n/a}" "${raw:-n/a}"
printf 'floors measured in this run:\n'
printf '  handoff (contended-8, unlock call -> next grant) / raw delete->NodeDeleted (%s us): zklock %s (target <= 1.2), curator %s, kazoo %s\n' \
  "${fl50:-n/a}" "$(ratio "$zh50" "$fl50")" "$(ratio "$ch50" "$fl50")" \
  "$(ratio "$kh50" "$fl50")"
for pk in $PATHS_SPECS; do
  pp="paths: paths=${pk%%:*} per_path=${pk#*:} "
  fp=$(get "raw paths create+delete: ${pp#paths: }" ops_s)
  printf '  paths:%s acquisitions/s / raw create+delete pairs/s at %s sessions (%s): zklock %s (target >= 0.9), curator %s; zklock/curator %s (target >= 2)\n' \
    "$pk" "$((${pk%%:*} * ${pk#*:}))" "${fp:-n/a}" \
    "$(ratio "$(get "zklock mutex $pp" ops_s)" "$fp")" \
    "$(ratio "$(get "curator mutex $pp" ops_s)" "$fp")" \
    "$(ratio "$(get "zklock mutex $pp" ops_s)" "$(get "curator mutex $pp" ops_s)")"
done
printf 'sessions landed on servers (distinct): contended-8 %s, rawhandoff %s, paths %s\n' \
  "$(get "zklock $c8p" servers)" "$(get "raw handoff" servers)" \
  "$(get "zklock mutex paths" servers)"
printf 'interleaved (split), each vs raw create+delete with resolution delay:\n'
grep '^split ' "$OUT" | sed 's/^split /  /; s/: n=[0-9]* median_us=/: median_us=/'
printf 'zklock requests: %s per uncontended acquire+release, %s per herd handoff (target O(1))\n' \
  "$(get "zklock mutex uncontended" requests_per_op)" \
  "$(get "zklock mutex herd" requests_per_handoff)"
printf 'zklock async herd (%s waiters, one thread): queued in %s ms, %s requests per handoff\n' \
  "$ASYNC_HERD" "$(get "$AHB" queue_ms)" \
  "$(get "$AHB" requests_per_handoff)"
printf 'zklock requests per op: rwlock-%s %s, await_release=1 uncontended %s\n' \
  "$RW_SESSIONS" "$(get "zklock $rwp" requests_per_op)" \
  "$(get "zklock-await mutex uncontended" requests_per_op)"
printf 'zklock herd: %s bytes RSS per waiting lock; violations (all runs, every library): %s\n' \
  "$(get "zklock mutex herd" mem_per_waiter_bytes)" \
  "$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^violations=/) {
      split($i, a, "="); s += a[2] } } END { print s + 0 }' "$OUT")"
exit 0
