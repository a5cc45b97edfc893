#!/bin/sh
# test_schema.sh — the JSON Schemas of docs/schema/: valid against their
# metaschema, they accept a report with every field (leak kinds included)
# and refuse each kind of wrong document, so that the validation the other
# tests run on every report they produce (tests/check_schemas.py) can
# fail.  Exits 1 if any check failed.

. "$(dirname "$0")/../lib.sh"
PY=$VENV/bin/python
cd "$ROOT" || exit 1
[ -x "$VENV/bin/check-jsonschema" ] || { echo "FAIL: no check-jsonschema in $VENV: run sh ci/install-deps.sh"; exit 1; }

for s in docs/schema/leakgate-1.schema.json docs/schema/leakgate-baseline-1.schema.json; do
    "$VENV/bin/check-jsonschema" --check-metaschema "$s" >"$WORK/meta.out" 2>&1 ||
        fail "$s is not a valid JSON Schema: $(cat "$WORK/meta.out")"
done

# doc NAME JSON: writes $WORK/NAME.json.
doc() { printf '%s\n' "$2" >"$WORK/$1.json"; }
FRAME='{"kind": "native", "function": "f", "file": "f.c", "line": 3, "module": "/bin/p", "offset": 42}'
PYFRAME='{"kind": "python", "function": null, "file": "t.py", "line": 9, "module": null, "offset": null}'
LEAK='{"size_diff": 64, "count_diff": 1, "size": 64, "count": 1, "domain": 0, "kind": "definite", "traceback": ['"$FRAME, $PYFRAME"']}'
TEST='{"id": "s::t", "outcome": "leaked", "size_diff": 64, "count_diff": 1, "limits": {"max_size": 0, "max_count": null}, "attempt": 2, "runs": 2, "leaks": ['"$LEAK"']}'
doc full '{"schema": "leakgate/1", "tests": ['"$TEST"', {"id": "s::u", "outcome": "skipped", "size_diff": 0, "count_diff": 0, "note": "failed when run again", "leaks": []}]}'
doc empty '{"schema": "leakgate/1", "tests": []}'
doc base '{"schema": "leakgate-baseline/1", "leaks": [{"test": "s::t", "signature": "f@f.c", "size": 64, "count": 1}]}'
"$PY" tests/check_schemas.py --min 3 "$WORK/full.json" "$WORK/empty.json" "$WORK/base.json" ||
    fail "valid documents refused (above)"
# The command docs/reference.md shows.
"$VENV/bin/check-jsonschema" --schemafile docs/schema/leakgate-1.schema.json "$WORK/full.json" \
    >"$WORK/cj.out" 2>&1 || fail "check-jsonschema --schemafile: $(cat "$WORK/cj.out")"
rm -f "$WORK"/*.json

# Each wrong document alone: check_schemas.py exits 1 naming the member.
wrong() {
    name=$1 where=$2
    doc "$name" "$3"
    "$PY" tests/check_schemas.py "$WORK/$name.json" >"$WORK/$name.out" 2>&1 &&
        fail "$name: accepted"
    grep -qF -- "$where" "$WORK/$name.out" || fail "$name: the error does not name $where: $(cat "$WORK/$name.out")"
    rm -f "$WORK/$name.json"
}
wrong outcome 'tests/0/outcome' '{"schema": "leakgate/1", "tests": [{"id": "a", "outcome": "fine", "size_diff": 0, "count_diff": 0}]}'
wrong no_id 'tests/0' '{"schema": "leakgate/1", "tests": [{"outcome": "clean", "size_diff": 0, "count_diff": 0}]}'
wrong size_text 'tests/0/size_diff' '{"schema": "leakgate/1", "tests": [{"id": "a", "outcome": "clean", "size_diff": "0", "count_diff": 0}]}'
wrong attempt 'tests/0/attempt' '{"schema": "leakgate/1", "tests": [{"id": "a", "outcome": "clean", "size_diff": 0, "count_diff": 0, "attempt": 0}]}'
wrong runs 'tests/0/runs' '{"schema": "leakgate/1", "tests": [{"id": "a", "outcome": "clean", "size_diff": 0, "count_diff": 0, "runs": 0}]}'
wrong frame_kind 'tests/0/leaks/0/traceback/0/kind' '{"schema": "leakgate/1", "tests": [{"id": "a", "outcome": "leaked", "size_diff": 1, "count_diff": 1, "leaks": [{"size_diff": 1, "count_diff": 1, "traceback": [{"kind": "java"}]}]}]}'
wrong leak_kind 'tests/0/leaks/0/kind' '{"schema": "leakgate/1", "tests": [{"id": "a", "outcome": "leaked", "size_diff": 1, "count_diff": 1, "leaks": [{"size_diff": 1, "count_diff": 1, "kind": "maybe", "traceback": []}]}]}'
wrong no_tests '(top)' '{"schema": "leakgate/1"}'
wrong base_count 'leaks/0/count' '{"schema": "leakgate-baseline/1", "leaks": [{"test": "a", "signature": "f@f.c", "size": 1, "count": -1}]}'
wrong base_sig 'leaks/0' '{"schema": "leakgate-baseline/1", "leaks": [{"test": "a", "size": 1, "count": 1}]}'
# Too few documents (a test whose report went missing) is a failure too.
"$PY" tests/check_schemas.py --min 1 "$WORK" >"$WORK/min.out" 2>&1 && fail "--min 1 over an empty directory passed"

finish
