/* Tests of the trace table against a reference model: random adds and
 * removes, replacement, big sizes, domains, iteration, clearing, and its
 * memory per entry. */
#include "lg_internal.h"
#include "lgtest.h"

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
