#!/bin/sh
# test_bench_smoke.sh — the benchmark programs run to completion on tiny
# sizes (LG_BENCH_SMALL=1) and print their table.  Figures are not checked
# here: `make bench` measures them.
if [ "${SAN:-}" = address ]; then
    echo "skip: SAN=address: the hooks are not interposed, nothing to measure"
    exit 0
fi
BUILD=${BUILD:-build}
failures=0
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    case $b in *.d|*.txt) continue ;; esac
    out=$(LG_BENCH_SMALL=1 timeout 120 "$b" 2>&1)
    rc=$?
    rows=$(printf '%s\n' "$out" | grep -c '^[0-9]')
    if [ "$rc" != 0 ] || [ "$rows" -lt 1 ]; then
        echo "FAIL: $b: exit status $rc, $rows result rows:"
        printf '%s\n' "$out" | head -20
        failures=$((failures + 1))
    fi
done
[ "$failures" = 0 ] && echo "test_bench_smoke.sh: all benchmark programs ran"
[ "$failures" = 0 ]
