#!/bin/sh
# test_repeat.sh — repeats in a Criterion suite (repeat_suite.c), under
# `leakgate run --repeat 2` and linked with the adapter (before and after
# -lcriterion) with LEAKGATE_REPEAT=2: each test runs once unmeasured (the
# run Criterion reports), then its fixtures and body run again, measured;
# a test whose later run fails, expects wrongly or skips keeps its first
# outcome and is not checked; one that fails its first run is not run
# again; fixtures run with each run; a cache filled by the second call and
# a leak within the test's limit pass.  Without repeats every test runs
# once.  A bad N is one line naming it.  Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
unset LEAKGATE_LEAK_KINDS # the default kinds (make check sets all)
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
SRC=$ROOT/tests/integration/criterion/repeat_suite.c
INC=-I$ROOT/adapters/criterion/include
LIBS="-L$BUILD/lib -Wl,-rpath,$BUILD/lib -Wl,--push-state,--no-as-needed"
cc -g -O0 -fno-omit-frame-pointer $INC "$SRC" -lcriterion -ldl -o "$WORK/suite" &&
    cc -g -O0 -fno-omit-frame-pointer $INC "$SRC" $LIBS -lleakgate-criterion -lleakgate \
        -Wl,--pop-state -lcriterion -ldl -o "$WORK/before" &&
    cc -g -O0 -fno-omit-frame-pointer $INC "$SRC" -lcriterion $LIBS -lleakgate-criterion \
        -lleakgate -Wl,--pop-state -ldl -o "$WORK/after" ||
    { echo "FAIL: cannot build repeat_suite.c"; exit 1; }

# check NAME: $WORK/NAME.out (Criterion's output) and $WORK/NAME.json.
check() {
    out=$WORK/$1.out
    [ "$rc" != 0 ] || fail "$1: the runner exited 0"
    grep -q 'Tested: 10 | Passing: 7 | Failing: 3' "$out" ||
        fail "$1: $(grep Synthesis "$out")"
    for t in fails_first fixture_grows param; do
        grep -q "^\[FAIL\] repeat::$t" "$out" || fail "$1: $t did not fail"
    done
    for t in second_run_asserts second_run_expects second_run_skips; do
        grep -Eq "^leakgate: repeat::$t: not checked for leaks: it passed, then .* when run again \(measured run 1 of 2\)" "$out" ||
            fail "$1: $t not listed as not checked"
    done
    grep -q 'leakgate: test repeat::param\[1\] leaked 16 B in 1 block' "$out" ||
        fail "$1: no leak of param[1]"
    grep -q 'in each of 2 measured runs, after 1 unmeasured run' "$out" ||
        fail "$1: the failure does not say how it was measured"
    # How many times each test ran (the first run and the measured ones).
    for want in second_run_asserts:2 second_run_expects:2 second_run_skips:2 fails_first:1 \
        fixtures_clean:2 fixture_grows:3 late_cache:3 within_limit:2; do
        t=${want%:*}
        n=$(grep -c "^run $t " "$out")
        [ "$n" = "${want#*:}" ] || fail "$1: $t ran $n times, expected ${want#*:}"
    done
    python3 - "$WORK/$1.json" <<'PY' || fail "$1: JSON report"
import json, sys
got = sorted((t["id"], t.get("param", -1), t["outcome"], t["size_diff"], t.get("runs"),
              t.get("note")) for t in json.load(open(sys.argv[1]))["tests"])
want = sorted([
    ("repeat::second_run_asserts", -1, "skipped", 0, None, "failed when run again"),
    ("repeat::second_run_expects", -1, "skipped", 0, None, "failed when run again"),
    ("repeat::second_run_skips", -1, "skipped", 0, None, "skipped itself when run again"),
    ("repeat::fails_first", -1, "skipped", 0, None, "failed: not run again"),
    ("repeat::fixtures_clean", -1, "clean", 0, 1, None),
    ("repeat::fixture_grows", -1, "leaked", 16, 2, None),
    ("repeat::late_cache", -1, "clean", 0, 2, None),
    ("repeat::within_limit", -1, "clean", 16, 1, None),
    ("repeat::param", 0, "clean", 0, 1, None),
    ("repeat::param", 1, "leaked", 16, 2, None)])
assert got == want, got
PY
}
"$LG" run --repeat 2 --json "$WORK/preload.json" -- "$WORK/suite" -j1 >"$WORK/preload.out" 2>&1
rc=$?
check preload
for order in before after; do
    LEAKGATE_REPEAT=2 LEAKGATE_REPORT=$WORK/$order.json "$WORK/$order" -j1 >"$WORK/$order.out" 2>&1
    rc=$?
    check $order
done

# Without repeats: every test runs once; the later-run failures never happen.
"$LG" run -- "$WORK/suite" -j1 >"$WORK/once.out" 2>&1
grep -q 'Tested: 10 | Passing: 9 | Failing: 1' "$WORK/once.out" ||
    fail "once: $(grep Synthesis "$WORK/once.out")"
[ "$(grep -c '^run [a-z_]* 1$' "$WORK/once.out")" = 10 ] && ! grep -q '^run [a-z_]* 2$' "$WORK/once.out" ||
    fail "once: a test ran more than once"

# A bad N: one line naming it, exit 2, before any test runs (the command
# and a linked suite alike).
for bad in x -1 101; do
    "$LG" run --repeat "$bad" -- "$WORK/suite" >"$WORK/bad.out" 2>&1
    rc=$?
    [ "$rc" = 2 ] || fail "--repeat $bad: exit $rc, expected 2"
    [ "$(cat "$WORK/bad.out")" = "leakgate: --repeat=$bad: expected an integer from 0 to 100" ] ||
        fail "--repeat $bad: $(cat "$WORK/bad.out")"
done
LEAKGATE_REPEAT=two "$WORK/before" -j1 >"$WORK/badenv.out" 2>&1
rc=$?
[ "$rc" = 2 ] || fail "LEAKGATE_REPEAT=two: exit $rc, expected 2"
[ "$(cat "$WORK/badenv.out")" = "leakgate: LEAKGATE_REPEAT=two: expected an integer from 0 to 100" ] ||
    fail "LEAKGATE_REPEAT=two: $(cat "$WORK/badenv.out")"

# Every leakgate/1 report written here follows docs/schema/.
"$VENV/bin/python" "$ROOT/tests/check_schemas.py" --min 3 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"
finish "each test measured after one unmeasured run; a changed outcome is not checked"
