#!/usr/bin/env bash
# Builds the ZooKeeper C client with TLS (OpenSSL) from Debian's own
# zookeeper 3.8.0 source package and installs it into build/zk-tls
# (include/zookeeper/*.h, lib/libzookeeper_mt.so*). Debian's
# libzookeeper-mt is built without OpenSSL, so zookeeper_init_ssl is
# missing there; this is the client `configure --with-zookeeper=build/zk-tls`
# and `./scripts/test.sh --tls` use.
#
#   scripts/build-tls-client.sh [PREFIX]   (default: build/zk-tls)
#
# Cached and idempotent: a PREFIX whose stamp names the same source version
# is left alone (remove PREFIX to rebuild). The source is fetched with a
# private apt configuration under build/zk-tls-src (a deb-src entry for the
# system's mirror, its own lists and cache); the system's apt configuration
# is never touched. Nothing of ZooKeeper's source is committed (build/ is
# ignored). Needs dpkg-dev (apt-get source), java (the jute compiler from
# the zookeeper package), libssl-dev, autoconf, automake, libtool.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${1:-$ROOT/build/zk-tls}
[[ $PREFIX == /* ]] || PREFIX="$PWD/$PREFIX"
WORK=$ROOT/build/zk-tls-src
VERSION=3.8.0
STAMP=$PREFIX/.zklock-tls-client
# The system's own Debian mirror and release (its first main suite), else
# deb.debian.org bookworm; ZKLOCK_DEBIAN_MIRROR / _SUITE override.
read -r sys_mirror sys_suite < <(apt-get indextargets \
  --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 'Component: main' \
  'Origin: Debian' 2>/dev/null | awk '$2 !~ /-/ { print; exit }') || true
MIRROR=${ZKLOCK_DEBIAN_MIRROR:-${sys_mirror:-http://deb.debian.org/debian}}
SUITE=${ZKLOCK_DEBIAN_SUITE:-${sys_suite:-bookworm}}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

if [[ -f $STAMP && $(cat "$STAMP") == "$VERSION" &&
      -f $PREFIX/include/zookeeper/zookeeper.h ]] &&
   nm -D "$PREFIX/lib/libzookeeper_mt.so" 2>/dev/null | grep -q ' T zookeeper_init_ssl$'; then
  echo "== TLS ZooKeeper client $VERSION already in $PREFIX"
  exit 0
fi

mkdir -p "$WORK"
cd "$WORK"

# 1. The source package, through a private apt configuration.
src=$(find . -maxdepth 1 -type d -name "zookeeper-$VERSION*" | head -n 1)
if [[ -z $src ]]; then
  apt=$WORK/apt
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
  signed=""
  [[ -f $KEYRING ]] && signed="[signed-by=$KEYRING] "
  echo "deb-src $signed$MIRROR $SUITE main" >"$apt/sources.list"
  aptopts=(-o "Dir::Etc::sourcelist=$apt/sources.list"
    -o "Dir::Etc::sourceparts=$apt/sources.list.d"
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache"
    -o "APT::Sandbox::User=root")
  echo "== apt-get update (private sources: deb-src $MIRROR $SUITE)"
  apt-get "${aptopts[@]}" update -q
  echo "== apt-get source zookeeper=$VERSION"
  # Pinned to 3.8.0 by upstream version, whatever the Debian revision.
  debver=$(apt-cache "${aptopts[@]}" showsrc zookeeper |
    sed -n "s/^Version: \($VERSION-.*\)/\1/p" | sort -V | tail -n 1)
  [[ -n $debver ]] || { echo "no zookeeper $VERSION source in $MIRROR $SUITE" >&2; exit 1; }
  apt-get "${aptopts[@]}" source -q "zookeeper=$debver"
  src=$(find . -maxdepth 1 -type d -name "zookeeper-$VERSION*" | head -n 1)
fi
cd "$src"
c=zookeeper-client/zookeeper-client-c

# 2. The jute sources (zookeeper.jute.c/.h), with the installed compiler.
if [[ ! -f $c/generated/zookeeper.jute.c ]]; then
  echo "== jute: generating $c/generated"
  mkdir -p "$c/generated"
  (cd "$c/generated" &&
    java -cp /usr/share/java/zookeeper-jute.jar \
      org.apache.jute.compiler.generated.Rcc -l c \
      ../../../zookeeper-jute/src/main/resources/zookeeper.jute)
fi

# 3. OpenSSL 3 has no FIPS_mode(): ask the default library context instead.
if grep -q 'FIPS_mode()' "$c/src/zookeeper.c"; then
  echo "== OpenSSL 3 fix: FIPS_mode() -> EVP_default_properties_is_fips_enabled(NULL)"
  sed -i 's/FIPS_mode()/EVP_default_properties_is_fips_enabled(NULL)/' "$c/src/zookeeper.c"
  grep -q '#include <openssl/evp.h>' "$c/src/zookeeper.c" ||
    sed -i '0,/#include <openssl\/ssl.h>/s//#include <openssl\/ssl.h>\n#include <openssl\/evp.h>/' \
      "$c/src/zookeeper.c"
fi

# 4. Build and install. The client's own warnings are not ours to fix.
cd "$c"
if [[ ! -x configure || ! -f Makefile ]]; then
  echo "== autoreconf; configure --with-openssl --without-cppunit"
  autoreconf -fi >/dev/null 2>&1
  ./configure -q --prefix="$PREFIX" --with-openssl --without-cppunit \
    --disable-static CFLAGS="-O2 -g -Wno-error"
fi
echo "== make (zookeeper-client-c)"
make -j"$(nproc)" -s >/dev/null
rm -rf "$PREFIX"
make -s install >/dev/null
nm -D "$PREFIX/lib/libzookeeper_mt.so" | grep -q ' T zookeeper_init_ssl$' ||
  { echo "built client has no zookeeper_init_ssl" >&2; exit 1; }
echo "$VERSION" >"$STAMP"
echo "== TLS ZooKeeper client $VERSION installed in $PREFIX"
