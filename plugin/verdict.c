/*
 * verdict.c — what a test leaves and what that means: the leak rows of a
 * whole process, the outcome of a test's totals against its limits, and
 * the result the renderers read.
 *
 * Entry points: lg_verdict() and lg_result_init() decide an outcome;
 * lg_leaks_from_snapshot() turns a whole-process snapshot into leak rows
 * (per-test rows come from lg_mark_diff()).  A row counts as a leak when
 * it grew (lg__is_leak_row).
 */
#include "lg_plugin_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- verdicts ----------------------------------------------------------- */

const char *lg_outcome_name(lg_outcome_t outcome)
{
    switch (outcome) {
    case LG_OUTCOME_CLEAN:
        return "clean";
    case LG_OUTCOME_LEAKED:
        return "leaked";
    case LG_OUTCOME_INCONCLUSIVE:
        return "inconclusive";
    case LG_OUTCOME_SKIPPED:
        return "skipped";
    case LG_OUTCOME_CRASHED:
        return "crashed";
    }
    return "unknown";
}

static const lg_limits_t default_limits = LG_LIMITS_INIT;

lg_outcome_t lg_verdict(const lg_limits_t *limits, int64_t size_diff, int64_t count_diff,
                        uint64_t lost_traces)
{
    if (!limits)
        limits = &default_limits;
    if (size_diff > limits->max_size || (limits->max_count >= 0 && count_diff > limits->max_count))
        return LG_OUTCOME_LEAKED;
    return lost_traces ? LG_OUTCOME_INCONCLUSIVE : LG_OUTCOME_CLEAN;
}

void lg_result_init(lg_result_t *r, const char *id, const lg_stats_t *leaks,
                    const lg_limits_t *limits, uint64_t lost_traces)
{
    lg_result_init_kinds(r, id, leaks, limits, lost_traces, LG_LEAK_KINDS_ALL);
}

int lg_row_counts(const lg_stat_t *st, unsigned kinds)
{
    if ((kinds & LG_LEAK_KINDS_ALL) == LG_LEAK_KINDS_ALL)
        return 1;
    if (st->kind < 0)
        return lg__is_leak_row(st);
    return st->kind < LG_KINDS && (kinds & LG_KIND_BIT(st->kind));
}

void lg_result_init_kinds(lg_result_t *r, const char *id, const lg_stats_t *leaks,
                          const lg_limits_t *limits, uint64_t lost_traces, unsigned kinds)
{
    *r = (lg_result_t){.id = id, .leaks = leaks, .lost_traces = lost_traces};
    r->limits = limits ? *limits : default_limits;
    r->leak_kinds = kinds;
    for (size_t i = 0, n = leaks ? lg_stats_count(leaks) : 0; i < n; i++) {
        const lg_stat_t *st = lg_stats_get(leaks, i);
        if (lg_row_counts(st, kinds)) {
            r->size_diff += st->size_diff;
            r->count_diff += st->count_diff;
        }
    }
    r->outcome = lg_verdict(&r->limits, r->size_diff, r->count_diff, lost_traces);
}

int lg_parse_leak_kinds(const char *name, const char *text, unsigned *out, char *err,
                        size_t errlen)
{
    unsigned set = 0;
    const char *p = text ? text : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        int k = -1;
        if (n == 3 && strncmp(p, "all", 3) == 0)
            set |= LG_LEAK_KINDS_ALL;
        else
            for (k = 0; k < LG_KINDS; k++)
                if (strlen(lg_kind_name(k)) == n && strncmp(p, lg_kind_name(k), n) == 0)
                    break;
        if (k == LG_KINDS || n == 0)
            return lg__errf(err, errlen, LG_EINVAL, "%s=%s: expected %s", name, text,
                            LG_LEAK_KINDS_FORM);
        if (k >= 0)
            set |= LG_KIND_BIT(k);
        p += n;
        if (*p == ',' && !*++p)
            set = 0; /* a trailing comma */
    }
    if (!set)
        return lg__errf(err, errlen, LG_EINVAL, "%s=%s: expected %s", name, text ? text : "",
                        LG_LEAK_KINDS_FORM);
    *out = set;
    return 0;
}

bool lg__is_leak_row(const lg_stat_t *st)
{
    return st->size_diff > 0 || (st->size_diff == 0 && st->count_diff > 0);
}

/* ---- whole-process leaks ------------------------------------------------ */

static int str_cmp(const char *a, const char *b)
{
    if (a == b)
        return 0;
    if (!a || !b)
        return a ? 1 : -1;
    return strcmp(a, b);
}

static int frame_cmp(const lg_frame_t *a, const lg_frame_t *b)
{
    int c;
    if (a == b)
        return 0;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if ((c = str_cmp(a->file, b->file)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if ((c = str_cmp(a->function, b->function)) != 0)
        return c;
    if ((c = str_cmp(a->module, b->module)) != 0)
        return c;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return 0;
}

/* Orders traces by (domain, traceback, kind) so equal keys are adjacent. */
static int trace_key_cmp(const void *pa, const void *pb)
{
    const lg_trace_t *a = *(const lg_trace_t *const *)pa;
    const lg_trace_t *b = *(const lg_trace_t *const *)pb;
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    const lg_traceback_t *ta = a->traceback, *tb = b->traceback;
    if (ta == tb)
        return (a->kind > b->kind) - (a->kind < b->kind);
    if (ta->nframes != tb->nframes)
        return ta->nframes < tb->nframes ? -1 : 1;
    if (ta->total_nframe != tb->total_nframe)
        return ta->total_nframe < tb->total_nframe ? -1 : 1;
    for (uint32_t i = 0; i < ta->nframes; i++) {
        int c = frame_cmp(ta->frames[i], tb->frames[i]);
        if (c)
            return c;
    }
    return (a->kind > b->kind) - (a->kind < b->kind);
}

int lg_leaks_from_snapshot(const lg_snapshot_t *snap, const lg_filterset_t *filters,
                           lg_stats_t **out)
{
    *out = NULL;
    size_t n = lg_snapshot_count(snap);
    const lg_trace_t **v = lg__xmalloc((n ? n : 1) * sizeof *v);
    lg_stats_t *st = lg__stats_new();
    if (!v || !st) {
        lg__xfree(v);
        lg_stats_free(st);
        return LG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = lg_snapshot_trace(snap, i);
    qsort(v, n, sizeof *v, trace_key_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i, size = 0;
        for (; j < n && trace_key_cmp(&v[i], &v[j]) == 0; j++)
            size += v[j]->size;
        if (!filters || lg_filterset_match(filters, v[i]->domain, v[i]->traceback))
            rc = lg__stats_add_kind(st, v[i]->traceback, v[i]->domain, size, j - i,
                                    (int64_t)size, (int64_t)(j - i), v[i]->kind);
        i = j;
    }
    lg__xfree(v);
    if (rc) {
        lg_stats_free(st);
        return rc;
    }
    lg__stats_sort(st, 1);
    *out = st;
    return 0;
}
