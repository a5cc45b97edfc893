#!/bin/sh
# test_allocators.sh — another allocator first (jemalloc, tcmalloc from
# Debian): never a silent pass.  Preloaded before libleakgate.so, the
# process says at start-up which library's malloc won and how to reorder;
# under `leakgate run` its exit snapshot says it was not traced and the run
# exits 24; a Criterion suite fails every test with that line.  In the
# right order the leaks are found.  Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
LIB=$BUILD/lib/libleakgate.so
PROG=$BUILD/tests/run/prog_leaky
lib_path() { ldconfig -p | awk -v n="$1" '$1 == n { print $NF; exit }'; }
cat >"$WORK/t.c" <<'C'
#include <criterion/criterion.h>
#include <stdlib.h>
Test(alloc, leaks) { void *volatile p = malloc(77); (void)p; }
C
cc -g -O0 "$WORK/t.c" -lcriterion -o "$WORK/suite" || { echo "FAIL: cannot build the suite"; exit 1; }

for name in libjemalloc.so.2 libtcmalloc_minimal.so.4; do
    other=$(lib_path $name)
    [ -n "$other" ] || { fail "$name is not installed (sh ci/install-deps.sh)"; continue; }
    LD_PRELOAD=$other:$LIB "$PROG" leak >/dev/null 2>"$WORK/direct.err"
    grep -q "^leakgate: malloc resolves to $other, not to libleakgate.so: .*put libleakgate.so first" \
        "$WORK/direct.err" || fail "$name first, preloaded: $(cat "$WORK/direct.err")"

    "$LG" run --json "$WORK/r.json" -- env LD_PRELOAD="$other:$LIB" "$PROG" leak >/dev/null 2>"$WORK/run.err"
    rc=$?
    [ "$rc" = 24 ] || fail "$name first, leakgate run: exit status $rc, expected 24: $(cat "$WORK/run.err")"
    grep -q "malloc resolved to $other, not to libleakgate.so: its allocations were not traced" \
        "$WORK/run.err" || fail "$name first, leakgate run: $(cat "$WORK/run.err")"

    "$LG" run -- env LD_PRELOAD="$LIB:$other" "$PROG" leak >/dev/null 2>"$WORK/good.err"
    rc=$?
    [ "$rc" = 23 ] || fail "$name second: exit status $rc, expected 23: $(head -3 "$WORK/good.err")"

    LD_PRELOAD="$other:$LIB:$BUILD/lib/libleakgate-criterion.so" "$WORK/suite" >"$WORK/suite.out" 2>&1
    rc=$?
    [ "$rc" != 0 ] || fail "$name first, Criterion suite: exit status 0"
    grep -q "malloc resolves to $other, not to libleakgate.so: no test is checked" "$WORK/suite.out" ||
        fail "$name first, Criterion suite: $(tail -5 "$WORK/suite.out")"
done
finish
