#!/bin/sh
# test_allocators.sh — another allocator first (jemalloc, tcmalloc from
# Debian): never a silent pass.  Preloaded before libleakgate.so, the
# process says at start-up which library's malloc won and how to reorder;
# under `leakgate run` its exit snapshot says it was not traced and the run
# exits 24; a Criterion suite fails every test with that line.  In the
# right order the leaks are found.  A non-PIE program that takes the
# address of free (its own PLT entry then stands for free, as in gcc's
# cc1) is traced and judged, not taken for another allocator.  Exits 1 if
# any check failed.
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
cat >"$WORK/nopie.c" <<'C'
#include <stdlib.h>
#include <string.h>
void apply(void (*fn)(void *), void *p) { fn(p); }
int main(void)
{
    apply(free, strdup("freed"));
    char *volatile p = strdup("dropped");
    p = NULL;
    return 0;
}
C
cat >"$WORK/nopie_suite.c" <<'C'
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
static void apply(void (*fn)(void *), void *p) { fn(p); }
Test(nopie, clean) { apply(free, strdup("freed")); }
Test(nopie, leaks) { char *volatile p = strdup("dropped"); p = NULL; }
C
for t in nopie nopie_suite; do
    cc -g -O0 -fno-pic -no-pie "$WORK/$t.c" -lcriterion -o "$WORK/$t" ||
        { echo "FAIL: cannot build $t.c"; exit 1; }
    readelf --dyn-syms -W "$WORK/$t" |
        awk '$8 ~ /^free@/ && $7 == "UND" && $2 !~ /^0+$/ { f = 1 } END { exit !f }' ||
        fail "$t has no PLT entry standing for free (the case is not tested)"
done
LEAKGATE_LEAK_KINDS=all "$LG" run -- "$WORK/nopie" >/dev/null 2>"$WORK/nopie.err"
rc=$?
[ "$rc" = 23 ] || fail "non-PIE program, leakgate run: exit status $rc, expected 23: $(head -3 "$WORK/nopie.err")"
grep -q "resolve" "$WORK/nopie.err" && fail "non-PIE program: taken for another allocator: $(cat "$WORK/nopie.err")"
"$LG" run -- "$WORK/nopie_suite" >"$WORK/nopie.out" 2>&1
grep -q "resolve" "$WORK/nopie.out" && fail "non-PIE Criterion suite: taken for another allocator: $(tail -3 "$WORK/nopie.out")"
grep -q "Tested: 2 | Passing: 1 | Failing: 1" "$WORK/nopie.out" ||
    fail "non-PIE Criterion suite: expected the leaking test alone to fail: $(tail -5 "$WORK/nopie.out")"
finish
