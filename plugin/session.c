/*
 * session.c — the test session every adapter drives: begin a test, end it,
 * judge it.
 *
 * A session holds what stays the same for a whole run (filters, default
 * limits, per-test limit rules, the JSON report being built) and the state
 * of the one test that is running:
 *
 *   begin_test(id) -> limits = last rule matching id, else the defaults
 *                     mark = lg_mark_begin()
 *   end_test()     -> rows = lg_mark_diff(mark) (only rows that grew,
 *                     unless every kind counts); when the rows the
 *                     filters keep hold blocks the test left, a scan, and
 *                     the rows split by kind (unless scans are off); then
 *                     the filters; the mark ends
 *                     result = verdict(rows of counted kinds, limits, lost)
 *                     report += result
 *
 * Everything the session allocates comes from the real allocator (lg__x*),
 * so its own bookkeeping never shows up in a test's diff.  A session is
 * used by one thread at a time.
 */
#include "lg_plugin_internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rule {
    char *pattern; /* fnmatch pattern on test ids */
    bool has_size, has_count;
    int64_t max_size, max_count;
};

struct lg_session {
    lg_filterset_t *filters;
    lg_limits_t defaults;
    unsigned kinds; /* the leak kinds verdicts count */
    int scan;       /* LG_SCAN_*: when a test that left blocks is scanned */
    unsigned repeat; /* LEAKGATE_REPEAT: measured runs of each test, 0: off */
    struct rule *rules;
    size_t nrules;
    lg_render_opts_t render;
    lg_json_report_t *report;
    /* the running (or last ended) test */
    char *id;
    lg_limits_t limits;
    lg_mark_t *mark;
    lg_stats_t *leaks;
    lg_result_t result;
    bool ended;
    bool recorded; /* its result is in the report: a test of the same id is another */
    bool has_param; /* the running test is an instance of a parameterized one */
    unsigned param;
    unsigned runs; /* windows of this id measured so far (repeats) */
    /* while a measured test runs again: its last result, for abandon */
    lg_stats_t *kept_leaks;
    lg_result_t kept;
    bool has_kept;
    /* the last test's rows and id, freed once the next test is judged: an
     * adapter's stack still holds pointers to them (its lg_result_t), and
     * memory the next test got back from malloc would look reachable */
    lg_stats_t *retired_leaks;
    char *retired_id;
};

static void free_retired(lg_session_t *s)
{
    lg_stats_free(s->retired_leaks);
    lg__xfree(s->retired_id);
    s->retired_leaks = NULL;
    s->retired_id = NULL;
}

/* Parses "PATTERN [max_size=SIZE] [max_count=N]" (what follows `limit`).
 * `where` names the input in errors. */
static int parse_rule(lg_session_t *s, char *text, const char *where, char *err, size_t errlen)
{
    const char *form = "expected limit PATTERN [max_size=SIZE] [max_count=N]";
    char *save = NULL, *pattern = strtok_r(text, " \t", &save);
    if (!pattern)
        return lg__errf(err, errlen, LG_ESYNTAX, "%s: %s", where, form);
    struct rule r = {0};
    char msg[256];
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        int rc = LG_ESYNTAX;
        if (strncmp(w, "max_size=", 9) == 0) {
            rc = lg_parse_size_setting("max_size", w + 9, &r.max_size, msg, sizeof msg);
            r.has_size = true;
        } else if (strncmp(w, "max_count=", 10) == 0) {
            rc = lg_parse_int_setting("max_count", w + 10, 0, INT64_MAX, &r.max_count, msg,
                                      sizeof msg);
            r.has_count = true;
        } else {
            snprintf(msg, sizeof msg, "unknown word \"%s\" (%s)", w, form);
        }
        if (rc)
            return lg__errf(err, errlen, LG_ESYNTAX, "%s: %s", where, msg);
    }
    if (!r.has_size && !r.has_count)
        return lg__errf(err, errlen, LG_ESYNTAX, "%s: %s", where, form);
    struct rule *nr = lg__xrealloc(s->rules, (s->nrules + 1) * sizeof *nr);
    if (!nr || !(r.pattern = lg__xstrdup(pattern))) {
        if (nr)
            s->rules = nr;
        return LG_ENOMEM;
    }
    s->rules = nr;
    s->rules[s->nrules++] = r;
    return 0;
}

int lg__session_load_text(lg_session_t *s, const char *name, const char *path, const char *text,
                          size_t len, char *err, size_t errlen)
{
    char msg[512], where[512];
    int rc = lg__filterset_load_text(s->filters, path, text, len, msg, sizeof msg);
    if (rc)
        return rc == LG_ENOMEM ? rc : lg__errf(err, errlen, rc, "%s=%s", name, msg);
    size_t pos = 0, n;
    unsigned lineno = 0;
    for (const char *line; rc == 0 && (line = lg__next_line(text, len, &pos, &n));) {
        lineno++;
        size_t lead = strspn(line, " \t");
        if (lead + 5 >= n || strncmp(line + lead, "limit", 5) != 0 ||
            (line[lead + 5] != ' ' && line[lead + 5] != '\t'))
            continue;
        char *copy = lg__xmalloc(n + 1);
        if (!copy)
            return LG_ENOMEM;
        memcpy(copy, line, n);
        copy[n] = '\0';
        copy[strcspn(copy, "#\r")] = '\0';
        snprintf(where, sizeof where, "%s=%s:%u", name, path, lineno);
        rc = parse_rule(s, copy + lead + 5, where, err, errlen);
        lg__xfree(copy);
    }
    return rc;
}

/* Loads a suppressions file, read once: its filter lines into the filter
 * set, its `limit` lines as rules.  `name` (the variable or option) starts
 * every error. */
static int load_suppressions(lg_session_t *s, const char *name, const char *path, char *err,
                             size_t errlen)
{
    char *text, msg[512];
    size_t len;
    int rc = lg__suppressions_read(path, &text, &len, msg, sizeof msg);
    if (rc)
        return rc == LG_ENOMEM ? rc : lg__errf(err, errlen, rc, "%s=%s", name, msg);
    rc = lg__session_load_text(s, name, path, text, len, err, errlen);
    lg__xfree(text);
    return rc;
}

static int load_env_rules(lg_session_t *s, const char *text, char *err, size_t errlen)
{
    char *copy = lg__xstrdup(text), *save = NULL, where[300];
    if (!copy)
        return LG_ENOMEM;
    int rc = 0;
    unsigned n = 1;
    for (char *e = strtok_r(copy, ";", &save); rc == 0 && e; e = strtok_r(NULL, ";", &save)) {
        if (e[strspn(e, " \t")] == '\0')
            continue;
        snprintf(where, sizeof where, "LEAKGATE_LIMITS=%.200s: entry %u", text, n++);
        rc = parse_rule(s, e, where, err, errlen);
    }
    lg__xfree(copy);
    return rc;
}

static int read_settings(lg_session_t *s, char *err, size_t errlen)
{
    const char *v;
    int64_t n;
    int rc;
    if ((rc = lg__load_settings_check(err, errlen)))
        return rc;
    if ((v = getenv("LEAKGATE_MAX_SIZE")) && *v &&
        (rc = lg_parse_size_setting("LEAKGATE_MAX_SIZE", v, &s->defaults.max_size, err, errlen)))
        return rc;
    if ((v = getenv("LEAKGATE_MAX_COUNT")) && *v &&
        (rc = lg_parse_int_setting("LEAKGATE_MAX_COUNT", v, 0, INT64_MAX, &s->defaults.max_count,
                                   err, errlen)))
        return rc;
    if ((v = getenv("LEAKGATE_REPEAT")) && *v) {
        if ((rc = lg_parse_int_setting("LEAKGATE_REPEAT", v, 0, LG_REPEAT_MAX, &n, err, errlen)))
            return rc;
        s->repeat = (unsigned)n;
    }
    /* What a test leaves on every measured run counts whatever its kind. */
    if (s->repeat)
        s->kinds = LG_LEAK_KINDS_ALL;
    if ((v = getenv("LEAKGATE_LEAK_KINDS")) && *v &&
        (rc = lg_parse_leak_kinds("LEAKGATE_LEAK_KINDS", v, &s->kinds, err, errlen)))
        return rc;
    if ((v = getenv("LEAKGATE_TOP")) && *v) {
        if ((rc = lg_parse_int_setting("LEAKGATE_TOP", v, 0, 100000, &n, err, errlen)))
            return rc;
        s->render.top = n == 0 ? -1 : (int)n;
    }
    v = getenv("LEAKGATE_NO_DEFAULT_SUPPRESSIONS");
    if (v && *v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return lg__errf(err, errlen, LG_EINVAL, "LEAKGATE_NO_DEFAULT_SUPPRESSIONS=%s: expected %s",
                        v, "0 or 1");
    if (!(v && strcmp(v, "1") == 0) && (rc = lg_filterset_add_defaults(s->filters)))
        return rc;
    if ((v = getenv("LEAKGATE_SUPPRESSIONS")) && *v) {
        if ((rc = load_suppressions(s, "LEAKGATE_SUPPRESSIONS", v, err, errlen)))
            return rc;
    }
    if ((v = getenv("LEAKGATE_LIMITS")) && *v && (rc = load_env_rules(s, v, err, errlen)))
        return rc;
    return 0;
}

int lg_session_new(lg_session_t **out, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    *out = NULL;
    lg_session_t *s = lg__xcalloc(1, sizeof *s);
    if (!s)
        return LG_ENOMEM;
    s->defaults = (lg_limits_t)LG_LIMITS_INIT;
    s->kinds = LG_LEAK_KINDS_DEFAULT;
    s->scan = LG_SCAN_ALL;
    int rc = lg_filterset_new(&s->filters);
    if (!rc)
        rc = lg_json_report_new(&s->report);
    if (!rc)
        rc = read_settings(s, err, errlen);
    s->limits = s->defaults; /* until a test begins */
    if (rc) {
        lg_session_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void drop_kept(lg_session_t *s)
{
    lg_stats_free(s->kept_leaks);
    s->kept_leaks = NULL;
    s->has_kept = false;
}

static void end_state(lg_session_t *s)
{
    drop_kept(s);
    lg_mark_free(s->mark);
    free_retired(s);
    s->retired_leaks = s->leaks;
    s->retired_id = s->id;
    s->mark = NULL;
    s->leaks = NULL;
    s->id = NULL;
    s->ended = false;
}

void lg_session_free(lg_session_t *s)
{
    if (!s)
        return;
    end_state(s);
    free_retired(s);
    for (size_t i = 0; i < s->nrules; i++)
        lg__xfree(s->rules[i].pattern);
    lg__xfree(s->rules);
    lg_filterset_free(s->filters);
    lg_json_report_free(s->report);
    lg__xfree(s);
}

int lg_session_begin_test(lg_session_t *s, const char *id)
{
    id = id ? id : "";
    if (s->ended && !s->recorded && strcmp(s->id, id) == 0) { /* measured, runs again */
        drop_kept(s);
        s->kept = s->result;
        s->kept_leaks = s->leaks;
        s->has_kept = true;
        s->leaks = NULL;
        lg_mark_free(s->mark);
        s->mark = NULL;
        s->ended = false;
    } else {
        end_state(s);
        s->runs = 0;
        if (!(s->id = lg__xstrdup(id)))
            return LG_ENOMEM;
    }
    s->recorded = false;
    s->limits = lg_session_limits_for(s, s->id);
    s->has_param = false;
    int rc = lg_is_tracing() ? 0 : lg_start(0);
    return rc ? rc : lg_mark_begin(&s->mark);
}

lg_limits_t lg_session_limits_for(const lg_session_t *s, const char *id)
{
    lg_limits_t l = s->defaults;
    for (size_t i = 0; i < s->nrules; i++) {
        const struct rule *r = &s->rules[i];
        if (fnmatch(r->pattern, id, 0) != 0)
            continue;
        if (r->has_size)
            l.max_size = r->max_size;
        if (r->has_count)
            l.max_count = r->max_count;
    }
    return l;
}

void lg_session_set_limits(lg_session_t *s, const lg_limits_t *limits)
{
    s->limits = *limits;
}

void lg_session_set_param(lg_session_t *s, unsigned param)
{
    s->has_param = true;
    s->param = param;
}

lg_limits_t lg_session_limits(const lg_session_t *s)
{
    return s->limits;
}

void lg_session_set_leak_kinds(lg_session_t *s, unsigned kinds)
{
    if (kinds & LG_LEAK_KINDS_ALL)
        s->kinds = kinds & LG_LEAK_KINDS_ALL;
}

void lg_session_set_scan(lg_session_t *s, int mode)
{
    s->scan = mode;
}

static bool has_native(const lg_traceback_t *tb)
{
    for (uint32_t i = 0; i < tb->nframes; i++)
        if (tb->frames[i]->kind == LG_FRAME_NATIVE)
            return true;
    return false;
}

/* Whether `st` has a row of blocks the test left that calls for a scan
 * under s->scan (LG_SCAN_NATIVE: only a row with native frames does). */
static bool left_blocks(const lg_session_t *s, const lg_stats_t *st)
{
    for (size_t i = 0; i < lg_stats_count(st); i++) {
        const lg_stat_t *row = lg_stats_get(st, i);
        if (lg__is_leak_row(row) && (s->scan == LG_SCAN_ALL || has_native(&row->traceback)))
            return true;
    }
    return false;
}

/* Whether the rows the filters keep hold blocks the test left that call
 * for a scan.  Rows they drop (Criterion's messages still in flight at the
 * verdict, the C library's kept state) never cost a scan, nor decide
 * whether the test's other rows are split by kind. */
static bool wants_scan(const lg_session_t *s, const lg_stats_t *raw)
{
    if (s->scan == LG_SCAN_OFF)
        return false;
    lg_stats_t *kept;
    if (lg_stats_filter(raw, s->filters, &kept) != 0)
        return left_blocks(s, raw);
    bool left = left_blocks(s, kept);
    lg_stats_free(kept);
    return left;
}

/* LG_SCAN_NATIVE: the rows of `split` that have native frames, and those
 * of `raw` that have none (no kind). */
static int native_rows_split(const lg_stats_t *raw, const lg_stats_t *split, lg_stats_t **out)
{
    lg_stats_t *st = lg__stats_new();
    int rc = st ? 0 : LG_ENOMEM;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const lg_stats_t *from = pass ? split : raw;
        for (size_t i = 0; rc == 0 && i < lg_stats_count(from); i++) {
            const lg_stat_t *r = lg_stats_get(from, i);
            if (has_native(&r->traceback) == (pass == 1))
                rc = lg__stats_add_kind(st, &r->traceback, r->domain, r->size, r->count,
                                        r->size_diff, r->count_diff, r->kind);
        }
    }
    if (rc) {
        lg_stats_free(st);
        return rc;
    }
    lg__stats_sort(st, 1);
    *out = st;
    return 0;
}

int lg_session_measure(lg_session_t *s, lg_result_t *out)
{
    if (!s->mark || s->ended)
        return LG_ESTALE;
    lg_stats_t *raw;
    uint64_t lost = 0;
    /* Unless every kind counts, only rows that grew are counted or shown:
     * the others are not even symbolized (a passing test resolves none). */
    bool grown_only = (s->kinds & LG_LEAK_KINDS_ALL) != LG_LEAK_KINDS_ALL;
    int rc = lg__mark_diff(s->mark, NULL, grown_only, &raw, &lost);
    if (rc)
        return rc;
    /* Kinds cost a scan of the heap: only for a test that left blocks. */
    if (wants_scan(s, raw)) {
        lg_scan_t *scan;
        if (lg_scan_take(&scan) == 0) {
            lg_stats_t *split, *native;
            if ((rc = lg__mark_diff(s->mark, scan, grown_only, &split, &lost)) == 0) {
                if (s->scan == LG_SCAN_NATIVE && native_rows_split(raw, split, &native) == 0) {
                    lg_stats_free(split);
                    split = native;
                }
                lg_stats_free(raw);
                raw = split;
            }
            lg_scan_free(scan);
        }
    }
    free_retired(s);
    rc = lg_stats_filter(raw, s->filters, &s->leaks);
    lg_stats_free(raw);
    if (rc)
        return rc;
    lg_result_init_kinds(&s->result, s->id, s->leaks, &s->limits, lost, s->kinds);
    s->result.has_param = s->has_param;
    s->result.param = s->param;
    s->runs++;
    s->result.runs = s->repeat ? s->runs : 0;
    s->ended = true;
    /* The window is closed: frees from here on (a worker's exit, the
     * runner's next test) are no longer logged against it. */
    lg_mark_free(s->mark);
    s->mark = NULL;
    *out = s->result;
    return 0;
}

void lg_session_abandon(lg_session_t *s)
{
    lg_mark_free(s->mark);
    s->mark = NULL;
    if (s->ended || !s->has_kept)
        return;
    lg_stats_free(s->leaks);
    s->leaks = s->kept_leaks;
    s->result = s->kept;
    s->kept_leaks = NULL;
    s->has_kept = false;
    s->ended = true;
}

int lg_session_record(lg_session_t *s)
{
    if (!s->ended)
        return LG_ESTALE;
    s->recorded = true;
    return lg_json_report_add(s->report, &s->result, &s->render);
}

int lg_session_end_test(lg_session_t *s, lg_result_t *out)
{
    int rc = lg_session_measure(s, out);
    return rc ? rc : lg_session_record(s);
}

int lg_session_not_checked(lg_session_t *s, const char *id, const char *why)
{
    lg_result_t r;
    lg_result_init(&r, id ? id : "", NULL, &s->defaults, 0);
    r.outcome = LG_OUTCOME_SKIPPED;
    r.note = why;
    return lg_json_report_add(s->report, &r, &s->render);
}

int lg_session_skip_test(lg_session_t *s, const char *id)
{
    return lg_session_not_checked(s, id, NULL);
}

unsigned lg_session_repeat(const lg_session_t *s)
{
    return s->repeat;
}

void lg_session_set_repeat(lg_session_t *s, unsigned n)
{
    s->repeat = n;
}

void lg_session_set_defaults(lg_session_t *s, const lg_limits_t *limits)
{
    s->defaults = *limits;
}

void lg_session_set_top(lg_session_t *s, int top)
{
    s->render.top = top;
}

int lg_session_add_suppressions(lg_session_t *s, const char *name, const char *spec, char *err,
                                size_t errlen)
{
    char msg[512];
    int rc;
    if (access(spec, F_OK) == 0)
        return load_suppressions(s, name, spec, err, errlen);
    if (strncmp(spec, "limit", 5) == 0 && (spec[5] == ' ' || spec[5] == '\t')) {
        char *copy = lg__xstrdup(spec + 6);
        if (!copy)
            return LG_ENOMEM;
        rc = parse_rule(s, copy, name, err, errlen);
        lg__xfree(copy);
        return rc;
    }
    if ((rc = lg_filterset_parse_line(s->filters, spec, msg, sizeof msg)))
        return rc == LG_ENOMEM ? rc
                               : lg__errf(err, errlen, rc, "%s=%s: %s (or the path of a file)",
                                          name, spec, msg);
    return 0;
}

char *lg_session_failure_text(const lg_session_t *s)
{
    return s->ended ? lg_render_failure(&s->result, &s->render) : NULL;
}

void lg_session_stop_frames_at(lg_session_t *s, const char *pattern)
{
    s->render.stop_module = pattern;
}

void lg_session_stop_python_frames_at(lg_session_t *s, const char *pattern)
{
    s->render.stop_file = pattern;
}

lg_json_report_t *lg_session_report(lg_session_t *s)
{
    return s->report;
}
