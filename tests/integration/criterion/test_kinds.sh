#!/bin/sh
# test_kinds.sh — leak kinds in a Criterion suite (kinds_suite.c, with
# libxml2 and OpenSSL from the distribution) under `leakgate run`: by
# default only the buffer nothing points to fails, as "definitely lost";
# with --leak-kinds=all every test but the clean one fails, each showing
# its kind; with --repeat 2 what a test leaves on every measured run fails
# it (the lost buffer and the growing list), while the libraries' and the
# lazy global's one-time initialisation pass.  Exits 1 if any check failed.
if [ "${SAN:-}" = address ]; then
    echo "skip: SAN=address: libleakgate.so cannot be preloaded into other programs"
    exit 0
fi
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-build}
unset LEAKGATE_LEAK_KINDS # the default kinds
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LG=$BUILD/bin/leakgate
WORK=$(mktemp -d "${TMPDIR:-/tmp}/test_kinds.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}
cd "$ROOT" || exit 1
libs=$(pkg-config --cflags --libs libxml-2.0 libcrypto) ||
    { echo "FAIL: libxml2 and OpenSSL development files missing: run sh ci/install-deps.sh"; exit 1; }
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer tests/integration/criterion/kinds_suite.c \
    -lcriterion $libs -o "$WORK/suite" || { echo "FAIL: cannot build kinds_suite.c"; exit 1; }

"$LG" run -- "$WORK/suite" -j1 >"$WORK/default.out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "default: the runner exited 0 although a test lost a buffer"
grep -q '^\[FAIL\] kinds::lost_buffer' "$WORK/default.out" || fail "default: lost_buffer did not fail"
grep -q 'definitely lost: 64 B in 1 block' "$WORK/default.out" || fail "default: no 'definitely lost: 64 B'"
for t in libxml2_parse openssl_sha256 lazy_global growing_list clean; do
    if grep -q "^\[FAIL\] kinds::$t" "$WORK/default.out"; then fail "default: $t failed"; fi
done
grep -q 'Tested: 6 | Passing: 5 | Failing: 1' "$WORK/default.out" ||
    fail "default: $(grep Synthesis "$WORK/default.out")"

"$LG" run --leak-kinds=all -- "$WORK/suite" -j1 >"$WORK/all.out" 2>&1
for t in libxml2_parse openssl_sha256 lazy_global growing_list lost_buffer; do
    grep -q "^\[FAIL\] kinds::$t" "$WORK/all.out" || fail "all: $t did not fail"
done
if grep -q '^\[FAIL\] kinds::clean' "$WORK/all.out"; then fail "all: clean failed"; fi
[ "$(grep -c 'still reachable: ' "$WORK/all.out")" -ge 4 ] ||
    fail "all: the libraries, the lazy global and the list are not shown as still reachable"
grep -q 'definitely lost: 64 B in 1 block' "$WORK/all.out" || fail "all: no 'definitely lost: 64 B'"

"$LG" run --leak-kinds=bogus -- "$WORK/suite" >"$WORK/bad.out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "--leak-kinds=bogus: exit $rc, expected 2"
grep -q -- '--leak-kinds=bogus: expected a comma-separated list' "$WORK/bad.out" ||
    fail "--leak-kinds=bogus: $(cat "$WORK/bad.out")"

# Repeats: each test once unmeasured, then twice measured.
"$LG" run --repeat 2 --json "$WORK/repeat.json" -- "$WORK/suite" -j1 >"$WORK/repeat.out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "repeat: the runner exited 0"
for t in lost_buffer growing_list; do
    grep -q "^\[FAIL\] kinds::$t" "$WORK/repeat.out" || fail "repeat: $t did not fail"
done
for t in libxml2_parse openssl_sha256 lazy_global clean; do
    if grep -q "^\[FAIL\] kinds::$t" "$WORK/repeat.out"; then fail "repeat: $t failed"; fi
done
grep -q 'Tested: 6 | Passing: 4 | Failing: 2' "$WORK/repeat.out" ||
    fail "repeat: $(grep Synthesis "$WORK/repeat.out")"
grep -q 'still reachable: 32 B in 1 block' "$WORK/repeat.out" ||
    fail "repeat: the growing list is not shown as still reachable"
grep -q 'in each of 2 measured runs, after 1 unmeasured run' "$WORK/repeat.out" ||
    fail "repeat: the failure does not say how it was measured"
python3 - "$WORK/repeat.json" <<'PY' || fail "repeat: JSON report"
import json, sys
got = {t["id"]: (t["outcome"], t["size_diff"], t.get("runs"))
       for t in json.load(open(sys.argv[1]))["tests"]}
want = {"kinds::lost_buffer": ("leaked", 64, 2), "kinds::growing_list": ("leaked", 32, 2),
        "kinds::libxml2_parse": ("clean", 0, 1), "kinds::openssl_sha256": ("clean", 0, 1),
        "kinds::lazy_global": ("clean", 0, 1), "kinds::clean": ("clean", 0, 1)}
assert got == want, got
PY

# A block that only a registry made before the first test points to (a
# library's constructor) is reachable, in a linked suite as under leakgate
# run: tracing starts as the adapter loads, so the registry is scanned.
cat >"$WORK/registry.c" <<'C'
#include <criterion/criterion.h>
#include <stdlib.h>
struct reg { void *head; };
static struct reg *g_reg;
__attribute__((constructor)) static void make_reg(void) { g_reg = calloc(1, sizeof *g_reg); }
Test(registry, add) { g_reg->head = malloc(48); }
Test(registry, lost) { void *volatile p = malloc(40); p = NULL; }
C
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer "$WORK/registry.c" -L"$BUILD/lib" \
    -Wl,-rpath,"$BUILD/lib" -lleakgate-criterion -lleakgate -lcriterion -o "$WORK/registry" ||
    { echo "FAIL: cannot build registry.c"; exit 1; }
for how in linked run; do
    if [ $how = linked ]; then "$WORK/registry" -j1; else "$LG" run -- "$WORK/registry" -j1; fi \
        >"$WORK/registry.$how" 2>&1
    grep -q 'Tested: 2 | Passing: 1 | Failing: 1' "$WORK/registry.$how" &&
        grep -q '^\[FAIL\] registry::lost' "$WORK/registry.$how" ||
        fail "registry ($how): expected registry::lost alone to fail: $(tail -8 "$WORK/registry.$how")"
done

if [ "$failures" = 0 ]; then
    echo "test_kinds.sh: default kinds fail the lost buffer only; all kinds fail every leftover; --repeat 2 fails the lost buffer and the growing list"
else
    sed 's/^/  /' "$WORK/default.out" | head -40
fi
[ "$failures" = 0 ]
