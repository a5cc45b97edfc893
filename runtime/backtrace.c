/*
 * backtrace.c — native traceback capture inside the allocation hook.
 *
 * Two ways, chosen by LEAKGATE_UNWIND (read as the library loads,
 * lg__env_unwind):
 *   fp         walk the frame-pointer chain, bounds-checked; stops at the
 *              first frame it cannot prove (truncates, never guesses)
 *   libunwind  unw_backtrace(): DWARF CFI, works without frame pointers;
 *              its tracebacks are cached per thread (unwind_cache.c)
 *   auto       (default) fp, falling back to libunwind for the whole
 *              traceback when the chain breaks before its end
 *
 * Two settings of the test adapters narrow this: a stop object (the test
 * framework's library) ends every traceback at its first frame there, so a
 * test built with frame pointers is walked without libunwind even when the
 * framework was built without them; and quick capture (before a runner's
 * first test, where nothing allocated is judged) takes the fp walk alone.
 *
 * A frame of the chain is accepted when its frame pointer lies inside this
 * thread's stack, above the previous one, 8-aligned, and its return address
 * lies in an executable segment of a loaded object right after a call
 * instruction.  A frame pointer of 0 is the chain's proper end (glibc's
 * _start and clone() clear it).  glibc's backtrace() is never used: it may
 * allocate and take the loader lock on first use.
 *
 * Frames of the tracer itself (LG_HOOK_TEXT) are dropped from the front, so
 * frame 0 is the function that called the allocator.
 *
 * Objects come and go while tracing (dlopen, dlclose): the list of
 * executable segments carries the loader's dlpi_adds/dlpi_subs counters of
 * when it was built, and is rebuilt when an address is in none of its
 * segments and the loader's counters moved since (an object loaded after
 * start: every C extension of Python).  The code before an address is read
 * only inside a dl_iterate_phdr() callback, in an object the loader lists
 * then: the loader holds its lock (dl_load_write_lock) through the
 * callbacks, and glibc's dlclose unmaps an object and unlists it under
 * that same lock, so a dlclose in another thread waits until the read is
 * done, and code unmapped before is never read (see prove()).  The dlclose
 * interposer also bumps bt.gen, so that addresses proven in an unloaded
 * object stop matching the cache.  In auto mode, every traceback that falls
 * back to libunwind is counted (lg_get_unwind_fallbacks()).
 *
 * Traceback cache: a thread that allocates again from where it allocated
 * before walks the same frame records.  Each thread remembers what its
 * recent complete frame-pointer walks read (every frame record's address,
 * the words loaded from it, the proof-cache slot of each return address)
 * with the interned traceback they gave, keyed by the first record above
 * the tracer and its return address.  A look-up loads the same words again
 * — independent loads, not a chain — and answers only when every one is
 * unchanged, the list of objects is the same generation and each return
 * address is still in the proof cache: the walk would then read the same
 * words, take the same branches and produce the same traceback.
 */
#include "lg_internal.h"

#include <fnmatch.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

/* How many frames beyond the limit are walked to count total_nframe, and
 * how many of libunwind's and the tracer's own frames may precede the
 * caller's. */
#define EXTRA LG_TOTAL_EXTRA

extern const char __start_lg_hook_text[] __attribute__((visibility("hidden")));
extern const char __stop_lg_hook_text[] __attribute__((visibility("hidden")));

struct range {
    uintptr_t lo, hi;
    uintptr_t base; /* the object's load address (dlpi_addr) */
};

struct ranges {
    size_t n;
    unsigned gen;
    unsigned long long adds, subs; /* the loader's counters it reflects */
    uintptr_t stop_lo, stop_span;  /* the stop object's code (span 0: none) */
    struct ranges *older;          /* the list it replaced, kept */
    struct range r[];
};

static struct {
    atomic_int mode;
    lg__backtrace_fn hook;       /* tests: replaces capture */
    atomic_uint gen;             /* bumped when objects come or go */
    struct ranges *_Atomic text; /* executable segments, sorted */
    _Atomic uint64_t fallbacks;  /* auto mode: tracebacks libunwind took */
    atomic_bool quick;           /* fp walk only, whatever the mode */
    char stop[256];              /* the stop object's dlpi_name, or "" */
    atomic_bool has_stop;        /* stop[] is set (written before) */
    atomic_int unw_lead;         /* the tracer's frames libunwind saw last */
    void (*_Atomic prove_hook)(uintptr_t); /* tests: before code is read */
} bt = {.mode = LG_UNWIND_AUTO, .unw_lead = 2 * EXTRA};

static LG_TLS uintptr_t stack_lo, stack_hi;

/* ---- traceback cache: declarations --------------------------------------
 *
 * One entry per (first record, its return address) slot, direct-mapped;
 * the thread's block is allocated by its first complete walk (tracer
 * memory) and freed when the thread exits.  Walks of more than TBC_KEPT
 * frames are not cached.  An entry keeps, for each frame record of a
 * kept frame, its address and the two words the walk read there (link,
 * return address) side by side, so that a look-up checks a record with
 * one 16-byte load and compare; past the limit, where the walk reads only
 * the link (a word beside it may be anything, when a frame without frame
 * pointer lies there), the link alone.  Both lists are padded to a
 * multiple of 4 records by repeating their last (checking a record twice
 * changes nothing):
 *
 *   rec[i]  ---> stack: [ link | ra ]   must still equal   want[i]
 *   xrec[j] ---> stack: [ link ]        must still equal   xlink[j]
 */
#define TBC_SLOTS 16
#define TBC_KEPT  LG_WALK_KEPT
_Static_assert(TBC_KEPT % 4 == 0 && LG_TOTAL_EXTRA % 4 == 0, "the look-up checks 4 a round");

typedef uintptr_t tbc_pair __attribute__((vector_size(2 * sizeof(uintptr_t))));

struct tbc_entry {
    uintptr_t rec[TBC_KEPT];          /* records of kept frames, rec[0] the key; empty: 0 */
    tbc_pair want[TBC_KEPT];          /* {link, return address} each held */
    uintptr_t xrec[LG_TOTAL_EXTRA];   /* records past the limit */
    uintptr_t xlink[LG_TOTAL_EXTRA];  /* the link each held */
    uint16_t slot[TBC_KEPT];          /* proof-cache slot of each kept return address */
    uint64_t proven_stores;           /* proof cache's stores when the walk began */
    unsigned gen;                     /* generation of objects */
    uint32_t tb;                      /* the interned traceback */
    uint8_t limit, kept, nrec, nxrec; /* records to check: multiples of 4 */
};

struct tbc {
    struct tbc_entry e[TBC_SLOTS];
    uintptr_t lo, span; /* this thread's stack: stack_lo, stack_hi - 16 - stack_lo */
    uint64_t hits;      /* for tests */
};

static LG_TLS struct tbc *tbc; /* this thread's, or NULL */
static pthread_key_t tbc_key;  /* frees a thread's cache when it exits */
static bool tbc_key_ok;        /* tbc_key was created (set once) */
static pthread_once_t tbc_once = PTHREAD_ONCE_INIT;

/* Return addresses already proven (in a text segment, right after a call)
 * under the current list of objects, so that a hot call path is proven
 * once rather than on every allocation.  Direct-mapped, shared by all
 * threads with relaxed atomics; an entry is the address tagged with the low
 * 16 bits of bt.gen, so entries proven before objects came or went stop
 * matching.  Nothing here is dereferenced: a wrong hit could only record a
 * wrong frame, never read outside the stack. */
#define PROVEN_SLOTS 1024
static _Atomic uint64_t proven[PROVEN_SLOTS];
/* Bumped after every store into proven[]: a reader that loads it before
 * reading slots, and finds it unchanged later, knows that no slot changed
 * since (the traceback cache's quick check). */
static _Atomic uint64_t proven_stores;

static inline uint64_t proven_tag(uintptr_t ra, unsigned gen)
{
    return (uint64_t)ra ^ ((uint64_t)(gen & 0xffff) << 48);
}

static inline _Atomic uint64_t *proven_slot(uintptr_t ra)
{
    return &proven[((uint64_t)ra * 0x9E3779B97F4A7C15u) >> 54];
}

/* Changing how tracebacks are captured (a test's hook, the unwind mode)
 * bumps the generation too: the traceback cache forgets what walks of the
 * other way gave, so that its look-up need not check the way. */
void lg__set_backtrace_hook(lg__backtrace_fn fn)
{
    bt.hook = fn;
    lg__modules_changed();
}
void lg__set_prove_hook(void (*fn)(uintptr_t ra))
{
    atomic_store(&bt.prove_hook, fn);
}
void lg__set_unwind_mode(int mode)
{
    atomic_store(&bt.mode, mode);
    atomic_store(&bt.unw_lead, 0); /* learned again, by a second walk */
    lg__modules_changed();
}
void lg__modules_changed(void)
{
    atomic_fetch_add(&bt.gen, 1);
}
uint64_t lg_get_unwind_fallbacks(void)
{
    return atomic_load_explicit(&bt.fallbacks, memory_order_relaxed);
}

void lg_set_traceback_quick(int on)
{
    atomic_store(&bt.quick, on != 0);
}

struct find_stop {
    const char *pattern;
    const char *name; /* the first match's dlpi_name */
};

static int find_stop(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct find_stop *f = arg;
    LG_UNUSED(size);
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *base = strrchr(name, '/');
    if (!*name || fnmatch(f->pattern, base ? base + 1 : name, 0) != 0)
        return 0;
    f->name = name;
    return 1;
}

/* The stop is stored by name and applied when the list of segments is
 * rebuilt (collect_segments), which bumping bt.gen forces. */
int lg_set_traceback_stop(const char *pattern)
{
    if (!pattern) {
        atomic_store(&bt.has_stop, false);
        lg__modules_changed();
        return 0;
    }
    struct find_stop f = {pattern, NULL};
    dl_iterate_phdr(find_stop, &f);
    if (!f.name || strlen(f.name) >= sizeof bt.stop)
        return LG_ENOTFOUND;
    atomic_store(&bt.has_stop, false);
    strcpy(bt.stop, f.name);
    atomic_store(&bt.has_stop, true);
    lg__modules_changed();
    return 0;
}

static inline bool in_tracer(uintptr_t a)
{
    return a >= (uintptr_t)__start_lg_hook_text && a < (uintptr_t)__stop_lg_hook_text;
}

/* ---- executable segments ------------------------------------------------ */

struct collect {
    struct range *r;
    size_t n, cap;
    uintptr_t stop_lo, stop_hi;        /* hull of the stop object's code */
    unsigned long long counters[2];    /* the loader's dlpi_adds, dlpi_subs */
};

static int collect_segments(struct dl_phdr_info *info, size_t size, void *ctx)
{
    struct collect *c = ctx;
    LG_UNUSED(size);
    c->counters[0] = info->dlpi_adds;
    c->counters[1] = info->dlpi_subs;
    bool stop = atomic_load(&bt.has_stop) && !c->stop_hi && info->dlpi_name &&
                strcmp(info->dlpi_name, bt.stop) == 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        if (c->n == c->cap)
            return 1;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        c->r[c->n++] = (struct range){lo, lo + ph->p_memsz, info->dlpi_addr};
        if (stop) {
            c->stop_lo = c->stop_lo && c->stop_lo < lo ? c->stop_lo : lo;
            c->stop_hi = c->stop_hi > lo + ph->p_memsz ? c->stop_hi : lo + ph->p_memsz;
        }
    }
    return 0;
}

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Rebuilds the list of executable segments.  No lock of ours is held while
 * dl_iterate_phdr() takes the loader's lock (a thread inside dlopen() may
 * be allocating); concurrent rebuilders race and the loser frees its list.
 * A replaced list is kept, never freed (another thread may still read it):
 * each list holds the one it replaced (older), takes only the room its
 * segments need, and rebuilds happen only when objects come or go. */
static LG_NOINLINE struct ranges *text_rebuild(unsigned gen)
{
    size_t cap = 1024, bytes = sizeof(struct ranges) + cap * sizeof(struct range);
    struct ranges *nr = lg__mem_calloc(1, bytes);
    if (!nr)
        return NULL;
    struct collect c = {nr->r, 0, cap, 0, 0, {0, 0}};
    dl_iterate_phdr(collect_segments, &c);
    size_t need = sizeof(struct ranges) + c.n * sizeof(struct range);
    struct ranges *fit = lg__mem_calloc(1, need);
    if (fit) {
        memcpy(fit, nr, need);
        lg__mem_free(nr, bytes);
        nr = fit;
        bytes = need;
    }
    nr->adds = c.counters[0];
    nr->subs = c.counters[1];
    nr->stop_lo = c.stop_lo;
    nr->stop_span = c.stop_hi - c.stop_lo;
    qsort(nr->r, c.n, sizeof nr->r[0], range_cmp);
    nr->n = c.n;
    nr->gen = gen;
    /* Replaced lists stay reachable from the newest (they are kept, not
     * lost: leak checkers of the tracer's own tests agree). */
    struct ranges *cur = atomic_load(&bt.text);
    do {
        if (cur && cur->gen == gen) {
            lg__mem_free(nr, bytes);
            return cur;
        }
        nr->older = cur;
    } while (!atomic_compare_exchange_weak(&bt.text, &cur, nr));
    return nr;
}

/* The segment of `t` that holds a, or NULL. */
static const struct range *in_text(const struct ranges *t, uintptr_t a)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a < t->r[mid].lo)
            hi = mid;
        else if (a >= t->r[mid].hi)
            lo = mid + 1;
        else
            return &t->r[mid];
    }
    return NULL;
}

/* Does the instruction before `ra` look like a call?  e8 rel32, or ff /2
 * (call r/m) with a 0 to 5 byte operand, possibly after a REX prefix. */
static bool after_call(uintptr_t ra, uintptr_t seg_lo)
{
    if (ra - seg_lo < 7)
        return false;
    const unsigned char *p = (const unsigned char *)ra;
    if (p[-5] == 0xe8)
        return true;
    for (int k = 2; k <= 7; k++)
        if (p[-k] == 0xff && ((p[-k + 1] >> 3) & 7) == 2)
            return true;
    return false;
}

/* ---- frame-pointer walk ------------------------------------------------- */

static LG_NOINLINE void stack_bounds_init(void)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
        stack_lo = (uintptr_t)addr;
        stack_hi = (uintptr_t)addr + size;
    }
    pthread_attr_destroy(&attr);
}

/* What prove_locked() looks for and finds. */
struct proof {
    uintptr_t ra;
    const struct range *seg;       /* the list's segment holding ra, or NULL */
    unsigned long long adds, subs; /* the loader's counters */
    int proven;                    /* 1 or 0; -1: seg's object is not listed */
};

/* dl_iterate_phdr callback: the loader's counters, then, when the list has
 * a segment for ra, the object listed at that segment's place; the code
 * before ra is read here, under the loader's lock, or not at all. */
static int prove_locked(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct proof *p = arg;
    LG_UNUSED(size);
    p->adds = info->dlpi_adds;
    p->subs = info->dlpi_subs;
    if (!p->seg)
        return 1;
    if (info->dlpi_addr != p->seg->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && lo == p->seg->lo &&
            lo + ph->p_memsz == p->seg->hi) {
            void (*hook)(uintptr_t) = atomic_load_explicit(&bt.prove_hook, memory_order_relaxed);
            if (LG_UNLIKELY(hook != NULL))
                hook(p->ra);
            p->proven = after_call(p->ra, lo);
            return 1;
        }
    }
    return 0;
}

/* Proves a return address that the cache does not know; see fp_walk.  The
 * list of segments says where ra is; prove_locked() checks that the
 * object is still there and reads its code under the loader's lock.  When
 * ra is in no segment of the list, or in one whose object went away, and
 * the loader's counters moved since the list was built, the list is
 * rebuilt and the proof tried once more (an object loaded since is found).
 * This costs one dl_iterate_phdr() per address not yet proven, walking the
 * objects up to ra's. */
static LG_NOINLINE bool prove(const struct ranges **text, uintptr_t ra, uint64_t *gen_tag)
{
    for (int tries = 0; tries < 2; tries++) {
        struct proof p = {.ra = ra, .seg = in_text(*text, ra), .proven = -1};
        dl_iterate_phdr(prove_locked, &p);
        if (p.proven >= 0) {
            if (p.proven) {
                atomic_store_explicit(proven_slot(ra), ra ^ *gen_tag, memory_order_relaxed);
                atomic_fetch_add(&proven_stores, 1);
            }
            return p.proven;
        }
        if (p.adds == (*text)->adds && p.subs == (*text)->subs)
            return false; /* the list is the loader's: ra is in no object */
        lg__modules_changed();
        const struct ranges *nt = text_rebuild(atomic_load(&bt.gen));
        if (!nt)
            return false;
        *text = nt;
        *gen_tag = proven_tag(0, nt->gen);
    }
    return false;
}

/* The first frame record above the tracer's own: its return address is
 * the first frame of the traceback.  The tracer's frames come first; their
 * return addresses lie in its own text, so they are passed over without
 * proof or record.  Returns 0 when the chain leaves the stack before. */
LG_HOOK_TEXT static inline uintptr_t first_record(uintptr_t fp, uintptr_t lo, uintptr_t span)
{
    for (;;) {
        if (fp - lo > span || (fp & 7))
            return 0;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        if (!in_tracer(((const uintptr_t *)fp)[1]))
            return fp;
        if (next <= fp)
            return 0;
        fp = next;
    }
}

/* Walks the chain into out[] (at most max frames), then counts up to
 * EXTRA frames beyond them for *total: those are followed (in the stack,
 * upwards) but neither proven nor kept.  Returns the number of frames kept,
 * and sets *complete unless the chain broke before max frames.  When `w`
 * is given (max <= TBC_KEPT), what the walk read is recorded there, and
 * w->gen is set (non-zero) when the walk can be cached. */
LG_HOOK_TEXT static LG_NOINLINE int fp_walk(uintptr_t *out, int max, uint32_t *total,
                                            bool *complete, lg__walk_t *w)
{
    *complete = false;
    *total = 0;
    if (max <= 0)
        return 0;
    if (LG_UNLIKELY(!stack_hi)) {
        stack_bounds_init();
        if (!stack_hi)
            return 0;
    }
    unsigned gen = atomic_load_explicit(&bt.gen, memory_order_relaxed);
    const struct ranges *text = atomic_load(&bt.text);
    if (LG_UNLIKELY(!text || text->gen != gen))
        text = text_rebuild(gen);
    if (!text)
        return 0;
    uint64_t gen_tag = proven_tag(0, text->gen), start_tag = gen_tag;
    uint64_t stores = atomic_load_explicit(&proven_stores, memory_order_acquire);
    /* read the TLS once; fp is in the stack when fp - lo <= span */
    uintptr_t lo = stack_lo, span = stack_hi - 16 - lo;
    uintptr_t fp = first_record((uintptr_t)__builtin_frame_address(0), lo, span);
    if (!fp)
        return 0;
    int n = 0, loads = 0;
    for (;;) {
        if (fp - lo > span || (fp & 7))
            break;
        uintptr_t next = ((const uintptr_t *)fp)[0];
        uintptr_t ra = ((const uintptr_t *)fp)[1];
        _Atomic uint64_t *slot = proven_slot(ra);
        if (LG_UNLIKELY(atomic_load_explicit(slot, memory_order_relaxed) != (ra ^ gen_tag)) &&
            !prove(&text, ra, &gen_tag))
            break;
        if (w) {
            w->fp[loads] = fp;
            w->slot[n] = (uint16_t)(slot - proven);
        }
        loads++;
        out[n++] = ra;
        if (next == 0 || ra - text->stop_lo < text->stop_span) {
            *complete = true;
            *total = (uint32_t)n;
            fp = next;
            break;
        }
        if (next <= fp)
            return *total = (uint32_t)n, n;
        fp = next;
        if (n == max) {
            *complete = true;
            int more = 0;
            while (more < EXTRA && fp - lo <= span && !(fp & 7)) {
                more++;
                next = ((const uintptr_t *)fp)[0];
                if (w)
                    w->fp[loads] = fp;
                loads++;
                if (next <= fp) {
                    fp = next;
                    break;
                }
                fp = next;
            }
            *total = (uint32_t)(n + more);
            break;
        }
    }
    if (!*complete) {
        *total = (uint32_t)n;
        return n;
    }
    /* fp is the last word loaded (from w->fp[loads - 1]) */
    if (w && gen_tag == start_tag) {
        w->fp[loads] = fp;
        memcpy(w->ra, out, (size_t)n * sizeof *out);
        w->kept = (uint8_t)n;
        w->loads = (uint8_t)loads;
        w->limit = (uint8_t)max;
        w->gen = text->gen;
        w->proven_stores = stores;
        w->ok = true;
    }
    return n;
}

/* ---- traceback cache ------------------------------------------------------ */

static void tbc_free(void *p)
{
    tbc = NULL;
    lg__mem_free(p, sizeof(struct tbc));
}

static void tbc_key_create(void)
{
    tbc_key_ok = pthread_key_create(&tbc_key, tbc_free) == 0;
}

static inline struct tbc_entry *tbc_entry_of(struct tbc *c, uintptr_t fp, uintptr_t ra)
{
    return &c->e[((uint64_t)(fp ^ ra) * 0x9E3779B97F4A7C15u) >> (64 - 4)];
}
_Static_assert(TBC_SLOTS == 16, "tbc_entry_of picks one of 16 slots");

/* The two words of the frame record at rec, in one load. */
static inline tbc_pair record_at(uintptr_t rec)
{
    tbc_pair v;
    memcpy(&v, (const void *)rec, sizeof v);
    return v;
}

/* Whether the walk would read again exactly what entry `e` recorded: the
 * same generation of objects, every word loaded unchanged, every return
 * address still in the proof cache (surely so when nothing was stored into
 * it since the walk began).  The loads are independent: each address was
 * inside this thread's stack and above rec[0] when recorded, rec[0] is in
 * the current chain, and the stack above it is mapped. */
LG_HOOK_TEXT static inline bool tbc_valid(struct tbc_entry *e, unsigned gen)
{
    tbc_pair diff = {0, 0};
    for (int i = 0; i < e->nrec; i += 4)
        diff |= (record_at(e->rec[i]) ^ e->want[i]) | (record_at(e->rec[i + 1]) ^ e->want[i + 1]) |
                (record_at(e->rec[i + 2]) ^ e->want[i + 2]) |
                (record_at(e->rec[i + 3]) ^ e->want[i + 3]);
    uintptr_t xdiff = 0;
    for (int i = 0; i < e->nxrec; i += 4)
        xdiff |= (*(const uintptr_t *)e->xrec[i] ^ e->xlink[i]) |
                 (*(const uintptr_t *)e->xrec[i + 1] ^ e->xlink[i + 1]) |
                 (*(const uintptr_t *)e->xrec[i + 2] ^ e->xlink[i + 2]) |
                 (*(const uintptr_t *)e->xrec[i + 3] ^ e->xlink[i + 3]);
    if (diff[0] | diff[1] | xdiff)
        return false;
    uint64_t stores = atomic_load_explicit(&proven_stores, memory_order_acquire);
    if (LG_LIKELY(stores == e->proven_stores))
        return true;
    uint64_t tag = proven_tag(0, gen), bad = 0;
    for (int i = 0; i < e->kept; i++)
        bad |= atomic_load_explicit(&proven[e->slot[i]], memory_order_relaxed) ^ e->want[i][1] ^ tag;
    if (bad)
        return false;
    e->proven_stores = stores; /* every slot held its address after `stores` was read */
    return true;
}

/* libunwind mode: unwind_cache.c's cache, keyed by the same first record.
 * Its entries, like the fp walk's, carry the generation, which a change of
 * the way of capture bumps. */
LG_HOOK_TEXT static LG_NOINLINE uint32_t unw_cached(int max, uintptr_t from)
{
    if (atomic_load_explicit(&bt.mode, memory_order_relaxed) != LG_UNWIND_LIBUNWIND || !stack_hi)
        return LG_TB_NONE;
    uintptr_t lo = stack_lo, span = stack_hi - 16 - lo;
    uintptr_t fp = first_record(from ? from : (uintptr_t)__builtin_frame_address(0), lo, span);
    return fp ? lg__unwc_cached(fp, max, atomic_load_explicit(&bt.gen, memory_order_relaxed))
              : LG_TB_NONE;
}

LG_HOOK_TEXT uint32_t lg__backtrace_cached(int max, uintptr_t from)
{
    /* Entries come from fp walks of at most TBC_KEPT frames, by the way of
     * capture in force (see lg__set_unwind_mode): the generation and the
     * limit they hold tell the rest. */
    struct tbc *c = tbc;
    if (!c)
        return unw_cached(max, from);
    /* The walk starts at its own record and passes over the tracer's up to
     * the first that is not; `from` lies on that chain, among them or at
     * that record, so starting there finds the same. */
    uintptr_t fp = first_record(from ? from : (uintptr_t)__builtin_frame_address(0), c->lo, c->span);
    if (!fp)
        return LG_TB_NONE;
    struct tbc_entry *e = tbc_entry_of(c, fp, ((const uintptr_t *)fp)[1]);
    unsigned gen = atomic_load_explicit(&bt.gen, memory_order_relaxed);
    if (e->rec[0] != fp || e->gen != gen || e->limit != max || !tbc_valid(e, gen))
        return unw_cached(max, from);
    c->hits++;
    return e->tb;
}

uint64_t lg__backtrace_cache_hits(void)
{
    return tbc ? tbc->hits : 0;
}

void lg__backtrace_cache_put(const lg__walk_t *rec, uint32_t tb)
{
    if (!rec->ok) {
        lg__unwc_put(tb); /* a libunwind walk it learned, if any */
        return;
    }
    if (tb == LG_TB_NONE || rec->kept == 0 || rec->kept > TBC_KEPT ||
        rec->loads - rec->kept > LG_TOTAL_EXTRA)
        return;
    if (LG_UNLIKELY(!tbc)) {
        pthread_once(&tbc_once, tbc_key_create);
        struct tbc *c = tbc_key_ok ? lg__mem_calloc(1, sizeof *c) : NULL;
        if (!c)
            return;
        if (pthread_setspecific(tbc_key, c) != 0) {
            lg__mem_free(c, sizeof *c);
            return;
        }
        c->lo = stack_lo;
        c->span = stack_hi - 16 - stack_lo;
        tbc = c;
    }
    struct tbc_entry *e = tbc_entry_of(tbc, rec->fp[0], rec->ra[0]);
    int n = rec->kept, padded = (n + 3) & ~3;
    for (int i = 0; i < padded; i++) {
        int k = i < n ? i : n - 1;
        e->rec[i] = rec->fp[k];
        e->want[i] = (tbc_pair){rec->fp[k + 1], rec->ra[k]};
    }
    int x = rec->loads - n, xpadded = (x + 3) & ~3;
    for (int i = 0; i < xpadded; i++) {
        int k = n + (i < x ? i : x - 1);
        e->xrec[i] = rec->fp[k];
        e->xlink[i] = rec->fp[k + 1];
    }
    memcpy(e->slot, rec->slot, (size_t)rec->kept * sizeof rec->slot[0]);
    e->gen = rec->gen;
    e->proven_stores = rec->proven_stores;
    e->tb = tb;
    e->limit = rec->limit;
    e->kept = rec->kept;
    e->nrec = (uint8_t)padded;
    e->nxrec = (uint8_t)xpadded;
}

/* ---- capture ------------------------------------------------------------ */

/* libunwind mode: lets unwind_cache.c learn the walk that gave user[0..n),
 * the frames past the tracer's, from the first record above the tracer. */
LG_HOOK_TEXT static LG_NOINLINE void unw_learn(int max, unsigned gen, const uintptr_t *user, int n)
{
    if (LG_UNLIKELY(!stack_hi))
        stack_bounds_init();
    uintptr_t lo = stack_lo, span = stack_hi - 16 - lo, fp = 0;
    if (stack_hi)
        fp = first_record((uintptr_t)__builtin_frame_address(0), lo, span);
    lg__unwc_learn(fp, max, gen, user, n, stack_hi);
}

LG_HOOK_TEXT int lg__backtrace_walk(uintptr_t *frames, int max, uint32_t *total, lg__walk_t *walk)
{
    lg__walk_t *w = walk && max <= TBC_KEPT ? walk : NULL;
    if (walk)
        walk->ok = false;
    if (LG_UNLIKELY(bt.hook != NULL))
        return bt.hook(frames, max, total);
    int mode = atomic_load_explicit(&bt.mode, memory_order_relaxed);
    bool complete = false;
    bool quick = atomic_load_explicit(&bt.quick, memory_order_relaxed);
    if (mode != LG_UNWIND_LIBUNWIND || quick) {
        int n = fp_walk(frames, max, total, &complete, mode == LG_UNWIND_LIBUNWIND ? NULL : w);
        if (complete || mode == LG_UNWIND_FP || quick)
            return n;
        atomic_fetch_add_explicit(&bt.fallbacks, 1, memory_order_relaxed);
    }
    /* libunwind: the tracer's own frames come first (at most 2 * EXTRA),
     * as many as last time, usually; then the caller's, and one frame past
     * the limit tells whether there were more (walking EXTRA more to count
     * them would cost ~90 instructions each).  When the tracer's frames were
     * more this time and filled the room, the walk is done again. */
    uintptr_t raw[LG_FRAMES_MAX + 2 * EXTRA + 1];
    unsigned gen0 = atomic_load_explicit(&bt.gen, memory_order_relaxed);
    int lead = atomic_load_explicit(&bt.unw_lead, memory_order_relaxed);
    int want = max + lead + 1, n, start;
    for (;;) {
        n = unw_backtrace((void **)raw, want);
        start = 0;
        for (int i = 0; i < n && i < 2 * EXTRA; i++)
            if (in_tracer(raw[i]))
                start = i + 1;
        if (n < want || start <= lead || lead == 2 * EXTRA)
            break;
        lead = 2 * EXTRA;
        want = max + lead + 1;
    }
    if (start != atomic_load_explicit(&bt.unw_lead, memory_order_relaxed))
        atomic_store_explicit(&bt.unw_lead, start, memory_order_relaxed);
    if (w && mode == LG_UNWIND_LIBUNWIND)
        unw_learn(max, gen0, raw + start, n - start);
    int got = n - start;
    *total = (uint32_t)(got <= 0 ? 0 : got > max + 1 ? max + 1 : got);
    if (got > max)
        got = max;
    if (got <= 0)
        return 0;
    unsigned gen = atomic_load_explicit(&bt.gen, memory_order_relaxed);
    const struct ranges *text = atomic_load(&bt.text);
    if (atomic_load_explicit(&bt.has_stop, memory_order_relaxed) && (!text || text->gen != gen))
        text = text_rebuild(gen);
    if (text && text->stop_span)
        for (int i = 0; i < got; i++)
            if (raw[start + i] - text->stop_lo < text->stop_span) {
                got = i + 1;
                *total = (uint32_t)got;
                break;
            }
    memcpy(frames, raw + start, (size_t)got * sizeof *frames);
    return got;
}

LG_HOOK_TEXT int lg__backtrace(uintptr_t *frames, int max, uint32_t *total)
{
    return lg__backtrace_walk(frames, max, total, NULL);
}
