/*
 * snapshot.c — snapshots: every live trace with its symbolized traceback.
 *
 * A snapshot owns its frames, tracebacks and strings in one arena; traces
 * point into it.  Equal frames and equal tracebacks are stored once, through
 * the builder's dedup maps, which lg__snapshot_seal() drops.
 *
 *   traces[i] --> lg_traceback_t --> frames[] --> lg_frame_t --> strings
 *                 (arena)            (arena)      (arena)        (arena)
 *
 * lg_snapshot_take() is O(live blocks): it walks the trace table, turns
 * each interned traceback id into a symbolized traceback once, and shares it.
 */
#include "lg_internal.h"
#include "lg_util.h"

#include <string.h>

static const lg_frame_t unknown_frame = {
    .kind = LG_FRAME_NATIVE,
    .file = "<unknown>",
};
static const lg_frame_t *const unknown_frames[] = {&unknown_frame};
const lg_traceback_t lg__unknown_traceback = {1, 1, unknown_frames};

/* Open-addressing set of pointers, compared by a callback. */
struct pset {
    const void **slots;
    size_t cap, len;
};

struct lg__dedup {
    struct pset frames, tbs;
    /* interned traceback id -> built traceback, for lg_snapshot_take */
    const lg_traceback_t **by_id;
    uint32_t nby_id;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    if (!s)
        return mix(h, 1);
    for (; *s; s++)
        h = mix(h, (unsigned char)*s);
    return h;
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static uint64_t frame_hash(const lg_frame_t *f)
{
    uint64_t h = mix((uint64_t)f->kind, f->addr);
    h = hash_str(h, f->function);
    h = hash_str(h, f->file);
    h = mix(h, f->line);
    h = hash_str(h, f->module);
    return mix(h, f->offset);
}

static int frame_eq(const lg_frame_t *a, const lg_frame_t *b)
{
    return a->kind == b->kind && a->addr == b->addr && a->line == b->line &&
           a->offset == b->offset && str_eq(a->function, b->function) && str_eq(a->file, b->file) &&
           str_eq(a->module, b->module);
}

static uint64_t tb_hash(const lg_frame_t *const *frames, uint32_t n, uint32_t total)
{
    uint64_t h = mix(n, total);
    for (uint32_t i = 0; i < n; i++)
        h = mix(h, (uint64_t)(uintptr_t)frames[i]);
    return h;
}

/* Finds the slot for `key` (hash h) or the empty slot where it would go. */
#define PSET_FIND(set, h, eq)                                  \
    ({                                                         \
        size_t mask_ = (set)->cap - 1, i_ = (size_t)(h)&mask_; \
        while ((set)->slots[i_] && !(eq))                      \
            i_ = (i_ + 1) & mask_;                             \
        i_;                                                    \
    })

static int pset_grow(struct pset *s, uint64_t (*hash)(const void *))
{
    if (s->cap && (s->len + 1) * 4 < s->cap * 3)
        return 0;
    size_t ncap = s->cap ? s->cap * 2 : 64;
    const void **ns = lg__xcalloc(ncap, sizeof *ns);
    if (!ns)
        return LG_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i])
            continue;
        size_t j = (size_t)hash(s->slots[i]) & (ncap - 1);
        while (ns[j])
            j = (j + 1) & (ncap - 1);
        ns[j] = s->slots[i];
    }
    lg__xfree(s->slots);
    s->slots = ns;
    s->cap = ncap;
    return 0;
}

static uint64_t frame_hash_v(const void *p)
{
    return frame_hash(p);
}

static uint64_t tb_hash_v(const void *p)
{
    const lg_traceback_t *tb = p;
    return tb_hash(tb->frames, tb->nframes, tb->total_nframe);
}

lg_snapshot_t *lg__snapshot_alloc(void)
{
    lg_snapshot_t *s = lg__xcalloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->dedup = lg__xcalloc(1, sizeof *s->dedup);
    if (!s->dedup) {
        lg__xfree(s);
        return NULL;
    }
    s->traceback_limit = lg_get_traceback_limit();
    return s;
}

const lg_frame_t *lg__snapshot_add_frame(lg_snapshot_t *s, const lg_frame_t *f)
{
    struct pset *set = &s->dedup->frames;
    if (pset_grow(set, frame_hash_v))
        return NULL;
    size_t i = PSET_FIND(set, frame_hash(f), frame_eq(set->slots[i_], f));
    if (set->slots[i])
        return set->slots[i];
    lg_frame_t *nf = lg__arena_alloc(&s->arena, sizeof *nf);
    if (!nf)
        return NULL;
    *nf = *f;
    nf->function = lg__arena_strdup(&s->arena, f->function);
    nf->file = lg__arena_strdup(&s->arena, f->file);
    nf->module = lg__arena_strdup(&s->arena, f->module);
    if ((f->function && !nf->function) || (f->file && !nf->file) || (f->module && !nf->module))
        return NULL;
    set->slots[i] = nf;
    set->len++;
    return nf;
}

static int tb_eq(const lg_traceback_t *t, const lg_frame_t *const *frames, uint32_t n,
                 uint32_t total)
{
    return t->nframes == n && t->total_nframe == total &&
           memcmp(t->frames, frames, n * sizeof *frames) == 0;
}

const lg_traceback_t *lg__snapshot_add_traceback(lg_snapshot_t *s, const lg_frame_t *const *frames,
                                                 uint32_t n, uint32_t total)
{
    struct pset *set = &s->dedup->tbs;
    if (pset_grow(set, tb_hash_v))
        return NULL;
    size_t i = PSET_FIND(set, tb_hash(frames, n, total), tb_eq(set->slots[i_], frames, n, total));
    if (set->slots[i])
        return set->slots[i];
    lg_traceback_t *tb = lg__arena_alloc(&s->arena, sizeof *tb);
    const lg_frame_t **fr = lg__arena_alloc(&s->arena, (n ? n : 1) * sizeof *fr);
    if (!tb || !fr)
        return NULL;
    if (n)
        memcpy(fr, frames, n * sizeof *fr);
    tb->nframes = n;
    tb->total_nframe = total;
    tb->frames = fr;
    set->slots[i] = tb;
    set->len++;
    return tb;
}

const lg_traceback_t *lg__snapshot_copy_traceback(lg_snapshot_t *s, const lg_traceback_t *tb)
{
    const lg_frame_t *local[LG_FRAMES_MAX + 16];
    uint32_t n = tb->nframes;
    if (n > sizeof local / sizeof local[0])
        n = sizeof local / sizeof local[0];
    for (uint32_t i = 0; i < n; i++)
        if (!(local[i] = lg__snapshot_add_frame(s, tb->frames[i])))
            return NULL;
    return lg__snapshot_add_traceback(s, local, n, tb->total_nframe);
}

int lg__snapshot_add_trace(lg_snapshot_t *s, uint32_t domain, size_t size, const lg_traceback_t *tb)
{
    return lg__snapshot_add_trace_kind(s, domain, size, tb, -1);
}

int lg__snapshot_add_trace_kind(lg_snapshot_t *s, uint32_t domain, size_t size,
                                const lg_traceback_t *tb, int kind)
{
    lg_trace_t *nt = lg__vec_reserve(s->traces, &s->cap, s->ntraces, sizeof *nt, 256);
    if (!nt)
        return LG_ENOMEM;
    s->traces = nt;
    s->traces[s->ntraces++] = (lg_trace_t){domain, size, tb, kind};
    return 0;
}

void lg__snapshot_seal(lg_snapshot_t *s)
{
    if (!s->dedup)
        return;
    lg__xfree(s->dedup->frames.slots);
    lg__xfree(s->dedup->tbs.slots);
    lg__xfree(s->dedup->by_id);
    lg__xfree(s->dedup);
    s->dedup = NULL;
}

void lg_snapshot_free(lg_snapshot_t *s)
{
    if (!s)
        return;
    lg__snapshot_seal(s);
    lg__arena_release(&s->arena);
    lg__xfree(s->traces);
    lg__xfree(s->user);
    lg__xfree(s);
}

int lg_snapshot_new(int traceback_limit, lg_snapshot_t **out)
{
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (traceback_limit < 0 || traceback_limit > LG_FRAMES_MAX)
        return LG_EINVAL;
    lg_snapshot_t *s = lg__snapshot_alloc();
    if (!s)
        return LG_ENOMEM;
    s->traceback_limit = traceback_limit;
    s->metrics.timestamp_ns = lg__now_ns();
    *out = s;
    return 0;
}

int lg_snapshot_add(lg_snapshot_t *s, uint32_t domain, size_t size, const lg_frame_t *frames,
                    uint32_t n, uint32_t total_nframe)
{
    if (!s || (n && !frames) || n > LG_FRAMES_MAX + 16)
        return LG_EINVAL;
    /* A loaded snapshot was sealed: building on it again needs new maps. */
    if (!s->dedup && !(s->dedup = lg__xcalloc(1, sizeof *s->dedup)))
        return LG_ENOMEM;
    const lg_frame_t *local[LG_FRAMES_MAX + 16];
    for (uint32_t i = 0; i < n; i++)
        if (!(local[i] = lg__snapshot_add_frame(s, &frames[i])))
            return LG_ENOMEM;
    const lg_traceback_t *tb = n ? lg__snapshot_add_traceback(s, local, n, total_nframe)
                                 : lg__snapshot_copy_traceback(s, &lg__unknown_traceback);
    return tb ? lg__snapshot_add_trace(s, domain, size, tb) : LG_ENOMEM;
}

int lg_snapshot_set_user_data(lg_snapshot_t *s, const void *data, size_t len)
{
    void *copy = NULL;
    if (len > UINT32_MAX)
        return LG_EINVAL;
    if (len && !(copy = lg__xmalloc(len)))
        return LG_ENOMEM;
    if (len)
        memcpy(copy, data, len);
    lg__xfree(s->user);
    s->user = copy;
    s->user_len = len;
    return 0;
}

const void *lg_snapshot_user_data(const lg_snapshot_t *s, size_t *len)
{
    if (len)
        *len = s->user_len;
    return s->user;
}

size_t lg_snapshot_count(const lg_snapshot_t *s)
{
    return s->ntraces;
}

const lg_trace_t *lg_snapshot_trace(const lg_snapshot_t *s, size_t i)
{
    return i < s->ntraces ? &s->traces[i] : NULL;
}

int lg_snapshot_traceback_limit(const lg_snapshot_t *s)
{
    return s->traceback_limit;
}

const lg_metrics_t *lg_snapshot_metrics(const lg_snapshot_t *s)
{
    return &s->metrics;
}

/* ---- lg_snapshot_take --------------------------------------------------- */

/* Live traces are copied out of the table first (one shard lock at a time,
 * no symbolization under a lock), then symbolized per distinct traceback. */
struct raw_trace {
    uint32_t domain, tb;
    size_t size;
    int kind;
};

struct collect {
    struct raw_trace *v;
    size_t n, cap;
    int err;
    const lg_scan_t *scan; /* NULL: no kinds */
};

/* Called under a table shard lock: lg_scan_kind only reads the scan. */
static void collect_one(void *ctx, uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    struct collect *c = ctx;
    if (c->err)
        return;
    struct raw_trace *nv = lg__vec_reserve(c->v, &c->cap, c->n, sizeof *nv, 1024);
    if (!nv) {
        c->err = LG_ENOMEM;
        return;
    }
    c->v = nv;
    int kind = c->scan ? lg_scan_kind(c->scan, domain, ptr) : -1;
    c->v[c->n++] = (struct raw_trace){domain, tb, size, kind < 0 ? -1 : kind};
}

/* Builds (once per id) the symbolized traceback of interned id `id`. */
static const lg_traceback_t *traceback_of_id(lg_snapshot_t *s, uint32_t id)
{
    struct lg__dedup *d = s->dedup;
    if (id == LG_TB_NONE)
        return lg__snapshot_copy_traceback(s, &lg__unknown_traceback);
    if (id >= d->nby_id) {
        uint32_t n = lg__intern_count();
        if (id >= n)
            n = id + 1;
        const lg_traceback_t **nb = lg__xrealloc(d->by_id, n * sizeof *nb);
        if (!nb)
            return NULL;
        memset(nb + d->nby_id, 0, (n - d->nby_id) * sizeof *nb);
        d->by_id = nb;
        d->nby_id = n;
    }
    if (d->by_id[id])
        return d->by_id[id];
    const lg__tb_t *raw = lg__tb_get(id);
    if (!raw || raw->nframes == 0)
        return d->by_id[id] = lg__snapshot_copy_traceback(s, &lg__unknown_traceback);
    const lg_frame_t *frames[LG_FRAMES_MAX];
    for (uint32_t i = 0; i < raw->nframes; i++) {
        lg_frame_t f;
        lg__symbolize(raw->frames[i], &f);
        if (!(frames[i] = lg__snapshot_add_frame(s, &f)))
            return NULL;
    }
    return d->by_id[id] = lg__snapshot_add_traceback(s, frames, raw->nframes, raw->total_nframe);
}

const lg_traceback_t *lg__snapshot_traceback_of_id(lg_snapshot_t *s, uint32_t id)
{
    return traceback_of_id(s, id);
}

int lg_snapshot_take(lg_snapshot_t **out)
{
    return lg_snapshot_take_kinds(NULL, out);
}

int lg_snapshot_take_kinds(const lg_scan_t *scan, lg_snapshot_t **out)
{
    *out = NULL;
    if (!lg__tracing())
        return LG_ENOTTRACING;
    struct collect c = {.scan = scan};
    lg__table_foreach(collect_one, &c);
    lg_snapshot_t *s = c.err ? NULL : lg__snapshot_alloc();
    int rc = s ? 0 : LG_ENOMEM;
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        const lg_traceback_t *tb = traceback_of_id(s, c.v[i].tb);
        rc = tb ? lg__snapshot_add_trace_kind(s, c.v[i].domain, c.v[i].size, tb, c.v[i].kind)
                 : LG_ENOMEM;
    }
    lg__xfree(c.v);
    if (rc) {
        lg_snapshot_free(s);
        return rc;
    }
    lg__snapshot_seal(s);
    size_t cur, peak;
    lg_get_traced_memory(&cur, &peak);
    s->metrics = (lg_metrics_t){
        .timestamp_ns = lg__now_ns(),
        .traced_current = cur,
        .traced_peak = peak,
        .tracer_memory = lg_get_tracer_memory(),
        .rss = lg__rss(),
        .lost_traces = lg_get_lost_traces(),
    };
    *out = s;
    return 0;
}
