/* Tests of snapshot files: a dump loads back field for field; the layout is
 * the documented one; truncated, corrupt, foreign and future files give an
 * error and never a crash; a failed dump leaves an existing file whole. */
#include "lg_internal.h"
#include "lgtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define GiB ((size_t)1 << 30)

/* ---- helpers ------------------------------------------------------------ */

static char dir[64];

static const char *path_in(const char *name)
{
    static char buf[2][384];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/lg-snapfile-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(path_in(e->d_name));
    if (d)
        closedir(d);
    rmdir(dir);
}

static int count_entries(const char *where)
{
    int n = 0;
    DIR *d = opendir(where);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void spill(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

/* An independent CRC-32, bit by bit, to pin the format to the standard. */
static uint32_t crc32_ref(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Loads exactly n bytes from a heap copy, so that AddressSanitizer sees any
 * read past the end. */
static int load_copy(const unsigned char *p, size_t n, lg_snapshot_t **out, const char **detail)
{
    unsigned char *copy = n ? malloc(n) : NULL;
    if (n)
        memcpy(copy, p, n);
    int rc = lg_snapshot_load_buffer(copy, n, out, detail);
    free(copy);
    return rc;
}

/* ---- a snapshot with every kind of field -------------------------------- */

static lg_snapshot_t *sample(void)
{
    static const lg_frame_t f[] = {
        {.kind = LG_FRAME_NATIVE,
         .addr = 0x401234,
         .function = "buffer_new",
         .file = "src/buffer.c",
         .line = 41,
         .module = "/usr/lib/libparse.so",
         .offset = 0x1a2b},
        {.kind = LG_FRAME_NATIVE,
         .addr = 0x405678,
         .function = "parser_init",
         .file = "src/parser.c",
         .line = 88,
         .module = "/usr/lib/libparse.so",
         .offset = 0x5678},
        {.kind = LG_FRAME_PYTHON, .file = "tests/test_x.py", .line = 17},
        {.kind = LG_FRAME_NATIVE, .addr = UINTPTR_MAX, .offset = UINT64_MAX},
        {.kind = LG_FRAME_NATIVE,
         .addr = 1,
         .function = "",
         .file = "",
         .line = UINT_MAX,
         .module = ""},
    };
    lg_snapshot_t *s = lg__snapshot_alloc();
    const lg_frame_t *p[5];
    for (int i = 0; i < 5; i++)
        p[i] = lg__snapshot_add_frame(s, &f[i]);
    const lg_frame_t *a[] = {p[0], p[1], p[2]}, *b[] = {p[3]}, *c[] = {p[4], p[0]};
    const lg_traceback_t *ta = lg__snapshot_add_traceback(s, a, 3, 20);
    const lg_traceback_t *tb = lg__snapshot_add_traceback(s, b, 1, 1);
    const lg_traceback_t *tc = lg__snapshot_add_traceback(s, c, 2, 2);
    lg__snapshot_add_trace(s, LG_DOMAIN_C, 96, ta);
    lg__snapshot_add_trace(s, LG_DOMAIN_PYTHON, 5 * GiB + 3, tb);
    lg__snapshot_add_trace(s, UINT32_MAX, 0, tc);
    lg__snapshot_add_trace(s, 7, (size_t)1 << 47, ta); /* the largest sum allowed */
    lg__snapshot_add_trace(s, LG_DOMAIN_C, 32, ta);
    lg__snapshot_seal(s);
    s->traceback_limit = 7;
    s->metrics = (lg_metrics_t){
        .timestamp_ns = -5,
        .traced_current = (uint64_t)1 << 40,
        .traced_peak = UINT64_MAX,
        .tracer_memory = 12345,
        .rss = (uint64_t)1 << 33,
        .lost_traces = 3,
    };
    return s;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Fails unless a and b hold the same traces, frames, strings and metrics,
 * with the same sharing of tracebacks and frames. */
static void assert_same(const lg_snapshot_t *a, const lg_snapshot_t *b)
{
    ASSERT_EQ(lg_snapshot_count(a), lg_snapshot_count(b));
    ASSERT_EQ(lg_snapshot_traceback_limit(a), lg_snapshot_traceback_limit(b));
    const lg_metrics_t *ma = lg_snapshot_metrics(a), *mb = lg_snapshot_metrics(b);
    ASSERT_EQ(ma->timestamp_ns, mb->timestamp_ns);
    ASSERT(ma->traced_current == mb->traced_current);
    ASSERT(ma->traced_peak == mb->traced_peak);
    ASSERT(ma->tracer_memory == mb->tracer_memory);
    ASSERT(ma->rss == mb->rss);
    ASSERT(ma->lost_traces == mb->lost_traces);
    size_t n = lg_snapshot_count(a);
    for (size_t i = 0; i < n; i++) {
        const lg_trace_t *x = lg_snapshot_trace(a, i), *y = lg_snapshot_trace(b, i);
        ASSERT_EQ(x->domain, y->domain);
        ASSERT(x->size == y->size);
        ASSERT_EQ(x->kind, y->kind);
        ASSERT_EQ(x->traceback->nframes, y->traceback->nframes);
        ASSERT_EQ(x->traceback->total_nframe, y->traceback->total_nframe);
        for (uint32_t k = 0; k < x->traceback->nframes; k++) {
            const lg_frame_t *f = x->traceback->frames[k], *g = y->traceback->frames[k];
            ASSERT_EQ(f->kind, g->kind);
            ASSERT(f->addr == g->addr);
            ASSERT(f->offset == g->offset);
            ASSERT_EQ(f->line, g->line);
            ASSERT(same_str(f->function, g->function));
            ASSERT(same_str(f->file, g->file));
            ASSERT(same_str(f->module, g->module));
        }
        for (size_t j = 0; j < n; j++) {
            const lg_traceback_t *xa = x->traceback, *xb = lg_snapshot_trace(a, j)->traceback;
            const lg_traceback_t *ya = y->traceback, *yb = lg_snapshot_trace(b, j)->traceback;
            ASSERT_EQ(xa == xb, ya == yb);
            for (uint32_t k = 0; k < xa->nframes; k++)
                for (uint32_t l = 0; l < xb->nframes; l++)
                    ASSERT_EQ(xa->frames[k] == xb->frames[l], ya->frames[k] == yb->frames[l]);
        }
    }
}

/* The bytes of a dump of sample(), in *len; caller frees. */
static unsigned char *sample_bytes(size_t *len)
{
    lg_snapshot_t *s = sample();
    int rc = lg_snapshot_dump(s, path_in("sample.snap"));
    lg_snapshot_free(s);
    return rc ? NULL : slurp(path_in("sample.snap"), len);
}

/* ---- round trips -------------------------------------------------------- */

LGT_TEST(roundtrip_keeps_every_field)
{
    make_dir();
    lg_snapshot_t *s = sample(), *t = NULL, *u = NULL;
    const char *detail = "unset";
    ASSERT_EQ(lg_snapshot_dump(s, path_in("a.snap")), 0);
    ASSERT_EQ(lg_snapshot_load(path_in("a.snap"), &t, &detail), 0);
    ASSERT(detail == NULL);
    assert_same(s, t);
    if (lgt_failed_current)
        return;
    /* The values the comparison relies on really are there. */
    const lg_trace_t *big = lg_snapshot_trace(t, 1);
    ASSERT(big->size == 5 * GiB + 3);
    ASSERT_EQ(big->domain, LG_DOMAIN_PYTHON);
    ASSERT(big->traceback->frames[0]->function == NULL);
    ASSERT(big->traceback->frames[0]->addr == UINTPTR_MAX);
    ASSERT_STR_EQ(lg_snapshot_trace(t, 2)->traceback->frames[0]->file, "");
    ASSERT(lg_snapshot_trace(t, 3)->size == (size_t)1 << 47);
    ASSERT(lg_snapshot_trace(t, 0)->traceback == lg_snapshot_trace(t, 4)->traceback);
    ASSERT(lg_snapshot_trace(t, 0)->traceback->frames[0] ==
           lg_snapshot_trace(t, 2)->traceback->frames[1]);
    ASSERT_EQ(lg_snapshot_metrics(t)->timestamp_ns, -5);
    ASSERT_EQ(lg_snapshot_traceback_limit(t), 7);

    /* Dumping what was loaded gives the same bytes. */
    ASSERT_EQ(lg_snapshot_dump(t, path_in("b.snap")), 0);
    size_t la, lb;
    unsigned char *ba = slurp(path_in("a.snap"), &la), *bb = slurp(path_in("b.snap"), &lb);
    ASSERT_EQ(la, lb);
    ASSERT(memcmp(ba, bb, la) == 0);
    ASSERT_EQ(lg_snapshot_load_buffer(ba, la, &u, NULL), 0);
    assert_same(s, u);
    free(ba);
    free(bb);
    lg_snapshot_free(s);
    lg_snapshot_free(t);
    lg_snapshot_free(u);
    ASSERT_EQ(count_entries(dir), 2); /* no temporary file left behind */
    remove_dir();
}

LGT_TEST(roundtrip_of_an_empty_snapshot)
{
    make_dir();
    lg_snapshot_t *s = lg__snapshot_alloc(), *t = NULL;
    lg__snapshot_seal(s);
    ASSERT_EQ(lg_snapshot_dump(s, path_in("e.snap")), 0);
    ASSERT_EQ(lg_snapshot_load(path_in("e.snap"), &t, NULL), 0);
    ASSERT_EQ(lg_snapshot_count(t), 0);
    assert_same(s, t);
    lg_snapshot_free(s);
    lg_snapshot_free(t);
    remove_dir();
}

LGT_TEST(leak_kinds_make_version_3)
{
    make_dir();
    lg_snapshot_t *s = sample(), *t = NULL;
    static const int kinds[] = {LG_KIND_DEFINITE, -1, LG_KIND_REACHABLE, LG_KIND_POSSIBLE,
                                LG_KIND_INDIRECT};
    for (size_t i = 0; i < lg_snapshot_count(s); i++)
        s->traces[i].kind = kinds[i];
    ASSERT_EQ(lg_snapshot_dump(s, path_in("k.snap")), 0);
    size_t n;
    unsigned char *b = slurp(path_in("k.snap"), &n);
    ASSERT(b != NULL);
    ASSERT_EQ(rd32(b + 8), 3);
    /* user data (none: length 0), then one byte per trace: 1 + kind */
    ASSERT(memcmp(b + n - 4 - 9, "\0\0\0\0\1\0\4\3\2", 9) == 0);
    ASSERT_EQ(lg_snapshot_load_buffer(b, n, &t, NULL), 0);
    assert_same(s, t);
    lg_snapshot_free(t);
    /* A kind byte past reachable, and a file cut in the kinds. */
    const char *detail = NULL;
    b[n - 5] = 5;
    uint32_t crc = crc32_ref(b, n - 4);
    for (int i = 0; i < 4; i++)
        b[n - 4 + i] = (unsigned char)(crc >> (8 * i));
    ASSERT_EQ(load_copy(b, n, &t, &detail), LG_ECORRUPT);
    ASSERT_STR_EQ(detail, "unknown leak kind");
    ASSERT_EQ(load_copy(b, n - 1, &t, &detail), LG_ECORRUPT);
    ASSERT_STR_EQ(detail, "truncated kinds");
    free(b);
    lg_snapshot_free(s);
    remove_dir();
}

LGT_TEST(empty_tracebacks_are_written_as_unknown)
{
    make_dir();
    lg_snapshot_t *s = lg__snapshot_alloc(), *t = NULL;
    const lg_frame_t *none[1] = {NULL};
    lg__snapshot_add_trace(s, 0, 8, lg__snapshot_add_traceback(s, none, 0, 0));
    lg__snapshot_seal(s);
    ASSERT_EQ(lg_snapshot_dump(s, path_in("u.snap")), 0);
    ASSERT_EQ(lg_snapshot_load(path_in("u.snap"), &t, NULL), 0);
    const lg_traceback_t *tb = lg_snapshot_trace(t, 0)->traceback;
    ASSERT_EQ(tb->nframes, 1);
    ASSERT_STR_EQ(tb->frames[0]->file, "<unknown>");
    lg_snapshot_free(s);
    lg_snapshot_free(t);
    remove_dir();
}

/* ---- the layout --------------------------------------------------------- */

/* A hand-assembled file, written from the layout in snapfile.c's comment. */
struct file {
    unsigned char b[512];
    size_t n;
};

static void put32(struct file *f, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        f->b[f->n++] = (unsigned char)(v >> (8 * i));
}

static void put64(struct file *f, uint64_t v)
{
    put32(f, (uint32_t)v);
    put32(f, (uint32_t)(v >> 32));
}

static void puts_z(struct file *f, const char *s)
{
    memcpy(f->b + f->n, s, strlen(s) + 1);
    f->n += strlen(s) + 1;
}

static void header(struct file *f)
{
    f->n = 0;
    memcpy(f->b, "\x89LGS\r\n\x1a\n", 8);
    f->n = 8;
    put32(f, 1);  /* version */
    put32(f, 16); /* traceback_limit */
    for (int i = 1; i <= 6; i++)
        put64(f, (uint64_t)i * 1000);
}

static void finish(struct file *f)
{
    put32(f, crc32_ref(f->b, f->n));
}

/* One string, one frame, one traceback, one trace; `bad` spoils one field. */
enum bad {
    OK,
    BAD_LIMIT,
    BAD_KIND,
    BAD_STRING,
    BAD_EMPTY_TB,
    BAD_LONG_TB,
    BAD_FRAME,
    BAD_TB,
    BAD_TRAILING,
    BAD_CRC,
    BAD_NSTRINGS,
    BAD_NFRAMES,
    BAD_NTBS,
    BAD_NTRACES,
    BAD_NO_NUL
};

static void tiny(struct file *f, enum bad bad)
{
    header(f);
    if (bad == BAD_LIMIT)
        memcpy(f->b + 12, "\xff\0\0\0", 4);
    put32(f, bad == BAD_NSTRINGS ? UINT32_MAX : 2);
    puts_z(f, "leak.c");
    if (bad == BAD_NO_NUL) {
        memcpy(f->b + f->n, "main", 4); /* the table runs into the end */
        f->n += 4;
        finish(f);
        return;
    }
    puts_z(f, "main");
    put32(f, bad == BAD_NFRAMES ? 0x10000000 : 1);
    put32(f, bad == BAD_KIND ? 2 : LG_FRAME_NATIVE);
    put32(f, 12);                        /* line */
    put64(f, 0x401000);                  /* addr */
    put64(f, 0x1000);                    /* offset */
    put32(f, 1);                         /* function: "main" */
    put32(f, bad == BAD_STRING ? 2 : 0); /* file: "leak.c" */
    put32(f, UINT32_MAX);                /* module: NULL */
    put32(f, bad == BAD_NTBS ? 0x40000000 : 1);
    uint32_t nf = bad == BAD_EMPTY_TB ? 0 : bad == BAD_LONG_TB ? 200 : 1;
    put32(f, nf);
    put32(f, 5); /* total_nframe */
    for (uint32_t i = 0; i < (nf > 1 ? 1 : nf); i++)
        put32(f, bad == BAD_FRAME ? 1 : 0);
    put64(f, bad == BAD_NTRACES ? (uint64_t)1 << 60 : 1);
    put32(f, 42);                      /* domain */
    put32(f, bad == BAD_TB ? 1 : 0);   /* traceback */
    put64(f, ((uint64_t)1 << 32) + 1); /* size */
    if (bad == BAD_TRAILING)
        f->b[f->n++] = 0;
    finish(f);
    if (bad == BAD_CRC)
        f->b[f->n - 1] ^= 0x40;
}

LGT_TEST(file_layout_is_the_documented_one)
{
    ASSERT_EQ(crc32_ref((const unsigned char *)"123456789", 9), 0xcbf43926u);
    struct file f;
    tiny(&f, OK);
    lg_snapshot_t *s = NULL;
    const char *detail = NULL;
    ASSERT_EQ(lg_snapshot_load_buffer(f.b, f.n, &s, &detail), 0);
    ASSERT_EQ(lg_snapshot_traceback_limit(s), 16);
    ASSERT_EQ(lg_snapshot_metrics(s)->timestamp_ns, 1000);
    ASSERT(lg_snapshot_metrics(s)->lost_traces == 6000);
    ASSERT_EQ(lg_snapshot_count(s), 1);
    const lg_trace_t *t = lg_snapshot_trace(s, 0);
    ASSERT_EQ(t->domain, 42);
    ASSERT(t->size == ((size_t)1 << 32) + 1);
    ASSERT_EQ(t->traceback->nframes, 1);
    ASSERT_EQ(t->traceback->total_nframe, 5);
    const lg_frame_t *fr = t->traceback->frames[0];
    ASSERT_STR_EQ(fr->function, "main");
    ASSERT_STR_EQ(fr->file, "leak.c");
    ASSERT(fr->module == NULL);
    ASSERT_EQ(fr->line, 12);
    ASSERT(fr->addr == 0x401000 && fr->offset == 0x1000);
    lg_snapshot_free(s);

    /* And dump writes that layout: magic, version, CRC-32 trailer. */
    make_dir();
    size_t n;
    unsigned char *b = sample_bytes(&n);
    ASSERT(b != NULL);
    ASSERT(memcmp(b, "\x89LGS\r\n\x1a\n\x01\0\0\0\x07\0\0\0", 16) == 0);
    ASSERT_EQ(rd32(b + n - 4), crc32_ref(b, n - 4));
    free(b);
    remove_dir();
}

LGT_TEST(each_inconsistency_is_named)
{
    static const struct {
        enum bad bad;
        const char *detail;
    } cases[] = {
        {BAD_LIMIT, "traceback limit out of range"},
        {BAD_KIND, "unknown frame kind"},
        {BAD_STRING, "string index out of range"},
        {BAD_EMPTY_TB, "empty traceback"},
        {BAD_LONG_TB, "traceback too long"},
        {BAD_FRAME, "frame index out of range"},
        {BAD_TB, "traceback index out of range"},
        {BAD_TRAILING, "trailing bytes after the trace table"},
        {BAD_CRC, "checksum mismatch"},
        {BAD_NO_NUL, "truncated string table"},
        /* Huge counts are refused before anything is allocated for them:
         * allocating first would have given LG_ENOMEM or another detail. */
        {BAD_NSTRINGS, "string table larger than the file"},
        {BAD_NFRAMES, "frame table larger than the file"},
        {BAD_NTBS, "traceback table larger than the file"},
        {BAD_NTRACES, "trace table larger than the file"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct file f;
        tiny(&f, cases[i].bad);
        lg_snapshot_t *s = (lg_snapshot_t *)&f;
        const char *detail = NULL;
        ASSERT_EQ(load_copy(f.b, f.n, &s, &detail), LG_ECORRUPT);
        ASSERT(s == NULL);
        ASSERT_STR_EQ(detail, cases[i].detail);
    }
}

/* ---- foreign, future, truncated and corrupt files ----------------------- */

LGT_TEST(foreign_files_are_not_snapshots)
{
    static const char *foreign[] = {"\x7f"
                                    "ELF\2\1\1\0\0\0\0\0\0\0\0\0",
                                    "PK\3\4\24\0\0\0\10\0\0\0\0\0\0\0", "LGSNAP 1\n"};
    for (int i = 0; i < 3; i++) {
        const char *detail = NULL;
        lg_snapshot_t *s = NULL;
        ASSERT_EQ(load_copy((const unsigned char *)foreign[i], strlen(foreign[i]) + 1, &s, &detail),
                  LG_EFORMAT);
        ASSERT(s == NULL);
        ASSERT_STR_EQ(detail, "no leakgate snapshot magic");
    }
    /* A text-mode transfer turned CR LF into LF. */
    struct file f;
    tiny(&f, OK);
    memmove(f.b + 4, f.b + 5, f.n - 5);
    const char *detail = NULL;
    lg_snapshot_t *s = NULL;
    ASSERT_EQ(load_copy(f.b, f.n - 1, &s, &detail), LG_EFORMAT);
    ASSERT_CONTAINS(detail, "mangled");
    ASSERT_STR_EQ(lg_strerror(LG_EFORMAT), "not a leakgate snapshot file");
}

LGT_TEST(other_versions_are_refused)
{
    struct file f;
    tiny(&f, OK);
    const char *detail = NULL;
    lg_snapshot_t *s = NULL;
    f.b[8] = 4;
    ASSERT_EQ(load_copy(f.b, f.n, &s, &detail), LG_EVERSION);
    ASSERT_STR_EQ(detail, "file written by a newer leakgate");
    f.b[8] = 0;
    ASSERT_EQ(load_copy(f.b, f.n, &s, &detail), LG_EVERSION);
    ASSERT_STR_EQ(detail, "unknown snapshot file version");
    /* The version is read before anything else: a future file may be
     * shorter than a version 1 header. */
    f.b[8] = 0;
    f.b[11] = 1;
    ASSERT_EQ(load_copy(f.b, 12, &s, &detail), LG_EVERSION);
    ASSERT(s == NULL);
}

LGT_TEST(every_truncation_is_an_error)
{
    make_dir();
    size_t n;
    unsigned char *b = sample_bytes(&n);
    ASSERT(b != NULL);
    for (size_t len = 0; len < n; len++) {
        lg_snapshot_t *s = (lg_snapshot_t *)b;
        const char *detail = NULL;
        int rc = load_copy(b, len, &s, &detail);
        if (rc != LG_ECORRUPT || s != NULL || detail == NULL)
            LGT_FAIL("prefix of %zu bytes: rc %d, detail %s", len, rc, detail ? detail : "(null)");
    }
    free(b);
    remove_dir();
}

LGT_TEST(every_byte_flip_is_an_error)
{
    make_dir();
    size_t n;
    unsigned char *b = sample_bytes(&n);
    ASSERT(b != NULL);
    static const unsigned char flips[] = {0x01, 0x10, 0x80, 0xff};
    for (size_t pos = 0; pos < n; pos++) {
        int want = pos < 8 ? LG_EFORMAT : pos < 12 ? LG_EVERSION : LG_ECORRUPT;
        for (size_t k = 0; k < sizeof flips; k++) {
            b[pos] ^= flips[k];
            lg_snapshot_t *s = (lg_snapshot_t *)b;
            const char *detail = NULL;
            int rc = load_copy(b, n, &s, &detail);
            b[pos] ^= flips[k];
            if (rc != want || s != NULL || detail == NULL)
                LGT_FAIL("byte %zu ^ 0x%02x: rc %d, detail %s", pos, flips[k], rc,
                         detail ? detail : "(null)");
        }
    }
    free(b);
    remove_dir();
}

LGT_TEST(out_of_memory_anywhere_is_clean)
{
    struct file f;
    tiny(&f, OK);
    int done = 0, failures = 0;
    for (long nth = 1; !done && nth < 1000; nth++) {
        lg_snapshot_t *s = NULL;
        atomic_store(&lg__fault_countdown, nth);
        int rc = lg_snapshot_load_buffer(f.b, f.n, &s, NULL);
        done = atomic_load(&lg__fault_countdown) > 0; /* no fault was hit */
        atomic_store(&lg__fault_countdown, 0);
        if (done) {
            ASSERT_EQ(rc, 0);
            ASSERT_EQ(lg_snapshot_count(s), 1);
        } else {
            ASSERT_EQ(rc, LG_ENOMEM);
            ASSERT(s == NULL);
            failures++;
        }
        lg_snapshot_free(s);
    }
    ASSERT(done);
    ASSERT_GE(failures, 5); /* snapshot, dedup maps, tables, arena, traces */
}

/* ---- files and paths ---------------------------------------------------- */

/* Sizes no process can hold (2^64-1, or traces adding up past 2^48) are a
 * corrupt file: `leakgate show` printed them as "Total allocated size: -9 B". */
LGT_TEST(sizes_beyond_the_address_space_are_refused)
{
    make_dir();
    lg_frame_t f = {.kind = LG_FRAME_NATIVE, .function = "f"};
    size_t sizes[][2] = {{SIZE_MAX, 0}, {(size_t)1 << 47, ((size_t)1 << 47) + 1}};
    for (int k = 0; k < 2; k++) {
        lg_snapshot_t *s, *t = NULL;
        ASSERT_EQ(lg_snapshot_new(4, &s), 0);
        ASSERT_EQ(lg_snapshot_add(s, 1, sizes[k][0], &f, 1, 1), 0);
        if (sizes[k][1])
            ASSERT_EQ(lg_snapshot_add(s, 1, sizes[k][1], &f, 1, 1), 0);
        ASSERT_EQ(lg_snapshot_dump(s, path_in("big.snap")), 0);
        const char *detail = NULL;
        ASSERT_EQ(lg_snapshot_load(path_in("big.snap"), &t, &detail), LG_ECORRUPT);
        ASSERT_STR_EQ(detail, "trace sizes add up past 256 TiB");
        ASSERT(t == NULL);
        lg_snapshot_free(s);
    }
    remove_dir();
}

LGT_TEST(empty_and_missing_files)
{
    make_dir();
    lg_snapshot_t *s = NULL;
    const char *detail = NULL;
    spill(path_in("empty"), "", 0);
    ASSERT_EQ(lg_snapshot_load(path_in("empty"), &s, &detail), LG_ECORRUPT);
    ASSERT_STR_EQ(detail, "empty file");
    ASSERT_EQ(lg_snapshot_load_buffer(NULL, 0, &s, &detail), LG_ECORRUPT);
    errno = 0;
    ASSERT_EQ(lg_snapshot_load(path_in("missing"), &s, &detail), LG_EIO);
    ASSERT_EQ(errno, ENOENT);
    ASSERT(s == NULL && detail == NULL);
    ASSERT_EQ(lg_snapshot_load(dir, &s, NULL), LG_EIO); /* a directory */
    ASSERT_EQ(errno, EISDIR);
    ASSERT_EQ(lg_snapshot_load_buffer(NULL, 1, &s, NULL), LG_EINVAL);
    ASSERT_EQ(lg_snapshot_load(path_in("empty"), NULL, NULL), LG_EINVAL);
    ASSERT_EQ(lg_snapshot_dump(NULL, path_in("x")), LG_EINVAL);
    remove_dir();
}

LGT_TEST(dump_replaces_an_existing_file)
{
    make_dir();
    spill(path_in("s.snap"), "old contents", 12);
    lg_snapshot_t *s = sample(), *t = NULL;
    ASSERT_EQ(lg_snapshot_dump(s, path_in("s.snap")), 0);
    ASSERT_EQ(lg_snapshot_load(path_in("s.snap"), &t, NULL), 0);
    assert_same(s, t);
    ASSERT_EQ(count_entries(dir), 1);
    lg_snapshot_free(s);
    lg_snapshot_free(t);
    remove_dir();
}

static void assert_old_contents(const char *path)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    ASSERT(b != NULL);
    ASSERT_EQ(n, 12);
    ASSERT(memcmp(b, "old contents", 12) == 0);
    free(b);
}

LGT_TEST(failed_dumps_leave_the_old_file_whole)
{
    make_dir();
    lg_snapshot_t *s = sample();
    spill(path_in("s.snap"), "old contents", 12);

    errno = 0;
    ASSERT_EQ(lg_snapshot_dump(s, path_in("s.snap/x.snap")), LG_EIO);
    ASSERT_EQ(errno, ENOTDIR);
    ASSERT_EQ(lg_snapshot_dump(s, path_in("no/such/dir.snap")), LG_EIO);
    ASSERT_EQ(errno, ENOENT);

    /* An unwritable directory (root writes anyway: then this proves nothing
     * and the write failure below stands in for it). */
    chmod(dir, 0555);
    if (access(dir, W_OK) != 0) {
        ASSERT_EQ(lg_snapshot_dump(s, path_in("s.snap")), LG_EIO);
        ASSERT_EQ(errno, EACCES);
        assert_old_contents(path_in("s.snap"));
    }
    chmod(dir, 0755);

    /* The disk fills up half-way: the file size limit stops the write. */
    struct rlimit old, small = {.rlim_cur = 100};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    int rc = lg_snapshot_dump(s, path_in("s.snap"));
    int e = errno;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(rc, LG_EIO);
    ASSERT_EQ(e, EFBIG);
    assert_old_contents(path_in("s.snap"));
    ASSERT_EQ(count_entries(dir), 1); /* the temporary file is gone */

    lg_snapshot_free(s);
    remove_dir();
}

/* The seed corpus of tests/fuzz/: small valid files.  With
 * LEAKGATE_CORPUS_DIR set they are written there (to regenerate the seeds:
 * LEAKGATE_CORPUS_DIR=tests/fuzz/corpus/snapfile test_snapfile seeds_are_small_and_valid). */
LGT_TEST(seeds_are_small_and_valid)
{
    make_dir();
    const char *out = getenv("LEAKGATE_CORPUS_DIR");
    char path[256];
    lg_snapshot_t *seeds[3] = {lg__snapshot_alloc(), lg__snapshot_alloc(), sample()};
    lg__snapshot_seal(seeds[0]);
    lg_frame_t f = {.kind = LG_FRAME_NATIVE,
                    .addr = 0x401000,
                    .function = "main",
                    .file = "leak.c",
                    .line = 12};
    const lg_frame_t *p = lg__snapshot_add_frame(seeds[1], &f);
    lg__snapshot_add_trace(seeds[1], 0, 64, lg__snapshot_add_traceback(seeds[1], &p, 1, 1));
    lg__snapshot_seal(seeds[1]);
    static const char *names[] = {"empty.snap", "one-trace.snap", "sample.snap"};
    for (int i = 0; i < 3; i++) {
        seeds[i]->metrics.timestamp_ns = 1700000000000000000;
        snprintf(path, sizeof path, "%s/%s", out ? out : dir, names[i]);
        ASSERT_EQ(lg_snapshot_dump(seeds[i], path), 0);
        size_t n;
        unsigned char *b = slurp(path, &n);
        ASSERT(b != NULL);
        ASSERT_LT(n, 4096);
        lg_snapshot_t *t = NULL;
        ASSERT_EQ(lg_snapshot_load_buffer(b, n, &t, NULL), 0);
        assert_same(seeds[i], t);
        lg_snapshot_free(t);
        lg_snapshot_free(seeds[i]);
        free(b);
    }
    remove_dir();
}

LGT_MAIN()
