#!/bin/sh
# `make install DESTDIR=...` puts the header, the shared and static
# library, zklock.pc, the CMake package, the tool and the man pages in
# place, and a program built out of tree with pkg-config or CMake against
# that copy works.
. "$top_srcdir/tests/cli-lib.sh"

dest="$tmp/dest"
# A make of its own: not a part of the make running this test.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
(cd "$top_builddir" && make install DESTDIR="$dest") >"$tmp/install.log" 2>&1 || {
  tail -30 "$tmp/install.log"
  fail "make install DESTDIR=$dest"
}
ok "make install DESTDIR"

# The build's own settings (compiler, sanitizer flags, prefix).
mkvar() {
  sed -n "s/^$1 = //p" "$top_builddir/Makefile" | head -1
}
prefix=$(mkvar prefix)
CC=$(mkvar CC)
SAN_CFLAGS=$(mkvar SAN_CFLAGS)
inst="$dest$prefix"

pc=$(find "$dest" -name zklock.pc | head -1)
[ -n "$pc" ] || fail "zklock.pc not installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$inst/include/zklock.h" "$libdir/libzklock.a" "$inst/bin/zklock"; do
  [ -e "$f" ] || fail "$f not installed"
done
ls "$libdir"/libzklock.so.* >/dev/null 2>&1 || fail "shared library not installed"
ok "header, libraries, zklock.pc and tool installed"

mandir="$inst/share/man"
# Every page renders without warnings, from the man tree (where the ".so"
# links of the per-function pages resolve).
# The installed header's functions, parsed after the preprocessor (a line
# sed missed declarations split over two lines), and they are exactly what
# the installed library exports.
funcs=$(CC="$CC" sh "$top_srcdir/tests/header-funcs.sh" "$inst/include/zklock.h") ||
  fail "no functions found in the installed zklock.h"
command -v nm >/dev/null || fail "nm not found (binutils)"
exported=$(nm -D --defined-only "$(ls "$libdir"/libzklock.so.* | head -1)" |
  awk '$3 ~ /^zklock_/ {print $3}' | sort -u)
[ "$funcs" = "$exported" ] ||
  fail "installed zklock.h and libzklock.so differ: $(printf '%s\n' "$funcs" >"$tmp/h"
printf '%s\n' "$exported" | diff "$tmp/h" -)"
ok "the installed header declares exactly the $(echo "$funcs" | wc -l) functions the library exports"
pages="man1/zklock.1"
for p in zklock zklock_client zklock_mutex zklock_rwlock zklock_semaphore \
  zklock_election zklock_errors zklock_async $funcs; do
  pages="$pages man3/$p.3"
done
for p in $pages; do
  [ -f "$mandir/$p" ] || fail "$mandir/$p not installed"
  # -ww: all warnings; -z: no output; problems go to stderr.
  warn=$(cd "$mandir" && groff -man -Tutf8 -ww -z "$p" 2>&1)
  [ -z "$warn" ] || fail "$p: $warn"
  (cd "$mandir" && MANWIDTH=80 man -l "$p" >"$tmp/man.out" 2>"$tmp/man.err")
  [ ! -s "$tmp/man.err" ] && [ -s "$tmp/man.out" ] ||
    fail "man -l $p: $(cat "$tmp/man.err")"
done
ok "man pages installed (one per public function) and render cleanly"
# zklock_errors(3) documents every code of ZKLOCK_ERRNO_MAP.
codes=$(sed -n 's/^ *XX(\([A-Z]*\), .*/\1/p' "$inst/include/zklock.h")
[ -n "$codes" ] || fail "no error codes found in zklock.h"
for e in $codes; do
  grep -q "ZKLOCK_$e\b" "$mandir/man3/zklock_errors.3" ||
    fail "zklock_errors(3) misses ZKLOCK_$e"
done
ok "zklock_errors(3) lists every error code"

# Out-of-tree build of an example with pkg-config against the copy.
export PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs zklock) || fail "pkg-config zklock"
echo "pkg-config: $flags"
case "$flags" in *"$dest"*) ;; *) fail "pkg-config flags miss $dest" ;; esac
$CC $SAN_CFLAGS -o "$tmp/mutex_basic" "$top_srcdir/examples/mutex_basic.c" \
  $flags || fail "compiling examples/mutex_basic.c against the copy"
ok "examples/mutex_basic.c builds with pkg-config"

export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ldd "$tmp/mutex_basic" | grep -q "$libdir/libzklock.so" ||
  fail "mutex_basic does not use the installed library: $(ldd "$tmp/mutex_basic")"
expect_rc 0 "mutex_basic runs against the installed library" \
  $TEST_PREFIX "$tmp/mutex_basic" "$hosts" "$root/shared"
grep -q "^holding $root/shared, token" "$tmp/out" || fail "mutex_basic output"

# The static library links and runs without the shared one.
$CC $SAN_CFLAGS -o "$tmp/mutex_static" "$top_srcdir/examples/mutex_basic.c" \
  $(pkg-config --cflags zklock) "$libdir/libzklock.a" -lzookeeper_mt \
  -pthread || fail "linking against libzklock.a"
ldd "$tmp/mutex_static" | grep -q libzklock && fail "static build uses libzklock.so"
expect_rc 0 "mutex_basic linked statically against libzklock.a" \
  $TEST_PREFIX "$tmp/mutex_static" "$hosts" "$root/static"

# CMake: find_package against the DESTDIR copy. That tree is not the
# configured prefix, so this only works because zklockConfig.cmake finds
# everything relative to its own location.
command -v cmake >/dev/null || fail "cmake not found (scripts/common.sh installs it)"
cmdir="$libdir/cmake/zklock"
[ -f "$cmdir/zklockConfig.cmake" ] && [ -f "$cmdir/zklockConfigVersion.cmake" ] ||
  fail "CMake package not installed in $cmdir"
version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$cmdir/zklockConfigVersion.cmake")
series=${version%.*}
# cmake_project DIR REQUESTED-VERSION: a project building mutex_basic.c.
cmake_project() {
  mkdir -p "$1"
  cat >"$1/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.13)
project(zklock_consumer C)
find_package(zklock $2 CONFIG REQUIRED)
add_executable(app "$top_srcdir/examples/mutex_basic.c")
target_link_libraries(app zklock::zklock)
EOF
  cmake -S "$1" -B "$1/build" -DCMAKE_PREFIX_PATH="$inst" \
    -DCMAKE_C_COMPILER="${CC%% *}" -DCMAKE_C_FLAGS="$SAN_CFLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS="$SAN_CFLAGS" >"$1/cmake.log" 2>&1
}
cmake_project "$tmp/cm" "$series" || fail "cmake configure: $(tail -20 "$tmp/cm/cmake.log")"
cmake --build "$tmp/cm/build" -- VERBOSE=1 >"$tmp/cm/build.log" 2>&1 ||
  fail "cmake build: $(tail -20 "$tmp/cm/build.log")"
grep -q -- "-DTHREADED" "$tmp/cm/build.log" || fail "zklock::zklock does not carry -DTHREADED"
grep -q -- "-I$inst/include\|-isystem $inst/include" "$tmp/cm/build.log" ||
  fail "the CMake build does not use the DESTDIR headers"
grep -q -- "$libdir/libzklock.so" "$tmp/cm/build.log" ||
  fail "the CMake build does not link the DESTDIR library"
grep -q -- "-lzookeeper_mt" "$tmp/cm/build.log" || fail "the CMake build does not link zookeeper_mt"
# (No -pthread to look for: Threads::Threads is empty on glibc >= 2.34.)
ok "a CMake project builds against the moved copy (find_package, zklock::zklock)"
expect_rc 0 "the CMake-built mutex_basic runs" \
  $TEST_PREFIX "$tmp/cm/build/app" "$hosts" "$root/cmake"
grep -q "^holding $root/cmake, token" "$tmp/out" || fail "CMake-built mutex_basic output"
# The version file: the same major.minor series while the major is 0.
major=${series%%.*} minor=${series#*.}
cmake_project "$tmp/cm-newer" "$major.$((minor + 1))" &&
  fail "find_package(zklock $major.$((minor + 1))) accepted version $version"
grep -q "version: $version" "$tmp/cm-newer/cmake.log" ||
  fail "find_package of a newer version failed for another reason: $(tail -8 "$tmp/cm-newer/cmake.log")"
if [ "$major" = 0 ] && [ "$minor" -gt 0 ]; then
  cmake_project "$tmp/cm-older" "0.$((minor - 1))" &&
    fail "find_package(zklock 0.$((minor - 1))) accepted $version (0.x: the minor must match)"
fi
ok "zklockConfigVersion.cmake refuses another series"

expect_rc 0 "installed zklock --version" "$inst/bin/zklock" --version
expect_rc 5 "installed zklock runs a command" \
  "$inst/bin/zklock" -z "$hosts" "$root/tool" -- sh -c 'exit 5'

echo "all $checks checks passed"
