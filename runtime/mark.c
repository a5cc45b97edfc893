/*
 * mark.c — per-test deltas in time proportional to the test's own work.
 *
 * While a mark is active, every traced allocation adds its (domain, address)
 * to `born`, and every free either takes the address out of `born` (a block
 * born and freed since the mark: nothing to report) or, for an older block,
 * adds its size to `died` under its (domain, traceback).  The diff then
 * looks up each address still in `born` (its size and traceback are in the
 * trace table) and subtracts `died`:
 *
 *   born: {(dom, addr)}          --lookup-->  +size at (dom, tb)
 *   died: {(dom, tb) -> size, n}              -size at (dom, tb)
 *
 * Nothing here walks the trace table, so a diff with a million live blocks
 * and a hundred new ones costs a hundred lookups.  All state is protected
 * by mark.lock; lg__mark_active is read without it as a fast "is there any
 * mark" check, and re-checked under it.
 */
#include "lg_internal.h"
#include "lg_util.h"

#include <pthread.h>
#include <string.h>

/* The mark's two logs are lg__map_t tables (lg_util.h), tracer memory:
 *   born  key (LG_KEY(addr), domain)           no value
 *   died  key ((domain << 32 | tb) + 1, 0)     value: size, count */
struct died {
    uint64_t key, zero; /* the map's key */
    uint64_t size, count;
};

struct lg_mark {
    uint64_t id;
};

static struct {
    pthread_mutex_t lock;   /* LG_LOCK_MARK: above the table's shard locks */
    uint64_t active;        /* id of the active mark, 0 = none; protected by lock */
    uint64_t next_id;       /* protected by lock */
    lg__map_t born;         /* protected by lock */
    lg__map_t died;         /* protected by lock */
    uint64_t lost_at_begin; /* protected by lock */
    uint64_t dropped;       /* events not logged for lack of memory; protected by lock */
} mk = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .born = LG_MAP_INIT(16, true),
    .died = LG_MAP_INIT(sizeof(struct died), true),
};

volatile int lg__mark_active;

static inline uint64_t group_key(uint32_t domain, uint32_t tb)
{
    return ((uint64_t)domain << 32 | tb) + 1;
}

void lg__mark_on_alloc(uint32_t domain, uintptr_t ptr)
{
    lg__lock(&mk.lock, LG_LOCK_MARK);
    bool added;
    if (mk.active && !lg__map_put(&mk.born, LG_KEY(ptr), domain, &added))
        mk.dropped++;
    lg__unlock(&mk.lock, LG_LOCK_MARK);
}

void lg__mark_on_free(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    lg__lock(&mk.lock, LG_LOCK_MARK);
    if (!mk.active)
        goto out;
    void *b = lg__map_find(&mk.born, LG_KEY(ptr), domain);
    if (b) { /* born and freed since the mark: nothing to report */
        lg__map_remove(&mk.born, b);
        goto out;
    }
    bool added;
    struct died *d = lg__map_put(&mk.died, group_key(domain, tb), 0, &added);
    if (!d) {
        mk.dropped++;
        goto out;
    }
    d->size += size;
    d->count++;
out:
    lg__unlock(&mk.lock, LG_LOCK_MARK);
}

static void clear_locked(void)
{
    lg__map_clear(&mk.born);
    lg__map_clear(&mk.died);
    mk.dropped = 0;
    mk.active = 0;
    lg__mark_active = 0;
}

int lg_mark_begin(lg_mark_t **out)
{
    *out = NULL;
    if (!lg__tracing())
        return LG_ENOTTRACING;
    lg_mark_t *m = lg__xcalloc(1, sizeof *m);
    if (!m)
        return LG_ENOMEM;
    lg__lock(&mk.lock, LG_LOCK_MARK);
    clear_locked();
    m->id = ++mk.next_id;
    mk.active = m->id;
    mk.lost_at_begin = lg_get_lost_traces();
    lg__mark_active = 1;
    lg__unlock(&mk.lock, LG_LOCK_MARK);
    *out = m;
    return 0;
}

void lg_mark_free(lg_mark_t *m)
{
    if (!m)
        return;
    lg__lock(&mk.lock, LG_LOCK_MARK);
    if (mk.active == m->id)
        clear_locked();
    lg__unlock(&mk.lock, LG_LOCK_MARK);
    lg__xfree(m);
}

void lg__mark_reset(void)
{
    lg__lock(&mk.lock, LG_LOCK_MARK);
    clear_locked();
    lg__unlock(&mk.lock, LG_LOCK_MARK);
}

void lg__mark_lock(void)
{
    lg__lock(&mk.lock, LG_LOCK_MARK);
}
void lg__mark_unlock(void)
{
    lg__unlock(&mk.lock, LG_LOCK_MARK);
}

/* ---- the diff ------------------------------------------------------------ */

/* A group of the diff: (domain, tb, kind) -> changes, in a private map
 * (report-time memory) keyed as `died` and kind + 1 (kind -1: freed older
 * blocks, or no scan). */
struct group {
    uint64_t key, kind1;
    int64_t size, count;
};

static struct group *group_get(lg__map_t *gs, uint64_t key, int kind)
{
    bool added;
    return lg__map_put(gs, key, (uint64_t)(kind + 1), &added);
}

/* Groups the mark's log, new blocks by their kind in `scan` (if any);
 * mark.lock held. */
static int collect_locked(lg__map_t *gs, const lg_scan_t *scan)
{
    for (size_t i = 0; i < mk.born.cap; i++) {
        const uint64_t *b = lg__map_slot(&mk.born, i);
        if (!b)
            continue;
        size_t size;
        uint32_t tb, domain = (uint32_t)b[1];
        if (lg__table_get(domain, LG_KEY_ADDR(b[0]), &size, &tb) != 0)
            continue; /* cannot happen: frees leave `born` first */
        int kind = scan ? lg_scan_kind(scan, domain, LG_KEY_ADDR(b[0])) : -1;
        struct group *g = group_get(gs, group_key(domain, tb), kind < 0 ? -1 : kind);
        if (!g)
            return LG_ENOMEM;
        g->size += (int64_t)size;
        g->count++;
    }
    for (size_t i = 0; i < mk.died.cap; i++) {
        const struct died *d = lg__map_slot(&mk.died, i);
        if (!d)
            continue;
        struct group *g = group_get(gs, d->key, -1);
        if (!g)
            return LG_ENOMEM;
        g->size -= (int64_t)d->size;
        g->count -= (int64_t)d->count;
    }
    return 0;
}

int lg_mark_diff(const lg_mark_t *m, lg_stats_t **out, uint64_t *lost)
{
    return lg_mark_diff_kinds(m, NULL, out, lost);
}

int lg_mark_diff_kinds(const lg_mark_t *m, const lg_scan_t *scan, lg_stats_t **out, uint64_t *lost)
{
    return lg__mark_diff(m, scan, false, out, lost);
}

/* A row that grew: lg__is_leak_row() of the row this group becomes. */
static bool grew(const struct group *g)
{
    return g->size > 0 || (g->size == 0 && g->count > 0);
}

int lg__mark_diff(const lg_mark_t *m, const lg_scan_t *scan, bool grown_only, lg_stats_t **out,
                  uint64_t *lost)
{
    *out = NULL;
    if (!lg__tracing())
        return LG_ENOTTRACING;
    lg__map_t gs = LG_MAP_INIT(sizeof(struct group), false);
    uint64_t dropped;
    lg__lock(&mk.lock, LG_LOCK_MARK);
    int rc = (!m || mk.active != m->id) ? LG_ESTALE : collect_locked(&gs, scan);
    dropped = mk.dropped + (lg_get_lost_traces() - mk.lost_at_begin);
    lg__unlock(&mk.lock, LG_LOCK_MARK);

    /* Symbolize outside the lock: the program keeps allocating meanwhile. */
    lg_snapshot_t *scratch = rc ? NULL : lg__snapshot_alloc();
    lg_stats_t *st = scratch ? lg__stats_new() : NULL;
    if (!rc && !st)
        rc = LG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < gs.cap; i++) {
        const struct group *g = lg__map_slot(&gs, i);
        if (!g || (g->size == 0 && g->count == 0) || (grown_only && !grew(g)))
            continue;
        uint32_t domain = (uint32_t)((g->key - 1) >> 32), id = (uint32_t)(g->key - 1);
        const lg_traceback_t *tb = lg__snapshot_traceback_of_id(scratch, id);
        if (!tb) {
            rc = LG_ENOMEM;
            break;
        }
        int kind = (int)g->kind1 - 1;
        uint64_t size = (uint64_t)g->size, count = (uint64_t)g->count;
        if (kind < 0) /* a kind's row holds that kind's new blocks, another all */
            lg__tb_live(id, &size, &count);
        rc = lg__stats_add_kind(st, tb, domain, (size_t)size, (size_t)count, g->size, g->count,
                                kind);
    }
    lg__map_clear(&gs);
    lg_snapshot_free(scratch);
    if (rc) {
        lg_stats_free(st);
        return rc;
    }
    lg__stats_sort(st, 1);
    if (lost)
        *lost = dropped;
    *out = st;
    return 0;
}
