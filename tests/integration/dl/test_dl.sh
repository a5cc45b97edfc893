#!/bin/sh
# test_dl.sh — objects loaded and unloaded while tracing.  prog_dlopen
# loads dlmodule.so by a relative path after tracing started, leaks a block
# allocated there, changes directory and (--close) unloads the module.
# With LEAKGATE_UNWIND=fp and auto, the leak's traceback must start with
# the module's two functions, named with file:line (from the file's real
# path, before the unload).  Then `hook_cost --module` times a loop in an
# object loaded after start: none of its tracebacks may fall back to
# libunwind.  Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
HERE=$ROOT/tests/integration/dl
cc -g -O0 -fno-omit-frame-pointer -fPIC -shared "$HERE/dlmodule.c" -o "$WORK/dlmodule.so" ||
    { echo "FAIL: cannot build dlmodule.so"; exit 1; }
site=$(grep -n "SITE:module" "$HERE/dlmodule.c" | cut -d: -f1)

cd "$WORK" || exit 1
for mode in fp auto; do
    for close in "" --close; do
        name="$mode${close:+ $close}"
        LEAKGATE_UNWIND=$mode "$LG" run --json "$WORK/r.json" -- \
            "$BUILD/tests/dl/prog_dlopen" ./dlmodule.so $close >"$WORK/out" 2>"$WORK/err"
        rc=$?
        [ "$rc" = 23 ] || fail "$name: exit status $rc, expected 23: $(head -5 "$WORK/err")"
        python3 - "$WORK/r.json" "$site" <<'PY' || fail "$name: traceback of the module's leak: $(head -6 "$WORK/err")"
import json, sys
doc = json.load(open(sys.argv[1]))
leaks = [l for t in doc["tests"] for l in t["leaks"] if l["size"] == 4321]
assert len(leaks) == 1, leaks
tb = leaks[0]["traceback"]
got = [(f["function"], (f["file"] or "").rsplit("/", 1)[-1], (f["module"] or "").rsplit("/", 1)[-1]) for f in tb[:2]]
assert got == [("module_make", "dlmodule.c", "dlmodule.so"), ("module_leak", "dlmodule.c", "dlmodule.so")], got
assert tb[0]["line"] == int(sys.argv[2]), tb[0]
assert tb[2]["function"] == "main", tb[2]
PY
        "${VENV:-$ROOT/.venv}/bin/python" "$ROOT/tests/check_schemas.py" --min 1 "$WORK/r.json" ||
            fail "$name: the report does not follow docs/schema/ (above)"
    done
    out=$(LEAKGATE_UNWIND=$mode LD_PRELOAD=$BUILD/lib/libleakgate.so \
        "$BUILD/bench/hook_cost" --module "$BUILD/bench/lib/hook_cost_module.so" 2000 2>&1)
    printf '%s\n' "$out" | grep -q '^# libunwind fallbacks in the module: 0$' ||
        fail "hook_cost --module, LEAKGATE_UNWIND=$mode: $out"
done
finish
