#!/bin/sh
# test_edge.sh — Criterion tests that end without returning (edge.c), under
# `leakgate run` and linked with the adapter: exit() after a leak fails the
# test and is in the report as leaked; a crash and a timeout are "crashed"
# with their cause, a skip "skipped"; the instances of a parameterized test
# carry their index ("param") in the console, the JSON report and the gate,
# whichever way they ended; once its test has a verdict, a worker traces no
# more (what it allocates and frees then is nobody's test).  Exits 1 if any
# check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
SRC=$ROOT/tests/integration/criterion/edge.c
cc -g -O0 -fno-omit-frame-pointer "$SRC" -lcriterion -o "$WORK/edge" &&
    cc -g -O0 -fno-omit-frame-pointer "$SRC" -lcriterion -L"$BUILD/lib" -Wl,-rpath,"$BUILD/lib" \
        -Wl,--push-state,--no-as-needed -lleakgate-criterion -Wl,--pop-state -lleakgate \
        -o "$WORK/edge_linked" || { echo "FAIL: cannot build edge.c"; exit 1; }

check() { # NAME: $WORK/NAME.out and NAME.json
    out=$WORK/$1.out
    [ "$rc" != 0 ] || fail "$1: the runner exited 0"
    for want in "^\[FAIL\] edge::exits" "leakgate: test edge::exits leaked 99 B in 1 block" \
        "leakgate: test edge::crashes crashed \(signal 11\): no leak verdict" \
        "leakgate: test edge::times_out timed out: no leak verdict" \
        "leakgate: test edge::param\[1\] leaked 22 B in 1 block" \
        "leakgate: test edge::param_ends\[1\] crashed \(signal 11\): no leak verdict" \
        "leakgate: test edge::param_ends\[2\] timed out: no leak verdict"; do
        grep -Eq -- "$want" "$out" || fail "$1: no line matching '$want'"
    done
    if grep -Eq "edge::param\[[02]\] leaked|edge::skipped.*leaked" "$out"; then
        fail "$1: a clean or skipped test reported as leaked"
    fi
    # The runner and the seven workers that get to exit (not the crashes
    # and time-outs), each after its verdict.
    [ "$(grep -c '^0$' "$WORK/$1.tracing")" = 8 ] && ! grep -qv '^0$' "$WORK/$1.tracing" ||
        fail "$1: workers still tracing after their verdicts: $(tr '\n' ' ' <"$WORK/$1.tracing")"
    python3 - "$WORK/$1.json" <<'PY' || fail "$1: JSON report"
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
got = sorted((t["id"], t.get("param"), t["outcome"], t["size_diff"], t.get("note")) for t in tests)
want = sorted([
    ("edge::exits", None, "leaked", 99, "ended by exit()"),
    ("edge::crashes", None, "crashed", 0, "crashed (signal 11)"),
    ("edge::times_out", None, "crashed", 0, "timed out"),
    ("edge::skipped", None, "skipped", 0, None),
    ("edge::param", 0, "clean", 0, None), ("edge::param", 1, "leaked", 22, None),
    ("edge::param", 2, "clean", 0, None),
    ("edge::param_ends", 0, "clean", 0, None),
    ("edge::param_ends", 1, "crashed", 0, "crashed (signal 11)"),
    ("edge::param_ends", 2, "crashed", 0, "timed out"),
    ("edge::param_ends", 3, "skipped", 0, None)])
assert got == want, got
PY
}
mkdir "$WORK/tmp"
TMPDIR=$WORK/tmp EDGE_TRACING_LOG=$WORK/preload.tracing "$LG" run --json "$WORK/preload.json" \
    -- "$WORK/edge" >"$WORK/preload.out" 2>&1
rc=$?
check preload
TMPDIR=$WORK/tmp EDGE_TRACING_LOG=$WORK/linked.tracing LEAKGATE_REPORT=$WORK/linked.json \
    "$WORK/edge_linked" >"$WORK/linked.out" 2>&1
rc=$?
check linked

# The gate tells the instances apart and counts the crashed tests.
(cd "$WORK" && "$LG" gate preload.json) >"$WORK/gate.out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "gate: exit status $rc, expected 1: $(cat "$WORK/gate.out")"
grep -q "edge::param\[1\]" "$WORK/gate.out" || fail "gate: no edge::param[1]: $(cat "$WORK/gate.out")"
if grep -q "edge::param\[0\]" "$WORK/gate.out"; then fail "gate: a clean instance shown"; fi
grep -Eq "4 inconclusive" "$WORK/gate.out" || fail "gate: crashed tests not counted: $(head -3 "$WORK/gate.out")"
# The runners' temporary files (the instances' marks) are gone.
[ -z "$(ls -A "$WORK/tmp")" ] || fail "left in TMPDIR: $(ls -A "$WORK/tmp")"
# Every leakgate/1 report written here follows docs/schema/.
"$VENV/bin/python" "$ROOT/tests/check_schemas.py" --min 2 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"
finish
