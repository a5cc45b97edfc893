/* Tests of traceback interning: one id per distinct traceback, stable ids,
 * live totals, the per-thread cache under collisions. */
#include "lg_internal.h"
#include "lgtest.h"

LGT_TEST(equal_tracebacks_share_an_id)
{
    uintptr_t a[] = {1, 2, 3}, b[] = {1, 2, 4};
    uint32_t n0 = lg__intern_count();
    uint32_t ia = lg__intern(a, 3, 3);
    ASSERT_EQ(lg__intern(a, 3, 3), ia);
    uint32_t ib = lg__intern(b, 3, 3);
    ASSERT_NE(ia, ib);
    ASSERT_NE(lg__intern(a, 2, 3), ia); /* prefix is another traceback */
    ASSERT_NE(lg__intern(a, 3, 9), ia); /* so is another total */
    ASSERT_EQ(lg__intern_count(), n0 + 4);
    const lg__tb_t *tb = lg__tb_get(ib);
    ASSERT_EQ(tb->nframes, 3);
    ASSERT_EQ(tb->frames[2], 4);
    ASSERT(lg__tb_get(lg__intern_count()) == NULL);
}

LGT_TEST(many_tracebacks_keep_their_ids)
{
    enum { N = 100000 };
    static uint32_t ids[N];
    for (uintptr_t i = 0; i < N; i++) {
        uintptr_t f[2] = {i, i * 31};
        ids[i] = lg__intern(f, 2, 2);
        ASSERT_NE(ids[i], LG_TB_NONE);
    }
    for (uintptr_t i = 0; i < N; i++) {
        uintptr_t f[2] = {i, i * 31};
        ASSERT_EQ(lg__intern(f, 2, 2), ids[i]);
        ASSERT_EQ(lg__tb_get(ids[i])->frames[0], i);
    }
}

LGT_TEST(live_totals_follow_accounting)
{
    uintptr_t f[] = {42};
    uint32_t id = lg__intern(f, 1, 1);
    lg__tb_account(id, 100, 1);
    lg__tb_account(id, 50, 1);
    lg__tb_account(id, -100, -1);
    ASSERT_EQ(lg__tb_get(id)->live_size, 50);
    ASSERT_EQ(lg__tb_get(id)->live_count, 1);
    lg__intern_clear();
    ASSERT_EQ(lg__tb_get(id)->live_size, 0);
}

LGT_MAIN()
