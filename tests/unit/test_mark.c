/* Tests of marks: what a diff reports (new blocks, freed older blocks,
 * blocks born and freed in between), staleness, lost traces. */
#include "lg_internal.h"
#include "lgtest.h"

/* Tracebacks are chosen by the test: the next traceback is {site}. */
static uintptr_t site;

static int site_backtrace(uintptr_t *frames, int max, uint32_t *total)
{
    LG_UNUSED(max);
    frames[0] = site;
    *total = 1;
    return 1;
}

static void track_at(uintptr_t where, uintptr_t ptr, size_t size)
{
    site = where;
    lg_track(9, ptr, size);
}

static const lg_stat_t *row_at(const lg_stats_t *st, uintptr_t where)
{
    for (size_t i = 0; i < lg_stats_count(st); i++) {
        const lg_stat_t *r = lg_stats_get(st, i);
        if (r->traceback.nframes && r->traceback.frames[0]->addr == where)
            return r;
    }
    return NULL;
}

LGT_TEST(diff_reports_new_and_freed_blocks_by_traceback)
{
    lg__set_backtrace_hook(site_backtrace);
    ASSERT_EQ(lg_start(4), 0);
    track_at(0xA0, 0x1000, 100); /* old, stays */
    track_at(0xB0, 0x2000, 30);  /* old, freed in the test */
    track_at(0xB0, 0x2100, 30);  /* old, stays */
    lg_mark_t *m;
    ASSERT_EQ(lg_mark_begin(&m), 0);
    track_at(0xC0, 0x3000, 8);  /* new, stays */
    track_at(0xC0, 0x3100, 8);  /* new, stays */
    track_at(0xD0, 0x4000, 64); /* new, freed: not reported */
    lg_untrack(9, 0x4000);
    lg_untrack(9, 0x2000);
    track_at(0xE0, 0x2000, 5); /* new at a freed old address */

    lg_stats_t *st;
    uint64_t lost = 99;
    ASSERT_EQ(lg_mark_diff(m, &st, &lost), 0);
    ASSERT_EQ(lost, 0);
    ASSERT_EQ(lg_stats_count(st), 3);
    const lg_stat_t *c = row_at(st, 0xC0), *b = row_at(st, 0xB0), *e = row_at(st, 0xE0);
    ASSERT(c && b && e);
    ASSERT_EQ(c->size_diff, 16);
    ASSERT_EQ(c->count_diff, 2);
    ASSERT_EQ(c->size, 16);
    ASSERT_EQ(c->count, 2);
    ASSERT_EQ(c->domain, 9);
    ASSERT_EQ(b->size_diff, -30);
    ASSERT_EQ(b->count_diff, -1);
    ASSERT_EQ(b->size, 30); /* what 0xB0 still holds */
    ASSERT_EQ(e->size_diff, 5);
    ASSERT(row_at(st, 0xD0) == NULL);
    ASSERT(row_at(st, 0xA0) == NULL);
    /* compare_to order: biggest |size_diff| first */
    ASSERT(lg_stats_get(st, 0) == b);
    int64_t sd, cd;
    lg_stats_totals(st, &sd, &cd);
    ASSERT_EQ(sd, 16 - 30 + 5);
    ASSERT_EQ(cd, 2 - 1 + 1);
    lg_stats_free(st);

    /* a second diff of the same mark sees later work too */
    lg_untrack(9, 0x3000);
    ASSERT_EQ(lg_mark_diff(m, &st, NULL), 0);
    ASSERT_EQ(row_at(st, 0xC0)->size_diff, 8);
    lg_stats_free(st);
    lg_mark_free(m);
    lg_stop();
    lg__set_backtrace_hook(NULL);
}

LGT_TEST(a_new_mark_makes_the_old_one_stale)
{
    lg__set_backtrace_hook(site_backtrace);
    ASSERT_EQ(lg_start(4), 0);
    lg_mark_t *a, *b;
    lg_stats_t *st;
    ASSERT_EQ(lg_mark_begin(&a), 0);
    ASSERT_EQ(lg_mark_begin(&b), 0);
    ASSERT_EQ(lg_mark_diff(a, &st, NULL), LG_ESTALE);
    ASSERT_EQ(lg_mark_diff(b, &st, NULL), 0);
    ASSERT_EQ(lg_stats_count(st), 0);
    lg_stats_free(st);
    lg_clear_traces();
    ASSERT_EQ(lg_mark_diff(b, &st, NULL), LG_ESTALE);
    lg_mark_free(a);
    lg_mark_free(b);
    lg_stop();
    ASSERT_EQ(lg_mark_begin(&a), LG_ENOTTRACING);
    lg__set_backtrace_hook(NULL);
}

LGT_TEST(diff_cost_does_not_depend_on_the_heap)
{
    /* Correctness at scale: 200k older blocks, 100 new; the diff sees only
     * the 100 (the cost figure itself is bench/mark_diff's job). */
    lg__set_backtrace_hook(site_backtrace);
    ASSERT_EQ(lg_start(4), 0);
    for (uintptr_t i = 0; i < 200000; i++)
        track_at(0x10, 0x100000 + i * 16, 32);
    lg_mark_t *m;
    ASSERT_EQ(lg_mark_begin(&m), 0);
    for (uintptr_t i = 0; i < 100; i++)
        track_at(0x20, 0x900000 + i * 16, 24);
    lg_stats_t *st;
    ASSERT_EQ(lg_mark_diff(m, &st, NULL), 0);
    ASSERT_EQ(lg_stats_count(st), 1);
    ASSERT_EQ(lg_stats_get(st, 0)->size_diff, 2400);
    ASSERT_EQ(lg_stats_get(st, 0)->count_diff, 100);
    lg_stats_free(st);
    lg_mark_free(m);
    lg_stop();
    lg__set_backtrace_hook(NULL);
}

LGT_TEST(lost_traces_make_the_diff_inconclusive)
{
    lg__set_backtrace_hook(site_backtrace);
    ASSERT_EQ(lg_start(4), 0);
    lg_mark_t *m;
    ASSERT_EQ(lg_mark_begin(&m), 0);
    uint64_t lost = 0;
    for (uintptr_t i = 0; i < 2000 && lost == 0; i++) {
        atomic_store(&lg__fault_countdown, 1);
        track_at(0x30 + i, 0x500000 + i * 16, 8);
        atomic_store(&lg__fault_countdown, 0);
        lost = lg_get_lost_traces();
    }
    lg_stats_t *st;
    uint64_t since = 0;
    ASSERT_EQ(lg_mark_diff(m, &st, &since), 0);
    ASSERT_GT(since, 0);
    lg_stats_free(st);
    lg_mark_free(m);
    lg_stop();
    lg__set_backtrace_hook(NULL);
}

LGT_MAIN()
