/*
 * stats.c — Snapshot.statistics() and Snapshot.compare_to(), and the
 * lg_stats_t rows they (and lg_mark_diff) return.
 *
 * Rows own deep copies of their key tracebacks, kept in a private snapshot
 * used only as storage (its builder shares equal frames), so that rows
 * outlive the snapshots they were computed from:
 *
 *   lg_stats_t --> rows[i].traceback --> frames --> strings
 *              \-> store (lg_snapshot_t: arena + dedup maps) owns them all
 *
 * Grouping follows tracemalloc's Snapshot._group_by():
 *   LG_KEY_FILENAME   one frame: the file only (line 0); unknown file is
 *                     "<unknown>" as in tracemalloc
 *   LG_KEY_LINENO     one frame: the most recent; grouped by (file, line),
 *                     the first frame seen keeps its function for display
 *   LG_KEY_TRACEBACK  the whole traceback, grouped by equal frames
 * Two frames are "the same place" when they have the same file and line.
 * A frame without a file (no debug information) is told apart by its
 * function and module offset instead, so that unsymbolized code is not all
 * lumped into "<unknown>:0"; addresses count only when there is no module,
 * so that snapshots of different processes (ASLR) still compare.
 *
 * Sorting follows Statistic._sort_key / StatisticDiff._sort_key in reverse,
 * with tracebacks ordered like tracemalloc's Traceback: a tuple of
 * (filename, lineno) frames, oldest frame first.
 */
#include "lg_internal.h"
#include "lg_util.h"

#include <stdlib.h>
#include <string.h>

struct lg_stats {
    lg_stat_t *rows; /* lg__xmalloc'd */
    size_t n, cap;
    lg_snapshot_t *store; /* owns the rows' tracebacks */
};

/* ---- rows ---------------------------------------------------------------- */

lg_stats_t *lg__stats_new(void)
{
    lg_stats_t *st = lg__xcalloc(1, sizeof *st);
    if (st && !(st->store = lg__snapshot_alloc())) {
        lg__xfree(st);
        st = NULL;
    }
    return st;
}

void lg_stats_free(lg_stats_t *st)
{
    if (!st)
        return;
    lg_snapshot_free(st->store);
    lg__xfree(st->rows);
    lg__xfree(st);
}

int lg__stats_add(lg_stats_t *st, const lg_traceback_t *key, uint32_t domain, size_t size,
                  size_t count, int64_t size_diff, int64_t count_diff)
{
    return lg__stats_add_kind(st, key, domain, size, count, size_diff, count_diff, -1);
}

int lg__stats_add_kind(lg_stats_t *st, const lg_traceback_t *key, uint32_t domain, size_t size,
                       size_t count, int64_t size_diff, int64_t count_diff, int kind)
{
    lg_stat_t *nr = lg__vec_reserve(st->rows, &st->cap, st->n, sizeof *nr, 64);
    if (!nr)
        return LG_ENOMEM;
    st->rows = nr;
    const lg_traceback_t *tb = lg__snapshot_copy_traceback(st->store, key);
    if (!tb)
        return LG_ENOMEM;
    st->rows[st->n++] = (lg_stat_t){*tb, domain, size, count, size_diff, count_diff, kind};
    return 0;
}

size_t lg_stats_count(const lg_stats_t *st)
{
    return st ? st->n : 0;
}

const lg_stat_t *lg_stats_get(const lg_stats_t *st, size_t i)
{
    return st && i < st->n ? &st->rows[i] : NULL;
}

void lg_stats_totals(const lg_stats_t *st, int64_t *size_diff, int64_t *count_diff)
{
    int64_t s = 0, c = 0;
    for (size_t i = 0; st && i < st->n; i++) {
        s += st->rows[i].size_diff;
        c += st->rows[i].count_diff;
    }
    if (size_diff)
        *size_diff = s;
    if (count_diff)
        *count_diff = c;
}

int lg_stats_filter(const lg_stats_t *st, const lg_filterset_t *set, lg_stats_t **out)
{
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (!st)
        return LG_EINVAL;
    lg_stats_t *ns = lg__stats_new();
    if (!ns)
        return LG_ENOMEM;
    for (size_t i = 0; i < st->n; i++) {
        const lg_stat_t *r = &st->rows[i];
        if (lg_filterset_match(set, r->domain, &r->traceback) &&
            lg__stats_add_kind(ns, &r->traceback, r->domain, r->size, r->count, r->size_diff,
                               r->count_diff, r->kind)) {
            lg_stats_free(ns);
            return LG_ENOMEM;
        }
    }
    *out = ns;
    return 0;
}

/* ---- ordering ------------------------------------------------------------ */

static const char *file_of(const lg_frame_t *f)
{
    return f->file ? f->file : "<unknown>";
}

static int cmp_str(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

/* Frame order: (filename, lineno) as tracemalloc's Frame; frames without a
 * file, which are not all the same place, are then ordered by what tells
 * them apart.  Returns 0 exactly for the same place. */
static int frame_cmp(const lg_frame_t *a, const lg_frame_t *b)
{
    int c = strcmp(file_of(a), file_of(b));
    if (c || (c = cmp_u64(a->line, b->line)))
        return c;
    if (a->file || b->file)
        return (a->file != NULL) - (b->file != NULL);
    if ((c = a->kind - b->kind) || (c = cmp_str(a->function, b->function)) ||
        (c = cmp_str(a->module, b->module)))
        return c;
    return a->module ? cmp_u64(a->offset, b->offset) : cmp_u64(a->addr, b->addr);
}

int lg__traceback_cmp(const lg_traceback_t *a, const lg_traceback_t *b)
{
    uint32_t n = a->nframes < b->nframes ? a->nframes : b->nframes;
    for (uint32_t i = 1; i <= n; i++) {
        int c = frame_cmp(a->frames[a->nframes - i], b->frames[b->nframes - i]);
        if (c)
            return c;
    }
    return cmp_u64(a->nframes, b->nframes);
}

static uint64_t mag(int64_t v)
{
    return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

/* Ascending comparators; rows are sorted biggest first by negating them. */
static int stat_cmp(const void *pa, const void *pb)
{
    const lg_stat_t *a = pa, *b = pb;
    int c;
    if ((c = cmp_u64(a->size, b->size)) || (c = cmp_u64(a->count, b->count)) ||
        (c = lg__traceback_cmp(&a->traceback, &b->traceback)))
        return -c;
    /* One traceback's rows of several kinds: worst kind first. */
    return (c = cmp_u64(a->domain, b->domain)) ? c : (a->kind > b->kind) - (a->kind < b->kind);
}

static int diff_cmp(const void *pa, const void *pb)
{
    const lg_stat_t *a = pa, *b = pb;
    int c;
    if ((c = cmp_u64(mag(a->size_diff), mag(b->size_diff))) || (c = cmp_u64(a->size, b->size)) ||
        (c = cmp_u64(mag(a->count_diff), mag(b->count_diff))) ||
        (c = cmp_u64(a->count, b->count)) || (c = lg__traceback_cmp(&a->traceback, &b->traceback)))
        return -c;
    /* One traceback's rows of several kinds: worst kind first. */
    return (c = cmp_u64(a->domain, b->domain)) ? c : (a->kind > b->kind) - (a->kind < b->kind);
}

void lg__stats_sort(lg_stats_t *st, int diff_order)
{
    if (st->n > 1)
        qsort(st->rows, st->n, sizeof *st->rows, diff_order ? diff_cmp : stat_cmp);
}

/* ---- grouping ------------------------------------------------------------ */

/* A group's key is borrowed from the snapshot being grouped: a whole
 * traceback (LG_KEY_TRACEBACK) or one key frame built from a trace's frame. */
struct group {
    uint64_t hash;
    const lg_traceback_t *tb; /* LG_KEY_TRACEBACK */
    lg_frame_t frame;         /* LG_KEY_FILENAME, LG_KEY_LINENO */
    size_t size, count;
    bool matched; /* compare: found in the other grouping */
};

struct grouping {
    lg_key_type_t key;
    struct group *g;
    size_t n, cap;
    size_t *slots; /* open addressing: group index + 1, 0 = empty */
    size_t nslots;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2))) * 0xff51afd7ed558ccdull;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = mix(h, (unsigned char)*s);
    return mix(h, s ? 1 : 2);
}

/* Hashes what frame_cmp compares, so that equal places hash alike. */
static uint64_t frame_hash(uint64_t h, const lg_frame_t *f)
{
    h = mix(hash_str(h, file_of(f)), f->line);
    if (f->file)
        return h;
    h = hash_str(hash_str(mix(h, (uint64_t)f->kind), f->function), f->module);
    return mix(h, f->module ? f->offset : f->addr);
}

static uint64_t group_hash(lg_key_type_t key, const struct group *g)
{
    if (key != LG_KEY_TRACEBACK)
        return frame_hash(0, &g->frame);
    uint64_t h = g->tb->nframes;
    for (uint32_t i = 0; i < g->tb->nframes; i++)
        h = frame_hash(h, g->tb->frames[i]);
    return h;
}

static bool group_eq(lg_key_type_t key, const struct group *a, const struct group *b)
{
    if (a->hash != b->hash)
        return false;
    if (key != LG_KEY_TRACEBACK)
        return frame_cmp(&a->frame, &b->frame) == 0;
    return a->tb == b->tb || lg__traceback_cmp(a->tb, b->tb) == 0;
}

/* The key frame of `f` (see the header comment). */
static lg_frame_t key_frame(lg_key_type_t key, const lg_frame_t *f)
{
    if (key == LG_KEY_FILENAME)
        return (lg_frame_t){.kind = LG_FRAME_NATIVE, .file = file_of(f)};
    if (!f->file)
        return *f;
    return (lg_frame_t){.kind = f->kind, .file = f->file, .line = f->line, .function = f->function};
}

/* Returns the slot where `g` is or would go. */
static size_t slot_of(const struct grouping *gr, const struct group *g)
{
    size_t mask = gr->nslots - 1, i = (size_t)g->hash & mask;
    while (gr->slots[i] && !group_eq(gr->key, &gr->g[gr->slots[i] - 1], g))
        i = (i + 1) & mask;
    return i;
}

static struct group *grouping_find(const struct grouping *gr, const struct group *g)
{
    if (!gr->nslots)
        return NULL;
    size_t i = slot_of(gr, g);
    return gr->slots[i] ? &gr->g[gr->slots[i] - 1] : NULL;
}

/* Adds one block of `size` bytes to the group of key `k` (hash computed);
 * *index (if not NULL) receives the group's index + 1. */
static int grouping_add(struct grouping *gr, struct group *k, size_t size, size_t *index)
{
    if ((gr->n + 1) * 2 > gr->nslots) {
        size_t ns = gr->nslots ? gr->nslots * 2 : 64;
        size_t *nslots = lg__xcalloc(ns, sizeof *nslots);
        if (!nslots)
            return LG_ENOMEM;
        for (size_t i = 0; i < gr->n; i++) {
            size_t j = (size_t)gr->g[i].hash & (ns - 1);
            while (nslots[j])
                j = (j + 1) & (ns - 1);
            nslots[j] = i + 1;
        }
        lg__xfree(gr->slots);
        gr->slots = nslots;
        gr->nslots = ns;
    }
    size_t i = slot_of(gr, k);
    if (!gr->slots[i]) {
        struct group *ng = lg__vec_reserve(gr->g, &gr->cap, gr->n, sizeof *ng, 64);
        if (!ng)
            return LG_ENOMEM;
        gr->g = ng;
        gr->g[gr->n] = *k;
        gr->slots[i] = ++gr->n;
    }
    struct group *g = &gr->g[gr->slots[i] - 1];
    g->size += size;
    g->count++;
    if (index)
        *index = gr->slots[i];
    return 0;
}

static void grouping_free(struct grouping *gr)
{
    lg__xfree(gr->g);
    lg__xfree(gr->slots);
}

/* The grouping of each distinct traceback of a snapshot, by address: a
 * snapshot shares equal tracebacks, so most traces skip hashing frames
 * (tracemalloc's `tracebacks` cache in _group_by).  An lg__map_t keyed by
 * (traceback address, 0). */
struct tb_slot {
    uint64_t tb, zero; /* the map's key */
    size_t group;      /* index + 1; 0: not grouped yet */
};

/* Snapshot._group_by(). */
static int group_by(const lg_snapshot_t *snap, lg_key_type_t key, int cumulative,
                    struct grouping *gr)
{
    *gr = (struct grouping){.key = key};
    lg__map_t cache = LG_MAP_INIT(sizeof(struct tb_slot), false);
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < snap->ntraces; t++) {
        const lg_trace_t *tr = &snap->traces[t];
        const lg_traceback_t *tb = tr->traceback;
        if (!tb || tb->nframes == 0)
            tb = &lg__unknown_traceback;
        if (!cumulative) {
            bool added;
            struct tb_slot *slot = lg__map_put(&cache, (uintptr_t)tb, 0, &added);
            if (!slot) {
                rc = LG_ENOMEM;
            } else if (slot->group) {
                gr->g[slot->group - 1].size += tr->size;
                gr->g[slot->group - 1].count++;
            } else {
                struct group k = {.tb = tb};
                if (key != LG_KEY_TRACEBACK)
                    k.frame = key_frame(key, tb->frames[0]);
                k.hash = group_hash(key, &k);
                rc = grouping_add(gr, &k, tr->size, &slot->group);
            }
            continue;
        }
        /* Cumulative: a block counts once per frame of its traceback, as
         * tracemalloc counts it (recursion counts it again). */
        for (uint32_t i = 0; rc == 0 && i < tb->nframes; i++) {
            struct group k = {.frame = key_frame(key, tb->frames[i])};
            k.hash = group_hash(key, &k);
            rc = grouping_add(gr, &k, tr->size, NULL);
        }
    }
    lg__map_clear(&cache);
    if (rc)
        grouping_free(gr);
    return rc;
}

/* Appends a row for group `g`; the key traceback is built on the stack. */
static int add_row(lg_stats_t *st, lg_key_type_t key, const struct group *g, size_t size,
                   size_t count, int64_t size_diff, int64_t count_diff)
{
    const lg_frame_t *fp = &g->frame;
    lg_traceback_t one = {1, 1, &fp};
    return lg__stats_add(st, key == LG_KEY_TRACEBACK ? g->tb : &one, 0, size, count, size_diff,
                         count_diff);
}

static bool bad_key(lg_key_type_t key, int cumulative)
{
    return (key != LG_KEY_FILENAME && key != LG_KEY_LINENO && key != LG_KEY_TRACEBACK) ||
           (cumulative && key == LG_KEY_TRACEBACK);
}

int lg_snapshot_statistics(const lg_snapshot_t *snap, lg_key_type_t key, int cumulative,
                           lg_stats_t **out)
{
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (!snap || bad_key(key, cumulative))
        return LG_EINVAL;
    struct grouping gr;
    int rc = group_by(snap, key, cumulative, &gr);
    if (rc)
        return rc;
    lg_stats_t *st = lg__stats_new();
    rc = st ? 0 : LG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < gr.n; i++)
        rc = add_row(st, key, &gr.g[i], gr.g[i].size, gr.g[i].count, 0, 0);
    grouping_free(&gr);
    if (rc) {
        lg_stats_free(st);
        return rc;
    }
    lg__stats_sort(st, 0);
    *out = st;
    return 0;
}

int lg_snapshot_compare(const lg_snapshot_t *snap, const lg_snapshot_t *old, lg_key_type_t key,
                        int cumulative, lg_stats_t **out)
{
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (!snap || !old || bad_key(key, cumulative))
        return LG_EINVAL;
    struct grouping gn, go;
    int rc = group_by(snap, key, cumulative, &gn);
    if (rc)
        return rc;
    if ((rc = group_by(old, key, cumulative, &go))) {
        grouping_free(&gn);
        return rc;
    }
    lg_stats_t *st = lg__stats_new();
    rc = st ? 0 : LG_ENOMEM;
    /* _compare_grouped_stats(): new groups with their change, then the
     * groups that are gone, which shrank to nothing. */
    for (size_t i = 0; rc == 0 && i < gn.n; i++) {
        const struct group *g = &gn.g[i];
        struct group *prev = grouping_find(&go, g);
        size_t psize = prev ? prev->size : 0, pcount = prev ? prev->count : 0;
        if (prev)
            prev->matched = true;
        rc = add_row(st, key, g, g->size, g->count, (int64_t)g->size - (int64_t)psize,
                     (int64_t)g->count - (int64_t)pcount);
    }
    for (size_t i = 0; rc == 0 && i < go.n; i++) {
        const struct group *g = &go.g[i];
        if (!g->matched)
            rc = add_row(st, key, g, 0, 0, -(int64_t)g->size, -(int64_t)g->count);
    }
    grouping_free(&gn);
    grouping_free(&go);
    if (rc) {
        lg_stats_free(st);
        return rc;
    }
    lg__stats_sort(st, 1);
    *out = st;
    return 0;
}
