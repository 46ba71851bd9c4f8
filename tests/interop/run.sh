#!/bin/sh
# Driver for the interop workers (Curator 5.4 and kazoo 2.8 from Debian).
#
#   run.sh build OUTDIR             javac CuratorLock.java into OUTDIR (once;
#                                   again only when the source is newer)
#   run.sh curator OUTDIR ARGS...   java CuratorLock ARGS... (see its header)
#   run.sh kazoo ARGS...            kazoo_lock.py ARGS...
#   run.sh check ARGS...            check.py ARGS... (intervals, nodes, tree)
#   run.sh classpath                print the Curator classpath
#
# Packages: libcurator-recipes-java libcurator-framework-java
# libcurator-client-java libslf4j-java (the jars below, from /usr/share/java),
# default-jdk-headless (javac), python3-kazoo.
set -e
here=$(cd "$(dirname "$0")" && pwd)
PY=${ZK_PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
JAVA=${ZK_JAVA:-java}
JAVAC=${ZK_JAVAC:-javac}

classpath() {
  cp=
  for j in curator-framework curator-client curator-recipes zookeeper \
    zookeeper-jute guava slf4j-api slf4j-nop netty-handler \
    netty-transport-native-epoll netty-common netty-buffer netty-transport \
    netty-resolver netty-codec netty-transport-native-unix-common \
    commons-lang3; do
    f=/usr/share/java/$j.jar
    if [ ! -f "$f" ]; then
      echo "run.sh: missing $f (apt-get install libcurator-recipes-java libslf4j-java)" >&2
      return 1
    fi
    cp=${cp:+$cp:}$f
  done
  printf '%s\n' "$cp"
}

cmd=$1
[ $# -gt 0 ] && shift
case $cmd in
classpath) classpath ;;
build)
  out=${1:?OUTDIR}
  mkdir -p "$out"
  if [ ! -f "$out/CuratorLock.class" ] ||
    [ "$here/CuratorLock.java" -nt "$out/CuratorLock.class" ]; then
    command -v "$JAVAC" >/dev/null 2>&1 || {
      echo "run.sh: no javac (apt-get install default-jdk-headless)" >&2
      exit 1
    }
    cp=$(classpath)
    "$JAVAC" -nowarn -d "$out" -cp "$cp" "$here/CuratorLock.java"
  fi
  ;;
curator)
  out=${1:?OUTDIR}
  shift
  cp=$(classpath)
  exec "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 -Xshare:auto -cp "$cp:$out" CuratorLock "$@"
  ;;
kazoo) exec "$PY" "$here/kazoo_lock.py" "$@" ;;
check) exec "$PY" "$here/check.py" "$@" ;;
*)
  sed -n '2,12p' "$0" >&2
  exit 2
  ;;
esac
