/* Tests of the test session's policy (plugin/session.c): limits by size
 * and by count (defaults, rules, per-test overrides), suppressions, what
 * reaches the report (end, skip, measure/record of reruns), abandoned
 * runs, lost traces, and the order of calls an adapter must keep.  Blocks
 * are tracked in user domains with lg_track, each with the traceback the
 * backtrace hook gives, so every total is known exactly. */
#include "lg_internal.h"
#include <leakgate/report.h>

#include "lgtest.h"

#include <stdatomic.h>

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
    /* Fake addresses: every row counts, as in repeats (a word of a root
     * may well hold 0x1000 and make such a "block" reachable). */
    lg_session_set_leak_kinds(s, LG_LEAK_KINDS_ALL);
    lg_session_set_scan(s, LG_SCAN_OFF);
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

/* One test `id` of session s leaving `n` blocks of `size` bytes in domain
 * 7 (freed again after the test); fills *r. */
static int run_test(lg_session_t *s, const char *id, int n, size_t size, lg_result_t *r)
{
    int rc = lg_session_begin_test(s, id);
    for (int i = 0; rc == 0 && i < n; i++)
        lg_track(7, 0x10000 + (uintptr_t)i * 0x100, size);
    if (rc == 0)
        rc = lg_session_end_test(s, r);
    for (int i = 0; i < n; i++)
        lg_untrack(7, 0x10000 + (uintptr_t)i * 0x100);
    return rc;
}

LGT_TEST(size_limits_default_rule_and_override)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_result_t r;
    site = 0xB0;
    ASSERT_EQ(run_test(s, "a", 1, 1, &r), 0); /* default limit: 0 B */
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    ASSERT_EQ(r.size_diff, 1);
    ASSERT_EQ(r.count_diff, 1);

    lg_limits_t ten = {10, -1};
    lg_session_set_defaults(s, &ten);
    ASSERT_EQ(run_test(s, "a", 2, 5, &r), 0); /* exactly at the limit */
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN);
    ASSERT_EQ(r.limits.max_size, 10);
    ASSERT_EQ(run_test(s, "a", 1, 11, &r), 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);

    char err[256];
    ASSERT_EQ(lg_session_add_suppressions(s, "--limit", "limit big* max_size=100", err, sizeof err),
              0);
    ASSERT_EQ(run_test(s, "big_one", 1, 100, &r), 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN);
    ASSERT_EQ(run_test(s, "big_one", 1, 101, &r), 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    ASSERT_EQ(run_test(s, "small", 1, 11, &r), 0); /* the rule is not its */
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);

    /* A test changes its own limits; the next test has the defaults. */
    ASSERT_EQ(lg_session_begin_test(s, "caches"), 0);
    lg_limits_t lots = {1 << 20, -1};
    lg_session_set_limits(s, &lots);
    lg_track(7, 0x9000, 4096);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN);
    lg_untrack(7, 0x9000);
    ASSERT_EQ(lg_session_begin_test(s, "next"), 0);
    ASSERT_EQ(lg_session_limits(s).max_size, 10);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    done(s);
}

LGT_TEST(count_limits)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_limits_t two = {1 << 20, 2};
    lg_session_set_defaults(s, &two);
    lg_result_t r;
    ASSERT_EQ(run_test(s, "t", 2, 8, &r), 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN);
    ASSERT_EQ(run_test(s, "t", 3, 8, &r), 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    ASSERT_EQ(r.count_diff, 3);
    char *text = lg_session_failure_text(s);
    ASSERT_CONTAINS(text, "leakgate: test t leaked 24 B in 3 blocks (limits 1024 KiB, 2 blocks)");
    lg_string_free(text);
    char err[256];
    ASSERT_EQ(lg_session_add_suppressions(s, "--limit", "limit t max_count=0", err, sizeof err), 0);
    ASSERT_EQ(run_test(s, "t", 1, 1, &r), 0); /* the rule keeps the default size */
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    ASSERT_EQ(r.limits.max_size, 1 << 20);
    ASSERT_EQ(r.limits.max_count, 0);
    done(s);
}

LGT_TEST(what_a_test_frees_is_not_a_leak)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_track(7, 0x5000, 64); /* older than the test */
    lg_result_t r;
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    lg_track(7, 0x6000, 32);
    lg_untrack(7, 0x6000); /* born and freed in the test */
    lg_untrack(7, 0x5000); /* an older block freed */
    lg_track(7, 0x7000, 16);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    ASSERT_EQ(r.size_diff, 16 - 64);
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN); /* net negative: nothing left */
    lg_untrack(7, 0x7000);
    done(s);
}

LGT_TEST(suppressions_drop_what_they_match)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    char err[256] = "";
    ASSERT_EQ(lg_session_add_suppressions(s, "--leaks-filter", "exclude-domain 7", err, sizeof err),
              0);
    lg_result_t r;
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    lg_track(7, 0x1000, 100); /* suppressed */
    lg_track(8, 0x1000, 3);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    ASSERT_EQ(r.size_diff, 3);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    lg_untrack(7, 0x1000);
    lg_untrack(8, 0x1000);
    /* A bad line or file: one line naming the input, nothing added. */
    ASSERT_EQ(lg_session_add_suppressions(s, "--leaks-filter", "exclude line=x", err, sizeof err),
              LG_ESYNTAX);
    ASSERT(!strncmp(err, "--leaks-filter", 14));
    ASSERT(!strchr(err, '\n'));
    ASSERT_EQ(lg_session_add_suppressions(s, "--leaks-filter", "limit t speed=3", err, sizeof err),
              LG_ESYNTAX);
    ASSERT_CONTAINS(err, "unknown word \"speed=3\"");
    ASSERT_EQ(lg_session_add_suppressions(s, "--leaks-filter", "/nonexistent/dir/x.supp", err,
                                          sizeof err),
              LG_ESYNTAX);
    done(s);
}

LGT_TEST(the_report_holds_one_entry_per_recorded_or_skipped_test)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_json_report_t *rep = lg_session_report(s);
    lg_result_t r;
    ASSERT_EQ(run_test(s, "a", 1, 1, &r), 0);
    ASSERT_EQ(lg_json_report_count(rep), 1);
    ASSERT_EQ(lg_session_skip_test(s, "b"), 0);
    ASSERT_EQ(lg_json_report_count(rep), 2);

    /* Measured three times (reruns), recorded once: one entry, the last run. */
    for (int run = 1; run <= 3; run++) {
        ASSERT_EQ(lg_session_begin_test(s, "c"), 0);
        lg_track(7, 0x2000 + (uintptr_t)run, (size_t)run);
        ASSERT_EQ(lg_session_measure(s, &r), 0);
        ASSERT_EQ(r.size_diff, run);
        ASSERT_EQ(lg_json_report_count(rep), 2);
        lg_untrack(7, 0x2000 + (uintptr_t)run);
    }
    ASSERT_EQ(lg_session_record(s), 0);
    ASSERT_EQ(lg_json_report_count(rep), 3);
    char *doc = lg_json_report_string(rep);
    ASSERT_CONTAINS(doc, "{\"id\": \"a\", \"outcome\": \"leaked\", \"size_diff\": 1,");
    ASSERT_CONTAINS(doc, "{\"id\": \"b\", \"outcome\": \"skipped\", \"size_diff\": 0,");
    ASSERT_CONTAINS(doc, "{\"id\": \"c\", \"outcome\": \"leaked\", \"size_diff\": 3,");
    lg_string_free(doc);
    done(s);
}

/* Repeats: each measured run of a test is a window of its own, counted in
 * the result ("runs"), said in the failure text; a test whose later run
 * changed its outcome is reported skipped with why; a recorded test is
 * over, so the next one with the same id starts again from run 1. */
LGT_TEST(repeats_count_the_measured_runs_of_a_test)
{
    setenv("LEAKGATE_REPEAT", "2", 1);
    lg_session_t *s = new_session();
    unsetenv("LEAKGATE_REPEAT");
    ASSERT(s);
    ASSERT_EQ(lg_session_repeat(s), 2);
    lg_result_t r;
    for (unsigned run = 1; run <= 2; run++) {
        ASSERT_EQ(lg_session_begin_test(s, "grows"), 0);
        lg_track(7, 0x3000 + run, 16);
        ASSERT_EQ(lg_session_measure(s, &r), 0);
        ASSERT_EQ(r.runs, run);
        ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    }
    ASSERT_EQ(lg_session_record(s), 0);
    char *text = lg_session_failure_text(s);
    ASSERT_CONTAINS(text, "leakgate: test grows leaked 16 B in 1 block (limit 0 B)\n");
    ASSERT_CONTAINS(text, "  measured: bytes allocated by the test and still allocated after "
                          "it, in each of 2 measured runs, after 1 unmeasured run\n");
    lg_string_free(text);
    ASSERT_EQ(run_test(s, "grows", 0, 0, &r), 0); /* the same id, another test */
    ASSERT_EQ(r.runs, 1);
    ASSERT_EQ(lg_session_not_checked(s, "flaky", "failed when run again"), 0);
    lg_session_set_repeat(s, 0);
    ASSERT_EQ(run_test(s, "once", 0, 0, &r), 0);
    ASSERT_EQ(r.runs, 0);
    char *doc = lg_json_report_string(lg_session_report(s));
    ASSERT_CONTAINS(doc, "{\"id\": \"grows\", \"outcome\": \"leaked\", \"size_diff\": 16,");
    ASSERT_CONTAINS(doc, "\"runs\": 2, \"leaks\"");
    ASSERT_CONTAINS(doc, "{\"id\": \"grows\", \"outcome\": \"clean\", \"size_diff\": 0, "
                         "\"count_diff\": 0, \"limits\": {\"max_size\": 0, \"max_count\": "
                         "null}, \"runs\": 1,");
    ASSERT_CONTAINS(doc, "{\"id\": \"flaky\", \"outcome\": \"skipped\", \"size_diff\": 0, "
                         "\"count_diff\": 0, \"limits\": {\"max_size\": 0, \"max_count\": "
                         "null}, \"note\": \"failed when run again\"");
    ASSERT_CONTAINS(doc, "{\"id\": \"once\", \"outcome\": \"clean\", \"size_diff\": 0, "
                         "\"count_diff\": 0, \"limits\": {\"max_size\": 0, \"max_count\": "
                         "null}, \"leaks\"");
    lg_string_free(doc);
    for (unsigned run = 1; run <= 2; run++)
        lg_untrack(7, 0x3000 + run);
    done(s);
}

LGT_TEST(calls_out_of_order_are_refused)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_result_t r;
    ASSERT_EQ(lg_session_end_test(s, &r), LG_ESTALE); /* nothing begun */
    ASSERT_EQ(lg_session_record(s), LG_ESTALE);
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    ASSERT_EQ(lg_session_end_test(s, &r), LG_ESTALE); /* ended already */
    /* Another mark replaces the test's: its window is gone. */
    ASSERT_EQ(lg_session_begin_test(s, "u"), 0);
    lg_mark_t *m;
    ASSERT_EQ(lg_mark_begin(&m), 0);
    ASSERT_EQ(lg_session_measure(s, &r), LG_ESTALE);
    lg_mark_free(m);
    ASSERT_EQ(lg_json_report_count(lg_session_report(s)), 1);
    done(s);
}

LGT_TEST(lost_traces_make_a_clean_test_inconclusive)
{
    lg_session_t *s = new_session();
    ASSERT(s);
    lg_result_t r;
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    /* The tracer runs out of memory recording this block: its trace is lost. */
    atomic_store(&lg__fault_countdown, 1);
    lg_track(7, 0x4000, 8);
    atomic_store(&lg__fault_countdown, 0);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    ASSERT_GT(r.lost_traces, 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_INCONCLUSIVE);
    char *text = lg_session_failure_text(s);
    ASSERT_CONTAINS(text, "leakgate: test t is inconclusive: the tracer ran out of memory");
    lg_string_free(text);
    lg_untrack(7, 0x4000);
    done(s);
}

LGT_MAIN()
