#!/bin/sh
# test_demo.sh — the example suite of `make demo` fails exactly its three
# deliberately leaking tests under leakgate, each at its DEMO LEAK site.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
cd "$ROOT" || exit 1
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer -Iexamples/kvconf examples/kvconf/kvconf.c \
    examples/kvconf/tests/test_kvconf.c -lcriterion -o "$WORK/test_kvconf" || exit 1
"$WORK/test_kvconf" >"$WORK/plain.out" 2>&1 || fail "the suite fails without leakgate: $(tail -3 "$WORK/plain.out")"
"$BUILD/bin/leakgate" run -- "$WORK/test_kvconf" >"$WORK/out" 2>&1 && fail "the runner exited 0 under leakgate"
grep -q 'Tested: 11 | Passing: 8 | Failing: 3 | Crashing: 0' "$WORK/out" || fail "unexpected synthesis: $(grep Synthesis "$WORK/out")"
for t in kvconf::later_lines_replace_earlier_ones kvconf::report_header fixture::counts_the_fixture; do
    grep -q "^\[FAIL\] $t:" "$WORK/out" || fail "$t did not fail"
done
grep -Eq '#2 kv_parse +examples/kvconf/kvconf\.c:[0-9]+' "$WORK/out" || fail "no deep frame in kvconf.c"
grep -Eq '#1 kvconf_report_header_impl +examples/kvconf/tests/test_kvconf\.c:[0-9]+' "$WORK/out" || fail "no strdup caller"
grep -Eq '#0 open_conf +examples/kvconf/tests/test_kvconf\.c:[0-9]+' "$WORK/out" || fail "no fixture frame"
finish
