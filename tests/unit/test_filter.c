/*
 * test_filter.c — filters, suppression lines and files, filter_traces.
 *
 * The tracemalloc cases are ports of CPython's Lib/test/test_tracemalloc.py
 * (TestFilters, TestSnapshot.test_filter_traces*).  One difference is by
 * design: lineno 0 means "any line" (tracemalloc's None), so tracemalloc's
 * Filter(..., lineno=0) has no equivalent.  Snapshots are built by hand with
 * the snapshot builder, frames most recent first as in _tracemalloc.
 */
#include "lg_internal.h"
#include "lgtest.h"

#include <stdarg.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

/* A one-frame traceback on the stack, for matching single frames. */
struct one {
    lg_frame_t f;
    const lg_frame_t *fp;
    lg_traceback_t tb;
};

static const lg_traceback_t *one_frame(struct one *o, const char *file, unsigned line)
{
    o->f = (lg_frame_t){.kind = LG_FRAME_PYTHON, .file = file, .line = line};
    o->fp = &o->f;
    o->tb = (lg_traceback_t){1, 1, &o->fp};
    return &o->tb;
}

/* Filter(inclusive, pattern, lineno)._match_frame(file, line): with a single
 * filter, lg_filterset_match() returns exactly Filter._match(). */
static int match_frame(int inclusive, const char *pattern, unsigned lineno, const char *file,
                       unsigned line)
{
    lg_filterset_t *set;
    lg_filterset_new(&set);
    lg_filter_t f = {.kind = LG_FILTER_TRACE,
                     .inclusive = inclusive,
                     .filename_pattern = pattern,
                     .lineno = lineno,
                     .domain = -1};
    int rc = lg_filterset_add(set, &f);
    struct one o;
    int m = rc ? -1 : lg_filterset_match(set, 0, one_frame(&o, file, line));
    lg_filterset_free(set);
    return m;
}

/* Adds to `s` a traceback of n (file, line) frames, most recent first. */
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

/* create_snapshots()[0] of test_tracemalloc.py. */
static lg_snapshot_t *create_snapshot(void)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    const lg_traceback_t *a2 = py_tb(s, 3, 2, "a.py", 2u, "b.py", 4u);
    const lg_traceback_t *a5 = py_tb(s, 3, 2, "a.py", 5u, "b.py", 4u);
    const lg_traceback_t *b1 = py_tb(s, 1, 1, "b.py", 1u);
    const lg_traceback_t *unk = py_tb(s, 1, 1, "<unknown>", 0u);
    for (int i = 0; i < 3; i++)
        lg__snapshot_add_trace(s, 0, 10, a2);
    lg__snapshot_add_trace(s, 1, 2, a5);
    lg__snapshot_add_trace(s, 2, 66, b1);
    lg__snapshot_add_trace(s, 3, 7, unk);
    s->traceback_limit = 2;
    s->metrics.traced_current = 123;
    lg__snapshot_seal(s);
    return s;
}

/* Renders the traces as "domain/size/file:line;..." for one comparison. */
static const char *traces_str(const lg_snapshot_t *s)
{
    static char buf[1024];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < lg_snapshot_count(s); i++) {
        const lg_trace_t *t = lg_snapshot_trace(s, i);
        const lg_frame_t *f = t->traceback->frames[0];
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%u/%zu/%s:%u", i ? ";" : "", t->domain,
                              t->size, f->file, f->line);
    }
    return buf;
}

static const char *filtered(const lg_snapshot_t *s, const lg_filter_t *fs, int n)
{
    lg_filterset_t *set;
    lg_snapshot_t *out = NULL;
    lg_filterset_new(&set);
    for (int i = 0; i < n; i++)
        lg_filterset_add(set, &fs[i]);
    if (lg_snapshot_filter(s, set, &out) != 0)
        return "(error)";
    const char *r = traces_str(out);
    lg_snapshot_free(out);
    lg_filterset_free(set);
    return r;
}

static lg_filter_t trace_filter(int inclusive, const char *pattern, unsigned lineno)
{
    return (lg_filter_t){.kind = LG_FILTER_TRACE,
                         .inclusive = inclusive,
                         .filename_pattern = pattern,
                         .lineno = lineno,
                         .domain = -1};
}

/* ---- the set ------------------------------------------------------------- */

LGT_TEST(filter_attributes)
{
    lg_filterset_t *set;
    ASSERT_EQ(lg_filterset_new(&set), 0);
    ASSERT_EQ(lg_filterset_count(set), 0);
    /* The set keeps its own copy of the patterns. */
    char pat[] = "test.py";
    lg_filter_t f = trace_filter(0, pat, 123);
    f.all_frames = 1;
    ASSERT_EQ(lg_filterset_add(set, &f), 0);
    ASSERT_EQ(lg_filterset_count(set), 1);
    pat[0] = 'X';
    struct one o;
    ASSERT_EQ(lg_filterset_match(set, 0, one_frame(&o, "test.py", 123)), 0);
    ASSERT_EQ(lg_filterset_match(set, 0, one_frame(&o, "test.py", 124)), 1);

    lg_filter_t bad = f;
    bad.kind = 7;
    ASSERT_EQ(lg_filterset_add(set, &bad), LG_EINVAL);
    bad = f;
    bad.domain = -2;
    ASSERT_EQ(lg_filterset_add(set, &bad), LG_EINVAL);
    bad.domain = (int64_t)UINT32_MAX + 1;
    ASSERT_EQ(lg_filterset_add(set, &bad), LG_EINVAL);
    bad = (lg_filter_t){.kind = LG_FILTER_DOMAIN, .domain = -1};
    ASSERT_EQ(lg_filterset_add(set, &bad), LG_EINVAL);
    ASSERT_EQ(lg_filterset_add(NULL, &f), LG_EINVAL);
    ASSERT_EQ(lg_filterset_count(set), 1);
    lg_filterset_free(set);
    lg_filterset_free(NULL);
}

LGT_TEST(empty_set_keeps_everything)
{
    lg_filterset_t *set;
    lg_filterset_new(&set);
    struct one o;
    ASSERT_EQ(lg_filterset_match(set, 7, one_frame(&o, "x.c", 1)), 1);
    ASSERT_EQ(lg_filterset_match(NULL, 7, one_frame(&o, "x.c", 1)), 1);
    lg_filterset_free(set);
}

/* ---- TestFilters --------------------------------------------------------- */

LGT_TEST(filter_match)
{
    /* filter without line number */
    ASSERT_EQ(match_frame(1, "abc", 0, "abc", 0), 1);
    ASSERT_EQ(match_frame(1, "abc", 0, "abc", 5), 1);
    ASSERT_EQ(match_frame(1, "abc", 0, "abc", 10), 1);
    ASSERT_EQ(match_frame(1, "abc", 0, "12356", 0), 0);
    ASSERT_EQ(match_frame(1, "abc", 0, "12356", 5), 0);
    ASSERT_EQ(match_frame(1, "abc", 0, "12356", 10), 0);

    ASSERT_EQ(match_frame(0, "abc", 0, "abc", 0), 0);
    ASSERT_EQ(match_frame(0, "abc", 0, "abc", 5), 0);
    ASSERT_EQ(match_frame(0, "abc", 0, "abc", 10), 0);
    ASSERT_EQ(match_frame(0, "abc", 0, "12356", 0), 1);
    ASSERT_EQ(match_frame(0, "abc", 0, "12356", 5), 1);
    ASSERT_EQ(match_frame(0, "abc", 0, "12356", 10), 1);

    /* filter with line number > 0 */
    ASSERT_EQ(match_frame(1, "abc", 5, "abc", 0), 0);
    ASSERT_EQ(match_frame(1, "abc", 5, "abc", 5), 1);
    ASSERT_EQ(match_frame(1, "abc", 5, "abc", 10), 0);
    ASSERT_EQ(match_frame(1, "abc", 5, "12356", 0), 0);
    ASSERT_EQ(match_frame(1, "abc", 5, "12356", 5), 0);
    ASSERT_EQ(match_frame(1, "abc", 5, "12356", 10), 0);

    ASSERT_EQ(match_frame(0, "abc", 5, "abc", 0), 1);
    ASSERT_EQ(match_frame(0, "abc", 5, "abc", 5), 0);
    ASSERT_EQ(match_frame(0, "abc", 5, "abc", 10), 1);
    ASSERT_EQ(match_frame(0, "abc", 5, "12356", 0), 1);
    ASSERT_EQ(match_frame(0, "abc", 5, "12356", 5), 1);
    ASSERT_EQ(match_frame(0, "abc", 5, "12356", 10), 1);
}

LGT_TEST(filter_match_filename)
{
    ASSERT_EQ(match_frame(1, "abc", 0, "abc", 0), 1);
    ASSERT_EQ(match_frame(1, "abc", 0, "12356", 0), 0);
    ASSERT_EQ(match_frame(1, "abc", 0, "<unknown>", 0), 0);

    ASSERT_EQ(match_frame(0, "abc", 0, "abc", 0), 0);
    ASSERT_EQ(match_frame(0, "abc", 0, "12356", 0), 1);
    ASSERT_EQ(match_frame(0, "abc", 0, "<unknown>", 0), 1);

    /* An unknown file (NULL) reads as "<unknown>", as in tracemalloc. */
    ASSERT_EQ(match_frame(1, "<unknown>", 0, NULL, 0), 1);
    ASSERT_EQ(match_frame(1, "*", 0, NULL, 0), 1);
    ASSERT_EQ(match_frame(1, "abc", 0, NULL, 0), 0);
}

LGT_TEST(filter_match_filename_joker)
{
#define J(file, pat) match_frame(1, pat, 0, file, 0)
    /* empty string */
    ASSERT_EQ(J("abc", ""), 0);
    ASSERT_EQ(J("", "abc"), 0);
    ASSERT_EQ(J("", ""), 1);
    ASSERT_EQ(J("", "*"), 1);
    /* no * */
    ASSERT_EQ(J("abc", "abc"), 1);
    ASSERT_EQ(J("abc", "abcd"), 0);
    ASSERT_EQ(J("abc", "def"), 0);
    /* a* */
    ASSERT_EQ(J("abc", "a*"), 1);
    ASSERT_EQ(J("abc", "abc*"), 1);
    ASSERT_EQ(J("abc", "b*"), 0);
    ASSERT_EQ(J("abc", "abcd*"), 0);
    /* a*b */
    ASSERT_EQ(J("abc", "a*c"), 1);
    ASSERT_EQ(J("abcdcx", "a*cx"), 1);
    ASSERT_EQ(J("abb", "a*c"), 0);
    ASSERT_EQ(J("abcdce", "a*cx"), 0);
    /* a*b*c */
    ASSERT_EQ(J("abcde", "a*c*e"), 1);
    ASSERT_EQ(J("abcbdefeg", "a*bd*eg"), 1);
    ASSERT_EQ(J("abcdd", "a*c*e"), 0);
    ASSERT_EQ(J("abcbdefef", "a*bd*eg"), 0);
    /* .pyc suffix read as .py */
    ASSERT_EQ(J("a.pyc", "a.py"), 1);
    ASSERT_EQ(J("a.py", "a.pyc"), 1);
    /* case sensitive */
    ASSERT_EQ(J("aBC", "ABc"), 0);
    ASSERT_EQ(J("aBcDe", "Ab*dE"), 0);
    ASSERT_EQ(J("a.pyc", "a.PY"), 0);
    ASSERT_EQ(J("a.py", "a.PYC"), 0);
    /* no alternate separator */
    ASSERT_EQ(J("a/b", "a\\b"), 0);
    ASSERT_EQ(J("a\\b", "a/b"), 0);
    ASSERT_EQ(J("a/b\\c", "a\\b/c"), 0);
    ASSERT_EQ(J("a/b/c", "a\\b\\c"), 0);
    /* .pyo is not munged */
    ASSERT_EQ(J("a.pyo", "a.py"), 0);
    /* '*' crosses '/', like Python's fnmatch; '\\' is not an escape */
    ASSERT_EQ(J("/src/lib/x.c", "*/x.c"), 1);
    ASSERT_EQ(J("/src/lib/x.c", "/src/*.c"), 1);
    ASSERT_EQ(J("a\\*", "a\\*"), 1);
    ASSERT_EQ(J("a\\b", "a\\*"), 1);
    ASSERT_EQ(J("x1.c", "x[0-9].c"), 1);
    ASSERT_EQ(J("x1.c", "x?.c"), 1);
#undef J
}

/* Filter._match_traceback() through a one-filter set. */
static int match_tb(int inclusive, const char *pattern, int all_frames, const lg_traceback_t *tb)
{
    lg_filterset_t *set;
    lg_filterset_new(&set);
    lg_filter_t f = trace_filter(inclusive, pattern, 0);
    f.all_frames = all_frames;
    lg_filterset_add(set, &f);
    int m = lg_filterset_match(set, 0, tb);
    lg_filterset_free(set);
    return m;
}

LGT_TEST(filter_match_trace)
{
    lg_snapshot_t *s = lg__snapshot_alloc();
    const lg_traceback_t *t1 = py_tb(s, 2, 2, "a.py", 2u, "b.py", 3u);
    const lg_traceback_t *t2 = py_tb(s, 2, 2, "b.py", 4u, "b.py", 5u);
    const lg_traceback_t *t3 = py_tb(s, 2, 2, "c.py", 5u, "<unknown>", 0u);
    const lg_traceback_t *unknown = py_tb(s, 1, 1, "<unknown>", 0u);
    const lg_traceback_t empty = {0, 0, NULL};

    ASSERT_EQ(match_tb(1, "b.py", 1, t1), 1);
    ASSERT_EQ(match_tb(1, "b.py", 1, t2), 1);
    ASSERT_EQ(match_tb(1, "b.py", 1, t3), 0);
    ASSERT_EQ(match_tb(1, "b.py", 1, unknown), 0);

    ASSERT_EQ(match_tb(1, "b.py", 0, t1), 0);
    ASSERT_EQ(match_tb(1, "b.py", 0, t2), 1);
    ASSERT_EQ(match_tb(1, "b.py", 0, t3), 0);
    ASSERT_EQ(match_tb(1, "b.py", 0, unknown), 0);

    ASSERT_EQ(match_tb(0, "b.py", 1, t1), 0);
    ASSERT_EQ(match_tb(0, "b.py", 1, t2), 0);
    ASSERT_EQ(match_tb(0, "b.py", 1, t3), 1);
    ASSERT_EQ(match_tb(0, "b.py", 1, unknown), 1);

    ASSERT_EQ(match_tb(0, "b.py", 0, t1), 1);
    ASSERT_EQ(match_tb(0, "b.py", 0, t2), 0);
    ASSERT_EQ(match_tb(0, "b.py", 0, t3), 1);
    ASSERT_EQ(match_tb(0, "b.py", 0, unknown), 1);

    ASSERT_EQ(match_tb(0, "<unknown>", 0, t1), 1);
    ASSERT_EQ(match_tb(0, "<unknown>", 0, t2), 1);
    ASSERT_EQ(match_tb(0, "<unknown>", 0, t3), 1);
    ASSERT_EQ(match_tb(0, "<unknown>", 0, unknown), 0);

    ASSERT_EQ(match_tb(1, "<unknown>", 1, t1), 0);
    ASSERT_EQ(match_tb(1, "<unknown>", 1, t2), 0);
    ASSERT_EQ(match_tb(1, "<unknown>", 1, t3), 1);
    ASSERT_EQ(match_tb(1, "<unknown>", 1, unknown), 1);

    ASSERT_EQ(match_tb(0, "<unknown>", 1, t1), 1);
    ASSERT_EQ(match_tb(0, "<unknown>", 1, t2), 1);
    ASSERT_EQ(match_tb(0, "<unknown>", 1, t3), 0);
    ASSERT_EQ(match_tb(0, "<unknown>", 1, unknown), 0);

    /* An empty traceback (or NULL) is the "<unknown>" traceback. */
    ASSERT_EQ(match_tb(1, "<unknown>", 0, &empty), 1);
    ASSERT_EQ(match_tb(0, "<unknown>", 0, NULL), 0);
    ASSERT_EQ(match_tb(1, "b.py", 1, &empty), 0);
    lg_snapshot_free(s);
}

/* A native frame: every given pattern must match; unknown function and
 * module read as "". */
LGT_TEST(filter_function_module)
{
    lg_frame_t f = {.kind = LG_FRAME_NATIVE,
                    .addr = 0x1234,
                    .function = "buffer_new",
                    .file = "src/buffer.c",
                    .line = 41,
                    .module = "/usr/lib/libparse.so",
                    .offset = 0x1a2b};
    lg_frame_t bare = {.kind = LG_FRAME_NATIVE, .addr = 0x99};
    const lg_frame_t *fp = &f, *bp = &bare;
    lg_traceback_t tb = {1, 1, &fp}, btb = {1, 1, &bp};
    struct {
        const char *file, *function, *module;
        unsigned line;
        int want, want_bare;
    } c[] = {
        {NULL, "buffer_*", NULL, 0, 1, 0},
        {NULL, "parser_*", NULL, 0, 0, 0},
        {NULL, NULL, "*/libparse.so", 0, 1, 0},
        {NULL, NULL, "libparse.so", 0, 0, 0},
        {"*.c", "buffer_new", "*libparse*", 41, 1, 0},
        {"*.c", "buffer_new", "*libparse*", 42, 0, 0},
        {"*.h", "buffer_new", NULL, 0, 0, 0},
        {NULL, "*", NULL, 0, 1, 1},
        {NULL, NULL, "*", 0, 1, 1},
        {NULL, "", NULL, 0, 0, 1},
        {"<unknown>", NULL, NULL, 0, 0, 1},
        {NULL, NULL, NULL, 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        lg_filterset_t *set;
        lg_filterset_new(&set);
        lg_filter_t flt = {.kind = LG_FILTER_TRACE,
                           .inclusive = 1,
                           .filename_pattern = c[i].file,
                           .lineno = c[i].line,
                           .function_pattern = c[i].function,
                           .module_pattern = c[i].module,
                           .domain = -1};
        lg_filterset_add(set, &flt);
        int m = lg_filterset_match(set, 0, &tb), mb = lg_filterset_match(set, 0, &btb);
        lg_filterset_free(set);
        if (m != c[i].want || mb != c[i].want_bare)
            LGT_FAIL("case %zu: match %d/%d, want %d/%d", i, m, mb, c[i].want, c[i].want_bare);
    }
}

LGT_TEST(filter_domains)
{
    struct one o;
    const lg_traceback_t *tb = one_frame(&o, "a.py", 1);
    lg_filterset_t *set;
    /* Filter(True, "a.py", domain=1): the file AND the domain. */
    lg_filterset_new(&set);
    lg_filter_t f = trace_filter(1, "a.py", 0);
    f.domain = 1;
    lg_filterset_add(set, &f);
    ASSERT_EQ(lg_filterset_match(set, 1, tb), 1);
    ASSERT_EQ(lg_filterset_match(set, 0, tb), 0);
    lg_filterset_free(set);
    /* Filter(False, "a.py", domain=1): drops a.py in domain 1 only. */
    lg_filterset_new(&set);
    f.inclusive = 0;
    lg_filterset_add(set, &f);
    ASSERT_EQ(lg_filterset_match(set, 1, tb), 0);
    ASSERT_EQ(lg_filterset_match(set, 0, tb), 1);
    ASSERT_EQ(lg_filterset_match(set, 1, one_frame(&o, "b.py", 1)), 1);
    lg_filterset_free(set);
    /* DomainFilter, including the largest domain. */
    lg_filterset_new(&set);
    lg_filter_t d = {.kind = LG_FILTER_DOMAIN,
                     .inclusive = 1,
                     .domain = UINT32_MAX,
                     .filename_pattern = "ignored.py"};
    ASSERT_EQ(lg_filterset_add(set, &d), 0);
    ASSERT_EQ(lg_filterset_match(set, UINT32_MAX, tb), 1);
    ASSERT_EQ(lg_filterset_match(set, 0, tb), 0);
    lg_filterset_free(set);
}

/* Includes are OR-ed, excludes AND-ed (Snapshot._filter_trace). */
LGT_TEST(filter_include_exclude_combination)
{
    lg_filterset_t *set;
    lg_filterset_new(&set);
    lg_filter_t fs[] = {trace_filter(1, "a.py", 0), trace_filter(1, "b.py", 0),
                        trace_filter(0, "*", 7)};
    for (int i = 0; i < 3; i++)
        lg_filterset_add(set, &fs[i]);
    struct one o;
    ASSERT_EQ(lg_filterset_match(set, 0, one_frame(&o, "a.py", 1)), 1);
    ASSERT_EQ(lg_filterset_match(set, 0, one_frame(&o, "b.py", 1)), 1);
    ASSERT_EQ(lg_filterset_match(set, 0, one_frame(&o, "c.py", 1)), 0);
    ASSERT_EQ(lg_filterset_match(set, 0, one_frame(&o, "b.py", 7)), 0);
    lg_filterset_free(set);
}

/* ---- TestSnapshot.test_filter_traces* ------------------------------------ */

LGT_TEST(filter_traces)
{
    lg_snapshot_t *s = create_snapshot();
    const char *orig = "0/10/a.py:2;0/10/a.py:2;0/10/a.py:2;1/2/a.py:5;2/66/b.py:1;3/7/<unknown>:0";
    ASSERT_STR_EQ(traces_str(s), orig);

    lg_filter_t f1 = trace_filter(0, "b.py", 0);
    ASSERT_STR_EQ(filtered(s, &f1, 1),
                  "0/10/a.py:2;0/10/a.py:2;0/10/a.py:2;1/2/a.py:5;3/7/<unknown>:0");
    /* filter_traces() must not touch the original snapshot */
    ASSERT_STR_EQ(traces_str(s), orig);

    /* only include two lines of a.py (after excluding b.py) */
    lg_filter_t f234[] = {f1, trace_filter(1, "a.py", 2), trace_filter(1, "a.py", 5)};
    ASSERT_STR_EQ(filtered(s, f234, 3), "0/10/a.py:2;0/10/a.py:2;0/10/a.py:2;1/2/a.py:5");

    /* no filter: a copy, a different object, same traces and metadata */
    lg_filterset_t *set;
    lg_snapshot_t *copy;
    lg_filterset_new(&set);
    ASSERT_EQ(lg_snapshot_filter(s, set, &copy), 0);
    ASSERT(copy != s);
    ASSERT_STR_EQ(traces_str(copy), orig);
    ASSERT_EQ(lg_snapshot_traceback_limit(copy), 2);
    ASSERT_EQ(lg_snapshot_metrics(copy)->traced_current, 123);
    ASSERT_EQ(lg_snapshot_trace(copy, 0)->traceback->total_nframe, 3);
    /* the copy shares equal tracebacks, as a taken snapshot does */
    ASSERT(lg_snapshot_trace(copy, 0)->traceback == lg_snapshot_trace(copy, 1)->traceback);
    /* and outlives the original */
    lg_snapshot_free(s);
    ASSERT_STR_EQ(lg_snapshot_trace(copy, 3)->traceback->frames[1]->file, "b.py");
    lg_snapshot_free(copy);
    lg_filterset_free(set);
    ASSERT_EQ(lg_snapshot_filter(NULL, NULL, &copy), LG_EINVAL);
}

LGT_TEST(filter_traces_domain)
{
    lg_snapshot_t *s = create_snapshot();
    lg_filter_t f1 = trace_filter(0, "a.py", 0), f2 = trace_filter(1, "a.py", 0);
    f1.domain = f2.domain = 1;
    /* exclude a.py of domain 1 */
    ASSERT_STR_EQ(filtered(s, &f1, 1),
                  "0/10/a.py:2;0/10/a.py:2;0/10/a.py:2;2/66/b.py:1;3/7/<unknown>:0");
    /* include a.py of domain 1 */
    ASSERT_STR_EQ(filtered(s, &f2, 1), "1/2/a.py:5");
    lg_snapshot_free(s);
}

LGT_TEST(filter_traces_domain_filter)
{
    lg_snapshot_t *s = create_snapshot();
    lg_filter_t f1 = {.kind = LG_FILTER_DOMAIN, .inclusive = 0, .domain = 3};
    lg_filter_t f2 = {.kind = LG_FILTER_DOMAIN, .inclusive = 1, .domain = 3};
    ASSERT_STR_EQ(filtered(s, &f1, 1),
                  "0/10/a.py:2;0/10/a.py:2;0/10/a.py:2;1/2/a.py:5;2/66/b.py:1");
    ASSERT_STR_EQ(filtered(s, &f2, 1), "3/7/<unknown>:0");
    lg_snapshot_free(s);
}

/* ---- suppression lines ---------------------------------------------------- */

/* Parses `line` into a fresh set; returns the code, copies the error. */
static int parse1(const char *line, lg_filterset_t **setp, char *err)
{
    lg_filterset_new(setp);
    return lg_filterset_parse_line(*setp, line, err, 256);
}

/* Does the one-line set `line` keep a native frame (function, file, line,
 * module) in domain 0? */
static int keeps(const char *line, const char *function, const char *file, unsigned lineno,
                 const char *module)
{
    lg_filterset_t *set;
    char err[256];
    if (parse1(line, &set, err) != 0) {
        fprintf(stderr, "  unexpected error for '%s': %s\n", line, err);
        lg_filterset_free(set);
        return -1;
    }
    lg_frame_t f = {.function = function, .file = file, .line = lineno, .module = module};
    lg_frame_t caller = {.function = "main", .file = "main.c", .line = 3, .module = "/bin/prog"};
    const lg_frame_t *fr[] = {&f, &caller};
    lg_traceback_t tb = {2, 2, fr};
    int m = lg_filterset_match(set, 0, &tb);
    lg_filterset_free(set);
    return m;
}

LGT_TEST(parse_good_lines)
{
    const char *ok[] = {
        "",
        "   ",
        "# a comment",
        "   # indented comment",
        "\t\n",
        "exclude file=*.c",
        "  include   file=src/*.c  line=12 \r\n",
        "exclude all function=g_* module=*libglib*",
        "exclude file=x.c # trailing comment",
        "include domain=4294967295",
        "include-domain 1",
        "exclude-domain 0 # comment",
        "exclude line=7",
        "leak:foo",
        "  leak:^foo$  ",
    };
    size_t counts[] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        lg_filterset_t *set;
        char err[256] = "unset";
        int rc = parse1(ok[i], &set, err);
        size_t n = lg_filterset_count(set);
        lg_filterset_free(set);
        if (rc != 0 || n != counts[i] || err[0])
            LGT_FAIL("'%s': rc %d, %zu filters, err '%s'", ok[i], rc, n, err);
    }
}

LGT_TEST(parse_semantics)
{
    /* exclude: drops matching traces only */
    ASSERT_EQ(keeps("exclude file=src/*.c", "f", "src/a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("exclude file=src/*.c", "f", "lib/a.c", 1, "m"), 1);
    /* include keeps only matching traces; frames[0] unless "all" */
    ASSERT_EQ(keeps("include file=main.c", "f", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("include all file=main.c", "f", "a.c", 1, "m"), 1);
    /* line, function, module */
    ASSERT_EQ(keeps("exclude file=a.c line=5", "f", "a.c", 5, "m"), 0);
    ASSERT_EQ(keeps("exclude file=a.c line=5", "f", "a.c", 6, "m"), 1);
    ASSERT_EQ(keeps("exclude function=g_*", "g_malloc", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("exclude function=g_*", "xg_malloc", "a.c", 1, "m"), 1);
    ASSERT_EQ(keeps("exclude module=*/libglib*", "f", "a.c", 1, "/lib/libglib-2.0.so"), 0);
    ASSERT_EQ(keeps("exclude all function=main", "f", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("exclude function=main", "f", "a.c", 1, "m"), 1);
    /* domains */
    ASSERT_EQ(keeps("exclude-domain 0", "f", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("exclude-domain 1", "f", "a.c", 1, "m"), 1);
    ASSERT_EQ(keeps("include-domain 1", "f", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("exclude file=a.c domain=1", "f", "a.c", 1, "m"), 1);
    ASSERT_EQ(keeps("exclude file=a.c domain=0", "f", "a.c", 1, "m"), 0);
    /* comment-only lines add nothing, so everything is kept */
    ASSERT_EQ(keeps("# exclude file=*", "f", "a.c", 1, "m"), 1);
}

/* LeakSanitizer: substring unless anchored; function OR file OR module, on
 * any frame; unknown or empty fields never match. */
LGT_TEST(parse_lsan)
{
    ASSERT_EQ(keeps("leak:new", "buffer_new", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:buf", "buffer_new", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:^buffer", "buffer_new", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:^new", "buffer_new", "a.c", 1, "m"), 1);
    ASSERT_EQ(keeps("leak:new$", "buffer_new", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:buffer$", "buffer_new", "a.c", 1, "m"), 1);
    ASSERT_EQ(keeps("leak:^buffer_new$", "buffer_new", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:^buffer_ne$", "buffer_new", "a.c", 1, "m"), 1);
    ASSERT_EQ(keeps("leak:buf*new", "buffer_new", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:^b*w$", "buffer_new", "a.c", 1, "m"), 0);
    /* file and module, and any frame (main is the caller) */
    ASSERT_EQ(keeps("leak:src/parser", "f", "/x/src/parser.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:libparse.so", "f", "a.c", 1, "/usr/lib/libparse.so"), 0);
    ASSERT_EQ(keeps("leak:^main$", "f", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:/bin/prog", "f", "a.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:nothing", "f", "a.c", 1, "m"), 1);
    /* '?' and '[' are literal for LSan */
    ASSERT_EQ(keeps("leak:a?c", "abc", "x.c", 1, "m"), 1);
    ASSERT_EQ(keeps("leak:a?c", "a?c", "x.c", 1, "m"), 0);
    ASSERT_EQ(keeps("leak:[ab]", "a", "x.c", 1, "m"), 1);
    ASSERT_EQ(keeps("leak:[ab]", "x[ab]y", "x.c", 1, "m"), 0);
    /* unknown fields never match, even "*" */
    ASSERT_EQ(keeps("leak:*", NULL, NULL, 0, NULL), 0); /* main's frame */
    {
        lg_filterset_t *set;
        char err[256];
        parse1("leak:*", &set, err);
        lg_frame_t bare = {.addr = 1};
        const lg_frame_t *fp = &bare;
        lg_traceback_t tb = {1, 1, &fp};
        ASSERT_EQ(lg_filterset_match(set, 0, &tb), 1);
        lg_filterset_free(set);
    }
}

LGT_TEST(parse_errors)
{
    struct {
        const char *line, *err;
    } bad[] = {
        {"exclude fle=x.c",
         "unknown field \"fle\" (expected file=, line=, function=, module=, domain= or all)"},
        {"exclude alll",
         "unknown field \"alll\" (expected file=, line=, function=, module=, domain= or all)"},
        {"exclude", "exclude needs a criterion (expected one or more of file=, line=, "
                    "function=, module=, domain=)"},
        {"include all", "include needs a criterion (expected one or more of file=, line=, "
                        "function=, module=, domain=)"},
        {"exclude file=", "empty pattern in \"file=\" (expected file=GLOB)"},
        {"exclude function=", "empty pattern in \"function=\" (expected function=GLOB)"},
        {"exclude file=a file=b", "duplicate field \"file=\""},
        {"exclude all all file=a", "duplicate field \"all\""},
        {"exclude line=1 line=2", "duplicate field \"line=\""},
        {"exclude line=0", "bad line \"0\" (expected line=N with N a positive integer)"},
        {"exclude line=-3", "bad line \"-3\" (expected line=N with N a positive integer)"},
        {"exclude line=12x", "bad line \"12x\" (expected line=N with N a positive integer)"},
        {"exclude line=", "bad line \"\" (expected line=N with N a positive integer)"},
        {"exclude line=99999999999",
         "bad line \"99999999999\" (expected line=N with N a positive integer)"},
        {"exclude domain=4294967296",
         "bad domain \"4294967296\" (expected domain=N with N from 0 to 4294967295)"},
        {"exclude domain=-1", "bad domain \"-1\" (expected domain=N with N from 0 to 4294967295)"},
        {"exclude-domain",
         "bad exclude-domain line (expected exclude-domain N with N from 0 to 4294967295)"},
        {"include-domain x",
         "bad include-domain line (expected include-domain N with N from 0 to 4294967295)"},
        {"include-domain 1 2",
         "bad include-domain line (expected include-domain N with N from 0 to 4294967295)"},
        {"include-domain 99999999999999999999999",
         "bad include-domain line (expected include-domain N with N from 0 to 4294967295)"},
        {"leak:", "empty pattern in \"leak:\" (expected leak:PATTERN)"},
        {"leak:^$", "empty pattern in \"leak:\" (expected leak:PATTERN)"},
        {"called_from_lib:libfoo.so",
         "unsupported suppression kind \"called_from_lib:\" (only leak:PATTERN is supported)"},
        {"race:foo", "unsupported suppression kind \"race:\" (only leak:PATTERN is supported)"},
        {"Leak:foo", "unsupported suppression kind \"Leak:\" (only leak:PATTERN is supported)"},
        {"exclud file=x", "unknown directive \"exclud\" (expected include, exclude, "
                          "include-domain, exclude-domain or leak:PATTERN)"},
        {"file=x.c", "unknown directive \"file=x.c\" (expected include, exclude, "
                     "include-domain, exclude-domain or leak:PATTERN)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lg_filterset_t *set;
        char err[256] = "";
        int rc = parse1(bad[i].line, &set, err);
        size_t n = lg_filterset_count(set);
        lg_filterset_free(set);
        if (rc != LG_ESYNTAX || n != 0 || strcmp(err, bad[i].err) != 0)
            LGT_FAIL("'%s': rc %d, %zu filters,\n    got  '%s'\n    want '%s'", bad[i].line, rc, n,
                     err, bad[i].err);
    }
    /* A short error buffer is truncated, never overrun; NULL is allowed. */
    lg_filterset_t *set;
    lg_filterset_new(&set);
    char small[8];
    ASSERT_EQ(lg_filterset_parse_line(set, "exclude fle=x", small, sizeof small), LG_ESYNTAX);
    ASSERT_STR_EQ(small, "unknown");
    ASSERT_EQ(lg_filterset_parse_line(set, "exclude fle=x", NULL, 0), LG_ESYNTAX);
    ASSERT_EQ(lg_filterset_parse_line(set, NULL, NULL, 0), LG_EINVAL);
    lg_filterset_free(set);
}

/* ---- suppression files ---------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

LGT_TEST(load_file)
{
    char path[] = "/tmp/lg-test-filter-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    close(fd);
    write_file(path, "# leakgate suppressions\n"
                     "\n"
                     "exclude file=*/third_party/*\n"
                     "leak:libfontconfig\n"
                     "   exclude-domain 5   ");
    lg_filterset_t *set;
    lg_filterset_new(&set);
    char err[256] = "unset";
    ASSERT_EQ(lg_filterset_load(set, path, err, sizeof err), 0);
    ASSERT_STR_EQ(err, "");
    ASSERT_EQ(lg_filterset_count(set), 3);

    /* An error on line 3 names the file and line, and adds nothing. */
    write_file(path, "exclude file=a.c\n# ok\nexclude fle=b.c\nexclude file=c.c\n");
    ASSERT_EQ(lg_filterset_load(set, path, err, sizeof err), LG_ESYNTAX);
    char want[512];
    snprintf(want, sizeof want,
             "%s:3: unknown field \"fle\" (expected file=, line=, "
             "function=, module=, domain= or all)",
             path);
    ASSERT_STR_EQ(err, want);
    ASSERT_EQ(lg_filterset_count(set), 3);

    /* CRLF line endings and an empty file are fine. */
    write_file(path, "exclude file=a.c\r\nleak:x\r\n");
    ASSERT_EQ(lg_filterset_load(set, path, err, sizeof err), 0);
    ASSERT_EQ(lg_filterset_count(set), 5);
    write_file(path, "");
    ASSERT_EQ(lg_filterset_load(set, path, err, sizeof err), 0);
    ASSERT_EQ(lg_filterset_count(set), 5);
    unlink(path);

    /* A missing file: LG_EIO and the reason. */
    ASSERT_EQ(lg_filterset_load(set, "/nonexistent/leakgate.supp", err, sizeof err), LG_EIO);
    ASSERT_STR_EQ(err, "/nonexistent/leakgate.supp: No such file or directory");
    ASSERT_EQ(lg_filterset_count(set), 5);
    lg_filterset_free(set);
}

LGT_MAIN()
