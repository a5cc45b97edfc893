#!/bin/sh
# test_link_order.sh — a suite linked with `pkg-config leakgate-criterion`
# is checked whatever the link order and with --as-needed: plain cc, meson
# (`dependencies: [cr, lg]` and `[lg, cr]`) and CMake's pkg_check_modules
# (both orders).  Each program runs one leaking and one clean test: the
# leak must fail its test.  Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "the adapter cannot wrap Criterion under ASan"
for tool in meson cmake ninja pkg-config; do
    command -v $tool >/dev/null || { echo "FAIL: $tool is missing (sh ci/install-deps.sh)"; exit 1; }
done

# An installed-like prefix over build/: lib/ and include/leakgate/, and
# the pkg-config files as `make install` writes them.
P=$WORK/prefix
mkdir -p "$P/include/leakgate" "$P/lib/pkgconfig"
for f in "$BUILD"/lib/*.so; do ln -s "$f" "$P/lib/"; done
cp "$ROOT"/runtime/include/leakgate/*.h "$ROOT"/plugin/include/leakgate/*.h \
    "$ROOT"/adapters/criterion/include/leakgate/*.h "$P/include/leakgate/"
for pc in runtime/leakgate.pc.in adapters/criterion/leakgate-criterion.pc.in; do
    name=$(basename "$pc" .in)
    sed -e "s|@PREFIX@|$P|g" "$ROOT/$pc" >"$P/lib/pkgconfig/$name"
done
export PKG_CONFIG_PATH=$P/lib/pkgconfig

mkdir -p "$WORK/src"
cat >"$WORK/src/t.c" <<'C'
#include <criterion/criterion.h>
#include <stdlib.h>
Test(order, leaks) { void *volatile p = malloc(77); (void)p; }
Test(order, clean) { free(malloc(5)); }
C
# check NAME PROGRAM: the leaking test failed with leakgate's message, the
# clean one passed, the runner exited non-zero.
check() {
    "$2" >"$WORK/$1.out" 2>&1
    rc=$?
    [ "$rc" != 0 ] || fail "$1: exit status 0, the leak passed: $(tail -3 "$WORK/$1.out")"
    grep -q "leakgate: test order::leaks leaked 77 B in 1 block" "$WORK/$1.out" ||
        fail "$1: no leak message: $(tail -3 "$WORK/$1.out")"
    grep -q "Tested: 2 | Passing: 1 | Failing: 1" "$WORK/$1.out" ||
        fail "$1: $(grep Synthesis "$WORK/$1.out")"
}

cd "$WORK/src" || exit 1
LG_LIBS=$(pkg-config --libs leakgate-criterion)
cc -g -O0 t.c -Wl,--as-needed -lcriterion $LG_LIBS -o cc_after && check "cc, adapter after -lcriterion" ./cc_after
cc -g -O0 t.c -Wl,--as-needed $LG_LIBS -lcriterion -o cc_before && check "cc, adapter first" ./cc_before

cat >meson.build <<'M'
project('t', 'c')
cr = dependency('criterion')
lg = dependency('leakgate-criterion')
executable('after', 't.c', dependencies: [cr, lg])
executable('before', 't.c', dependencies: [lg, cr])
M
if meson setup "$WORK/mb" >"$WORK/meson.log" 2>&1 && ninja -C "$WORK/mb" >>"$WORK/meson.log" 2>&1; then
    check "meson [cr, lg]" "$WORK/mb/after"
    check "meson [lg, cr]" "$WORK/mb/before"
else
    fail "meson: $(tail -5 "$WORK/meson.log")"
fi

cat >CMakeLists.txt <<'M'
cmake_minimum_required(VERSION 3.13)
project(t C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(CR REQUIRED IMPORTED_TARGET criterion)
pkg_check_modules(LG REQUIRED IMPORTED_TARGET leakgate-criterion)
add_executable(after t.c)
target_link_libraries(after PkgConfig::CR PkgConfig::LG)
add_executable(before t.c)
target_link_libraries(before PkgConfig::LG PkgConfig::CR)
M
if cmake -S . -B "$WORK/cb" -G Ninja -DCMAKE_EXE_LINKER_FLAGS=-Wl,--as-needed \
    >"$WORK/cmake.log" 2>&1 && ninja -C "$WORK/cb" >>"$WORK/cmake.log" 2>&1; then
    check "cmake CR LG" "$WORK/cb/after"
    check "cmake LG CR" "$WORK/cb/before"
else
    fail "cmake: $(tail -5 "$WORK/cmake.log")"
fi
# When Criterion's entry points are the program's own (a static libcriterion
# exported with -rdynamic, which calls them directly: no relocation slot to
# point at the adapter), the adapter cannot take over: the program stops
# before any test runs, in one line, with status 24.  (libcriterion.a needs
# a static nanopb, not packaged: these five definitions stand in for it.)
cat >static_cr.c <<'C'
#include <stdio.h>
#define CR __attribute__((visibility("default"), noinline))
CR void criterion_internal_test_setup(void) {}
CR void criterion_internal_test_main(void (*fn)(void)) { fn(); }
CR void criterion_internal_test_teardown(void) {}
CR void criterion_skip_test(const char *fmt, ...) { (void)fmt; }
static void body(void) { puts("a test ran unchecked"); }
CR int criterion_run_all_tests(void *set)
{
    (void)set;
    criterion_internal_test_setup();
    criterion_internal_test_main(body);
    criterion_internal_test_teardown();
    return 1;
}
int main(void) { return criterion_run_all_tests(NULL) ? 0 : 1; }
C
want="leakgate: libleakgate-criterion cannot take Criterion's calls over (it is loaded after libcriterion, or Criterion is linked into the program): no test would be checked for leaks; link it before the shared -lcriterion (pkg-config --libs leakgate-criterion first) or run the suite with \`leakgate run\`"
if cc -g -O0 -rdynamic static_cr.c -Wl,--no-as-needed $LG_LIBS -o static_cr; then
    ./static_cr >"$WORK/static.out" 2>&1
    rc=$?
    [ "$rc" = 24 ] || fail "static Criterion: exit status $rc, expected 24: $(cat "$WORK/static.out")"
    [ "$(cat "$WORK/static.out")" = "$want" ] ||
        fail "static Criterion: output '$(cat "$WORK/static.out")', expected the one line '$want'"
else
    fail "cannot build static_cr.c"
fi
finish
