#!/bin/sh
# Runs each unit-test binary given as an argument; under valgrind when
# VALGRIND=1.  Exits non-zero if any fails.
status=0
for t in "$@"; do
    echo "== $t"
    if [ "${VALGRIND:-0}" = 1 ]; then
        valgrind -q --error-exitcode=99 --leak-check=no "$t" || status=1
    else
        "$t" || status=1
    fi
done
exit $status
