/* Tests of the trace table against a reference model: random adds and
 * removes, replacement, big sizes, domains, iteration, clearing, and its
 * memory per entry. */
#include "lg_internal.h"
#include "lgtest.h"

#include <pthread.h>

enum { KEYS = 50000 };
static size_t model[KEYS]; /* 0 = absent */

static void visit_sum(void *ctx, uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    LG_UNUSED(domain), LG_UNUSED(ptr), LG_UNUSED(tb);
    *(size_t *)ctx += size;
}

LGT_TEST(random_operations_match_a_model)
{
    unsigned seed = 1;
    size_t live = 0;
    for (int i = 0; i < 1000000; i++) {
        unsigned r = rand_r(&seed);
        unsigned k = r % KEYS;
        uintptr_t ptr = (uintptr_t)k * 16 + 0x10000;
        size_t size;
        uint32_t tb;
        if (r & 0x10000) {
            size_t n = 1 + (r >> 17) % 1000;
            ASSERT_EQ(lg__table_add(LG_DOMAIN_C, ptr, n, k), 0);
            live += !model[k];
            model[k] = n;
        } else {
            int rc = lg__table_remove(LG_DOMAIN_C, ptr, &size, &tb);
            if (model[k]) {
                ASSERT_EQ(rc, 0);
                ASSERT_EQ(size, model[k]);
                ASSERT_EQ(tb, k);
                model[k] = 0;
                live--;
            } else {
                ASSERT_EQ(rc, LG_ENOTFOUND);
            }
        }
    }
    ASSERT_EQ(lg__table_count(), live);
    for (unsigned k = 0; k < KEYS; k++) {
        size_t size;
        uint32_t tb;
        int rc = lg__table_get(LG_DOMAIN_C, (uintptr_t)k * 16 + 0x10000, &size, &tb);
        ASSERT_EQ(rc, model[k] ? 0 : LG_ENOTFOUND);
        if (model[k])
            ASSERT_EQ(size, model[k]);
    }
    lg__table_clear();
    ASSERT_EQ(lg__table_count(), 0);
}

LGT_TEST(big_sizes_domains_and_iteration)
{
    size_t size, sum = 0;
    uint32_t tb;
    size_t big = (size_t)5 << 32;
    ASSERT_EQ(lg__table_add(LG_DOMAIN_C, 0x100, big, 1), 0);
    ASSERT_EQ(lg__table_add(LG_DOMAIN_C, 0x200, UINT32_MAX, 2), 0);
    ASSERT_EQ(lg__table_add(1234, 0x100, 7, 3), 0);
    ASSERT_EQ(lg__table_get(LG_DOMAIN_C, 0x100, &size, &tb), 0);
    ASSERT_EQ(size, big);
    ASSERT_EQ(lg__table_get(LG_DOMAIN_C, 0x200, &size, &tb), 0);
    ASSERT_EQ(size, UINT32_MAX);
    ASSERT_EQ(lg__table_get(1234, 0x100, &size, &tb), 0);
    ASSERT_EQ(size, 7);
    ASSERT_EQ(tb, 3);
    ASSERT_EQ(lg__table_get(999, 0x100, &size, &tb), LG_ENOTFOUND);
    lg__table_foreach(visit_sum, &sum);
    ASSERT_EQ(sum, big + UINT32_MAX + 7);
    /* replacing a big entry by a small one drops the side record */
    ASSERT_EQ(lg__table_add(LG_DOMAIN_C, 0x100, 3, 1), 0);
    ASSERT_EQ(lg__table_get(LG_DOMAIN_C, 0x100, &size, &tb), 0);
    ASSERT_EQ(size, 3);
    ASSERT_EQ(lg__table_remove(LG_DOMAIN_C, 0x200, &size, &tb), 0);
    ASSERT_EQ(size, UINT32_MAX);
    lg__table_clear();
    ASSERT_EQ(lg__table_count(), 0);
}

/* Keys of one 16-byte granule share a hash, so they share a home slot:
 * runs of 16 colliding keys, interleaved with others, added and removed in
 * a shuffled order, checked against a model after every round (Robin Hood
 * order and the backward shift at their limits, around the table's end). */
LGT_TEST(colliding_keys_in_any_order)
{
    enum { GROUPS = 700, N = GROUPS * 16 };
    static bool live[N];
    unsigned seed = 7;
    for (int round = 0; round < 6; round++) {
        for (size_t n = 0; n < N; n++) {
            size_t k = (size_t)rand_r(&seed) % N;
            uintptr_t ptr = 0x40000 + (k / 16) * 4096 + k % 16;
            size_t size;
            uint32_t tb;
            if (!live[k]) {
                ASSERT_EQ(lg__table_add(77, ptr, k + 1, (uint32_t)k), 0);
                live[k] = true;
            } else {
                ASSERT_EQ(lg__table_remove(77, ptr, &size, &tb), 0);
                ASSERT_EQ(size, k + 1);
                live[k] = false;
            }
        }
        for (size_t k = 0; k < N; k++) {
            size_t size;
            uint32_t tb;
            uintptr_t ptr = 0x40000 + (k / 16) * 4096 + k % 16;
            int rc = lg__table_get(77, ptr, &size, &tb);
            ASSERT_EQ(rc, live[k] ? 0 : LG_ENOTFOUND);
            if (live[k])
                ASSERT_EQ(tb, k);
        }
    }
    lg__table_clear();
    memset(live, 0, sizeof live);
}

/* The table's memory per live entry stays within the tracer's budget of
 * 32 bytes per traced block at every size, not only just before a growth. */
LGT_TEST(memory_per_entry_stays_under_32_bytes)
{
    size_t base = lg_get_tracer_memory(), n = 0;
    for (size_t target = 2000; target <= 300000; target += target / 16) {
        for (; n < target; n++)
            ASSERT_EQ(lg__table_add(LG_DOMAIN_C, n * 16 + 0x10000, 32, 1), 0);
        size_t per_entry = (lg_get_tracer_memory() - base) / n;
        ASSERT(per_entry <= 32);
        ASSERT(per_entry >= 16);
    }
    lg__table_clear();
}

/* Removals in address order, forward and backward, at steps from 16 bytes
 * to past the prefetch's limit, while another thread makes the same
 * shards grow: each removal still finds its trace (the prefetch of the next
 * ones reads a shard's array without its lock and must change nothing). */
enum { WALK = 20000 };

static void *grow_beside(void *arg)
{
    uintptr_t base = 0x7f0000000000u;
    size_t size;
    uint32_t tb;
    for (size_t i = 0; i < 200000; i++)
        if (lg__table_add(LG_DOMAIN_C, base + i * 16, 8, 2) != 0)
            ++*(int *)arg;
    for (size_t i = 0; i < 200000; i++)
        if (lg__table_remove(LG_DOMAIN_C, base + i * 16, &size, &tb) != 0 || size != 8 || tb != 2)
            ++*(int *)arg;
    return NULL;
}

LGT_TEST(removals_in_address_order_beside_a_growing_table)
{
    int bad = 0, bad_beside = 0;
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, grow_beside, &bad_beside), 0);
    uintptr_t steps[] = {16, 48, 4096, (uintptr_t)1 << 16, ((uintptr_t)1 << 16) + 16};
    for (int round = 0; round < 4; round++)
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            uintptr_t base = 0x10000000u, step = steps[k];
            size_t size;
            uint32_t tb;
            for (size_t i = 0; i < WALK; i++)
                ASSERT_EQ(lg__table_add(LG_DOMAIN_C, base + i * step, i + 1, (uint32_t)i), 0);
            for (size_t n = 0; n < WALK; n++) {
                size_t i = round & 1 ? WALK - 1 - n : n;
                if (lg__table_remove(LG_DOMAIN_C, base + i * step, &size, &tb) != 0 ||
                    size != i + 1 || tb != i)
                    bad++;
            }
            ASSERT_EQ(lg__table_remove(LG_DOMAIN_C, base, &size, &tb), LG_ENOTFOUND);
        }
    ASSERT_EQ(pthread_join(t, NULL), 0);
    ASSERT_EQ(bad, 0);
    ASSERT_EQ(bad_beside, 0);
    ASSERT_EQ(lg__table_count(), 0);
}

/* Shard arrays of 1 MiB and more are mapped (huge pages where granted):
 * zeroed, writable, counted as tracer memory for their size, and given
 * back whole; smaller ones come from the allocator. */
LGT_TEST(large_table_arrays_are_mapped_zeroed_and_counted)
{
    size_t sizes[] = {4096, (size_t)3 << 20, ((size_t)5 << 20) + 48};
    for (int i = 0; i < 3; i++) {
        size_t base = lg_get_tracer_memory();
        unsigned char *p = lg__mem_table_alloc(sizes[i]);
        ASSERT(p != NULL);
        ASSERT_EQ(lg_get_tracer_memory() - base, sizes[i]);
        size_t nonzero = 0;
        for (size_t k = 0; k < sizes[i]; k += 4096)
            nonzero += p[k] != 0;
        ASSERT_EQ(nonzero + (p[sizes[i] - 1] != 0), 0);
        memset(p, 0xab, sizes[i]);
        lg__mem_table_free(p, sizes[i]);
        ASSERT_EQ(lg_get_tracer_memory(), base);
    }
    lg__fault_countdown = 1; /* the mapped path fails like the others */
    ASSERT(lg__mem_table_alloc((size_t)3 << 20) == NULL);
    ASSERT_EQ(lg__fault_countdown, 0);
}

LGT_MAIN()
