#!/bin/sh
# test_bench_smoke.sh — the benchmark programs run to completion on tiny
# sizes (LG_BENCH_SMALL=1) and print their table, and the driver of `make
# bench` writes every section of its report in a small run.  Figures are
# not checked here: `make bench` measures them.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "the hooks are not interposed, nothing to measure"
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] && [ -f "$b" ] || continue
    case $b in *.d|*.txt|*/criterion_suite*) continue ;; esac
    out=$(LG_BENCH_SMALL=1 ASAN_OPTIONS=detect_leaks=1 timeout 120 "$b" 2>&1)
    rc=$?
    rows=$(printf '%s\n' "$out" | grep -c '^[0-9]')
    if [ "$rc" != 0 ] || [ "$rows" -lt 1 ]; then
        echo "FAIL: $b: exit status $rc, $rows result rows:"
        printf '%s\n' "$out" | head -20
        failures=$((failures + 1))
    fi
done
# The driver of `make bench`, on tiny sizes, once each (no network).
if [ -z "${SAN:-}" ]; then
    out=$BUILD/bench/RESULTS-small.md
    rm -f "$out"
    if ! log=$(BUILD="$BUILD" timeout 300 python3 bench/run.py --small --out "$out" 2>&1); then
        echo "FAIL: bench/run.py --small:"
        printf '%s\n' "$log" | tail -20
        failures=$((failures + 1))
    else
        for section in "## 1. Hook cost" "## 2. Per-test verdict" "## 3. Tracer memory" \
            "## 4. Python" "## 5. Whole suites" "### Criterion: 200 tests" "## 6. Reachability scan" "## Commands"; do
            grep -q "^$section" "$out" || {
                echo "FAIL: $out has no section \"$section\""
                failures=$((failures + 1))
            }
        done
    fi
fi
finish "all benchmark programs and the driver ran"
