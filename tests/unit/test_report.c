/*
 * test_report.c — the plugin's verdicts, settings and renderers: failure
 * text and statistics lines against golden strings built from hand-made
 * stats, size parsing, default suppressions, and whole-process leak rows
 * from a snapshot.  The JSON report is test_json.c's.
 */
#include "lg_internal.h"
#include <leakgate/report.h>

#include <unistd.h>

#include "lgtest.h"

/* ---- hand-made frames ------------------------------------------------- */

static const lg_frame_t f_buffer_new = {
    LG_FRAME_NATIVE, 0x1000, "buffer_new", "/src/src/buffer.c", 41, "/usr/lib/libparse.so", 0x1a2b};
static const lg_frame_t f_parser_init = {
    LG_FRAME_NATIVE, 0x2000, "parser_init", "/src/src/parser.c", 88, NULL, 0};
static const lg_frame_t f_test = {
    LG_FRAME_NATIVE, 0x3000, "test_empty_input", "/src/tests/test_parser.c", 17, NULL, 0};
static const lg_frame_t f_unknown = {LG_FRAME_NATIVE,  0x4000, NULL, NULL, 0,
                                     "/lib/libc.so.6", 0x10};
static const lg_frame_t f_ext = {LG_FRAME_NATIVE,   0x5000, "PyCFunc", NULL, 0,
                                 "/usr/lib/ext.so", 0x20};
static const lg_frame_t f_py_new = {LG_FRAME_PYTHON, 0, NULL, "/src/tests/test_x.py", 3, NULL, 0};
static const lg_frame_t f_py_old = {
    LG_FRAME_PYTHON, 0, NULL, "/src/tests/conftest.py", 10, NULL, 0};

static const lg_frame_t *const tb1_frames[] = {&f_buffer_new, &f_parser_init, &f_test};
static const lg_traceback_t tb1 = {3, 3, tb1_frames};
static const lg_frame_t *const tb2_frames[] = {&f_unknown, &f_ext, &f_py_new, &f_py_old};
static const lg_traceback_t tb2 = {4, 4, tb2_frames};
static const lg_frame_t *const tb3_frames[] = {&f_parser_init};
static const lg_traceback_t tb3 = {1, 1, tb3_frames};

static const lg_render_opts_t opts_src = {.base_dir = "/src"};

/* 64 B (+1), 32 B (+1), 16 B (+1), 8 B (+1), and a freed -16 B (-1). */
static lg_stats_t *sample_stats(void)
{
    lg_stats_t *st = lg__stats_new();
    if (!st)
        return NULL;
    lg__stats_add(st, &tb1, 0, 64, 1, 64, 1);
    lg__stats_add(st, &tb2, 1, 32, 1, 32, 1);
    lg__stats_add(st, &tb3, 0, 16, 1, 16, 1);
    lg__stats_add(st, &tb3, 7, 8, 1, 8, 1);
    lg__stats_add(st, &tb1, 2, 0, 0, -16, -1);
    return st;
}

/* ---- sizes ------------------------------------------------------------- */

LGT_TEST(format_size_like_tracemalloc)
{
    char b[32];
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 0, 0), "0 B");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 64, 0), "64 B");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 10239, 0), "10239 B");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 10240, 0), "10.0 KiB");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 102400, 0), "100 KiB");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 1048576, 0), "1024 KiB");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 1572864 * 10, 0), "15.0 MiB");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 64, 1), "+64 B");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 0, 1), "+0 B");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, -15728640, 1), "-15.0 MiB");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 20.5, 0), "20 B");
    ASSERT_STR_EQ(lg_format_size(b, sizeof b, 1e18, 0), "909495 TiB");
}

LGT_TEST(parse_size_accepts)
{
    static const struct {
        const char *text;
        int64_t want;
    } ok[] = {
        {"0", 0},        {"100", 100},     {"100 B", 100},       {"100B", 100},
        {"1 KiB", 1024}, {"1KiB", 1024},   {"2 MiB", 2 << 20},   {"3 GiB", 3LL << 30},
        {"1 kB", 1000},  {"1MB", 1000000}, {"1 GB", 1000000000}, {"007", 7},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        if (lg_parse_size(ok[i].text, &v) != 0 || v != ok[i].want)
            LGT_FAIL("\"%s\": got %lld", ok[i].text, (long long)v);
    }
}

LGT_TEST(parse_size_rejects)
{
    static const char *const bad[] = {
        "",
        "k",
        "1k",
        "1K",
        "1 kib",
        "1 KB",
        "1  KiB",
        " 1",
        "1 ",
        "1 KiB ",
        "-1",
        "+1",
        "1.5 MiB",
        "0x10",
        "1 TiB",
        "99999999999999999999",
        "9223372036854775808",
        "9000000000 GiB",
        "1 B B",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        if (lg_parse_size(bad[i], &v) != LG_EINVAL || v != 42)
            LGT_FAIL("\"%s\" accepted as %lld", bad[i], (long long)v);
    }
    int64_t v;
    ASSERT_EQ(lg_parse_size(NULL, &v), LG_EINVAL);
    ASSERT_EQ(lg_parse_size("9223372036854775807", &v), 0);
    ASSERT_EQ(v, INT64_MAX);
}

LGT_TEST(setting_errors_name_the_setting)
{
    char err[256];
    int64_t v = 5;
    ASSERT_EQ(lg_parse_size_setting("LEAKGATE_MAX_SIZE", "1k", &v, err, sizeof err), LG_EINVAL);
    ASSERT_STR_EQ(err, "LEAKGATE_MAX_SIZE=1k: expected " LG_SIZE_FORM);
    ASSERT_EQ(v, 5);
    ASSERT_EQ(lg_parse_size_setting("--max-size", "2 KiB", &v, err, sizeof err), 0);
    ASSERT_EQ(v, 2048);

    ASSERT_EQ(lg_parse_int_setting("--frames", "0", 1, 128, &v, err, sizeof err), LG_EINVAL);
    ASSERT_STR_EQ(err, "--frames=0: expected an integer from 1 to 128");
    ASSERT_EQ(lg_parse_int_setting("X", "129", 1, 128, &v, err, sizeof err), LG_EINVAL);
    ASSERT_EQ(lg_parse_int_setting("X", "12x", 1, 128, &v, err, sizeof err), LG_EINVAL);
    ASSERT_EQ(lg_parse_int_setting("X", "", 1, 128, &v, err, sizeof err), LG_EINVAL);
    ASSERT_STR_EQ(err, "X=: expected an integer from 1 to 128");
    ASSERT_EQ(lg_parse_int_setting("X", "-", -9, 9, &v, err, sizeof err), LG_EINVAL);
    ASSERT_EQ(lg_parse_int_setting("X", "-5", -9, 9, &v, err, sizeof err), 0);
    ASSERT_EQ(v, -5);
    ASSERT_EQ(lg_parse_int_setting("X", "128", 1, 128, &v, NULL, 0), 0);
    ASSERT_EQ(v, 128);
}

/* ---- verdicts ----------------------------------------------------------- */

LGT_TEST(verdicts)
{
    lg_limits_t none = LG_LIMITS_INIT;
    lg_limits_t l100 = {100, -1}, c2 = {1 << 20, 2};
    ASSERT_EQ(lg_verdict(&none, 0, 0, 0), LG_OUTCOME_CLEAN);
    ASSERT_EQ(lg_verdict(NULL, 0, 0, 0), LG_OUTCOME_CLEAN);
    ASSERT_EQ(lg_verdict(&none, 1, 1, 0), LG_OUTCOME_LEAKED);
    ASSERT_EQ(lg_verdict(&none, -64, -1, 0), LG_OUTCOME_CLEAN);
    ASSERT_EQ(lg_verdict(&none, 0, 0, 3), LG_OUTCOME_INCONCLUSIVE);
    ASSERT_EQ(lg_verdict(&none, 8, 1, 3), LG_OUTCOME_LEAKED);
    ASSERT_EQ(lg_verdict(&l100, 100, 9, 0), LG_OUTCOME_CLEAN);
    ASSERT_EQ(lg_verdict(&l100, 101, 1, 0), LG_OUTCOME_LEAKED);
    ASSERT_EQ(lg_verdict(&l100, 50, 1, 1), LG_OUTCOME_INCONCLUSIVE);
    ASSERT_EQ(lg_verdict(&c2, 1000, 2, 0), LG_OUTCOME_CLEAN);
    ASSERT_EQ(lg_verdict(&c2, 1000, 3, 0), LG_OUTCOME_LEAKED);
    ASSERT_STR_EQ(lg_outcome_name(LG_OUTCOME_CLEAN), "clean");
    ASSERT_STR_EQ(lg_outcome_name(LG_OUTCOME_LEAKED), "leaked");
    ASSERT_STR_EQ(lg_outcome_name(LG_OUTCOME_INCONCLUSIVE), "inconclusive");
    ASSERT_STR_EQ(lg_outcome_name(LG_OUTCOME_SKIPPED), "skipped");
}

LGT_TEST(result_init_sums_rows)
{
    lg_stats_t *st = sample_stats();
    ASSERT(st);
    lg_result_t r;
    lg_limits_t lim = {104, -1};
    lg_result_init(&r, "t", st, &lim, 0);
    ASSERT_EQ(r.size_diff, 104);
    ASSERT_EQ(r.count_diff, 3);
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN);
    lg_result_init(&r, "t", st, NULL, 0);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    ASSERT_EQ(r.limits.max_count, -1);
    lg_result_init(&r, "t", NULL, NULL, 2);
    ASSERT_EQ(r.outcome, LG_OUTCOME_INCONCLUSIVE);
    lg_stats_free(st);
}

/* ---- failure text ------------------------------------------------------- */

LGT_TEST(failure_text_golden)
{
    lg_stats_t *st = sample_stats();
    ASSERT(st);
    lg_result_t r;
    lg_result_init(&r, "parser::empty_input", st, NULL, 0);
    lg_render_opts_t o = opts_src;
    o.top = 2;
    char *text = lg_render_failure(&r, &o);
    lg_stats_free(st);
    ASSERT_STR_EQ(text, "leakgate: test parser::empty_input leaked 104 B in 3 blocks (limit 0 B)\n"
                        "  64 B in 1 block (+1) allocated at\n"
                        "    #0 buffer_new        src/buffer.c:41         (libparse.so+0x1a2b)\n"
                        "    #1 parser_init       src/parser.c:88\n"
                        "    #2 test_empty_input  tests/test_parser.c:17\n"
                        "  32 B in 1 block (+1) allocated at\n"
                        "    File \"tests/conftest.py\", line 10\n"
                        "    File \"tests/test_x.py\", line 3\n"
                        "    #0 ??       (libc.so.6+0x10)\n"
                        "    #1 PyCFunc  (ext.so+0x20)\n"
                        "  ... and 2 more tracebacks (24 B)\n");
    lg_string_free(text);
}

LGT_TEST(failure_text_default_top_and_limits)
{
    lg_stats_t *st = lg__stats_new();
    ASSERT(st);
    for (int i = 0; i < 7; i++)
        lg__stats_add(st, &tb3, 0, (size_t)(100 - i), 1, 100 - i, 1);
    lg_result_t r;
    lg_limits_t lim = {10, 2};
    lg_result_init(&r, "t", st, &lim, 0);
    char *text = lg_render_failure(&r, &opts_src);
    lg_stats_free(st);
    ASSERT(text);
    ASSERT_CONTAINS(text, "leakgate: test t leaked 679 B in 7 blocks "
                          "(limits 10 B, 2 blocks)\n");
    int rows = 0;
    for (const char *p = text; (p = strstr(p, " allocated at\n")); p++)
        rows++;
    ASSERT_EQ(rows, LG_TOP_DEFAULT);
    ASSERT_CONTAINS(text, "  ... and 2 more tracebacks (189 B)\n");
    lg_string_free(text);
}

LGT_TEST(failure_text_preexisting_blocks_and_one_more)
{
    lg_stats_t *st = lg__stats_new();
    ASSERT(st);
    lg__stats_add(st, &tb3, 0, 256, 4, 64, 1);
    lg__stats_add(st, &tb3, 1, 10240, 1, 10240, 1);
    lg_result_t r;
    lg_result_init(&r, "t", st, NULL, 0);
    lg_render_opts_t o = {.top = 1, .base_dir = ""};
    char *text = lg_render_failure(&r, &o);
    lg_stats_free(st);
    ASSERT_STR_EQ(text, "leakgate: test t leaked 10.1 KiB in 2 blocks (limit 0 B)\n"
                        "  64 B in 1 block (+1; 256 B in 4 blocks now) allocated at\n"
                        "    #0 parser_init  /src/src/parser.c:88\n"
                        "  ... and 1 more traceback (10.0 KiB)\n");
    lg_string_free(text);
}

LGT_TEST(failure_text_clean_and_inconclusive)
{
    lg_result_t r;
    lg_result_init(&r, "t", NULL, NULL, 0);
    char *text = lg_render_failure(&r, NULL);
    ASSERT_STR_EQ(text, "");
    lg_string_free(text);
    r.outcome = LG_OUTCOME_SKIPPED;
    text = lg_render_failure(&r, NULL);
    ASSERT_STR_EQ(text, "");
    lg_string_free(text);
    lg_result_init(&r, "suite::t", NULL, NULL, 3);
    text = lg_render_failure(&r, NULL);
    ASSERT_STR_EQ(text, "leakgate: test suite::t is inconclusive: the tracer "
                        "ran out of memory and lost 3 traces\n");
    lg_string_free(text);
}

LGT_TEST(python_frames_show_source_lines)
{
    char path[] = "/tmp/lg_test_report_XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    const char src[] = "import x\n    y = make()  \r\nz\n";
    ASSERT_EQ(write(fd, src, sizeof src - 1), (long long)(sizeof src - 1));
    close(fd);
    lg_frame_t py = {LG_FRAME_PYTHON, 0, "f", path, 2, NULL, 0};
    const lg_frame_t *frames[] = {&py};
    lg_traceback_t tb = {1, 1, frames};
    lg_render_opts_t o = {.base_dir = ""};
    char *text = lg_render_traceback(&tb, "  ", &o);
    char want[256];
    snprintf(want, sizeof want, "  File \"%s\", line 2\n    y = make()\n", path);
    unlink(path);
    ASSERT_STR_EQ(text, want);
    lg_string_free(text);
}

LGT_TEST(paths_relative_to_base_dir_only_below_it)
{
    lg_frame_t f = {LG_FRAME_NATIVE, 0, "f", "/srcx/a.c", 1, NULL, 0};
    const lg_frame_t *frames[] = {&f};
    lg_traceback_t tb = {1, 1, frames};
    lg_render_opts_t o = {.base_dir = "/src/"};
    char *text = lg_render_traceback(&tb, "", &o);
    ASSERT_STR_EQ(text, "#0 f  /srcx/a.c:1\n");
    lg_string_free(text);
    f.file = "/src/a.c";
    text = lg_render_traceback(&tb, "", &o);
    ASSERT_STR_EQ(text, "#0 f  a.c:1\n");
    lg_string_free(text);
}

LGT_TEST(many_frames_keep_columns)
{
    const lg_frame_t *frames[12];
    for (int i = 0; i < 12; i++)
        frames[i] = &f_parser_init;
    lg_traceback_t tb = {12, 12, frames};
    char *text = lg_render_traceback(&tb, "", &opts_src);
    ASSERT(text);
    ASSERT_CONTAINS(text, "#0  parser_init  src/parser.c:88\n");
    ASSERT_CONTAINS(text, "#11 parser_init  src/parser.c:88\n");
    lg_string_free(text);
}

/* ---- statistics lines ----------------------------------------------------- */

LGT_TEST(stat_lines_like_tracemalloc)
{
    lg_stat_t st = {tb1, 0, 64, 1, 64, 1, -1};
    char *s = lg_render_stat(&st, 0, &opts_src);
    ASSERT_STR_EQ(s, "src/buffer.c:41: size=64 B, count=1, average=64 B");
    lg_string_free(s);
    s = lg_render_stat(&st, 1, &opts_src);
    ASSERT_STR_EQ(s, "src/buffer.c:41: size=64 B (+64 B), count=1 (+1), "
                     "average=64 B");
    lg_string_free(s);
    lg_stat_t gone = {tb1, 0, 0, 0, -20480, -3, -1};
    s = lg_render_stat(&gone, 1, &opts_src);
    ASSERT_STR_EQ(s, "src/buffer.c:41: size=0 B (-20.0 KiB), count=0 (-3)");
    lg_string_free(s);
    lg_stat_t unk = {tb2, 0, 300, 7, 0, 0, -1};
    s = lg_render_stat(&unk, 0, &opts_src);
    ASSERT_STR_EQ(s, "?? (libc.so.6+0x10): size=300 B, count=7, average=43 B");
    lg_string_free(s);
    lg_stat_t py = {{1, 1, (const lg_frame_t *const[]){&f_py_old}}, 1, 10, 1, 0, 0, -1};
    s = lg_render_stat(&py, 0, &opts_src);
    ASSERT_STR_EQ(s, "tests/conftest.py:10: size=10 B, count=1, average=10 B");
    lg_string_free(s);
}

/* A leaked verdict while traces were lost is a lower bound: the text says
 * "at least" and how many were lost, the JSON has lost_traces; a crashed
 * test and a parameterized instance say so in both. */
LGT_TEST(lost_traces_crashed_and_param_in_text_and_json)
{
    lg_stats_t *st = lg__stats_new();
    ASSERT(st);
    lg__stats_add(st, &tb3, 1, 96, 2, 96, 2);
    lg_result_t r;
    lg_result_init(&r, "t", st, NULL, 3025);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    r.has_param = true;
    r.param = 2;
    lg_render_opts_t o = {.top = 1, .base_dir = ""};
    char *text = lg_render_failure(&r, &o);
    ASSERT_CONTAINS(text, "leakgate: test t[2] leaked at least 96 B in 2 blocks (limit 0 B); "
                          "3025 traces lost (the tracer ran out of memory)\n");
    lg_string_free(text);
    lg_json_report_t *rep;
    ASSERT_EQ(lg_json_report_new(&rep), 0);
    ASSERT_EQ(lg_json_report_add(rep, &r, &o), 0);
    lg_result_t c;
    lg_result_init(&c, "s::crash", NULL, NULL, 0);
    c.outcome = LG_OUTCOME_CRASHED;
    c.note = "timed out";
    ASSERT_EQ(lg_json_report_add(rep, &c, NULL), 0);
    char *doc = lg_json_report_string(rep);
    ASSERT_CONTAINS(doc, "{\"id\": \"t\", \"param\": 2, \"outcome\": \"leaked\"");
    ASSERT_CONTAINS(doc, "\"lost_traces\": 3025");
    ASSERT_CONTAINS(doc, "\"outcome\": \"crashed\"");
    ASSERT_CONTAINS(doc, "\"note\": \"timed out\"");
    ASSERT_EQ(lg_json_report_count_outcome(rep, LG_OUTCOME_CRASHED), 1u);
    ASSERT_EQ(lg_json_report_count_outcome(rep, LG_OUTCOME_LEAKED), 1u);
    lgt_keep_json("lost_traces_crashed_param", doc);
    lg_string_free(doc);
    lg_json_report_free(rep);
    text = lg_render_failure(&c, NULL);
    ASSERT_STR_EQ(text, "leakgate: test s::crash timed out: no leak verdict\n");
    lg_string_free(text);
    lg_stats_free(st);
}

/* ---- suppressions and whole-process leaks -------------------------------- */

LGT_TEST(default_suppressions_parse)
{
    lg_filterset_t *set;
    ASSERT_EQ(lg_filterset_new(&set), 0);
    ASSERT_EQ(lg_filterset_add_defaults(set), 0);
    size_t lines = 0;
    for (const char *const *l = lg_default_suppressions(); *l; l++)
        lines += (*l)[0] != '#';
    ASSERT_GT(lines, 20);
    ASSERT_EQ(lg_filterset_count(set), lines);
    /* Each rule says what it hides, in the comment line above it. */
    for (const char *const *l = lg_default_suppressions(); *l; l++)
        if ((*l)[0] != '#' && (l == lg_default_suppressions() || l[-1][0] != '#'))
            LGT_FAIL("default suppression \"%s\" has no comment above it", *l);

    lg_frame_t f = {LG_FRAME_NATIVE, 0, "_IO_file_doallocate", NULL, 0, "/lib/libc.so.6", 1};
    const lg_frame_t *frames[] = {&f_buffer_new, &f};
    lg_traceback_t tb = {2, 2, frames};
    ASSERT_EQ(lg_filterset_match(set, 0, &tb), 0);
    f.function = "setlocale";
    ASSERT_EQ(lg_filterset_match(set, 0, &tb), 0);
    f.function = "main";
    ASSERT_EQ(lg_filterset_match(set, 0, &tb), 1);
    f.module = "/lib64/ld-linux-x86-64.so.2";
    ASSERT_EQ(lg_filterset_match(set, 0, &tb), 0);
    lg_filterset_free(set);
}

LGT_TEST(leaks_from_snapshot_group_and_filter)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    ASSERT(s);
    const lg_frame_t *a[1], *b[1];
    a[0] = lg__snapshot_add_frame(s, &f_buffer_new);
    b[0] = lg__snapshot_add_frame(s, &f_parser_init);
    const lg_traceback_t *ta = lg__snapshot_add_traceback(s, a, 1, 1);
    const lg_traceback_t *tb = lg__snapshot_add_traceback(s, b, 1, 1);
    ASSERT(ta && tb);
    ASSERT_EQ(lg__snapshot_add_trace(s, 0, 10, ta), 0);
    ASSERT_EQ(lg__snapshot_add_trace(s, 0, 100, tb), 0);
    ASSERT_EQ(lg__snapshot_add_trace(s, 0, 20, ta), 0);
    ASSERT_EQ(lg__snapshot_add_trace(s, 1, 5, ta), 0);
    lg__snapshot_seal(s);

    lg_stats_t *st;
    ASSERT_EQ(lg_leaks_from_snapshot(s, NULL, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 3);
    const lg_stat_t *r0 = lg_stats_get(st, 0), *r1 = lg_stats_get(st, 1), *r2 = lg_stats_get(st, 2);
    ASSERT_EQ(r0->size, 100);
    ASSERT_EQ(r0->size_diff, 100);
    ASSERT_STR_EQ(r0->traceback.frames[0]->function, "parser_init");
    ASSERT_EQ(r1->size, 30);
    ASSERT_EQ(r1->count, 2);
    ASSERT_EQ(r1->count_diff, 2);
    ASSERT_EQ(r1->domain, 0);
    ASSERT_EQ(r2->size, 5);
    ASSERT_EQ(r2->domain, 1);
    lg_stats_free(st);

    lg_filterset_t *set;
    char err[128];
    ASSERT_EQ(lg_filterset_new(&set), 0);
    ASSERT_EQ(lg_filterset_parse_line(set, "exclude function=parser_*", err, sizeof err), 0);
    ASSERT_EQ(lg_leaks_from_snapshot(s, set, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 2);
    int64_t size, count;
    lg_stats_totals(st, &size, &count);
    ASSERT_EQ(size, 35);
    ASSERT_EQ(count, 3);
    lg_stats_free(st);
    lg_filterset_free(set);
    lg_snapshot_free(s);
}

LGT_TEST(leaks_from_snapshot_split_by_kind_and_notes)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    ASSERT(s);
    const lg_frame_t *a[1] = {lg__snapshot_add_frame(s, &f_buffer_new)};
    const lg_frame_t *b[1] = {lg__snapshot_add_frame(s, &f_parser_init)};
    const lg_traceback_t *ta = lg__snapshot_add_traceback(s, a, 1, 1);
    const lg_traceback_t *tb = lg__snapshot_add_traceback(s, b, 1, 1);
    ASSERT(ta && tb);
    ASSERT_EQ(lg__snapshot_add_trace_kind(s, 0, 20, ta, LG_KIND_REACHABLE), 0);
    ASSERT_EQ(lg__snapshot_add_trace_kind(s, 0, 10, ta, LG_KIND_DEFINITE), 0);
    ASSERT_EQ(lg__snapshot_add_trace_kind(s, 0, 30, ta, LG_KIND_REACHABLE), 0);
    ASSERT_EQ(lg__snapshot_add_trace_kind(s, 0, 64, tb, LG_KIND_POSSIBLE), 0);
    lg__snapshot_seal(s);

    lg_stats_t *st;
    ASSERT_EQ(lg_leaks_from_snapshot(s, NULL, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 3);
    const lg_stat_t *r0 = lg_stats_get(st, 0), *r1 = lg_stats_get(st, 1), *r2 = lg_stats_get(st, 2);
    ASSERT_EQ(r0->kind, LG_KIND_POSSIBLE);
    ASSERT_EQ(r1->kind, LG_KIND_REACHABLE);
    ASSERT_EQ(r1->size_diff, 50);
    ASSERT_EQ(r1->count_diff, 2);
    ASSERT_EQ(r2->kind, LG_KIND_DEFINITE);
    ASSERT_EQ(r2->size_diff, 10);

    lg_result_t r;
    lg_result_init_kinds(&r, "prog", st, NULL, 0, LG_LEAK_KINDS_DEFAULT);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    ASSERT_EQ(r.size_diff, 10);
    char *notes = lg_render_notes(&r); /* a failure: its text has the notes */
    ASSERT_STR_EQ(notes, "");
    lg_string_free(notes);
    lg_result_init_kinds(&r, "prog", st, NULL, 0, LG_KIND_BIT(LG_KIND_INDIRECT));
    ASSERT_EQ(r.outcome, LG_OUTCOME_CLEAN);
    notes = lg_render_notes(&r);
    ASSERT_STR_EQ(notes, "leakgate: test prog passed; note: definitely lost: 10 B in 1 block "
                         "(not counted); possibly lost: 64 B in 1 block (only a pointer into its "
                         "middle reaches it); still reachable: 50 B in 2 blocks (library state, "
                         "or a logical leak: see --repeat)\n");
    lg_string_free(notes);
    lg_result_init_kinds(&r, "prog", st, NULL, 0, LG_LEAK_KINDS_ALL);
    ASSERT_EQ(r.size_diff, 124);
    lg_result_init_kinds(&r, "prog", st, &(lg_limits_t){.max_size = 200, .max_count = -1}, 0,
                         LG_LEAK_KINDS_ALL);
    notes = lg_render_notes(&r); /* clean, and every kind counted */
    ASSERT_STR_EQ(notes, "");
    lg_string_free(notes);
    lg_stats_free(st);
    lg_snapshot_free(s);
}

LGT_MAIN()
