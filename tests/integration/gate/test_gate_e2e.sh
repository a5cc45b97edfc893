#!/bin/sh
# test_gate_e2e.sh — the CI gate from end to end on the example suite
# (examples/kvconf, three deliberate leaks), run in two shards under
# `leakgate run --json`:
#   1. a baseline is recorded; the gate passes on it;
#   2. a new leak (built with -DKVCONF_EXTRA_LEAK): the gate fails, naming
#      the test and the allocating function, in text and JUnit;
#   3. that leak is fixed: the gate passes again;
#   4. a known leak is fixed (-DKVCONF_FIX_REPLACE_LEAK): the gate passes,
#      reports it as fixed, and --update-baseline shrinks the baseline.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
# Annotations are tested by test_annotations.sh; not here, even in CI.
unset GITHUB_ACTIONS GITLAB_CI
cd "$ROOT" || exit 1
build() { # NAME [DEFINE...]
    name=$1
    shift
    cc -std=gnu11 -g -O0 -fno-omit-frame-pointer -Iexamples/kvconf "$@" examples/kvconf/kvconf.c \
        examples/kvconf/tests/test_kvconf.c -lcriterion -o "$WORK/$name" || exit 1
}
# shards NAME: runs the suite NAME in two shards, reports $WORK/NAME-{1,2}.json.
shards() {
    "$LG" run --json "$WORK/$1-1.json" -- "$WORK/$1" --filter 'kvconf/*' >"$WORK/$1-1.log" 2>&1
    "$LG" run --json "$WORK/$1-2.json" -- "$WORK/$1" --filter 'fixture/*' >"$WORK/$1-2.log" 2>&1
    for s in 1 2; do
        [ -s "$WORK/$1-$s.json" ] || fail "$1: shard $s wrote no report: $(tail -3 "$WORK/$1-$s.log")"
    done
}
gate() { # WANT-STATUS ARGS...
    want=$1
    shift
    "$LG" gate --baseline "$WORK/baseline.json" "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    [ "$got" = "$want" ] || fail "gate $*: exit $got, not $want: $(tail -2 "$WORK/out") $(cat "$WORK/err")"
}
build plain
build extra -DKVCONF_EXTRA_LEAK
build fixed -DKVCONF_FIX_REPLACE_LEAK
shards plain
shards extra
shards fixed

# 1. Adoption: record what leaks today; the gate passes on it.
gate 0 --update-baseline "$WORK/plain-1.json" "$WORK/plain-2.json"
[ "$(grep -c '"test":' "$WORK/baseline.json")" = 3 ] || fail "baseline: $(cat "$WORK/baseline.json")"
for t in fixture::counts_the_fixture kvconf::later_lines_replace_earlier_ones kvconf::report_header; do
    grep -q "\"test\": \"$t\"" "$WORK/baseline.json" || fail "$t not in the baseline"
done
grep -q '"signature": "open_conf@test_kvconf.c"' "$WORK/baseline.json" || fail "no stable signature for the fixture leak"
grep -q '0x\|"line"' "$WORK/baseline.json" && fail "addresses or lines in the baseline"
cp "$WORK/baseline.json" "$WORK/baseline.orig"
gate 0 "$WORK/plain-1.json" "$WORK/plain-2.json"
grep -q '^leakgate gate: passed: 3 known leaks, none new or grown$' "$WORK/out" || fail "no pass: $(tail -1 "$WORK/out")"

# 2. A new leak: the gate fails and names it.
gate 1 --junit "$WORK/junit.xml" "$WORK/extra-1.json" "$WORK/extra-2.json"
grep -q '^leakgate gate: FAILED: 1 new leak$' "$WORK/out" || fail "no failure line: $(tail -1 "$WORK/out")"
sed -n '/^new leaks/,/^$/p' "$WORK/out" >"$WORK/new"
grep -q '^  kvconf::sorted_keys: ' "$WORK/new" || fail "the new leak's test is not named: $(cat "$WORK/out")"
grep -Eq '#0 kv_keys +examples/kvconf/kvconf\.c:[0-9]+' "$WORK/new" || fail "no kv_keys frame"
grep -q 'classname="kvconf" name="sorted_keys">' "$WORK/junit.xml" &&
    grep -q 'failures="1"' "$WORK/junit.xml" || fail "JUnit does not fail sorted_keys"
cmp -s "$WORK/baseline.json" "$WORK/baseline.orig" || fail "a failing gate changed the baseline"

# 3. The new leak fixed: passes again.
gate 0 "$WORK/plain-1.json" "$WORK/plain-2.json"

# 4. A known leak fixed: reported as fixed; the baseline shrinks on request.
gate 0 "$WORK/fixed-1.json" "$WORK/fixed-2.json"
sed -n '/^fixed leaks/,/^$/p' "$WORK/out" >"$WORK/fixed"
grep -q '^  kvconf::later_lines_replace_earlier_ones: 10 B in 2 blocks' "$WORK/fixed" ||
    fail "the fixed leak is not reported: $(cat "$WORK/out")"
grep -q '^leaks: 0 new, 0 grown, 2 known, 1 fixed$' "$WORK/out" || fail "counts: $(grep '^leaks:' "$WORK/out")"
gate 0 --update-baseline "$WORK/fixed-1.json" "$WORK/fixed-2.json"
[ "$(grep -c '"test":' "$WORK/baseline.json")" = 2 ] || fail "the baseline did not shrink: $(cat "$WORK/baseline.json")"
grep -q later_lines "$WORK/baseline.json" && fail "the fixed leak is still in the baseline"
# Once it is out of the baseline, bringing the leak back is a new leak.
gate 1 "$WORK/plain-1.json" "$WORK/plain-2.json"
grep -q '^  kvconf::later_lines_replace_earlier_ones: 10 B' "$WORK/out" || fail "a regression went unnoticed"

# Every leakgate/1 report and leakgate-baseline/1 file written here follows
# docs/schema/.
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 2 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"

finish
