#!/bin/sh
# test_run.sh — `leakgate run`, `show` and `compare` end to end, on
# prog_leaky.c.  Every check prints what it expected and what it got; the
# script exits 1 if any failed.  Needs $BUILD (make check sets it).
#
# Under SAN=address the tools are built with ASan, whose runtime must come
# first in a process: libleakgate.so cannot be preloaded, so we skip.

. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
PROG=$BUILD/tests/run/prog_leaky
SRC=$ROOT/tests/integration/run/prog_leaky.c
for f in "$LG" "$PROG" "$BUILD/lib/libleakgate.so"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "FAIL: $f is missing (run make first)"; exit 1; }
done

# run NAME CMD...: runs CMD with stdout and stderr in $WORK/NAME.out/.err;
# $rc is its exit status.  The environment is cleared of LEAKGATE_*.
run() {
    name=$1
    shift
    env -u LEAKGATE_JSON -u LEAKGATE_MAX_SIZE -u LEAKGATE_MAX_COUNT \
        -u LEAKGATE_FRAMES -u LEAKGATE_TOP -u LEAKGATE_SUPPRESSIONS \
        -u LEAKGATE_ERROR_EXITCODE -u LEAKGATE_SNAPSHOT \
        "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    rc=$?
}

expect_rc() { # NAME EXPECTED
    [ "$rc" = "$2" ] || fail "$1: exit status $rc, expected $2; stderr:
$(head -20 "$WORK/$1.err")"
}

expect_grep() { # NAME FILE PATTERN (grep -E)
    grep -Eq -- "$3" "$2" || fail "$1: no line matching '$3' in $(basename "$2"):
$(head -30 "$2")"
}

expect_no_grep() { # NAME FILE PATTERN
    if grep -Eq -- "$3" "$2"; then
        fail "$1: unexpected line matching '$3' in $(basename "$2"):
$(grep -E -- "$3" "$2" | head -5)"
    fi
}

expect_lines() { # NAME FILE N
    n=$(wc -l <"$2" | tr -d ' ')
    [ "$n" = "$3" ] || fail "$1: $n lines in $(basename "$2"), expected $3:
$(head -10 "$2")"
}

line_of() { # SITE -> line number of the marker comment in prog_leaky.c
    grep -n "SITE:$1 " "$SRC" | cut -d: -f1
}

# block FILE SIZE COUNT: the traceback block whose header is
# "  SIZE in COUNT block(s) (+COUNT) allocated at", up to the next header.
block() {
    awk -v head="  $2 in $3 block" '
        /^  [^ ].* allocated at$/ { inb = (index($0, head) == 1) ; if (inb) print; next }
        /^  \.\.\. and / { inb = 0 }
        inb { print }' "$1"
}

# ---- leak mode: exit status, header, one block per site -----------------

run leak "$LG" run --top 0 -- "$PROG" leak
expect_rc leak 23
expect_grep leak "$WORK/leak.err" \
    "^leakgate: test $PROG leak leaked 10\.2 KiB in 10 blocks \(limit 0 B\)$"

check_site() { # SITE SIZE COUNT FUNCTION
    site=$1 size=$2 count=$3 fn=$4
    line=$(line_of "$site")
    [ -n "$line" ] || { fail "no SITE:$site marker in $SRC"; return; }
    block "$WORK/leak.err" "$size B" "$count" >"$WORK/block.$site"
    if [ ! -s "$WORK/block.$site" ]; then
        fail "site $site: no block '  $size B in $count block(s)' in:
$(cat "$WORK/leak.err")"
        return
    fi
    plural=s; [ "$count" = 1 ] && plural=
    expect_grep "site $site" "$WORK/block.$site" \
        "^  $size B in $count block$plural \(\+$count\) allocated at$"
    expect_grep "site $site" "$WORK/block.$site" \
        "^    #[0-9]+ +$fn +([^ ]*/)?prog_leaky\.c:$line +\(prog_leaky\+0x[0-9a-f]+\)$"
}

check_site malloc 1001 1 leak_malloc
check_site calloc 1011 1 leak_calloc
check_site realloc 1021 1 leak_realloc
check_site strdup 1031 1 leak_strdup
check_site posix_memalign 1041 1 leak_posix_memalign
check_site aligned_alloc 1088 1 leak_aligned_alloc
check_site thread 3153 3 thread_leak
check_site deep6 1071 1 deep6
# The deep block lists the whole chain, most recent first.
n=0
for d in 6 5 4 3 2 1; do
    expect_grep "deep chain" "$WORK/block.deep6" \
        "^    #$n +deep$d +([^ ]*/)?prog_leaky\.c:$(line_of deep$d) "
    n=$((n + 1))
done
# strdup: the C library's strdup is frame #0, the caller frame #1.
expect_grep "strdup frames" "$WORK/block.strdup" "^    #1 +leak_strdup "
# Nothing else: 8 tracebacks, no C library state.
n=$(grep -c ' allocated at$' "$WORK/leak.err")
[ "$n" = 8 ] || fail "leak: $n tracebacks reported, expected 8:
$(cat "$WORK/leak.err")"
expect_no_grep leak "$WORK/leak.err" "setlocale|_IO_file_doallocate|tzset|_dl_"

# Default --top 5: five blocks and a summary of the rest.
run leaktop "$LG" run -- "$PROG" leak
expect_rc leaktop 23
n=$(grep -c ' allocated at$' "$WORK/leaktop.err")
[ "$n" = 5 ] || fail "leaktop: $n tracebacks shown, expected 5"
expect_grep leaktop "$WORK/leaktop.err" '^  \.\.\. and 3 more tracebacks \(3033 B\)$'

# ---- clean mode, exit statuses and limits ---------------------------------

run clean "$LG" run -- "$PROG" clean
expect_rc clean 0
expect_no_grep clean "$WORK/clean.err" "leaked"
expect_lines clean "$WORK/clean.err" 0
expect_grep clean "$WORK/clean.out" "^prog_leaky: clean mode"

run status3 "$LG" run -- "$PROG" clean 3
expect_rc status3 3
expect_no_grep status3 "$WORK/status3.err" "leaked"

# A failing program keeps its status even when it leaked; the report shows.
run leak3 "$LG" run -- "$PROG" leak 3
expect_rc leak3 3
expect_grep leak3 "$WORK/leak3.err" "leaked 10\.2 KiB in 10 blocks"

run exitcode "$LG" run --error-exitcode 7 -- "$PROG" leak
expect_rc exitcode 7
run exitcode_env env LEAKGATE_ERROR_EXITCODE=9 "$LG" run -- "$PROG" leak
expect_rc exitcode_env 9

run maxsize_above "$LG" run --max-size 20000 -- "$PROG" leak
expect_rc maxsize_above 0
expect_lines maxsize_above "$WORK/maxsize_above.err" 0
run maxsize_equal "$LG" run --max-size=10417 -- "$PROG" leak
expect_rc maxsize_equal 0
run maxsize_below "$LG" run --max-size "10 KiB" -- "$PROG" leak
expect_rc maxsize_below 23
expect_grep maxsize_below "$WORK/maxsize_below.err" "\(limit 10\.0 KiB\)$"
run maxsize_env env LEAKGATE_MAX_SIZE=1MiB "$LG" run -- "$PROG" leak
expect_rc maxsize_env 0
run maxcount_ok "$LG" run --max-size 1MiB --max-count 10 -- "$PROG" leak
expect_rc maxcount_ok 0
run maxcount_over "$LG" run --max-size 1MiB --max-count 9 -- "$PROG" leak
expect_rc maxcount_over 23
expect_grep maxcount_over "$WORK/maxcount_over.err" "\(limits 1024 KiB, 9 blocks\)$"

# Limits per program: LEAKGATE_LIMITS and `limit` lines match the verdict's
# id, CMD as given with its arguments (fnmatch; '?' for the space).
run limits_match env LEAKGATE_LIMITS="*/prog_leaky?leak max_size=20000" \
    "$LG" run --json "$WORK/limits.json" -- "$PROG" leak
expect_rc limits_match 0
expect_lines limits_match "$WORK/limits_match.err" 0
expect_grep limits_match "$WORK/limits.json" '"limits": \{"max_size": 20000, "max_count": null\}'
run limits_other env LEAKGATE_LIMITS="*/prog_leaky?clean max_size=20000" "$LG" run -- "$PROG" leak
expect_rc limits_other 23
expect_grep limits_other "$WORK/limits_other.err" "\(limit 0 B\)$"
printf 'limit */prog_leaky* max_count=9\n' >"$WORK/limit.supp"
run limit_line "$LG" run --max-size 1MiB --suppressions "$WORK/limit.supp" -- "$PROG" leak
expect_rc limit_line 23
expect_grep limit_line "$WORK/limit_line.err" "\(limits 1024 KiB, 9 blocks\)$"
run limits_tap env LEAKGATE_LIMITS="*/prog_plain_tap* max_size=1KiB" \
    "$LG" tap -- "$BUILD/tests/tap/prog_plain_tap" leak
expect_rc limits_tap 0
expect_grep limits_tap "$WORK/limits_tap.out" "^ok [0-9]+ - leakgate"

# Suppressions from a file remove a site.
printf '# test\nexclude all function=leak_malloc\nleak:thread_leak\n' >"$WORK/supp"
run supp "$LG" run --suppressions "$WORK/supp" --top 0 -- "$PROG" leak
expect_rc supp 23
expect_grep supp "$WORK/supp.err" "leaked 6263 B in 6 blocks"
expect_no_grep supp "$WORK/supp.err" "leak_malloc|thread_leak"

# ---- JSON report ----------------------------------------------------------

run json "$LG" run --json "$WORK/report.json" -- "$PROG" leak
expect_rc json 23
if command -v python3 >/dev/null 2>&1; then
    python3 - "$WORK/report.json" "$PROG leak" <<'PY' || fail "json: report check failed"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"] == "leakgate/1", doc["schema"]
assert len(doc["tests"]) == 1, doc["tests"]
t = doc["tests"][0]
assert set(t) == {"id", "outcome", "size_diff", "count_diff", "limits", "leaks"}, t.keys()
assert t["id"] == sys.argv[2], t["id"]
assert t["outcome"] == "leaked", t["outcome"]
assert (t["size_diff"], t["count_diff"]) == (10417, 10), t
assert t["limits"] == {"max_size": 0, "max_count": None}, t["limits"]
assert len(t["leaks"]) == 5, len(t["leaks"])
first = t["leaks"][0]
assert (first["size_diff"], first["count_diff"], first["size"], first["count"],
        first["domain"]) == (3153, 3, 3153, 3, 1), first
f0 = first["traceback"][0]
assert set(f0) == {"kind", "function", "file", "line", "module", "offset"}, f0
assert f0["kind"] == "native" and f0["function"] == "thread_leak", f0
assert f0["file"].endswith("prog_leaky.c") and f0["module"].endswith("prog_leaky"), f0
assert isinstance(f0["line"], int) and isinstance(f0["offset"], int), f0
sizes = [l["size_diff"] for l in t["leaks"]]
assert sizes == sorted(sizes, reverse=True), sizes
PY
else
    echo "note: python3 not found, JSON report not validated"
fi
run json_clean env LEAKGATE_JSON="$WORK/clean.json" "$LG" run -- "$PROG" clean
expect_rc json_clean 0
expect_grep json_clean "$WORK/clean.json" '"outcome": "clean", "size_diff": 0, "count_diff": 0'

# ---- usage errors: one line, exit 2 -----------------------------------------

usage_error() { # NAME EXPECTED-LINE CMD...
    name=$1 want=$2
    shift 2
    run "$name" "$@"
    expect_rc "$name" 2
    expect_lines "$name" "$WORK/$name.err" 1
    expect_grep "$name" "$WORK/$name.err" "$want"
}
usage_error bad_frames '^leakgate: --frames=0: expected an integer from 1 to 128$' \
    "$LG" run --frames=0 -- "$PROG" leak
usage_error bad_size '^leakgate: --max-size=1k: expected a size' \
    "$LG" run --max-size 1k -- "$PROG" leak
usage_error bad_env '^leakgate: LEAKGATE_MAX_SIZE=lots: expected a size' \
    env LEAKGATE_MAX_SIZE=lots "$LG" run -- "$PROG" leak
usage_error bad_env_frames '^leakgate: LEAKGATE_FRAMES=999: expected an integer from 1 to 128$' \
    env LEAKGATE_FRAMES=999 "$LG" run -- "$PROG" leak
usage_error bad_option '^leakgate: unknown option --bogus \(try leakgate run --help\)$' \
    "$LG" run --bogus -- "$PROG" leak
usage_error bad_verb "^leakgate: unknown command 'frobnicate'" "$LG" frobnicate
usage_error no_cmd '^leakgate: run: no command given' "$LG" run --top 3
usage_error bad_supp "^leakgate: --suppressions=$WORK/nope: No such file" \
    "$LG" run --suppressions "$WORK/nope" -- "$PROG" leak
printf 'exclude wibble=1\n' >"$WORK/badsupp"
usage_error bad_supp_line "badsupp.*1" \
    "$LG" run --suppressions "$WORK/badsupp" -- "$PROG" leak
usage_error bad_lib '^leakgate: cannot find libleakgate.so at /nonexistent/lib.so' \
    env LEAKGATE_LIBRARY=/nonexistent/lib.so "$LG" run -- "$PROG" leak
# The option wins over a bad variable.
run opt_wins env LEAKGATE_TOP=many "$LG" run --top 2 -- "$PROG" leak
expect_rc opt_wins 23
n=$(grep -c ' allocated at$' "$WORK/opt_wins.err")
[ "$n" = 2 ] || fail "opt_wins: $n tracebacks shown, expected 2"

run help "$LG" --help
expect_rc help 0
expect_grep help "$WORK/help.out" "^usage: leakgate"
run run_help "$LG" run --help
expect_rc run_help 0
expect_grep run_help "$WORK/run_help.out" "LEAKGATE_MAX_SIZE"
run version "$LG" --version
expect_rc version 0
expect_grep version "$WORK/version.out" "^leakgate [0-9]"

# ---- CMD that cannot run, exits without a snapshot, or is killed ----------

run noexec "$LG" run -- "$WORK/no-such-program" arg
expect_rc noexec 127
expect_lines noexec "$WORK/noexec.err" 1
expect_grep noexec "$WORK/noexec.err" \
    "^leakgate: cannot run $WORK/no-such-program: No such file or directory$"
# A name with an escape byte and a newline is quoted escaped, on one line.
run noexec_esc "$LG" run -- "$WORK/no$(printf '\033')[2J
such"
expect_rc noexec_esc 127
expect_lines noexec_esc "$WORK/noexec_esc.err" 1
expect_grep noexec_esc "$WORK/noexec_esc.err" \
    "^leakgate: cannot run $WORK/no\\\\x1b\\[2J\\\\nsuch: No such file or directory$"

run quick "$LG" run -- "$PROG" _exit 5
expect_rc quick 5
expect_lines quick "$WORK/quick.err" 1
expect_grep quick "$WORK/quick.err" "left no exit snapshot.*no leak verdict"

run killed "$LG" run -- "$PROG" kill
expect_rc killed 137
expect_grep killed "$WORK/killed.err" "killed by signal 9"

# SIGTERM sent to leakgate reaches CMD.
"$LG" run -- sleep 30 >/dev/null 2>&1 &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" = 143 ] || fail "forward: leakgate exited $rc after SIGTERM, expected 143"

# The temporary directory is removed.
mkdir "$WORK/tmp"
run tmpdir env TMPDIR="$WORK/tmp" "$LG" run -- "$PROG" leak
expect_rc tmpdir 23
[ -z "$(ls -A "$WORK/tmp")" ] || fail "tmpdir: left behind: $(ls -A "$WORK/tmp")"

# ---- show and compare ------------------------------------------------------

run snap_leak "$LG" run --snapshot "$WORK/leak.lgsnap" -- "$PROG" leak
expect_rc snap_leak 23
run snap_clean env LEAKGATE_SNAPSHOT="$WORK/clean.lgsnap" "$LG" run -- "$PROG" clean
expect_rc snap_clean 0
[ -s "$WORK/leak.lgsnap" ] && [ -s "$WORK/clean.lgsnap" ] ||
    fail "--snapshot: snapshot files not written"

run show "$LG" show "$WORK/leak.lgsnap"
expect_rc show 0
expect_grep show "$WORK/show.out" \
    "^$WORK/leak\.lgsnap: [0-9]+ traces, traceback limit 16 frames, traced "
expect_grep show "$WORK/show.out" '^\[ Top 10 \]$'
expect_grep show "$WORK/show.out" \
    "prog_leaky\.c:$(line_of thread): size=3153 B, count=3, average=1051 B$"
expect_grep show "$WORK/show.out" '^Total allocated size: '

run show_tb "$LG" show "$WORK/leak.lgsnap" --key-type traceback --top 0
expect_rc show_tb 0
expect_grep show_tb "$WORK/show_tb.out" "^    #0 +deep6 +([^ ]*/)?prog_leaky\.c:$(line_of deep6) "

run compare "$LG" compare "$WORK/clean.lgsnap" "$WORK/leak.lgsnap" --top 20
expect_rc compare 0
expect_grep compare "$WORK/compare.out" '^\[ Top [0-9]+ differences \]$'
for s in malloc:1001 calloc:1011 realloc:1021 posix_memalign:1041 aligned_alloc:1088 deep6:1071; do
    site=${s%%:*} size=${s#*:}
    expect_grep compare "$WORK/compare.out" \
        "prog_leaky\.c:$(line_of "$site"): size=$size B \(\+$size B\), count=1 \(\+1\), average=$size B$"
done
expect_grep compare "$WORK/compare.out" '^Total difference: \+10\.2 KiB$'

usage_error bad_key '^leakgate: --key-type=module: expected filename, lineno or traceback$' \
    "$LG" show "$WORK/leak.lgsnap" --key-type module
usage_error bad_cumulative '^leakgate: --cumulative: needs --key-type filename or lineno$' \
    "$LG" show "$WORK/leak.lgsnap" --key-type traceback --cumulative

head -c 200 "$WORK/leak.lgsnap" >"$WORK/bad.lgsnap"
usage_error corrupt "^leakgate: $WORK/bad\.lgsnap: corrupt or truncated snapshot file" \
    "$LG" show "$WORK/bad.lgsnap"
# A flipped byte in the middle: the checksum catches it.
cp "$WORK/leak.lgsnap" "$WORK/flip.lgsnap"
size=$(wc -c <"$WORK/leak.lgsnap")
printf '\377' | dd of="$WORK/flip.lgsnap" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
usage_error flipped "^leakgate: $WORK/flip\.lgsnap: corrupt or truncated snapshot file" \
    "$LG" compare "$WORK/clean.lgsnap" "$WORK/flip.lgsnap"
usage_error missing "^leakgate: $WORK/none\.lgsnap: No such file or directory$" \
    "$LG" show "$WORK/none.lgsnap"

# Every leakgate/1 report and leakgate-baseline/1 file written here follows
# docs/schema/.
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 2 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"

finish
