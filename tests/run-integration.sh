#!/bin/sh
# Runs every tests/integration/*/test_*.sh with BUILD set; each exits
# non-zero on failure.  Exits non-zero if any fails.
status=0
for t in tests/integration/*/test_*.sh; do
    [ -f "$t" ] || continue
    echo "== $t"
    BUILD="$BUILD" SAN="$SAN" sh "$t" || { echo "FAIL $t"; status=1; }
done
exit $status
