/* Tests of traceback capture: frame 0 is the allocator's caller, in every
 * unwinding mode; depth limits; total_nframe; the replaceable hook; a
 * dlclose in another thread while the walker reads an object's code. */
#include "lg_internal.h"
#include "hooks_api.h"
#include "lgtest.h"

static uintptr_t ra_into_caller; /* return address of leaf() into its caller */
static bool leaf_reallocs;       /* leaf() calls realloc(NULL, n): more tracer frames */

__attribute__((noinline)) static void *leaf(size_t n)
{
    ra_into_caller = (uintptr_t)__builtin_return_address(0);
    void *p = leaf_reallocs ? T(realloc)(NULL, n) : T(malloc)(n);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return p;
}

__attribute__((noinline)) static void *deep(int depth, size_t n)
{
    void *p = depth ? deep(depth - 1, n) : leaf(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

static int traceback_of(void *p, uintptr_t *frames, int max)
{
    return lg_get_traceback(LG_DOMAIN_C, (uintptr_t)p, frames, max);
}

static void check_mode(int mode)
{
    lg__set_unwind_mode(mode);
    ASSERT_EQ(lg_start(16), 0);
    void *p = deep(5, 8); /* leaf + 6 deep() frames */
    uintptr_t f[16];
    int n = traceback_of(p, f, 16);
    ASSERT_GE(n, 7);
    /* frame 0 is inside leaf(), frame 1 is the call in deep(0). */
    ASSERT_GE(f[0], (uintptr_t)leaf);
    ASSERT_LT(f[0], (uintptr_t)leaf + 128);
    ASSERT_EQ(f[1], ra_into_caller);
    for (int i = 1; i <= 6; i++) {
        ASSERT_GE(f[i], (uintptr_t)deep);
        ASSERT_LT(f[i], (uintptr_t)deep + 128);
    }
    ASSERT_EQ(f[2], f[3]); /* the recursive call site repeats */
    T(free)(p);
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

LGT_TEST(frame0_is_the_caller_with_frame_pointers)
{
    check_mode(LG_UNWIND_FP);
}
LGT_TEST(frame0_is_the_caller_with_libunwind)
{
    check_mode(LG_UNWIND_LIBUNWIND);
}
LGT_TEST(frame0_is_the_caller_in_auto_mode)
{
    check_mode(LG_UNWIND_AUTO);
}

LGT_TEST(depth_limit_and_total)
{
    ASSERT_EQ(lg_start(3), 0);
    ASSERT_EQ(lg_get_traceback_limit(), 3);
    /* Frames past the limit are counted up to LG_TOTAL_EXTRA more by the
     * frame-pointer walk, one more by libunwind; the allocation is 10
     * frames deep and more. */
    int modes[] = {LG_UNWIND_FP, LG_UNWIND_LIBUNWIND};
    int past[] = {LG_TOTAL_EXTRA, 1};
    for (int m = 0; m < 2; m++) {
        lg__set_unwind_mode(modes[m]);
        void *p = deep(10, 8);
        uintptr_t f[16];
        ASSERT_EQ(traceback_of(p, f, 16), 3);
        size_t size;
        uint32_t id;
        ASSERT_EQ(lg__table_get(LG_DOMAIN_C, (uintptr_t)p, &size, &id), 0);
        ASSERT_EQ(lg__tb_get(id)->total_nframe, 3 + past[m]);
        T(free)(p);
        /* Setting the mode makes libunwind learn again how many of the
         * tracer's frames come first (it walks twice); realloc(NULL) may
         * pass through more of them than malloc: still the caller's 3
         * frames and more. */
        lg__set_unwind_mode(modes[m]);
        leaf_reallocs = true;
        p = deep(10, 8);
        leaf_reallocs = false;
        ASSERT_EQ(traceback_of(p, f, 16), 3);
        ASSERT_GE(f[0], (uintptr_t)leaf);
        ASSERT_LT(f[0], (uintptr_t)leaf + 128);
        ASSERT_EQ(lg__table_get(LG_DOMAIN_C, (uintptr_t)p, &size, &id), 0);
        ASSERT_EQ(lg__tb_get(id)->total_nframe, 3 + past[m]);
        T(free)(p);
    }
    lg__set_unwind_mode(LG_UNWIND_AUTO);
    lg_stop();
    ASSERT_EQ(lg_start(0), 0); /* 0: LEAKGATE_FRAMES or the default */
    ASSERT_EQ(lg_get_traceback_limit(), LG_FRAMES_DEFAULT);
    ASSERT_EQ(lg_start(-1), LG_EINVAL);
    ASSERT_EQ(lg_start(LG_FRAMES_MAX + 1), LG_EINVAL);
    lg_stop();
}

static int fixed_backtrace(uintptr_t *frames, int max, uint32_t *total)
{
    static const uintptr_t fake[] = {0x1111, 0x2222, 0x3333};
    int n = max < 3 ? max : 3;
    memcpy(frames, fake, (size_t)n * sizeof *frames);
    *total = 3;
    return n;
}

LGT_TEST(replaceable_backtrace_makes_tracebacks_deterministic)
{
    lg__set_backtrace_hook(fixed_backtrace);
    ASSERT_EQ(lg_start(2), 0);
    void *p = T(malloc)(1);
    uintptr_t f[4];
    ASSERT_EQ(traceback_of(p, f, 4), 2);
    ASSERT_EQ(f[0], 0x1111);
    ASSERT_EQ(f[1], 0x2222);
    T(free)(p);
    lg_stop();
    lg__set_backtrace_hook(NULL);
}

#include <dlfcn.h>

static bool in_object(uintptr_t a, const char *name_part)
{
    Dl_info di;
    return dladdr((void *)a, &di) && di.dli_fname && strstr(di.dli_fname, name_part);
}

LGT_TEST(a_stop_object_ends_tracebacks_in_every_mode)
{
    ASSERT_EQ(lg_set_traceback_stop("no-such-object.so*"), LG_ENOTFOUND);
    int modes[] = {LG_UNWIND_FP, LG_UNWIND_LIBUNWIND, LG_UNWIND_AUTO};
    for (int m = 0; m < 3; m++) {
        lg__set_unwind_mode(modes[m]);
        ASSERT_EQ(lg_start(32), 0);
        /* deep() -> ... -> main() -> the C library's start-up code. */
        ASSERT_EQ(lg_set_traceback_stop("libc.so*"), 0);
        void *p = deep(3, 8);
        uintptr_t f[32];
        int n = traceback_of(p, f, 32);
        ASSERT_GE(n, 6); /* leaf, 4 deep(), the test... */
        ASSERT_EQ(in_object(f[n - 1], "libc.so"), 1);
        for (int i = 0; i < n - 1; i++)
            ASSERT_EQ(in_object(f[i], "libc.so"), 0);
        T(free)(p);
        ASSERT_EQ(lg_set_traceback_stop(NULL), 0);
        lg_stop();
    }
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* Calls leaf(n) with the frame pointer set to `fp`: the walk goes on from
 * leaf() into whatever fp points to. */
__attribute__((noinline)) static void *with_frame_pointer(size_t n, uintptr_t fp)
{
    void *p;
    void *(*fn)(size_t) = leaf;
    __asm__ volatile("mov %%rsp, %%r12\n\t"
                     "sub $128, %%rsp\n\t" /* past the red zone */
                     "and $-16, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "push %%rbp\n\t"
                     "mov %[fp], %%rbp\n\t"
                     "call *%[fn]\n\t"
                     "pop %%rbp\n\t"
                     "pop %%rbp\n\t"
                     "mov %%r12, %%rsp"
                     : "=a"(p), "+D"(n)
                     : [fn] "r"(fn), [fp] "S"(fp)
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "r12", "memory", "cc");
    return p;
}

/* A frame pointer that is no frame (1): the walk breaks right above leaf(). */
static void *broken_chain(size_t n)
{
    return with_frame_pointer(n, 1);
}

LGT_TEST(quick_capture_never_falls_back_to_libunwind)
{
    ASSERT_EQ(lg_start(16), 0);
    uint64_t before = lg_get_unwind_fallbacks();
    void *p = broken_chain(8);
    ASSERT_EQ(lg_get_unwind_fallbacks(), before + 1); /* auto: the chain broke */
    T(free)(p);
    lg_set_traceback_quick(1);
    int modes[] = {LG_UNWIND_AUTO, LG_UNWIND_LIBUNWIND};
    for (int m = 0; m < 2; m++) {
        lg__set_unwind_mode(modes[m]);
        before = lg_get_unwind_fallbacks();
        p = broken_chain(8);
        uintptr_t f[16];
        ASSERT_EQ(traceback_of(p, f, 16), 2); /* leaf and the call into it */
        ASSERT_GE(f[0], (uintptr_t)leaf);
        ASSERT_LT(f[0], (uintptr_t)leaf + 128);
        ASSERT_EQ(lg_get_unwind_fallbacks(), before);
        T(free)(p);
    }
    lg_set_traceback_quick(0);
    lg__set_unwind_mode(LG_UNWIND_AUTO);
    lg_stop();
}

/* Calls leaf(n) with the frame pointer at chain[0]: the walk goes on from
 * leaf() into the hand-made records chain[0..1], chain[2..3], ... */
static void *via_chain(size_t n, uintptr_t *chain)
{
    return with_frame_pointer(n, (uintptr_t)chain);
}

/* The interned traceback of a traced block (LG_TB_NONE: not traced). */
static uint32_t tb_of(void *p)
{
    size_t size;
    uint32_t id = LG_TB_NONE;
    lg__table_get(LG_DOMAIN_C, (uintptr_t)p, &size, &id);
    return id;
}

/* The traceback cache answers only for a stack the walk would read the
 * same: allocations from the same place whose stacks share the first frame
 * records but differ deeper (a return address, a link, the chain's length
 * past the limit) get the traceback of their own stack. */
__attribute__((noinline)) static void check_cache_exact(uintptr_t a, uintptr_t b)
{
    uintptr_t f[16];
    _Alignas(16) uintptr_t chain[8] = {0};
    uintptr_t *c = chain; /* the asm reads it through a pointer */
    c[0] = (uintptr_t)&c[2], c[1] = a, c[2] = (uintptr_t)&c[4], c[3] = a, c[4] = 0, c[5] = a;
    void *p1 = via_chain(8, c);
    uint64_t hits = lg__backtrace_cache_hits();
    void *p2 = via_chain(8, c);
    ASSERT_EQ(lg__backtrace_cache_hits(), hits + 1); /* the same stack: a hit */
    ASSERT_NE(tb_of(p1), LG_TB_NONE);
    ASSERT_EQ(tb_of(p2), tb_of(p1));
    int n = traceback_of(p1, f, 16);
    ASSERT_EQ(n, 5); /* leaf, via_chain, then a three times */
    ASSERT_EQ(f[4], a);

    c[3] = b; /* a return address deeper down */
    void *p3 = via_chain(8, c);
    ASSERT_NE(tb_of(p3), tb_of(p1));
    ASSERT_EQ(traceback_of(p3, f, 16), 5);
    ASSERT_EQ(f[3], b);

    c[3] = a, c[4] = (uintptr_t)&c[6], c[6] = 0, c[7] = b; /* one record more */
    void *p4 = via_chain(8, c);
    ASSERT_EQ(traceback_of(p4, f, 16), 6);
    ASSERT_EQ(f[5], b);

    c[4] = 0; /* as at first again */
    void *p5 = via_chain(8, c);
    ASSERT_EQ(tb_of(p5), tb_of(p1));
    void *ps[] = {p1, p2, p3, p4, p5};
    for (int i = 0; i < 5; i++)
        T(free)(ps[i]);
}

/* Past the limit, only the links are read (to count total_nframe): the
 * chain's length there tells tracebacks apart, its return addresses not
 * (a frame without frame pointer may leave anything there): the cache
 * answers whatever they hold. */
__attribute__((noinline)) static void check_cache_total(uintptr_t a, uintptr_t b)
{
    _Alignas(16) uintptr_t chain[8] = {0};
    uintptr_t *c = chain;
    c[0] = (uintptr_t)&c[2], c[1] = a, c[2] = (uintptr_t)&c[4], c[3] = a, c[4] = 0, c[5] = a;
    void *p1 = via_chain(8, c); /* limit 2: leaf, via_chain; 3 more counted */
    uint64_t hits = lg__backtrace_cache_hits();
    c[3] = b;
    void *p2 = via_chain(8, c);
    ASSERT_EQ(lg__backtrace_cache_hits(), hits + 1); /* the same walk */
    ASSERT_EQ(tb_of(p2), tb_of(p1));
    ASSERT_EQ(lg__tb_get(tb_of(p1))->total_nframe, 5);
    c[4] = (uintptr_t)&c[6], c[6] = 0;
    void *p3 = via_chain(8, c);
    ASSERT_NE(tb_of(p3), tb_of(p1));
    ASSERT_EQ(lg__tb_get(tb_of(p3))->total_nframe, 6);
    c[4] = 0;
    void *p4 = via_chain(8, c);
    ASSERT_EQ(tb_of(p4), tb_of(p1));
    void *ps[] = {p1, p2, p3, p4};
    for (int i = 0; i < 4; i++)
        T(free)(ps[i]);
}

LGT_TEST(the_traceback_cache_never_returns_what_the_walk_would_not)
{
    int modes[] = {LG_UNWIND_FP, LG_UNWIND_AUTO};
    for (int m = 0; m < 2; m++) {
        lg__set_unwind_mode(modes[m]);
        ASSERT_EQ(lg_start(16), 0);
        /* Two return addresses that the walk proves: in deep() and here. */
        uintptr_t f[16];
        void *q = deep(0, 8);
        ASSERT_GE(traceback_of(q, f, 16), 3);
        T(free)(q);
        check_cache_exact(f[1], f[2]);
        lg_stop();
        ASSERT_EQ(lg_start(2), 0);
        check_cache_total(f[1], f[2]);
        lg_stop();
    }
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* libunwind mode's cache (unwind_cache.c): the same for code whose CFA is
 * computed from RBP (built with frame pointers, as this file is), whose
 * saved RBP tells where the next return address lies.  leaf() is called
 * with RBP at hand-made records (saved RBP, return address) whose return
 * addresses are real ones, so libunwind follows them; a record's return
 * address of 0 ends its walk.  Chains that keep every return address slot
 * the cache read but differ in a saved RBP get their own traceback. */
__attribute__((noinline)) static void check_saved_rbp(uintptr_t a, uintptr_t b)
{
    _Alignas(16) uintptr_t chain[16] = {0};
    uintptr_t *c = chain; /* the asm reads it through a pointer */
    c[0] = (uintptr_t)&c[2], c[1] = a, c[2] = (uintptr_t)&c[4], c[3] = a;
    c[4] = (uintptr_t)&c[6], c[5] = a, c[6] = (uintptr_t)&c[14], c[7] = 0;
    /* another path from c[8]: its first return address is b */
    c[8] = (uintptr_t)&c[10], c[9] = b, c[10] = (uintptr_t)&c[12], c[11] = a;
    c[12] = (uintptr_t)&c[14], c[13] = 0;
    void *p1 = via_chain(8, c);
    uint64_t hits = lg__unwc_hits();
    void *p2 = via_chain(8, c);
    ASSERT_EQ(lg__unwc_hits(), hits + 1); /* the same stack: a hit */
    ASSERT_NE(tb_of(p1), LG_TB_NONE);
    ASSERT_EQ(tb_of(p2), tb_of(p1));
    const lg__tb_t *t = lg__tb_get(tb_of(p1));
    ASSERT_EQ(t->nframes, 4); /* leaf, via_chain, a, a */
    ASSERT_EQ(t->total_nframe, 5);
    ASSERT_EQ(t->frames[3], a);

    c[0] = (uintptr_t)&c[8]; /* the first saved RBP only: every RA slot read is unchanged */
    void *p3 = via_chain(8, c);
    t = lg__tb_get(tb_of(p3));
    ASSERT_EQ(t->nframes, 4);
    ASSERT_EQ(t->frames[2], a);
    ASSERT_EQ(t->frames[3], b);

    c[0] = (uintptr_t)&c[2]; /* as at first */
    void *p4 = via_chain(8, c);
    ASSERT_EQ(tb_of(p4), tb_of(p1));
    c[3] = b; /* a return address */
    void *p5 = via_chain(8, c);
    ASSERT_EQ(lg__tb_get(tb_of(p5))->frames[3], b);
    void *ps[] = {p1, p2, p3, p4, p5};
    for (int i = 0; i < 5; i++)
        T(free)(ps[i]);
}

LGT_TEST(libunwinds_cache_never_answers_for_a_changed_saved_rbp)
{
    lg__set_unwind_mode(LG_UNWIND_LIBUNWIND);
    ASSERT_EQ(lg_start(4), 0);
    void *q = deep(0, 8); /* leaf, deep, this test, ... */
    const lg__tb_t *t = lg__tb_get(tb_of(q));
    ASSERT_EQ(t->nframes, 4);
    uintptr_t a = t->frames[1], b = t->frames[2];
    T(free)(q);
    check_saved_rbp(a, b);
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* Objects loaded or unloaded since a walk: the cache does not answer, in
 * either mode.  (At most 4 frames, so that the walk completes whatever
 * lies above.) */
LGT_TEST(the_traceback_cache_forgets_when_objects_change)
{
    int modes[] = {LG_UNWIND_FP, LG_UNWIND_LIBUNWIND};
    for (int m = 0; m < 2; m++) {
        lg__set_unwind_mode(modes[m]);
        ASSERT_EQ(lg_start(4), 0);
        void *p[3];
        uint64_t hits[3];
        for (int i = 0; i < 3; i++) {
            if (i == 2)
                lg__modules_changed();
            p[i] = deep(2, 8);
            hits[i] = m ? lg__unwc_hits() : lg__backtrace_cache_hits();
        }
        ASSERT_EQ(hits[1], hits[0] + 1); /* the same stack again: a hit */
        ASSERT_EQ(hits[2], hits[1]);     /* objects changed: walked again */
        ASSERT_EQ(tb_of(p[1]), tb_of(p[0]));
        ASSERT_EQ(tb_of(p[2]), tb_of(p[0]));
        for (int i = 0; i < 3; i++)
            T(free)(p[i]);
        lg_stop();
    }
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* A change of the way of capture (the unwind mode, a test's hook) is a
 * change of generation: the cache does not answer with what fp walks gave
 * before it. */
LGT_TEST(the_traceback_cache_forgets_when_the_capture_changes)
{
    lg__set_unwind_mode(LG_UNWIND_FP);
    ASSERT_EQ(lg_start(4), 0);
    void *p[4];
    p[0] = deep(2, 8);
    p[1] = deep(2, 8);
    uint64_t hits = lg__backtrace_cache_hits();
    ASSERT_EQ(tb_of(p[1]), tb_of(p[0]));
    lg__set_unwind_mode(LG_UNWIND_LIBUNWIND);
    p[2] = deep(2, 8);
    ASSERT_EQ(lg__backtrace_cache_hits(), hits);
    lg__set_unwind_mode(LG_UNWIND_FP);
    lg__set_backtrace_hook(fixed_backtrace);
    p[3] = deep(2, 8);
    ASSERT_EQ(lg__backtrace_cache_hits(), hits);
    uintptr_t f[4];
    ASSERT_EQ(traceback_of(p[3], f, 4), 3);
    ASSERT_EQ(f[0], 0x1111);
    lg__set_backtrace_hook(NULL);
    for (int i = 0; i < 4; i++)
        T(free)(p[i]);
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* Threads allocating at once from different depths of the same recursion
 * each get the traceback of their own stack, cached or not. */
#include <pthread.h>

static bool in_deep(uintptr_t a)
{
    return a >= (uintptr_t)deep && a < (uintptr_t)deep + 128;
}

static void *depths_worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    long wrong = 0;
    uint64_t hits = lg__backtrace_cache_hits();
    for (int i = 0; i < 20000; i++) {
        int k = (int)(rand_r(&seed) % 4);
        void *p = deep(k, 8);
        uintptr_t f[8];
        int n = traceback_of(p, f, 8);
        /* leaf, k + 1 frames in deep(), this function, the C library's
         * thread start (whose caller cleared the frame pointer) */
        wrong += n != (k + 4 < 6 ? k + 4 : 6) || !in_deep(f[k + 1]) || in_deep(f[k + 2]);
        T(free)(p);
    }
    wrong += lg__backtrace_cache_hits() - hits < 10000; /* the cache answered */
    return (void *)wrong;
}

LGT_TEST(threads_get_the_tracebacks_of_their_own_stacks)
{
    lg__set_unwind_mode(LG_UNWIND_FP);
    ASSERT_EQ(lg_start(6), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, depths_worker, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        void *wrong;
        pthread_join(t[i], &wrong);
        ASSERT_EQ((long)wrong, 0);
    }
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* ---- a dlclose while the walker proves an address --------------------- */

#include <time.h>

/* Calls leaf(8) with the frame-pointer register at `record` (the next frame
 * pointer, a return address), as code built without frame pointers may
 * leave it: after leaf's own frame the walker reads that record. */
static void *through_record(uintptr_t *record)
{
    return with_frame_pointer(8, (uintptr_t)record);
}

static void *lib_callback(void)
{
    return __builtin_return_address(0);
}

/* The closer thread unloads `handle` when the walker is about to read the
 * code before `target`.  Protected by lock. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uintptr_t target;
    void *handle;
    bool go, done;
} uc = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *closer(void *arg)
{
    LG_UNUSED(arg);
    pthread_mutex_lock(&uc.lock);
    while (!uc.go)
        pthread_cond_wait(&uc.cond, &uc.lock);
    void *h = uc.handle;
    pthread_mutex_unlock(&uc.lock);
    lg__hook_dlclose(h); /* the last reference: the object is unmapped */
    pthread_mutex_lock(&uc.lock);
    uc.done = true;
    pthread_cond_broadcast(&uc.cond);
    pthread_mutex_unlock(&uc.lock);
    return NULL;
}

/* The prove hook: before the code before the target is read, the closer
 * unloads its object, and is given 200 ms to finish. */
static void unload_meanwhile(uintptr_t ra)
{
    if (ra != uc.target)
        return;
    pthread_mutex_lock(&uc.lock);
    uc.go = true;
    pthread_cond_broadcast(&uc.cond);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 200 * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!uc.done && pthread_cond_timedwait(&uc.cond, &uc.lock, &until) == 0)
        ;
    pthread_mutex_unlock(&uc.lock);
}

/* Loads lib; returns its handle (NULL: not loaded) and, in *ra, a return
 * address inside it (0: none).  The loader's own allocations are not
 * traced: their walks would read words that its frames, built without
 * frame pointers, leave unwritten (valgrind says so). */
static void *open_untraced(const char *lib)
{
    int prev = lg_untraced_enter();
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    lg_untraced_leave(prev);
    return h;
}

static void *load_lib(const char *lib, uintptr_t *ra)
{
    void *h = open_untraced(lib);
    void *(*call)(void *(*)(void), unsigned *) = NULL;
    if (h)
        *(void **)&call = dlsym(h, "dlclose_lib_call");
    unsigned line;
    *ra = call ? (uintptr_t)call(lib_callback, &line) : 0;
    return h;
}

/* A dlclose in another thread, made right when the walker is about to read
 * the code of the object: the object stays mapped until the read is done
 * (it was proven, so it is in the traceback), then goes. */
static void dlclose_during_proof(const char *lib)
{
    lg__set_unwind_mode(LG_UNWIND_FP);
    ASSERT_EQ(lg_start(16), 0);
    for (int i = 0; i < 3; i++) {
        uintptr_t record[2] = {0, 0};
        void *h = load_lib(lib, &record[1]);
        ASSERT(h != NULL && record[1] != 0);
        pthread_mutex_lock(&uc.lock);
        uc.target = record[1];
        uc.handle = h;
        uc.go = uc.done = false;
        pthread_mutex_unlock(&uc.lock);
        pthread_t t;
        ASSERT_EQ(pthread_create(&t, NULL, closer, NULL), 0);
        lg__modules_changed(); /* nothing proven: the walker reads the code */
        lg__set_prove_hook(unload_meanwhile);
        void *p = through_record(record);
        lg__set_prove_hook(NULL);
        ASSERT(uc.go); /* the walker read the object's code, as the closer ran */
        pthread_join(t, NULL);
        Dl_info di;
        ASSERT_EQ(dladdr((void *)record[1], &di), 0); /* unloaded now */
        uintptr_t f[16];
        ASSERT_EQ(traceback_of(p, f, 16), 3); /* leaf, with_frame_pointer, the record */
        ASSERT_EQ(f[2], record[1]);
        T(free)(p);
    }
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* Threads walk through records naming an object that another thread loads
 * and unloads in a loop: never a crash (run under ASan by make asan). */
static const char *stress_lib;
static atomic_bool stress_stop;
static atomic_int stress_short; /* walks that stopped before the record */

static void *stress_walker(void *arg)
{
    LG_UNUSED(arg);
    for (int i = 0; i < 150; i++) {
        uintptr_t record[2] = {0, 0};
        void *h = load_lib(stress_lib, &record[1]);
        if (h)
            lg__hook_dlclose(h); /* record[1] may be unmapped from here on */
        void *p = through_record(record);
        uintptr_t f[16];
        if (traceback_of(p, f, 16) < 2)
            atomic_fetch_add(&stress_short, 1);
        T(free)(p);
    }
    return NULL;
}

static void *stress_loader(void *arg)
{
    LG_UNUSED(arg);
    while (!atomic_load(&stress_stop)) {
        void *h = open_untraced(stress_lib);
        if (h)
            lg__hook_dlclose(h);
    }
    return NULL;
}

static void walks_race_dlopen_dlclose(const char *lib)
{
    stress_lib = lib;
    lg__set_unwind_mode(LG_UNWIND_FP);
    ASSERT_EQ(lg_start(16), 0);
    pthread_t w[2], l;
    ASSERT_EQ(pthread_create(&l, NULL, stress_loader, NULL), 0);
    for (int i = 0; i < 2; i++)
        ASSERT_EQ(pthread_create(&w[i], NULL, stress_walker, NULL), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    atomic_store(&stress_stop, true);
    pthread_join(l, NULL);
    ASSERT_EQ(atomic_load(&stress_short), 0);
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

LGT_TEST(a_dlclose_in_another_thread_never_unmaps_code_the_walker_reads)
{
    char dir[] = "/tmp/lg-backtrace-XXXXXX", lib[600];
    ASSERT(mkdtemp(dir) != NULL);
    int built = lgt_build_dlclose_lib(dir, lib, sizeof lib);
    if (built == 0) {
        dlclose_during_proof(lib);
        walks_race_dlopen_dlclose(lib);
    }
    unlink(lib);
    rmdir(dir);
    if (built != 0)
        LGT_FAIL("building the test library failed (%d)", built);
}

LGT_MAIN()
