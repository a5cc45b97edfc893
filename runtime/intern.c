/*
 * intern.c — each distinct traceback is stored once and named by a dense id.
 *
 * Entry point: lg__intern(frames, n, total) -> id.  Invariants:
 *   - tracebacks are never freed or moved while the process lives, so an id
 *     (and the lg__tb_t it names) stays valid without a lock; clear_traces
 *     only zeroes their live counters;
 *   - ids index a two-level directory that never moves:
 *
 *       dir[id >> SEG_BITS] --> segment[id & SEG_MASK] --> lg__tb_t
 *
 *   - the hash chains and the directory are protected by intern.lock; a
 *     per-thread direct-mapped cache answers repeated tracebacks without it
 *     (a hit is verified against the interned frames, so a stale or empty
 *     slot costs only a miss);
 *   - each lg__tb_t stores its own id in frames[nframes], after the frames.
 */
#include "lg_internal.h"

#include <pthread.h>
#include <string.h>

#define SEG_BITS 14
#define SEG_SIZE (1u << SEG_BITS)
#define SEG_MASK (SEG_SIZE - 1)
#define DIR_SIZE 4096 /* 64 M tracebacks */
#define TCACHE   64

static struct {
    pthread_mutex_t lock;     /* LG_LOCK_INTERN */
    lg__tb_t **buckets;       /* hash chains, protected by lock */
    uint32_t nbuckets;        /* power of two, protected by lock */
    uint32_t count;           /* ids handed out; written under lock, read atomic */
    lg__tb_t **dir[DIR_SIZE]; /* segments, written under lock */
    lg__arena_t arena;        /* tracebacks; counted as tracer memory; under lock */
} in = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .arena = {.counted = true},
};

/* Per-thread cache: hash -> id, checked against the interned frames. */
static LG_TLS uint32_t tcache_id[TCACHE];
static LG_TLS uint32_t tcache_hash[TCACHE];

/* One multiply per frame (differences only move upwards in it), then a
 * full mix of the result so that every frame bit reaches the low bits that
 * pick the bucket and the cache slot. */
static uint32_t hash_frames(const uintptr_t *frames, int n, uint32_t total)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)total;
    for (int i = 0; i < n; i++)
        h = (h ^ frames[i]) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return (uint32_t)(h ^ (h >> 32));
}

static bool same(const lg__tb_t *tb, uint32_t hash, const uintptr_t *frames, int n, uint32_t total)
{
    return tb->hash == hash && tb->nframes == n && tb->total_nframe == total &&
           (n == 0 || memcmp(tb->frames, frames, (size_t)n * sizeof *frames) == 0);
}

const lg__tb_t *lg__tb_get(uint32_t id)
{
    if (id >= __atomic_load_n(&in.count, __ATOMIC_ACQUIRE))
        return NULL;
    return in.dir[id >> SEG_BITS][id & SEG_MASK];
}

uint32_t lg__intern_count(void)
{
    return __atomic_load_n(&in.count, __ATOMIC_ACQUIRE);
}

static int grow_buckets_locked(void)
{
    uint32_t nb = in.nbuckets ? in.nbuckets * 2 : 1024;
    lg__tb_t **b = lg__mem_calloc(nb, sizeof *b);
    if (!b)
        return LG_ENOMEM;
    for (uint32_t i = 0; i < in.nbuckets; i++) {
        lg__tb_t *tb = in.buckets[i];
        while (tb) {
            lg__tb_t *next = tb->next;
            tb->next = b[tb->hash & (nb - 1)];
            b[tb->hash & (nb - 1)] = tb;
            tb = next;
        }
    }
    lg__mem_free(in.buckets, in.nbuckets * sizeof *b);
    in.buckets = b;
    in.nbuckets = nb;
    return 0;
}

/* Returns the id of a new or existing traceback; intern lock held. */
static uint32_t intern_locked(uint32_t hash, const uintptr_t *frames, int n, uint32_t total)
{
    if (in.nbuckets) {
        for (lg__tb_t *tb = in.buckets[hash & (in.nbuckets - 1)]; tb; tb = tb->next)
            if (same(tb, hash, frames, n, total)) {
                /* The id is stored right after the frames. */
                return (uint32_t)tb->frames[n];
            }
    }
    uint32_t id = in.count;
    if (id >= (uint32_t)DIR_SIZE * SEG_SIZE)
        return LG_TB_NONE;
    if (!in.dir[id >> SEG_BITS]) {
        in.dir[id >> SEG_BITS] = lg__mem_calloc(SEG_SIZE, sizeof(lg__tb_t *));
        if (!in.dir[id >> SEG_BITS])
            return LG_TB_NONE;
    }
    if (id >= in.nbuckets && grow_buckets_locked())
        return LG_TB_NONE;
    lg__tb_t *tb = lg__arena_alloc(&in.arena, sizeof *tb + ((size_t)n + 1) * sizeof(uintptr_t));
    if (!tb)
        return LG_TB_NONE;
    tb->hash = hash;
    tb->nframes = (uint16_t)n;
    tb->total_nframe = (uint16_t)(total > UINT16_MAX ? UINT16_MAX : total);
    if (n > 0) /* frames may be NULL when there are none */
        memcpy(tb->frames, frames, (size_t)n * sizeof *frames);
    tb->frames[n] = id;
    tb->next = in.buckets[hash & (in.nbuckets - 1)];
    in.buckets[hash & (in.nbuckets - 1)] = tb;
    in.dir[id >> SEG_BITS][id & SEG_MASK] = tb;
    __atomic_store_n(&in.count, id + 1, __ATOMIC_RELEASE);
    return id;
}

uint32_t lg__intern(const uintptr_t *frames, int n, uint32_t total)
{
    uint32_t hash = hash_frames(frames, n, total);
    unsigned slot = hash & (TCACHE - 1);
    if (tcache_hash[slot] == hash) {
        const lg__tb_t *tb = lg__tb_get(tcache_id[slot]);
        if (tb && same(tb, hash, frames, n, total))
            return tcache_id[slot];
    }
    lg__lock(&in.lock, LG_LOCK_INTERN);
    uint32_t id = intern_locked(hash, frames, n, total);
    lg__unlock(&in.lock, LG_LOCK_INTERN);
    if (id != LG_TB_NONE) {
        tcache_hash[slot] = hash;
        tcache_id[slot] = id;
    }
    return id;
}

void lg__tb_account(uint32_t id, int64_t size, int64_t count)
{
    lg__tb_t *tb = (lg__tb_t *)lg__tb_get(id);
    if (!tb)
        return;
    __atomic_add_fetch(&tb->live_size, (uint64_t)size, __ATOMIC_RELAXED);
    __atomic_add_fetch(&tb->live_count, (uint64_t)count, __ATOMIC_RELAXED);
}

void lg__intern_clear(void)
{
    uint32_t n = lg__intern_count();
    for (uint32_t id = 0; id < n; id++) {
        lg__tb_t *tb = (lg__tb_t *)lg__tb_get(id);
        __atomic_store_n(&tb->live_size, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&tb->live_count, 0, __ATOMIC_RELAXED);
    }
}

void lg__intern_lock(void)
{
    lg__lock(&in.lock, LG_LOCK_INTERN);
}
void lg__intern_unlock(void)
{
    lg__unlock(&in.lock, LG_LOCK_INTERN);
}
