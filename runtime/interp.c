/*
 * interp.c — frames of an interpreted language inside native tracebacks.
 *
 * An interpreter binding (leakgate's Python module) names a source position
 * (file, line, function) once with lg_interp_frame() and gets a frame word: a
 * traceback word with LG_INTERP_FRAME_BIT set, whose low bits index the
 * table below.  Tracebacks hold such words beside return addresses, so
 * interning, marks and snapshots need no change; lg_symbolize() resolves
 * them.  Words stay valid for the life of the process: the table only
 * grows (it holds one entry per distinct source line seen, which the size
 * of the program bounds), and clear_traces does not touch it.
 *
 *   dir[i >> SEG_BITS] --> segment[i & SEG_MASK] --> struct entry
 *
 * The hash chains are protected by interp.lock; a published entry never
 * changes, so lookups by word read the directory without the lock.
 *
 * The binding may also register a capture function: the C-domain hooks call
 * it to append the interpreter's frames to a native traceback, after
 * dropping the native frames inside the interpreter's own code.  The other
 * way round, lg_interp_native_frames() gives the binding's own hooks the
 * native frames of the C extension that called the interpreter's
 * allocator, to put before the interpreter's frames.
 */
#include "lg_internal.h"

#include <pthread.h>
#include <string.h>

#define SEG_BITS 12
#define SEG_SIZE (1u << SEG_BITS)
#define SEG_MASK (SEG_SIZE - 1)
#define DIR_SIZE 4096 /* 16 M source positions */

struct entry {
    struct entry *next;   /* hash chain, protected by interp.lock */
    uintptr_t word;       /* what lg_interp_frame() returns for it */
    const char *function; /* in text after file's NUL; NULL: none given */
    uint32_t hash;
    unsigned line;
    char text[];          /* file, NUL, [function, NUL] */
};

static struct {
    pthread_mutex_t lock;   /* LG_LOCK_INTERP */
    struct entry **buckets; /* protected by lock */
    uint32_t nbuckets;      /* power of two, protected by lock */
    _Atomic uint32_t count; /* entries published */
    struct entry **_Atomic dir[DIR_SIZE];
    lg_interp_frames_fn _Atomic capture;
    uintptr_t text_lo, text_hi; /* the interpreter's code; set with capture */
    atomic_bool seen;           /* an interpreter registered once */
} interp = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint32_t hash_of(const char *file, unsigned line, const char *function)
{
    uint32_t h = 2166136261u ^ line;
    for (const unsigned char *p = (const unsigned char *)file; *p; p++)
        h = (h ^ *p) * 16777619u;
    for (const unsigned char *p = (const unsigned char *)function; p && *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static bool same_function(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int grow_locked(void)
{
    uint32_t nb = interp.nbuckets ? interp.nbuckets * 2 : 1024;
    struct entry **b = lg__mem_calloc(nb, sizeof *b);
    if (!b)
        return LG_ENOMEM;
    for (uint32_t i = 0; i < interp.nbuckets; i++) {
        for (struct entry *e = interp.buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    }
    lg__mem_free(interp.buckets, interp.nbuckets * sizeof *b);
    interp.buckets = b;
    interp.nbuckets = nb;
    return 0;
}

/* Publishes e under index i; returns 0 or LG_ENOMEM. */
static int publish_locked(struct entry *e, uint32_t i)
{
    struct entry **seg = atomic_load(&interp.dir[i >> SEG_BITS]);
    if (!seg) {
        if (!(seg = lg__mem_calloc(SEG_SIZE, sizeof *seg)))
            return LG_ENOMEM;
        atomic_store(&interp.dir[i >> SEG_BITS], seg);
    }
    seg[i & SEG_MASK] = e;
    atomic_store(&interp.count, i + 1);
    return 0;
}

uintptr_t lg_interp_frame(const char *file, unsigned line, const char *function)
{
    if (!file || lg__real_init() != 0)
        return 0;
    uint32_t h = hash_of(file, line, function);
    uintptr_t word = 0;
    lg__lock(&interp.lock, LG_LOCK_INTERP);
    uint32_t n = atomic_load(&interp.count);
    if (interp.nbuckets) {
        for (struct entry *e = interp.buckets[h & (interp.nbuckets - 1)]; e; e = e->next) {
            if (e->hash == h && e->line == line && strcmp(e->text, file) == 0 &&
                same_function(e->function, function)) {
                word = e->word;
                goto out;
            }
        }
    }
    if (n >= DIR_SIZE * SEG_SIZE || (n >= interp.nbuckets && grow_locked() != 0))
        goto out;
    size_t len = strlen(file) + 1, flen = function ? strlen(function) + 1 : 0;
    struct entry *e = lg__mem_calloc(1, sizeof *e + len + flen);
    if (!e)
        goto out;
    e->word = LG_INTERP_FRAME_BIT | n;
    e->hash = h;
    e->line = line;
    memcpy(e->text, file, len);
    if (function) {
        memcpy(e->text + len, function, flen);
        e->function = e->text + len;
    }
    len += flen;
    if (publish_locked(e, n) != 0) {
        lg__mem_free(e, sizeof *e + len);
        goto out;
    }
    word = e->word;
    e->next = interp.buckets[h & (interp.nbuckets - 1)];
    interp.buckets[h & (interp.nbuckets - 1)] = e;
out:
    lg__unlock(&interp.lock, LG_LOCK_INTERP);
    return word;
}

bool lg__interp_resolve(uintptr_t word, lg_frame_t *out)
{
    if (!(word & LG_INTERP_FRAME_BIT))
        return false;
    uint32_t i = (uint32_t)(word & ~LG_INTERP_FRAME_BIT);
    memset(out, 0, sizeof *out);
    out->kind = LG_FRAME_PYTHON;
    out->file = "<unknown>";
    if (i < atomic_load(&interp.count)) {
        struct entry **seg = atomic_load(&interp.dir[i >> SEG_BITS]);
        const struct entry *e = seg ? seg[i & SEG_MASK] : NULL;
        if (e) {
            out->file = e->text;
            out->function = e->function;
            out->line = e->line;
        }
    }
    return true;
}

void lg_set_interp_frames(lg_interp_frames_fn fn, uintptr_t text_lo, uintptr_t text_hi)
{
    interp.text_lo = text_lo;
    interp.text_hi = text_hi;
    atomic_store(&interp.capture, fn);
    if (fn)
        atomic_store(&interp.seen, true);
}

bool lg__interp_seen(void)
{
    return atomic_load(&interp.seen);
}

bool lg__interp_capturing(void)
{
    return atomic_load_explicit(&interp.capture, memory_order_relaxed) != NULL;
}

LG_HOOK_TEXT int lg__interp_append(uintptr_t *frames, int n, int max, uint32_t *total)
{
    lg_interp_frames_fn fn = atomic_load_explicit(&interp.capture, memory_order_relaxed);
    if (!fn)
        return n;
    uintptr_t extra[LG_FRAMES_MAX];
    uint32_t extra_total = 0;
    int k = fn(extra, max, &extra_total);
    if (k <= 0)
        return n;
    /* The interpreter's frames stand for the native frames of its own
     * code: drop those, from the first one on. */
    int keep = 0;
    while (keep < n && !(frames[keep] > interp.text_lo && frames[keep] <= interp.text_hi))
        keep++;
    if (keep + k > LG_FRAMES_MAX)
        k = LG_FRAMES_MAX - keep;
    memcpy(frames + keep, extra, (size_t)k * sizeof *frames);
    *total = (uint32_t)keep + extra_total;
    return keep + k;
}

static bool in_interp(uintptr_t ret)
{
    return ret > interp.text_lo && ret <= interp.text_hi;
}

LG_HOOK_TEXT int lg_interp_native_frames(uintptr_t *out, int max, uintptr_t skip_lo,
                                         uintptr_t skip_hi)
{
    if (!atomic_load_explicit(&interp.capture, memory_order_relaxed) || max <= 0)
        return 0;
    uintptr_t raw[LG_FRAMES_MAX];
    uint32_t total;
    int n = lg__backtrace(raw, LG_FRAMES_MAX, &total), i = 0, k = 0;
    /* The binding's hook and the interpreter's allocator come first; the
     * native code that called the interpreter's C API, if any, next. */
    while (i < n && (in_interp(raw[i]) || (raw[i] > skip_lo && raw[i] <= skip_hi)))
        i++;
    while (i < n && k < max && !in_interp(raw[i]))
        out[k++] = raw[i++];
    return i < n ? k : 0; /* no interpreter frame above: not an extension */
}

void lg__interp_lock(void)
{
    lg__lock(&interp.lock, LG_LOCK_INTERP);
}

void lg__interp_unlock(void)
{
    lg__unlock(&interp.lock, LG_LOCK_INTERP);
}

int lg_untraced_enter(void)
{
    int prev = lg__in_hook;
    lg__in_hook = 1;
    return prev;
}

void lg_untraced_leave(int prev)
{
    lg__in_hook = prev;
}
