#!/bin/sh
# test_fds.sh — a program that exhausts its file descriptors (ulimit -n 256)
# still gets its verdict: the exit snapshot's file is opened at start-up
# and descriptors are kept for the symbolizer, so the leak is found with
# named frames, and the thread it created meanwhile is no false leak.  A
# program that closes every descriptor gets its snapshot written anyway;
# one that also removes the file gets the real errno and exit status 24.
# Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
PROG=$BUILD/tests/run/prog_fds
line=$(grep -n "SITE:emfile" "$ROOT/tests/integration/run/prog_fds.c" | cut -d: -f1)
for mode in "" closeall; do
    name=${mode:-exhausted}
    (ulimit -n 256 && "$LG" run --top 0 -- "$PROG" $mode) >"$WORK/$name.out" 2>&1
    rc=$?
    [ "$rc" = 23 ] || fail "$name: exit status $rc, expected 23: $(cat "$WORK/$name.out")"
    grep -q "^leakgate: test $PROG${mode:+ $mode} leaked 4242 B in 1 block (limit 0 B)$" \
        "$WORK/$name.out" || fail "$name: not exactly the one leak: $(cat "$WORK/$name.out")"
    grep -Eq "#0 +leak_after_emfile +([^ ]*/)?prog_fds\.c:$line " "$WORK/$name.out" ||
        fail "$name: the leak's frame is not named: $(cat "$WORK/$name.out")"
done
(ulimit -n 256 && "$LG" run -- "$PROG" lose) >"$WORK/lose.out" 2>&1
rc=$?
[ "$rc" = 24 ] || fail "lose: exit status $rc, expected 24: $(cat "$WORK/lose.out")"
grep -q "^leakgate: cannot write the exit snapshot .*: No such file or directory$" "$WORK/lose.out" ||
    fail "lose: no errno: $(cat "$WORK/lose.out")"
grep -q "left no exit snapshot" "$WORK/lose.out" || fail "lose: $(cat "$WORK/lose.out")"
finish
