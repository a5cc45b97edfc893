#!/bin/sh
# test_gate_html.sh — the gate's HTML report in a real browser: headless
# Chromium loads it, and the rendered DOM must show the leaking tests, a
# traceback frame, and the chart with every bar laid out at a non-zero
# width (the page's script counts them into data-bars-drawn).  The page
# must load nothing from outside.  A screenshot goes to
# $BUILD/gate/report.png, never into the source tree.
. "$(dirname "$0")/../lib.sh"
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
if [ -z "$CHROMIUM" ]; then
    echo "skip: no chromium (sh ci/install-deps.sh installs it)"
    exit 0
fi
# Annotations are tested by test_annotations.sh; not here, even in CI.
unset GITHUB_ACTIONS GITLAB_CI
D=tests/integration/gate/data
OUT=$BUILD/gate
cd "$ROOT" || exit 1
mkdir -p "$OUT"
"$LG" gate -q --baseline "$D/baseline.json" --html "$OUT/report.html" \
    "$D/shard-c.json" "$D/shard-py.json" "$D/rerun.json"
[ $? = 1 ] || fail "the gate did not fail on the fixtures"

# Self-contained: no scripts, styles, images or fonts from elsewhere.
grep -Eq '<(script|img|link|iframe)[^>]* (src|href)=|@import|url\(' "$OUT/report.html" &&
    fail "the report refers to external assets"

browse() {
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --user-data-dir="$WORK/profile" --window-size=1100,1500 "$@" \
        "file://$OUT/report.html" 2>>"$WORK/chromium.log"
}
browse --dump-dom >"$WORK/dom.html" || fail "chromium --dump-dom failed: $(tail -3 "$WORK/chromium.log")"
browse --screenshot="$OUT/report.png" >/dev/null ||
    fail "chromium --screenshot failed: $(tail -3 "$WORK/chromium.log")"

for t in 'cache::big' 'parser::empty_input' 'parser::params' 'tests/test_io.py::test_read' \
    'tests/test_io.py::test_&lt;escape&gt;[&quot;a|b&quot;]'; do
    grep -qF "data-test=\"$t\"" "$WORK/dom.html" || fail "leaking test $t not shown"
done
grep -q 'data-test="parser::clean_case"' "$WORK/dom.html" || fail "the fixed leak's test not shown"
grep -q 'data-test="cache::warm"' "$WORK/dom.html" && fail "a test within its limits is shown as leaking"
grep -q '#0 cache_grow      src/cache.c:52' "$WORK/dom.html" || fail "no traceback frame"
grep -q '<details class="leak" open="">' "$WORK/dom.html" || fail "new leaks are not expanded"
grep -q 'FAILED: 4 new leaks, 1 grown leak' "$WORK/dom.html" || fail "no verdict"

bars=$(grep -o '<rect class="bar [a-z]*"[^>]*>' "$WORK/dom.html")
nbars=$(printf '%s\n' "$bars" | grep -c 'rect')
drawn=$(sed -n 's/.*data-bars-drawn="\([0-9]*\)".*/\1/p' "$WORK/dom.html")
[ "$nbars" = 5 ] || fail "chart has $nbars bars, expected 5 (one per leaking test)"
[ "$drawn" = "$nbars" ] || fail "the browser drew ${drawn:-no} bars of $nbars"
printf '%s\n' "$bars" | grep -q 'width="0"' && fail "a bar has zero width"
printf '%s\n' "$bars" | head -1 | grep -q 'class="bar new".*width="420"' ||
    fail "the biggest bar is not first and full width: $(printf '%s\n' "$bars" | head -1)"

# The screenshot is a PNG of some size.
[ "$(head -c 8 "$OUT/report.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "no PNG screenshot at $OUT/report.png"
[ "$(wc -c <"$OUT/report.png")" -gt 20000 ] || fail "the screenshot is suspiciously small"

finish "all checks passed (screenshot: $OUT/report.png)"
