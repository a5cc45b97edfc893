#!/bin/sh
# test_gate.sh — `leakgate gate` against golden outputs: merging shard
# reports (parameterized instances add up, a re-run's "attempt" wins, a
# duplicate is refused), the baseline comparison (new, grown, known, fixed,
# not run), the tolerance, every output format, the updated baseline, and
# one-line errors naming corrupt, truncated or foreign files, with the
# baseline untouched.  UPDATE_GOLDEN=1 rewrites the golden files.
. "$(dirname "$0")/../lib.sh"
D=tests/integration/gate/data
G=tests/integration/gate/golden
cd "$ROOT" || exit 1
# golden NAME FILE: FILE must equal $G/NAME.
golden() {
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$2" "$G/$1"
    elif ! cmp -s "$G/$1" "$2"; then
        fail "$1 differs from the golden file:"
        diff -u "$G/$1" "$2" | head -40
    fi
}
# expect_status WANT CMD...: runs CMD, output in $WORK/out and $WORK/err.
expect_status() {
    want=$1
    shift
    "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    [ "$got" = "$want" ] || fail "exit $got, not $want: $* ($(head -2 "$WORK/err"))"
}
REPORTS="$D/shard-c.json $D/shard-py.json $D/rerun.json"
# Annotations are tested by test_annotations.sh; not here, even in CI.
unset GITHUB_ACTIONS GITLAB_CI

# Merge and compare: every format against its golden file.
cp "$D/baseline.json" "$WORK/baseline.json"
expect_status 1 "$LG" gate --baseline "$WORK/baseline.json" --markdown "$WORK/summary.md" \
    --junit "$WORK/junit.xml" --html "$WORK/report.html" $REPORTS
sed "s|$WORK/||g" "$WORK/out" >"$WORK/summary.txt"
golden summary.txt "$WORK/summary.txt"
sed "s|$WORK/||g" "$WORK/summary.md" >"$WORK/summary.md.cut"
golden summary.md "$WORK/summary.md.cut"
golden junit.xml "$WORK/junit.xml"
sed "s|$WORK/||g" "$WORK/report.html" >"$WORK/report.html.cut"
golden report.html "$WORK/report.html.cut"
cmp -s "$D/baseline.json" "$WORK/baseline.json" || fail "the baseline changed without --update-baseline"
grep -q '^leakgate gate: FAILED: 4 new leaks, 1 grown leak$' "$WORK/out" || fail "no failure line"

# The order of the reports does not matter.
expect_status 1 "$LG" gate --baseline "$WORK/baseline.json" "$D/rerun.json" "$D/shard-py.json" \
    "$D/shard-c.json"
sed "s|$WORK/||g" "$WORK/out" | cmp -s - "$WORK/summary.txt" || fail "the summary depends on the order of the reports"

# Without the re-run the flaky test's leak is new; at the same attempt twice, refused.
expect_status 1 "$LG" gate --baseline "$WORK/baseline.json" "$D/shard-c.json" "$D/shard-py.json"
grep -q 'test_flaky: 50 B in 1 block' "$WORK/out" || fail "attempt 1 of test_flaky not counted without the re-run"
expect_status 2 "$LG" gate --baseline "$WORK/baseline.json" "$D/shard-c.json" "$D/dup.json"
grep -q "test parser::clean_case is in both $D/shard-c.json and $D/dup.json" "$WORK/err" ||
    fail "duplicate not named: $(cat "$WORK/err")"

# Tolerance: test_read grew by 100 B (100 %) over its baseline.
expect_status 1 "$LG" gate --baseline "$WORK/baseline.json" --tolerance 99 $REPORTS
grep -q 'grown leaks (beyond the baseline by more than 99 B)' "$WORK/out" || fail "99 B tolerated 100 B"
expect_status 1 "$LG" gate --baseline "$WORK/baseline.json" --tolerance 100% $REPORTS
sed "s|$WORK/||g" "$WORK/out" >"$WORK/tolerance.txt"
golden tolerance.txt "$WORK/tolerance.txt"
expect_status 1 "$LG" gate --baseline "$WORK/baseline.json" --tolerance 99.5% $REPORTS
grep -q '^  tests/test_io.py::test_read: 200 B' "$WORK/out" || fail "99.5% tolerated 100%"

# The baseline these reports make, then a gate that passes on it.
cp "$WORK/baseline.json" "$WORK/new-baseline.json"
expect_status 0 "$LG" gate --baseline "$WORK/new-baseline.json" --update-baseline $REPORTS
golden baseline-updated.json "$WORK/new-baseline.json"
expect_status 0 "$LG" gate --baseline "$WORK/new-baseline.json" $REPORTS
grep -q '^leakgate gate: passed: 7 known leaks, none new or grown$' "$WORK/out" || fail "no pass: $(tail -1 "$WORK/out")"
expect_status 0 "$LG" gate -q --baseline "$WORK/new-baseline.json" --junit "$WORK/pass.xml" $REPORTS
[ -s "$WORK/out" ] && fail "--quiet printed a summary"
grep -q 'failures="0"' "$WORK/pass.xml" || fail "JUnit failures in a passing gate"

# --update-baseline says what it wrote, and nothing reads as a failure:
# the outputs show the leaks as the known ones they now are.
cp "$D/baseline.json" "$WORK/upd-baseline.json"
expect_status 0 "$LG" gate --baseline "$WORK/upd-baseline.json" --update-baseline \
    --junit "$WORK/upd.xml" --markdown "$WORK/upd.md" $REPORTS
n=$(grep -c '"test"' "$WORK/upd-baseline.json")
[ "$(cat "$WORK/err")" = "leakgate: baseline written: $n leaks ($WORK/upd-baseline.json)" ] ||
    fail "--update-baseline on stderr: $(cat "$WORK/err")"
[ "$(tail -1 "$WORK/out")" = "leakgate gate: baseline written: $n leaks" ] ||
    fail "--update-baseline verdict: $(tail -1 "$WORK/out")"
grep -qi 'fail' "$WORK/out" "$WORK/err" "$WORK/upd.md" && fail "--update-baseline reads as a failure: $(grep -i fail "$WORK/out" "$WORK/err" "$WORK/upd.md")"
grep -q '^## leakgate gate: baseline written: '"$n"' leaks$' "$WORK/upd.md" || fail "--update-baseline: Markdown verdict"
grep -q 'failures="0"' "$WORK/upd.xml" || fail "--update-baseline: JUnit failures"

# No baseline yet: an empty baseline with a note, every leak is new, and
# nothing is written.
mkdir "$WORK/fresh" && cd "$WORK/fresh" || exit 1
expect_status 1 "$LG" gate --markdown fresh.md "$ROOT/$D/shard-c.json"
[ "$(cat "$WORK/err")" = "leakgate: no baseline leakgate-baseline.json yet: an empty baseline, every leak is new (record one with --update-baseline)" ] ||
    fail "no note about the missing baseline: $(cat "$WORK/err")"
grep -q '^note: no baseline yet: leakgate-baseline.json does not exist, so the baseline is empty and every leak is new' \
    "$WORK/out" || fail "no note in the summary: $(head -4 "$WORK/out")"
grep -q '^\*\*No baseline yet:\*\* `leakgate-baseline.json` does not exist' fresh.md || fail "no note in the Markdown"
[ -e leakgate-baseline.json ] && fail "a baseline was written without --update-baseline"
expect_status 0 "$LG" gate --update-baseline "$ROOT/$D/shard-c.json"
[ -s leakgate-baseline.json ] || fail "--update-baseline wrote no default baseline"
grep -q '^leakgate: baseline written: [0-9]* leaks (leakgate-baseline.json)$' "$WORK/err" || fail "first --update-baseline: $(cat "$WORK/err")"
expect_status 0 "$LG" gate "$ROOT/$D/shard-c.json"
[ -s "$WORK/err" ] && fail "with the baseline written, still a note: $(cat "$WORK/err")"
cd "$ROOT" || exit 1
expect_status 2 "$LG" gate --baseline "$WORK/missing.json" "$D/shard-c.json"
grep -q "missing.json: No such file or directory" "$WORK/err" || fail "a named missing baseline is not an error"

# Bad input: one line naming the file, status 2, the baseline untouched.
check_bad() { # FILE EXPECTED-TEXT [--update-baseline]
    expect_status 2 "$LG" gate --baseline "$WORK/baseline.json" $3 "$D/shard-c.json" "$1"
    [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$1: not one line: $(cat "$WORK/err")"
    grep -qF "leakgate: $1: $2" "$WORK/err" || fail "$1: got: $(cat "$WORK/err")"
    cmp -s "$D/baseline.json" "$WORK/baseline.json" || fail "$1: the baseline was written"
}
check_bad "$D/truncated.json" "offset 150: unterminated string (the text ends there: truncated?)" --update-baseline
check_bad "$D/corrupt.json" "offset 75: expected ',' or '}'" --update-baseline
check_bad "$D/future.json" 'not a leakgate/1 report (schema "leakgate/2")'
check_bad "$D/baseline.json" 'not a leakgate/1 report (schema "leakgate-baseline/1")' --update-baseline
: >"$WORK/empty.json"
check_bad "$WORK/empty.json" "empty file"
expect_status 2 "$LG" gate --baseline "$D/shard-c.json" "$D/shard-c.json"
grep -qF "$D/shard-c.json: not a leakgate-baseline/1 file (schema \"leakgate/1\")" "$WORK/err" ||
    fail "a report as baseline: $(cat "$WORK/err")"
expect_status 2 "$LG" gate --baseline "$WORK/baseline.json" --tolerance lots "$D/shard-c.json"
grep -q -- '--tolerance=lots: expected a size in bytes' "$WORK/err" || fail "bad --tolerance: $(cat "$WORK/err")"
expect_status 2 "$LG" gate --baseline "$WORK/baseline.json"
expect_status 2 "$LG" gate --bogus "$D/shard-c.json"

# The CI configurations of ci/ call the gate with options it has.
"$LG" gate --help >"$WORK/help"
for f in ci/github-actions.yml ci/gitlab-ci.yml; do
    grep -q 'leakgate gate --' "$f" || fail "$f does not gate"
    for opt in $(sed -n '/^[ -]*leakgate gate --/,/\*\.json/p' "$f" | grep -o -- '--[a-z-]*' | sort -u); do
        grep -q -- "^  $opt" "$WORK/help" || fail "$f: leakgate gate has no option $opt"
    done
    grep -q 'leakgate run --json' "$f" || fail "$f: no leak report from the C suite"
    grep -q 'pytest .*--leaks --leaks-json' "$f" || fail "$f: no leak report from the pytest suite"
done

# Every leakgate/1 report and leakgate-baseline/1 file written here follows
# docs/schema/.
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 6 "$WORK" "$ROOT/tests/integration/gate/data" "$ROOT/tests/integration/gate/golden" ||
    fail "documents that do not follow docs/schema/ (above)"

finish
