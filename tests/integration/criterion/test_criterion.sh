#!/bin/sh
# test_criterion.sh — the Criterion adapter end to end, on suite.c, in both
# modes: preloaded by `leakgate run` and linked (libleakgate-criterion).
# Checks outcomes, messages (function and file:line), exit statuses, the
# JSON report, and golden TAP/XML/JSON outputs of a leaking test
# (UPDATE_GOLDEN=1 rewrites them).  Exits 1 if any check failed.

. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
HERE=tests/integration/criterion

cd "$ROOT" || exit 1
CFLAGS="-std=gnu11 -g -O0 -fno-omit-frame-pointer -I$ROOT/adapters/criterion/include"
cc $CFLAGS $HERE/suite.c -lcriterion -o "$WORK/suite" || { echo "FAIL: cannot build suite.c"; exit 1; }
cc $CFLAGS $HERE/suite.c -L"$BUILD/lib" -Wl,-rpath,"$BUILD/lib" \
    -lleakgate-criterion -lleakgate -lcriterion -o "$WORK/suite_linked" ||
    { echo "FAIL: cannot build the linked suite"; exit 1; }

line_of() { grep -n "SITE:$1 " $HERE/suite.c | cut -d: -f1; }

# check_mode NAME: $WORK/NAME.out (console) and NAME.json from one -j2 run.
check_mode() {
    out=$WORK/$1.out
    [ "$rc" != 0 ] || fail "$1: the runner exited 0 although tests leaked"
    for t in plain::leak_malloc plain::leak_strdup plain::leak_deep fixture::leak_in_init \
        param::sizes plain::own_failure_and_leak; do
        grep -q "^\[FAIL\] $t:" "$out" || fail "$1: $t is not FAILED"
    done
    grep -q '^\[FAIL\] plain::crashes: CRASH!' "$out" || fail "$1: the crash is not the crash's outcome"
    grep -q '^\[FAIL\] plain::times_out: Timed out' "$out" || fail "$1: the timeout is not the timeout's outcome"
    grep -q 'Tested: 16 | Passing: 8 | Failing: 8 | Crashing: 1' "$out" ||
        fail "$1: unexpected synthesis: $(grep Synthesis "$out")"
    for site in malloc:123:plain_leak_malloc_impl strdup:29:plain_leak_strdup_impl \
        deep:208:make_node param:32:param_sizes_impl own:55:plain_own_failure_and_leak_impl; do
        s=${site%%:*} rest=${site#*:} size=${rest%%:*} fn=${rest#*:}
        grep -Eq "^\[----\]   leakgate: test .* leaked $size B in 1 block \(limit 0 B\)" "$out" ||
            fail "$1: no failure text for $size B"
        grep -Eq "#[0-9] +$fn +([^ ]*/)?suite\.c:$(line_of "$s") " "$out" ||
            fail "$1: no frame '$fn suite.c:$(line_of "$s")'"
    done
    grep -Eq "#0 +balanced_init +([^ ]*/)?suite\.c:" "$out" || fail "$1: fixture leak not located in .init"
    grep -q "the test also failed its own assertions" "$out" || fail "$1: own failure not noted"
    grep -q "the test's own failure" "$out" || fail "$1: the test's own message is lost"
    for t in fixture::balanced plain::libc_first_use plain::raises_its_limit plain::expects_a_leak \
        plain::limited_by_rule theory::halves plain::clean; do
        if grep -q "^\[FAIL\] $t:" "$out"; then fail "$1: $t failed"; fi
    done
    python3 - "$WORK/$1.json" <<'PY' || fail "$1: JSON report check failed"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "leakgate/1"
got = sorted((t["id"], t["outcome"], t["size_diff"]) for t in doc["tests"])
want = sorted([
    ("fixture::balanced", "clean", 0), ("fixture::leak_in_init", "leaked", 777),
    ("param::sizes", "clean", 0), ("param::sizes", "leaked", 32),
    ("plain::clean", "clean", 0), ("plain::expects_a_leak", "clean", 5000),
    ("plain::leak_deep", "leaked", 208), ("plain::leak_malloc", "leaked", 123),
    ("plain::leak_strdup", "leaked", 29), ("plain::libc_first_use", "clean", 0),
    ("plain::limited_by_rule", "clean", 300), ("plain::own_failure_and_leak", "leaked", 55),
    ("plain::raises_its_limit", "clean", 1000), ("theory::halves", "clean", 0),
    ("plain::crashes", "crashed", 0), ("plain::times_out", "crashed", 0)])
assert got == want, got
leak = [t for t in doc["tests"] if t["id"] == "plain::leak_deep"][0]["leaks"][0]
fns = [f["function"] for f in leak["traceback"]]
assert fns[:3] == ["make_node", "make_list", "plain_leak_deep_impl"], fns
mods = [(f["module"] or "").rsplit("/", 1)[-1] for f in leak["traceback"]]
assert not any(m.startswith(("libcriterion", "libleakgate")) for m in mods), mods
PY
}

export LEAKGATE_LIMITS="plain::limited_by_rule max_size=512"
"$LG" run --json "$WORK/preload.json" -- "$WORK/suite" -j2 >"$WORK/preload.out" 2>&1
rc=$?
check_mode preload
unset LEAKGATE_LIMITS
# Linked mode takes the same per-test limit from a suppressions file.
printf '# per-test limits\nlimit plain::limited_by_rule max_size=512\n' >"$WORK/supp"
LEAKGATE_SUPPRESSIONS="$WORK/supp" LEAKGATE_REPORT="$WORK/linked.json" "$WORK/suite_linked" -j2 \
    >"$WORK/linked.out" 2>&1
rc=$?
check_mode linked
# Symbolized once per run: the runner answers its workers, so libdw is
# opened by one process, however many tests leak (and by none when none
# does); the failure texts are the ones checked above.
mkdir -p "$WORK/ld"
LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/ld/leaky" "$WORK/suite_linked" --filter 'plain/leak_*' -j2 \
    >"$WORK/once.out" 2>&1
grep -Eq "#[0-9] +plain_leak_strdup_impl +([^ ]*/)?suite\.c:$(line_of strdup) " "$WORK/once.out" ||
    fail "once per run: no symbolized frame in $(cat "$WORK/once.out")"
opened=$(grep -l 'file=libdw\.so' "$WORK"/ld/leaky.* | wc -l)
[ "$opened" = 1 ] || fail "once per run: $opened processes opened libdw, not 1"
LD_DEBUG=files LD_DEBUG_OUTPUT="$WORK/ld/clean" "$WORK/suite_linked" --filter 'plain/clean' \
    >"$WORK/none.out" 2>&1 || fail "once per run: a clean test failed: $(cat "$WORK/none.out")"
if grep -q 'file=libdw\.so' "$WORK"/ld/clean.*; then fail "a clean run opened libdw"; fi

# A bad setting is one line naming it and exit 2 before any test runs.
bad_setting() { # NAME PATTERN VAR=VALUE...
    name=$1 pattern=$2
    shift 2
    env "$@" "$WORK/suite_linked" --filter 'plain/*' >"$WORK/$name.out" 2>&1
    got=$?
    [ "$got" = 2 ] || fail "$name: the runner exited $got, not 2"
    [ "$(wc -l <"$WORK/$name.out")" = 1 ] && grep -Eq -- "$pattern" "$WORK/$name.out" ||
        fail "$name: not one line matching '$pattern': $(head -5 "$WORK/$name.out")"
}
printf 'limit plain::clean max_size=lots\n' >"$WORK/badsupp"
bad_setting badsupp "^leakgate: LEAKGATE_SUPPRESSIONS=$WORK/badsupp:1: max_size=lots: expected a size" \
    LEAKGATE_SUPPRESSIONS="$WORK/badsupp"
bad_setting badlimits "^leakgate: LEAKGATE_LIMITS=plain::\* max_size=1x: entry 1: max_size=1x: expected a size" \
    LEAKGATE_LIMITS='plain::* max_size=1x'
bad_setting badsize "^leakgate: LEAKGATE_MAX_SIZE=lots: expected a size" LEAKGATE_MAX_SIZE=lots
# The runtime's own, read as it loads: one line for the runner and its
# workers, the default used (the leaking tests fail as usual).
LEAKGATE_UNWIND=dwarf "$WORK/suite_linked" --filter 'plain/leak_malloc' -j2 >"$WORK/unwind.out" 2>&1 &&
    fail "LEAKGATE_UNWIND=dwarf: a leaking test passed"
[ "$(grep -c 'LEAKGATE_UNWIND=dwarf: expected auto, fp or libunwind; using auto$' "$WORK/unwind.out")" = 1 ] ||
    fail "LEAKGATE_UNWIND=dwarf: not said once: $(grep -c LEAKGATE_UNWIND "$WORK/unwind.out") times"
grep -q '^\[FAIL\] plain::leak_malloc' "$WORK/unwind.out" || fail "LEAKGATE_UNWIND=dwarf: the leak was not judged"

# A clean selection exits 0; --filter keeps the report to what ran.
"$LG" run --json "$WORK/filter.json" -- "$WORK/suite" --filter 'fixture/balanced' >"$WORK/f.out" 2>&1 ||
    fail "filter: a clean test made the runner fail: $(cat "$WORK/f.out")"
python3 -c "import json,sys; t=json.load(open(sys.argv[1]))['tests']; assert [x['id'] for x in t]==['fixture::balanced'], t" \
    "$WORK/filter.json" || fail "filter: report is not the one test that ran"

# --debug: leakgate stays out of the way (the debugger itself is not started here).
"$LG" run -- "$WORK/suite" --debug=idle --filter 'plain/clean' --help >"$WORK/debug.out" 2>&1
grep -q "without leak checks" "$WORK/debug.out" || fail "--debug: no note that checks are off"

# Golden outputs of one leaking test: TAP, XML and Criterion's JSON, with
# times, offsets and the checkout's path normalized.
normalize() {
    sed -E -e "s|$ROOT/||g" -e 's/\(([0-9.]+)s\)/(T)/g' -e 's/time="[0-9.]+"/time="T"/g' \
        -e 's/\+0x[0-9a-f]+\)/+0xX)/g' "$1"
}
"$LG" run -- "$WORK/suite" --filter 'plain/leak_malloc' --tap="$WORK/g.tap" --xml="$WORK/g.xml" \
    --json="$WORK/g.json" >/dev/null 2>&1
python3 -c "import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])" "$WORK/g.xml" || fail "golden: XML does not parse"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$WORK/g.json" || fail "golden: JSON does not parse"
for f in tap xml json; do
    normalize "$WORK/g.$f" >"$WORK/n.$f"
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$WORK/n.$f" "$HERE/golden/leak_malloc.$f"
    elif ! diff -u "$HERE/golden/leak_malloc.$f" "$WORK/n.$f" >"$WORK/d.$f"; then
        fail "golden $f differs:
$(cat "$WORK/d.$f")"
    fi
done

# Every leakgate/1 report and leakgate-baseline/1 file written here follows
# docs/schema/.
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 3 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"

finish
