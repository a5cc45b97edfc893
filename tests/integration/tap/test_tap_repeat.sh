#!/bin/sh
# test_tap_repeat.sh — repeats in a TAP API program (prog_api_repeat.c)
# with LEAKGATE_REPEAT=2: the TAP is the first run's, the measured runs
# print nothing; the growing list and the lost buffer leak on every run
# and fail, the lazy global does not; a case that fails only when run
# again keeps its outcome and is said not checked; a case that fails its
# first run is not run again.  Without repeats every case runs once and
# the default kinds count only the lost buffer.  Exits 1 if any check
# failed.
. "$(dirname "$0")/../lib.sh"
unset LEAKGATE_LEAK_KINDS # the default kinds (make check sets all)
PROG=$BUILD/tests/tap/prog_api_repeat

LEAKGATE_REPEAT=2 LEAKGATE_REPORT=$WORK/repeat.json "$PROG" >"$WORK/repeat.out" 2>"$WORK/repeat.err"
rc=$?
[ "$rc" = 3 ] || fail "repeat: exit status $rc, expected 3 (three cases not ok)"
for want in "ok 1 - lazy global" "not ok 2 - growing list" "not ok 3 - lost buffer" \
    "ok 4 - second run fails" "not ok 5 - fails first" "ok 6 - clean"; do
    grep -qx "$want" "$WORK/repeat.out" || fail "repeat: no line '$want'"
done
[ "$(grep -c '^    ok 1 - ' "$WORK/repeat.out")" = 5 ] ||
    fail "repeat: the measured runs printed test points: $(grep -c '^    ok 1 - ' "$WORK/repeat.out")"
grep -q "a diagnostic of run 2" "$WORK/repeat.out" "$WORK/repeat.err" &&
    fail "repeat: a measured run's diagnostic was printed"
grep -q '^    runs: 2$' "$WORK/repeat.out" || fail "repeat: no 'runs: 2' in the YAML"
grep -q '^# leakgate: second run fails: not checked for leaks: it passed, then failed when run again (measured run 1 of 2)' \
    "$WORK/repeat.err" || fail "repeat: the changed case is not said not checked"
grep -q '^#   still reachable: 32 B in 1 block' "$WORK/repeat.err" ||
    fail "repeat: the growing list is not shown as still reachable"
for want in lazy_global:2 growing_list:3 lost_buffer:3 second_run_fails:2 fails_first:1 clean:2; do
    t=${want%:*}
    n=$(grep -c "^run $t " "$WORK/repeat.err")
    [ "$n" = "${want#*:}" ] || fail "repeat: $t ran $n times, expected ${want#*:}"
done
python3 - "$WORK/repeat.json" <<'PY' || fail "repeat: JSON report"
import json, sys
got = [(t["id"], t["outcome"], t["size_diff"], t.get("runs"), t.get("note"))
       for t in json.load(open(sys.argv[1]))["tests"]]
want = [("lazy global", "clean", 0, 1, None), ("growing list", "leaked", 32, 2, None),
        ("lost buffer", "leaked", 64, 2, None),
        ("second run fails", "skipped", 0, None, "failed when run again"),
        ("fails first", "skipped", 0, None, "failed: not run again"),
        ("clean", "clean", 0, 1, None)]
assert got == want, got
PY
# prove reads the TAP as usual.
prove --exec "env LEAKGATE_REPEAT=2" "$PROG" >"$WORK/prove.out" 2>&1
grep -q "Failed tests:  2-3, 5" "$WORK/prove.out" || fail "prove: $(cat "$WORK/prove.out")"

# Without repeats: each case once; the default kinds fail the lost buffer.
"$PROG" >"$WORK/once.out" 2>"$WORK/once.err"
for want in "ok 2 - growing list" "not ok 3 - lost buffer" "ok 4 - second run fails"; do
    grep -qx "$want" "$WORK/once.out" || fail "once: no line '$want'"
done
grep -q '^run [a-z_]* 2$' "$WORK/once.err" && fail "once: a case ran twice"

"$VENV/bin/python" "$ROOT/tests/check_schemas.py" --min 1 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"
finish "the TAP is the first run's; leaks on every measured run fail"
