/*
 * trace.c — the tracer's state and the two events it records.
 *
 * lg__trace_alloc() captures the caller's traceback, interns it, and adds a
 * trace; lg__trace_free() removes it.  Both keep the traced-memory counters
 * and each traceback's live totals, and tell the active mark (mark.c).
 *
 * Ordering against address reuse by another thread: a new block is traced
 * after the real allocator returned it, and a freed block's trace is removed
 * before the real free, so an address is never traced twice at once.
 * No lock is held while capturing a traceback; the table and intern locks
 * are taken one at a time, never nested.
 */
#include "lg_internal.h"

#include <pthread.h>
#include <stdatomic.h>

/* What every event reads comes first; the counters every event writes
 * start a cache line of their own, so that threads updating them do not
 * take the read-mostly fields' line away from each other. */
static struct {
    atomic_int nframes;             /* traceback limit of new traces */
    _Atomic(pthread_t) only_thread; /* lg_trace_only_thread(); 0: all */
    _Alignas(64) _Atomic uint64_t current; /* bytes in traced blocks */
    _Atomic uint64_t peak;
    _Atomic uint64_t lost; /* traces dropped for lack of memory */
} st = {.nframes = LG_FRAMES_DEFAULT};

atomic_int lg__tracing_on;
LG_TLS int lg__in_hook;

void lg__count_lost(void)
{
    atomic_fetch_add(&st.lost, 1);
}

static void grow(size_t size)
{
    uint64_t cur = atomic_fetch_add(&st.current, size) + size;
    uint64_t peak = atomic_load_explicit(&st.peak, memory_order_relaxed);
    while (cur > peak && !atomic_compare_exchange_weak(&st.peak, &peak, cur))
        ;
}

static void shrink(size_t size)
{
    atomic_fetch_sub(&st.current, size);
}

static bool other_thread(void)
{
    pthread_t only = atomic_load_explicit(&st.only_thread, memory_order_relaxed);
    return LG_UNLIKELY(only) && !pthread_equal(only, pthread_self());
}

/* Adds a trace with interned traceback `tb`; counts it lost on failure. */
static LG_ALWAYS_INLINE void add_tb(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    size_t old_size;
    uint32_t old_tb;
    if (tb == LG_TB_NONE) {
        lg__count_lost();
        return;
    }
    /* A block the program got again without freeing it (lg_track on a
     * tracked address) replaces the old trace: one table look-up does both,
     * as this runs on every allocation.  Without memory for the new trace,
     * the old one goes all the same. */
    int rc = lg__table_put(domain, ptr, size, tb, &old_size, &old_tb);
    if (rc == 1 || (rc < 0 && lg__table_remove(domain, ptr, &old_size, &old_tb) == 0)) {
        shrink(old_size);
        lg__tb_account(old_tb, -(int64_t)old_size, -1);
        if (lg__mark_active)
            lg__mark_on_free(domain, ptr, old_size, old_tb);
    }
    if (rc < 0) {
        lg__count_lost();
        return;
    }
    grow(size);
    lg__tb_account(tb, (int64_t)size, 1);
    if (lg__mark_active)
        lg__mark_on_alloc(domain, ptr);
}

/* Adds a trace with traceback `frames`. */
static void add_frames(uint32_t domain, uintptr_t ptr, size_t size, const uintptr_t *frames, int n,
                       uint32_t total)
{
    if (!other_thread())
        add_tb(domain, ptr, size, lg__intern(frames, n, total));
}

/* Adds a trace with the caller's traceback, captured: native frames, then
 * the frames of an interpreter when one registered (interp.c). */
LG_HOOK_TEXT static LG_NOINLINE void add_captured(uint32_t domain, uintptr_t ptr, size_t size,
                                                 int limit)
{
    if (!lg__interp_capturing()) {
        lg__walk_t walk;
        uintptr_t frames[LG_FRAMES_MAX];
        uint32_t total = 0;
        int n = lg__backtrace_walk(frames, limit, &total, &walk);
        uint32_t tb = lg__intern(frames, n, total);
        lg__backtrace_cache_put(&walk, tb);
        add_tb(domain, ptr, size, tb);
        return;
    }
    uintptr_t frames[LG_FRAMES_MAX];
    uint32_t total = 0;
    int n = lg__backtrace(frames, limit, &total);
    n = lg__interp_append(frames, n, limit, &total);
    add_tb(domain, ptr, size, lg__intern(frames, n, total));
}

/* Adds a trace with the caller's traceback.  Without an interpreter's
 * frames, the native traceback is all, and the thread's traceback cache
 * may know it (backtrace.c): the hot path, inline in its callers. */
LG_HOOK_TEXT static LG_ALWAYS_INLINE void add(uint32_t domain, uintptr_t ptr, size_t size,
                                              uintptr_t hook_frame)
{
    int limit = atomic_load_explicit(&st.nframes, memory_order_relaxed);
    if (other_thread())
        return;
    uint32_t tb = lg__interp_capturing() ? LG_TB_NONE : lg__backtrace_cached(limit, hook_frame);
    if (tb != LG_TB_NONE)
        add_tb(domain, ptr, size, tb);
    else
        add_captured(domain, ptr, size, limit);
}

LG_HOOK_TEXT void lg__trace_alloc(uint32_t domain, void *ptr, size_t size, uintptr_t hook_frame)
{
    if (lg__tracing())
        add(domain, (uintptr_t)ptr, size, hook_frame);
}

/* Accounts for a trace already taken out of the table. */
static void forgotten(uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    shrink(size);
    lg__tb_account(tb, -(int64_t)size, -1);
    if (lg__mark_active)
        lg__mark_on_free(domain, ptr, size, tb);
}

/* Forgets a trace; returns whether there was one. */
static bool forget(uint32_t domain, uintptr_t ptr)
{
    size_t size;
    uint32_t tb;
    if (lg__table_remove(domain, ptr, &size, &tb) != 0)
        return false;
    forgotten(domain, ptr, size, tb);
    return true;
}

void lg__trace_free(uint32_t domain, void *ptr)
{
    if (lg__tracing())
        forget(domain, (uintptr_t)ptr);
}

/* realloc: the old block's trace comes out of the table before the real
 * realloc (which may hand its address to another thread at once) and goes
 * back if the realloc fails.  Untraced blocks stay untraced. */
bool lg__trace_realloc_begin(uint32_t domain, void *old, size_t *size, uint32_t *tb)
{
    return lg__tracing() && lg__table_remove(domain, (uintptr_t)old, size, tb) == 0;
}

LG_HOOK_TEXT void lg__trace_realloc_done(uint32_t domain, void *old, size_t old_size,
                                         uint32_t old_tb, void *ptr, size_t size)
{
    forgotten(domain, (uintptr_t)old, old_size, old_tb);
    if (ptr && lg__tracing())
        add(domain, (uintptr_t)ptr, size, 0);
}

void lg__trace_realloc_failed(uint32_t domain, void *old, size_t size, uint32_t tb)
{
    if (lg__table_add(domain, (uintptr_t)old, size, tb) != 0)
        forgotten(domain, (uintptr_t)old, size, tb), lg__count_lost();
}

/* ---- fork --------------------------------------------------------------- */

/* The tracer's locks are taken around fork(), in the order written in
 * lg_internal.h, so that the child never inherits one held by a thread
 * that does not exist there. */
static void before_fork(void)
{
    lg__scan_lock();
    lg__mark_lock();
    lg__interp_lock();
    lg__intern_lock();
    lg__table_lock_all();
    lg__live_lock();
}

static void after_fork(void)
{
    lg__live_unlock();
    lg__table_unlock_all();
    lg__intern_unlock();
    lg__interp_unlock();
    lg__mark_unlock();
    lg__scan_unlock();
}

static void atfork_install(void)
{
    pthread_atfork(before_fork, after_fork, after_fork);
}

void lg__atfork_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, atfork_install);
}

/* ---- public control ----------------------------------------------------- */

int lg_start(int nframes)
{
    if (nframes == 0) {
        long n;
        lg__env_int("LEAKGATE_FRAMES", 1, LG_FRAMES_MAX, LG_FRAMES_DEFAULT, &n);
        nframes = (int)n;
    }
    if (nframes < 1 || nframes > LG_FRAMES_MAX)
        return LG_EINVAL;
    if (lg__real_init() != 0)
        return LG_ENOMEM;
    lg__atfork_register();
    lg__scan_prepare();
    atomic_store(&st.nframes, nframes);
    atomic_store(&lg__tracing_on, 1);
    return 0;
}

void lg_clear_traces(void)
{
    lg__mark_reset();
    lg__table_clear();
    lg__intern_clear();
    atomic_store(&st.current, 0);
    atomic_store(&st.peak, 0);
}

void lg_stop(void)
{
    atomic_store(&lg__tracing_on, 0);
    lg_clear_traces();
}

int lg_is_tracing(void)
{
    return lg__tracing();
}

int lg_get_traceback_limit(void)
{
    return atomic_load(&st.nframes);
}

void lg_get_traced_memory(size_t *current, size_t *peak)
{
    if (current)
        *current = (size_t)atomic_load(&st.current);
    if (peak)
        *peak = (size_t)atomic_load(&st.peak);
}

void lg_reset_peak(void)
{
    atomic_store(&st.peak, atomic_load(&st.current));
}

uint64_t lg_get_lost_traces(void)
{
    return atomic_load(&st.lost);
}

LG_HOOK_TEXT int lg_track(uint32_t domain, uintptr_t ptr, size_t size)
{
    if (!lg__tracing())
        return LG_ENOTTRACING;
    if (ptr == UINTPTR_MAX)
        return LG_EINVAL;
    uint64_t lost = lg_get_lost_traces();
    add(domain, ptr, size, 0);
    return lg_get_lost_traces() == lost ? 0 : LG_ENOMEM;
}

int lg_track_frames(uint32_t domain, uintptr_t ptr, size_t size, const uintptr_t *frames, int n,
                    uint32_t total_nframe)
{
    if (!lg__tracing())
        return LG_ENOTTRACING;
    if (ptr == UINTPTR_MAX || n < 0 || n > LG_FRAMES_MAX || (n && !frames))
        return LG_EINVAL;
    uint64_t lost = lg_get_lost_traces();
    add_frames(domain, ptr, size, frames, n, total_nframe < (uint32_t)n ? (uint32_t)n : total_nframe);
    return lg_get_lost_traces() == lost ? 0 : LG_ENOMEM;
}

void lg_trace_only_thread(int on)
{
    atomic_store(&st.only_thread, on ? pthread_self() : (pthread_t)0);
}

int lg_untrack(uint32_t domain, uintptr_t ptr)
{
    return forget(domain, ptr) ? 0 : LG_ENOTFOUND;
}

int lg_get_traceback(uint32_t domain, uintptr_t ptr, uintptr_t *frames, int max)
{
    if (!lg__tracing())
        return LG_ENOTTRACING;
    size_t size;
    uint32_t id;
    if (lg__table_get(domain, ptr, &size, &id) != 0)
        return LG_ENOTFOUND;
    const lg__tb_t *tb = lg__tb_get(id);
    int n = 0;
    for (; tb && n < tb->nframes && n < max; n++)
        frames[n] = tb->frames[n];
    return n;
}
