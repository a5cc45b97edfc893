#!/bin/sh
# test_annotations.sh — `leakgate gate --annotations`: GitHub workflow
# commands and a GitLab Code Quality report for new and grown leaks, each
# on the first frame whose file is in the repository, checked line by line
# against golden files (a fake checkout holding the fixtures' source
# files), then on the example suite's real reports; chosen by
# GITHUB_ACTIONS / GITLAB_CI, or --annotations (none included); nothing
# under --update-baseline; bad options.  UPDATE_GOLDEN=1 rewrites the
# golden files.  Exits 1 if any check failed.

. "$(dirname "$0")/../lib.sh"
D=$ROOT/tests/integration/gate/data
G=$ROOT/tests/integration/gate/golden
unset GITHUB_ACTIONS GITLAB_CI GITHUB_WORKSPACE CI_PROJECT_DIR
REPORTS="$D/shard-c.json $D/shard-py.json $D/rerun.json"
golden() { # NAME FILE
    if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
        cp "$2" "$G/$1"
    else
        # line by line: the first line that differs, with its number
        awk -v name="$1" 'NR == FNR { want[FNR] = $0; n = FNR; next }
            { if ($0 != want[FNR]) { printf "line %d:\n  want: %s\n  got:  %s\n", FNR, want[FNR], $0; bad = 1; exit }
              m = FNR }
            END { if (!bad && m != n) printf "%d lines, want %d\n", m, n; exit bad || m != n }' \
            "$G/$1" "$2" >"$WORK/diff" || fail "$1 differs from the golden file: $(cat "$WORK/diff")"
    fi
}

# ---- a checkout holding the source files the fixtures name ---------------
# src/params.c is not in it: its leak is known anyway; ./string/strdup.c
# (the C library's) is not either, so parser::empty_input's leak lands on
# src/parser.c, the next frame; "(other leaks)" has no frame at all.
R=$WORK/repo
mkdir -p "$R/src/io" "$R/tests" || exit 1
for f in src/buffer.c src/parser.c src/cache.c tests/test_cache.c src/io/reader.py 'src/esc&ape.c'; do
    : >"$R/$f"
done
cd "$WORK" || exit 1
GITHUB_ACTIONS=true GITHUB_WORKSPACE=$R "$LG" gate -q --baseline "$D/baseline.json" $REPORTS \
    >"$WORK/gh.out" 2>"$WORK/gh.err"
[ $? = 1 ] || fail "GitHub: the gate did not fail"
golden annotations-github.txt "$WORK/gh.out"
[ "$(grep -c '^::error ' "$WORK/gh.out")" = 5 ] || fail "GitHub: not 5 annotations (4 new, 1 grown)"
grep -q '^::error file=src/io/reader\.py,line=33,title=leakgate%3A grown leak::' "$WORK/gh.out" ||
    fail "GitHub: the grown leak is not on src/io/reader.py:33"
# Workflow-command escaping: no raw newline inside a message, '%' and ':'
# in properties escaped.
[ "$(wc -l <"$WORK/gh.out")" = 5 ] || fail "GitHub: a message spans lines"

GITLAB_CI=true CI_PROJECT_DIR=$R "$LG" gate -q --baseline "$D/baseline.json" $REPORTS \
    >"$WORK/gl.out" 2>"$WORK/gl.err"
[ $? = 1 ] || fail "GitLab: the gate did not fail"
[ -s "$WORK/gl.out" ] && fail "GitLab: something on stdout: $(cat "$WORK/gl.out")"
[ -f gl-code-quality-report.json ] || fail "GitLab: no gl-code-quality-report.json in the current directory"
# Every path is relative to the checkout: the leak with no frame there is
# put on the baseline, which is not in the checkout either (GitLab needs a
# path): on the default baseline's name.
golden codequality.json gl-code-quality-report.json
python3 - gl-code-quality-report.json "$R" leakgate-baseline.json <<'PY' || fail "GitLab: the Code Quality report is malformed (above)"
import json, os, re, sys
issues = json.load(open(sys.argv[1]))
assert isinstance(issues, list) and len(issues) == 5, issues
fps = set()
for i in issues:
    assert set(i) == {"description", "check_name", "fingerprint", "severity", "location"}, i
    assert i["check_name"] in ("leakgate-new-leak", "leakgate-grown-leak"), i
    assert i["severity"] == "major", i
    assert re.fullmatch(r"[0-9a-f]{16}", i["fingerprint"]), i
    fps.add(i["fingerprint"])
    loc = i["location"]
    assert isinstance(loc["lines"]["begin"], int) and loc["lines"]["begin"] >= 1, i
    assert not loc["path"].startswith("/"), i
    assert (os.path.exists(os.path.join(sys.argv[2], loc["path"])) or loc["path"] == sys.argv[3]), i
assert len(fps) == 5, "fingerprints are not unique"
PY
# A baseline in the checkout: the leak with no frame is on it, by its path
# in the checkout.
mkdir -p "$R/ci" && cp "$D/baseline.json" "$R/ci/known.json"
(cd "$R" && "$LG" gate -q --annotations gitlab --annotations-file "$WORK/in-repo.json" \
    --baseline ci/known.json $REPORTS >/dev/null 2>&1)
grep -q '"location": {"path": "ci/known.json", "lines": {"begin": 1}}' "$WORK/in-repo.json" ||
    fail "GitLab: a baseline in the checkout is not named by its path there: $(head -2 "$WORK/in-repo.json")"
# --annotations-file elsewhere; the fingerprints stay from run to run.
"$LG" gate -q --annotations gitlab --annotations-file "$WORK/cq2.json" --baseline "$D/baseline.json" \
    $REPORTS >/dev/null 2>&1
cmp -s gl-code-quality-report.json "$WORK/cq2.json" && fail "GitLab: the report ignores CI_PROJECT_DIR (same paths from another root)"
grep -o '"fingerprint": "[0-9a-f]*"' gl-code-quality-report.json >"$WORK/fp1"
grep -o '"fingerprint": "[0-9a-f]*"' "$WORK/cq2.json" >"$WORK/fp2"
cmp -s "$WORK/fp1" "$WORK/fp2" || fail "GitLab: fingerprints change between runs"

# ---- the example suite: real reports, the files of this repository --------
# (from here on every check reads the example suite's report, which
# leakgate run makes by preloading the library: not under ASan)
if [ "${SAN:-}" = address ]; then
    echo "skip: SAN=address: the example suite's report needs leakgate run"
    finish
fi
make -s "$BUILD/examples/test_kvconf" BUILD="$BUILD" -C "$ROOT" >/dev/null || fail "cannot build examples/kvconf"
cd "$ROOT" || exit 1
"$LG" run --json "$WORK/kv.json" -- "$BUILD/examples/test_kvconf" >/dev/null 2>&1
printf '{"schema": "leakgate-baseline/1", "leaks": []}\n' >"$WORK/empty-baseline.json"
GITHUB_ACTIONS=true "$LG" gate -q --baseline "$WORK/empty-baseline.json" "$WORK/kv.json" >"$WORK/kv.out" 2>&1
[ $? = 1 ] || fail "kvconf: the gate did not fail"
T=examples/kvconf/tests/test_kvconf.c
line_of() { grep -nF "$2" "$1" | head -1 | cut -d: -f1; }
cat >"$WORK/kv.want" <<EOF
::error file=$T,line=$(line_of $T 'scratch = malloc(256)'),title=leakgate%3A new leak::fixture::counts_the_fixture leaked 256 B in 1 block (definitely lost) at open_conf@test_kvconf.c (new: not in the baseline)
::error file=examples/kvconf/kvconf.c,line=$(line_of examples/kvconf/kvconf.c 'char *d = malloc(n + 1)'),title=leakgate%3A new leak::kvconf::later_lines_replace_earlier_ones leaked 10 B in 2 blocks (definitely lost) at trimmed_copy@kvconf.c < parse_line@kvconf.c < kv_parse@kvconf.c (new: not in the baseline)
::error file=$T,line=$(line_of $T 'strdup(kv_get(kv, "name"))'),title=leakgate%3A new leak::kvconf::report_header leaked 5 B in 1 block (definitely lost) at __strdup@strdup.c < kvconf_report_header_impl@test_kvconf.c (new: not in the baseline)
EOF
sed 's/%0A.*//' "$WORK/kv.out" >"$WORK/kv.got"
diff -u "$WORK/kv.want" "$WORK/kv.got" || fail "kvconf: annotations differ (above)"
grep -q '%0A  #1 kvconf_report_header_impl  examples/kvconf/tests/test_kvconf\.c:55 ' "$WORK/kv.out" ||
    fail "kvconf: the traceback is not in the message"

# More than GitHub shows (10 errors a step): all of them, and one warning
# that says how many there are.
python3 - "$WORK/kv.json" "$WORK/many.json" <<'PY'
import copy, json, sys
doc = json.load(open(sys.argv[1]))
leak = next(t for t in doc["tests"] if t["outcome"] == "leaked")
doc["tests"] = [dict(copy.deepcopy(leak), id=f"many::t{i:02}") for i in range(12)]
json.dump(doc, open(sys.argv[2], "w"))
PY
GITHUB_ACTIONS=true "$LG" gate -q --baseline "$WORK/empty-baseline.json" "$WORK/many.json" >"$WORK/many.out" 2>&1
[ "$(grep -c '^::error ' "$WORK/many.out")" = 12 ] || fail "12 leaks: $(grep -c '^::error ' "$WORK/many.out") annotations"
[ "$(tail -1 "$WORK/many.out")" = "::warning title=leakgate%3A 12 leaks::12 new or grown leaks: GitHub shows 10 error annotations per step; the log and the job summary list them all" ] ||
    fail "12 leaks: no warning past GitHub's 10: $(tail -1 "$WORK/many.out")"
[ "$(grep -c '^::warning' "$WORK/kv.out")" = 0 ] || fail "3 leaks: a warning"

# ---- which annotations, and when none --------------------------------------
count() { grep -c '^::error' "$WORK/$1" || true; }
GITHUB_ACTIONS=true "$LG" gate -q --annotations none --baseline "$WORK/empty-baseline.json" "$WORK/kv.json" >"$WORK/none.out" 2>&1
[ "$(count none.out)" = 0 ] || fail "--annotations none: annotations written"
"$LG" gate -q --baseline "$WORK/empty-baseline.json" "$WORK/kv.json" >"$WORK/plain.out" 2>&1
[ "$(count plain.out)" = 0 ] || fail "outside CI: annotations written"
GITHUB_ACTIONS=false "$LG" gate -q --baseline "$WORK/empty-baseline.json" "$WORK/kv.json" >"$WORK/false.out" 2>&1
[ "$(count false.out)" = 0 ] || fail "GITHUB_ACTIONS=false: annotations written"
"$LG" gate -q --annotations github --baseline "$WORK/empty-baseline.json" "$WORK/kv.json" >"$WORK/opt.out" 2>&1
[ "$(count opt.out)" = 3 ] || fail "--annotations github: $(count opt.out) annotations"
cp "$WORK/empty-baseline.json" "$WORK/upd.json"
GITHUB_ACTIONS=true "$LG" gate --update-baseline --baseline "$WORK/upd.json" "$WORK/kv.json" >"$WORK/upd.out" 2>&1 ||
    fail "--update-baseline: exit $?"
[ "$(count upd.out)" = 0 ] || fail "--update-baseline: annotations written: $(grep '^::' "$WORK/upd.out")"
GITHUB_ACTIONS=true "$LG" gate -q --baseline "$WORK/upd.json" "$WORK/kv.json" >"$WORK/known.out" 2>&1 ||
    fail "known leaks only: exit $?"
[ -s "$WORK/known.out" ] && fail "known leaks only: output: $(cat "$WORK/known.out")"

usage() {
    pattern=$1
    shift
    "$LG" gate "$@" >"$WORK/u.out" 2>"$WORK/u.err"
    rc=$?
    [ "$rc" = 2 ] || fail "leakgate gate $*: exit $rc, expected 2"
    [ "$(wc -l <"$WORK/u.err")" = 1 ] || fail "leakgate gate $*: not one line: $(cat "$WORK/u.err")"
    grep -qF -- "$pattern" "$WORK/u.err" || fail "leakgate gate $*: '$(cat "$WORK/u.err")' lacks '$pattern'"
}
usage '--annotations=jenkins: expected github, gitlab or none' --annotations jenkins "$WORK/kv.json"
usage '--annotations-file=x.json: only with --annotations gitlab' --annotations github --annotations-file x.json "$WORK/kv.json"
usage "--annotations-file=$WORK/no/such/cq.json: No such file or directory" --annotations gitlab \
    --annotations-file "$WORK/no/such/cq.json" --baseline "$WORK/empty-baseline.json" "$WORK/kv.json"

finish
