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

static void assert_live(uint32_t id, uint64_t size, uint64_t count)
{
    uint64_t s, n;
    lg__tb_live(id, &s, &n);
    ASSERT_EQ(s, size);
    ASSERT_EQ(n, count);
}

LGT_TEST(live_totals_follow_accounting)
{
    uintptr_t f[] = {42};
    uint32_t id = lg__intern(f, 1, 1);
    lg__tb_account(id, 100, 1);
    lg__tb_account(id, 50, 1);
    lg__tb_account(id, -100, -1);
    assert_live(id, 50, 1);
    lg__intern_clear();
    assert_live(id, 0, 0);
    lg__tb_account(id, 7, 1); /* after a clear, from zero */
    assert_live(id, 7, 1);
    lg__intern_clear();
}

/* Tracebacks whose ids share a thread's slot take it in turn: what one
 * had pending moves into its counters, nothing is lost or counted twice. */
LGT_TEST(live_totals_survive_sharing_a_slot)
{
    uint32_t ids[200];
    for (uintptr_t i = 0; i < 200; i++) {
        uintptr_t f[] = {0x5000 + i};
        ids[i] = lg__intern(f, 1, 1);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 200; i++)
            lg__tb_account(ids[i], i + 1, 1);
    for (int i = 0; i < 200; i++)
        assert_live(ids[i], 3 * (uint64_t)(i + 1), 3);
    for (int i = 199; i >= 0; i--)
        lg__tb_account(ids[i], -(int64_t)(i + 1), -1);
    for (int i = 0; i < 200; i++)
        assert_live(ids[i], 2 * (uint64_t)(i + 1), 2);
    lg__intern_clear();
}

/* Blocks allocated in threads (which then exit) and freed in another, and
 * threads allocating and freeing from the same tracebacks at once while
 * this thread reads the totals: once they stop, the totals are exact. */
#include <pthread.h>

static uint32_t shared_ids[8];

static void *allocate_and_exit(void *arg)
{
    for (int i = 0; i < 8; i++)
        lg__tb_account(shared_ids[i], 10 * (int64_t)(uintptr_t)arg, 1);
    return NULL;
}

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 200000; i++) {
        uint32_t id = shared_ids[rand_r(&seed) % 8];
        lg__tb_account(id, 24, 1);
        lg__tb_account(id, -24, -1);
    }
    lg__tb_account(shared_ids[0], 1, 1); /* one block each stays */
    return NULL;
}

LGT_TEST(live_totals_are_exact_across_threads)
{
    /* Ids 32 apart share a thread's slot: each account moves the sum of
     * the one before into its counters (as readers read). */
    for (uintptr_t i = 0; i < 8 * 32; i++) {
        uintptr_t f[] = {0x9000 + i};
        uint32_t id = lg__intern(f, 1, 1);
        if (i % 32 == 0)
            shared_ids[i / 32] = id;
    }
    ASSERT_EQ(shared_ids[1] - shared_ids[0], 32);
    pthread_t t[4];
    for (uintptr_t k = 0; k < 4; k++)
        ASSERT_EQ(pthread_create(&t[k], NULL, allocate_and_exit, (void *)(k + 1)), 0);
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    for (int i = 0; i < 8; i++)
        assert_live(shared_ids[i], 100, 4); /* 10 + 20 + 30 + 40 */
    for (int i = 0; i < 8; i++) /* freed here */
        lg__tb_account(shared_ids[i], -100, -4);
    for (uintptr_t k = 0; k < 4; k++)
        ASSERT_EQ(pthread_create(&t[k], NULL, churn, (void *)(k + 1)), 0);
    for (int r = 0; r < 200; r++) { /* reads meanwhile: never a wild value */
        uint64_t s, n;
        lg__tb_live(shared_ids[r % 8], &s, &n);
        ASSERT_LE(s, 4 * 24 + 4); /* each thread has one block at most */
        ASSERT_LE(n, 8);
    }
    for (int k = 0; k < 4; k++)
        pthread_join(t[k], NULL);
    assert_live(shared_ids[0], 4, 4);
    for (int i = 1; i < 8; i++)
        assert_live(shared_ids[i], 0, 0);
    lg__intern_clear();
}

LGT_MAIN()
