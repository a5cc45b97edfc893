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

#include <pthread.h>
#include <string.h>

struct born {
    uintptr_t key; /* addr + 1; 0 = empty */
    uint32_t domain;
};

struct died {
    uint64_t key; /* (domain << 32 | tb) + 1; 0 = empty */
    uint64_t size, count;
};

struct lg_mark {
    uint64_t id;
};

static struct {
    pthread_mutex_t lock;      /* LG_LOCK_MARK: above the table's shard locks */
    uint64_t active;           /* id of the active mark, 0 = none; protected by lock */
    uint64_t next_id;          /* protected by lock */
    struct born *born;         /* protected by lock */
    size_t born_cap, born_len; /* protected by lock */
    struct died *died;         /* protected by lock */
    size_t died_cap, died_len; /* protected by lock */
    uint64_t lost_at_begin;    /* protected by lock */
    uint64_t dropped;          /* events not logged for lack of memory; protected by lock */
} mk = {.lock = PTHREAD_MUTEX_INITIALIZER};

volatile int lg__mark_active;

static inline size_t hash64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k;
}

static size_t born_find_locked(uintptr_t key, uint32_t domain)
{
    size_t mask = mk.born_cap - 1, i = hash64(key ^ ((uint64_t)domain << 48)) & mask;
    while (mk.born[i].key && !(mk.born[i].key == key && mk.born[i].domain == domain))
        i = (i + 1) & mask;
    return i;
}

static int born_grow_locked(void)
{
    size_t ocap = mk.born_cap, ncap = ocap ? ocap * 2 : 256;
    struct born *old = mk.born, *nb = lg__mem_calloc(ncap, sizeof *nb);
    if (!nb)
        return LG_ENOMEM;
    mk.born = nb;
    mk.born_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            mk.born[born_find_locked(old[i].key, old[i].domain)] = old[i];
    lg__mem_free(old, ocap * sizeof *old);
    return 0;
}

static void born_remove_locked(size_t i)
{
    size_t mask = mk.born_cap - 1;
    for (size_t j = (i + 1) & mask; mk.born[j].key; j = (j + 1) & mask) {
        size_t home = hash64(mk.born[j].key ^ ((uint64_t)mk.born[j].domain << 48)) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            mk.born[i] = mk.born[j];
            i = j;
        }
    }
    mk.born[i].key = 0;
    mk.born_len--;
}

static size_t died_find_locked(uint64_t key)
{
    size_t mask = mk.died_cap - 1, i = hash64(key) & mask;
    while (mk.died[i].key && mk.died[i].key != key)
        i = (i + 1) & mask;
    return i;
}

static int died_grow_locked(void)
{
    size_t ocap = mk.died_cap, ncap = ocap ? ocap * 2 : 64;
    struct died *old = mk.died, *nd = lg__mem_calloc(ncap, sizeof *nd);
    if (!nd)
        return LG_ENOMEM;
    mk.died = nd;
    mk.died_cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            mk.died[died_find_locked(old[i].key)] = old[i];
    lg__mem_free(old, ocap * sizeof *old);
    return 0;
}

void lg__mark_on_alloc(uint32_t domain, uintptr_t ptr)
{
    lg__lock(&mk.lock, LG_LOCK_MARK);
    if (!mk.active)
        goto out;
    if ((mk.born_len + 1) * 4 > mk.born_cap * 3 && born_grow_locked()) {
        mk.dropped++;
        goto out;
    }
    size_t i = born_find_locked(ptr + 1, domain);
    if (!mk.born[i].key) {
        mk.born[i] = (struct born){ptr + 1, domain};
        mk.born_len++;
    }
out:
    lg__unlock(&mk.lock, LG_LOCK_MARK);
}

void lg__mark_on_free(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    lg__lock(&mk.lock, LG_LOCK_MARK);
    if (!mk.active)
        goto out;
    if (mk.born_cap) {
        size_t i = born_find_locked(ptr + 1, domain);
        if (mk.born[i].key) {
            born_remove_locked(i);
            goto out;
        }
    }
    if ((mk.died_len + 1) * 4 > mk.died_cap * 3 && died_grow_locked()) {
        mk.dropped++;
        goto out;
    }
    uint64_t key = ((uint64_t)domain << 32 | tb) + 1;
    size_t j = died_find_locked(key);
    if (!mk.died[j].key) {
        mk.died[j].key = key;
        mk.died_len++;
    }
    mk.died[j].size += size;
    mk.died[j].count++;
out:
    lg__unlock(&mk.lock, LG_LOCK_MARK);
}

static void clear_locked(void)
{
    lg__mem_free(mk.born, mk.born_cap * sizeof *mk.born);
    lg__mem_free(mk.died, mk.died_cap * sizeof *mk.died);
    mk.born = NULL;
    mk.died = NULL;
    mk.born_cap = mk.born_len = mk.died_cap = mk.died_len = 0;
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

/* A group of the diff: (domain, tb) -> changes, in a private table. */
struct group {
    uint64_t key;
    int64_t size, count;
};

struct groups {
    struct group *g;
    size_t cap, len;
};

static struct group *group_get(struct groups *gs, uint32_t domain, uint32_t tb)
{
    if ((gs->len + 1) * 2 > gs->cap) {
        size_t ncap = gs->cap ? gs->cap * 2 : 64;
        struct group *ng = lg__xcalloc(ncap, sizeof *ng);
        if (!ng)
            return NULL;
        for (size_t i = 0; i < gs->cap; i++) {
            if (!gs->g[i].key)
                continue;
            size_t j = hash64(gs->g[i].key) & (ncap - 1);
            while (ng[j].key)
                j = (j + 1) & (ncap - 1);
            ng[j] = gs->g[i];
        }
        lg__xfree(gs->g);
        gs->g = ng;
        gs->cap = ncap;
    }
    uint64_t key = ((uint64_t)domain << 32 | tb) + 1;
    size_t mask = gs->cap - 1, i = hash64(key) & mask;
    while (gs->g[i].key && gs->g[i].key != key)
        i = (i + 1) & mask;
    if (!gs->g[i].key) {
        gs->g[i].key = key;
        gs->len++;
    }
    return &gs->g[i];
}

/* Groups the mark's log; mark.lock held. */
static int collect_locked(struct groups *gs)
{
    for (size_t i = 0; i < mk.born_cap; i++) {
        if (!mk.born[i].key)
            continue;
        size_t size;
        uint32_t tb;
        if (lg__table_get(mk.born[i].domain, mk.born[i].key - 1, &size, &tb) != 0)
            continue; /* cannot happen: frees leave `born` first */
        struct group *g = group_get(gs, mk.born[i].domain, tb);
        if (!g)
            return LG_ENOMEM;
        g->size += (int64_t)size;
        g->count++;
    }
    for (size_t i = 0; i < mk.died_cap; i++) {
        if (!mk.died[i].key)
            continue;
        uint64_t k = mk.died[i].key - 1;
        struct group *g = group_get(gs, (uint32_t)(k >> 32), (uint32_t)k);
        if (!g)
            return LG_ENOMEM;
        g->size -= (int64_t)mk.died[i].size;
        g->count -= (int64_t)mk.died[i].count;
    }
    return 0;
}

int lg_mark_diff(const lg_mark_t *m, lg_stats_t **out, uint64_t *lost)
{
    *out = NULL;
    if (!lg__tracing())
        return LG_ENOTTRACING;
    struct groups gs = {0};
    uint64_t dropped;
    lg__lock(&mk.lock, LG_LOCK_MARK);
    int rc = (!m || mk.active != m->id) ? LG_ESTALE : collect_locked(&gs);
    dropped = mk.dropped + (lg_get_lost_traces() - mk.lost_at_begin);
    lg__unlock(&mk.lock, LG_LOCK_MARK);

    /* Symbolize outside the lock: the program keeps allocating meanwhile. */
    lg_snapshot_t *scratch = rc ? NULL : lg__snapshot_alloc();
    lg_stats_t *st = scratch ? lg__stats_new() : NULL;
    if (!rc && !st)
        rc = LG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < gs.cap; i++) {
        struct group *g = &gs.g[i];
        if (!g->key || (g->size == 0 && g->count == 0))
            continue;
        uint32_t domain = (uint32_t)((g->key - 1) >> 32), id = (uint32_t)(g->key - 1);
        const lg__tb_t *raw = lg__tb_get(id);
        const lg_traceback_t *tb = lg__snapshot_traceback_of_id(scratch, id);
        if (!tb) {
            rc = LG_ENOMEM;
            break;
        }
        size_t size = raw ? (size_t)__atomic_load_n(&raw->live_size, __ATOMIC_RELAXED) : 0;
        size_t count = raw ? (size_t)__atomic_load_n(&raw->live_count, __ATOMIC_RELAXED) : 0;
        rc = lg__stats_add(st, tb, domain, size, count, g->size, g->count);
    }
    lg__xfree(gs.g);
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
