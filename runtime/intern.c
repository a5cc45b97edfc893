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
 *   - each lg__tb_t stores its own id in frames[nframes], after the frames;
 *   - a traceback's live totals (lg__tb_live) are its lg__tb_t's counters
 *     plus what each thread has pending for it: a thread adds an
 *     allocation or a free to a slot of its own (no locked instruction, no
 *     cache line shared with other threads), and moves a slot's sum into
 *     the counters only when the slot is wanted for another traceback or
 *     the thread exits:
 *
 *       live.threads --> pend --> pend --> ...     (list: live.lock)
 *                        s[id % PEND_SLOTS] = {epoch:id, size, count}
 *
 *     A reader sums the counters and every thread's slot for the id;
 *     each thread's seq (odd while it moves a sum) tells it to read again
 *     if a sum moved meanwhile, so that nothing is counted twice or lost.
 *     Clearing bumps the epoch: slots of an older epoch count for nothing.
 */
#include "lg_internal.h"

#include <pthread.h>
#include <sched.h>
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

/* Pending live totals of one thread (see the top of the file): its slots
 * (lg_internal.h), written by the thread only (relaxed atomics), read by
 * any. */
#define PEND_SLOTS LG_LIVE_SLOTS
struct pend {
    struct pend *next, *prev;  /* live.threads, protected by live.lock */
    _Atomic uint64_t seq;      /* odd while a sum moves into the counters */
    lg__live_slot_t s[PEND_SLOTS];
};

static struct {
    pthread_mutex_t lock;    /* LG_LOCK_LIVE: threads */
    struct pend *threads;    /* every thread's pending totals */
    pthread_key_t key;       /* flushes a thread's when it exits */
    bool key_ok;             /* key was created (set once) */
    pthread_once_t once;
} live = {.lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT};

/* Bumped by lg__intern_clear; never 0.  Read by every account: a line of
 * its own. */
_Alignas(64) _Atomic uint32_t lg__live_epoch = 1;

static LG_TLS struct pend *pend;  /* this thread's, or NULL */
LG_TLS lg__live_slot_t *lg__live_slots; /* pend->s, or NULL */
static LG_TLS bool pend_gone;    /* this thread's was flushed at its exit */

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

/* ---- live totals ---------------------------------------------------------- */

static void counters_add(uint32_t id, int64_t size, int64_t count)
{
    lg__tb_t *tb = (lg__tb_t *)lg__tb_get(id);
    if (!tb)
        return;
    __atomic_add_fetch(&tb->live_size, (uint64_t)size, __ATOMIC_RELAXED);
    __atomic_add_fetch(&tb->live_count, (uint64_t)count, __ATOMIC_RELAXED);
}

static inline int64_t ld(_Atomic int64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* Sets slot s of this thread's p to `key` holding `size` and `count`,
 * moving what it held for a traceback of this epoch into the counters.
 * Readers see p->seq odd meanwhile. */
static void slot_take(struct pend *p, lg__live_slot_t *s, uint64_t key, int64_t size, int64_t count)
{
    uint64_t old = atomic_load_explicit(&s->key, memory_order_relaxed);
    int64_t osize = ld(&s->size), ocount = ld(&s->count);
    bool move = old >> 32 == atomic_load_explicit(&lg__live_epoch, memory_order_relaxed) &&
                (osize || ocount);
    uint64_t seq = atomic_load_explicit(&p->seq, memory_order_relaxed);
    if (move) {
        atomic_store_explicit(&p->seq, seq + 1, memory_order_relaxed);
        atomic_thread_fence(memory_order_release);
        counters_add((uint32_t)old, osize, ocount);
    }
    atomic_store_explicit(&s->size, size, memory_order_relaxed);
    atomic_store_explicit(&s->count, count, memory_order_relaxed);
    atomic_store_explicit(&s->key, key, memory_order_release); /* after its sums */
    if (move)
        atomic_store_explicit(&p->seq, seq + 2, memory_order_release);
}

/* At the thread's exit: its sums go into the counters, its block away. */
static void pend_exit(void *arg)
{
    struct pend *p = arg;
    lg__lock(&live.lock, LG_LOCK_LIVE);
    for (int i = 0; i < PEND_SLOTS; i++)
        slot_take(p, &p->s[i], 0, 0, 0);
    if (p->prev)
        p->prev->next = p->next;
    else
        live.threads = p->next;
    if (p->next)
        p->next->prev = p->prev;
    lg__unlock(&live.lock, LG_LOCK_LIVE);
    pend = NULL;
    lg__live_slots = NULL;
    pend_gone = true; /* what it frees from now on goes to the counters */
    lg__mem_free(p, sizeof *p);
}

static void pend_key_create(void)
{
    live.key_ok = pthread_key_create(&live.key, pend_exit) == 0;
}

static LG_NOINLINE struct pend *pend_new(void)
{
    if (pend_gone)
        return NULL;
    pthread_once(&live.once, pend_key_create);
    struct pend *p = live.key_ok ? lg__mem_calloc(1, sizeof *p) : NULL;
    if (!p)
        return NULL;
    if (pthread_setspecific(live.key, p) != 0) {
        lg__mem_free(p, sizeof *p);
        return NULL;
    }
    lg__lock(&live.lock, LG_LOCK_LIVE);
    p->next = live.threads;
    if (p->next)
        p->next->prev = p;
    live.threads = p;
    lg__unlock(&live.lock, LG_LOCK_LIVE);
    lg__live_slots = p->s;
    return pend = p;
}

void lg__tb_account_slow(uint32_t id, uint64_t key, int64_t size, int64_t count)
{
    struct pend *p = pend ? pend : pend_new();
    if (!p) {
        counters_add(id, size, count);
        return;
    }
    slot_take(p, &p->s[id % PEND_SLOTS], key, size, count);
}

void lg__tb_live(uint32_t id, uint64_t *size, uint64_t *count)
{
    const lg__tb_t *tb = lg__tb_get(id);
    int64_t sz = 0, n = 0;
    lg__lock(&live.lock, LG_LOCK_LIVE);
    uint64_t key = (uint64_t)atomic_load_explicit(&lg__live_epoch, memory_order_relaxed) << 32 | id;
    for (int tries = 0; tb; tries++) {
        /* A sum that moved between a thread's slot and the counters while
         * they were read would count twice or not at all: read again.
         * (Sequences only grow: equal sums, equal sequences.)  Threads that
         * keep moving sums get 100 tries. */
        uint64_t seqs = 0, odd = 0;
        for (struct pend *p = live.threads; p; p = p->next) {
            uint64_t q = atomic_load_explicit(&p->seq, memory_order_acquire);
            seqs += q, odd |= q & 1;
        }
        if (odd && tries < 100) {
            sched_yield();
            continue;
        }
        sz = (int64_t)__atomic_load_n(&tb->live_size, __ATOMIC_RELAXED);
        n = (int64_t)__atomic_load_n(&tb->live_count, __ATOMIC_RELAXED);
        for (struct pend *p = live.threads; p; p = p->next) {
            lg__live_slot_t *s = &p->s[id % PEND_SLOTS];
            if (atomic_load_explicit(&s->key, memory_order_acquire) == key)
                sz += ld(&s->size), n += ld(&s->count);
        }
        atomic_thread_fence(memory_order_acquire);
        uint64_t again = 0;
        for (struct pend *p = live.threads; p; p = p->next)
            again += atomic_load_explicit(&p->seq, memory_order_relaxed);
        if (again == seqs || tries >= 100)
            break;
    }
    lg__unlock(&live.lock, LG_LOCK_LIVE);
    /* Blocks freed in one thread and allocated in another, read at once,
     * may sum below zero for a moment. */
    *size = sz > 0 ? (uint64_t)sz : 0;
    *count = n > 0 ? (uint64_t)n : 0;
}

void lg__intern_clear(void)
{
    uint32_t e = atomic_load(&lg__live_epoch) + 1;
    atomic_store(&lg__live_epoch, e ? e : 1); /* every pending sum is void */
    uint32_t n = lg__intern_count();
    for (uint32_t id = 0; id < n; id++) {
        lg__tb_t *tb = (lg__tb_t *)lg__tb_get(id);
        __atomic_store_n(&tb->live_size, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&tb->live_count, 0, __ATOMIC_RELAXED);
    }
}

void lg__live_lock(void)
{
    lg__lock(&live.lock, LG_LOCK_LIVE);
}
void lg__live_unlock(void)
{
    lg__unlock(&live.lock, LG_LOCK_LIVE);
}

void lg__intern_lock(void)
{
    lg__lock(&in.lock, LG_LOCK_INTERN);
}
void lg__intern_unlock(void)
{
    lg__unlock(&in.lock, LG_LOCK_INTERN);
}
