/*
 * test_gate.c — the CI gate's parts (the JSON tree is test_json.c's): leak
 * signatures (stable across rebuilds: no addresses, no
 * lines), merging shards (parameterized instances, re-runs, duplicates),
 * the classification against a baseline with tolerances, the baseline
 * round trip, input validation, and out-of-memory at every allocation.
 */
#include "lg_internal.h"
#include "lg_gate_internal.h"

#include <stdatomic.h>

#include "lgtest.h"

/* ---- reports made here ------------------------------------------------- */

/* A native frame as a leakgate/1 report writes it. */
#define FRAME(fn, file, line, off)                                                              \
    "{\"kind\": \"native\", \"function\": \"" fn "\", \"file\": \"" file "\", \"line\": " #line \
    ", \"module\": \"/opt/app/libx.so\", \"offset\": " #off "}"

#define LEAK(size, count, frames)                                             \
    "{\"size_diff\": " #size ", \"count_diff\": " #count ", \"size\": " #size \
    ", \"count\": " #count ", \"domain\": 0, \"traceback\": [" frames "]}"

#define TEST(id, outcome, size, count, leaks)                                            \
    "{\"id\": \"" id "\", \"outcome\": \"" outcome "\", \"size_diff\": " #size           \
    ", \"count_diff\": " #count ", \"limits\": {\"max_size\": 0, \"max_count\": null}, " \
    "\"leaks\": [" leaks "]}"

/* A row with a kind; `more` adds members (", \"counted\": false"). */
#define LEAK_K(size, count, kind, more, frames)                                              \
    "{\"size_diff\": " #size ", \"count_diff\": " #count ", \"size\": " #size ", \"count\": " \
    #count ", \"domain\": 1, \"kind\": \"" kind "\"" more ", \"traceback\": [" frames "]}"

#define REPORT(tests) "{\"schema\": \"leakgate/1\", \"tests\": [" tests "]}"

#define BASE(entries) "{\"schema\": \"leakgate-baseline/1\", \"leaks\": [" entries "]}"
#define ENTRY(test, sig, size, count)                                                              \
    "{\"test\": \"" test "\", \"signature\": \"" sig "\", \"size\": " #size ", \"count\": " #count \
    "}"

#define ENTRY_K(test, sig, kind, size, count)                                           \
    "{\"test\": \"" test "\", \"signature\": \"" sig "\", \"kind\": \"" kind "\", \"size\": " #size \
    ", \"count\": " #count "}"

#define SITE_A FRAME("buf_new", "src/buf.c", 41, 6699) ", " FRAME("t_a", "tests/t.c", 7, 100)
#define SITE_B FRAME("cache_fill", "/home/u/src/cache.c", 30, 8000)

static int add(lg_gate_t *g, const char *name, const char *text)
{
    char err[256];
    return lg_gate_add_report(g, name, text, strlen(text), err, sizeof err);
}

static int baseline(lg_gate_t *g, const char *text)
{
    char err[256];
    return lg_gate_load_baseline(g, "base.json", text, strlen(text), err, sizeof err);
}

static size_t status_count(const lg_gate_t *g, lg_gate_status_t st)
{
    lg_gate_counts_t c;
    lg_gate_counts(g, &c);
    return c.by_status[st];
}

/* The leak (test, signature), or NULL. */
static const lg__gate_leak_t *find_leak(const lg_gate_t *g, const char *test, const char *sig)
{
    for (size_t i = 0; i < g->nleaks; i++)
        if (strcmp(g->leaks[i].test, test) == 0 && strcmp(g->leaks[i].signature, sig) == 0)
            return &g->leaks[i];
    return NULL;
}

/* The leak (test, signature, kind), or NULL. */
static const lg__gate_leak_t *find_kind(const lg_gate_t *g, const char *test, const char *sig,
                                        int kind)
{
    for (size_t i = 0; i < g->nleaks; i++)
        if (strcmp(g->leaks[i].test, test) == 0 && strcmp(g->leaks[i].signature, sig) == 0 &&
            g->leaks[i].kind == kind)
            return &g->leaks[i];
    return NULL;
}

/* ---- signatures ------------------------------------------------------------- */

static char *sig_of(const char *frames)
{
    char text[2048];
    snprintf(text, sizeof text, "[%s]", frames);
    lg__json_t *tb;
    if (lg__json_parse(text, strlen(text), &tb, NULL, 0))
        return NULL;
    char *s = lg__gate_signature(tb);
    lg__json_free(tb);
    return s;
}

LGT_TEST(signature_is_functions_and_file_names_of_the_top_frames)
{
    char *s = sig_of(SITE_A);
    ASSERT_STR_EQ(s, "buf_new@buf.c < t_a@t.c");
    lg_string_free(s);
    /* A rebuild moves addresses and an edit moves lines: same signature. */
    s = sig_of(FRAME("buf_new", "src/buf.c", 44, 9999) ", " FRAME("t_a", "tests/t.c", 12, 1));
    ASSERT_STR_EQ(s, "buf_new@buf.c < t_a@t.c");
    lg_string_free(s);
    /* Unsymbolized frames are skipped; three frames at most; fallbacks. */
    s = sig_of(
        "{\"kind\": \"native\", \"function\": null, \"file\": null, \"module\": null}, " FRAME(
            "a", "x/a.c", 1,
            1) ", {\"kind\": \"python\", \"function\": null, \"file\": \"t/p.py\"}, "
               "{\"kind\": \"native\", \"function\": null, \"file\": null, "
               "\"module\": \"/lib/libz.so\"}, " FRAME("d", "d.c", 1, 1));
    ASSERT_STR_EQ(s, "a@a.c < p.py < @libz.so");
    lg_string_free(s);
    s = sig_of("");
    ASSERT_STR_EQ(s, "(no symbols)");
    lg_string_free(s);
}

/* ---- merging ------------------------------------------------------------------ */

LGT_TEST(parameterized_instances_add_up_and_the_highest_attempt_wins)
{
    lg_gate_t *g;
    ASSERT_EQ(lg_gate_new(&g), 0);
    ASSERT_EQ(add(g, "a.json",
                  REPORT(TEST("p::sizes", "leaked", 10, 1, LEAK(10, 1, SITE_B)) ", " TEST(
                      "p::sizes", "clean", 0, 0,
                      "") ", " TEST("p::sizes", "leaked", 6, 1,
                                    LEAK(6, 1, SITE_B)) ", " TEST("p::flaky", "leaked", 50, 1,
                                                                  LEAK(50, 1, SITE_A)))),
              0);
    ASSERT_EQ(add(g, "rerun.json",
                  "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"p::flaky\", \"attempt\": "
                  "2, \"outcome\": \"clean\", \"size_diff\": 0, \"count_diff\": 0}]}"),
              0);
    char err[256];
    ASSERT_EQ(lg_gate_compare(g, NULL, err, sizeof err), 0);
    ASSERT_EQ(g->ntests, 2);
    ASSERT_STR_EQ(g->tests[0].id, "p::flaky");
    ASSERT_EQ(g->tests[0].attempt, 2);
    ASSERT_EQ(g->tests[0].outcome, LG_OUTCOME_CLEAN);
    ASSERT_STR_EQ(g->tests[0].report, "rerun.json");
    ASSERT_EQ(g->tests[1].instances, 3);
    ASSERT_EQ(g->tests[1].outcome, LG_OUTCOME_LEAKED);
    const lg__gate_leak_t *l = find_leak(g, "p::sizes", "cache_fill@cache.c");
    ASSERT(l != NULL);
    ASSERT_EQ(l->size, 16);
    ASSERT_EQ(l->count, 2);
    ASSERT_EQ(l->status, LG_GATE_NEW);
    ASSERT_EQ(g->nleaks, 1);
    ASSERT(!lg_gate_passed(g));
    lg_gate_free(g);
}

LGT_TEST(the_same_test_in_two_reports_is_refused)
{
    lg_gate_t *g;
    ASSERT_EQ(lg_gate_new(&g), 0);
    ASSERT_EQ(add(g, "shard1.json", REPORT(TEST("s::t", "clean", 0, 0, ""))), 0);
    ASSERT_EQ(add(g, "shard2.json", REPORT(TEST("s::u", "clean", 0, 0, ""))), 0);
    ASSERT_EQ(add(g, "shard3.json", REPORT(TEST("s::t", "clean", 0, 0, ""))), 0);
    char err[256];
    ASSERT_EQ(lg_gate_compare(g, NULL, err, sizeof err), LG_EINVAL);
    ASSERT_CONTAINS(err, "test s::t is in both shard1.json and shard3.json at attempt 1");
    lg_gate_free(g);
}

LGT_TEST(bad_reports_are_refused_whole_and_named)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"[]", "r.json: not a leakgate/1 report (not a JSON object)"},
        {"{\"tests\": []}", "r.json: not a leakgate/1 report (no \"schema\")"},
        {"{\"schema\": \"leakgate/1\"}", "r.json: \"tests\" must be an array"},
        {"{\"schema\": \"leakgate/1\", \"tests\": [{\"outcome\": \"clean\"}]}",
         "r.json: test 1 has no string \"id\""},
        {REPORT(TEST("a", "fine", 0, 0, "")),
         "r.json: test a: \"outcome\" must be clean, leaked, inconclusive, skipped or crashed"},
        {"{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a\", \"outcome\": \"clean\", "
         "\"attempt\": \"2\"}]}",
         "r.json: test a: \"attempt\" must be an integer >= 1"},
        {"{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a\", \"outcome\": \"clean\", "
         "\"param\": -1}]}",
         "r.json: test a: \"param\" must be an integer >= 0"},
        {"{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a\", \"outcome\": \"leaked\", "
         "\"leaks\": {}}]}",
         "r.json: test a: \"leaks\" must be an array"},
        {REPORT(TEST("a", "leaked", 1, 1, "{\"size_diff\": 1.5}")),
         "r.json: test a: leak 1: \"size_diff\" must be an integer"},
        {REPORT(TEST("a", "leaked", 1, 1, LEAK_K(1, 1, "lost", "", SITE_A))),
         "r.json: test a: leak 1: \"kind\" must be definite, indirect, possible or reachable"},
        {REPORT(TEST("a", "leaked", 1, 1, LEAK_K(1, 1, "definite", ", \"counted\": 0", SITE_A))),
         "r.json: test a: leak 1: \"counted\" must be true or false"},
        {"{\"schema\": \"leakgate/1\", \"tests\": [",
         "r.json: offset 35: unexpected end (the text ends there: truncated?)"},
    };
    lg_gate_t *g;
    ASSERT_EQ(lg_gate_new(&g), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        ASSERT_EQ(
            lg_gate_add_report(g, "r.json", bad[i].text, strlen(bad[i].text), err, sizeof err),
            LG_EFORMAT);
        ASSERT_CONTAINS(err, bad[i].err);
        ASSERT_EQ(g->nreports, 0);
    }
    char err[256] = "";
    const char *no_sig = BASE("{\"test\": \"a\", \"size\": 1, \"count\": 1}");
    ASSERT_EQ(lg_gate_load_baseline(g, "b.json", no_sig, strlen(no_sig), err, sizeof err),
              LG_EFORMAT);
    ASSERT_STR_EQ(err, "b.json: leak 1 needs \"test\", \"signature\", \"size\" and \"count\"");
    const char *bad_kind = BASE(ENTRY_K("a", "f@f.c", "reachable", 1, 1) ", " ENTRY_K(
        "a", "f@f.c", "still reachable", 1, 1));
    ASSERT_EQ(lg_gate_load_baseline(g, "b.json", bad_kind, strlen(bad_kind), err, sizeof err),
              LG_EFORMAT);
    ASSERT_STR_EQ(err,
                  "b.json: leak 2: \"kind\" must be definite, indirect, possible or reachable");
    ASSERT_EQ(lg_gate_load_baseline_file(g, "/nonexistent/b.json", err, sizeof err), LG_EIO);
    ASSERT_STR_EQ(err, "/nonexistent/b.json: No such file or directory");
    lg_gate_free(g);
}

/* ---- the baseline --------------------------------------------------------------- */

static lg_gate_t *classified(const lg_gate_opts_t *opts)
{
    lg_gate_t *g;
    if (lg_gate_new(&g))
        return NULL;
    int rc = add(
        g, "now.json",
        REPORT(
            TEST("t::same", "leaked", 64, 1, LEAK(64, 1, SITE_A)) ", " TEST("t::grew", "leaked", 150, 2, LEAK(150, 2, SITE_B)) ", " TEST(
                "t::new", "leaked",
                8, 1,
                LEAK(
                    8, 1,
                    SITE_A)) ", " TEST("t::fixed", "clean", 0, 0,
                                       "") ", " TEST("t::limited", "clean", 99, 1,
                                                     LEAK(
                                                         99,
                                                         1,
                                                         SITE_B)) ", " TEST("t::skipped", "skipped",
                                                                            0,
                                                                            0,
                                                                            "") ", " TEST("t::cut",
                                                                                          "leaked",
                                                                                          30, 3,
                                                                                          LEAK(
                                                                                              20, 1,
                                                                                              SITE_B))));
    rc = rc ? rc
            : baseline(g, BASE(ENTRY("t::same", "buf_new@buf.c < t_a@t.c", 64, 1) ", " ENTRY(
                              "t::grew", "cache_fill@cache.c", 100,
                              1) ", " ENTRY("t::fixed", "x@x.c", 5,
                                            1) ", " ENTRY("t::skipped", "y@y.c", 7,
                                                          1) ", " ENTRY("t::gone", "z@z.c", 9, 1)));
    char err[256];
    if (rc || lg_gate_compare(g, opts, err, sizeof err)) {
        lg_gate_free(g);
        return NULL;
    }
    return g;
}

LGT_TEST(leaks_are_new_grown_known_fixed_or_unchecked)
{
    lg_gate_t *g = classified(NULL);
    ASSERT(g != NULL);
    ASSERT_EQ(find_leak(g, "t::same", "buf_new@buf.c < t_a@t.c")->status, LG_GATE_KNOWN);
    ASSERT_EQ(find_leak(g, "t::grew", "cache_fill@cache.c")->status, LG_GATE_GROWN);
    ASSERT_EQ(find_leak(g, "t::grew", "cache_fill@cache.c")->base_size, 100);
    ASSERT_EQ(find_leak(g, "t::new", "buf_new@buf.c < t_a@t.c")->status, LG_GATE_NEW);
    ASSERT_EQ(find_leak(g, "t::new", "buf_new@buf.c < t_a@t.c")->base_size, -1);
    ASSERT_EQ(find_leak(g, "t::fixed", "x@x.c")->status, LG_GATE_FIXED);
    ASSERT_EQ(find_leak(g, "t::skipped", "y@y.c")->status, LG_GATE_UNCHECKED);
    ASSERT_EQ(find_leak(g, "t::gone", "z@z.c")->status, LG_GATE_UNCHECKED);
    /* Within its own limits, a test has no leak for the gate. */
    ASSERT(find_leak(g, "t::limited", "cache_fill@cache.c") == NULL);
    /* What the report's rows leave out of a test's leak is kept. */
    const lg__gate_leak_t *other = find_leak(g, "t::cut", "(other leaks)");
    ASSERT(other != NULL);
    ASSERT_EQ(other->size, 10);
    ASSERT_EQ(other->count, 2);
    ASSERT_EQ(status_count(g, LG_GATE_NEW), 3); /* t::new, t::cut twice */
    ASSERT_EQ(status_count(g, LG_GATE_GROWN), 1);
    ASSERT_EQ(status_count(g, LG_GATE_KNOWN), 1);
    ASSERT_EQ(status_count(g, LG_GATE_FIXED), 1);
    ASSERT_EQ(status_count(g, LG_GATE_UNCHECKED), 2);
    /* Sites: by signature across tests, biggest first, "(other leaks)" out. */
    ASSERT_EQ(g->nsites, 2);
    ASSERT_STR_EQ(g->sites[0].signature, "cache_fill@cache.c");
    ASSERT_EQ(g->sites[0].size, 170);
    ASSERT_EQ(g->sites[0].tests, 2);
    ASSERT_EQ(g->sites[1].size, 72);
    ASSERT(!lg_gate_passed(g));
    lg_gate_free(g);
}

LGT_TEST(tolerance_in_bytes_and_percent)
{
    static const struct {
        int64_t bytes;
        double pct;
        lg_gate_status_t want; /* t::grew: 150 B now, 100 B in the baseline */
    } cases[] = {
        {0, 0, LG_GATE_GROWN},    {49, 0, LG_GATE_GROWN},   {50, 0, LG_GATE_KNOWN},
        {0, 49.9, LG_GATE_GROWN}, {0, 50, LG_GATE_KNOWN},   {10, 50, LG_GATE_KNOWN},
        {49, 10, LG_GATE_GROWN},  {1000, 0, LG_GATE_KNOWN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lg_gate_opts_t o = {.tolerance_bytes = cases[i].bytes, .tolerance_percent = cases[i].pct};
        lg_gate_t *g = classified(&o);
        ASSERT(g != NULL);
        const lg__gate_leak_t *l = find_leak(g, "t::grew", "cache_fill@cache.c");
        if (l->status != cases[i].want)
            LGT_FAIL("tolerance %lld B / %g%%: status %d, expected %d", (long long)cases[i].bytes,
                     cases[i].pct, l->status, cases[i].want);
        lg_gate_free(g);
    }
}

LGT_TEST(baseline_round_trip_is_sorted_and_passes)
{
    lg_gate_t *g = classified(NULL);
    ASSERT(g != NULL);
    char *text = lg_gate_baseline_string(g);
    lgt_keep_json("test_gate-baseline", text);
    ASSERT_STR_EQ(
        text,
        BASE("\n" ENTRY("t::cut", "(other leaks)", 10, 2) ",\n" ENTRY(
            "t::cut", "cache_fill@cache.c", 20,
            1) ",\n" ENTRY("t::gone", "z@z.c", 9,
                           1) ",\n" ENTRY("t::grew", "cache_fill@cache.c", 150,
                                          2) ",\n" ENTRY("t::new", "buf_new@buf.c < t_a@t.c", 8,
                                                         1) ",\n" ENTRY("t::same",
                                                                        "buf_new@buf.c < t_a@t.c",
                                                                        64,
                                                                        1) ",\n" ENTRY("t::skipped",
                                                                                       "y@y.c", 7,
                                                                                       1) "\n") "\n");
    lg_gate_t *again;
    ASSERT_EQ(lg_gate_new(&again), 0);
    ASSERT_EQ(add(again, "now.json", REPORT(TEST("t::same", "leaked", 64, 1, LEAK(64, 1, SITE_A)))),
              0);
    ASSERT_EQ(baseline(again, text), 0);
    char err[256];
    ASSERT_EQ(lg_gate_compare(again, NULL, err, sizeof err), 0);
    ASSERT(lg_gate_passed(again));
    ASSERT_EQ(status_count(again, LG_GATE_KNOWN), 1);
    ASSERT_EQ(status_count(again, LG_GATE_UNCHECKED), 6);
    lg_string_free(text);
    lg_gate_free(again);
    lg_gate_free(g);
}

/* ---- leak kinds ------------------------------------------------------------------ */

#define SIG_A "buf_new@buf.c < t_a@t.c"
#define SIG_B "cache_fill@cache.c"

LGT_TEST(kinds_are_part_of_a_leak_and_entries_without_kind_cover_every_kind)
{
    lg_gate_t *g;
    ASSERT_EQ(lg_gate_new(&g), 0);
    const char *now = REPORT(
        TEST("t::k", "leaked", 96, 2,
             LEAK_K(64, 1, "definite", "", SITE_A) ", " LEAK_K(32, 1, "indirect", "", SITE_A)
                 ", " LEAK_K(500, 3, "reachable", ", \"counted\": false", SITE_B))
        ", " TEST("t::moved", "leaked", 16, 1, LEAK_K(16, 1, "definite", "", SITE_A))
        ", " TEST("t::legacy", "leaked", 60, 2,
                  LEAK_K(40, 1, "definite", "", SITE_A) ", " LEAK_K(20, 1, "indirect", "", SITE_A))
        ", " TEST("t::legacy_grew", "leaked", 110, 2,
                  LEAK_K(50, 1, "definite", "", SITE_B) ", " LEAK_K(60, 1, "indirect", "", SITE_B))
        ", " TEST("t::legacy_fixed", "leaked", 8, 1, LEAK_K(8, 1, "definite", "", SITE_A))
        ", " TEST("t::mixed", "leaked", 15, 2,
                  LEAK_K(10, 1, "definite", "", SITE_A) ", " LEAK_K(5, 1, "reachable", "", SITE_A)));
    ASSERT_EQ(add(g, "now.json", now), 0);
    ASSERT_EQ(baseline(g, BASE(ENTRY_K("t::k", SIG_A, "definite", 64, 1) ", " ENTRY_K(
                              "t::moved", SIG_A, "reachable", 16, 1) ", " ENTRY("t::legacy", SIG_A,
                                                                                60, 2) ", " ENTRY("t::legacy_grew", SIG_B, 100, 2) ", " ENTRY("t::legacy_fixed", SIG_B, 8, 1) ", " ENTRY("t::mixed", SIG_A, 5, 1) ", " ENTRY_K("t::mixed", SIG_A, "definite", 10, 1))),
              0);
    char err[256];
    ASSERT_EQ(lg_gate_compare(g, NULL, err, sizeof err), 0);
    /* A kind of its own: the indirect blocks are a new leak. */
    ASSERT_EQ(find_kind(g, "t::k", SIG_A, LG_KIND_DEFINITE)->status, LG_GATE_KNOWN);
    ASSERT_EQ(find_kind(g, "t::k", SIG_A, LG_KIND_INDIRECT)->status, LG_GATE_NEW);
    /* A row the verdict did not count is no leak, nor "(other leaks)". */
    ASSERT(find_leak(g, "t::k", SIG_B) == NULL);
    ASSERT(find_leak(g, "t::k", "(other leaks)") == NULL);
    /* Reachable in the baseline, definitely lost now: new, and the old one fixed. */
    ASSERT_EQ(find_kind(g, "t::moved", SIG_A, LG_KIND_DEFINITE)->status, LG_GATE_NEW);
    ASSERT_EQ(find_kind(g, "t::moved", SIG_A, LG_KIND_REACHABLE)->status, LG_GATE_FIXED);
    /* An entry without kind covers every kind of its pair, summed. */
    ASSERT_EQ(find_kind(g, "t::legacy", SIG_A, LG_KIND_DEFINITE)->status, LG_GATE_KNOWN);
    ASSERT_EQ(find_kind(g, "t::legacy", SIG_A, LG_KIND_INDIRECT)->status, LG_GATE_KNOWN);
    ASSERT_EQ(find_kind(g, "t::legacy_grew", SIG_B, LG_KIND_DEFINITE)->status, LG_GATE_GROWN);
    ASSERT_EQ(find_kind(g, "t::legacy_grew", SIG_B, LG_KIND_INDIRECT)->status, LG_GATE_GROWN);
    ASSERT_EQ(find_kind(g, "t::legacy_grew", SIG_B, LG_KIND_INDIRECT)->base_size, 100);
    ASSERT_EQ(find_kind(g, "t::legacy_fixed", SIG_A, LG_KIND_DEFINITE)->status, LG_GATE_NEW);
    ASSERT_EQ(find_kind(g, "t::legacy_fixed", SIG_B, -1)->status, LG_GATE_FIXED);
    /* With both: the entry of the kind first, the one without the rest. */
    ASSERT_EQ(find_kind(g, "t::mixed", SIG_A, LG_KIND_DEFINITE)->status, LG_GATE_KNOWN);
    ASSERT_EQ(find_kind(g, "t::mixed", SIG_A, LG_KIND_DEFINITE)->base_size, 10);
    ASSERT_EQ(find_kind(g, "t::mixed", SIG_A, LG_KIND_REACHABLE)->status, LG_GATE_KNOWN);
    ASSERT_EQ(find_kind(g, "t::mixed", SIG_A, LG_KIND_REACHABLE)->base_size, 5);
    ASSERT_EQ(status_count(g, LG_GATE_NEW), 3);
    ASSERT_EQ(status_count(g, LG_GATE_GROWN), 2);
    ASSERT_EQ(status_count(g, LG_GATE_KNOWN), 5);
    ASSERT_EQ(status_count(g, LG_GATE_FIXED), 2);

    /* The kinds in every output. */
    char *text = lg_gate_render(g, LG_GATE_TEXT), *md = lg_gate_render(g, LG_GATE_MARKDOWN);
    char *xml = lg_gate_render(g, LG_GATE_JUNIT), *html = lg_gate_render(g, LG_GATE_HTML);
    ASSERT_CONTAINS(text, "  t::k: 32 B in 1 block, indirectly lost\n    at " SIG_A "\n");
    ASSERT_CONTAINS(text, "  t::moved: 16 B in 1 block (baseline), still reachable\n");
    ASSERT_CONTAINS(md, "| test | site | kind | leaked now | baseline |");
    ASSERT_CONTAINS(md, "| `t::k` | `" SIG_A "` | indirectly lost | 32 B in 1 block | - |");
    ASSERT_CONTAINS(xml, "new leak: 32 B in 1 block, indirectly lost at ");
    ASSERT_CONTAINS(xml, "known leak (in the baseline): 64 B in 1 block, definitely lost at ");
    ASSERT_CONTAINS(html, "32 B in 1 block, indirectly lost at <code>");
    lg_string_free(text);
    lg_string_free(md);
    lg_string_free(xml);
    lg_string_free(html);

    /* The baseline written keeps the kinds, and passes again. */
    char *base = lg_gate_baseline_string(g);
    ASSERT_CONTAINS(base, ENTRY_K("t::k", SIG_A, "indirect", 32, 1));
    ASSERT_CONTAINS(base, ENTRY_K("t::legacy", SIG_A, "definite", 40, 1));
    ASSERT(strstr(base, "t::moved\", \"signature\": \"" SIG_A "\", \"kind\": \"reachable") == NULL);
    ASSERT_EQ(baseline(g, base), 0);
    ASSERT_EQ(lg_gate_compare(g, NULL, err, sizeof err), 0);
    ASSERT(lg_gate_passed(g));
    ASSERT_EQ(status_count(g, LG_GATE_KNOWN), 10);
    lg_string_free(base);
    lg_gate_free(g);
}

/* ---- out of memory -------------------------------------------------------------- */

/* Fails the Nth internal allocation for every N until a whole gate run
 * succeeds: each step reports LG_ENOMEM or NULL, never crashes, and the
 * run that succeeds gives the right answer. */
LGT_TEST(out_of_memory_at_every_allocation)
{
    const char *rep = REPORT(TEST("t::a", "leaked", 64, 1, LEAK(64, 1, SITE_A)) ", " TEST(
        "t::b", "leaked", 30, 3, LEAK(20, 1, SITE_B)) ", " TEST("t::b", "clean", 0, 0, ""));
    const char *base =
        BASE(ENTRY("t::a", "buf_new@buf.c < t_a@t.c", 64, 1) ", " ENTRY("t::c", "x@x.c", 5, 1));
    bool done = false;
    for (long n = 1; n < 5000 && !done; n++) {
        lg_gate_t *g = NULL;
        char err[256];
        bool ok = true;
        atomic_store(&lg__fault_countdown, n);
        ok = lg_gate_new(&g) == 0;
        ok = ok && lg_gate_add_report(g, "r.json", rep, strlen(rep), err, sizeof err) == 0;
        ok = ok && lg_gate_load_baseline(g, "b.json", base, strlen(base), err, sizeof err) == 0;
        ok = ok && lg_gate_compare(g, NULL, err, sizeof err) == 0;
        char *out[5] = {NULL};
        for (int f = LG_GATE_TEXT; ok && f <= LG_GATE_HTML; f++)
            ok = (out[f] = lg_gate_render(g, (lg_gate_format_t)f)) != NULL;
        ok = ok && (out[4] = lg_gate_baseline_string(g)) != NULL;
        done = ok && atomic_load(&lg__fault_countdown) > 0;
        atomic_store(&lg__fault_countdown, 0);
        if (done) {
            ASSERT_EQ(status_count(g, LG_GATE_KNOWN), 1);
            ASSERT_EQ(status_count(g, LG_GATE_NEW), 2);
            ASSERT_CONTAINS(out[LG_GATE_TEXT], "leakgate gate: FAILED: 2 new leaks");
        }
        for (int f = 0; f < 5; f++)
            lg_string_free(out[f]);
        lg_gate_free(g);
    }
    ASSERT(done);
}

LGT_MAIN()
