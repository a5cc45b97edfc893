/*
 * table.c — the trace table: (domain, address) -> (size, traceback id).
 *
 * Each domain has SHARDS open-addressing tables (linear probing, deletion by
 * backward shift, no tombstones), chosen by the address hash so that threads
 * freeing unrelated blocks rarely meet on a lock.  A table grows by half when
 * it is 7/9 full, so it is between 52 % and 78 % full at any size: 21 to 31
 * bytes per live block.  An entry is 16 bytes:
 *
 *   +----------------+--------+--------+
 *   | LG_KEY(addr)   |  size  |  tb id |     key 0 = empty slot
 *   +----------------+--------+--------+
 *        8 bytes       4 bytes  4 bytes
 *
 * A size that does not fit 32 bits is stored as BIG and kept, exactly, in
 * the shard's small side list (blocks of 4 GiB and more are rare).
 * Every field of a shard is protected by its lock; domains are created under
 * dom_lock and never freed, so a domain pointer stays valid without it.
 */
#include "lg_internal.h"

#include <pthread.h>
#include <string.h>

#define SHARD_BITS 4
#define SHARDS     (1u << SHARD_BITS)
#define BIG        UINT32_MAX
#define MIN_CAP    64

struct entry {
    uintptr_t key;
    uint32_t size;
    uint32_t tb;
};

struct big {
    uintptr_t key;
    size_t size;
};

struct shard {
    lg__spin_t lock;      /* LG_LOCK_SHARD: the innermost lock */
    struct entry *slots;  /* written under lock, read without it by prefetch_home */
    size_t cap;           /* 0 or at least MIN_CAP; the same */
    size_t len;           /* protected by lock */
    struct big *bigs;     /* protected by lock */
    size_t nbig;          /* protected by lock */
} __attribute__((aligned(64)));

struct domain {
    uint32_t id;
    struct domain *next; /* protected by dom_lock */
    struct shard shards[SHARDS];
};

static struct domain builtin[2];
static struct {
    pthread_mutex_t dom_lock; /* LG_LOCK_DOMAINS */
    struct domain *others;    /* user domains, newest first; protected by dom_lock */
    bool ready;               /* set once by the first constructor or use */
} tbl = {.dom_lock = PTHREAD_MUTEX_INITIALIZER};

static void domain_init(struct domain *d, uint32_t id)
{
    d->id = id;
    for (unsigned i = 0; i < SHARDS; i++)
        atomic_init(&d->shards[i].lock.held, 0);
}

__attribute__((constructor(101))) static void table_init(void)
{
    if (tbl.ready)
        return;
    domain_init(&builtin[LG_DOMAIN_C], LG_DOMAIN_C);
    domain_init(&builtin[LG_DOMAIN_PYTHON], LG_DOMAIN_PYTHON);
    tbl.ready = true;
}

/* A zeroed domain, aligned for its shards; never freed. */
static struct domain *new_domain(void)
{
    size_t align = _Alignof(struct domain);
    uintptr_t p = (uintptr_t)lg__mem_calloc(1, sizeof(struct domain) + align - 1);
    return p ? (struct domain *)((p + align - 1) & ~(uintptr_t)(align - 1)) : NULL;
}

static struct domain *domain_get(uint32_t id, bool create)
{
    if (LG_UNLIKELY(!tbl.ready))
        table_init();
    _Static_assert(LG_DOMAIN_C < 2 && LG_DOMAIN_PYTHON < 2 && LG_DOMAIN_C != LG_DOMAIN_PYTHON,
                   "the built-in domains index builtin[]");
    if (LG_LIKELY(id < 2))
        return &builtin[id];
    struct domain *d;
    lg__lock(&tbl.dom_lock, LG_LOCK_DOMAINS);
    for (d = tbl.others; d; d = d->next)
        if (d->id == id)
            break;
    if (!d && create && (d = new_domain())) {
        domain_init(d, id);
        d->next = tbl.others;
        tbl.others = d;
    }
    lg__unlock(&tbl.dom_lock, LG_LOCK_DOMAINS);
    return d;
}

static inline uint64_t hash_key(uintptr_t key)
{
    return (uint64_t)(key >> 4 ^ key >> 20) * 0x9e3779b97f4a7c15ull;
}

static inline struct shard *shard_of(struct domain *d, uint64_t h)
{
    return &d->shards[h >> (64 - SHARD_BITS)];
}

/* The home slot of a hash in a table of cap slots: bits below the shard's
 * scaled to [0, cap), so that cap need not be a power of two. */
static inline size_t home_of(uint64_t h, size_t cap)
{
    return (size_t)(((h >> 28) & 0xffffffffu) * (uint64_t)cap >> 32);
}

static inline size_t next_slot(size_t i, size_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* How many slots forward from `from` to `to`, around the end of the table. */
static inline size_t ring_dist(size_t from, size_t to, size_t cap)
{
    return to >= from ? to - from : to + cap - from;
}

/* Slot holding key, or the empty slot where it would go; shard lock held. */
static size_t find_locked(const struct shard *s, uintptr_t key, uint64_t h)
{
    size_t i = home_of(h, s->cap);
    while (s->slots[i].key && s->slots[i].key != key)
        i = next_slot(i, s->cap);
    return i;
}

/* slots and cap are stored atomically: prefetch_home reads them without
 * the lock. */
static void set_array_locked(struct shard *s, struct entry *slots, size_t cap)
{
    __atomic_store_n(&s->slots, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&s->cap, cap, __ATOMIC_RELAXED);
}

static int grow_locked(struct shard *s)
{
    size_t ncap = s->cap ? s->cap + s->cap / 2 : MIN_CAP;
    struct entry *ns = lg__mem_table_alloc(ncap * sizeof *ns);
    if (!ns)
        return LG_ENOMEM;
    struct entry *old = s->slots;
    size_t ocap = s->cap;
    set_array_locked(s, ns, ncap);
    for (size_t i = 0; i < ocap; i++)
        if (old[i].key)
            s->slots[find_locked(s, old[i].key, hash_key(old[i].key))] = old[i];
    lg__mem_table_free(old, ocap * sizeof *old);
    return 0;
}

static size_t big_find_locked(const struct shard *s, uintptr_t key)
{
    size_t i = 0;
    while (i < s->nbig && s->bigs[i].key != key)
        i++;
    return i;
}

static void big_remove_locked(struct shard *s, uintptr_t key)
{
    size_t i = big_find_locked(s, key);
    if (i < s->nbig)
        s->bigs[i] = s->bigs[--s->nbig];
}

static size_t entry_size_locked(const struct shard *s, const struct entry *e)
{
    if (e->size != BIG)
        return e->size;
    size_t i = big_find_locked(s, e->key);
    return i < s->nbig ? s->bigs[i].size : BIG;
}

int lg__table_put(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb, size_t *old_size,
                  uint32_t *old_tb)
{
    struct domain *d = domain_get(domain, true);
    if (!d)
        return LG_ENOMEM;
    uintptr_t key = LG_KEY(ptr);
    uint64_t h = hash_key(key);
    struct shard *s = shard_of(d, h);
    int rc = 0;
    lg__spin_lock(&s->lock, LG_LOCK_SHARD);
    if ((s->len + 1) * 9 > s->cap * 7 && grow_locked(s)) {
        rc = LG_ENOMEM;
        goto out;
    }
    struct entry *e = &s->slots[find_locked(s, key, h)];
    bool was_big = e->key && e->size == BIG;
    /* The only step that can fail comes first: on failure nothing changed. */
    if (size >= BIG && !was_big) {
        struct big *nb = lg__xrealloc(s->bigs, (s->nbig + 1) * sizeof *nb);
        if (!nb) {
            rc = LG_ENOMEM;
            goto out;
        }
        s->bigs = nb;
        s->bigs[s->nbig++] = (struct big){key, 0};
    }
    if (e->key) {
        *old_size = entry_size_locked(s, e);
        *old_tb = e->tb;
        rc = 1;
    } else {
        s->len++;
    }
    if (size >= BIG)
        s->bigs[big_find_locked(s, key)].size = size;
    else if (was_big)
        big_remove_locked(s, key);
    *e = (struct entry){key, size >= BIG ? BIG : (uint32_t)size, tb};
out:
    lg__spin_unlock(&s->lock, LG_LOCK_SHARD);
    return rc;
}

int lg__table_add(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    size_t old_size;
    uint32_t old_tb;
    int rc = lg__table_put(domain, ptr, size, tb, &old_size, &old_tb);
    return rc < 0 ? rc : 0;
}

int lg__table_get(uint32_t domain, uintptr_t ptr, size_t *size, uint32_t *tb)
{
    struct domain *d = domain_get(domain, false);
    if (!d)
        return LG_ENOTFOUND;
    uintptr_t key = LG_KEY(ptr);
    uint64_t h = hash_key(key);
    struct shard *s = shard_of(d, h);
    int rc = LG_ENOTFOUND;
    lg__spin_lock(&s->lock, LG_LOCK_SHARD);
    if (s->cap) {
        struct entry *e = &s->slots[find_locked(s, key, h)];
        if (e->key) {
            *size = entry_size_locked(s, e);
            *tb = e->tb;
            rc = 0;
        }
    }
    lg__spin_unlock(&s->lock, LG_LOCK_SHARD);
    return rc;
}

/* Asks the cache for the lines a removal of ptr's trace would read: its
 * home slot's and, as a probe run and the backward shift after it reach 4
 * to 14 slots past the home at the loads the table runs at, the two lines
 * after it.  Reads the shard's array and capacity without its lock: a pair
 * torn by a concurrent grow or clear only names a useless address, and a
 * prefetch never faults (the address is computed as an integer for that
 * reason). */
static void prefetch_home(struct domain *d, uintptr_t ptr)
{
    uint64_t h = hash_key(LG_KEY(ptr));
    struct shard *s = shard_of(d, h);
    uintptr_t slots = (uintptr_t)__atomic_load_n(&s->slots, __ATOMIC_RELAXED);
    size_t cap = __atomic_load_n(&s->cap, __ATOMIC_RELAXED);
    if (!slots)
        return;
    uintptr_t at = (slots + home_of(h, cap) * sizeof(struct entry)) & ~(uintptr_t)63;
    __builtin_prefetch((const void *)at, 1);
    __builtin_prefetch((const void *)(at + 64), 1);
    __builtin_prefetch((const void *)(at + 128), 1);
}

/* Frees often walk the heap in address order: a list or an array torn
 * down in the order it was built (or the reverse), a queue freed oldest
 * first.  Each of those blocks was traced long ago, and with a large heap
 * its trace's line is in memory, not in cache (~150 ns on the machine of
 * bench/PROFILING.md).  So while a thread's removals walk (each within
 * STEP_MAX of the one before), each guesses the thread's next two and
 * prefetches their lines: when the guess is right they have arrived by the
 * time those frees come; when wrong, it cost ~40 instructions and lines
 * fetched for nothing.  The guess is the step from this block to the next,
 * learned from the last block whose size had the same remainder modulo 16
 * (an allocator lays out blocks of one size class alike: with glibc the
 * step is the size rounded up with the chunk header, so blocks of mixed
 * sizes walked in address order are guessed right), or, before anything
 * was learned for it, the step just taken.  A block freed and allocated
 * again at once (step 0) is not a walk and guesses nothing. */
#define STEP_MAX ((uintptr_t)1 << 16)

/* The address is kept as its key: the reachability scan reads every
 * thread's static TLS, and a plain copy of it would make the block given
 * that address again look reachable. */
static LG_TLS struct {
    uintptr_t key;          /* LG_KEY of the last removed address */
    size_t size;            /* its size */
    uint32_t domain;
    uint16_t known;         /* bit r: step_over[r] was learned */
    int16_t step_over[16];  /* by size % 16: the step to the next removal minus the size */
} last_removed;

static inline bool near_step(uintptr_t step)
{
    return step != 0 && step + STEP_MAX <= 2 * STEP_MAX; /* modulo 2^N: backward too */
}

static void prefetch_next(struct domain *d, uint32_t domain, uintptr_t ptr, size_t size)
{
    uintptr_t step = ptr - LG_KEY_ADDR(last_removed.key);
    bool walk = last_removed.domain == domain && near_step(step);
    if (walk) {
        unsigned r = last_removed.size & 15;
        uintptr_t over = step - last_removed.size;
        if (over + 0x8000 <= 0xffff) {
            last_removed.step_over[r] = (int16_t)(intptr_t)over;
            last_removed.known |= (uint16_t)(1u << r);
        }
    }
    last_removed.key = LG_KEY(ptr);
    last_removed.size = size;
    last_removed.domain = domain;
    if (!walk)
        return;
    unsigned r = size & 15;
    if (last_removed.known >> r & 1)
        step = size + (uintptr_t)(intptr_t)last_removed.step_over[r];
    if (!near_step(step))
        return;
    prefetch_home(d, ptr + step);
    prefetch_home(d, ptr + 2 * step);
}

int lg__table_remove(uint32_t domain, uintptr_t ptr, size_t *size, uint32_t *tb)
{
    struct domain *d = domain_get(domain, false);
    if (!d)
        return LG_ENOTFOUND;
    uintptr_t key = LG_KEY(ptr);
    uint64_t h = hash_key(key);
    struct shard *s = shard_of(d, h);
    int rc = LG_ENOTFOUND;
    lg__spin_lock(&s->lock, LG_LOCK_SHARD);
    if (!s->cap)
        goto out;
    size_t cap = s->cap, i = find_locked(s, key, h);
    if (!s->slots[i].key)
        goto out;
    *size = entry_size_locked(s, &s->slots[i]);
    *tb = s->slots[i].tb;
    if (s->slots[i].size == BIG)
        big_remove_locked(s, key);
    /* Backward-shift deletion: pull later entries of the probe run into the
     * hole when their home slot does not lie between the hole and them. */
    for (size_t j = next_slot(i, cap); s->slots[j].key; j = next_slot(j, cap)) {
        size_t home = home_of(hash_key(s->slots[j].key), cap);
        if (ring_dist(home, j, cap) >= ring_dist(i, j, cap)) {
            s->slots[i] = s->slots[j];
            i = j;
        }
    }
    s->slots[i].key = 0;
    s->len--;
    rc = 0;
out:
    lg__spin_unlock(&s->lock, LG_LOCK_SHARD);
    if (rc == 0)
        prefetch_next(d, domain, ptr, *size);
    return rc;
}

static void foreach_domain(struct domain *d, lg__table_visit_fn fn, void *ctx)
{
    for (unsigned k = 0; k < SHARDS; k++) {
        struct shard *s = &d->shards[k];
        lg__spin_lock(&s->lock, LG_LOCK_SHARD);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].key)
                fn(ctx, d->id, LG_KEY_ADDR(s->slots[i].key), entry_size_locked(s, &s->slots[i]),
                   s->slots[i].tb);
        lg__spin_unlock(&s->lock, LG_LOCK_SHARD);
    }
}

/* Calls fn for every domain, builtin ones first. */
static void each_domain(void (*fn)(struct domain *, void *), void *ctx)
{
    if (LG_UNLIKELY(!tbl.ready))
        table_init();
    fn(&builtin[0], ctx);
    fn(&builtin[1], ctx);
    lg__lock(&tbl.dom_lock, LG_LOCK_DOMAINS);
    struct domain *d = tbl.others;
    lg__unlock(&tbl.dom_lock, LG_LOCK_DOMAINS);
    for (; d; d = d->next) /* domains are never freed; next is set once */
        fn(d, ctx);
}

struct visit {
    lg__table_visit_fn fn;
    void *ctx;
};

static void visit_domain(struct domain *d, void *ctx)
{
    struct visit *v = ctx;
    foreach_domain(d, v->fn, v->ctx);
}

void lg__table_foreach(lg__table_visit_fn fn, void *ctx)
{
    struct visit v = {fn, ctx};
    each_domain(visit_domain, &v);
}

static void count_domain(struct domain *d, void *ctx)
{
    for (unsigned k = 0; k < SHARDS; k++) {
        lg__spin_lock(&d->shards[k].lock, LG_LOCK_SHARD);
        *(size_t *)ctx += d->shards[k].len;
        lg__spin_unlock(&d->shards[k].lock, LG_LOCK_SHARD);
    }
}

size_t lg__table_count(void)
{
    size_t n = 0;
    each_domain(count_domain, &n);
    return n;
}

static void clear_domain(struct domain *d, void *ctx)
{
    LG_UNUSED(ctx);
    for (unsigned k = 0; k < SHARDS; k++) {
        struct shard *s = &d->shards[k];
        lg__spin_lock(&s->lock, LG_LOCK_SHARD);
        lg__mem_table_free(s->slots, s->cap * sizeof *s->slots);
        lg__xfree(s->bigs);
        set_array_locked(s, NULL, 0);
        s->bigs = NULL;
        s->len = s->nbig = 0;
        lg__spin_unlock(&s->lock, LG_LOCK_SHARD);
    }
}

void lg__table_clear(void)
{
    each_domain(clear_domain, NULL);
}

static void lock_domain(struct domain *d, void *ctx)
{
    LG_UNUSED(ctx);
    for (unsigned k = 0; k < SHARDS; k++)
        lg__spin_lock(&d->shards[k].lock, LG_LOCK_SHARD);
}

static void unlock_domain(struct domain *d, void *ctx)
{
    LG_UNUSED(ctx);
    for (unsigned k = 0; k < SHARDS; k++)
        lg__spin_unlock(&d->shards[k].lock, LG_LOCK_SHARD);
}

/* Fork: every shard lock (and dom_lock) is held across fork() so that the
 * child starts with consistent tables; both sides then unlock. */
void lg__table_lock_all(void)
{
    if (LG_UNLIKELY(!tbl.ready))
        table_init();
    lg__lock(&tbl.dom_lock, LG_LOCK_DOMAINS);
    lock_domain(&builtin[0], NULL);
    lock_domain(&builtin[1], NULL);
    for (struct domain *d = tbl.others; d; d = d->next)
        lock_domain(d, NULL);
}

/* With every lock held (lg__table_lock_all), what the reachability scan
 * reads: how many traces the C and Python domains hold, and each of them
 * (user domains may hold anything, not memory). */
size_t lg__table_count_locked(void)
{
    size_t n = 0;
    struct domain *d[2] = {&builtin[0], &builtin[1]};
    for (unsigned i = 0; i < 2; i++)
        for (unsigned k = 0; k < SHARDS; k++)
            n += d[i]->shards[k].len;
    return n;
}

void lg__table_foreach_locked(lg__table_visit_fn fn, void *ctx)
{
    struct domain *d[2] = {&builtin[0], &builtin[1]};
    for (unsigned i = 0; i < 2; i++)
        for (unsigned k = 0; k < SHARDS; k++) {
            struct shard *s = &d[i]->shards[k];
            for (size_t j = 0; j < s->cap; j++)
                if (s->slots[j].key)
                    fn(ctx, d[i]->id, LG_KEY_ADDR(s->slots[j].key), entry_size_locked(s, &s->slots[j]),
                       s->slots[j].tb);
        }
}

void lg__table_unlock_all(void)
{
    for (struct domain *d = tbl.others; d; d = d->next)
        unlock_domain(d, NULL);
    unlock_domain(&builtin[1], NULL);
    unlock_domain(&builtin[0], NULL);
    lg__unlock(&tbl.dom_lock, LG_LOCK_DOMAINS);
}
