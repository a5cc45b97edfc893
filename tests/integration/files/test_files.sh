#!/bin/sh
# test_files.sh — files in and out of the leakgate command: devices, pipes
# and FIFOs as inputs (bounded, refused in one line), and every kind of path
# as an output: a regular file replaced atomically, a symlink kept with its
# target replaced, a FIFO written for its reader, /dev/stdout and /dev/full
# written in place, a directory refused, a snapshot across file systems onto
# a full tmpfs left whole with the system's ENOSPC, a program out of
# descriptors still judged.  Exits 1 if any check failed.  Needs $BUILD (make check sets it).
. "$(dirname "$0")/../lib.sh"
LEAKY=$BUILD/tests/run/prog_leaky
FDS=$BUILD/tests/files/prog_fds
REPORT=$ROOT/tests/integration/gate/data/shard-c.json
# expect WANT NAME CMD...: runs CMD (10 s at most) with its output in
# $WORK/NAME.out and .err and checks its exit status.
expect() {
    want=$1 name=$2
    shift 2
    timeout 10 sh -c "$LIMIT"'exec "$@"' sh "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    got=$?
    [ "$got" = "$want" ] || fail "$name: exit $got, not $want: $* ($(head -3 "$WORK/$name.err"))"
}
# one_line NAME PATTERN: stderr is exactly one line, matching PATTERN.
one_line() {
    n=$(wc -l <"$WORK/$1.err")
    [ "$n" = 1 ] && grep -Eq -- "$2" "$WORK/$1.err" ||
        fail "$1: expected one line matching '$2', got: $(head -5 "$WORK/$1.err")"
}
unchanged_char_device() {
    [ -c "$1" ] || fail "$1 is no longer a character device"
}

# ---- inputs: devices are refused at once, in one line, memory bounded ------
# (under a 300 MB address-space limit: a reader that grew would fail otherwise)
LIMIT="ulimit -v 300000 2>/dev/null; "
[ "${SAN:-}" = address ] && LIMIT=
printf '{"schema": "leakgate-baseline/1", "leaks": []}\n' >"$WORK/none.json"
expect 2 show_zero "$LG" show /dev/zero
one_line show_zero "^leakgate: /dev/zero: .*not a regular file or a pipe"
expect 2 gate_zero "$LG" gate /dev/zero
one_line gate_zero "^leakgate: /dev/zero: not a regular file or a pipe$"
if [ "${SAN:-}" != address ]; then # leakgate run preloads the library
    "$LG" run --snapshot "$WORK/a.snap" -- "$LEAKY" clean >/dev/null 2>&1
    [ -s "$WORK/a.snap" ] || fail "no snapshot written by leakgate run --snapshot"
    expect 2 compare_urandom "$LG" compare "$WORK/a.snap" /dev/urandom
    one_line compare_urandom "^leakgate: /dev/urandom: .*not a regular file or a pipe"
fi
expect 2 gate_dir "$LG" gate /tmp
one_line gate_dir "^leakgate: /tmp: Is a directory$"

# A pipe is read (process substitution, cat | leakgate gate /dev/stdin); an
# endless one of something else is refused at its first bytes.
expect 1 gate_pipe sh -c "cat '$REPORT' | '$LG' gate --baseline '$WORK/none.json' /dev/stdin"
grep -q "new leak" "$WORK/gate_pipe.out" || fail "gate over a pipe: $(head -3 "$WORK/gate_pipe.out")"
expect 2 gate_yes sh -c "yes | '$LG' gate /dev/stdin"
one_line gate_yes "^leakgate: /dev/stdin: not a JSON object"
expect 2 show_yes sh -c "yes | '$LG' show /dev/stdin"
one_line show_yes "^leakgate: /dev/stdin: not a leakgate snapshot file \(no leakgate snapshot magic\)$"
mkfifo "$WORK/in.fifo"
(sleep 0.2; timeout 10 sh -c "cat '$REPORT' >'$WORK/in.fifo'") &
expect 1 gate_fifo_in "$LG" gate --baseline "$WORK/none.json" "$WORK/in.fifo"
wait

# A big report: the gate's peak memory stays within 4x the file's size.
if [ "${SAN:-}" = "" ]; then
    python3 "$ROOT/tests/integration/files/peak_memory.py" "$LG" 20 ||
        fail "leakgate gate used more than 4x a 20 MB report's size"
fi

# ---- outputs --------------------------------------------------------------
GATE="$LG gate --baseline $WORK/none.json -q"

# /dev/full: written in place, ENOSPC said, the device still a device.
expect 2 junit_full $GATE --junit /dev/full "$REPORT"
one_line junit_full "^leakgate: --junit=/dev/full: No space left on device$"
unchanged_char_device /dev/full

# A symlink stays a symlink; the file it points to is replaced.
echo old >"$WORK/target.md"
ln -s target.md "$WORK/link.md"
expect 1 md_link $GATE --markdown "$WORK/link.md" "$REPORT"
[ -L "$WORK/link.md" ] || fail "--markdown onto a symlink replaced the link"
grep -q "leakgate gate" "$WORK/target.md" || fail "--markdown: the link's target was not written"
ln -s report.json "$WORK/json-link"
if [ "${SAN:-}" != address ]; then
    expect 23 run_json_link "$LG" run --json "$WORK/json-link" -- "$LEAKY" leak
    [ -L "$WORK/json-link" ] && grep -q '"schema": "leakgate/1"' "$WORK/report.json" ||
        fail "run --json onto a symlink: link or target wrong"
fi

# A FIFO: its reader gets the document; the FIFO stays.
mkfifo "$WORK/out.fifo"
timeout 10 cat "$WORK/out.fifo" >"$WORK/from-fifo.md" &
expect 1 md_fifo $GATE --markdown "$WORK/out.fifo" "$REPORT"
wait
[ -p "$WORK/out.fifo" ] || fail "--markdown onto a FIFO replaced the FIFO"
grep -q "leakgate gate" "$WORK/from-fifo.md" || fail "--markdown: the FIFO's reader got nothing"

# /dev/stdout: the document goes to stdout, after the summary.
expect 1 junit_stdout "$LG" gate --baseline "$WORK/none.json" --junit /dev/stdout "$REPORT"
grep -q "^<?xml" "$WORK/junit_stdout.out" && grep -q "new leak" "$WORK/junit_stdout.out" ||
    fail "--junit /dev/stdout: $(head -3 "$WORK/junit_stdout.out")"

# A directory is refused in one line, nothing written.
expect 2 md_dotdot $GATE --markdown .. "$REPORT"
one_line md_dotdot "^leakgate: --markdown=\.\.: is a directory$"

# An empty output name is refused before CMD runs (it ran, then failed).
expect 2 empty_json "$LG" run --json "" -- sh -c "touch '$WORK/ran'"
one_line empty_json "^leakgate: --json: an empty file name \(expected the path of a file\)$"
expect 2 empty_md "$LG" gate --markdown "" "$REPORT"
one_line empty_md "^leakgate: --markdown: an empty file name"
[ -e "$WORK/ran" ] && fail "run --json '': CMD ran"

# Settings CMD's processes read are checked before CMD runs: one line, exit 2.
printf 'exclude all function=x\nlimit t::* max_size=lots\n' >"$WORK/bad-limit.supp"
expect 2 bad_limit_line "$LG" run --suppressions "$WORK/bad-limit.supp" -- true
one_line bad_limit_line "^leakgate: --suppressions=$WORK/bad-limit.supp:2: max_size=lots: expected a size"
expect 2 bad_limits env LEAKGATE_LIMITS='t::* max_size=zz' "$LG" run -- true
one_line bad_limits "^leakgate: LEAKGATE_LIMITS=t::\* max_size=zz: entry 1: max_size=zz: expected a size"
expect 2 bad_start env LEAKGATE_START=abc "$LG" run -- true
one_line bad_start "^leakgate: LEAKGATE_START=abc: expected 0 or 1$"
expect 2 bad_unwind env LEAKGATE_UNWIND=dwarf "$LG" run -- sh -c "touch '$WORK/ran'"
one_line bad_unwind "^leakgate: LEAKGATE_UNWIND=dwarf: expected auto, fp or libunwind$"
expect 2 bad_unwind_tap env LEAKGATE_UNWIND=dwarf "$LG" tap -- sh -c "touch '$WORK/ran'"
one_line bad_unwind_tap "^leakgate: LEAKGATE_UNWIND=dwarf: expected auto, fp or libunwind$"
[ -e "$WORK/ran" ] && fail "LEAKGATE_UNWIND=dwarf: CMD ran"
if [ "${SAN:-}" != address ]; then # CMD runs with the library preloaded
    # An option wins over its variable, which is then not read (nor checked).
    expect 0 option_wins env LEAKGATE_FRAMES=500 LEAKGATE_LEAK_KINDS=bogus \
        LEAKGATE_NO_DEFAULT_SUPPRESSIONS=yes "$LG" run --frames 8 --leak-kinds all \
        --no-default-suppressions --max-size 1MiB -- "$LEAKY" clean
    # Without the command, the runtime says a bad load-time value once, for
    # the process and those it starts, and uses the default.
    for v in LEAKGATE_UNWIND=dwarf LEAKGATE_START=2 LEAKGATE_FRAMES=500; do
        expect 0 preload_once env "$v" LD_PRELOAD="$BUILD/lib/libleakgate.so" \
            sh -c '"$0" clean && "$0" clean' "$LEAKY"
        one_line preload_once "^leakgate: ${v%%=*}=${v#*=}: expected .*; (using|tracing)"
    done
    printf '\357\273\277leak:nothing_here\nlimit t::* max_size=4KiB\n' >"$WORK/bom.supp"
    expect 0 bom_supp "$LG" run --suppressions "$WORK/bom.supp" -- true
fi

# The baseline through a symlink: the link stays, no temporary file left.
ln -s base.json "$WORK/base-link.json"
expect 0 update_link "$LG" gate --baseline "$WORK/base-link.json" --update-baseline "$REPORT"
[ -L "$WORK/base-link.json" ] && grep -q "leakgate-baseline/1" "$WORK/base.json" ||
    fail "--update-baseline through a symlink"
ls "$WORK" | grep -q "\.tmp-" && fail "a temporary file was left: $(ls "$WORK")"

# EMFILE: a program that uses up its descriptors still gets its verdict
# (its exit snapshot's file was opened at start-up); never "input/output
# error".  The layer's own EMFILE message is checked in test_file.c.
if [ "${SAN:-}" != address ]; then
    expect 23 emfile "$LG" run -- "$FDS"
    grep -q "leaked 4242 B in 1 block" "$WORK/emfile.err" || fail "EMFILE: $(cat "$WORK/emfile.err")"
    grep -q "input/output error" "$WORK/emfile.err" && fail "EMFILE said as input/output error"
fi

# ---- untrusted strings in every output format ------------------------------
# Test ids and function names with Markdown headings and fences, <img
# onerror>, ANSI escapes, a bidi override and invalid UTF-8: each output is
# checked by a parser of its format (check_injection.py).
INJ=$ROOT/tests/integration/files/data/inject.json
expect 1 inject "$LG" gate --baseline "$WORK/none.json" --markdown "$WORK/summary.md" \
    --junit "$WORK/junit.xml" --html "$WORK/report.html" "$INJ"
cp "$WORK/inject.out" "$WORK/summary.txt"
"${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/integration/files/check_injection.py" "$WORK" ||
    fail "untrusted strings reached an output unescaped"

# ---- sizes and counts out of any process's reach: one line, exit 2 --------
RG=$ROOT/tests/fuzz/regress
expect 2 int64_leaks "$LG" gate --baseline "$WORK/none.json" "$RG/json/int64-max-leaks.json"
one_line int64_leaks 'test t::a: "size_diff" is out of range \(-2\^53 to 2\^53\)$'
expect 2 uint64_size "$LG" gate --baseline "$WORK/none.json" "$RG/json/uint64-max-size.json"
one_line uint64_size '"size_diff" is out of range'
expect 2 neg_baseline "$LG" gate --baseline "$RG/json/negative-size-baseline.json" "$REPORT"
one_line neg_baseline 'leak 1: "size" is out of range \(0 to 2\^53\)$'
expect 2 huge_baseline "$LG" gate --tolerance 0 --baseline "$RG/json/huge-baseline.json" \
    "$RG/json/nine-e18-plus-one.json"
one_line huge_baseline 'is out of range'
expect 2 show_uint64 "$LG" show "$RG/snapfile/uint64-max-sizes.snap"
one_line show_uint64 'corrupt or truncated snapshot file \(trace sizes add up past 256 TiB\)$'
# At the largest accepted size, one byte over the baseline is growth.
printf '{"schema": "leakgate/1", "tests": [{"id": "t::a", "outcome": "leaked", "size_diff": 9007199254740992, "count_diff": 1, "leaks": [{"size_diff": 9007199254740992, "count_diff": 1, "size": 9007199254740992, "count": 1, "domain": 1, "traceback": [{"kind": "native", "function": "f", "file": "a.c", "line": 1}]}]}]}\n' >"$WORK/max.json"
printf '{"schema": "leakgate-baseline/1", "leaks": [{"test": "t::a", "signature": "f@a.c", "size": 9007199254740991, "count": 1}]}\n' >"$WORK/max-base.json"
expect 1 one_byte "$LG" gate --tolerance 0 --baseline "$WORK/max-base.json" "$WORK/max.json"
grep -q "grown leaks" "$WORK/one_byte.out" || fail "one byte over 2^53-1 is not growth: $(cat "$WORK/one_byte.out")"

# ---- a snapshot onto another, full file system -----------------------------
# A small tmpfs in a private mount namespace (as root, or as a user through
# a user namespace): the snapshot is written beside its target there, so
# the full disk is ENOSPC and the old snapshot stays whole.
if [ "${SAN:-}" = address ]; then
    echo "skip: SAN=address: libleakgate.so cannot be preloaded"
elif unshare -m true 2>/dev/null || unshare -rm true 2>/dev/null; then
    U="unshare -m"
    unshare -m true 2>/dev/null || U="unshare -rm"
    cp "$WORK/a.snap" "$WORK/old.snap"
    $U sh -c "
        mkdir -p '$WORK/mnt' && mount -t tmpfs -o size=256k tmpfs '$WORK/mnt' || exit 99
        cp '$WORK/old.snap' '$WORK/mnt/s.snap'
        dd if=/dev/zero of='$WORK/mnt/fill' bs=4k 2>/dev/null
        '$LG' run --snapshot '$WORK/mnt/s.snap' -- '$LEAKY' leak 2>'$WORK/xdev.err' >/dev/null
        cmp -s '$WORK/old.snap' '$WORK/mnt/s.snap' || exit 98
        ls '$WORK/mnt' | grep -q tmp- && exit 97
        exit 0" >/dev/null 2>&1
    rc=$?
    case $rc in
    0) grep -q "^leakgate: --snapshot=$WORK/mnt/s.snap: No space left on device$" "$WORK/xdev.err" ||
        fail "cross-device snapshot: $(cat "$WORK/xdev.err")" ;;
    99) echo "skip: cannot mount a tmpfs here: the cross-device case is not run" ;;
    98) fail "the old snapshot on the full tmpfs was changed" ;;
    97) fail "a temporary file was left on the full tmpfs" ;;
    *) fail "cross-device snapshot: exit $rc" ;;
    esac
else
    echo "skip: no mount namespace here: the cross-device case is not run"
fi

finish
