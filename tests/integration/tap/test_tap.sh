#!/bin/sh
# test_tap.sh — TAP output end to end: the leakgate/tap.h API
# (prog_api_cases.c), `leakgate tap` over a plain printf TAP program
# (prog_plain_tap.c), a suite written with cmocka, a common C test library
# that prints TAP (cmocka_suite.c), and a Criterion suite run with --tap.  Checks golden TAP files (UPDATE_GOLDEN=1 rewrites
# them), that Test::Harness and tap.py read every one without a parse
# error (and find the YAML data), prove's summary and exit status over
# directories of such programs, exit statuses and usage errors.
# Exits 1 if any check failed.

. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
API=$BUILD/tests/tap/prog_api_cases
PLAIN=$BUILD/tests/tap/prog_plain_tap
HERE=tests/integration/tap
cd "$ROOT" || exit 1
command -v prove >/dev/null || { echo "FAIL: prove not found (ci/install-deps.sh installs perl)"; exit 1; }

# tap.py's consumer (tappy): the project's venv, Debian's python3-tap, or a
# throwaway venv under build/ (needs the network once).
if [ -x "$VENV/bin/tappy" ]; then
    TAPPY_PY=$VENV/bin/python
elif /usr/bin/python3 -c 'import tap.parser' 2>/dev/null; then
    TAPPY_PY=/usr/bin/python3
else
    [ -x "$BUILD/tapvenv/bin/tappy" ] ||
        { python3 -m venv "$BUILD/tapvenv" && "$BUILD/tapvenv/bin/pip" install -q 'tap.py[yaml]'; } >/dev/null 2>&1
    TAPPY_PY=$BUILD/tapvenv/bin/python
fi
tappy() { "$TAPPY_PY" -c 'import sys; from tap.main import main; sys.exit(main(sys.argv))' "$@"; }
"$TAPPY_PY" -c 'import tap.parser' 2>/dev/null || fail "no tap.py (tappy) to read TAP with"

line_of() { grep -n "SITE:$2 " "$HERE/$1" | cut -d: -f1; }

# Paths, offsets and C library line numbers change from build to build.
normalize() {
    sed -E -e "s|$BUILD/|BUILD/|g" -e "s|$ROOT/||g" -e 's|module: "[^"]*/([^/"]+)"|module: "\1"|' \
        -e 's/\+0x[0-9a-f]+\)/+0xX)/g' |
        awk '/file: "\.\.\// { print; getline; sub(/line: [0-9]+/, "line: N") } { print }'
}

# harness_check FILE [SIZE]: Test::Harness reads FILE with no parse error;
# with SIZE, a YAML block whose data.size_diff is SIZE and has frames.
harness_check() {
    perl -MTAP::Parser -e '
        local $/; open my $fh, "<", $ARGV[0] or die; my $p = TAP::Parser->new({tap => <$fh>});
        my $size;
        while (my $r = $p->next) {
            next unless $r->is_yaml;
            my $d = $r->data->{data} or next;
            $size = $d->{size_diff} if defined $d->{size_diff} && @{$d->{leaks}[0]{frames}};
        }
        my @e = $p->parse_errors; die "parse errors: @e\n" if @e;
        die "no YAML block with size_diff $ARGV[1]\n" if $ARGV[1] ne "" && ($size // -1) != $ARGV[1];
    ' "$1" "${2:-}" || fail "Test::Harness on $1"
}

# tappy_check FILE STATUS [SIZE]: tappy's exit status, and its parser finds
# data.size_diff SIZE in a failed point's YAML block.
tappy_check() {
    tappy "$1" >/dev/null 2>&1
    st=$?
    [ "$st" = "$2" ] || fail "tappy $1: exit $st, expected $2"
    [ -z "${3:-}" ] && return
    "$TAPPY_PY" - "$1" "$3" <<'PY' || fail "tappy: no YAML size_diff $3 in $1"
import sys
from tap.parser import Parser
sizes = [l.yaml_block["data"]["size_diff"] for l in Parser().parse_file(sys.argv[1])
         if l.category == "test" and not l.ok and l.yaml_block]
assert int(sys.argv[2]) in sizes, sizes
PY
}

golden() {
    normalize <"$WORK/$1.raw" >"$WORK/$1.tap"
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$WORK/$1.tap" "$HERE/golden/$1.tap"
    elif ! diff -u "$HERE/golden/$1.tap" "$WORK/$1.tap" >"$WORK/$1.diff"; then
        fail "golden $1.tap differs:
$(cat "$WORK/$1.diff")"
    fi
}

# ---- the API, linked (no leakgate tap) -----------------------------------
for s in clean leak fail skip todo; do
    "$API" $s >"$WORK/api_$s.raw" 2>"$WORK/api_$s.err"
    echo $? >"$WORK/api_$s.rc"
    golden "api_$s"
done
for s in clean skip todo; do
    [ "$(cat "$WORK/api_$s.rc")" = 0 ] || fail "api $s: exit $(cat "$WORK/api_$s.rc"), expected 0"
done
for s in leak fail; do
    [ "$(cat "$WORK/api_$s.rc")" = 1 ] || fail "api $s: exit $(cat "$WORK/api_$s.rc"), expected 1"
done
grep -Eq "#0 +make_buffer +$HERE/prog_api_cases\.c:$(line_of prog_api_cases.c buffer) " "$WORK/api_leak.err" ||
    fail "api leak: no failure text with make_buffer on stderr: $(cat "$WORK/api_leak.err")"
grep -q "Failed test 'six times seven is 41'" "$WORK/api_fail.err" || fail "api fail: no diagnostic"
harness_check "$WORK/api_clean.tap"
harness_check "$WORK/api_leak.tap" 96
harness_check "$WORK/api_fail.tap"
harness_check "$WORK/api_skip.tap"
harness_check "$WORK/api_todo.tap" 48
tappy_check "$WORK/api_clean.tap" 0
tappy_check "$WORK/api_leak.tap" 1 96
tappy_check "$WORK/api_todo.tap" 0

# ---- leakgate tap over a plain TAP program ------------------------------
for s in clean leak planlast fail noplan badnum bailout; do
    "$LG" tap -- "$PLAIN" $s >"$WORK/filter_$s.raw" 2>"$WORK/filter_$s.err"
    echo $? >"$WORK/filter_$s.rc"
    golden "filter_$s"
done
for want in clean:0 leak:23 planlast:23 fail:1 noplan:0 badnum:0 bailout:255; do
    s=${want%%:*} rc=$(cat "$WORK/filter_${want%%:*}.rc")
    [ "$rc" = "${want#*:}" ] || fail "leakgate tap $s: exit $rc, expected ${want#*:}"
done
grep -Eq "#0 +remember +$HERE/prog_plain_tap\.c:$(line_of prog_plain_tap.c remember) " "$WORK/filter_leak.err" ||
    fail "leakgate tap leak: no failure text on stderr"
for s in clean leak planlast fail; do harness_check "$WORK/filter_$s.tap"; done
harness_check "$WORK/filter_leak.tap" 96
tappy_check "$WORK/filter_clean.tap" 0
tappy_check "$WORK/filter_leak.tap" 1 96
grep -q '^# leakgate: .* printed no plan$' "$WORK/filter_noplan.tap" || fail "noplan: no diagnostic"
grep -q '^# leakgate: test number 3 out of sequence (expected 2)$' "$WORK/filter_badnum.tap" ||
    fail "badnum: no diagnostic"
grep -q "bailed out; leakgate's verdict follows" "$WORK/filter_bailout.tap" || fail "bailout: no diagnostic"
tail -1 "$WORK/filter_bailout.tap" | grep -q '^ok 2 - leakgate: no leaks$' || fail "bailout: no verdict"

# The API under leakgate tap: cases judge their own leaks, the final point
# the rest.
"$LG" tap --json "$WORK/r.json" -- "$PLAIN" leak >/dev/null 2>&1
python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['tests']; assert [x['outcome'] for x in t]==['leaked'] and t[0]['size_diff']==96, t" \
    "$WORK/r.json" || fail "leakgate tap --json: not one leaked test of 96 B"
"$LG" tap -- "$API" leak >"$WORK/api_under_tap.out" 2>/dev/null
grep -q '^not ok 2 - keeps two buffers$' "$WORK/api_under_tap.out" || fail "api under leakgate tap: case 2 not failed"
grep -q '^ok 3 - leakgate: no leaks$' "$WORK/api_under_tap.out" || fail "api under leakgate tap: a case's leak judged twice"
grep -q '^1\.\.3$' "$WORK/api_under_tap.out" || fail "api under leakgate tap: plan not raised"

# ---- prove over directories ---------------------------------------------
CR=$BUILD/tests/tap/criterion_suite
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer $HERE/criterion_suite.c -lcriterion -o "$CR" ||
    fail "cannot build criterion_suite.c"
CM=$BUILD/tests/tap/cmocka_suite
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer $HERE/cmocka_suite.c -lcmocka -o "$CM" ||
    fail "cannot build cmocka_suite.c"
mkdir -p "$WORK/clean" "$WORK/mixed"
script() { printf '#!/bin/sh\nexec %s %s\n' "$2" "$3" >"$1" && chmod +x "$1"; }
for s in clean skip todo; do script "$WORK/clean/api_$s.t" "$API" $s; done
script "$WORK/clean/plain.t" "$PLAIN" clean
script "$WORK/mixed/api_leak.t" "$API" leak
script "$WORK/mixed/api_clean.t" "$API" clean
script "$WORK/mixed/plain_leak.t" "$PLAIN" leak
script "$WORK/mixed/plain_fail.t" "$PLAIN" fail
ln -s "$CR" "$WORK/mixed/criterion.t"
ln -s "$CM" "$WORK/mixed/cmocka.t"

(cd "$WORK" && prove --exec "$LG tap --" clean/*.t) >"$WORK/p1.out" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "prove over clean/: exit $rc: $(cat "$WORK/p1.out")"
grep -q '^All tests successful\.$' "$WORK/p1.out" || fail "prove over clean/: not successful"
grep -q '^Files=4, Tests=16,' "$WORK/p1.out" || fail "prove over clean/: $(grep Files= "$WORK/p1.out")"

(cd "$WORK" && prove --exec "$LG tap --" mixed/*.t) >"$WORK/p2.out" 2>&1
rc=$?
[ "$rc" != 0 ] || fail "prove over mixed/: exit 0"
grep -q '^Result: FAIL$' "$WORK/p2.out" || fail "prove over mixed/: no FAIL result"
grep -q '^Files=6, Tests=19,' "$WORK/p2.out" || fail "prove over mixed/: $(grep Files= "$WORK/p2.out")"
summary() { grep -A2 "^$1 " "$WORK/p2.out"; }
summary mixed/api_leak.t | grep -q 'Tests: 3 Failed: 1)' || fail "api_leak.t: $(summary mixed/api_leak.t)"
summary mixed/api_leak.t | grep -q 'Failed test:  2$' || fail "api_leak.t: not test 2"
summary mixed/plain_leak.t | grep -q '(Wstat: 5888 (exited 23) Tests: 3 Failed: 1)' ||
    fail "plain_leak.t: $(summary mixed/plain_leak.t)"
summary mixed/plain_leak.t | grep -q 'Failed test:  3$' || fail "plain_leak.t: not the leak point"
summary mixed/plain_fail.t | grep -q '(Wstat: 256 (exited 1) Tests: 3 Failed: 1)' ||
    fail "plain_fail.t: $(summary mixed/plain_fail.t)"
summary mixed/criterion.t | grep -q 'Tests: 3 Failed: 1)' || fail "criterion.t: $(summary mixed/criterion.t)"
# cmocka's two tests pass; leakgate's point 3 fails, naming the test's line.
summary mixed/cmocka.t | grep -q '(Wstat: 5888 (exited 23) Tests: 3 Failed: 1)' ||
    fail "cmocka.t: $(summary mixed/cmocka.t)"
summary mixed/cmocka.t | grep -q 'Failed test:  3$' || fail "cmocka.t: not the leak point"
grep -Eq '#0 keeps_a_buffer +tests/integration/tap/cmocka_suite\.c:[0-9]+' "$WORK/p2.out" ||
    fail "cmocka.t: no traceback of the leak"
grep -q 'Parse errors' "$WORK/p2.out" && fail "prove over mixed/: parse errors: $(grep -A1 'Parse errors' "$WORK/p2.out")"
grep -q '^mixed/api_clean\.t \.* ok$' "$WORK/p2.out" || fail "api_clean.t: not ok"

# Without leakgate tap the API programs are TAP programs of their own.
(cd "$WORK" && prove --exec '' mixed/api_leak.t mixed/api_clean.t) >"$WORK/p3.out" 2>&1 &&
    fail "prove --exec '' over api_leak.t: exit 0"
grep -A1 '^mixed/api_leak.t ' "$WORK/p3.out" | grep -q 'Failed test:  2$' ||
    fail "prove --exec '': $(cat "$WORK/p3.out")"

# ---- Criterion suites whose tests print ---------------------------------
# Criterion's TAP comes on a pipe of its own; what the tests print (stdout
# and stderr) comes as comment lines, in order; one version line first, one
# plan last; prove and tap.py count the same tests and failures.
PR=$BUILD/tests/tap/criterion_prints
cc -std=gnu11 -g -O0 -fno-omit-frame-pointer $HERE/criterion_prints.c -lcriterion -o "$PR" ||
    fail "cannot build criterion_prints.c"
make -s "$BUILD/examples/test_kvconf" BUILD="$BUILD" >/dev/null || fail "cannot build examples/kvconf"
KV=$BUILD/examples/test_kvconf
# tap_agree NAME PROGRAM TESTS FAILED [plain]: leakgate tap's TAP of
# PROGRAM, with TESTS points (leakgate's included) of which FAILED fail,
# read alike by prove and tappy.  A Criterion suite's plan is last and
# nothing goes to stderr (its output is in comments); a plain TAP program
# keeps its plan where it printed it, and its leak report on stderr.
tap_agree() {
    name=$1 bin=$2 tests=$3 failed=$4 plain=${5:-}
    "$LG" tap -- "$bin" >"$WORK/$name.tap" 2>"$WORK/$name.err"
    [ -z "$plain" ] && [ -s "$WORK/$name.err" ] && fail "$name: leakgate tap wrote to stderr: $(cat "$WORK/$name.err")"
    [ "$(grep -c '^TAP version' "$WORK/$name.tap")" = 1 ] || fail "$name: not one version line"
    head -1 "$WORK/$name.tap" | grep -q '^TAP version 13$' || fail "$name: version line not first"
    [ "$(grep -cE '^1\.\.[0-9]' "$WORK/$name.tap")" = 1 ] || fail "$name: not one plan"
    [ -n "$plain" ] || [ "$(tail -1 "$WORK/$name.tap")" = "1..$tests" ] ||
        fail "$name: last line $(tail -1 "$WORK/$name.tap"), not 1..$tests"
    grep -qE "^1\.\.$tests( |\$)" "$WORK/$name.tap" || fail "$name: the plan is not 1..$tests"
    [ "$(grep -cE '^(not )?ok' "$WORK/$name.tap")" = "$tests" ] || fail "$name: not $tests test points"
    mkdir -p "$WORK/agree" && ln -sf "$bin" "$WORK/agree/$name.t"
    (cd "$WORK/agree" && prove --exec "$LG tap --" "./$name.t") >"$WORK/$name.prove" 2>&1
    if [ "$failed" = 0 ]; then
        grep -q '^All tests successful\.$' "$WORK/$name.prove" || fail "prove $name: $(cat "$WORK/$name.prove")"
        grep -q "^Files=1, Tests=$tests," "$WORK/$name.prove" || fail "prove $name: not $tests tests"
    else
        grep -q "Tests: $tests Failed: $failed)" "$WORK/$name.prove" || fail "prove $name: $(cat "$WORK/$name.prove")"
    fi
    grep -q 'Parse errors' "$WORK/$name.prove" && fail "prove $name: parse errors: $(cat "$WORK/$name.prove")"
    tappy "$WORK/$name.tap" >"$WORK/$name.tappy" 2>&1
    grep -q "^Ran $tests tests" "$WORK/$name.tappy" || fail "tappy $name: $(tail -3 "$WORK/$name.tappy")"
    if [ "$failed" = 0 ]; then
        grep -q '^OK' "$WORK/$name.tappy" || fail "tappy $name: $(tail -3 "$WORK/$name.tappy")"
    else
        grep -q "^FAILED (failures=$failed[,)]" "$WORK/$name.tappy" || fail "tappy $name: $(tail -3 "$WORK/$name.tappy")"
    fi
}
tap_agree prints "$PR" 7 2
tap_agree kvconf "$KV" 12 3
tap_agree criterion "$CR" 3 1
script "$WORK/plain_leak.sh" "$PLAIN" leak
script "$WORK/api_leak.sh" "$API" leak
script "$WORK/plain_clean.sh" "$PLAIN" clean
tap_agree plain_leak "$WORK/plain_leak.sh" 3 1 plain
tap_agree api_leak "$WORK/api_leak.sh" 3 1 plain
tap_agree plain_clean "$WORK/plain_clean.sh" 4 0 plain
tap_agree cmocka "$CM" 3 1 plain
# Every line the tests printed is a comment, in the order printed
# (Criterion runs tests in parallel: only one test's lines have an order).
for l in 'after push: 3 2 1' 'slist: three nodes' 'again: 3 2 1' 'TAP version 13' '1..99' \
    'ok 1 - not a test point' 'not ok 2 - nor this' 'Bail out! only words' 'one node: 7' \
    'leaked: 5 4' 'fixture: setting up' 'in the test body' 'fixture: tearing down'; do
    # (a line printed with no newline runs into the next test's first one)
    grep '^# ' "$WORK/prints.tap" | grep -qF -- "$l" || fail "prints: no comment line '# $l'"
done
grep -qF 'a last line without its newline' "$WORK/prints.tap" || fail "prints: the line without newline lost"
grep -qxF '# kvconf summary for '"$(date +%Y)" "$WORK/kvconf.tap" || fail "kvconf: its printed line is not a comment"
order=$(grep -oE '(after push: 3 2 1|slist: three nodes|again: 3 2 1)$' "$WORK/prints.tap" | tr '\n' '|')
[ "$order" = 'after push: 3 2 1|slist: three nodes|again: 3 2 1|' ] || fail "prints: stdout and stderr out of order: $order"
# A --tap=FILE given to the suite is replaced: the report comes to leakgate.
"$LG" tap -- "$PR" --tap="$WORK/elsewhere.tap" >"$WORK/tapfile.tap" 2>&1
[ -e "$WORK/elsewhere.tap" ] && fail "--tap=FILE: the suite still wrote FILE"
tail -1 "$WORK/tapfile.tap" | grep -qx '1\.\.7' || fail "--tap=FILE: $(tail -3 "$WORK/tapfile.tap")"

# ---- usage errors: one line naming the problem, exit 2 ------------------
usage() {
    want=$1 pattern=$2
    shift 2
    "$LG" tap "$@" >"$WORK/u.out" 2>"$WORK/u.err"
    rc=$?
    [ "$rc" = "$want" ] || fail "leakgate tap $*: exit $rc, expected $want"
    [ "$want" = 0 ] && return
    [ "$(wc -l <"$WORK/u.err")" = 1 ] || fail "leakgate tap $*: not one line: $(cat "$WORK/u.err")"
    grep -q -- "$pattern" "$WORK/u.err" || fail "leakgate tap $*: '$(cat "$WORK/u.err")' lacks '$pattern'"
}
usage 2 'no command given'
usage 2 'unknown option --bogus' --bogus -- "$PLAIN"
usage 2 'cannot run /nonexistent/prog: No such file or directory' -- /nonexistent/prog
usage 2 '--max-size=lots: expected a size' --max-size lots -- "$PLAIN"
usage 0 '' --help
grep -q "prove --exec 'leakgate tap --'" "$WORK/u.out" || fail "leakgate tap --help: no prove usage"

# Every leakgate/1 report and leakgate-baseline/1 file written here follows
# docs/schema/.
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 1 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"

finish
