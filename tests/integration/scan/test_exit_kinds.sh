#!/bin/sh
# test_exit_kinds.sh — leak kinds in `leakgate run`'s whole-process check.
# What glibc keeps after getpwuid(0) and getaddrinfo("localhost") and
# 200,000 blocks kept in a global array are still reachable: with the
# default kinds (definite, indirect) the program passes with a note naming
# them; a lost buffer fails (23).  --leak-kinds / LEAKGATE_LEAK_KINDS count
# the others too.  When valgrind is installed, the bytes and blocks of
# every kind equal memcheck's summary for the same program.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "the library is not preloadable"
unset LEAKGATE_LEAK_KINDS # run-integration.sh counts every kind; the default is tested here
prog=$BUILD/tests/scan/prog_exit_kinds
note="passed; note: still reachable: "
why="(library state, or a logical leak: see --repeat)"

for case in pwd addr array; do
    "$LG" run -- "$prog" $case >"$WORK/out" 2>"$WORK/err"
    rc=$?
    [ $rc = 0 ] || fail "$case: exit $rc, expected 0: $(cat "$WORK/err")"
    grep -q "^leakgate: test $prog $case $note.* $why\$" "$WORK/err" ||
        fail "$case: no note line naming what is still reachable: $(cat "$WORK/err")"
    [ "$(wc -l <"$WORK/err")" = 1 ] || fail "$case: more than the note line: $(cat "$WORK/err")"
done
grep -q "still reachable: 4688 KiB in 200001 blocks" "$WORK/err" ||
    fail "array: the note does not count the array and its 200,000 blocks: $(cat "$WORK/err")"

"$LG" run -- "$prog" pwd addr array lost 2>"$WORK/err"
rc=$?
[ $rc = 23 ] || fail "lost buffer: exit $rc, expected 23"
grep -q "leaked 100 B in 1 block (limit 0 B)" "$WORK/err" &&
    grep -q "^  definitely lost: 100 B in 1 block\$" "$WORK/err" &&
    grep -q "^    #0 lose_buffer " "$WORK/err" &&
    grep -q "^  note: still reachable: .* $why\$" "$WORK/err" ||
    fail "lost buffer: the failure text lacks the verdict, the kind, the frame or the note: $(cat "$WORK/err")"

# leakgate tap: the same verdicts as a TAP point, the note as a comment.
"$LG" tap -- "$prog" pwd >"$WORK/out" 2>"$WORK/err"
rc=$?
[ $rc = 0 ] && grep -q "^ok 1 - leakgate: no leaks$" "$WORK/out" &&
    grep -q "^# leakgate: test $prog pwd $note.* $why\$" "$WORK/err" ||
    fail "tap, pwd: exit $rc: $(cat "$WORK/out" "$WORK/err")"
"$LG" tap -- "$prog" lost >"$WORK/out" 2>/dev/null
rc=$?
[ $rc = 23 ] && grep -q "^not ok 1 - leakgate: leaked 100 B in 1 block$" "$WORK/out" ||
    fail "tap, lost: exit $rc: $(cat "$WORK/out")"

# Every kind counting: the option, its variable, and the option first.
"$LG" run --leak-kinds=all -- "$prog" array 2>"$WORK/err"
rc=$?
[ $rc = 23 ] || fail "--leak-kinds=all: exit $rc, expected 23"
grep -q "^  still reachable: 4688 KiB in 200001 blocks\$" "$WORK/err" ||
    fail "--leak-kinds=all: no 'still reachable' heading: $(cat "$WORK/err")"
LEAKGATE_LEAK_KINDS=reachable "$LG" run -- "$prog" pwd 2>/dev/null
rc=$?
[ $rc = 23 ] || fail "LEAKGATE_LEAK_KINDS=reachable: exit $rc, expected 23"
LEAKGATE_LEAK_KINDS=all "$LG" run --leak-kinds definite -- "$prog" array 2>/dev/null
rc=$?
[ $rc = 0 ] || fail "--leak-kinds definite over LEAKGATE_LEAK_KINDS=all: exit $rc, expected 0"
"$LG" run --leak-kinds=lost -- "$prog" 2>"$WORK/err"
rc=$?
[ $rc = 2 ] && grep -q "^leakgate: --leak-kinds=lost: expected " "$WORK/err" ||
    fail "--leak-kinds=lost: exit $rc, expected 2 and one line: $(cat "$WORK/err")"

# The JSON report lists every kind, marking the rows the verdict did not
# count; the gate takes the counted ones only, each with its kind.
"$LG" run --top 0 --json "$WORK/d.json" -- "$prog" pwd array lost 2>/dev/null
python3 - "$WORK/d.json" <<'PY' || fail "default kinds: the JSON rows are not marked as counted or not"
import json, sys
test, = json.load(open(sys.argv[1]))["tests"]
rows = [(l["kind"], l.get("counted", True)) for l in test["leaks"]]
assert ("definite", True) in rows and ("reachable", False) in rows, rows
assert all(counted == (kind == "definite") for kind, counted in rows), rows
PY
(cd "$WORK" && "$LG" gate -q --update-baseline --baseline base.json d.json) ||
    fail "gate --update-baseline failed"
grep -c '"signature"' "$WORK/base.json" | grep -qx 1 &&
    grep -q '"signature": "lose_buffer@prog_exit_kinds.c < main@[^"]*", "kind": "definite", "size": 100, "count": 1}' "$WORK/base.json" ||
    fail "the baseline is not the one definite leak: $(cat "$WORK/base.json")"

# Every kind's bytes and blocks, as memcheck counts them.
"$LG" run --no-default-suppressions --top 0 --json "$WORK/r.json" -- "$prog" pwd addr array lost \
    2>/dev/null
totals=$(python3 - "$WORK/r.json" <<'PY'
import json, sys
test, = json.load(open(sys.argv[1]))["tests"]
assert test["outcome"] == "leaked" and test["size_diff"] == 100, test
for kind in ("definite", "indirect", "possible", "reachable"):
    rows = [l for l in test["leaks"] if l["kind"] == kind]
    print(kind, sum(l["size_diff"] for l in rows), sum(l["count_diff"] for l in rows))
PY
) || fail "JSON report: $totals"
echo "$totals"
if command -v valgrind >/dev/null 2>&1; then
    vg=$(valgrind --leak-check=full --leak-check-heuristics=none --run-libc-freeres=no \
        --show-leak-kinds=none "$prog" pwd addr array lost 2>&1)
    summary() {
        printf '%s\n' "$vg" | sed -n "s/.*$1: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p" |
            tr -d ,
    }
    for pair in "definite:definitely lost" "indirect:indirectly lost" \
        "possible:possibly lost" "reachable:still reachable"; do
        ours=$(printf '%s\n' "$totals" | awk -v k="${pair%%:*}" '$1 == k { print $2, $3 }')
        theirs=$(summary "${pair#*:}")
        [ "$ours" = "$theirs" ] || fail "${pair%%:*}: leakgate $ours, valgrind ${theirs:-none}"
    done
else
    echo "skip: valgrind not installed: no comparison with memcheck"
fi
finish "reachable state passes with a note, a lost buffer fails, kinds as memcheck's"
