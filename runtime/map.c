/*
 * map.c — the one open-addressing hash table of the runtime's helpers
 * (lg_util.h): linear probing, backward-shift deletion, doubling at 3/4
 * full.  Entry point: lg__map_put().
 *
 *   slots: [a|b|value][0|-|-----][a|b|value] ...   cap entries, a power of 2
 *           home slot of (a, b) = hash(a, b) & (cap - 1); a == 0: empty
 *
 * Invariant: every entry sits between its home slot and the first empty
 * slot after it, so a look-up stops at the first empty slot; removal
 * shifts later entries of the run back to keep it so (no tombstones).
 * Memory: tracer memory (lg__mem_calloc, counted) when m->counted, else
 * report-time memory.  Not thread-safe: callers hold their own lock.
 */
#include "lg_util.h"

#include <string.h>

#define MIN_CAP 64

static inline uint64_t *key_of(const lg__map_t *m, size_t i)
{
    return (uint64_t *)(void *)(m->slots + i * m->esize);
}

static inline size_t home(const lg__map_t *m, uint64_t a, uint64_t b)
{
    uint64_t k = a ^ (b * 0x9e3779b97f4a7c15ull);
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (m->cap - 1);
}

/* The slot of (a, b), or the empty slot where it would go; cap > 0. */
static size_t probe(const lg__map_t *m, uint64_t a, uint64_t b)
{
    size_t mask = m->cap - 1, i = home(m, a, b);
    for (;;) {
        const uint64_t *k = key_of(m, i);
        if (k[0] == 0 || (k[0] == a && k[1] == b))
            return i;
        i = (i + 1) & mask;
    }
}

static void *alloc_slots(const lg__map_t *m, size_t cap)
{
    return m->counted ? lg__mem_calloc(cap, m->esize) : lg__xcalloc(cap, m->esize);
}

static void free_slots(const lg__map_t *m, void *slots, size_t cap)
{
    if (m->counted)
        lg__mem_free(slots, cap * m->esize);
    else
        lg__xfree(slots);
}

static int grow(lg__map_t *m)
{
    size_t ocap = m->cap, ncap = ocap ? ocap * 2 : MIN_CAP;
    unsigned char *old = m->slots, *ns = alloc_slots(m, ncap);
    if (!ns)
        return LG_ENOMEM;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        const uint64_t *k = (const uint64_t *)(void *)(old + i * m->esize);
        if (k[0])
            memcpy(key_of(m, probe(m, k[0], k[1])), k, m->esize);
    }
    free_slots(m, old, ocap);
    return 0;
}

void *lg__map_find(const lg__map_t *m, uint64_t a, uint64_t b)
{
    if (!m->cap)
        return NULL;
    uint64_t *k = key_of(m, probe(m, a, b));
    return k[0] ? k : NULL;
}

void *lg__map_put(lg__map_t *m, uint64_t a, uint64_t b, bool *added)
{
    *added = false;
    if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return NULL;
    uint64_t *k = key_of(m, probe(m, a, b));
    if (!k[0]) {
        k[0] = a;
        k[1] = b;
        m->len++;
        *added = true;
    }
    return k;
}

void lg__map_remove(lg__map_t *m, void *entry)
{
    size_t mask = m->cap - 1, i = (size_t)((unsigned char *)entry - m->slots) / m->esize;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        uint64_t *k = key_of(m, j);
        if (!k[0])
            break;
        size_t h = home(m, k[0], k[1]);
        if (((j - h) & mask) >= ((j - i) & mask)) {
            memcpy(key_of(m, i), k, m->esize);
            i = j;
        }
    }
    memset(key_of(m, i), 0, m->esize);
    m->len--;
}

void *lg__map_slot(const lg__map_t *m, size_t i)
{
    uint64_t *k = key_of(m, i);
    return k[0] ? k : NULL;
}

void lg__map_clear(lg__map_t *m)
{
    free_slots(m, m->slots, m->cap);
    m->slots = NULL;
    m->cap = m->len = 0;
}
