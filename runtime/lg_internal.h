/*
 * lg_internal.h — what runtime modules share and nobody else may see.
 *
 * Names: public lg_ / LG_, internal non-static lg__.  Memory rules:
 *   lg__real.*       the real allocator; never traced
 *   lg__mem_*        the tracer's own long-lived memory (tables, tracebacks,
 *                    marks), counted by lg_get_tracer_memory()
 *   lg__xmalloc & co report-time memory (snapshots, stats), not counted
 * Nothing in this header may be called with a trace shard lock held unless
 * its name ends in _locked.
 */
#ifndef LG_INTERNAL_H
#define LG_INTERNAL_H

#ifndef LG_BUILDING_LIBRARY
#error "lg_internal.h is internal to leakgate; include <leakgate/runtime.h>"
#endif

#include <leakgate/runtime.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Everything declared here stays inside the library: the compiler may then
 * reach it directly rather than through the global offset table (the
 * hooks read lg__tracing_on and the hook section's bounds on every call). */
#pragma GCC visibility push(hidden)

#define LG_UNUSED(x)   ((void)(x))
#define LG_LIKELY(x)   __builtin_expect(!!(x), 1)
#define LG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LG_NOINLINE    __attribute__((noinline))
#define LG_ALWAYS_INLINE inline __attribute__((always_inline))
#define LG_TLS         __thread __attribute__((tls_model("initial-exec")))
/* Functions between a public entry point of the tracer and the traceback
 * capture live in their own section, so that capture can drop the tracer's
 * frames wherever inlining left them: frame 0 is the allocator's caller. */
#define LG_HOOK_TEXT __attribute__((section("lg_hook_text")))

/* ---- locks and their order (lock.c) ------------------------------------
 *
 * The tracer's locks, outermost first.  A thread holding one of them may
 * take only locks further down this list, never one above it:
 *
 *   LG_LOCK_SYMBOLIZE  symbolize.c S.lock      the symbolizer's caches
 *   LG_LOCK_SCAN       scan.c sc.lock          one reachability scan at a
 *                                              time; it takes the loader's
 *                                              lock, then every table lock
 *   LG_LOCK_MARK       mark.c mk.lock          the active mark's logs; it
 *                                              looks blocks up in the trace
 *                                              table (shard locks) under it
 *   LG_LOCK_INTERP     interp.c interp.lock    interpreter frame words
 *   LG_LOCK_INTERN     intern.c in.lock        interned tracebacks
 *   LG_LOCK_DOMAINS    table.c tbl.dom_lock    the list of user domains
 *   LG_LOCK_SHARD      table.c shard.lock      one trace-table shard; several
 *                                              only in lg__table_lock_all,
 *                                              in index order
 *   LG_LOCK_LIVE       intern.c live.lock      the list of threads' pending
 *                                              live totals
 *
 * fork() takes all of them in this order (trace.c's before_fork, after
 * symbolize.c's own handler) and releases them in reverse.  An adapter's
 * locks (the Python binding's frame cache) sit above all of these.
 * Every lock goes through lg__lock / lg__unlock (the shards' spin locks
 * through lg__spin_lock / lg__spin_unlock); built with
 * LG_DEBUG_LOCKS (the unit tests are), each thread keeps the levels it
 * holds and taking a lock out of order reports both and aborts. */
enum lg__lock_level {
    LG_LOCK_SYMBOLIZE = 1,
    LG_LOCK_SCAN,
    LG_LOCK_MARK,
    LG_LOCK_INTERP,
    LG_LOCK_INTERN,
    LG_LOCK_DOMAINS,
    LG_LOCK_SHARD,
    LG_LOCK_LIVE,
    LG_LOCK_LEVELS
};

#ifdef LG_DEBUG_LOCKS
/* Checks that this thread may take a lock of `level`, then records it. */
void lg__lock_order_enter(int level);
void lg__lock_order_leave(int level);
#else
#define lg__lock_order_enter(level) ((void)(level))
#define lg__lock_order_leave(level) ((void)(level))
#endif

static inline void lg__lock(pthread_mutex_t *m, int level)
{
    lg__lock_order_enter(level);
    pthread_mutex_lock(m);
}

static inline void lg__unlock(pthread_mutex_t *m, int level)
{
    pthread_mutex_unlock(m);
    lg__lock_order_leave(level);
}

/* The trace-table shards' lock, taken twice per malloc+free pair for a few
 * dozen instructions: taking it is one atomic exchange and releasing it a
 * plain store, where a mutex needs an atomic operation for each.  A thread
 * that finds it held spins a little, then yields the processor (the holder
 * may have been preempted): lg__spin_wait in lock.c. */
typedef struct lg__spin {
    atomic_int held;
} lg__spin_t;

void lg__spin_wait(lg__spin_t *l);

static inline void lg__spin_lock(lg__spin_t *l, int level)
{
    lg__lock_order_enter(level);
    if (LG_UNLIKELY(atomic_exchange_explicit(&l->held, 1, memory_order_acquire)))
        lg__spin_wait(l);
}

static inline void lg__spin_unlock(lg__spin_t *l, int level)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
    lg__lock_order_leave(level);
}

/* ---- diagnostics (error.c) --------------------------------------------- */

/* Writes "leakgate: <message>\n" through a stack buffer to the log
 * (lg_log_write: LEAKGATE_LOG_FILE, else stderr), never allocating; safe
 * inside the allocation hook. */
void lg__error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes a one-line message for a caller's `err` buffer (if any) and
 * returns `rc`: the error paths of parsers and loaders. */
int lg__errf(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- the real allocator (prim_linux.c) --------------------------------- */

/* The hooked allocation functions, one list for everything that names them
 * (memray's FOR_EACH_HOOKED_FUNCTION): the real allocator's pointers
 * below, their resolution (prim_linux.c), the hooks and their sanitizer-
 * build names (hooks.c).
 *
 *   X(name, return type, (parameters), (arguments), body, size, align)
 *
 * body SIMPLE: hooks.c generates the hook: before the real allocator is
 * resolved, `size` bytes aligned to `align` from the bootstrap pool; then
 * the real call, and the result traced with `size`.  body CUSTOM: the
 * hook is written by hand in hooks.c (size and align unused). */
#define LG_FOR_EACH_HOOKED_FUNCTION(X)                                                         \
    X(malloc, void *, (size_t size), (size), SIMPLE, size, 16)                                 \
    X(free, void, (void *p), (p), CUSTOM, 0, 0)                                                \
    X(calloc, void *, (size_t n, size_t size), (n, size), CUSTOM, 0, 0)                        \
    X(realloc, void *, (void *old, size_t size), (old, size), CUSTOM, 0, 0)                    \
    X(reallocarray, void *, (void *old, size_t n, size_t size), (old, n, size), CUSTOM, 0, 0)  \
    X(posix_memalign, int, (void **out, size_t align, size_t size), (out, align, size), CUSTOM, \
      0, 0)                                                                                    \
    X(aligned_alloc, void *, (size_t align, size_t size), (align, size), SIMPLE, size, align)  \
    X(memalign, void *, (size_t align, size_t size), (align, size), SIMPLE, size, align)       \
    X(valloc, void *, (size_t size), (size), SIMPLE, size, 4096)                               \
    X(pvalloc, void *, (size_t size), (size), SIMPLE, size, 4096)                              \
    X(malloc_usable_size, size_t, (void *p), (p), CUSTOM, 0, 0)

struct lg__real {
#define LG_REAL_FIELD(name, ret, params, args, body, size, align) ret(*name) params;
    LG_FOR_EACH_HOOKED_FUNCTION(LG_REAL_FIELD)
#undef LG_REAL_FIELD
    void *(*dlopen)(const char *, int); /* for lg__hook_dlopen; not hooked when interposing */
};

/* Resolved by lg__real_init() with dlsym(RTLD_NEXT); until then NULL. */
extern struct lg__real lg__real;

/* Resolves lg__real once.  Returns 0 or LG_ENOMEM if malloc is missing.
 * May be called from the hooks: dlsym's own allocations must be served by
 * the caller (hooks.c keeps a static pool for them). */
int lg__real_init(void);

/* Resident set size of this process in bytes, or 0. */
uint64_t lg__rss(void);
/* CLOCK_REALTIME in nanoseconds. */
int64_t lg__now_ns(void);

/* Report-time memory: real allocator, not counted.  lg__xmalloc() and
 * friends return NULL on failure. */
void *lg__xmalloc(size_t n);
void *lg__xcalloc(size_t n, size_t size);
void *lg__xrealloc(void *p, size_t n);
void lg__xfree(void *p);
char *lg__xstrdup(const char *s);

/* Tests: when set to N > 0, the Nth following lg__x* / lg__mem_* allocation
 * fails (then the countdown stays at 0). */
extern _Atomic long lg__fault_countdown;

/* Tracer memory: real allocator, counted by lg_get_tracer_memory().  The
 * caller passes the size back on free. */
void *lg__mem_calloc(size_t n, size_t size);
void lg__mem_free(void *p, size_t bytes);
/* The same for arrays probed at random (the trace table's shards): from
 * 1 MiB on, mapped in 2 MiB-aligned huge pages where the kernel grants
 * them (the mapping is rounded up to 2 MiB; the counter says `bytes`), as
 * 4 KiB pages miss the TLB on most probes of a heap of a million blocks.
 * Zeroed; freed with lg__mem_table_free and the same size. */
void *lg__mem_table_alloc(size_t bytes);
void lg__mem_table_free(void *p, size_t bytes);
/* Adjusts the counter for memory obtained another way (arena chunks). */
void lg__mem_account(int64_t delta);

/* ---- files (prim_linux.c): the one way leakgate reads and writes files ---
 *
 * Reading: a regular file or a pipe (FIFO, /dev/stdin on a pipe), whole,
 * never a device, directory or socket.  The first bytes are shown to the
 * caller's check before anything else is read, and at most `max` bytes are
 * ever held: a bigger file is refused from its size, a pipe once it passes
 * the cap, so /dev/zero or a huge file cannot grow memory.
 *
 * Writing an output at PATH (lg__out_*):
 *   /dev/stdout, /dev/stderr, /dev/fd/N, /proc/self/fd/N   written in place
 *                                            (the descriptor, its offset)
 *   symlink                  followed: its target is written, the link kept
 *   FIFO, character device   opened and written in place (no truncation)
 *   regular file or nothing  a temporary file in the target's own directory
 *                            (same file system: rename() is atomic), written,
 *                            fsync'd, given the old file's mode, renamed over
 *   anything else            refused (directory, socket, block device)
 * A failed write leaves the old file whole and removes the temporary file;
 * errno is the failing call's (ENOSPC, EMFILE ...), never replaced. */

/* The first bytes of an input, `whole` when they are all of it.  Returns
 * NULL to read on, or a static phrase saying why the file is refused. */
typedef const char *(*lg__head_check_fn)(const unsigned char *head, size_t n, bool whole);

/* What the check is shown: up to this many bytes (fewer only at the end). */
#define LG_FILE_HEAD 512

/* How much leakgate reads of each kind of input (docs/reference.md). */
typedef struct lg__input_kind {
    size_t max;             /* bytes; more is refused */
    const char *too_big;    /* static phrase for that refusal */
    lg__head_check_fn check; /* NULL: no check */
} lg__input_kind_t;

/* Reads the file at `path` whole into *out (lg__xmalloc'd, NUL-terminated;
 * *len bytes without the NUL).  Returns 0; LG_EIO when a system call failed
 * (errno tells why, *why NULL); LG_EFORMAT when the file is refused (*why,
 * a static phrase: not a regular file or a pipe, too big, or the check's
 * phrase); LG_ENOMEM. */
int lg__file_read(const char *path, const lg__input_kind_t *kind, char **out, size_t *len,
                  const char **why);

/* An output being written; see the table above. */
typedef struct lg__out {
    int fd;       /* -1 when closed */
    int err;      /* errno of the first failure, or 0 */
    bool replace; /* tmp is renamed over target on commit */
    char tmp[4096], target[4096];
} lg__out_t;

/* Opens the output at `path`.  Returns 0; LG_EIO (errno, *why NULL) or
 * LG_EFORMAT (*why: "is a directory", "not a regular file, FIFO or
 * character device"; errno EISDIR or EINVAL for callers that only pass
 * errno on). */
int lg__out_open(lg__out_t *o, const char *path, const char **why);
/* Writes n bytes (a failure is kept in o->err; later writes do nothing). */
void lg__out_write(lg__out_t *o, const void *p, size_t n);
/* Finishes: with `commit` and no failure, fsyncs and renames the temporary
 * file over the target (or closes the descriptor written in place);
 * otherwise the temporary file is removed and the target left as it was.
 * Returns 0 or LG_EIO with errno set to the first failure. */
int lg__out_close(lg__out_t *o, bool commit);

/* lg__out_open, one write, lg__out_close. */
int lg__file_write(const char *path, const void *data, size_t n, const char **why);

/* Writes "PATH: reason" into err for a failed lg__file_* call: *why, or
 * errno's text for LG_EIO, or lg_strerror(rc).  Returns rc. */
int lg__file_errf(char *err, size_t errlen, const char *path, int rc, const char *why);

/* The log (LEAKGATE_LOG_FILE, lg_log_write): a path pattern in which "%p"
 * is the process id and "%%" a '%'.  lg__log_path expands it into out;
 * returns 0, or LG_EINVAL with *why (an empty pattern, another '%'
 * sequence, a path too long).  lg__log_open opens the expanded path for
 * appending (created 0666 less the umask): a regular file, a FIFO, a
 * character device or a descriptor path (/dev/stderr, /dev/fd/N); returns
 * the descriptor (close-on-exec) or -1 with errno (*why when the path is
 * of another kind). */
int lg__log_path(const char *pattern, long pid, char *out, size_t len, const char **why);
int lg__log_open(const char *path, const char **why);

/* ---- suppression files (filter.c) -------------------------------------- */

/* The biggest suppressions file read. */
#define LG_TEXT_MAX ((size_t)16 << 20)

/* Reads a suppressions file once, for its filter lines and its `limit`
 * lines (the test session), through the file layer; a leading UTF-8
 * byte-order mark is dropped.  Returns 0 (caller frees *buf with
 * lg__xfree) or an error with "PATH: why" in err. */
int lg__suppressions_read(const char *path, char **buf, size_t *len, char *err, size_t errlen);
/* Adds the filter lines of a suppressions text, all or nothing; a bad line
 * gives LG_ESYNTAX and "NAME:LINE: what" in err. */
int lg__filterset_load_text(lg_filterset_t *set, const char *name, const char *text, size_t len,
                            char *err, size_t errlen);
/* The next line of text from *pos (its length without the newline in *n;
 * *pos moves past it), or NULL at the end. */
const char *lg__next_line(const char *text, size_t len, size_t *pos, size_t *n);

/* ---- arena (arena.c): bump allocation freed all at once ---------------- */

typedef struct lg__arena {
    struct lg__chunk *chunks; /* newest first */
    size_t bytes;             /* total bytes held */
    bool counted;             /* charge lg__mem_account() (tracer memory) */
} lg__arena_t;

/* Returns zeroed memory aligned to 16 bytes, or NULL. */
void *lg__arena_alloc(lg__arena_t *a, size_t n);
char *lg__arena_strdup(lg__arena_t *a, const char *s); /* NULL -> NULL */
void lg__arena_release(lg__arena_t *a);

/* ---- configuration (config.c) ------------------------------------------ */

/* Parses an integer environment variable in [lo, hi].  Unset or empty:
 * *out = dflt and returns 0.  Bad: reports one line "NAME=value: expected
 * an integer from LO to HI; using DFLT", removes the variable (so that the
 * processes this one starts do not say it again) and returns LG_EINVAL
 * with *out = dflt. */
int lg__env_int(const char *name, long lo, long hi, long dflt, long *out);

/* The variables the runtime reads as it loads (hooks.c's constructor).  A
 * bad value is one line and the default, and the variable is removed, as
 * by lg__env_int.  LEAKGATE_UNWIND: an LG_UNWIND_* mode (default auto).
 * LEAKGATE_START: 1, 0, or -1 when unset or bad (`then` says what this
 * process does instead). */
int lg__env_unwind(void);
int lg__env_start(const char *then);

/* Checks those variables and LEAKGATE_FRAMES without acting on them: 0, or
 * LG_EINVAL with "NAME=value: expected FORM" in err.  For processes where
 * the runtime did not read them as it loaded (the command line, before CMD
 * runs; a linked program that did not start tracing at load). */
int lg__load_settings_check(char *err, size_t errlen);

/* ---- tracebacks (backtrace.c) ------------------------------------------ */

/* How native tracebacks are captured (LEAKGATE_UNWIND). */
enum { LG_UNWIND_AUTO, LG_UNWIND_FP, LG_UNWIND_LIBUNWIND };

/* Captures at most `max` return addresses, most recent first, starting at
 * the caller of the tracer's public entry point (frames in LG_HOOK_TEXT are
 * dropped).  *total receives how many frames there were, counted up to
 * max + LG_TOTAL_EXTRA by the frame-pointer walk, max + 1 by libunwind.
 * Returns the number stored. */
#define LG_TOTAL_EXTRA 8
int lg__backtrace(uintptr_t *frames, int max, uint32_t *total);
/* The same, recording into *walk what a frame-pointer walk read, so that
 * lg__backtrace_cache_put can remember it (walk->ok is set when it may). */
#define LG_WALK_KEPT (LG_FRAMES_DEFAULT + 8) /* deeper walks are not cached */
typedef struct lg__walk {
    uintptr_t fp[LG_WALK_KEPT + LG_TOTAL_EXTRA + 1]; /* records; fp[i + 1] = *fp[i] */
    uintptr_t ra[LG_WALK_KEPT];                      /* fp[i][1], the kept frames */
    uint16_t slot[LG_WALK_KEPT];                     /* proof-cache slot of ra[i] */
    uint64_t proven_stores;                          /* proof cache's stores then */
    unsigned gen;                                    /* generation of objects */
    uint8_t limit, kept, loads;                      /* loads: words fp[0..loads) */
    bool ok;                                         /* a complete walk, cacheable */
} lg__walk_t;
int lg__backtrace_walk(uintptr_t *frames, int max, uint32_t *total, lg__walk_t *walk);
/* Traceback cache (per thread): the interned traceback that a walk of at
 * most `max` frames from the caller's stack would give now, or LG_TB_NONE
 * when unknown; _put remembers a walk with the traceback interned from it.
 * `from`: a frame record of the current chain that the tracer's own frames
 * lead to (a hook's: __builtin_frame_address(0)), where the search for the
 * first frame of the caller may start; 0: at the look-up's own record. */
uint32_t lg__backtrace_cached(int max, uintptr_t from);
void lg__backtrace_cache_put(const lg__walk_t *walk, uint32_t tb);
uint64_t lg__backtrace_cache_hits(void); /* this thread's, for tests */
/* libunwind mode's traceback cache (unwind_cache.c), used by backtrace.c:
 * _cached gives the interned traceback libunwind would give now, at most
 * max frames, for the caller whose first frame's record is `rec` (the
 * tracer's outermost frame record), or LG_TB_NONE; _learn follows a
 * libunwind walk whose frames past the tracer's were user[0..n) (rec 0:
 * none) and _put remembers it with its interned traceback.  gen: the
 * generation of loaded objects the walk began with. */
uint32_t lg__unwc_cached(uintptr_t rec, int max, unsigned gen);
void lg__unwc_learn(uintptr_t rec, int max, unsigned gen, const uintptr_t *user, int n,
                    uintptr_t stack_hi);
void lg__unwc_put(uint32_t tb);
uint64_t lg__unwc_hits(void);        /* this thread's, for tests */
void lg__set_unwind_cache(bool on); /* tests: off, this thread walks every time */
/* Called when objects were loaded or unloaded (dlopen/dlclose hooks). */
void lg__modules_changed(void);

/* Tests replace capture to make tracebacks deterministic (NULL restores). */
typedef int (*lg__backtrace_fn)(uintptr_t *frames, int max, uint32_t *total);
void lg__set_backtrace_hook(lg__backtrace_fn fn);
/* Tests: fn(ra) runs right before the walker reads the code before ra, in
 * another thread's way (NULL removes it). */
void lg__set_prove_hook(void (*fn)(uintptr_t ra));
void lg__set_unwind_mode(int mode);

/* ---- interned tracebacks (intern.c) ------------------------------------ */

/* An interned traceback.  Never freed while tracing; ids are dense.
 * live_size and live_count, with what threads have pending for it, are
 * what traced blocks with this traceback hold now, in all domains: read
 * them with lg__tb_live. */
typedef struct lg__tb {
    uint32_t hash;
    uint16_t nframes;
    uint16_t total_nframe;
    uint64_t live_size;  /* atomic */
    uint64_t live_count; /* atomic */
    struct lg__tb *next; /* hash chain, protected by intern lock */
    uintptr_t frames[];  /* most recent first */
} lg__tb_t;

#define LG_TB_NONE UINT32_MAX

/* Returns the id of the traceback, interning it, or LG_TB_NONE when out of
 * memory.  Takes the intern lock. */
uint32_t lg__intern(const uintptr_t *frames, int n, uint32_t total);
/* Id -> traceback; ids come from lg__intern. Lock-free. */
const lg__tb_t *lg__tb_get(uint32_t id);
/* A thread's pending live totals (intern.c): slot id % LG_LIVE_SLOTS of
 * lg__live_slots holds what the thread added for traceback id since the
 * slot became id's, key = lg__live_epoch << 32 | id.  Written by the
 * thread only. */
#define LG_LIVE_SLOTS 32
typedef struct lg__live_slot {
    _Atomic uint64_t key; /* 0: empty */
    _Atomic int64_t size, count;
} lg__live_slot_t;
extern LG_TLS lg__live_slot_t *lg__live_slots; /* this thread's, or NULL */
extern _Atomic uint32_t lg__live_epoch;
void lg__tb_account_slow(uint32_t id, uint64_t key, int64_t size, int64_t count);

/* Adds to the live totals of traceback `id`: to this thread's slot when
 * it holds id (no locked instruction, inline in the hooks), else by
 * lg__tb_account_slow, which takes the slot. */
static inline void lg__tb_account(uint32_t id, int64_t size, int64_t count)
{
    lg__live_slot_t *s = lg__live_slots;
    uint64_t key = (uint64_t)atomic_load_explicit(&lg__live_epoch, memory_order_relaxed) << 32 | id;
    if (LG_UNLIKELY(!s || atomic_load_explicit(&(s += id % LG_LIVE_SLOTS)->key,
                                               memory_order_relaxed) != key)) {
        lg__tb_account_slow(id, key, size, count);
        return;
    }
    atomic_store_explicit(&s->size, atomic_load_explicit(&s->size, memory_order_relaxed) + size,
                          memory_order_relaxed);
    atomic_store_explicit(&s->count, atomic_load_explicit(&s->count, memory_order_relaxed) + count,
                          memory_order_relaxed);
}
/* The live totals of traceback `id` now, every thread's pending sums
 * included: exact while no other thread allocates or frees meanwhile. */
void lg__tb_live(uint32_t id, uint64_t *size, uint64_t *count);
void lg__live_lock(void); /* fork */
void lg__live_unlock(void);
uint32_t lg__intern_count(void);
void lg__intern_clear(void);
void lg__intern_lock(void); /* fork */
void lg__intern_unlock(void);

/* ---- keys of tables that hold block addresses --------------------------
 *
 * The trace table and the mark's log store an address as a key that is
 * not a pointer: its top bit set (no user-space address has it) and never
 * 0 (the empty slot).  The reachability scan reads the program's memory;
 * a freed array of the tracer, handed to the program again by malloc,
 * must not hold words that point into the program's blocks. */
#define LG_KEY_MASK       ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1) | 1)
#define LG_KEY(addr)      ((uintptr_t)(addr) ^ LG_KEY_MASK)
#define LG_KEY_ADDR(key)  ((uintptr_t)(key) ^ LG_KEY_MASK)

/* ---- trace table (table.c) --------------------------------------------- */

/* Records (domain, ptr) -> (size, traceback id).  Returns 0 or LG_ENOMEM
 * (the trace is then counted as lost).  Replaces an existing trace. */
int lg__table_add(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb);
/* The same in one look-up, telling what it replaced: returns 0 (added), 1
 * (replaced a trace of ptr, described by *old_size and *old_tb) or
 * LG_ENOMEM (nothing changed). */
int lg__table_put(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb, size_t *old_size,
                  uint32_t *old_tb);
/* Removes the trace; on success fills *size and *tb.  Returns 0 or
 * LG_ENOTFOUND. */
int lg__table_remove(uint32_t domain, uintptr_t ptr, size_t *size, uint32_t *tb);
int lg__table_get(uint32_t domain, uintptr_t ptr, size_t *size, uint32_t *tb);
/* Visits every trace under the shard locks, one shard at a time. */
typedef void (*lg__table_visit_fn)(void *ctx, uint32_t domain, uintptr_t ptr, size_t size,
                                   uint32_t tb);
void lg__table_foreach(lg__table_visit_fn fn, void *ctx);
size_t lg__table_count(void);
void lg__table_clear(void);
void lg__table_lock_all(void); /* fork, scan */
void lg__table_unlock_all(void);
/* Every lock held by lg__table_lock_all: how many traces there are, and
 * each trace of the C and Python domains (the scan's blocks). */
size_t lg__table_count_locked(void);
void lg__table_foreach_locked(lg__table_visit_fn fn, void *ctx);

/* ---- tracer state (trace.c) -------------------------------------------- */

/* Called by the hooks and lg_track: trace a new block / forget a freed one.
 * Both are no-ops unless tracing.  Callers are LG_HOOK_TEXT functions;
 * hook_frame is the hook's __builtin_frame_address(0) (see
 * lg__backtrace_cached), or 0. */
void lg__trace_alloc(uint32_t domain, void *ptr, size_t size, uintptr_t hook_frame);
void lg__trace_free(uint32_t domain, void *ptr);
/* Takes the trace of `old` out before a realloc; returns whether it was
 * traced.  Then exactly one of: lg__trace_realloc_done (success: `old` is
 * gone, `ptr` is new) or lg__trace_realloc_failed (restore `old`). */
bool lg__trace_realloc_begin(uint32_t domain, void *old, size_t *size, uint32_t *tb);
void lg__trace_realloc_done(uint32_t domain, void *old, size_t old_size, uint32_t old_tb, void *ptr,
                            size_t size);
void lg__trace_realloc_failed(uint32_t domain, void *old, size_t size, uint32_t tb);
/* 1 while tracing (lg_start .. lg_stop); read by every hook, inline. */
extern atomic_int lg__tracing_on;
static inline bool lg__tracing(void)
{
    return atomic_load_explicit(&lg__tracing_on, memory_order_relaxed);
}
void lg__count_lost(void);
/* Installs the fork handlers that keep the tracer's locks consistent in the
 * child (once; lg_start and the preload constructor call it). */
void lg__atfork_register(void);

/* Set while this thread is inside the tracer (or in a section that must not
 * be traced: symbolization, the exit report).  The hooks pass allocations
 * made meanwhile straight through.  Defined in trace.c. */
extern LG_TLS int lg__in_hook;

/* The hooks (hooks.c, hooks_dl.c) under internal names, hidden: the
 * imported-symbol patcher (hooks_got.c) points other objects at them, and
 * sanitizer builds (LG_NO_INTERPOSE, whose runtime owns malloc) have only
 * these, called by tests.  Interposing builds also export them under the C
 * library's names (malloc, free, ..., dlclose). */
#define LG_HOOK_DECL(name, ret, params, args, body, size, align) ret lg__hook_##name params;
LG_FOR_EACH_HOOKED_FUNCTION(LG_HOOK_DECL)
#undef LG_HOOK_DECL
int lg__hook_dlclose(void *handle);
void *lg__hook_dlopen(const char *file, int flags);

/* Called by lg__hook_dlopen after an object was loaded: patches its
 * imported-symbol table when lg_imports_patch() is in force. */
void lg__imports_loaded(void);

/* Mark hooks (mark.c), called by trace.c with no table lock held. */
extern volatile int lg__mark_active; /* fast check, protected by mark lock */
void lg__mark_on_alloc(uint32_t domain, uintptr_t ptr);
void lg__mark_on_free(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb);
void lg__mark_reset(void); /* clear_traces/stop: the active mark goes stale */
void lg__mark_lock(void);  /* fork */
void lg__mark_unlock(void);
/* lg_mark_diff_kinds(); with grown_only, the rows that did not grow
 * (lg__is_leak_row false: freed older blocks, a net loss) are left out
 * and never symbolized.  A verdict that counts only rows that grew (leak
 * kinds other than all) needs no other: a passing test then resolves no
 * address at all. */
int lg__mark_diff(const lg_mark_t *mark, const lg_scan_t *scan, bool grown_only,
                  lg_stats_t **out, uint64_t *lost);

/* ---- one symbolizer per run (symserve.c, symbolize.c) ------------------
 *
 * A runner that called lg_symbolize_serve() answers its workers' cache
 * misses; the message format is in symbolize.c, the transport in
 * symserve.c.  The _locked functions expect the symbolizer's lock. */

#define LG_SYMSERVE_MAX 8192 /* bytes of a request or an answer */

/* The runner's side: the answer to one request, written into `answer`;
 * its length, 0 for a malformed request (no answer). */
size_t lg__symbolize_answer(const void *request, size_t n, void *answer, size_t cap);
/* Whether this process asks a runner (LEAKGATE_SYMBOLIZER, read once). */
bool lg__symserve_on_locked(void);
/* Sends a request and waits for the answer: its length, 0 on any failure
 * (after which this process stops asking). */
size_t lg__symserve_ask_locked(const void *request, size_t n, void *answer, size_t cap);
/* Tests: a forked child of a runner asks it, as a worker would. */
void lg__symserve_reset(void);
/* Addresses this process had resolved by a runner. */
uint64_t lg__symbolize_answered(void);

/* ---- exit snapshots of `leakgate run` (exit.c) ------------------------- */

/* At start-up, before tracing starts: decides from LEAKGATE_RUN_* whether
 * this process leaves an exit snapshot, opening its file now.  other: the
 * library whose malloc is in force instead of ours (lg_hooks_in_force), or
 * NULL; its snapshot then says so. */
void lg__exit_init(const char *other);
/* At exit (the preload's destructor): writes that snapshot. */
void lg__exit_dump(void);

/* The scan lock (scan.c), for fork. */
void lg__scan_lock(void);
/* Once, from lg_start() before tracing: glibc's TLS geometry, looked up
 * with dlsym.  Not at the first scan: a dlsym call frees the result of the
 * program's last failed one (what dlerror() would report), so it would
 * change the program's state, and while the hooks are off (at exit) leave
 * traces of freed blocks. */
void lg__scan_prepare(void);
void lg__scan_unlock(void);

/* ---- interpreter frames (interp.c) ------------------------------------- */

/* Fills *out with the file and line of an interpreter frame word and
 * returns true; returns false (out untouched) for a native address. */
bool lg__interp_resolve(uintptr_t word, lg_frame_t *out);
/* Appends the registered interpreter's frames to the n native frames of a
 * traceback being captured (dropping the native frames of the interpreter's
 * own code); returns the new count.  No-op without a registration. */
int lg__interp_append(uintptr_t *frames, int n, int max, uint32_t *total);
/* Whether an interpreter's capture function is registered now. */
bool lg__interp_capturing(void);
/* Whether an interpreter ever registered: its process's exit-time
 * leftovers are the interpreter's, not a program's leaks. */
bool lg__interp_seen(void);
void lg__interp_lock(void); /* fork */
void lg__interp_unlock(void);

/* ---- symbolization (symbolize.c) --------------------------------------- */

/* Fills function, file, line, module and offset of the native return
 * address `addr` in this process (kind and addr are set too).  Strings
 * belong to the symbolizer's cache and live until process exit.  Looks up
 * addr - 1 so that the line is the call's.  Never fails: unknown fields
 * stay NULL/0.  Thread-safe (own lock); not for use inside the hooks. */
void lg__symbolize(uintptr_t addr, lg_frame_t *out);
/* Resolves and caches every interned address inside the object about to be
 * unloaded, so that its frames survive dlclose.  `handle` is dlopen's. */
void lg__symbolize_before_dlclose(void *handle);

/* ---- snapshots (snapshot.c) -------------------------------------------- */

struct lg_snapshot {
    lg_trace_t *traces; /* lg__xmalloc'd array */
    size_t ntraces, cap;
    int traceback_limit;
    lg_metrics_t metrics;
    lg__arena_t arena;       /* frames, tracebacks, strings */
    struct lg__dedup *dedup; /* builder maps, freed by lg__snapshot_seal */
    void *user;              /* lg_snapshot_set_user_data, lg__xmalloc'd */
    size_t user_len;
};

lg_snapshot_t *lg__snapshot_alloc(void);
/* Adds a frame by value (strings copied, equal frames shared). */
const lg_frame_t *lg__snapshot_add_frame(lg_snapshot_t *s, const lg_frame_t *f);
/* Adds a traceback of frames already added (equal tracebacks shared). */
const lg_traceback_t *lg__snapshot_add_traceback(lg_snapshot_t *s, const lg_frame_t *const *frames,
                                                 uint32_t n, uint32_t total);
/* Copies a traceback from anywhere (its frames too). */
const lg_traceback_t *lg__snapshot_copy_traceback(lg_snapshot_t *s, const lg_traceback_t *tb);
int lg__snapshot_add_trace(lg_snapshot_t *s, uint32_t domain, size_t size,
                           const lg_traceback_t *tb);
/* The same with the trace's leak kind (LG_KIND_*, or -1: none). */
int lg__snapshot_add_trace_kind(lg_snapshot_t *s, uint32_t domain, size_t size,
                                const lg_traceback_t *tb, int kind);
/* Frees the builder's maps; the snapshot stays usable. */
void lg__snapshot_seal(lg_snapshot_t *s);

/* The symbolized traceback of interned id `id`, built once per snapshot
 * (before lg__snapshot_seal).  Returns NULL when out of memory. */
const lg_traceback_t *lg__snapshot_traceback_of_id(lg_snapshot_t *s, uint32_t id);
/* Writes `snap` as a snapshot file into `fd` (from offset 0, truncating
 * it, then fsync): the exit snapshot, whose file was opened at start-up.
 * Returns 0, LG_ENOMEM, or LG_EIO with errno set. */
int lg__snapshot_dump_fd(const lg_snapshot_t *snap, int fd);

/* A traceback of the frame "<unknown>", used when a trace has no frames
 * (tracemalloc never has empty tracebacks). */
extern const lg_traceback_t lg__unknown_traceback;

/* ---- statistics (stats.c) ---------------------------------------------- */

lg_stats_t *lg__stats_new(void);
/* Appends a row; the key traceback is deep-copied. */
/* The same with the row's kind (LG_KIND_* or -1). */
int lg__stats_add_kind(lg_stats_t *st, const lg_traceback_t *key, uint32_t domain, size_t size,
                       size_t count, int64_t size_diff, int64_t count_diff, int kind);
int lg__stats_add(lg_stats_t *st, const lg_traceback_t *key, uint32_t domain, size_t size,
                  size_t count, int64_t size_diff, int64_t count_diff);
/* Sorts rows: diff_order 0 as statistics(), 1 as compare_to(). */
void lg__stats_sort(lg_stats_t *st, int diff_order);
/* Orders tracebacks like tracemalloc's Traceback comparison. */
int lg__traceback_cmp(const lg_traceback_t *a, const lg_traceback_t *b);

#pragma GCC visibility pop

#endif /* LG_INTERNAL_H */
