/*
 * leakgate/runtime.h — the public interface of leakgate's runtime.
 *
 * The runtime traces heap allocations with their tracebacks, the model of
 * CPython's tracemalloc brought to native code:
 *
 *   lg_start()            begin tracing (LD_PRELOAD of libleakgate.so does it
 *                         at load time)
 *   lg_mark_begin()       remember "now"; lg_mark_diff() later returns what
 *                         was allocated and not freed since, grouped by
 *                         traceback, in time proportional to that work
 *   lg_snapshot_take()    every live trace (O(heap)), for statistics(),
 *                         compare() and dump()/load() of snapshot files
 *   lg_filterset_*        tracemalloc's Filter / DomainFilter, plus native
 *                         function and module patterns and suppression files
 *
 * Every function returning int returns 0 (or a count) on success and a
 * negative LG_E* code on failure; lg_strerror() names the code.  Nothing here
 * aborts or longjmps.  All calls are thread-safe unless noted.
 */
#ifndef LEAKGATE_RUNTIME_H
#define LEAKGATE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef LG_API
#define LG_API __attribute__((visibility("default")))
#endif

/* ---- errors ------------------------------------------------------------ */

/* X(name, value, message): one table for codes and their messages. */
#define LG_ERRNO_MAP(X)                                  \
    X(NOMEM, -1, "out of memory")                        \
    X(NOTTRACING, -2, "tracing is off")                  \
    X(INVAL, -3, "invalid argument")                     \
    X(IO, -4, "input/output error")                      \
    X(FORMAT, -5, "not a leakgate snapshot file")        \
    X(VERSION, -6, "unsupported snapshot file version")  \
    X(CORRUPT, -7, "corrupt or truncated snapshot file") \
    X(STALE, -8, "mark is no longer the active mark")    \
    X(SYNTAX, -9, "syntax error")                        \
    X(NOTFOUND, -10, "not found")                        \
    X(NOSTOP, -11, "a thread could not be stopped for the scan") \
    X(NOTSUP, -12, "not supported by this build or platform")

enum {
#define LG_ERRNO_ENUM(name, value, msg) LG_E##name = value,
    LG_ERRNO_MAP(LG_ERRNO_ENUM)
#undef LG_ERRNO_ENUM
};

/* Returns a static, human-readable message for an LG_E* code. */
LG_API const char *lg_strerror(int code);

/* Writes `len` bytes of leakgate's own messages (diagnostics, leak
 * reports) where they go: appended to the file LEAKGATE_LOG_FILE names, in
 * which "%p" becomes the process id and "%%" a '%' (LeakSanitizer's
 * log_path), or standard error when it is unset.  A log that cannot be
 * opened is said once per process on standard error, which then takes the
 * messages.  Never allocates; keeps errno. */
LG_API void lg_log_write(const char *text, size_t len);

/* Checks a log path as LEAKGATE_LOG_FILE (or --log-file, `name` in the
 * message) takes it: 0, or LG_EINVAL with "NAME=VALUE: why" in err (empty,
 * a '%' other than %p and %%, a directory, a directory that does not exist
 * or cannot be written in). */
LG_API int lg_log_check(const char *name, const char *value, char *err, size_t errlen);

/* The version of the runtime: what this header was released with
 * (LG_VERSION) and what the loaded library says (lg_version()).  A program
 * or binding built against one runtime and given another (a preloaded
 * libleakgate.so of another release) compares the two. */
#define LG_VERSION "0.1.0"
LG_API const char *lg_version(void);

/* ---- tracing ----------------------------------------------------------- */

/* Domains are address spaces, as in tracemalloc: the same address may be
 * traced once per domain.  These numbers are the only ones: the C API,
 * reports (JSON, TAP), suppressions (domain=N) and the Python module
 * (leakgate.PYTHON_DOMAIN, leakgate.NATIVE_DOMAIN) all use them.  The Python
 * heap is 0, as in tracemalloc; user domains are any other value. */
#define LG_DOMAIN_PYTHON 0u /* the Python heap (PyMem_SetAllocator hooks) */
#define LG_DOMAIN_C      1u /* the C heap: malloc and friends */

#define LG_FRAMES_DEFAULT 16
#define LG_FRAMES_MAX     128

/* Starts tracing with tracebacks of at most `nframes` frames (1 to
 * LG_FRAMES_MAX; 0 means LEAKGATE_FRAMES from the environment, default 16).
 * Starting while tracing only changes the limit for new traces.
 * Returns 0, LG_EINVAL for a bad nframes, or LG_ENOMEM. */
LG_API int lg_start(int nframes);

/* Stops tracing and clears every trace (tracemalloc.stop()). */
LG_API void lg_stop(void);

/* Returns 1 while tracing, else 0. */
LG_API int lg_is_tracing(void);

/* Forgets every trace and interned traceback; tracing stays on. */
LG_API void lg_clear_traces(void);

/* Returns the traceback limit of new traces (frames). */
LG_API int lg_get_traceback_limit(void);

/* Current and peak size of traced blocks, in bytes (either may be NULL). */
LG_API void lg_get_traced_memory(size_t *current, size_t *peak);

/* Sets the peak to the current traced size. */
LG_API void lg_reset_peak(void);

/* Bytes the tracer itself holds (tables, tracebacks, marks). */
LG_API size_t lg_get_tracer_memory(void);

/* Traces dropped because the tracer ran out of memory.  A verdict computed
 * while this grows is inconclusive, never clean. */
LG_API uint64_t lg_get_lost_traces(void);

/* Native tracebacks that LEAKGATE_UNWIND=auto took with libunwind because
 * the frame-pointer chain broke before its end (the slow path), since the
 * process started.  Never reset. */
LG_API uint64_t lg_get_unwind_fallbacks(void);

/* Ends every native traceback taken from now on at its first frame in the
 * loaded object whose file name (without directory) matches the fnmatch
 * `pattern`: that frame is kept, what lies beyond is not walked.  A test
 * adapter names its framework's library, below which no report shows a
 * frame, so that a test's allocations need no unwinding through code built
 * without frame pointers.  NULL removes the stop.  Returns 0, or
 * LG_ENOTFOUND when no loaded object matches (nothing changes). */
LG_API int lg_set_traceback_stop(const char *pattern);

/* With `on`, native tracebacks are taken by the frame-pointer walk alone,
 * whatever LEAKGATE_UNWIND says: cut where the chain breaks, never with
 * libunwind.  For allocations that no verdict will show (a test runner's
 * own start-up before its first test), where full unwinding only costs. */
LG_API void lg_set_traceback_quick(int on);

/* Whether leakgate's allocation hooks are the malloc, calloc, realloc and
 * free in force in this process.  Returns 1 when they are; 0 when another
 * object's definition wins (another allocator first in LD_PRELOAD, such as
 * jemalloc or tcmalloc, or one linked before leakgate), with that object's
 * path in lib (len bytes, when lib is not NULL): nothing it allocates is
 * traced. */
LG_API int lg_hooks_in_force(char *lib, size_t len);

/* Traces `size` bytes at `ptr` in `domain`, with the caller's traceback,
 * replacing any trace of that address (PyTraceMalloc_Track).  Returns 0,
 * LG_ENOTTRACING, LG_EINVAL (ptr == UINTPTR_MAX) or LG_ENOMEM. */
LG_API int lg_track(uint32_t domain, uintptr_t ptr, size_t size);

/* With `on`, new blocks are traced only when the calling thread allocates
 * them (a test runner whose suite has busy background threads); with 0,
 * every thread's again.  Frees are always seen. */
LG_API void lg_trace_only_thread(int on);

/* Forgets the trace of `ptr` in `domain`.  Returns 0 or LG_ENOTFOUND. */
LG_API int lg_untrack(uint32_t domain, uintptr_t ptr);

/* Copies the return addresses of the traceback of the block at `ptr`,
 * most recent first, into `frames` (at most `max`).  Returns the number of
 * frames, LG_ENOTFOUND if the block is not traced, or LG_ENOTTRACING. */
LG_API int lg_get_traceback(uint32_t domain, uintptr_t ptr, uintptr_t *frames, int max);

/* ---- frames and tracebacks --------------------------------------------- */

enum { LG_FRAME_NATIVE = 0, LG_FRAME_PYTHON = 1 };

/* One resolved frame.  Unknown fields are NULL or 0.  Strings are owned by
 * the object the frame came from (snapshot, stats) and live as long as it. */
typedef struct lg_frame {
    int kind;             /* LG_FRAME_NATIVE or LG_FRAME_PYTHON */
    uintptr_t addr;       /* return address in the traced process, or 0 */
    const char *function; /* function name */
    const char *file;     /* source file */
    unsigned line;        /* source line, 0 if unknown */
    const char *module;   /* shared object or executable path */
    uint64_t offset;      /* addr - module load base (valid with module) */
} lg_frame_t;

/* A traceback: frames[0] is the most recent frame (the function that called
 * the allocator).  total_nframe counts frames before truncation: of a
 * native traceback deeper than the limit, up to 8 frames past it when
 * walked by frame pointers, 1 when walked by libunwind (it says that there
 * were more, not how many: each frame walked costs). */
typedef struct lg_traceback {
    uint32_t nframes;
    uint32_t total_nframe;
    const lg_frame_t *const *frames;
} lg_traceback_t;

/* Fills *out with the function, file, line, module and offset of the code
 * address `addr` in this process (libdw; cached).  `addr` is taken as a
 * return address: the instruction before it is looked up, so pass a
 * function's entry + 1 to name the function itself.  An interpreter frame
 * word (below) gives an LG_FRAME_PYTHON frame with its file and line.
 * Unknown fields are NULL or 0.  Strings are borrowed and live until the
 * process exits. */
LG_API void lg_symbolize(uintptr_t addr, lg_frame_t *out);

/* Makes this process symbolize for the processes it starts: their
 * lg_symbolize() asks here first (through LEAKGATE_SYMBOLIZER, which this
 * sets), for addresses in objects this process has loaded too, same
 * build-id, so that a run of many short processes of one program (a
 * test runner whose every test is a new execution of itself) reads each
 * object's debug information once, here.  Their answers are the ones they
 * would have found themselves.  A thread of this process serves them
 * until it exits.  Returns 0, or LG_EIO or LG_ENOMEM when it could not
 * (the processes then symbolize for themselves). */
LG_API int lg_symbolize_serve(void);

/* ---- interpreter frames ------------------------------------------------
 *
 * An interpreter (leakgate's Python binding) puts its own frames into
 * tracebacks.  A traceback word with LG_INTERP_FRAME_BIT set is such a
 * frame, not a return address; user-space code addresses never have it. */

#define LG_INTERP_FRAME_BIT ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))

/* The frame word of source position (file, line) in `function` (its
 * name, NULL if unknown), interned: the same position always gives the same
 * word, valid until the process exits.  lg_symbolize() gives back all three;
 * reports show the function in JSON and in the gate's leak signatures.
 * Returns 0 when out of memory.  Takes a lock; not for signal handlers. */
LG_API uintptr_t lg_interp_frame(const char *file, unsigned line, const char *function);

/* Stores at most `max` interpreter frame words of the calling thread, most
 * recent first, and in *total how many frames its stack has; returns how
 * many it stored (0: none, e.g. the thread runs no interpreted code).
 * Called inside the allocation hooks: it must not take locks that an
 * allocating thread may hold, and what it allocates is not traced. */
typedef int (*lg_interp_frames_fn)(uintptr_t *frames, int max, uint32_t *total);

/* Registers `fn` (NULL unregisters).  Tracebacks of C-heap blocks then end
 * with the interpreter's frames instead of the native frames of the
 * interpreter's own code, the addresses in (text_lo, text_hi]. */
LG_API void lg_set_interp_frames(lg_interp_frames_fn fn, uintptr_t text_lo, uintptr_t text_hi);

/* For an interpreter's allocator hooks: stores at most `max` return
 * addresses of the native code that called into the interpreter's code
 * (the range given to lg_set_interp_frames) on the calling thread's stack,
 * most recent first: a C extension's functions, found past the hooks' own
 * frames (return addresses in (skip_lo, skip_hi]) and the interpreter's.
 * Returns how many (0: the interpreter allocated for itself, or no capture
 * function is registered).  A whole native backtrace per call: for the
 * allocations of a window that confirms a leak, not for every one. */
LG_API int lg_interp_native_frames(uintptr_t *out, int max, uintptr_t skip_lo,
                                   uintptr_t skip_hi);

/* Traces `size` bytes at `ptr` in `domain` with the given traceback (frame
 * words, most recent first; n == 0 gives the traceback "<unknown>") and
 * total frame count.  Returns 0, LG_ENOTTRACING, LG_EINVAL or LG_ENOMEM. */
LG_API int lg_track_frames(uint32_t domain, uintptr_t ptr, size_t size, const uintptr_t *frames,
                           int n, uint32_t total_nframe);

/* Marks the calling thread's next allocations as the tracer's own: the
 * hooks pass them through untraced until lg_untraced_leave(previous).
 * Returns the previous state (non-zero: the thread was already inside);
 * pairs nest.  An interpreter's allocator hooks use it so that a block is
 * traced once, in its most specific domain. */
LG_API int lg_untraced_enter(void);
LG_API void lg_untraced_leave(int previous);

/* ---- native hooks without a preload ------------------------------------
 *
 * The malloc family reaches the tracer's hooks when libleakgate.so is
 * preloaded or linked (interposed), or, in a process that loaded it later
 * (an interpreter's binding), when the loaded objects' imported-symbol
 * tables are patched: their calls of malloc, calloc, realloc, free,
 * reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc
 * (and dlopen, to patch objects loaded later) go to the hooks.  Blocks
 * allocated before are passed through untraced when freed. */

enum { LG_HOOKS_NONE = 0, LG_HOOKS_INTERPOSED = 1, LG_HOOKS_PATCHED = 2 };

/* How the malloc family reaches the hooks now: LG_HOOKS_*. */
LG_API int lg_native_hooks(void);

/* Patches every loaded object (but the dynamic linker and this library)
 * unless the hooks are interposed.  Returns LG_HOOKS_INTERPOSED or
 * LG_HOOKS_PATCHED, or LG_ENOTSUP (sanitizer builds, other architectures). */
LG_API int lg_imports_patch(void);

/* Puts the real functions back into every patched slot.  No-op when not
 * patched. */
LG_API void lg_imports_restore(void);

/* ---- snapshots --------------------------------------------------------- */

typedef struct lg_snapshot lg_snapshot_t;

typedef struct lg_scan lg_scan_t; /* the reachability scan, below */

typedef struct lg_trace {
    uint32_t domain;
    size_t size;
    const lg_traceback_t *traceback; /* owned by the snapshot */
    int kind; /* LG_KIND_* (lg_snapshot_take_kinds), or -1: no scan saw it */
} lg_trace_t;

typedef struct lg_metrics {
    int64_t timestamp_ns; /* CLOCK_REALTIME when taken */
    uint64_t traced_current;
    uint64_t traced_peak;
    uint64_t tracer_memory;
    uint64_t rss; /* process resident set size, bytes */
    uint64_t lost_traces;
} lg_metrics_t;

/* Takes a snapshot of every live trace; frames are symbolized.  Cost is
 * O(live blocks).  Caller frees with lg_snapshot_free().  Returns 0,
 * LG_ENOTTRACING or LG_ENOMEM. */
LG_API int lg_snapshot_take(lg_snapshot_t **out);

/* lg_snapshot_take() with each trace's kind in `scan` (lg_scan_take, taken
 * just before): the exit snapshot of `leakgate run`.  Blocks the scan did
 * not see (allocated after it) have kind -1; scan == NULL gives
 * lg_snapshot_take().  A snapshot file keeps the kinds. */
LG_API int lg_snapshot_take_kinds(const lg_scan_t *scan, lg_snapshot_t **out);
LG_API void lg_snapshot_free(lg_snapshot_t *snap);

LG_API size_t lg_snapshot_count(const lg_snapshot_t *snap);
/* Borrowed pointer to trace i (0 <= i < count), valid until freed. */
LG_API const lg_trace_t *lg_snapshot_trace(const lg_snapshot_t *snap, size_t i);
LG_API int lg_snapshot_traceback_limit(const lg_snapshot_t *snap);
LG_API const lg_metrics_t *lg_snapshot_metrics(const lg_snapshot_t *snap);

/* An empty snapshot to fill with lg_snapshot_add() (a snapshot built by
 * other means, to be dumped).  Caller frees.  Returns 0, LG_EINVAL or
 * LG_ENOMEM. */
LG_API int lg_snapshot_new(int traceback_limit, lg_snapshot_t **out);

/* Appends a trace whose traceback is `frames` (copied; n == 0 gives
 * "<unknown>").  Returns 0, LG_EINVAL or LG_ENOMEM. */
LG_API int lg_snapshot_add(lg_snapshot_t *snap, uint32_t domain, size_t size,
                           const lg_frame_t *frames, uint32_t n, uint32_t total_nframe);

/* Bytes an application keeps with a snapshot, stored in its file (the
 * Python binding keeps extra attributes there).  set copies; returns 0 or
 * LG_ENOMEM.  get returns a borrowed pointer (NULL when none) and the
 * length in *len. */
LG_API int lg_snapshot_set_user_data(lg_snapshot_t *snap, const void *data, size_t len);
LG_API const void *lg_snapshot_user_data(const lg_snapshot_t *snap, size_t *len);

/* The user data of the exit snapshot that `leakgate run` gets from a
 * process in which an interpreter registered (lg_set_interp_frames): its
 * leftovers at exit are the interpreter's, and are not judged. */
#define LG_EXIT_INTERPRETER "leakgate:interpreter-exit"
/* The user data of an exit snapshot taken while another allocator was in
 * force (lg_hooks_in_force() == 0), followed by that allocator's path. */
#define LG_EXIT_BYPASSED "leakgate:allocator-bypassed:"

/* Writes `snap` to `path` in the versioned, checksummed snapshot format,
 * by the rules of lg_file_write.  Returns 0, LG_EIO (errno tells why:
 * EISDIR or EINVAL for a path leakgate does not write) or LG_ENOMEM. */
LG_API int lg_snapshot_dump(const lg_snapshot_t *snap, const char *path);

/* Reads a snapshot file.  On LG_EFORMAT, LG_EVERSION or LG_ECORRUPT,
 * *detail (if not NULL) points to a static phrase saying what was wrong. */
LG_API int lg_snapshot_load(const char *path, lg_snapshot_t **out, const char **detail);
LG_API int lg_snapshot_load_buffer(const void *buf, size_t len, lg_snapshot_t **out,
                                   const char **detail);

/* ---- output files ------------------------------------------------------ */

/* Writes `len` bytes as the output file `path`, the way leakgate writes
 * every output (reports, baselines, snapshots):
 *   - a regular file, or nothing yet: a temporary file in the target's own
 *     directory is written, fsync'd and renamed over it (readers see the
 *     old file or the new one; a failure leaves the old file whole);
 *   - a symbolic link: the same for the file it points to; the link stays;
 *   - a FIFO or a character device: written in place;
 *   - /dev/stdout, /dev/stderr, /dev/fd/N: the descriptor, in place;
 *   - anything else (a directory, a socket, a block device): refused.
 * Returns 0, or LG_EIO with "PATH: reason" in err (the system's own error,
 * "No space left on device", "Too many open files"..., or why the path is
 * not written). */
LG_API int lg_file_write(const char *path, const void *data, size_t len, char *err,
                         size_t errlen);

/* ---- filters ----------------------------------------------------------- */

enum { LG_FILTER_TRACE = 0, LG_FILTER_DOMAIN = 1 };

/* tracemalloc's Filter (kind LG_FILTER_TRACE) and DomainFilter
 * (LG_FILTER_DOMAIN).  Patterns are fnmatch globs (NULL matches anything);
 * a native frame matches when every given pattern matches it. */
typedef struct lg_filter {
    int kind;
    int inclusive;
    const char *filename_pattern;
    unsigned lineno;              /* 0: any line */
    int all_frames;               /* match any frame, not only frames[0] */
    int64_t domain;               /* -1: any domain */
    const char *function_pattern; /* native frames: function name */
    const char *module_pattern;   /* native frames: module path */
} lg_filter_t;

typedef struct lg_filterset lg_filterset_t;

/* An empty set keeps everything.  Caller frees with lg_filterset_free(). */
LG_API int lg_filterset_new(lg_filterset_t **out);
LG_API void lg_filterset_free(lg_filterset_t *set);

/* Appends a copy of *f.  Returns 0, LG_EINVAL or LG_ENOMEM. */
LG_API int lg_filterset_add(lg_filterset_t *set, const lg_filter_t *f);

/* Parses one suppression line and appends it:
 *   include|exclude [all] [file=GLOB] [line=N] [function=GLOB]
 *                   [module=GLOB] [domain=N]
 *   include-domain N | exclude-domain N
 *   leak:PATTERN      (LeakSanitizer: function, file or module, any frame)
 * Blank lines, '#' comments and `limit ...` lines (per-test limits, read by
 * the test session of session.h) add no filter.  On LG_ESYNTAX a one-line
 * reason is written to err. */
LG_API int lg_filterset_parse_line(lg_filterset_t *set, const char *line, char *err, size_t errlen);

/* Parses a suppressions file line by line; err names file and line. */
LG_API int lg_filterset_load(lg_filterset_t *set, const char *path, char *err, size_t errlen);

LG_API size_t lg_filterset_count(const lg_filterset_t *set);

/* Returns 1 if a trace of `domain` with traceback `tb` passes the set, with
 * tracemalloc's semantics: kept if it matches any inclusive filter (when
 * there are some) and no exclusive filter excludes it. */
LG_API int lg_filterset_match(const lg_filterset_t *set, uint32_t domain, const lg_traceback_t *tb);

/* New snapshot of the traces of `snap` that pass `set`
 * (Snapshot.filter_traces).  Caller frees. */
LG_API int lg_snapshot_filter(const lg_snapshot_t *snap, const lg_filterset_t *set,
                              lg_snapshot_t **out);

/* ---- statistics -------------------------------------------------------- */

typedef enum { LG_KEY_FILENAME, LG_KEY_LINENO, LG_KEY_TRACEBACK } lg_key_type_t;

/* One row: Statistic (diffs 0) or StatisticDiff.  For LG_KEY_FILENAME the
 * key traceback has one frame whose line is 0; for LG_KEY_LINENO one frame. */
typedef struct lg_stat {
    lg_traceback_t traceback;
    uint32_t domain; /* mark diffs: the blocks' domain; else 0 */
    size_t size;
    size_t count;
    int64_t size_diff;
    int64_t count_diff;
    int kind; /* lg_mark_diff_kinds: LG_KIND_* of the row's blocks; else -1 */
} lg_stat_t;

typedef struct lg_stats lg_stats_t;

/* Snapshot.statistics(): rows sorted biggest first by (size, count,
 * traceback).  `cumulative` counts a block once per distinct frame of its
 * traceback (LG_KEY_FILENAME and LG_KEY_LINENO only, else LG_EINVAL). */
LG_API int lg_snapshot_statistics(const lg_snapshot_t *snap, lg_key_type_t key, int cumulative,
                                  lg_stats_t **out);

/* Snapshot.compare_to(old): rows sorted by (|size_diff|, size,
 * |count_diff|, count, traceback), biggest first. */
LG_API int lg_snapshot_compare(const lg_snapshot_t *snap, const lg_snapshot_t *old,
                               lg_key_type_t key, int cumulative, lg_stats_t **out);

LG_API size_t lg_stats_count(const lg_stats_t *stats);
/* Borrowed pointer to row i; rows own copies of their frames. */
LG_API const lg_stat_t *lg_stats_get(const lg_stats_t *stats, size_t i);
/* Sums of size_diff and count_diff over all rows (either may be NULL). */
LG_API void lg_stats_totals(const lg_stats_t *stats, int64_t *size_diff, int64_t *count_diff);
/* New stats of the rows of `stats` that pass `set`.  Caller frees. */
LG_API int lg_stats_filter(const lg_stats_t *stats, const lg_filterset_t *set, lg_stats_t **out);
LG_API void lg_stats_free(lg_stats_t *stats);

/* ---- marks: per-test deltas -------------------------------------------- */

typedef struct lg_mark lg_mark_t;

/* Records "now".  From here until the next lg_mark_begin() or
 * lg_mark_free(), the runtime logs what is allocated and which older blocks
 * are freed.  One mark is active at a time; beginning a new one makes the
 * older one stale.  Caller frees with lg_mark_free(). */
LG_API int lg_mark_begin(lg_mark_t **out);

/* What was allocated since `mark` and is still live, and which older blocks
 * were freed since, grouped by (domain, traceback) and symbolized: size_diff
 * and count_diff are the changes, size and count what each traceback holds
 * now.  Sorted like lg_snapshot_compare.  Cost grows with the work done
 * since the mark, not with the heap.  Returns 0, LG_ESTALE, LG_ENOTTRACING
 * or LG_ENOMEM.  *lost (if not NULL) receives the traces lost since the
 * mark: when non-zero, a clean diff proves nothing. */
LG_API int lg_mark_diff(const lg_mark_t *mark, lg_stats_t **out, uint64_t *lost);

/* lg_mark_diff() with the blocks allocated since the mark split by their
 * kind in `scan` (taken after the test, see lg_scan_take below): one row
 * per (domain, traceback, kind), whose size and count are then those of
 * its new blocks of that kind; the older blocks freed since the mark stay
 * in rows of kind -1 (as do blocks the scan did not see).  scan == NULL
 * gives lg_mark_diff()'s rows, all of kind -1. */
LG_API int lg_mark_diff_kinds(const lg_mark_t *mark, const lg_scan_t *scan, lg_stats_t **out,
                              uint64_t *lost);

/* Ends the mark (if active) and frees it. */
LG_API void lg_mark_free(lg_mark_t *mark);

/* ---- leak kinds: the reachability scan ----------------------------------
 *
 * A conservative scan from the roots (writable data of every loaded object,
 * every thread's stack, registers and TLS) through the traced live blocks
 * of the C and Python domains classifies each block as memcheck does:
 *   definite   nothing points to it (or only other lost blocks, in a cycle
 *              of which it is the one reported)
 *   indirect   not reachable, but a lost block points to it
 *   possible   reachable only through at least one interior pointer
 *   reachable  reachable from a root through pointers to blocks' starts
 * Ordered worst first; kinds compare as integers. */
enum { LG_KIND_DEFINITE, LG_KIND_INDIRECT, LG_KIND_POSSIBLE, LG_KIND_REACHABLE, LG_KINDS };

/* "definite", "indirect", "possible", "reachable"; "unknown" otherwise. */
LG_API const char *lg_kind_name(int kind);

typedef struct lg_scan_stats {
    uint64_t blocks[LG_KINDS]; /* blocks of each kind */
    uint64_t bytes[LG_KINDS];  /* their bytes */
    uint64_t root_bytes;       /* bytes of roots read */
    uint64_t scanned_bytes;    /* bytes read in all (roots and blocks) */
    unsigned threads;          /* threads whose stacks were read */
    int64_t stopped_ns;        /* how long other threads were stopped */
    int64_t duration_ns;       /* the whole call */
} lg_scan_stats_t;

/* Scans now: stops every other thread of the process for the time of the
 * scan (a real-time signal, SIGRTMAX-4, whose handler stays installed
 * afterwards), and classifies every live trace of the C and Python
 * domains.  Costs O(live blocks + bytes reached).  Caller frees with
 * lg_scan_free().  Returns 0, LG_ENOTTRACING, LG_ENOMEM, or LG_ENOSTOP
 * when a thread did not stop within 5 s (it blocks the signal, or the
 * program took the signal over). */
LG_API int lg_scan_take(lg_scan_t **out);

/* The kind (LG_KIND_*) of the block that started at `ptr` in `domain` when
 * the scan ran, or LG_ENOTFOUND (not traced then, or a user domain). */
LG_API int lg_scan_kind(const lg_scan_t *scan, uint32_t domain, uintptr_t ptr);

/* Zeroes 8 KiB of the stack below the caller's frame.  An adapter calls it
 * right after the code under test returns and before judging it: the
 * frames of the judging calls then hold no stale word of the test's (a
 * pointer it dropped would keep a lost block reachable for the scan). */
LG_API void lg_stack_scrub(void);

/* Totals of the scan; borrowed until lg_scan_free. */
LG_API const lg_scan_stats_t *lg_scan_stats(const lg_scan_t *scan);

LG_API void lg_scan_free(lg_scan_t *scan);

#ifdef __cplusplus
}
#endif
#endif /* LEAKGATE_RUNTIME_H */
