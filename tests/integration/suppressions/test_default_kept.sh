#!/bin/sh
# test_default_kept.sh — what glibc keeps until exit (NSS, the resolver,
# the loader's dlopen bookkeeping, thread bookkeeping) under the default
# leak kinds: still reachable state is a note.  The loader's bookkeeping,
# which can look lost when only memory the scan does not read holds it
# (link maps from the loader's own allocator), is covered by the default
# suppressions whatever kinds count; --no-default-suppressions and
# LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1 show it.  A getaddrinfo list the
# program loses is its own leak, defaults or not.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "the library is not preloadable"
unset LEAKGATE_LEAK_KINDS LEAKGATE_NO_DEFAULT_SUPPRESSIONS
prog=$BUILD/tests/suppressions/prog_kept
cases="nss resolver hosts dl threads"

"$LG" run -- "$prog" $cases 2>"$WORK/err"
rc=$?
[ $rc = 0 ] || fail "defaults: exit $rc, expected 0: $(head -20 "$WORK/err")"
grep -q "passed; note: still reachable: " "$WORK/err" ||
    fail "defaults: no note for the NSS and resolver state: $(cat "$WORK/err")"

# The loader's bookkeeping: hidden by the defaults whatever kinds count;
# --no-default-suppressions and LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1 show it.
loader='#[0-9]+ +(_dl_[a-z_]*|dl_open_worker[a-z_]*|dlopen[a-z_@.0-9]*) '
"$LG" run --leak-kinds=all --top 0 -- "$prog" $cases 2>"$WORK/err"
grep -Eq "$loader" "$WORK/err" && fail "defaults, all kinds: the loader's blocks are shown"
for how in option variable; do
    if [ $how = option ]; then
        "$LG" run --no-default-suppressions --leak-kinds=all --top 0 -- "$prog" $cases 2>"$WORK/err"
    else
        LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1 "$LG" run --leak-kinds=all --top 0 -- "$prog" $cases \
            2>"$WORK/err"
    fi
    rc=$?
    [ $rc = 23 ] || fail "no defaults ($how): exit $rc, expected 23"
    grep -Eq "$loader" "$WORK/err" ||
        fail "no defaults ($how): the loader's blocks are not shown: $(head -30 "$WORK/err")"
done

"$LG" run -- "$prog" nss resolver lostaddr 2>"$WORK/err"
rc=$?
[ $rc = 23 ] || fail "lostaddr: exit $rc, expected 23: $(cat "$WORK/err")"
grep -q "^  definitely lost: " "$WORK/err" && grep -q "lose_addrinfo" "$WORK/err" ||
    fail "lostaddr: the lost list is not reported with its frames: $(cat "$WORK/err")"
finish "glibc's kept state: a note, or suppressed by default and shown without the defaults"
