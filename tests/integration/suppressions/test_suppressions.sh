#!/bin/sh
# test_suppressions.sh — `leakgate suppressions`: the round trip on the
# example suite (leaks -> leakgate suppressions -> a clean run) and on a
# whole-process run, valgrind's suppression blocks converted (a hand-made
# file against its expected rules, and valgrind's own --gen-suppressions
# output of a leaking program, whose converted rules make leakgate's run
# of it clean), and usage errors (one line, exit 2).
# Exits 1 if any check failed.

. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
HERE=tests/integration/suppressions
cd "$ROOT" || exit 1
make -s "$BUILD/examples/test_kvconf" BUILD="$BUILD" >/dev/null || fail "cannot build examples/kvconf"
KV=$BUILD/examples/test_kvconf
PROG=$BUILD/tests/run/prog_leaky
outcomes() { python3 -c 'import json,sys; print(" ".join(sorted({t["outcome"] for t in json.load(open(sys.argv[1]))["tests"]})))' "$1"; }

# ---- the example suite: three leaking tests, then none ----------------
"$LG" run --json "$WORK/kv.json" -- "$KV" >/dev/null 2>&1 && fail "kvconf: the first run passed"
[ "$(outcomes "$WORK/kv.json")" = "clean leaked" ] || fail "kvconf: outcomes $(outcomes "$WORK/kv.json")"
"$LG" suppressions "$WORK/kv.json" >"$WORK/kv.supp" 2>"$WORK/kv.err" || fail "suppressions: exit $?: $(cat "$WORK/kv.err")"
[ -s "$WORK/kv.err" ] && fail "suppressions wrote to stderr: $(cat "$WORK/kv.err")"
# One rule per leaked site, on the first frame past the C library (the
# report_header leak was allocated by strdup).
grep '^leak:' "$WORK/kv.supp" >"$WORK/kv.rules"
printf 'leak:^open_conf$\nleak:^trimmed_copy$\nleak:^kvconf_report_header_impl$\n' | diff - "$WORK/kv.rules" ||
    fail "kvconf: rules differ (above)"
# Comments name each test, its size and the whole traceback.
for l in '# fixture::counts_the_fixture: 256 B in 1 block' \
    '# kvconf::later_lines_replace_earlier_ones: 10 B in 2 blocks' \
    '# kvconf::report_header: 5 B in 1 block'; do
    grep -qxF "$l" "$WORK/kv.supp" || fail "kvconf: no comment '$l'"
done
grep -Eq '^#   #3 kvconf_later_lines_replace_earlier_ones_impl +examples/kvconf/tests/test_kvconf\.c:[0-9]+ ' \
    "$WORK/kv.supp" || fail "kvconf: the traceback's last frame is not in the comment"
grep -Eq '^#   #0 __strdup ' "$WORK/kv.supp" || fail "kvconf: the strdup frame is not in the comment"
grep -v '^#' "$WORK/kv.supp" | grep -v '^leak:' | grep -q . && fail "kvconf: lines that are neither comments nor rules"
"$LG" run --suppressions "$WORK/kv.supp" --json "$WORK/kv2.json" -- "$KV" >"$WORK/kv2.out" 2>&1 ||
    fail "kvconf with its suppressions: exit $?: $(cat "$WORK/kv2.out")"
[ "$(outcomes "$WORK/kv2.json")" = clean ] || fail "kvconf with its suppressions: $(outcomes "$WORK/kv2.json")"
# The rules of a clean run: none.
"$LG" suppressions "$WORK/kv2.json" >"$WORK/none.supp" || fail "suppressions of a clean report: exit $?"
grep -q '^leak:' "$WORK/none.supp" && fail "a clean report gave rules"
grep -qx '# (no leaks)' "$WORK/none.supp" || fail "a clean report: no '(no leaks)' note"

# ---- a whole-process run -------------------------------------------------
# The report holds the --top biggest sites (default 5) of prog_leaky's 8:
# the suppressions say that the rest has no rule; --top 0 holds them all.
"$LG" run --json "$WORK/p5.json" -- "$PROG" leak >/dev/null 2>&1
"$LG" suppressions "$WORK/p5.json" >"$WORK/p5.supp" || fail "suppressions of prog_leaky: exit $?"
[ "$(grep -c '^leak:' "$WORK/p5.supp")" = 5 ] || fail "prog_leaky --top 5: $(grep -c '^leak:' "$WORK/p5.supp") rules"
grep -q '^# .*prog_leaky leak: (other leaks) has no frame with a symbol (or the report left it out: run with --top 0): no rule$' \
    "$WORK/p5.supp" || fail "prog_leaky --top 5: no note on the leaks left out"
"$LG" run --top 0 --json "$WORK/p.json" -- "$PROG" leak >/dev/null 2>&1
[ $? = 23 ] || fail "prog_leaky leak: not exit 23"
"$LG" suppressions "$WORK/p.json" >"$WORK/p.supp" || fail "suppressions of prog_leaky: exit $?"
[ "$(grep -c '^leak:' "$WORK/p.supp")" = 8 ] || fail "prog_leaky: $(grep -c '^leak:' "$WORK/p.supp") rules"
grep -q '^leak:^leak_strdup\$$' "$WORK/p.supp" || fail "prog_leaky: no rule on leak_strdup"
"$LG" run --suppressions "$WORK/p.supp" -- "$PROG" leak >"$WORK/p2.out" 2>&1 ||
    fail "prog_leaky with its suppressions: exit $?: $(cat "$WORK/p2.out")"

# ---- valgrind's suppressions ----------------------------------------------
"$LG" suppressions --from-valgrind $HERE/data/handmade.supp >"$WORK/hand.out" 2>&1 ||
    fail "--from-valgrind handmade.supp: exit $?"
diff -u $HERE/data/handmade.expected "$WORK/hand.out" || fail "--from-valgrind handmade.supp differs (above)"
"$LG" run --suppressions "$WORK/hand.out" -- "$PROG" clean >/dev/null 2>&1 ||
    fail "the converted hand-made rules do not load"
if command -v valgrind >/dev/null; then
    valgrind -q --leak-check=full --show-leak-kinds=all --gen-suppressions=all \
        --log-file="$WORK/vg.log" "$PROG" leak >/dev/null 2>&1
    sed -n '/^{/,/^}/p' "$WORK/vg.log" >"$WORK/vg.supp"
    [ "$(grep -c '^{' "$WORK/vg.supp")" -ge 5 ] || fail "valgrind generated $(grep -c '^{' "$WORK/vg.supp") blocks"
    "$LG" suppressions --from-valgrind "$WORK/vg.supp" >"$WORK/vg.rules" || fail "--from-valgrind of valgrind's own output: exit $?"
    grep -q '^leak:^leak_strdup\$$' "$WORK/vg.rules" || fail "valgrind's strdup block: no rule on leak_strdup"
    "$LG" run --suppressions "$WORK/vg.rules" -- "$PROG" leak >"$WORK/vg.out" 2>&1 ||
        fail "prog_leaky with valgrind's converted suppressions: exit $?: $(cat "$WORK/vg.out")"
else
    fail "valgrind not found (ci/install-deps.sh installs it)"
fi

# ---- usage and input errors: one line, exit 2 -----------------------------
usage() {
    pattern=$1
    shift
    "$LG" suppressions "$@" >"$WORK/u.out" 2>"$WORK/u.err"
    rc=$?
    [ "$rc" = 2 ] || fail "leakgate suppressions $*: exit $rc, expected 2"
    [ "$(wc -l <"$WORK/u.err")" = 1 ] || fail "leakgate suppressions $*: not one line: $(cat "$WORK/u.err")"
    grep -q -- "$pattern" "$WORK/u.err" || fail "leakgate suppressions $*: '$(cat "$WORK/u.err")' lacks '$pattern'"
    [ -s "$WORK/u.out" ] && fail "leakgate suppressions $*: wrote to stdout"
}
printf '{\n   unclosed\n   Memcheck:Leak\n   fun:f\n' >"$WORK/unclosed.supp"
printf '{\n   name\n   Memcheck:Leak\n   fun:f\n   bogus line\n}\n' >"$WORK/bogus.supp"
printf '{"schema": "leakgate/1", "tests": [' >"$WORK/truncated.json"
usage 'no report given'
usage 'unknown option --bogus' --bogus "$WORK/kv.json"
usage 'takes no report' --from-valgrind $HERE/data/handmade.supp "$WORK/kv.json"
usage "missing.json: No such file or directory" "$WORK/missing.json"
usage "truncated.json: " "$WORK/truncated.json"
printf '{"schema": "other/2", "tests": []}' >"$WORK/other.json"
usage 'other.json: not a leakgate/1 report (schema "other/2")' "$WORK/other.json"
usage "unclosed.supp: the block at line 1 has no closing" --from-valgrind "$WORK/unclosed.supp"
usage 'bogus.supp:5: "bogus line" is not valgrind suppression syntax' --from-valgrind "$WORK/bogus.supp"
usage "missing.supp: No such file or directory" --from-valgrind "$WORK/missing.supp"
usage '--from-valgrind: needs a value' --from-valgrind
"$LG" suppressions --help | grep -q 'leakgate suppressions --from-valgrind FILE' || fail "--help"

# Every leakgate/1 report and leakgate-baseline/1 file written here follows
# docs/schema/.
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 4 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"

finish
