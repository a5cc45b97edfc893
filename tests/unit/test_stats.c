/*
 * test_stats.c — statistics(), compare_to(), stats rows and their order.
 *
 * The snapshot cases are ports of CPython's Lib/test/test_tracemalloc.py
 * (TestSnapshot.test_snapshot_group_by_*), with the same expected rows in
 * the same order.  Snapshots are built by hand with the snapshot builder,
 * frames most recent first as in _tracemalloc.
 */
#include "lg_internal.h"
#include "lgtest.h"

#include <stdarg.h>

/* ---- helpers ------------------------------------------------------------- */

/* Adds to `s` a traceback of n (file, line) Python frames, most recent first. */
static const lg_traceback_t *py_tb(lg_snapshot_t *s, uint32_t total, int n, ...)
{
    const lg_frame_t *frames[8];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        lg_frame_t f = {.kind = LG_FRAME_PYTHON};
        f.file = va_arg(ap, const char *);
        f.line = va_arg(ap, unsigned);
        frames[i] = lg__snapshot_add_frame(s, &f);
    }
    va_end(ap);
    return lg__snapshot_add_traceback(s, frames, (uint32_t)n, total);
}

/* create_snapshots() of test_tracemalloc.py. */
static void create_snapshots(lg_snapshot_t **s1, lg_snapshot_t **s2)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    const lg_traceback_t *a2 = py_tb(s, 3, 2, "a.py", 2u, "b.py", 4u);
    for (int i = 0; i < 3; i++)
        lg__snapshot_add_trace(s, 0, 10, a2);
    lg__snapshot_add_trace(s, 1, 2, py_tb(s, 3, 2, "a.py", 5u, "b.py", 4u));
    lg__snapshot_add_trace(s, 2, 66, py_tb(s, 1, 1, "b.py", 1u));
    lg__snapshot_add_trace(s, 3, 7, py_tb(s, 1, 1, "<unknown>", 0u));
    lg__snapshot_seal(s);
    *s1 = s;

    s = lg__snapshot_alloc();
    a2 = py_tb(s, 3, 2, "a.py", 2u, "b.py", 4u);
    for (int i = 0; i < 3; i++)
        lg__snapshot_add_trace(s, 0, 10, a2);
    lg__snapshot_add_trace(s, 2, 2, py_tb(s, 3, 2, "a.py", 5u, "b.py", 4u));
    lg__snapshot_add_trace(s, 2, 5000, py_tb(s, 3, 2, "a.py", 5u, "b.py", 4u));
    lg__snapshot_add_trace(s, 4, 400, py_tb(s, 1, 1, "c.py", 578u));
    lg__snapshot_seal(s);
    *s2 = s;
}

/* Renders rows as "file:line size count[ size_diff count_diff];..." with
 * the frames of a traceback key joined by '<' (most recent first). */
static const char *rows_str(const lg_stats_t *st, int diffs)
{
    static char buf[2048];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < lg_stats_count(st); i++) {
        const lg_stat_t *r = lg_stats_get(st, i);
        if (i)
            n += (size_t)snprintf(buf + n, sizeof buf - n, ";");
        for (uint32_t j = 0; j < r->traceback.nframes; j++) {
            const lg_frame_t *f = r->traceback.frames[j];
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s:%u", j ? "<" : "",
                                  f->file ? f->file : "(null)", f->line);
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %zu %zu", r->size, r->count);
        if (diffs)
            n += (size_t)snprintf(buf + n, sizeof buf - n, " %+" PRId64 " %+" PRId64, r->size_diff,
                                  r->count_diff);
    }
    return buf;
}

static const char *stats_of(const lg_snapshot_t *s, lg_key_type_t key, int cumulative)
{
    lg_stats_t *st;
    int rc = lg_snapshot_statistics(s, key, cumulative, &st);
    if (rc)
        return lg_strerror(rc);
    const char *r = rows_str(st, 0);
    lg_stats_free(st);
    return r;
}

static const char *diff_of(const lg_snapshot_t *s, const lg_snapshot_t *old, lg_key_type_t key,
                           int cumulative)
{
    lg_stats_t *st;
    int rc = lg_snapshot_compare(s, old, key, cumulative, &st);
    if (rc)
        return lg_strerror(rc);
    const char *r = rows_str(st, 1);
    lg_stats_free(st);
    return r;
}

/* ---- TestSnapshot -------------------------------------------------------- */

LGT_TEST(group_by_line)
{
    lg_snapshot_t *s1, *s2;
    create_snapshots(&s1, &s2);
    ASSERT_STR_EQ(stats_of(s1, LG_KEY_LINENO, 0),
                  "b.py:1 66 1;a.py:2 30 3;<unknown>:0 7 1;a.py:5 2 1");
    ASSERT_STR_EQ(stats_of(s2, LG_KEY_LINENO, 0), "a.py:5 5002 2;c.py:578 400 1;a.py:2 30 3");
    ASSERT_STR_EQ(diff_of(s2, s1, LG_KEY_LINENO, 0),
                  "a.py:5 5002 2 +5000 +1;c.py:578 400 1 +400 +1;"
                  "b.py:1 0 0 -66 -1;<unknown>:0 0 0 -7 -1;a.py:2 30 3 +0 +0");
    lg_snapshot_free(s1);
    lg_snapshot_free(s2);
}

LGT_TEST(group_by_file)
{
    lg_snapshot_t *s1, *s2;
    create_snapshots(&s1, &s2);
    ASSERT_STR_EQ(stats_of(s1, LG_KEY_FILENAME, 0), "b.py:0 66 1;a.py:0 32 4;<unknown>:0 7 1");
    ASSERT_STR_EQ(stats_of(s2, LG_KEY_FILENAME, 0), "a.py:0 5032 5;c.py:0 400 1");
    ASSERT_STR_EQ(diff_of(s2, s1, LG_KEY_FILENAME, 0),
                  "a.py:0 5032 5 +5000 +1;c.py:0 400 1 +400 +1;"
                  "b.py:0 0 0 -66 -1;<unknown>:0 0 0 -7 -1");
    lg_snapshot_free(s1);
    lg_snapshot_free(s2);
}

LGT_TEST(group_by_traceback)
{
    lg_snapshot_t *s1, *s2;
    create_snapshots(&s1, &s2);
    ASSERT_STR_EQ(stats_of(s1, LG_KEY_TRACEBACK, 0),
                  "b.py:1 66 1;a.py:2<b.py:4 30 3;<unknown>:0 7 1;a.py:5<b.py:4 2 1");
    ASSERT_STR_EQ(stats_of(s2, LG_KEY_TRACEBACK, 0),
                  "a.py:5<b.py:4 5002 2;c.py:578 400 1;a.py:2<b.py:4 30 3");
    ASSERT_STR_EQ(diff_of(s2, s1, LG_KEY_TRACEBACK, 0),
                  "a.py:5<b.py:4 5002 2 +5000 +1;c.py:578 400 1 +400 +1;"
                  "b.py:1 0 0 -66 -1;<unknown>:0 0 0 -7 -1;a.py:2<b.py:4 30 3 +0 +0");
    /* cumulative mode cannot be used with key type traceback */
    lg_stats_t *st = (lg_stats_t *)1;
    ASSERT_EQ(lg_snapshot_statistics(s1, LG_KEY_TRACEBACK, 1, &st), LG_EINVAL);
    ASSERT(st == NULL);
    ASSERT_EQ(lg_snapshot_compare(s2, s1, LG_KEY_TRACEBACK, 1, &st), LG_EINVAL);
    ASSERT_EQ(lg_snapshot_statistics(s1, (lg_key_type_t)7, 0, &st), LG_EINVAL);
    lg_snapshot_free(s1);
    lg_snapshot_free(s2);
}

LGT_TEST(group_by_cumulative)
{
    lg_snapshot_t *s1, *s2;
    create_snapshots(&s1, &s2);
    ASSERT_STR_EQ(stats_of(s1, LG_KEY_FILENAME, 1), "b.py:0 98 5;a.py:0 32 4;<unknown>:0 7 1");
    ASSERT_STR_EQ(stats_of(s1, LG_KEY_LINENO, 1),
                  "b.py:1 66 1;b.py:4 32 4;a.py:2 30 3;<unknown>:0 7 1;a.py:5 2 1");
    ASSERT_STR_EQ(diff_of(s2, s1, LG_KEY_FILENAME, 1),
                  "a.py:0 5032 5 +5000 +1;b.py:0 5032 5 +4934 +0;"
                  "c.py:0 400 1 +400 +1;<unknown>:0 0 0 -7 -1");
    lg_snapshot_free(s1);
    lg_snapshot_free(s2);
}

/* A block counts once per distinct key frame: recursion through the same
 * line or file does not count it twice. */
/* As tracemalloc: a block counts once per frame, recursion included. */
LGT_TEST(cumulative_counts_every_frame)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    lg__snapshot_add_trace(s, 0, 8, py_tb(s, 4, 4, "a.c", 1u, "a.c", 2u, "a.c", 1u, "b.c", 9u));
    lg__snapshot_seal(s);
    ASSERT_STR_EQ(stats_of(s, LG_KEY_FILENAME, 1), "a.c:0 24 3;b.c:0 8 1");
    ASSERT_STR_EQ(stats_of(s, LG_KEY_LINENO, 1), "a.c:1 16 2;b.c:9 8 1;a.c:2 8 1");
    lg_snapshot_free(s);
}

LGT_TEST(empty_snapshot)
{
    lg_snapshot_t *s = lg__snapshot_alloc(), *t = lg__snapshot_alloc();
    lg__snapshot_seal(s);
    lg__snapshot_seal(t);
    lg_stats_t *st;
    ASSERT_EQ(lg_snapshot_statistics(s, LG_KEY_LINENO, 0, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 0);
    ASSERT(lg_stats_get(st, 0) == NULL);
    lg_stats_free(st);
    ASSERT_EQ(lg_snapshot_compare(s, t, LG_KEY_TRACEBACK, 0, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 0);
    lg_stats_free(st);
    lg_snapshot_free(s);
    lg_snapshot_free(t);
}

/* ---- native frames ------------------------------------------------------- */

static const lg_frame_t *native(lg_snapshot_t *s, const char *function, const char *file,
                                unsigned line, const char *module, uint64_t offset, uintptr_t addr)
{
    lg_frame_t f = {.kind = LG_FRAME_NATIVE,
                    .addr = addr,
                    .function = function,
                    .file = file,
                    .line = line,
                    .module = module,
                    .offset = offset};
    return lg__snapshot_add_frame(s, &f);
}

static const lg_traceback_t *tb1(lg_snapshot_t *s, const lg_frame_t *f)
{
    return lg__snapshot_add_traceback(s, &f, 1, 1);
}

/* lineno: same file:line groups whatever the address, keeping the first
 * frame's function; frames without a file stay apart by function/offset. */
LGT_TEST(native_lineno_grouping)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    lg__snapshot_add_trace(s, 0, 10,
                           tb1(s, native(s, "buffer_new", "buf.c", 41, "libp.so", 0x10, 0x1010)));
    lg__snapshot_add_trace(s, 0, 20,
                           tb1(s, native(s, "buffer_new2", "buf.c", 41, "libp.so", 0x18, 0x1018)));
    lg__snapshot_add_trace(s, 0, 5, tb1(s, native(s, "f", NULL, 0, "libq.so", 0x100, 0x2100)));
    lg__snapshot_add_trace(s, 0, 5, tb1(s, native(s, "g", NULL, 0, "libq.so", 0x200, 0x2200)));
    lg__snapshot_add_trace(s, 0, 1, tb1(s, native(s, "f", NULL, 0, "libq.so", 0x100, 0x2100)));
    lg__snapshot_seal(s);

    lg_stats_t *st;
    ASSERT_EQ(lg_snapshot_statistics(s, LG_KEY_LINENO, 0, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 3);
    const lg_stat_t *r = lg_stats_get(st, 0);
    ASSERT_STR_EQ(r->traceback.frames[0]->file, "buf.c");
    ASSERT_STR_EQ(r->traceback.frames[0]->function, "buffer_new");
    ASSERT_EQ(r->size, 30);
    ASSERT_EQ(r->count, 2);
    /* f (6 B) before g (5 B) */
    ASSERT_STR_EQ(lg_stats_get(st, 1)->traceback.frames[0]->function, "f");
    ASSERT_EQ(lg_stats_get(st, 1)->size, 6);
    ASSERT_STR_EQ(lg_stats_get(st, 1)->traceback.frames[0]->module, "libq.so");
    ASSERT_STR_EQ(lg_stats_get(st, 2)->traceback.frames[0]->function, "g");
    lg_stats_free(st);

    /* filename: the file only, unknown files as "<unknown>" */
    ASSERT_EQ(lg_snapshot_statistics(s, LG_KEY_FILENAME, 0, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 2);
    r = lg_stats_get(st, 0);
    ASSERT_STR_EQ(r->traceback.frames[0]->file, "buf.c");
    ASSERT(r->traceback.frames[0]->function == NULL);
    ASSERT(r->traceback.frames[0]->module == NULL);
    ASSERT_EQ(r->traceback.frames[0]->line, 0);
    ASSERT_EQ(r->traceback.frames[0]->addr, 0);
    ASSERT_STR_EQ(lg_stats_get(st, 1)->traceback.frames[0]->file, "<unknown>");
    ASSERT_EQ(lg_stats_get(st, 1)->size, 11);
    lg_stats_free(st);
    lg_snapshot_free(s);
}

/* Frames of another process (other load addresses, same module offsets)
 * are the same place: compare_to works across runs. */
LGT_TEST(native_compare_across_processes)
{
    lg_snapshot_t *old = lg__snapshot_alloc(), *now = lg__snapshot_alloc();
    lg__snapshot_add_trace(old, 0, 5,
                           tb1(old, native(old, "f", NULL, 0, "libq.so", 0x100, 0x7f00100)));
    lg__snapshot_add_trace(now, 0, 9,
                           tb1(now, native(now, "f", NULL, 0, "libq.so", 0x100, 0x5500100)));
    lg__snapshot_seal(old);
    lg__snapshot_seal(now);
    lg_stats_t *st;
    ASSERT_EQ(lg_snapshot_compare(now, old, LG_KEY_TRACEBACK, 0, &st), 0);
    ASSERT_EQ(lg_stats_count(st), 1);
    ASSERT_EQ(lg_stats_get(st, 0)->size_diff, 4);
    ASSERT_EQ(lg_stats_get(st, 0)->count_diff, 0);
    lg_stats_free(st);
    lg_snapshot_free(old);
    lg_snapshot_free(now);
}

/* ---- ordering ------------------------------------------------------------ */

/* Tracebacks compare as tuples of (filename, lineno), oldest frame first;
 * a traceback that is a prefix (from the oldest end) is smaller. */
LGT_TEST(traceback_order)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    const lg_traceback_t *x = py_tb(s, 2, 2, "z.py", 9u, "b.py", 1u);
    const lg_traceback_t *y = py_tb(s, 2, 2, "a.py", 1u, "c.py", 1u);
    const lg_traceback_t *b1 = py_tb(s, 1, 1, "b.py", 1u);
    const lg_traceback_t *b2 = py_tb(s, 1, 1, "b.py", 2u);
    const lg_traceback_t *b10 = py_tb(s, 1, 1, "b.py", 10u);
    ASSERT_LT(lg__traceback_cmp(x, y), 0);
    ASSERT_GT(lg__traceback_cmp(y, x), 0);
    ASSERT_LT(lg__traceback_cmp(b1, x), 0);
    ASSERT_LT(lg__traceback_cmp(b1, b2), 0);
    ASSERT_LT(lg__traceback_cmp(b2, b10), 0);
    ASSERT_EQ(lg__traceback_cmp(x, x), 0);
    /* Strings compare bytewise, as Python compares code points. */
    const lg_traceback_t *upper = py_tb(s, 1, 1, "B.py", 1u);
    ASSERT_LT(lg__traceback_cmp(upper, b1), 0);

    /* Equal size and count: biggest traceback first. */
    for (int i = 0; i < 2; i++) {
        lg__snapshot_add_trace(s, 0, 4, y);
        lg__snapshot_add_trace(s, 0, 4, b2);
        lg__snapshot_add_trace(s, 0, 4, x);
        lg__snapshot_add_trace(s, 0, 4, b10);
    }
    lg__snapshot_seal(s);
    ASSERT_STR_EQ(stats_of(s, LG_KEY_TRACEBACK, 0),
                  "a.py:1<c.py:1 8 2;b.py:10 8 2;b.py:2 8 2;z.py:9<b.py:1 8 2");
    lg_snapshot_free(s);
}

/* StatisticDiff order: |size_diff|, size, |count_diff|, count, traceback. */
LGT_TEST(diff_order)
{
    lg_stats_t *st = lg__stats_new();
    lg_frame_t f = {.kind = LG_FRAME_PYTHON, .line = 1};
    const lg_frame_t *fp = &f;
    lg_traceback_t tb = {1, 1, &fp};
    struct {
        const char *file;
        size_t size, count;
        int64_t sd, cd;
    } rows[] = {
        {"a", 0, 0, -100, -1}, {"b", 100, 1, 100, 1},  {"c", 50, 1, -100, -1},
        {"d", 100, 3, 100, 2}, {"e", 100, 3, 100, -2}, {"f", 100, 4, 100, 2},
        {"g", 100, 4, 100, 2}, {"h", 10, 1, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        f.file = rows[i].file;
        ASSERT_EQ(lg__stats_add(st, &tb, 0, rows[i].size, rows[i].count, rows[i].sd, rows[i].cd),
                  0);
    }
    lg__stats_sort(st, 1);
    ASSERT_STR_EQ(rows_str(st, 1), "g:1 100 4 +100 +2;f:1 100 4 +100 +2;e:1 100 3 +100 -2;"
                                   "d:1 100 3 +100 +2;b:1 100 1 +100 +1;c:1 50 1 -100 -1;"
                                   "a:1 0 0 -100 -1;h:1 10 1 +0 +0");
    int64_t sd, cd;
    lg_stats_totals(st, &sd, &cd);
    ASSERT_EQ(sd, 300);
    ASSERT_EQ(cd, 3);
    lg_stats_totals(st, NULL, NULL);

    /* statistics() order on the same rows: size, count, traceback */
    lg__stats_sort(st, 0);
    ASSERT_STR_EQ(rows_str(st, 0), "g:1 100 4;f:1 100 4;e:1 100 3;d:1 100 3;b:1 100 1;c:1 50 1;"
                                   "h:1 10 1;a:1 0 0");
    lg_stats_free(st);
}

/* ---- rows: ownership, domains, filtering --------------------------------- */

/* Rows are deep copies: they outlive the snapshot (lg_mark_diff builds its
 * keys in a scratch snapshot that it frees at once). */
LGT_TEST(rows_outlive_source)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    char file[] = "src/buffer.c", fn[] = "buffer_new", mod[] = "/lib/libp.so";
    const lg_traceback_t *tb = lg__snapshot_add_traceback(
        s,
        (const lg_frame_t *[]){native(s, fn, file, 41, mod, 0x1a2b, 0x41a2b),
                               native(s, "main", "main.c", 3, "/bin/p", 0x10, 0x10)},
        2, 5);
    lg_stats_t *st = lg__stats_new();
    ASSERT_EQ(lg__stats_add(st, tb, 1, 64, 1, 64, 1), 0);
    ASSERT_EQ(lg__stats_add(st, tb, 0, 32, 1, 32, 1), 0);
    lg_snapshot_free(s);
    memset(file, 'x', sizeof file - 1);
    lg__stats_sort(st, 1);
    const lg_stat_t *r = lg_stats_get(st, 0);
    ASSERT_EQ(r->domain, 1);
    ASSERT_EQ(r->traceback.nframes, 2);
    ASSERT_EQ(r->traceback.total_nframe, 5);
    ASSERT_STR_EQ(r->traceback.frames[0]->file, "src/buffer.c");
    ASSERT_STR_EQ(r->traceback.frames[0]->function, "buffer_new");
    ASSERT_STR_EQ(r->traceback.frames[0]->module, "/lib/libp.so");
    ASSERT_EQ(r->traceback.frames[0]->offset, 0x1a2b);
    ASSERT_EQ(r->traceback.frames[0]->addr, 0x41a2b);
    ASSERT_STR_EQ(r->traceback.frames[1]->function, "main");
    ASSERT_EQ(lg_stats_get(st, 1)->domain, 0);

    /* lg_stats_filter keeps the rows that pass, by domain and traceback */
    lg_filterset_t *set;
    lg_filterset_new(&set);
    char err[128];
    ASSERT_EQ(lg_filterset_parse_line(set, "exclude-domain 1", err, sizeof err), 0);
    lg_stats_t *fs;
    ASSERT_EQ(lg_stats_filter(st, set, &fs), 0);
    ASSERT_EQ(lg_stats_count(fs), 1);
    ASSERT_EQ(lg_stats_get(fs, 0)->domain, 0);
    ASSERT_EQ(lg_stats_get(fs, 0)->size, 32);
    lg_stats_free(st);
    ASSERT_STR_EQ(lg_stats_get(fs, 0)->traceback.frames[0]->file, "src/buffer.c");
    int64_t sd;
    lg_stats_totals(fs, &sd, NULL);
    ASSERT_EQ(sd, 32);
    lg_stats_free(fs);
    lg_filterset_free(set);
}

LGT_TEST(stats_filter_by_frame)
{
    lg_snapshot_t *s1, *s2;
    create_snapshots(&s1, &s2);
    lg_stats_t *st, *fs;
    ASSERT_EQ(lg_snapshot_compare(s2, s1, LG_KEY_LINENO, 0, &st), 0);
    lg_filterset_t *set;
    lg_filterset_new(&set);
    char err[128];
    ASSERT_EQ(lg_filterset_parse_line(set, "exclude file=a.py", err, sizeof err), 0);
    ASSERT_EQ(lg_stats_filter(st, set, &fs), 0);
    ASSERT_STR_EQ(rows_str(fs, 1),
                  "c.py:578 400 1 +400 +1;b.py:1 0 0 -66 -1;<unknown>:0 0 0 -7 -1");
    int64_t sd, cd;
    lg_stats_totals(fs, &sd, &cd);
    ASSERT_EQ(sd, 327);
    ASSERT_EQ(cd, -1);
    lg_stats_free(fs);
    lg_stats_free(st);
    lg_filterset_free(set);
    lg_snapshot_free(s1);
    lg_snapshot_free(s2);
}

LGT_MAIN()
