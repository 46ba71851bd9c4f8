#!/usr/bin/env bash
# tests/ensemble.sh - manage a throwaway 3-node ZooKeeper ensemble on 127.0.0.1
# for the zklock test suite.
#
# Usage: tests/ensemble.sh COMMAND [ARGS]
#
#   start            start the ensemble (idempotent) and wait for a quorum;
#                    prints the connection string as the last stdout line
#   stop             kill the recorded servers, wait for them, remove state dir
#   status           print every server's state; exit 0 iff a quorum is serving
#   wait [SECS]      wait until a quorum is serving and every live, unpaused
#                    server is serving (default ZK_START_TIMEOUT)
#   kill N           kill -9 server N (N = 1..3) and wait for it to be gone
#   pause N          SIGSTOP server N
#   resume N         SIGCONT server N
#   restart N        (re)start server N with the same config/data, wait until
#                    it serves again (kills it first if still running)
#   leader [SECS]    print N of the current leader (optionally wait SECS for one)
#   hosts            print the connection string 127.0.0.1:p1,127.0.0.1:p2,...
#   port N           print the client port of server N
#   pid N            print the pid of server N (if running)
#   4lw N CMD        send four-letter word CMD (mntr, srvr, wchp, ...) to server N
#   expire-wait SESSIONID [SECS]
#                    wait until session SESSIONID (0x-hex or decimal) is gone
#                    from every serving server's `dump` (sessions+ephemerals)
#   peerctl          print the control port of the peer proxy (ZK_PEER_PROXY)
#   dir              print the state directory
#   logs N [LINES]   print the tail of server N's log
#
# Environment:
#   ZKLOCK_ENSEMBLE_DIR  state dir (default ${TMPDIR:-/tmp}/zklock-ensemble-$UID-<checkout hash>)
#   ZK_FORCESYNC         forceSync value written to the configs (default: no)
#   ZK_START_TIMEOUT     seconds to wait for start/restart/wait (default: 60)
#   ZK_4LW_TIMEOUT       socket timeout in seconds for four-letter words (default: 5)
#   ZK_TICKTIME          tickTime in ms (default: 500)
#   ZK_HEAP              java -Xmx value (default: 256m)
#   ZK_JAVA              java binary (default: java)
#   ZK_JAVA_OPTS         extra JVM options (word-split)
#   ZK_CONTAINER_CHECK_MS  how often the servers reap empty container nodes
#                        (znode.container.checkIntervalMs, default: 1000)
#   ZK_CLASSPATH         override the java classpath
#   ZK_LOG_LEVEL         log4j level for server logs (default: INFO)
#   ZK_PORT_RANGE        LO-HI range to pick ports from (default: 20000-32000,
#                        below the kernel's ephemeral range)
#   ZK_PYTHON            python3 interpreter (default: /usr/bin/python3)
#   ZK_PORT_REGISTRY     shared port reservation file (default: /tmp/zklock-ensemble-ports.$UID)
#   ZK_PEER_PROXY        path of tests/fault/zkproxy: servers reach each other
#                        through it (zkproxy --peers), so links between servers
#                        can be cut (see `peerctl`); read at the first start
#   ZK_TLS_KEYSTORE      TLS only (tests/test_tls.sh): the client port is a
#                        secureClientPort (Netty, no plain clientPort) with
#                        this key store and ZK_TLS_TRUSTSTORE (PKCS12 or JKS,
#                        both with the password ZK_TLS_PASSWORD); read when
#                        the configs are written (start)
#   ZK_TLS_CA, ZK_TLS_CERT, ZK_TLS_KEY
#                        PEM files the script's own four-letter words use to
#                        talk TLS to such an ensemble (every command)

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT_DIR=$(cd "$SCRIPT_DIR/.." && pwd -P)
NSERVERS=3

if [[ -n ${ZK_PYTHON:-} ]]; then
    PY=$ZK_PYTHON
elif [[ -x /usr/bin/python3 ]]; then
    PY=/usr/bin/python3
else
    PY=python3
fi

if [[ -n ${ZKLOCK_ENSEMBLE_DIR:-} ]]; then
    STATE_DIR=$ZKLOCK_ENSEMBLE_DIR
else
    checkout_id=$(printf '%s' "$ROOT_DIR" | cksum | awk '{print $1}')
    STATE_DIR="${TMPDIR:-/tmp}/zklock-ensemble-${UID}-${checkout_id}"
fi
[[ $STATE_DIR == /* ]] || STATE_DIR="$PWD/$STATE_DIR"
# One spelling per directory ("a/./b", "a//b", links): stop finds its
# servers by the config path in their command lines.
STATE_DIR=$(realpath -m -- "$STATE_DIR")
while [[ $STATE_DIR == */ && $STATE_DIR != / ]]; do STATE_DIR=${STATE_DIR%/}; done

MARKER="$STATE_DIR/.zklock-ensemble"
PORTS_FILE="$STATE_DIR/ports"
HOSTS_FILE="$STATE_DIR/hosts"
LOCK_FILE="$STATE_DIR.lock"
PEER_LINKS="$STATE_DIR/peer-links"
PEER_PID="$STATE_DIR/peer-proxy.pid"
PORT_REGISTRY=${ZK_PORT_REGISTRY:-/tmp/zklock-ensemble-ports.$UID}

FORCESYNC=${ZK_FORCESYNC:-no}
START_TIMEOUT=${ZK_START_TIMEOUT:-60}
FLW_TIMEOUT=${ZK_4LW_TIMEOUT:-5}
TICKTIME=${ZK_TICKTIME:-500}
HEAP=${ZK_HEAP:-256m}
JAVA=${ZK_JAVA:-java}
LOG_LEVEL=${ZK_LOG_LEVEL:-INFO}
CONTAINER_CHECK_MS=${ZK_CONTAINER_CHECK_MS:-1000}
PORT_RANGE=${ZK_PORT_RANGE:-20000-32000}
MAIN_CLASS=org.apache.zookeeper.server.quorum.QuorumPeerMain

# zookeeper.jar's manifest Class-Path pulls in jute, netty, slf4j-api, metrics,
# snappy, commons-*, jackson and jetty; only an slf4j binding (plus log4j 1.2)
# must be added, otherwise slf4j falls back to the NOP logger and logs nothing.
default_classpath() {
    local cp="/etc/zookeeper/conf" j
    local jars="zookeeper zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2"
    # The Netty server (TLS) needs what the manifest leaves out.
    [[ -z ${ZK_TLS_KEYSTORE:-} ]] ||
        jars+=" netty-codec netty-resolver netty-transport-native-unix-common"
    for j in $jars; do
        if [[ -e /usr/share/java/$j.jar ]]; then
            cp+=":/usr/share/java/$j.jar"
        fi
    done
    printf '%s' "$cp"
}
CLASSPATH_ZK=${ZK_CLASSPATH:-$(default_classpath)}

# ---------------------------------------------------------------------------
# python helper (socket I/O, port picking, daemon launching)
# ---------------------------------------------------------------------------
read -r -d '' PYHELPER <<'PYEOF' || true
import errno, fcntl, os, random, socket, subprocess, sys, time

def die(msg, code=1):
    sys.stderr.write(msg + "\n")
    sys.exit(code)

def fourlw(port, cmd, timeout):
    deadline = time.monotonic() + timeout
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if os.environ.get("ZK_TLS_CA"):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(os.environ["ZK_TLS_CA"])
        ctx.load_cert_chain(os.environ["ZK_TLS_CERT"], os.environ["ZK_TLS_KEY"])
        try:
            s = ctx.wrap_socket(s)
        except ssl.SSLError as e:
            s.close()
            raise OSError(errno.ECONNRESET, "TLS: %s" % e)
    try:
        s.sendall(cmd.encode())
        chunks = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            s.settimeout(left)
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        s.close()

def cmd_4lw(args):
    port, cmd, timeout = int(args[0]), args[1], float(args[2])
    try:
        out = fourlw(port, cmd, timeout)
    except (OSError, socket.timeout) as e:
        die("4lw %s to 127.0.0.1:%d failed: %s" % (cmd, port, e))
    sys.stdout.buffer.write(out)
    sys.stdout.flush()

def cmd_mode(args):
    port, timeout = int(args[0]), float(args[1])
    try:
        out = fourlw(port, "srvr", timeout).decode("utf-8", "replace")
    except socket.timeout:
        print("no-answer"); return
    except OSError as e:
        print("refused" if e.errno == errno.ECONNREFUSED else "no-answer"); return
    for line in out.splitlines():
        if line.startswith("Mode:"):
            print(line.split(":", 1)[1].strip()); return
    if "not currently serving" in out:
        print("not-serving"); return
    print("unknown")

def bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()

def cmd_pick(args):
    # pick REGISTRY STATE_DIR NSERVERS LO HI
    # Picks 3*NSERVERS free ports and reserves them in REGISTRY (shared by all
    # ensembles of this user) under an flock, and writes STATE_DIR/ports while
    # still holding the lock.  Reservations of ensembles whose ports file is
    # gone are dropped.
    reg, state, n, lo, hi = args[0], args[1], int(args[2]), int(args[3]), int(args[4])
    fd = os.open(reg, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        keep, reserved = [], set()
        for ln in f.read().splitlines():
            parts = ln.split(" ", 1)
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            if parts[1] == state or not os.path.exists(os.path.join(parts[1], "ports")):
                continue
            keep.append(ln)
            reserved.add(int(parts[0]))
        chosen, tries = [], 0
        while len(chosen) < 3 * n:
            tries += 1
            if tries > 20000:
                die("could not find %d free ports in %d-%d" % (3 * n, lo, hi))
            p = random.randrange(lo, hi)
            if p in reserved or p in chosen or not bindable(p):
                continue
            chosen.append(p)
        tmp = os.path.join(state, "ports.tmp")
        with open(tmp, "w") as pf:
            for i in range(n):
                pf.write("%d %d %d %d\n" % (i + 1, chosen[3*i], chosen[3*i+1], chosen[3*i+2]))
        os.rename(tmp, os.path.join(state, "ports"))
        f.seek(0)
        f.truncate()
        f.write("".join(l + "\n" for l in keep + ["%d %s" % (p, state) for p in chosen]))
        f.flush()

def cmd_release(args):
    # release REGISTRY STATE_DIR: drop STATE_DIR's port reservations
    reg, state = args[0], args[1]
    try:
        fd = os.open(reg, os.O_RDWR)
    except OSError:
        return
    with os.fdopen(fd, "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        keep = [l for l in f.read().splitlines() if l.split(" ", 1)[-1] != state]
        f.seek(0)
        f.truncate()
        f.write("".join(l + "\n" for l in keep))

def cmd_launch(args):
    # launch PIDFILE OUTFILE CWD -- ARGV...
    pidfile, outfile, cwd = args[0], args[1], args[2]
    assert args[3] == "--"
    argv = args[4:]
    with open(outfile, "ab") as out:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, close_fds=True,
                             start_new_session=True, cwd=cwd)
    tmp = pidfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % p.pid)
    os.rename(tmp, pidfile)
    print(p.pid)

{"4lw": cmd_4lw, "mode": cmd_mode, "pick": cmd_pick, "release": cmd_release,
 "launch": cmd_launch}[sys.argv[1]](sys.argv[2:])
PYEOF

py() { "$PY" -c "$PYHELPER" "$@"; }

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
die() { echo "ensemble.sh: $*" >&2; exit 1; }
log() { echo "ensemble.sh: $*" >&2; }

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }

check_n() {
    if ! [[ ${1:-} =~ ^[0-9]+$ ]] || (( $1 < 1 || $1 > NSERVERS )); then
        die "server number must be 1..$NSERVERS (got '${1:-}')"
    fi
}

have_state() { [[ -f $MARKER && -f $PORTS_FILE ]]; }
require_state() { have_state || die "ensemble not started (state dir $STATE_DIR)"; }

sdir() { echo "$STATE_DIR/zk$1"; }
cfg_path() { echo "$STATE_DIR/zk$1/zoo$1.cfg"; }
pid_file() { echo "$STATE_DIR/zk$1/pid"; }

# port_of N FIELD   FIELD: 2=client 3=quorum 4=election
port_of() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$PORTS_FILE"; }
client_port() { port_of "$1" 2; }

hosts_string() {
    local n s=""
    for ((n = 1; n <= NSERVERS; n++)); do
        s+="${s:+,}127.0.0.1:$(client_port "$n")"
    done
    printf '%s\n' "$s"
}

# Prints the pid of server N if it is running (possibly stopped) and really is
# our QuorumPeerMain for our config; returns 1 otherwise.
live_pid() {
    local pf pid cmdline
    pf=$(pid_file "$1")
    [[ -f $pf ]] || return 1
    pid=$(head -n1 "$pf" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
    # zombies have an empty cmdline and therefore fail these checks too
    grep -qxF "$MAIN_CLASS" <<<"$cmdline" || return 1
    grep -qxF "$(cfg_path "$1")" <<<"$cmdline" || return 1
    echo "$pid"
}

proc_state() { # pid -> single-letter state from /proc/pid/stat
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo "?"; return; }
    stat=${stat##*) }
    echo "${stat%% *}"
}

is_paused() {
    local pid
    pid=$(live_pid "$1") || return 1
    [[ $(proc_state "$pid") == [Tt] ]]
}

# server_mode N -> down | paused | leader | follower | not-serving | refused | no-answer ...
server_mode() {
    local pid
    if ! pid=$(live_pid "$1"); then echo down; return; fi
    if [[ $(proc_state "$pid") == [Tt] ]]; then echo paused; return; fi
    py mode "$(client_port "$1")" 2
}

is_serving_mode() { [[ $1 == leader || $1 == follower ]]; }

tail_logs() {
    local n f
    for ((n = 1; n <= NSERVERS; n++)); do
        for f in "$(sdir "$n")/zookeeper.log" "$(sdir "$n")/stdout.log"; do
            [[ -s $f ]] || continue
            echo "----- tail of $f -----" >&2
            tail -n "${1:-25}" "$f" >&2 || true
        done
    done
}

take_lock() {
    mkdir -p "$(dirname "$STATE_DIR")"
    exec 9>>"$LOCK_FILE"
    flock -w 120 9 || die "could not lock $LOCK_FILE"
}

write_configs() {
    local n m d
    cat > "$STATE_DIR/log4j.properties" <<EOF
log4j.rootLogger=\${zookeeper.root.logger}
log4j.appender.ROLLINGFILE=org.apache.log4j.RollingFileAppender
log4j.appender.ROLLINGFILE.File=\${zookeeper.log.dir}/zookeeper.log
log4j.appender.ROLLINGFILE.MaxFileSize=20MB
log4j.appender.ROLLINGFILE.MaxBackupIndex=2
log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout
log4j.appender.ROLLINGFILE.layout.ConversionPattern=%d{ISO8601} - %-5p [%t:%C{1}@%L] - %m%n
EOF
    for ((n = 1; n <= NSERVERS; n++)); do
        d=$(sdir "$n")
        mkdir -p "$d/data"
        echo "$n" > "$d/data/myid"
        {
            echo "tickTime=$TICKTIME"
            echo "initLimit=10"
            echo "syncLimit=5"
            echo "dataDir=$d/data"
            if [[ -n ${ZK_TLS_KEYSTORE:-} ]]; then
                echo "secureClientPort=$(client_port "$n")"
                echo "secureClientPortAddress=127.0.0.1"
                echo "serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory"
                echo "ssl.keyStore.location=$ZK_TLS_KEYSTORE"
                echo "ssl.keyStore.password=${ZK_TLS_PASSWORD:-}"
                echo "ssl.trustStore.location=${ZK_TLS_TRUSTSTORE:-}"
                echo "ssl.trustStore.password=${ZK_TLS_PASSWORD:-}"
            else
                echo "clientPort=$(client_port "$n")"
                echo "clientPortAddress=127.0.0.1"
            fi
            echo "admin.enableServer=false"
            echo "4lw.commands.whitelist=*"
            echo "minSessionTimeout=1000"
            echo "maxSessionTimeout=60000"
            echo "forceSync=$FORCESYNC"
            echo "maxClientCnxns=0"
            echo "autopurge.purgeInterval=0"
            for ((m = 1; m <= NSERVERS; m++)); do
                if [[ -f $PEER_LINKS && $m != "$n" ]]; then
                    # n dials m through the proxy's listener for n -> m
                    echo "server.$m=127.0.0.1:$(awk -v a="$n" -v b="$m" \
                        '$2 == a && $3 == b { print $4 ":" $5 }' "$PEER_LINKS")"
                else
                    echo "server.$m=127.0.0.1:$(port_of "$m" 3):$(port_of "$m" 4)"
                fi
            done
        } > "$(cfg_path "$n")"
    done
}

# The peer proxy (ZK_PEER_PROXY): started before the configs are written,
# since they name its ports. Its output is "link I J QPORT EPORT" lines and
# "ctl PORT" (see tests/fault/zkproxy.c).
start_peer_proxy() {
    local out="$STATE_DIR/peer-proxy.out" spec="" m i bin=$ZK_PEER_PROXY
    [[ $bin == /* ]] || bin="$PWD/$bin" # it runs in the state dir
    for ((m = 1; m <= NSERVERS; m++)); do
        spec+="${spec:+,}127.0.0.1:$(port_of "$m" 3):$(port_of "$m" 4)"
    done
    py launch "$PEER_PID" "$out" "$STATE_DIR" -- "$bin" --peers "$spec" > /dev/null
    for ((i = 0; i < 100; i++)); do
        grep -q '^ctl ' "$out" 2>/dev/null && break
        sleep 0.05
    done
    grep -q '^ctl ' "$out" || die "peer proxy $ZK_PEER_PROXY did not start"
    cp "$out" "$PEER_LINKS"
}

peer_proxy_pid() {
    local pid
    [[ -f $PEER_PID ]] || return 1
    pid=$(head -n1 "$PEER_PID" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    grep -qaF -- "--peers" "/proc/$pid/cmdline" || return 1
    echo "$pid"
}

stop_peer_proxy() {
    local pid i
    if pid=$(peer_proxy_pid); then
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            [[ -r /proc/$pid/cmdline ]] || break
            sleep 0.02
        done
    fi
    rm -f -- "$PEER_PID"
}

launch_server() {
    local n=$1 d cfg
    d=$(sdir "$n")
    cfg=$(cfg_path "$n")
    local -a jopts=()
    # shellcheck disable=SC2206
    if [[ -n ${ZK_JAVA_OPTS:-} ]]; then jopts=(${ZK_JAVA_OPTS}); fi
    {
        echo "===== $(date '+%F %T') starting server $n ====="
    } >> "$d/stdout.log"
    py launch "$(pid_file "$n")" "$d/stdout.log" "$d" -- \
        "$JAVA" "-Xmx$HEAP" -Xms32m -XX:+UseSerialGC -XX:-UsePerfData \
        -Djava.net.preferIPv4Stack=true \
        "-Dlog4j.configuration=file:$STATE_DIR/log4j.properties" \
        "-Dzookeeper.log.dir=$d" -Dzookeeper.log.file=zookeeper.log \
        "-Dzookeeper.root.logger=$LOG_LEVEL,ROLLINGFILE" \
        -Dzookeeper.jmx.log4j.disable=true \
        "-Dznode.container.checkIntervalMs=$CONTAINER_CHECK_MS" \
        "${jopts[@]}" \
        -cp "$CLASSPATH_ZK" "$MAIN_CLASS" "$cfg" > /dev/null
}

# kill_server N: SIGKILL server N (also if paused) and wait until it is gone.
kill_server() {
    local n=$1 pid i
    if pid=$(live_pid "$n"); then
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            live_pid "$n" > /dev/null || break
            sleep 0.05
        done
        if live_pid "$n" > /dev/null; then die "server $n (pid $pid) did not exit"; fi
    fi
    rm -f "$(pid_file "$n")"
}

# wait_until TIMEOUT WHAT PREDICATE: poll PREDICATE; on timeout print status + logs, fail
# The predicate may set FATAL to abort early.
wait_until() {
    local timeout=$1 what=$2 pred=$3 deadline
    deadline=$(( $(now_ms) + timeout * 1000 ))
    FATAL=""
    while :; do
        if "$pred"; then return 0; fi
        if [[ -n $FATAL ]]; then
            log "$FATAL"
            tail_logs 40
            return 1
        fi
        if (( $(now_ms) >= deadline )); then
            log "timed out after ${timeout}s waiting for $what"
            print_status >&2 || true
            tail_logs 40
            return 1
        fi
        sleep 0.2
    done
}

# predicate: all NSERVERS servers serving with exactly one leader
all_serving() {
    local n mode leaders=0 serving=0
    for ((n = 1; n <= NSERVERS; n++)); do
        mode=$(server_mode "$n")
        if [[ $mode == down ]]; then
            FATAL="server $n exited during startup"
            return 1
        fi
        if is_serving_mode "$mode"; then serving=$((serving + 1)); fi
        if [[ $mode == leader ]]; then leaders=$((leaders + 1)); fi
    done
    (( serving == NSERVERS && leaders == 1 ))
}

# predicate: a quorum serving, and every live unpaused server serving
quorum_settled() {
    local n mode leaders=0 serving=0 pending=0
    for ((n = 1; n <= NSERVERS; n++)); do
        mode=$(server_mode "$n")
        case $mode in
            leader) leaders=$((leaders + 1)); serving=$((serving + 1)) ;;
            follower) serving=$((serving + 1)) ;;
            down|paused) ;;
            *) pending=$((pending + 1)) ;;
        esac
    done
    (( leaders == 1 && serving * 2 > NSERVERS && pending == 0 ))
}

WAIT_N=0
one_serving() {
    local mode
    mode=$(server_mode "$WAIT_N")
    if [[ $mode == down ]]; then FATAL="server $WAIT_N exited"; return 1; fi
    is_serving_mode "$mode"
}

find_leader() {
    local n
    for ((n = 1; n <= NSERVERS; n++)); do
        if [[ $(server_mode "$n") == leader ]]; then echo "$n"; return 0; fi
    done
    return 1
}

print_status() {
    local n mode pid leaders=0 serving=0
    for ((n = 1; n <= NSERVERS; n++)); do
        mode=$(server_mode "$n")
        pid=$(live_pid "$n") || pid=-
        printf 'server %d 127.0.0.1:%s pid %s: %s\n' "$n" "$(client_port "$n")" "$pid" "$mode"
        if is_serving_mode "$mode"; then serving=$((serving + 1)); fi
        if [[ $mode == leader ]]; then leaders=$((leaders + 1)); fi
    done
    if (( leaders == 1 && serving * 2 > NSERVERS )); then
        echo "quorum: up ($serving/$NSERVERS serving)"
        return 0
    fi
    echo "quorum: down ($serving/$NSERVERS serving)"
    return 1
}

remove_state_dir() {
    [[ -d $STATE_DIR ]] || return 0
    if [[ -f $MARKER ]]; then
        rm -rf -- "$STATE_DIR"
    else
        # not created by us (or half-created): remove only what we put there
        local n
        for ((n = 1; n <= NSERVERS; n++)); do rm -rf -- "$(sdir "$n")"; done
        rm -f -- "$PORTS_FILE" "$PORTS_FILE.tmp" "$HOSTS_FILE" "$STATE_DIR/log4j.properties"
        rmdir -- "$STATE_DIR" 2>/dev/null || true
    fi
}

# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------
cmd_start() {
    local n t0 pid any_alive=0 all_ok=1 range_lo range_hi
    command -v "$JAVA" > /dev/null || die "java not found ($JAVA)"
    [[ -n ${ZK_CLASSPATH:-} || -e /usr/share/java/zookeeper.jar ]] ||
        die "/usr/share/java/zookeeper.jar not found (install the zookeeper package)"
    take_lock
    t0=$(now_ms)

    if have_state; then
        for ((n = 1; n <= NSERVERS; n++)); do
            if live_pid "$n" > /dev/null; then
                any_alive=1
                is_serving_mode "$(server_mode "$n")" || all_ok=0
            else
                all_ok=0
            fi
        done
        if (( all_ok )); then
            hosts_string > "$HOSTS_FILE"
            cat "$HOSTS_FILE"
            return 0
        fi
        if (( ! any_alive )); then
            log "removing stale state in $STATE_DIR"
            stop_peer_proxy
            remove_state_dir
        fi
    elif [[ -d $STATE_DIR && -n $(ls -A "$STATE_DIR" 2>/dev/null) && ! -f $MARKER ]]; then
        die "$STATE_DIR exists, is not empty and is not an ensemble state dir"
    fi

    if ! have_state; then
        mkdir -p "$STATE_DIR"
        : > "$MARKER"
        [[ $PORT_RANGE =~ ^([0-9]+)-([0-9]+)$ ]] || die "bad ZK_PORT_RANGE '$PORT_RANGE'"
        range_lo=${BASH_REMATCH[1]} range_hi=${BASH_REMATCH[2]}
        py pick "$PORT_REGISTRY" "$STATE_DIR" "$NSERVERS" "$range_lo" "$range_hi" ||
            die "port selection failed"
        if [[ -n ${ZK_PEER_PROXY:-} ]]; then start_peer_proxy; fi
        write_configs
        hosts_string > "$HOSTS_FILE"
    fi

    if [[ -f $PEER_LINKS ]] && ! peer_proxy_pid > /dev/null; then
        die "the peer proxy of $STATE_DIR is gone; stop and start again"
    fi
    for ((n = 1; n <= NSERVERS; n++)); do
        if pid=$(live_pid "$n"); then
            if [[ $(proc_state "$pid") == [Tt] ]]; then kill -CONT "$pid"; fi
        else
            launch_server "$n"
        fi
    done

    if ! wait_until "$START_TIMEOUT" "all $NSERVERS servers to serve" all_serving; then
        log "start failed; killing servers (logs kept in $STATE_DIR)"
        for ((n = 1; n <= NSERVERS; n++)); do kill_server "$n" || true; done
        exit 1
    fi
    log "ensemble up in $(( $(now_ms) - t0 )) ms (leader: server $(find_leader || echo '?'), state: $STATE_DIR)"
    cat "$HOSTS_FILE"
}

cmd_stop() {
    local n
    take_lock
    if [[ -f $PORTS_FILE || -f $MARKER ]]; then
        for ((n = 1; n <= NSERVERS; n++)); do
            if [[ -d $(sdir "$n") ]]; then kill_server "$n"; fi
        done
    fi
    stop_peer_proxy
    remove_state_dir
    py release "$PORT_REGISTRY" "$STATE_DIR" || true
    rm -f -- "$LOCK_FILE"
}

cmd_restart() {
    local n=$1 t0
    check_n "$n"
    take_lock
    require_state
    t0=$(now_ms)
    kill_server "$n"
    launch_server "$n"
    WAIT_N=$n
    wait_until "$START_TIMEOUT" "server $n to serve" one_serving || exit 1
    log "server $n serving as $(server_mode "$n") after $(( $(now_ms) - t0 )) ms"
}

cmd_kill() {
    check_n "$1"
    take_lock
    require_state
    live_pid "$1" > /dev/null || log "server $1 is not running"
    kill_server "$1"
}

cmd_signal() { # SIG N
    local sig=$1 n=$2 pid i want
    check_n "$n"
    require_state
    pid=$(live_pid "$n") || die "server $n is not running"
    kill "-$sig" "$pid"
    [[ $sig == STOP ]] && want=T || want=notT
    for ((i = 0; i < 100; i++)); do
        if [[ $want == T ]]; then
            [[ $(proc_state "$pid") == [Tt] ]] && return 0
        else
            [[ $(proc_state "$pid") != [Tt] ]] && return 0
        fi
        sleep 0.02
    done
    die "server $n did not change state after SIG$sig"
}

cmd_leader() {
    local timeout=${1:-0} deadline
    require_state
    deadline=$(( $(now_ms) + timeout * 1000 ))
    while :; do
        find_leader && return 0
        (( $(now_ms) >= deadline )) && break
        sleep 0.2
    done
    log "no leader"
    return 1
}

cmd_4lw() {
    local n=$1 word=$2
    check_n "$n"
    require_state
    [[ -n $word ]] || die "missing four-letter word"
    if is_paused "$n"; then die "server $n is paused"; fi
    py 4lw "$(client_port "$n")" "$word" "$FLW_TIMEOUT"
}

# session_present HEX: 0 if some serving server still knows the session
# (session tracker or ephemerals in `dump`), 1 if none does, 2 if no leader is
# reachable or a server did not answer (unknown).
session_present() {
    local hex=$1 n mode out leaders=0
    for ((n = 1; n <= NSERVERS; n++)); do
        mode=$(server_mode "$n")
        is_serving_mode "$mode" || continue
        if [[ $mode == leader ]]; then leaders=$((leaders + 1)); fi
        out=$(py 4lw "$(client_port "$n")" dump "$FLW_TIMEOUT" 2>/dev/null) || return 2
        if grep -qiw -- "$hex" <<<"$out"; then return 0; fi
    done
    (( leaders == 1 )) || return 2
    return 1
}

cmd_expire_wait() {
    local sid=$1 timeout=${2:-$START_TIMEOUT} hex deadline rc
    require_state
    [[ $sid =~ ^(0[xX][0-9a-fA-F]+|[0-9]+)$ ]] || die "bad session id '$sid'"
    hex=$(printf '0x%x' "$sid")
    deadline=$(( $(now_ms) + timeout * 1000 ))
    while :; do
        rc=0
        session_present "$hex" || rc=$?
        if (( rc == 1 )); then return 0; fi
        if (( $(now_ms) >= deadline )); then
            die "session $hex still present (or no quorum) after ${timeout}s"
        fi
        sleep 0.2
    done
}

main() {
    local cmd=${1:-}
    [[ -n $cmd ]] || usage
    shift
    case $cmd in
        start) cmd_start ;;
        stop) cmd_stop ;;
        status)
            have_state || { echo "not running ($STATE_DIR)"; return 1; }
            print_status ;;
        wait)
            require_state
            wait_until "${1:-$START_TIMEOUT}" "the quorum to settle" quorum_settled || exit 1 ;;
        kill) cmd_kill "${1:-}" ;;
        pause) cmd_signal STOP "${1:-}" ;;
        resume) cmd_signal CONT "${1:-}" ;;
        restart) cmd_restart "${1:-}" ;;
        leader) cmd_leader "${1:-0}" ;;
        hosts)
            require_state
            if [[ -s $HOSTS_FILE ]]; then cat "$HOSTS_FILE"; else hosts_string; fi ;;
        port) check_n "${1:-}"; require_state; client_port "$1" ;;
        pid) check_n "${1:-}"; require_state; live_pid "$1" || die "server $1 is not running" ;;
        4lw) cmd_4lw "${1:-}" "${2:-}" ;;
        expire-wait) [[ -n ${1:-} ]] || usage; cmd_expire_wait "$1" "${2:-}" ;;
        peerctl)
            require_state
            [[ -f $PEER_LINKS ]] || die "no peer proxy (start with ZK_PEER_PROXY)"
            awk '$1 == "ctl" { print $2 }' "$PEER_LINKS" ;;
        dir) echo "$STATE_DIR" ;;
        logs) check_n "${1:-}"; tail -n "${2:-50}" "$(sdir "$1")/zookeeper.log" ;;
        -h|--help|help) usage ;;
        *) log "unknown command '$cmd'"; usage ;;
    esac
}

main "$@"
