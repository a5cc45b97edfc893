/*
 * annotate.c — the gate's failures where a CI system shows them beside the
 * code: GitHub workflow commands (one `::error` line per new or grown
 * leak) and a GitLab Code Quality report (a JSON array, one issue per new
 * or grown leak).  Entry point: lg_gate_annotations().
 *
 * Each leak is placed on the first frame of its traceback whose file is in
 * the repository (it exists under `root`, the checkout), so that the pull
 * or merge request shows it on the line that allocated; a leak with no
 * such frame is still listed, without a line (GitHub) or on the baseline
 * file, by its path in the repository (GitLab needs a path).  Text from
 * reports is escaped for each format: workflow-command data and
 * properties, JSON strings.
 *
 *   ::error file=src/buf.c,line=41,title=leakgate%3A new leak::t::a leaked 64 B in 1 block%0A...
 *
 *   [{"description": "...", "check_name": "leakgate-new-leak",
 *     "fingerprint": "9f1c...", "severity": "major",
 *     "location": {"path": "src/buf.c", "lines": {"begin": 41}}}]
 */
#include "lg_gate_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* GitHub shows 10 error annotations of a step (50 of a job) and drops the
 * rest without a word: past that, one warning says how many there are. */
#define GITHUB_SHOWN 10

static const char *str_of(const lg__json_t *f, const char *key)
{
    const lg__json_t *v = lg__json_get(f, key);
    return v && v->type == LG__JSON_STRING && *v->string ? v->string : NULL;
}

/* Whether the existing file `path` is under `root` (a real path); its path
 * relative to root into rel. */
static bool under_root(const char *path, const char *root, char *rel, size_t len)
{
    char real[PATH_MAX];
    size_t rlen = strlen(root);
    if (!realpath(path, real) || strncmp(real, root, rlen) != 0 || real[rlen] != '/')
        return false;
    snprintf(rel, len, "%s", real + rlen + 1);
    return true;
}

/* The first frame of tb whose file is under `root` (a frame's relative
 * path is relative to root): its path relative to root into rel, its line
 * into *line (0: none).  False when none is. */
static bool repo_frame(const lg__json_t *tb, const char *root, char *rel, size_t len,
                       int64_t *line)
{
    for (size_t i = 0; tb && i < tb->n; i++) {
        const char *file = str_of(tb->items[i], "file");
        char joined[PATH_MAX * 2];
        if (!file)
            continue;
        if (file[0] == '/')
            snprintf(joined, sizeof joined, "%s", file);
        else
            snprintf(joined, sizeof joined, "%s/%s", root, file);
        if (!under_root(joined, root, rel, len))
            continue;
        const lg__json_t *l = lg__json_get(tb->items[i], "line");
        *line = l && l->type == LG__JSON_NUMBER && l->is_int && l->integer > 0 ? l->integer : 0;
        return true;
    }
    return false;
}

/* "kvconf::report_header leaked 5 B in 1 block (new: not in the
 * baseline)" and the frames, one per line. */
static void describe(lg__sb_t *b, const lg__gate_leak_t *l, bool frames)
{
    lg__sb_text(b, l->test);
    lg__sb_printf(b, " leaked %s in %lld block%s", lg__size_text((double)l->size, false).s,
                  (long long)l->count, lg__plural(l->count, "", "s"));
    if (l->kind >= 0)
        lg__sb_printf(b, " (%s)", lg__kind_words(l->kind));
    lg__sb_puts(b, " at ");
    lg__sb_text(b, l->signature);
    if (l->status == LG_GATE_GROWN) {
        lg__sb_printf(b, " (grown: %s in the baseline, %s)",
                      lg__size_text((double)l->base_size, false).s,
                      lg__size_text((double)(l->size - l->base_size), true).s);
    } else {
        lg__sb_puts(b, " (new: not in the baseline)");
    }
    if (!frames || !l->traceback)
        return;
    char *text = lg__gate_render_frames(l->traceback, "  ");
    if (!text) {
        b->oom = true;
        return;
    }
    /* The frames end in a newline; a message does not. */
    size_t n = strlen(text);
    lg__sb_puts(b, "\n");
    lg__sb_putn(b, text, n && text[n - 1] == '\n' ? n - 1 : n);
    lg_string_free(text);
}

/* Workflow-command escaping: data escapes %, CR and LF; a property value
 * also ':' and ','. */
static void put_github(lg__sb_t *b, const char *s, bool property)
{
    for (; *s; s++) {
        if (*s == '%')
            lg__sb_puts(b, "%25");
        else if (*s == '\r')
            lg__sb_puts(b, "%0D");
        else if (*s == '\n')
            lg__sb_puts(b, "%0A");
        else if (property && *s == ':')
            lg__sb_puts(b, "%3A");
        else if (property && *s == ',')
            lg__sb_puts(b, "%2C");
        else
            lg__sb_putn(b, s, 1);
    }
}

static void github_line(lg__sb_t *b, const lg__gate_leak_t *l, const char *root)
{
    char rel[PATH_MAX], title[96];
    int64_t line = 0;
    lg__sb_puts(b, "::error ");
    if (repo_frame(l->traceback, root, rel, sizeof rel, &line)) {
        lg__sb_puts(b, "file=");
        put_github(b, rel, true);
        if (line)
            lg__sb_printf(b, ",line=%lld", (long long)line);
        lg__sb_puts(b, ",");
    }
    snprintf(title, sizeof title, "leakgate: %s leak",
             l->status == LG_GATE_GROWN ? "grown" : "new");
    lg__sb_puts(b, "title=");
    put_github(b, title, true);
    lg__sb_puts(b, "::");
    lg__sb_t msg = {0};
    describe(&msg, l, true);
    char *text = lg__sb_finish(&msg);
    if (text)
        put_github(b, text, false);
    else
        b->oom = true;
    lg__xfree(text);
    lg__sb_puts(b, "\n");
}

/* A Code Quality fingerprint: FNV-1a of test, signature and kind (if
 * any), so one leak keeps its fingerprint from pipeline to pipeline. */
static void fingerprint(char *out, size_t len, const lg__gate_leak_t *l)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[3] = {l->test, l->signature, l->kind >= 0 ? lg_kind_name(l->kind) : NULL};
    for (int part = 0; part < 3 && parts[part]; part++) {
        for (const unsigned char *p = (const unsigned char *)parts[part]; *p; p++)
            h = (h ^ *p) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    snprintf(out, len, "%016llx", (unsigned long long)h);
}

static void gitlab_issue(lg__sb_t *b, const lg__gate_leak_t *l, const char *root,
                         const char *fallback)
{
    char rel[PATH_MAX], fp[32];
    int64_t line = 0;
    if (!repo_frame(l->traceback, root, rel, sizeof rel, &line)) {
        snprintf(rel, sizeof rel, "%s", fallback);
        line = 1;
    }
    lg__sb_t msg = {0};
    describe(&msg, l, false);
    char *text = lg__sb_finish(&msg);
    if (!text) {
        b->oom = true;
        return;
    }
    fingerprint(fp, sizeof fp, l);
    lg__sb_puts(b, "{\"description\": ");
    lg__sb_json_str(b, text);
    lg__sb_printf(b,
                  ", \"check_name\": \"leakgate-%s-leak\", \"fingerprint\": \"%s\", "
                  "\"severity\": \"major\", \"location\": {\"path\": ",
                  l->status == LG_GATE_GROWN ? "grown" : "new", fp);
    lg__sb_json_str(b, rel);
    lg__sb_printf(b, ", \"lines\": {\"begin\": %lld}}}", (long long)(line ? line : 1));
    lg__xfree(text);
}

char *lg_gate_annotations(const lg_gate_t *g, lg_gate_annotations_t kind, const char *root)
{
    char real_root[PATH_MAX];
    if (!realpath(root && *root ? root : ".", real_root))
        snprintf(real_root, sizeof real_root, "%s", root && *root ? root : ".");
    /* GitLab needs a path in the repository for a leak with no frame
     * there: the baseline's, else the default baseline's name. */
    const char *baseline = g->opts.baseline ? g->opts.baseline : g->opts.absent;
    char fallback[PATH_MAX] = "leakgate-baseline.json";
    if (baseline && !under_root(baseline, real_root, fallback, sizeof fallback))
        snprintf(fallback, sizeof fallback, "leakgate-baseline.json");
    lg__sb_t b = {0};
    size_t n = 0;
    if (kind == LG_ANNOTATE_GITLAB)
        lg__sb_puts(&b, "[");
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status > LG_GATE_GROWN)
            continue;
        if (kind == LG_ANNOTATE_GITHUB) {
            github_line(&b, l, real_root);
        } else {
            lg__sb_puts(&b, n ? ",\n" : "\n");
            gitlab_issue(&b, l, real_root, fallback);
        }
        n++;
    }
    if (kind == LG_ANNOTATE_GITLAB)
        lg__sb_puts(&b, n ? "\n]\n" : "]\n");
    else if (n > GITHUB_SHOWN)
        lg__sb_printf(&b,
                      "::warning title=leakgate%%3A %zu leaks::%zu new or grown leaks: GitHub shows "
                      "%d error annotations per step; the log and the job summary list them "
                      "all\n",
                      n, n, GITHUB_SHOWN);
    if (!n && kind == LG_ANNOTATE_GITHUB)
        return lg__xstrdup(""); /* nothing to say */
    return lg__sb_finish(&b);
}
