/*
 * snapfile.c — snapshot files: lg_snapshot_dump() and lg_snapshot_load().
 *
 * A snapshot file holds symbolized frames, never raw addresses alone, so it
 * loads in another process or on another machine.  Every integer is
 * little-endian whatever the host; records are packed, without padding.
 *
 *   offset  size
 *   0       8     magic  89 'L' 'G' 'S' '\r' '\n' 1A '\n'
 *   8       4     u32 version: 1; 2 when user data follows the traces; 3
 *                 when the traces' leak kinds follow the user data
 *   12      4     u32 traceback_limit
 *   16      48    i64 timestamp_ns, u64 traced_current, traced_peak,
 *                 tracer_memory, rss, lost_traces        (lg_metrics_t)
 *   64            string table     u32 count, then count strings, each
 *                                  NUL-terminated (no length, no inner NUL)
 *                 frame table      u32 count, then count records of 36 bytes:
 *                                  u32 kind, u32 line, u64 addr, u64 offset,
 *                                  u32 function, u32 file, u32 module
 *                                  (string indexes; FFFFFFFF means NULL)
 *                 traceback table  u32 count, then count records:
 *                                  u32 nframes (1..TB_FRAMES_MAX),
 *                                  u32 total_nframe, nframes x u32 frame index
 *                 trace table      u64 count, then count records of 16 bytes:
 *                                  u32 domain, u32 traceback index, u64 size
 *                 user data        version 2 and 3: u32 length, then length
 *                                  bytes (lg_snapshot_set_user_data)
 *                 kinds            version 3 only: one byte per trace, in
 *                                  trace order: 0 no kind, else 1 +
 *                                  LG_KIND_* (definite 1 ... reachable 4)
 *   len-4   4     u32 CRC-32 (IEEE, as zlib's crc32) of bytes [0, len-4)
 *
 * The magic is PNG's trick: the high-bit byte catches 7-bit transfers, the
 * CR LF and the lone LF catch line-ending conversion, 1A stops DOS `type`.
 * The string table is deduplicated; frames and tracebacks are stored once
 * and shared by index, as in the snapshot.
 *
 * Loading trusts nothing: each count is checked against the bytes left
 * before anything is allocated for it, each index against its table, so
 * memory stays proportional to the file.  The structure is checked before
 * the checksum so that the error names what is wrong ("truncated string
 * table" rather than "checksum mismatch") and so that fuzzing reaches the
 * parser; a file that parses is then rejected if its checksum differs.
 *
 * Files are read and written by the file layer (prim_linux.c): a file
 * that does not start with the magic is refused after its first bytes, one
 * bigger than SNAP_MAX before any is read; an existing regular file is
 * either kept whole or replaced whole.
 */
#include "lg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SNAP_VERSION 3u /* the newest this build reads */
#define HEADER_SIZE  64
#define FRAME_SIZE   36
#define TB_MIN_SIZE  12 /* nframes, total_nframe and at least one index */
#define TRACE_SIZE   16
/* The most bytes the traces of a snapshot may hold together: 2^48, the
 * address space of a 64-bit process. */
#define SNAP_BYTES_MAX ((uint64_t)1 << 48)
/* The biggest snapshot file read: 10 million traces and their tracebacks. */
#define SNAP_MAX ((size_t)1 << 30)
#define NO_STRING    UINT32_MAX
/* Longest traceback a file may hold: the bound lg__snapshot_copy_traceback
 * keeps, so that a loaded snapshot can be filtered without truncation. */
#define TB_FRAMES_MAX (LG_FRAMES_MAX + 16)

static const unsigned char magic[8] = {0x89, 'L', 'G', 'S', '\r', '\n', 0x1a, '\n'};

/* ---- CRC-32 ------------------------------------------------------------- */

/* Reflected polynomial 0xEDB88320, four bits at a time: a 16-entry table is
 * small enough to write down and fast enough for files of megabytes. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

/* Continues `crc` (0 to start) over n bytes, like zlib's crc32(). */
static uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}

/* ---- little-endian integers --------------------------------------------- */

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)v);
    put_u32(p + 4, (uint32_t)(v >> 32));
}

/* ---- dump: tables ------------------------------------------------------- */

/* Numbers distinct keys in order of first sight: tracebacks and frames by
 * pointer (the snapshot already shares equal ones), strings by contents
 * (each frame owns its copy of a file name). */
struct idmap {
    uint32_t *slots; /* 0: empty, else id + 1; open addressing */
    size_t cap;
    const void **keys; /* keys[id] */
    uint32_t n, keycap;
    bool by_string;
};

static uint64_t key_hash(const struct idmap *m, const void *key)
{
    if (!m->by_string)
        return ((uint64_t)(uintptr_t)key >> 4) * 0x9e3779b97f4a7c15ull;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (const unsigned char *s = key; *s; s++)
        h = (h ^ *s) * 0x100000001b3ull;
    return h;
}

static bool key_eq(const struct idmap *m, const void *a, const void *b)
{
    return a == b || (m->by_string && strcmp(a, b) == 0);
}

static size_t idmap_find(const struct idmap *m, const void *key)
{
    size_t mask = m->cap - 1, i = (size_t)key_hash(m, key) & mask;
    while (m->slots[i] && !key_eq(m, m->keys[m->slots[i] - 1], key))
        i = (i + 1) & mask;
    return i;
}

static int idmap_grow(struct idmap *m)
{
    if (m->n == m->keycap) {
        /* Ids are u32 in the file, and NO_STRING is reserved. */
        if (m->keycap >= UINT32_MAX / 2)
            return LG_ENOMEM;
        uint32_t ncap = m->keycap ? m->keycap * 2 : 64;
        const void **nk = lg__xrealloc(m->keys, ncap * sizeof *nk);
        if (!nk)
            return LG_ENOMEM;
        m->keys = nk;
        m->keycap = ncap;
    }
    if (m->cap && ((size_t)m->n + 1) * 2 <= m->cap)
        return 0;
    size_t ncap = m->cap ? m->cap * 2 : 128;
    uint32_t *ns = lg__xcalloc(ncap, sizeof *ns);
    if (!ns)
        return LG_ENOMEM;
    lg__xfree(m->slots);
    m->slots = ns;
    m->cap = ncap;
    for (uint32_t id = 0; id < m->n; id++)
        m->slots[idmap_find(m, m->keys[id])] = id + 1;
    return 0;
}

/* Finds or adds `key`; *id receives its number.  Returns 1 when added,
 * 0 when known, LG_ENOMEM. */
static int idmap_put(struct idmap *m, const void *key, uint32_t *id)
{
    int rc = idmap_grow(m);
    if (rc)
        return rc;
    size_t i = idmap_find(m, key);
    if (m->slots[i]) {
        *id = m->slots[i] - 1;
        return 0;
    }
    m->keys[m->n] = key;
    m->slots[i] = ++m->n;
    *id = m->n - 1;
    return 1;
}

static void idmap_free(struct idmap *m)
{
    lg__xfree(m->slots);
    lg__xfree(m->keys);
}

struct tables {
    struct idmap strs, frames, tbs;
};

/* What the file stores for a trace's traceback.  The loader refuses empty
 * tracebacks (code reading frames[0] trusts there is one), so a snapshot
 * that has one is written with tracemalloc's "<unknown>" frame instead. */
static const lg_traceback_t *file_traceback(const lg_traceback_t *tb)
{
    return tb && tb->nframes ? tb : &lg__unknown_traceback;
}

static uint32_t file_nframes(const lg_traceback_t *tb)
{
    return tb->nframes < TB_FRAMES_MAX ? tb->nframes : TB_FRAMES_MAX;
}

static int collect_strings(struct tables *t, const lg_frame_t *f)
{
    const char *s[3] = {f->function, f->file, f->module};
    uint32_t id;
    for (int i = 0; i < 3; i++)
        if (s[i] && idmap_put(&t->strs, s[i], &id) < 0)
            return LG_ENOMEM;
    return 0;
}

static int collect(const lg_snapshot_t *snap, struct tables *t)
{
    t->strs.by_string = true;
    for (size_t i = 0; i < snap->ntraces; i++) {
        const lg_traceback_t *tb = file_traceback(snap->traces[i].traceback);
        uint32_t id;
        int rc = idmap_put(&t->tbs, tb, &id);
        if (rc < 0)
            return rc;
        for (uint32_t j = 0; rc == 1 && j < file_nframes(tb); j++) {
            const lg_frame_t *f = tb->frames[j];
            int added = idmap_put(&t->frames, f, &id);
            if (added < 0 || (added == 1 && collect_strings(t, f) < 0))
                return LG_ENOMEM;
        }
    }
    return 0;
}

/* The id of a key collect() added. */
static uint32_t known_id(struct idmap *m, const void *key)
{
    return m->slots[idmap_find(m, key)] - 1;
}

static uint32_t string_id(struct tables *t, const char *s)
{
    return s ? known_id(&t->strs, s) : NO_STRING;
}

/* ---- dump: writing ------------------------------------------------------ */

/* A buffered writer that checksums what passes through it. */
struct out {
    lg__out_t file;
    unsigned char *buf;
    size_t used;
    uint32_t crc;
};

#define OUT_BUF (64 * 1024)

static void out_flush(struct out *o)
{
    lg__out_write(&o->file, o->buf, o->used);
    o->used = 0;
}

static void out_bytes(struct out *o, const void *src, size_t n)
{
    const unsigned char *p = src;
    o->crc = crc32_update(o->crc, p, n);
    while (n && !o->file.err) {
        size_t k = OUT_BUF - o->used < n ? OUT_BUF - o->used : n;
        memcpy(o->buf + o->used, p, k);
        o->used += k;
        p += k;
        n -= k;
        if (o->used == OUT_BUF)
            out_flush(o);
    }
}

static void out_u32(struct out *o, uint32_t v)
{
    unsigned char b[4];
    put_u32(b, v);
    out_bytes(o, b, 4);
}

static void out_u64(struct out *o, uint64_t v)
{
    unsigned char b[8];
    put_u64(b, v);
    out_bytes(o, b, 8);
}

/* The oldest version that holds what `snap` has: older builds read it. */
static uint32_t file_version(const lg_snapshot_t *snap)
{
    for (size_t i = 0; i < snap->ntraces; i++)
        if (snap->traces[i].kind >= 0)
            return 3;
    return snap->user_len ? 2 : 1;
}

static void write_snapshot(struct out *o, const lg_snapshot_t *snap, struct tables *t)
{
    const lg_metrics_t *m = &snap->metrics;
    uint32_t version = file_version(snap);
    out_bytes(o, magic, sizeof magic);
    out_u32(o, version);
    out_u32(o, (uint32_t)snap->traceback_limit);
    out_u64(o, (uint64_t)m->timestamp_ns);
    out_u64(o, m->traced_current);
    out_u64(o, m->traced_peak);
    out_u64(o, m->tracer_memory);
    out_u64(o, m->rss);
    out_u64(o, m->lost_traces);

    out_u32(o, t->strs.n);
    for (uint32_t i = 0; i < t->strs.n; i++)
        out_bytes(o, t->strs.keys[i], strlen(t->strs.keys[i]) + 1);

    out_u32(o, t->frames.n);
    for (uint32_t i = 0; i < t->frames.n; i++) {
        const lg_frame_t *f = t->frames.keys[i];
        out_u32(o, (uint32_t)f->kind);
        out_u32(o, f->line);
        out_u64(o, f->addr);
        out_u64(o, f->offset);
        out_u32(o, string_id(t, f->function));
        out_u32(o, string_id(t, f->file));
        out_u32(o, string_id(t, f->module));
    }

    out_u32(o, t->tbs.n);
    for (uint32_t i = 0; i < t->tbs.n; i++) {
        const lg_traceback_t *tb = t->tbs.keys[i];
        uint32_t n = file_nframes(tb);
        out_u32(o, n);
        out_u32(o, tb->total_nframe);
        for (uint32_t j = 0; j < n; j++)
            out_u32(o, known_id(&t->frames, tb->frames[j]));
    }

    out_u64(o, snap->ntraces);
    for (size_t i = 0; i < snap->ntraces; i++) {
        const lg_trace_t *tr = &snap->traces[i];
        out_u32(o, tr->domain);
        out_u32(o, known_id(&t->tbs, file_traceback(tr->traceback)));
        out_u64(o, tr->size);
    }
    if (version >= 2) {
        out_u32(o, (uint32_t)snap->user_len);
        out_bytes(o, snap->user, snap->user_len);
    }
    for (size_t i = 0; version >= 3 && i < snap->ntraces; i++) {
        unsigned char k = (unsigned char)(snap->traces[i].kind + 1);
        out_bytes(o, &k, 1);
    }
    out_u32(o, o->crc);
    out_flush(o);
}

/* Writes the file through o->file (its first failure kept there). */
static int dump_into(const lg_snapshot_t *snap, struct out *o)
{
    struct tables t = {0};
    int rc = o->buf ? collect(snap, &t) : LG_ENOMEM;
    if (rc == 0)
        write_snapshot(o, snap, &t);
    idmap_free(&t.strs);
    idmap_free(&t.frames);
    idmap_free(&t.tbs);
    return rc;
}

int lg_snapshot_dump(const lg_snapshot_t *snap, const char *path)
{
    if (!snap || !path || !*path)
        return LG_EINVAL;
    struct out o = {.buf = lg__xmalloc(OUT_BUF)};
    const char *why;
    int rc = o.buf ? lg__out_open(&o.file, path, &why) : LG_ENOMEM;
    if (rc == LG_EFORMAT)
        rc = LG_EIO; /* errno says what is at path */
    if (rc == 0) {
        rc = dump_into(snap, &o);
        int crc = lg__out_close(&o.file, rc == 0);
        rc = rc ? rc : crc;
    }
    int saved = errno;
    lg__xfree(o.buf);
    errno = saved;
    return rc;
}

int lg__snapshot_dump_fd(const lg_snapshot_t *snap, int fd)
{
    struct out o = {.file = {.fd = fd}, .buf = lg__xmalloc(OUT_BUF)};
    if (lseek(fd, 0, SEEK_SET) != 0 || ftruncate(fd, 0) != 0)
        o.file.err = errno;
    int rc = o.file.err ? LG_EIO : dump_into(snap, &o);
    if (rc == 0 && !o.file.err && fsync(fd) != 0)
        o.file.err = errno;
    if (rc == 0 && o.file.err)
        rc = LG_EIO;
    lg__xfree(o.buf);
    if (rc == LG_EIO)
        errno = o.file.err;
    return rc;
}

/* ---- load --------------------------------------------------------------- */

struct loader {
    const unsigned char *p, *end; /* unread bytes, the checksum excluded */
    lg_snapshot_t *s;
    const char **strs; /* into the caller's buffer: the builder copies */
    uint32_t nstrs;
    const lg_frame_t **frames;
    uint32_t nframes;
    const lg_traceback_t **tbs;
    uint32_t ntbs;
    const char *detail;
};

#define FAIL(L, code, why) return ((L)->detail = (why), (code))
#define NEED(L, n, why)                                \
    do {                                               \
        if ((size_t)((L)->end - (L)->p) < (size_t)(n)) \
            FAIL(L, LG_ECORRUPT, why);                 \
    } while (0)

static size_t left(const struct loader *L)
{
    return (size_t)(L->end - L->p);
}

static uint32_t take_u32(struct loader *L)
{
    uint32_t v = get_u32(L->p);
    L->p += 4;
    return v;
}

static uint64_t take_u64(struct loader *L)
{
    uint64_t v = get_u64(L->p);
    L->p += 8;
    return v;
}

/* Allocates n pointers, n having been checked against the file size. */
static void *ptr_array(uint32_t n)
{
    return lg__xmalloc((n ? n : 1) * sizeof(void *));
}

static int load_strings(struct loader *L)
{
    NEED(L, 4, "truncated string table");
    uint32_t n = take_u32(L);
    if (n > left(L)) /* every string takes at least its NUL */
        FAIL(L, LG_ECORRUPT, "string table larger than the file");
    if (!(L->strs = ptr_array(n)))
        return LG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *nul = memchr(L->p, 0, left(L));
        if (!nul)
            FAIL(L, LG_ECORRUPT, "truncated string table");
        L->strs[i] = (const char *)L->p;
        L->p = nul + 1;
    }
    L->nstrs = n;
    return 0;
}

static int take_string(struct loader *L, const char **out)
{
    uint32_t i = take_u32(L);
    if (i != NO_STRING && i >= L->nstrs)
        FAIL(L, LG_ECORRUPT, "string index out of range");
    *out = i == NO_STRING ? NULL : L->strs[i];
    return 0;
}

static int load_frames(struct loader *L)
{
    NEED(L, 4, "truncated frame table");
    uint32_t n = take_u32(L);
    if (n > left(L) / FRAME_SIZE)
        FAIL(L, LG_ECORRUPT, "frame table larger than the file");
    if (!(L->frames = ptr_array(n)))
        return LG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        lg_frame_t f = {0};
        uint32_t kind = take_u32(L);
        if (kind != LG_FRAME_NATIVE && kind != LG_FRAME_PYTHON)
            FAIL(L, LG_ECORRUPT, "unknown frame kind");
        f.kind = (int)kind;
        f.line = take_u32(L);
        uint64_t addr = take_u64(L);
        if ((uintptr_t)addr != addr)
            FAIL(L, LG_ECORRUPT, "frame address too wide for this machine");
        f.addr = (uintptr_t)addr;
        f.offset = take_u64(L);
        int rc;
        if ((rc = take_string(L, &f.function)) || (rc = take_string(L, &f.file)) ||
            (rc = take_string(L, &f.module)))
            return rc;
        if (!(L->frames[i] = lg__snapshot_add_frame(L->s, &f)))
            return LG_ENOMEM;
        L->nframes = i + 1;
    }
    return 0;
}

static int load_tracebacks(struct loader *L)
{
    NEED(L, 4, "truncated traceback table");
    uint32_t n = take_u32(L);
    if (n > left(L) / TB_MIN_SIZE)
        FAIL(L, LG_ECORRUPT, "traceback table larger than the file");
    if (!(L->tbs = ptr_array(n)))
        return LG_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        NEED(L, 8, "truncated traceback table");
        uint32_t nf = take_u32(L), total = take_u32(L);
        if (nf == 0)
            FAIL(L, LG_ECORRUPT, "empty traceback");
        if (nf > TB_FRAMES_MAX)
            FAIL(L, LG_ECORRUPT, "traceback too long");
        NEED(L, (size_t)nf * 4, "truncated traceback table");
        const lg_frame_t *frames[TB_FRAMES_MAX];
        for (uint32_t j = 0; j < nf; j++) {
            uint32_t k = take_u32(L);
            if (k >= L->nframes)
                FAIL(L, LG_ECORRUPT, "frame index out of range");
            frames[j] = L->frames[k];
        }
        if (!(L->tbs[i] = lg__snapshot_add_traceback(L->s, frames, nf, total)))
            return LG_ENOMEM;
        L->ntbs = i + 1;
    }
    return 0;
}

static int load_traces(struct loader *L)
{
    NEED(L, 8, "truncated trace table");
    uint64_t n = take_u64(L);
    if (n > left(L) / TRACE_SIZE)
        FAIL(L, LG_ECORRUPT, "trace table larger than the file");
    lg_snapshot_t *s = L->s;
    if (n && !(s->traces = lg__xmalloc((size_t)n * sizeof *s->traces)))
        return LG_ENOMEM;
    s->cap = (size_t)n;
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t domain = take_u32(L), tb = take_u32(L);
        uint64_t size = take_u64(L);
        if (tb >= L->ntbs)
            FAIL(L, LG_ECORRUPT, "traceback index out of range");
        /* No process holds more than its address space: a bigger size or
         * sum is a corrupt file, not something to add up and print. */
        if (size > SNAP_BYTES_MAX || (total += size) > SNAP_BYTES_MAX)
            FAIL(L, LG_ECORRUPT, "trace sizes add up past 256 TiB");
        if ((size_t)size != size)
            FAIL(L, LG_ECORRUPT, "trace size too large for this machine");
        if (lg__snapshot_add_trace(s, domain, (size_t)size, L->tbs[tb]))
            return LG_ENOMEM;
    }
    return 0;
}

static int load_user_data(struct loader *L)
{
    NEED(L, 4, "truncated user data");
    uint32_t n = take_u32(L);
    NEED(L, n, "truncated user data");
    if (lg_snapshot_set_user_data(L->s, L->p, n))
        return LG_ENOMEM;
    L->p += n;
    return 0;
}

static int load_kinds(struct loader *L)
{
    lg_snapshot_t *s = L->s;
    NEED(L, s->ntraces, "truncated kinds");
    for (size_t i = 0; i < s->ntraces; i++) {
        unsigned k = *L->p++;
        if (k > LG_KINDS)
            FAIL(L, LG_ECORRUPT, "unknown leak kind");
        s->traces[i].kind = (int)k - 1;
    }
    return 0;
}

/* What is wrong with the first bytes of a file, or NULL; also the file
 * layer's check, so that a file without the magic is refused before the
 * rest of it is read. */
static const char *magic_problem(const unsigned char *buf, size_t len, bool whole)
{
    LG_UNUSED(whole);
    if (memcmp(buf, magic, len < 8 ? len : 8) == 0)
        return NULL;
    if (len >= 8 && memcmp(buf + 1, magic + 1, 3) == 0)
        return "magic mangled (text-mode or 7-bit transfer?)";
    return "no leakgate snapshot magic";
}

static int load(struct loader *L, const unsigned char *buf, size_t len)
{
    if (len == 0)
        FAIL(L, LG_ECORRUPT, "empty file");
    const char *bad = magic_problem(buf, len, true);
    if (bad)
        FAIL(L, LG_EFORMAT, bad);
    if (len < 12)
        FAIL(L, LG_ECORRUPT, "truncated header");
    uint32_t version = get_u32(buf + 8);
    if (version < 1 || version > SNAP_VERSION)
        FAIL(L, LG_EVERSION,
             version > SNAP_VERSION ? "file written by a newer leakgate"
                                    : "unknown snapshot file version");
    if (len < HEADER_SIZE + 4)
        FAIL(L, LG_ECORRUPT, "truncated header");
    L->p = buf + 12;
    L->end = buf + len - 4;

    uint32_t limit = take_u32(L);
    if (limit > LG_FRAMES_MAX)
        FAIL(L, LG_ECORRUPT, "traceback limit out of range");
    L->s->traceback_limit = (int)limit;
    lg_metrics_t *m = &L->s->metrics;
    m->timestamp_ns = (int64_t)take_u64(L);
    m->traced_current = take_u64(L);
    m->traced_peak = take_u64(L);
    m->tracer_memory = take_u64(L);
    m->rss = take_u64(L);
    m->lost_traces = take_u64(L);

    int rc;
    if ((rc = load_strings(L)) || (rc = load_frames(L)) || (rc = load_tracebacks(L)) ||
        (rc = load_traces(L)) || (version >= 2 && (rc = load_user_data(L))) ||
        (version >= 3 && (rc = load_kinds(L))))
        return rc;
    if (left(L))
        FAIL(L, LG_ECORRUPT,
             version >= 3   ? "trailing bytes after the kinds"
             : version >= 2 ? "trailing bytes after the user data"
                            : "trailing bytes after the trace table");
    if (crc32_update(0, buf, len - 4) != get_u32(buf + len - 4))
        FAIL(L, LG_ECORRUPT, "checksum mismatch");
    return 0;
}

int lg_snapshot_load_buffer(const void *buf, size_t len, lg_snapshot_t **out, const char **detail)
{
    if (detail)
        *detail = NULL;
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (!buf && len)
        return LG_EINVAL;
    struct loader L = {.s = lg__snapshot_alloc()};
    int rc = L.s ? load(&L, buf, len) : LG_ENOMEM;
    lg__xfree(L.strs);
    lg__xfree(L.frames);
    lg__xfree(L.tbs);
    if (rc) {
        lg_snapshot_free(L.s);
        if (detail && rc != LG_ENOMEM)
            *detail = L.detail;
        return rc;
    }
    lg__snapshot_seal(L.s);
    *out = L.s;
    return 0;
}

static const lg__input_kind_t snap_input = {
    SNAP_MAX, "larger than 1 GiB, the most a snapshot file may hold", magic_problem};

int lg_snapshot_load(const char *path, lg_snapshot_t **out, const char **detail)
{
    if (detail)
        *detail = NULL;
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (!path)
        return LG_EINVAL;
    char *buf;
    size_t len;
    const char *why;
    int rc = lg__file_read(path, &snap_input, &buf, &len, &why);
    if (rc == 0) {
        rc = lg_snapshot_load_buffer(buf, len, out, detail);
        lg__xfree(buf);
    } else if (rc == LG_EFORMAT && detail) {
        *detail = why;
    }
    return rc;
}
