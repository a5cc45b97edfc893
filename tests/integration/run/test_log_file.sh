#!/bin/sh
# test_log_file.sh — --log-file PATH / LEAKGATE_LOG_FILE: leakgate's own
# messages and leak reports go to PATH ("%p": the process id, as
# LeakSanitizer's log_path), from `leakgate run`, `leakgate tap`, the
# runtime inside the traced program and `leakgate gate`; appended, never
# mixed into the program's output; bad values are one line, exit 2.
# Exits 1 if any check failed.

. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
PROG=$BUILD/tests/run/prog_leaky
PLAIN=$BUILD/tests/tap/prog_plain_tap
unset LEAKGATE_LOG_FILE GITHUB_ACTIONS GITLAB_CI
cd "$WORK" || exit 1

# ---- leakgate run: the report in lg.<pid>.log, nothing on stderr ----------
"$LG" run --log-file "$WORK/lg.%p.log" -- "$PROG" leak >run.out 2>run.err
[ $? = 23 ] || fail "run --log-file: not exit 23"
[ -s run.err ] && fail "run --log-file: stderr: $(cat run.err)"
[ "$(cat run.out)" = "prog_leaky: leak mode, year $(date +%Y)" ] || fail "run --log-file: stdout: $(cat run.out)"
set -- "$WORK"/lg.*.log
[ $# = 1 ] && [ -f "$1" ] || fail "run --log-file: not one log file: $*"
case $(basename "$1") in lg.[0-9]*.log) ;; *) fail "run --log-file: %p not a process id: $1" ;; esac
grep -q "^leakgate: test $PROG leak leaked 10\.2 KiB in 10 blocks (limit 0 B)$" "$1" ||
    fail "run --log-file: no leak report in the log: $(head -3 "$1")"
grep -Eq '^    #0 +thread_leak +' "$1" || fail "run --log-file: no traceback in the log"
rm -f "$WORK"/lg.*.log

# The variable, appended to: two runs, two reports.
LEAKGATE_LOG_FILE=$WORK/both.log "$LG" run -- "$PROG" leak >/dev/null 2>run.err
LEAKGATE_LOG_FILE=$WORK/both.log "$LG" run -- "$PROG" leak >/dev/null 2>>run.err
[ -s run.err ] && fail "LEAKGATE_LOG_FILE: stderr: $(cat run.err)"
[ "$(grep -c '^leakgate: test .* leaked' both.log)" = 2 ] || fail "LEAKGATE_LOG_FILE: not appended: $(grep -c leaked both.log) reports"
# A relative path is the directory leakgate ran in, also for a program that
# changes directory.
# (The program's runtime complains of LEAKGATE_UNWIND, set after leakgate
# checked it, in its own log.)
rm -f /rel.*.log
"$LG" run --log-file rel.%p.log -- sh -c 'cd / && LEAKGATE_UNWIND=sideways exec "$0" leak' "$PROG" \
    >/dev/null 2>/dev/null
grep -q 'leaked 10\.2 KiB' "$WORK"/rel.*.log 2>/dev/null || fail "relative --log-file: no report in $WORK"
grep -q 'LEAKGATE_UNWIND=sideways' "$WORK"/rel.*.log 2>/dev/null ||
    fail "relative --log-file: the program's message is not in $WORK"
ls /rel.*.log >/dev/null 2>&1 && fail "relative --log-file: the program wrote in its own directory"
# The option wins over the variable.
LEAKGATE_LOG_FILE=$WORK/var.log "$LG" run --log-file "$WORK/opt.log" -- "$PROG" leak >/dev/null 2>&1
[ -s opt.log ] && [ ! -e var.log ] || fail "--log-file does not win over LEAKGATE_LOG_FILE"

# ---- the runtime inside the program: its own file (its own %p) --------------
# leakgate checks LEAKGATE_UNWIND before CMD runs: one line in its log,
# exit 2, CMD not run.
LEAKGATE_UNWIND=sideways LEAKGATE_LOG_FILE="$WORK/chk.%p.log" "$LG" run -- "$PROG" clean >chk.out 2>chk.err
[ $? = 2 ] || fail "LEAKGATE_UNWIND=sideways: leakgate did not exit 2"
[ -s chk.err ] || [ -s chk.out ] && fail "LEAKGATE_UNWIND=sideways: CMD ran or stderr: $(cat chk.out chk.err)"
[ "$(cat "$WORK"/chk.*.log)" = "leakgate: LEAKGATE_UNWIND=sideways: expected auto, fp or libunwind" ] ||
    fail "LEAKGATE_UNWIND=sideways: not one line in one log: $(cat "$WORK"/chk.*.log 2>/dev/null)"
# Set inside CMD: the program says it in a log of its own, once, though it
# starts programs that read it too (they use auto, as it does).
LEAKGATE_LOG_FILE="$WORK/rt.%p.log" "$LG" run -- sh -c \
    'LEAKGATE_UNWIND=sideways exec sh -c "\"\$0\" clean; \"\$0\" clean" "$0"' "$PROG" >/dev/null 2>rt.err
[ -s rt.err ] && fail "runtime: stderr: $(cat rt.err)"
[ "$(cat "$WORK"/rt.*.log | grep -c 'LEAKGATE_UNWIND=sideways: expected auto, fp or libunwind; using auto$')" = 1 ] ||
    fail "runtime: not one message from the program: $(cat "$WORK"/rt.*.log 2>/dev/null)"
[ "$(grep -l 'LEAKGATE_UNWIND' "$WORK"/rt.*.log | wc -l)" = 1 ] ||
    fail "runtime: the message is not in the program's own log: $(ls "$WORK"/rt.*.log)"
grep -l 'not judged' "$WORK"/rt.*.log | xargs grep -q LEAKGATE_UNWIND &&
    fail "runtime: the program's message is in leakgate's log"

# ---- the Criterion adapter's messages ---------------------------------------
make -s -C "$ROOT" "$BUILD/examples/test_kvconf" BUILD="$BUILD" >/dev/null || fail "cannot build examples/kvconf"
: >plain
LEAKGATE_LOG_FILE=$WORK/cr.%p.log LEAKGATE_REPORT=$WORK/plain/r.json \
    LD_PRELOAD=$BUILD/lib/libleakgate.so:$BUILD/lib/libleakgate-criterion.so \
    "$BUILD/examples/test_kvconf" >cr.out 2>cr.err
[ $? = 2 ] || fail "Criterion adapter: a report it cannot write: not exit 2"
grep -q '^\[' cr.err && fail "Criterion adapter: tests ran though no report could be written"
grep -q '^leakgate:' cr.err && fail "Criterion adapter: its message on stderr: $(grep '^leakgate:' cr.err)"
cat "$WORK"/cr.*.log 2>/dev/null | grep -q "^leakgate: LEAKGATE_REPORT=$WORK/plain/r.json: cannot create " ||
    fail "Criterion adapter: its message is not in the log: $(cat "$WORK"/cr.*.log 2>/dev/null)"

# ---- leakgate tap: TAP on stdout, the failure text in the log ----------------
"$LG" tap --log-file "$WORK/tap.log" -- "$PLAIN" leak >tap.out 2>tap.err
[ $? = 23 ] || fail "tap --log-file: not exit 23"
[ -s tap.err ] && fail "tap --log-file: stderr: $(cat tap.err)"
grep -q '^not ok 3 - leakgate: leaked 96 B in 2 blocks$' tap.out || fail "tap --log-file: no verdict point"
grep -q '^# leakgate: test .* leaked 96 B in 2 blocks' tap.log || fail "tap --log-file: no report in the log: $(cat tap.log)"
grep -q '^# ' tap.out && grep -q '^# leakgate: test' tap.out && fail "tap --log-file: the report is on stdout too"

# ---- leakgate gate: its notes ----------------------------------------------------
mkdir fresh && (cd fresh && LEAKGATE_LOG_FILE=$WORK/gate.log "$LG" gate -q "$ROOT/tests/integration/gate/data/shard-c.json" >/dev/null 2>../gate.err)
[ -s gate.err ] && fail "gate: stderr: $(cat gate.err)"
grep -q '^leakgate: no baseline leakgate-baseline.json yet' gate.log || fail "gate: no note in the log"

# ---- bad values: one line on stderr, exit 2, nothing run -----------------------
bad() {
    want=$1
    shift
    "$@" >bad.out 2>bad.err
    rc=$?
    [ "$rc" = 2 ] || fail "$*: exit $rc, expected 2"
    [ "$(wc -l <bad.err)" = 1 ] || fail "$*: not one line: $(cat bad.err)"
    grep -qF -- "$want" bad.err || fail "$*: '$(cat bad.err)' lacks '$want'"
    [ -s bad.out ] && fail "$*: CMD ran: $(cat bad.out)"
}
bad "--log-file=$WORK/no/dir/x.log: $WORK/no/dir: No such file or directory" "$LG" run --log-file "$WORK/no/dir/x.log" -- "$PROG" clean
bad "--log-file=$WORK: is a directory" "$LG" run --log-file "$WORK" -- "$PROG" clean
bad "--log-file=x.%d: '%' must be followed by p (the process id) or % (a '%')" "$LG" run --log-file 'x.%d' -- "$PROG" clean
bad "--log-file=: empty" "$LG" tap --log-file '' -- "$PLAIN" clean
bad "LEAKGATE_LOG_FILE=x%: '%' must be followed by p" env LEAKGATE_LOG_FILE='x%' "$LG" run -- "$PROG" clean
bad '--log-file: needs a value' "$LG" run --log-file
"$LG" run --log-file "$WORK/pct.%%.log" -- "$PROG" leak >/dev/null 2>&1
[ -s "$WORK/pct.%.log" ] || fail "%% is not a '%'"
# A log the traced program cannot open (under a regular file: even root
# cannot): said once on stderr, which takes the messages.
LEAKGATE_LOG_FILE=$WORK/plain/x.log LEAKGATE_UNWIND=sideways LD_PRELOAD=$BUILD/lib/libleakgate.so \
    "$PROG" clean >/dev/null 2>ro.err
grep -q "^leakgate: LEAKGATE_LOG_FILE=$WORK/plain/x.log: Not a directory; leakgate's messages go to standard error$" ro.err ||
    fail "an unusable log: $(cat ro.err)"
grep -q 'LEAKGATE_UNWIND=sideways' ro.err || fail "an unusable log: the message is lost"
[ "$(wc -l <ro.err)" = 2 ] || fail "an unusable log: not said once: $(cat ro.err)"

finish
