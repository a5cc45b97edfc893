# lib.sh — what every integration script starts with.  Source it first:
#
#   . "$(dirname "$0")/../lib.sh"
#   skip_under_asan "why"        (when the script cannot run under ASan)
#   ... checks, each failure: fail "what went wrong" ...
#   finish                       (the last line)
#
# It sets ROOT (the checkout), BUILD (absolute; make passes it), LG (the
# leakgate command), VENV (the Python environment) and WORK (a directory of
# its own, removed when the script exits), and counts failures.

NAME=$(basename "$0")
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
LG=$BUILD/bin/leakgate
VENV=${VENV:-$ROOT/.venv}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/${NAME%.sh}.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT INT TERM
failures=0

# Counts a failed check and says what went wrong.
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# Under AddressSanitizer builds (SAN=address), ends the script as skipped.
skip_under_asan() {
    if [ "${SAN:-}" = address ]; then
        echo "skip: SAN=address: $*"
        exit 0
    fi
}

# Ends the script: "NAME: MESSAGE" (default: all checks passed) and exit
# status 0, or the number of failed checks and exit status 1.
finish() {
    if [ "$failures" = 0 ]; then
        echo "$NAME: ${1:-all checks passed}"
        exit 0
    fi
    echo "$NAME: $failures check(s) failed"
    exit 1
}
