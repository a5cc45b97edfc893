/* Tests of the test session's measure/record/abandon steps, as an adapter
 * that runs a test several times drives them. */
#include "lg_internal.h"
#include <leakgate/report.h>

#include "lgtest.h"

static uintptr_t site;

static int site_backtrace(uintptr_t *frames, int max, uint32_t *total)
{
    LG_UNUSED(max);
    frames[0] = site;
    *total = 1;
    return 1;
}

static lg_session_t *new_session(void)
{
    char err[256];
    lg_session_t *s = NULL;
    lg__set_backtrace_hook(site_backtrace);
    if (lg_start(4) != 0 || lg_session_new(&s, err, sizeof err) != 0)
        return NULL;
    return s;
}

static void done(lg_session_t *s)
{
    lg_session_free(s);
    lg_stop();
}

LGT_TEST(an_abandoned_run_leaves_the_last_measured_result_of_the_same_test)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_result_t r;
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    site = 0xA0;
    lg_track(0, 0x1000, 100);
    ASSERT_EQ(lg_session_measure(s, &r), 0);
    ASSERT_EQ(r.size_diff, 100);

    ASSERT_EQ(lg_session_begin_test(s, "t"), 0); /* runs again, then raises */
    lg_track(0, 0x2000, 7);
    lg_session_abandon(s);
    char *text = lg_session_failure_text(s);
    ASSERT(text);
    ASSERT_CONTAINS(text, "leaked 100 B in 1 block");
    lg_string_free(text);
    ASSERT_EQ(lg_session_record(s), 0);

    ASSERT_EQ(lg_session_begin_test(s, "t"), 0); /* runs again, measured */
    lg_track(0, 0x3000, 3);
    ASSERT_EQ(lg_session_measure(s, &r), 0);
    ASSERT_EQ(r.size_diff, 3);
    lg_session_abandon(s); /* after a measure: the new result stays */
    ASSERT_EQ(lg_session_record(s), 0);
    done(s);
}

LGT_TEST(an_abandoned_run_of_another_test_leaves_nothing_to_record)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_result_t r;
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    ASSERT_EQ(lg_session_measure(s, &r), 0);
    ASSERT_EQ(lg_session_begin_test(s, "u"), 0);
    lg_session_abandon(s);
    ASSERT_EQ(lg_session_record(s), LG_ESTALE);
    ASSERT(!lg_session_failure_text(s));
    lg_session_abandon(s); /* twice, and with no window: harmless */
    ASSERT_EQ(lg_session_measure(s, &r), LG_ESTALE);
    done(s);
}

LGT_MAIN()
