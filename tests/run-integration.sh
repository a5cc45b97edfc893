#!/bin/sh
# Runs every tests/integration/*/test_*.sh with BUILD set; each exits
# non-zero on failure.  Exits non-zero if any fails.
status=0
# The fixtures keep what their tests leave in globals (reachable, in the
# scan's words): they are judged with every kind counting.  The default
# (definite and indirect only) is tested where it is set again:
# criterion/test_kinds.sh.
export LEAKGATE_LEAK_KINDS=all
for t in tests/integration/*/test_*.sh; do
    [ -f "$t" ] || continue
    echo "== $t"
    BUILD="$BUILD" SAN="$SAN" sh "$t" || { echo "FAIL $t"; status=1; }
done
exit $status
