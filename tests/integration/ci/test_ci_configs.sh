#!/bin/sh
# test_ci_configs.sh — the CI configurations in ci/: valid against GitHub's
# and GitLab's schemas (check-jsonschema's builtin schemas, which ship in
# the package: run with no network), the gate job runs when a shard failed
# and shows JUnit natively, and the gate scripts themselves, run as the CI
# runs them over real reports: the first pipeline (no baseline committed)
# passes and says so, the next passes on known leaks, a new leak fails with
# its annotation on the line that allocated it.  Exits 1 if any check
# failed.

. "$(dirname "$0")/../lib.sh"
unset GITHUB_ACTIONS GITLAB_CI GITHUB_WORKSPACE CI_PROJECT_DIR GITHUB_STEP_SUMMARY
cd "$ROOT" || exit 1
CJ=$VENV/bin/check-jsonschema
[ -x "$CJ" ] || { echo "FAIL: no check-jsonschema in $VENV: run sh ci/install-deps.sh"; exit 1; }

# ---- schemas, with no network ------------------------------------------------
# The builtin schemas are files of the package; the check runs in a network
# namespace of its own when the system allows one, else with every proxy
# pointed at a closed port: a download would fail the check.
"$VENV/bin/python" - <<'PY' || fail "check-jsonschema ships no GitHub or GitLab schema file"
import pathlib, check_jsonschema
base = pathlib.Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"
for name in ("github-workflows.json", "gitlab-ci.json"):
    assert (base / name).stat().st_size > 1000, base / name
PY
if unshare -rn true 2>/dev/null; then
    offline() { unshare -rn "$@"; }
else
    offline() {
        env http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
            HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 "$@"
    }
fi
offline "$CJ" --builtin-schema vendor.github-workflows ci/github-actions.yml >"$WORK/gh.schema" 2>&1 ||
    fail "ci/github-actions.yml: $(cat "$WORK/gh.schema")"
offline "$CJ" --builtin-schema vendor.gitlab-ci ci/gitlab-ci.yml >"$WORK/gl.schema" 2>&1 ||
    fail "ci/gitlab-ci.yml: $(cat "$WORK/gl.schema")"
# ... and the check can fail: a job with a misspelt key.
sed 's/^  stage: gate$/  stagee: gate/' ci/gitlab-ci.yml >"$WORK/bad-gitlab.yml"
offline "$CJ" --builtin-schema vendor.gitlab-ci "$WORK/bad-gitlab.yml" >/dev/null 2>&1 &&
    fail "a misspelt GitLab key passed the schema"

# ---- the gate jobs ------------------------------------------------------------
# Writes each gate script to a file, and checks what makes the gate run after
# a failed shard and show its results.
"$VENV/bin/python" - "$WORK" <<'PY' || fail "the gate jobs (above)"
import sys, yaml
work = sys.argv[1]
gh = yaml.safe_load(open("ci/github-actions.yml"))
gate = gh["jobs"]["gate"]
assert "!cancelled()" in gate["if"], gate["if"]
steps = {s.get("name"): s for s in gate["steps"]}
assert "always()" in steps["job summary"]["if"], "the job summary is written only on success"
assert "GITHUB_STEP_SUMMARY" in steps["job summary"]["run"]
upload = [s for s in gate["steps"] if s.get("uses", "").startswith("actions/upload-artifact")][0]
assert "always()" in upload["if"] and "leakgate-baseline.json" in upload["with"]["path"]
open(f"{work}/gh-gate.sh", "w").write(steps["leakgate gate"]["run"])
open(f"{work}/gh-summary.sh", "w").write(steps["job summary"]["run"])

gl = yaml.safe_load(open("ci/gitlab-ci.yml"))
job = gl["leakgate:gate"]
assert job["when"] == "always", job.get("when")
assert all(isinstance(n, dict) and n["optional"] is True for n in job["needs"]), job["needs"]
assert {n["job"] for n in job["needs"]} == {"leaks:c", "leaks:py"}, job["needs"]
reports = job["artifacts"]["reports"]
assert reports["junit"] == "leaks.xml" and reports["codequality"] == "gl-code-quality-report.json", reports
assert job["artifacts"]["when"] == "always"
assert "leakgate-baseline.json" in job["artifacts"]["paths"]
open(f"{work}/gl-gate.sh", "w").write("\n".join(job["script"]) + "\n")
for name in ("gh-gate.sh", "gl-gate.sh"):
    text = open(f"{work}/{name}").read()
    # The documented configuration uses the default baseline: a missing
    # --baseline FILE named on the command line is an error.
    assert "--baseline " not in text, f"{name} names the baseline"
PY

# ---- the gate scripts over real reports ------------------------------------
# (the example suite's report: leakgate run preloads the library, not under ASan)
if [ "${SAN:-}" = address ]; then
    echo "skip: SAN=address: the example suite's report needs leakgate run"
    finish
fi
make -s "$BUILD/examples/test_kvconf" BUILD="$BUILD" >/dev/null || fail "cannot build examples/kvconf"
"$LG" run --json "$WORK/kv.json" -- "$BUILD/examples/test_kvconf" >/dev/null 2>&1
# The same suite with one more leak: kvconf::sorted_keys now leaks too.
python3 - "$WORK/kv.json" "$WORK/kv-new.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
leak = next(t for t in doc["tests"] if t["id"] == "kvconf::later_lines_replace_earlier_ones")
for t in doc["tests"]:
    if t["id"] == "kvconf::sorted_keys":
        t.update(outcome="leaked", size_diff=5, count_diff=1, leaks=[dict(leak["leaks"][0])])
json.dump(doc, open(sys.argv[2], "w"))
PY
PATH=$BUILD/bin:$PATH
export PATH

# pipeline CI FILES...: a checkout of this repository's examples with the
# reports where the CI configuration puts them, then the gate script as that
# CI runs it; output in $WORK/CI.out, status in $WORK/CI.rc.
pipeline() {
    ci=$1 c=$2
    dir=$WORK/$ci-checkout
    mkdir -p "$dir/reports" && cp -r "$ROOT/examples" "$dir/" || return
    rm -f "$dir"/reports/*.json "$dir"/leaks-*.json "$dir"/leaks.* "$dir"/gl-code-quality-report.json
    if [ "$ci" = gh ]; then
        cp "$c" "$dir/reports/leaks-c-1.json"
        cp "$ROOT/tests/integration/gate/data/shard-py.json" "$dir/reports/leaks-py-1.json"
        : >"$WORK/summary.md"
        (cd "$dir" && GITHUB_ACTIONS=true GITHUB_WORKSPACE=$dir bash -e "$WORK/gh-gate.sh") >"$WORK/gh.out" 2>&1
        echo $? >"$WORK/gh.rc"
        (cd "$dir" && GITHUB_STEP_SUMMARY=$WORK/summary.md bash -e "$WORK/gh-summary.sh") >/dev/null 2>&1
    else
        cp "$c" "$dir/leaks-c-1.json"
        cp "$ROOT/tests/integration/gate/data/shard-py.json" "$dir/leaks-py-1.json"
        (cd "$dir" && GITLAB_CI=true CI_PROJECT_DIR=$dir sh -e "$WORK/gl-gate.sh") >"$WORK/gl.out" 2>&1
        echo $? >"$WORK/gl.rc"
    fi
}
for ci in gh gl; do
    dir=$WORK/$ci-checkout
    # 1. The first pipeline: no baseline committed.  It passes, records one
    # (an artifact) and says so; nothing reads as a failure.
    pipeline $ci "$WORK/kv.json"
    [ "$(cat "$WORK/$ci.rc")" = 0 ] || fail "$ci first pipeline: exit $(cat "$WORK/$ci.rc"): $(cat "$WORK/$ci.out")"
    grep -q '^leakgate gate: baseline written: [0-9]* leaks$' "$WORK/$ci.out" || fail "$ci first pipeline: $(tail -3 "$WORK/$ci.out")"
    grep -q '^note: no baseline yet: leakgate-baseline.json did not exist; this run wrote it' "$WORK/$ci.out" ||
        fail "$ci first pipeline: no note that the baseline was empty"
    grep -qi 'fail' "$WORK/$ci.out" && fail "$ci first pipeline reads as a failure: $(grep -i fail "$WORK/$ci.out")"
    [ -s "$dir/leakgate-baseline.json" ] || fail "$ci first pipeline: no baseline recorded"
    grep -q 'failures="0"' "$dir/leaks.xml" || fail "$ci first pipeline: JUnit failures"
    "$VENV/bin/python" "$ROOT/tests/check_schemas.py" --min 1 "$dir/leakgate-baseline.json" || fail "$ci: the recorded baseline"
    # 2. With the baseline committed: passes on known leaks, annotates none.
    pipeline $ci "$WORK/kv.json"
    [ "$(cat "$WORK/$ci.rc")" = 0 ] || fail "$ci second pipeline: exit $(cat "$WORK/$ci.rc"): $(tail -3 "$WORK/$ci.out")"
    grep -q '^leakgate gate: passed: [0-9]* known leaks, none new or grown$' "$WORK/$ci.out" ||
        fail "$ci second pipeline: $(tail -1 "$WORK/$ci.out")"
    grep -q '^::error' "$WORK/$ci.out" && fail "$ci second pipeline: annotations"
    # 3. A new leak: the pipeline fails and the leak is on its line.
    pipeline $ci "$WORK/kv-new.json"
    [ "$(cat "$WORK/$ci.rc")" = 1 ] || fail "$ci new leak: exit $(cat "$WORK/$ci.rc"), not 1"
    grep -q '^leakgate gate: FAILED: 1 new leak$' "$WORK/$ci.out" || fail "$ci new leak: $(tail -1 "$WORK/$ci.out")"
done
L=$(grep -nF 'char *d = malloc(n + 1)' examples/kvconf/kvconf.c | cut -d: -f1)
[ "$(grep -c '^::error' "$WORK/gh.out")" = 1 ] || fail "GitHub new leak: not one annotation: $(grep '^::' "$WORK/gh.out")"
grep -q "^::error file=examples/kvconf/kvconf.c,line=$L,title=leakgate%3A new leak::kvconf::sorted_keys leaked 5 B" "$WORK/gh.out" ||
    fail "GitHub new leak: $(grep '^::' "$WORK/gh.out")"
python3 - "$WORK/gl-checkout/gl-code-quality-report.json" "$L" <<'PY' || fail "GitLab new leak: Code Quality report (above)"
import json, sys
issues = json.load(open(sys.argv[1]))
assert [(i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues] == \
    [("leakgate-new-leak", "examples/kvconf/kvconf.c", int(sys.argv[2]))], issues
PY
# GitHub's job summary: the verdict, the JUnit results as a table.
grep -q '^## leakgate gate: FAILED: 1 new leak$' "$WORK/summary.md" || fail "GitHub job summary: $(head -3 "$WORK/summary.md")"
grep -q '^| with a new or grown leak | 1 |$' "$WORK/summary.md" || fail "GitHub job summary: no JUnit table"

finish
