#!/bin/sh
# test_lost.sh — traces lost because the tracer ran out of memory (ulimit
# -v; prog_oom.c) are counted in a leaked verdict: the text says "leaked at
# least N B ...; M traces lost", the JSON report has lost_traces, and the
# exit status is not a pass.  The exit snapshot is still written when the
# program exits with no address space left (some is kept for it from
# start-up).  Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
PROG=$BUILD/tests/run/prog_oom
line=$(grep -n "SITE:leak" "$ROOT/tests/integration/run/prog_oom.c" | cut -d: -f1)
# full: the program exits with no address space left.
for mode in "" full; do
    name=${mode:-lost}
    (ulimit -v 200000 && "$LG" run --json "$WORK/$name.json" -- "$PROG" $mode) >"$WORK/$name.out" 2>&1
    rc=$?
    [ "$rc" = 23 ] || fail "$name: exit status $rc, expected 23: $(cat "$WORK/$name.out")"
    grep -Eq "^leakgate: test $PROG${mode:+ $mode} leaked at least 640 B in 10 blocks \(limit 0 B\); [1-9][0-9]* traces lost \(the tracer ran out of memory\)$" \
        "$WORK/$name.out" || fail "$name: no lost traces in the verdict: $(cat "$WORK/$name.out")"
    grep -Eq "#0 +main +([^ ]*/)?prog_oom\.c:$line " "$WORK/$name.out" ||
        fail "$name: the leak's frame is not named: $(cat "$WORK/$name.out")"
    python3 - "$WORK/$name.json" <<'PY' || fail "$name: JSON report: $(cat "$WORK/$name.json")"
import json, sys
(t,) = json.load(open(sys.argv[1]))["tests"]
assert t["outcome"] == "leaked" and t["size_diff"] == 640, t
assert t["lost_traces"] > 0, t
PY
done
"$VENV/bin/python" "$ROOT/tests/check_schemas.py" --min 2 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"
finish
