#!/bin/sh
# test_kinds.sh — the reachability scan on a program at exit: each kind
# exact for the blocks the program made, and, when valgrind is installed,
# the bytes and blocks of every kind equal to memcheck's leak summary for
# the same program (--leak-check=full, no heuristics, no libc freeres: both
# then see the same heap).
. "$(dirname "$0")/../lib.sh"
skip_under_asan "the library is not preloadable"
prog=$BUILD/tests/scan/prog_kinds
out=$(LD_PRELOAD=$BUILD/lib/libleakgate.so LEAKGATE_START=1 "$prog")
echo "$out"
kind() { printf '%s\n' "$out" | awk -v k="$1" '$1 == k { print $2, $3 }'; }
# 100 B lost buffer, the list's head: definite; its two nodes: indirect;
# the 64-byte block behind the interior pointer: possible.
[ "$(kind definite)" = "148 2" ] || fail "definite: $(kind definite), expected 148 2"
[ "$(kind indirect)" = "96 2" ] || fail "indirect: $(kind indirect), expected 96 2"
[ "$(kind possible)" = "64 1" ] || fail "possible: $(kind possible), expected 64 1"
set -- $(kind reachable)
[ "${2:-0}" -ge 20002 ] || fail "reachable: $(kind reachable), expected at least 20002 blocks"

if command -v valgrind >/dev/null 2>&1; then
    vg=$(valgrind --leak-check=full --leak-check-heuristics=none --run-libc-freeres=no \
        --show-leak-kinds=none "$prog" 2>&1)
    summary() {
        printf '%s\n' "$vg" | sed -n "s/.*$1: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p" |
            tr -d ,
    }
    for pair in "definite:definitely lost" "indirect:indirectly lost" \
        "possible:possibly lost" "reachable:still reachable"; do
        ours=$(kind "${pair%%:*}")
        theirs=$(summary "${pair#*:}")
        [ "$ours" = "$theirs" ] || fail "${pair%%:*}: leakgate $ours, valgrind ${theirs:-none}"
    done
else
    echo "skip: valgrind not installed: no comparison with memcheck"
fi
finish "every kind as expected and as memcheck reports it"
