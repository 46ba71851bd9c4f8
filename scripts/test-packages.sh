#!/usr/bin/env bash
# ./scripts/test.sh --packages: builds the Debian packages from a clone of
# the committed HEAD (uncommitted changes are not in them), runs lintian
# (errors fail), unpacks the .debs into a scratch root and builds an
# example against that tree with pkg-config and with CMake. Everything
# lives in one temporary directory, removed on exit. Starts no ensemble.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
start=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zklock-packages.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
step() { echo "== $*"; }

[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] ||
  echo "note: uncommitted changes are not part of the packages (built from HEAD)"
step "clone HEAD ($(git -C "$ROOT" rev-parse --short HEAD))"
git clone -q "$ROOT" "$tmp/src"

step "dpkg-buildpackage -us -uc -b"
(cd "$tmp/src" && dpkg-buildpackage -us -uc -b -j2) >"$tmp/build.log" 2>&1 || {
  tail -40 "$tmp/build.log"
  fail "dpkg-buildpackage"
}
# debian/rules configures with --disable-werror; warnings must still not
# creep in.
if grep -E '^[^ ]+\.[ch]:[0-9]+:[0-9]+: warning:' "$tmp/build.log"; then
  fail "compiler warnings in the package build"
fi
# dh_auto_test ran the unit tests, and none of them needed an ensemble.
for t in tests/test_names tests/test_errors tests/test_mock tests/test_symbols.sh; do
  grep -q "^PASS: $t\$" "$tmp/build.log" || fail "dh_auto_test did not pass $t"
done
[ ! -e "$tmp/src/tests/.ensemble" ] || fail "the package build started an ensemble"
# New zklock_* symbols only warn (check level 1): remind, do not fail.
if grep -q "some new symbols appeared" "$tmp/build.log"; then
  echo "note: libzklock2 exports symbols missing from debian/libzklock2.symbols;"
  echo "      run debian/update-symbols and commit the file"
  sed -n '/^--- debian\/libzklock2.symbols/,/^[^-+ @]/p' "$tmp/build.log" | grep '^+ ' || true
fi
debs=$(cd "$tmp" && ls ./*.deb | grep -v -- -dbgsym_)
for p in libzklock2 libzklock-dev zklock; do
  grep -q "/${p}_" <<<"$debs" || fail "no $p package built"
done

step "lintian"
lintian_start=$(date +%s)
set +e
lintian --fail-on error --display-info "$tmp"/*.changes 2>&1 |
  grep -v '^running with root privileges' | tee "$tmp/lintian.log"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || fail "lintian reports errors"
echo "lintian: $(grep -c '^E:' "$tmp/lintian.log" || true) errors," \
  "$(grep -c '^W:' "$tmp/lintian.log" || true) warnings," \
  "$(grep -c '^I:' "$tmp/lintian.log" || true) infos ($(($(date +%s) - lintian_start)) s)"

step "unpack the .debs (dpkg-deb -x) and build against them"
sys="$tmp/root"
for d in $debs; do dpkg-deb -x "$tmp/$d" "$sys"; done
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir="$sys/usr/lib/$ma"
example="$sys/usr/share/doc/libzklock-dev/examples/mutex_basic.c"
[ -f "$example" ] || fail "libzklock-dev ships no examples/mutex_basic.c"
# The README's local ensemble: shipped as is (not compressed), executable.
[ -x "${example%/*}/ensemble.sh" ] || fail "libzklock-dev ships no executable examples/ensemble.sh"
export LD_LIBRARY_PATH="$libdir"

# uses_unpacked BINARY: it loads libzklock from the unpacked tree.
uses_unpacked() {
  # ldd's output first: grep -q quits at the match, and under pipefail
  # ldd's SIGPIPE would fail the check (seen once).
  local libs
  libs=$(ldd "$1")
  grep -qF "=> $libdir/libzklock.so.2 " <<<"$libs" ||
    fail "$1 does not use the unpacked libzklock: $libs"
}

# pkg-config: the .pc says /usr; the sysroot moves it into the tree.
flags=$(PKG_CONFIG_LIBDIR="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$sys" \
  pkg-config --cflags --libs zklock) || fail "pkg-config zklock"
echo "pkg-config: $flags"
case "$flags" in *"-I$sys/usr/include"*"-L$libdir"*) ;;
  *) fail "pkg-config flags do not point into $sys" ;; esac
cc -Wall -Wextra -Werror -o "$tmp/app-pc" "$example" $flags ||
  fail "building $example with pkg-config"
uses_unpacked "$tmp/app-pc"
echo "ok: built with pkg-config"

# CMake: the config file finds the tree from its own location.
mkdir "$tmp/cm"
cat >"$tmp/cm/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(zklock_consumer C)
find_package(zklock $(dpkg-deb -f "$tmp"/libzklock-dev_*.deb Version | cut -d. -f1,2) CONFIG REQUIRED)
add_executable(app "$example")
target_link_libraries(app zklock::zklock)
CMAKE
(cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$sys/usr" &&
  cmake --build "$tmp/cm/build" -- VERBOSE=1) >"$tmp/cmake.log" 2>&1 || {
  tail -30 "$tmp/cmake.log"
  fail "building $example with CMake"
}
grep -q -- "-I$sys/usr/include\|-isystem $sys/usr/include" "$tmp/cmake.log" ||
  fail "the CMake build does not use the unpacked header"
uses_unpacked "$tmp/cm/build/app"
echo "ok: built with CMake (find_package(zklock), zklock::zklock)"

"$sys/usr/bin/zklock" --version >/dev/null || fail "the unpacked zklock --version"
echo "ok: the unpacked zklock tool runs"

echo "packages: $debs"
echo "all package checks passed in $(($(date +%s) - start)) s"
