/*
 * render.c — what the CI gate shows: a text summary for the CI log,
 * Markdown for a CI job summary, JUnit XML (one test case per checked
 * test) and one self-contained HTML page.  Entry point: lg_gate_render().
 *
 * Every renderer reads the result of lg_gate_compare() and nothing else,
 * lists leaks in the gate's order (test, then signature) and sites biggest
 * first, so outputs are deterministic and fit golden files.  Every string
 * from a report (test ids, signatures, frames) and the baseline's name go
 * through escape.c for the format: text, Markdown code, XML/HTML;
 * tracebacks are lg_render_traceback()'s text, already escaped as text.
 */
#include "lg_gate_internal.h"

#include <stdio.h>
#include <string.h>

#define CHART_MAX_BARS  40
#define CHART_BAR_WIDTH 420

/* Sizes, signed size changes and block counts as every renderer words them. */
#define SIZE(n)   lg__size_text((double)(n), false).s
#define DELTA(n)  lg__size_text((double)(n), true).s
#define BLOCKS(n) lg__plural(n, "block", "blocks")

static const char *const status_names[] = {"new", "grown", "known", "fixed", "unchecked"};

/* "0 B", "10%", or "64 B or 10%": the tolerance as the user gave it. */
static void tolerance_text(const lg_gate_opts_t *o, char *buf, size_t len)
{
    char pct[32];
    snprintf(pct, sizeof pct, "%g%%", o->tolerance_percent);
    if (o->tolerance_percent > 0 && o->tolerance_bytes > 0)
        snprintf(buf, len, "%s or %s", SIZE(o->tolerance_bytes), pct);
    else if (o->tolerance_percent > 0)
        snprintf(buf, len, "%s", pct);
    else
        snprintf(buf, len, "%s", SIZE(o->tolerance_bytes));
}

/* "FAILED: 2 new leaks, 1 grown leak" or "passed: ...". */
static void verdict_text(const lg_gate_t *g, char *buf, size_t len)
{
    const size_t *n = g->counts.by_status;
    if (g->opts.written) {
        snprintf(buf, len, "baseline written: %zu %s", g->counts.baseline,
                 lg__plural((int64_t)g->counts.baseline, "leak", "leaks"));
        return;
    }
    if (!lg_gate_passed(g)) {
        size_t k = (size_t)snprintf(buf, len, "FAILED:");
        if (n[LG_GATE_NEW] && k < len)
            k += (size_t)snprintf(buf + k, len - k, " %zu new %s", n[LG_GATE_NEW],
                                  lg__plural((int64_t)n[LG_GATE_NEW], "leak", "leaks"));
        if (n[LG_GATE_GROWN] && k < len)
            snprintf(buf + k, len - k, "%s %zu grown %s", n[LG_GATE_NEW] ? "," : "",
                     n[LG_GATE_GROWN], lg__plural((int64_t)n[LG_GATE_GROWN], "leak", "leaks"));
        return;
    }
    if (n[LG_GATE_KNOWN])
        snprintf(buf, len, "passed: %zu known %s, none new or grown", n[LG_GATE_KNOWN],
                 lg__plural((int64_t)n[LG_GATE_KNOWN], "leak", "leaks"));
    else
        snprintf(buf, len, "passed: no leaks");
}

/* Says that the default baseline does not exist yet, or nothing. */
static void absent_note(lg__sb_t *b, const lg_gate_t *g, bool markdown)
{
    if (!g->opts.absent)
        return;
    lg__sb_puts(b, markdown ? "**No baseline yet:** " : "note: no baseline yet: ");
    if (markdown)
        lg__sb_md_code(b, g->opts.absent);
    else
        lg__sb_text(b, g->opts.absent);
    if (g->opts.written)
        lg__sb_puts(b, " did not exist; this run wrote it from these reports. Commit it: "
                       "from then on the gate stops new or grown leaks only.\n");
    else
        lg__sb_puts(b, " does not exist, so the baseline is empty and every leak is new; "
                       "record one with `leakgate gate --update-baseline` and commit it.\n");
    if (markdown)
        lg__sb_puts(b, "\n");
}

static const char *baseline_name(const lg_gate_t *g)
{
    if (g->opts.baseline)
        return g->opts.baseline;
    return g->baseline_name ? g->baseline_name : "none";
}

/* The current bytes a test leaks (new, grown and known leaks). */
static int64_t test_size(const lg_gate_t *g, const lg__gate_test_t *t, int64_t *count,
                         lg_gate_status_t *worst)
{
    int64_t size = 0;
    *count = 0;
    *worst = LG_GATE_KNOWN;
    for (size_t i = t->first_leak; i < t->first_leak + t->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status > LG_GATE_KNOWN)
            continue;
        size += l->size;
        *count += l->count;
        if (l->status < *worst)
            *worst = l->status;
    }
    return size;
}

/* ", definitely lost": a leak's kind after its size, as the failure text
 * words it; nothing for a leak of no kind. */
static void put_kind(lg__sb_t *b, const lg__gate_leak_t *l)
{
    if (l->kind >= 0)
        lg__sb_printf(b, ", %s", lg__kind_words(l->kind));
}

static bool has_status(const lg_gate_t *g, lg_gate_status_t st)
{
    return g->counts.by_status[st] != 0;
}

/* ---- text ----------------------------------------------------------------- */

static void text_frames(lg__sb_t *b, const lg__json_t *tb, const char *indent)
{
    char *frames = tb ? lg__gate_render_frames(tb, indent) : NULL;
    if (frames)
        lg__sb_puts(b, frames);
    else if (tb)
        b->oom = true;
    lg_string_free(frames);
}

static void text_leaks(lg__sb_t *b, const lg_gate_t *g, lg_gate_status_t st, const char *title)
{
    if (!has_status(g, st))
        return;
    lg__sb_printf(b, "\n%s\n", title);
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status != st)
            continue;
        lg__sb_puts(b, "  ");
        lg__sb_text(b, l->test);
        if (st == LG_GATE_FIXED || st == LG_GATE_UNCHECKED)
            lg__sb_printf(b, ": %s in %lld %s (baseline)", SIZE(l->base_size),
                          (long long)l->base_count, BLOCKS(l->base_count));
        else if (st == LG_GATE_GROWN)
            lg__sb_printf(b, ": %s in %lld %s, baseline %s in %lld %s (%s)", SIZE(l->size),
                          (long long)l->count, BLOCKS(l->count), SIZE(l->base_size),
                          (long long)l->base_count, BLOCKS(l->base_count),
                          DELTA(l->size - l->base_size));
        else
            lg__sb_printf(b, ": %s in %lld %s", SIZE(l->size), (long long)l->count,
                          BLOCKS(l->count));
        put_kind(b, l);
        lg__sb_puts(b, "\n    at ");
        lg__sb_text(b, l->signature);
        lg__sb_puts(b, "\n");
        if (st == LG_GATE_NEW || st == LG_GATE_GROWN)
            text_frames(b, l->traceback, "      ");
    }
}

static void render_text(lg__sb_t *b, const lg_gate_t *g)
{
    const lg_gate_counts_t *c = &g->counts;
    char tol[96], verdict[128];
    tolerance_text(&g->opts, tol, sizeof tol);
    verdict_text(g, verdict, sizeof verdict);
    lg__sb_printf(b, "leakgate gate: %zu %s, %zu %s: %zu leaked, %zu skipped, %zu inconclusive\n",
                  c->reports, lg__plural((int64_t)c->reports, "report", "reports"), c->tests,
                  lg__plural((int64_t)c->tests, "test", "tests"), c->leaked_tests, c->skipped_tests,
                  c->inconclusive_tests);
    lg__sb_puts(b, "baseline: ");
    lg__sb_text(b, baseline_name(g));
    lg__sb_printf(b, " (%zu known %s); tolerance %s\n", c->baseline,
                  lg__plural((int64_t)c->baseline, "leak", "leaks"), tol);
    absent_note(b, g, false);
    lg__sb_printf(b, "leaks: %zu new, %zu grown, %zu known, %zu fixed", c->by_status[LG_GATE_NEW],
                  c->by_status[LG_GATE_GROWN], c->by_status[LG_GATE_KNOWN],
                  c->by_status[LG_GATE_FIXED]);
    if (c->by_status[LG_GATE_UNCHECKED])
        lg__sb_printf(b, ", %zu of tests that did not run", c->by_status[LG_GATE_UNCHECKED]);
    lg__sb_puts(b, "\n");
    text_leaks(b, g, LG_GATE_NEW, "new leaks (not in the baseline):");
    char title[192];
    snprintf(title, sizeof title, "grown leaks (beyond the baseline by more than %s):", tol);
    text_leaks(b, g, LG_GATE_GROWN, title);
    text_leaks(b, g, LG_GATE_FIXED,
               "fixed leaks (in the baseline, gone now; --update-baseline drops them):");
    int top = g->opts.top ? g->opts.top : LG_TOP_DEFAULT;
    if (g->nsites)
        lg__sb_puts(b, "\ntop allocation sites (all current leaks, biggest first):\n");
    for (size_t i = 0; i < g->nsites && (top < 0 || i < (size_t)top); i++) {
        const lg__gate_site_t *s = &g->sites[i];
        lg__sb_printf(b, "  %zu. %s in %lld %s, %zu %s: ", i + 1, SIZE(s->size),
                      (long long)s->count, BLOCKS(s->count), s->tests,
                      lg__plural((int64_t)s->tests, "test", "tests"));
        lg__sb_text(b, s->signature);
        lg__sb_puts(b, "\n");
        text_frames(b, s->traceback, "      ");
    }
    lg__sb_printf(b, "\nleakgate gate: %s\n", verdict);
}

/* ---- Markdown -------------------------------------------------------------- */

static void md_details(lg__sb_t *b, const char *summary_html_test, const char *what,
                       const lg__json_t *tb)
{
    char *frames = tb ? lg__gate_render_frames(tb, "") : NULL;
    if (!frames) {
        b->oom = b->oom || tb;
        return;
    }
    lg__sb_puts(b, "<details><summary><code>");
    lg__sb_xml_line(b, summary_html_test);
    lg__sb_puts(b, "</code> ");
    lg__sb_xml(b, what);
    lg__sb_puts(b, "</summary>\n\n");
    lg__sb_md_block(b, frames);
    lg__sb_puts(b, "\n</details>\n\n");
    lg_string_free(frames);
}

static void md_leaks(lg__sb_t *b, const lg_gate_t *g, lg_gate_status_t st, const char *title)
{
    if (!has_status(g, st))
        return;
    lg__sb_printf(b,
                  "### %s\n\n| test | site | kind | leaked now | baseline |\n"
                  "|---|---|---|---:|---:|\n",
                  title);
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status != st)
            continue;
        lg__sb_puts(b, "| ");
        lg__sb_md_code(b, l->test);
        lg__sb_puts(b, " | ");
        lg__sb_md_code(b, l->signature);
        lg__sb_printf(b, " | %s", l->kind >= 0 ? lg__kind_words(l->kind) : "-");
        if (st == LG_GATE_FIXED)
            lg__sb_puts(b, " | 0 B");
        else
            lg__sb_printf(b, " | %s in %lld %s", SIZE(l->size), (long long)l->count,
                          BLOCKS(l->count));
        if (l->base_size >= 0)
            lg__sb_printf(b, " | %s in %lld %s |\n", SIZE(l->base_size), (long long)l->base_count,
                          BLOCKS(l->base_count));
        else
            lg__sb_puts(b, " | - |\n");
    }
    lg__sb_puts(b, "\n");
    if (st != LG_GATE_NEW && st != LG_GATE_GROWN)
        return;
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status != st)
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s in %lld %s%s%s", SIZE(l->size), (long long)l->count,
                 BLOCKS(l->count), l->kind >= 0 ? ", " : "",
                 l->kind >= 0 ? lg__kind_words(l->kind) : "");
        md_details(b, l->test, what, l->traceback);
    }
}

/* The JUnit test cases in a table (a GitHub job summary shows no JUnit):
 * how many failed (a new or grown leak), passed with known leaks only,
 * passed, were skipped. */
static void md_tests(lg__sb_t *b, const lg_gate_t *g)
{
    size_t failed = 0, known = 0, clean = 0, skipped = 0;
    for (size_t i = 0; i < g->ntests; i++) {
        const lg__gate_test_t *t = &g->tests[i];
        lg_gate_status_t worst = LG_GATE_FIXED;
        for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++)
            if (g->leaks[k].status < worst)
                worst = g->leaks[k].status;
        if (t->outcome == LG_OUTCOME_SKIPPED)
            skipped++;
        else if (worst <= LG_GATE_GROWN)
            failed++;
        else if (worst == LG_GATE_KNOWN)
            known++;
        else
            clean++;
    }
    lg__sb_printf(b,
                  "| test cases (JUnit) | count |\n|---|---:|\n| with a new or grown leak | %zu |\n"
                  "| with known leaks only | %zu |\n| without leaks | %zu |\n| skipped | %zu |\n\n",
                  failed, known, clean, skipped);
}

static void render_markdown(lg__sb_t *b, const lg_gate_t *g)
{
    const lg_gate_counts_t *c = &g->counts;
    char tol[96], verdict[128];
    tolerance_text(&g->opts, tol, sizeof tol);
    verdict_text(g, verdict, sizeof verdict);
    lg__sb_printf(b, "## leakgate gate: %s\n\n", verdict);
    lg__sb_printf(b, "%zu %s, %zu %s (%zu leaked, %zu skipped, %zu inconclusive); baseline ",
                  c->reports, lg__plural((int64_t)c->reports, "report", "reports"), c->tests,
                  lg__plural((int64_t)c->tests, "test", "tests"), c->leaked_tests, c->skipped_tests,
                  c->inconclusive_tests);
    lg__sb_md_code(b, baseline_name(g));
    lg__sb_printf(b, " with %zu known %s; tolerance %s.\n\n", c->baseline,
                  lg__plural((int64_t)c->baseline, "leak", "leaks"), tol);
    absent_note(b, g, true);
    md_tests(b, g);
    lg__sb_puts(b, "| leaks | count |\n|---|---:|\n");
    for (int st = LG_GATE_NEW; st <= LG_GATE_FIXED; st++)
        lg__sb_printf(b, "| %s | %zu |\n", status_names[st], c->by_status[st]);
    if (c->by_status[LG_GATE_UNCHECKED])
        lg__sb_printf(b, "| of tests that did not run | %zu |\n", c->by_status[LG_GATE_UNCHECKED]);
    lg__sb_puts(b, "\n");
    md_leaks(b, g, LG_GATE_NEW, "New leaks");
    md_leaks(b, g, LG_GATE_GROWN, "Grown leaks");
    md_leaks(b, g, LG_GATE_FIXED, "Fixed leaks (`--update-baseline` drops them)");
    int top = g->opts.top ? g->opts.top : LG_TOP_DEFAULT;
    if (g->nsites)
        lg__sb_puts(b, "### Top allocation sites\n\n| site | leaked | tests |\n|---|---:|---:|\n");
    for (size_t i = 0; i < g->nsites && (top < 0 || i < (size_t)top); i++) {
        const lg__gate_site_t *s = &g->sites[i];
        lg__sb_puts(b, "| ");
        lg__sb_md_code(b, s->signature);
        lg__sb_printf(b, " | %s in %lld %s | %zu |\n", SIZE(s->size), (long long)s->count,
                      BLOCKS(s->count), s->tests);
    }
    if (g->nsites)
        lg__sb_puts(b, "\n");
}

/* ---- JUnit XML ------------------------------------------------------------- */

/* Splits "suite::name" (Criterion) or "path::test" (pytest) at the first
 * "::"; ids without one get the class "leakgate". */
static void put_junit_names(lg__sb_t *b, const char *id)
{
    const char *sep = strstr(id, "::");
    lg__sb_puts(b, "classname=\"");
    if (sep) {
        char *cls = lg__xmalloc((size_t)(sep - id) + 1);
        if (!cls) {
            b->oom = true;
            return;
        }
        memcpy(cls, id, (size_t)(sep - id));
        cls[sep - id] = '\0';
        lg__sb_xml_line(b, cls);
        lg__xfree(cls);
    } else {
        lg__sb_puts(b, "leakgate");
    }
    lg__sb_puts(b, "\" name=\"");
    lg__sb_xml_line(b, sep ? sep + 2 : id);
    lg__sb_puts(b, "\"");
}

static void render_junit(lg__sb_t *b, const lg_gate_t *g)
{
    size_t failures = 0;
    for (size_t i = 0; i < g->ntests; i++) {
        const lg__gate_test_t *t = &g->tests[i];
        for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++)
            if (g->leaks[k].status <= LG_GATE_GROWN) {
                failures++;
                break;
            }
    }
    lg__sb_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    lg__sb_printf(b,
                  "<testsuites name=\"leakgate gate\" tests=\"%zu\" failures=\"%zu\" "
                  "errors=\"0\" skipped=\"%zu\">\n",
                  g->ntests, failures, g->counts.skipped_tests);
    lg__sb_printf(b,
                  "  <testsuite name=\"leakgate\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
                  "skipped=\"%zu\">\n",
                  g->ntests, failures, g->counts.skipped_tests);
    for (size_t i = 0; i < g->ntests; i++) {
        const lg__gate_test_t *t = &g->tests[i];
        lg__sb_puts(b, "    <testcase ");
        put_junit_names(b, t->id);
        size_t nbad = 0, nknown = 0;
        int64_t bad_size = 0;
        for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++) {
            const lg__gate_leak_t *l = &g->leaks[k];
            nbad += l->status <= LG_GATE_GROWN;
            nknown += l->status == LG_GATE_KNOWN;
            bad_size += l->status <= LG_GATE_GROWN ? l->size : 0;
        }
        if (t->outcome == LG_OUTCOME_SKIPPED) {
            lg__sb_puts(b, ">\n      <skipped/>\n    </testcase>\n");
            continue;
        }
        if (!nbad && !nknown) {
            lg__sb_puts(b, "/>\n");
            continue;
        }
        lg__sb_puts(b, ">\n");
        if (nbad) {
            lg__sb_printf(b, "      <failure type=\"leak\" message=\"%zu new or grown %s, %s\">",
                          nbad, lg__plural((int64_t)nbad, "leak", "leaks"), SIZE(bad_size));
            lg__sb_t body = {0};
            for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++) {
                const lg__gate_leak_t *l = &g->leaks[k];
                if (l->status > LG_GATE_GROWN)
                    continue;
                lg__sb_printf(&body, "%s leak: %s in %lld %s", status_names[l->status],
                              SIZE(l->size), (long long)l->count, BLOCKS(l->count));
                put_kind(&body, l);
                if (l->base_size >= 0)
                    lg__sb_printf(&body, " (baseline %s)", SIZE(l->base_size));
                lg__sb_puts(&body, " at ");
                lg__sb_text(&body, l->signature);
                lg__sb_puts(&body, "\n");
                text_frames(&body, l->traceback, "  ");
            }
            char *text = lg__sb_finish(&body);
            if (!text)
                b->oom = true;
            else
                lg__sb_xml(b, text);
            lg_string_free(text);
            lg__sb_puts(b, "</failure>\n");
        }
        if (nknown) {
            lg__sb_puts(b, "      <system-out>");
            for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++) {
                const lg__gate_leak_t *l = &g->leaks[k];
                if (l->status != LG_GATE_KNOWN)
                    continue;
                char line[160];
                snprintf(line, sizeof line, "known leak (in the baseline): %s in %lld %s%s%s at ",
                         SIZE(l->size), (long long)l->count, BLOCKS(l->count),
                         l->kind >= 0 ? ", " : "", l->kind >= 0 ? lg__kind_words(l->kind) : "");
                lg__sb_xml(b, line);
                lg__sb_xml_line(b, l->signature);
                lg__sb_puts(b, "\n");
            }
            lg__sb_puts(b, "</system-out>\n");
        }
        lg__sb_puts(b, "    </testcase>\n");
    }
    lg__sb_puts(b, "  </testsuite>\n</testsuites>\n");
}

/* ---- HTML ------------------------------------------------------------------ */

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>leakgate gate report</title>\n<style>\n"
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;"
    "padding:0 1em;color:#1f2328;background:#fff}\n"
    "h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;"
    "border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
    ".verdict{display:inline-block;padding:.15em .6em;border-radius:4px;color:#fff;"
    "font-weight:600}\n.verdict.failed{background:#cf222e}.verdict.passed{background:#1a7f37}\n"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d0d7de;"
    "padding:.25em .6em;text-align:left}td.num,th.num{text-align:right}\n"
    "code,pre{font:12.5px/1.4 ui-monospace,monospace}\n"
    "pre{background:#f6f8fa;padding:.6em .8em;overflow-x:auto;margin:.3em 0 .6em}\n"
    ".badge{display:inline-block;font-size:11px;font-weight:600;padding:0 .5em;"
    "border-radius:8px;color:#fff;text-transform:uppercase;margin-right:.4em}\n"
    ".new{background:#cf222e}.grown{background:#bc4c00}.known{background:#6e7781}"
    ".fixed{background:#1a7f37}.unchecked{background:#8c959f}\n"
    ".test{border:1px solid #d0d7de;border-radius:6px;padding:.4em .8em;margin:.6em 0}\n"
    ".test h3{font-size:1em;margin:.2em 0 .4em}\n"
    "details summary{cursor:pointer}\n"
    "svg text{font:12px ui-monospace,monospace;fill:#1f2328}\n"
    "svg rect.bar.new{fill:#cf222e}svg rect.bar.grown{fill:#bc4c00}"
    "svg rect.bar.known{fill:#6e7781}\n"
    "</style>\n</head>\n";

/* Marks the page with how many chart bars the browser laid out with a
 * width, so a test (or a reader of the DOM) can tell the chart was drawn. */
static const char html_script[] =
    "<script>\n"
    "(function () {\n"
    "  var bars = document.querySelectorAll('#chart rect.bar'), drawn = 0;\n"
    "  for (var i = 0; i < bars.length; i++)\n"
    "    if (bars[i].getBoundingClientRect().width > 0) drawn++;\n"
    "  document.body.setAttribute('data-bars-drawn', String(drawn));\n"
    "})();\n"
    "</script>\n";

static void html_frames(lg__sb_t *b, const lg__json_t *tb)
{
    char *frames = tb ? lg__gate_render_frames(tb, "") : NULL;
    if (tb && !frames) {
        b->oom = true;
        return;
    }
    lg__sb_puts(b, "<pre class=\"traceback\">");
    lg__sb_xml(b, frames ? frames : "(no traceback in the report)\n");
    lg__sb_puts(b, "</pre>");
    lg_string_free(frames);
}

static void html_chart(lg__sb_t *b, const lg_gate_t *g)
{
    struct bar {
        const lg__gate_test_t *t;
        int64_t size, count;
        lg_gate_status_t worst;
    } bars[CHART_MAX_BARS];
    size_t n = 0;
    /* The biggest CHART_MAX_BARS tests, by insertion into a sorted array. */
    for (size_t i = 0; i < g->ntests; i++) {
        struct bar cur;
        cur.t = &g->tests[i];
        cur.size = test_size(g, cur.t, &cur.count, &cur.worst);
        if (cur.size <= 0 && cur.count <= 0)
            continue;
        size_t k = n < CHART_MAX_BARS ? n++ : CHART_MAX_BARS;
        while (k > 0 && bars[k - 1].size < cur.size) {
            if (k < CHART_MAX_BARS)
                bars[k] = bars[k - 1];
            k--;
        }
        if (k < CHART_MAX_BARS)
            bars[k] = cur;
    }
    lg__sb_puts(b, "<h2>Leaked bytes per test</h2>\n");
    if (!n) {
        lg__sb_puts(b, "<p>No test leaks.</p>\n");
        return;
    }
    const int label_w = 330, row_h = 22, width = label_w + CHART_BAR_WIDTH + 120;
    lg__sb_printf(b,
                  "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                  "height=\"%zu\" role=\"img\" aria-label=\"leaked bytes per test\">\n",
                  width, n * (size_t)row_h + 6);
    int64_t max = bars[0].size > 0 ? bars[0].size : 1;
    for (size_t i = 0; i < n; i++) {
        int64_t w = bars[i].size * CHART_BAR_WIDTH / max;
        size_t y = i * (size_t)row_h + 3;
        lg__sb_printf(b, "<g><title>");
        lg__sb_xml_line(b, bars[i].t->id);
        lg__sb_printf(b, ": %s in %lld %s</title>", SIZE(bars[i].size), (long long)bars[i].count,
                      BLOCKS(bars[i].count));
        lg__sb_printf(b, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", label_w - 8, y + 15);
        const char *id = bars[i].t->id;
        size_t len = strlen(id);
        if (len > 42)
            lg__sb_puts(b, "&#8230;"); /* keep the end: it names the test */
        lg__sb_xml_line(b, len > 42 ? id + len - 41 : id);
        lg__sb_printf(b,
                      "</text><rect class=\"bar %s\" x=\"%d\" y=\"%zu\" width=\"%lld\" "
                      "height=\"%d\"/>",
                      status_names[bars[i].worst], label_w, y, (long long)(w > 2 ? w : 2),
                      row_h - 6);
        lg__sb_printf(b, "<text x=\"%lld\" y=\"%zu\">%s</text></g>\n",
                      (long long)(label_w + (w > 2 ? w : 2) + 6), y + 15, SIZE(bars[i].size));
    }
    lg__sb_puts(b, "</svg>\n");
}

static void html_leak(lg__sb_t *b, const lg__gate_leak_t *l, bool open)
{
    lg__sb_printf(b, "<details class=\"leak\"%s><summary><span class=\"badge %s\">%s</span>",
                  open ? " open" : "", status_names[l->status], status_names[l->status]);
    if (l->status == LG_GATE_FIXED)
        lg__sb_printf(b, "was %s in %lld %s", SIZE(l->base_size), (long long)l->base_count,
                      BLOCKS(l->base_count));
    else
        lg__sb_printf(b, "%s in %lld %s", SIZE(l->size), (long long)l->count, BLOCKS(l->count));
    if (l->status == LG_GATE_GROWN)
        lg__sb_printf(b, " (baseline %s, %s)", SIZE(l->base_size), DELTA(l->size - l->base_size));
    put_kind(b, l);
    lg__sb_puts(b, " at <code>");
    lg__sb_xml_line(b, l->signature);
    lg__sb_puts(b, "</code></summary>\n");
    if (l->status != LG_GATE_FIXED && !l->traceback && strcmp(l->signature, "(other leaks)") == 0)
        lg__sb_puts(b, "<p>Leaked memory whose tracebacks the report leaves out (it lists the "
                       "biggest; <code>--top 0</code> lists them all).</p>");
    else if (l->status != LG_GATE_FIXED)
        html_frames(b, l->traceback);
    else
        lg__sb_puts(b, "<p>Gone: its test ran and no longer leaks here.</p>");
    lg__sb_puts(b, "</details>\n");
}

static void render_html(lg__sb_t *b, const lg_gate_t *g)
{
    const lg_gate_counts_t *c = &g->counts;
    char tol[96], verdict[128];
    tolerance_text(&g->opts, tol, sizeof tol);
    verdict_text(g, verdict, sizeof verdict);
    lg__sb_puts(b, html_head);
    lg__sb_puts(b, "<body>\n<h1>leakgate gate</h1>\n");
    lg__sb_printf(b, "<p><span class=\"verdict %s\" id=\"verdict\">",
                  lg_gate_passed(g) ? "passed" : "failed");
    lg__sb_xml(b, verdict);
    lg__sb_printf(b,
                  "</span></p>\n<p>%zu %s, %zu %s (%zu leaked, %zu skipped, %zu inconclusive); "
                  "baseline <code>",
                  c->reports, lg__plural((int64_t)c->reports, "report", "reports"), c->tests,
                  lg__plural((int64_t)c->tests, "test", "tests"), c->leaked_tests, c->skipped_tests,
                  c->inconclusive_tests);
    lg__sb_xml_line(b, baseline_name(g));
    lg__sb_printf(b, "</code> with %zu known %s; tolerance ", c->baseline,
                  lg__plural((int64_t)c->baseline, "leak", "leaks"));
    lg__sb_xml(b, tol);
    lg__sb_puts(b, ".</p>\n<table id=\"counts\"><tr>");
    for (int st = LG_GATE_NEW; st <= LG_GATE_UNCHECKED; st++)
        lg__sb_printf(b, "<th class=\"num\">%s</th>",
                      st == LG_GATE_UNCHECKED ? "not run" : status_names[st]);
    lg__sb_puts(b, "</tr>\n<tr>");
    for (int st = LG_GATE_NEW; st <= LG_GATE_UNCHECKED; st++)
        lg__sb_printf(b, "<td class=\"num\">%zu</td>", c->by_status[st]);
    lg__sb_puts(b, "</tr></table>\n");

    html_chart(b, g);

    lg__sb_puts(b, "<h2>Tests with leaks</h2>\n");
    size_t shown = 0;
    for (size_t i = 0; i < g->ntests; i++) {
        const lg__gate_test_t *t = &g->tests[i];
        int64_t count;
        lg_gate_status_t worst;
        int64_t size = test_size(g, t, &count, &worst);
        bool any = false;
        for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++)
            any = any || g->leaks[k].status <= LG_GATE_FIXED;
        if (!any)
            continue;
        shown++;
        lg__sb_puts(b, "<section class=\"test\" data-test=\"");
        lg__sb_xml_line(b, t->id);
        lg__sb_puts(b, "\"><h3><code>");
        lg__sb_xml_line(b, t->id);
        lg__sb_printf(b, "</code> &#8212; %s in %lld %s</h3>\n", SIZE(size), (long long)count,
                      BLOCKS(count));
        for (size_t k = t->first_leak; k < t->first_leak + t->nleaks; k++) {
            const lg__gate_leak_t *l = &g->leaks[k];
            if (l->status <= LG_GATE_FIXED)
                html_leak(b, l, l->status <= LG_GATE_GROWN);
        }
        lg__sb_puts(b, "</section>\n");
    }
    if (!shown)
        lg__sb_puts(b, "<p>None.</p>\n");

    int top = g->opts.top ? g->opts.top : LG_TOP_DEFAULT;
    lg__sb_puts(b, "<h2>Top allocation sites</h2>\n");
    if (!g->nsites)
        lg__sb_puts(b, "<p>None.</p>\n");
    for (size_t i = 0; i < g->nsites && (top < 0 || i < (size_t)top); i++) {
        const lg__gate_site_t *s = &g->sites[i];
        lg__sb_printf(b, "<details class=\"site\"><summary>%s in %lld %s, %zu %s: <code>",
                      SIZE(s->size), (long long)s->count, BLOCKS(s->count), s->tests,
                      lg__plural((int64_t)s->tests, "test", "tests"));
        lg__sb_xml_line(b, s->signature);
        lg__sb_puts(b, "</code></summary>\n");
        html_frames(b, s->traceback);
        lg__sb_puts(b, "</details>\n");
    }
    lg__sb_puts(b, html_script);
    lg__sb_puts(b, "</body>\n</html>\n");
}

char *lg_gate_render(const lg_gate_t *g, lg_gate_format_t format)
{
    lg__sb_t b = {0};
    switch (format) {
    case LG_GATE_TEXT:
        render_text(&b, g);
        break;
    case LG_GATE_MARKDOWN:
        render_markdown(&b, g);
        break;
    case LG_GATE_JUNIT:
        render_junit(&b, g);
        break;
    case LG_GATE_HTML:
        render_html(&b, g);
        break;
    }
    return lg__sb_finish(&b);
}
