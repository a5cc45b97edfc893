#!/bin/sh
# Runs each unit-test binary given as an argument; under valgrind when
# VALGRIND=1.  Exits non-zero if any fails.
status=0
# The tests ask for impossible sizes and expect NULL, as glibc gives.
if [ "${SAN:-}" = address ]; then
    export ASAN_OPTIONS="allocator_may_return_null=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
fi
# JSON documents the tests build (lgt_keep_json) are validated at the end.
LGT_JSON_DIR=${BUILD:-build}/unit-json
rm -rf "$LGT_JSON_DIR" && mkdir -p "$LGT_JSON_DIR" && export LGT_JSON_DIR
for t in "$@"; do
    echo "== $t"
    if [ "${VALGRIND:-0}" = 1 ]; then
        # nouserintercepts: the tests' own malloc (the hooks) stays theirs.
        LGT_UNDER_VALGRIND=1 valgrind -q --error-exitcode=99 --leak-check=no \
            --soname-synonyms=somalloc=nouserintercepts \
            --suppressions="$(dirname "$0")/valgrind.supp" "$t" || status=1
    else
        "$t" || status=1
    fi
done
echo "== JSON documents against docs/schema/"
"${VENV:-.venv}/bin/python" "$(dirname "$0")/check_schemas.py" --min 2 "$LGT_JSON_DIR" || status=1
exit $status
