# Shared by scripts/demo.sh and scripts/test.sh: install what is missing,
# then build in build/<name> (out of tree, so several builds can coexist).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Everything the build, the tests and the scripts run: python3-kazoo for
# tests/cli-zk.py, groff-base and man-db for the man page checks of
# tests/test_install.sh, libclang-rt-14-dev for the fuzzer and sanitizers,
# prometheus for promtool (tests/test_ops.sh), postgresql and libpq-dev for
# examples/fenced_pg and tests/test_fenced_pg.sh, spin for tests/model.
PACKAGES="build-essential autoconf automake libtool pkg-config
  libzookeeper-mt-dev zookeeper default-jre-headless libcmocka-dev
  valgrind clang clang-format libclang-rt-14-dev python3 python3-kazoo
  groff-base man-db procps util-linux default-jdk-headless cmake
  libcurator-recipes-java libcurator-framework-java libcurator-client-java
  libslf4j-java libcommons-lang3-java libuv1-dev prometheus postgresql
  libpq-dev spin"
# Only for ./scripts/test.sh --packages (Debian packages, lintian).
PACKAGING_PACKAGES="debhelper dpkg-dev lintian git"
# Only for ./scripts/test.sh --tls: apt-get source (dpkg-dev), the TLS
# build of the ZooKeeper C client and zklock on it (libssl-dev), the test's
# certificates (openssl; keytool comes with the JRE).
TLS_PACKAGES="dpkg-dev libssl-dev openssl"

install_packages() {
  local missing=()
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build NAME [configure args...]: configure once, then make. The tests and
# the libuv example are required here (PACKAGES installs cmocka and libuv):
# a missing one fails configure instead of leaving them out.
build() {
  local name=$1
  shift
  set -- --enable-tests --with-libuv "$@"
  cd "$ROOT"
  if [ ! -x configure ] || [ configure.ac -nt configure ] ||
     [ Makefile.am -nt configure ] || [ ! -f Makefile.in ]; then
    echo "== autoreconf"
    autoreconf -fi >/dev/null
  fi
  mkdir -p "build/$name"
  cd "build/$name"
  local want="$*"
  if [ ! -f Makefile ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ] ||
     [ ../../configure -nt Makefile ]; then
    echo "== configure $want"
    ../../configure -q "$@"
    echo "$want" >.configure-args
  fi
  echo "== make ($name)"
  make -j"$(nproc)" -s
}
