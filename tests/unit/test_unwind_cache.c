/* Tests of libunwind mode's traceback cache (unwind_cache.c): whatever the
 * shape of the stack, a traceback it gives is the one libunwind gives for
 * that stack, frame for frame (compared through the interned traceback:
 * frames and total).  Stacks of data/unwind_shapes.c, built at run time
 * with and without frame pointers at -O0 and -O2; a signal handler;
 * threads; a library unloaded and another loaded in its place.
 * test_backtrace.c holds the tests of hand-made frame records that differ
 * only in a saved RBP, and of objects changing. */
#include "lg_internal.h"
#include "hooks_api.h"
#include "lgtest.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

typedef void *(*alloc_fn)(size_t);
typedef void *(*shape_fn)(alloc_fn, size_t, int, int);

static const char *const builds[] = {
    "-O0 -fno-omit-frame-pointer",
    "-O0 -fomit-frame-pointer",
    "-O2 -fno-omit-frame-pointer",
    "-O2 -fomit-frame-pointer",
};
#define NBUILDS 4

/* libunwind 1.6 keeps the unwind rules it found by address for good (a
 * per-thread table of its fast trace, a process-wide cache of register
 * states), so its own tracebacks through an object loaded where an
 * unloaded one was can follow the old object's rules.  So each build is
 * loaded once and kept (libs[i]), and the test of unloading uses copies
 * (libs[NBUILDS + i]), last. */
static char libdir[64];
static char libs[2 * NBUILDS][128];
static void *kept[NBUILDS];

/* Builds data/unwind_shapes.c twice per set of flags (0: built). */
static int build_shapes(void)
{
    if (libs[0][0])
        return 0;
    const char *slash = strrchr(__FILE__, '/');
    char src[512], cmd[1536];
    snprintf(src, sizeof src, "%.*s/data/unwind_shapes.c", slash ? (int)(slash - __FILE__) : 1,
             slash ? __FILE__ : ".");
    snprintf(libdir, sizeof libdir, "/tmp/lg-unwind-XXXXXX");
    if (!mkdtemp(libdir))
        return -1;
    for (int i = 0; i < 2 * NBUILDS; i++) {
        snprintf(libs[i], sizeof libs[i], "%s/libshapes%d.so", libdir, i);
        snprintf(cmd, sizeof cmd, "cc -shared -fPIC %s -o '%s' '%s'", builds[i % NBUILDS],
                 libs[i], src);
        if (system(cmd) != 0)
            return -1;
    }
    return 0;
}

static void remove_shapes(void)
{
    for (int i = 0; i < 2 * NBUILDS && libs[i][0]; i++)
        unlink(libs[i]);
    if (libdir[0])
        rmdir(libdir);
}

/* One allocation through shape(); its interned traceback. */
__attribute__((noinline)) static uint32_t alloc_through(shape_fn fn, int which, int arg)
{
    void *p = fn(T(malloc), 8, which, arg);
    size_t size;
    uint32_t id = LG_TB_NONE;
    lg__table_get(LG_DOMAIN_C, (uintptr_t)p, &size, &id);
    T(free)(p);
    __asm__ volatile("" ::: "memory");
    return id;
}

static const int cases[][2] = {
    {0, 0}, {1, 0}, {2, 0}, {2, 1}, {2, 2}, {2, 5}, {2, 9}, {2, 14}, {2, 20}, /* 20: past 16 */
    {3, 1}, {4, 1}, {3, 2}, {4, 2}, {3, 5}, {4, 5}, {3, 7}, {4, 7},
    {5, 1}, {5, 2}, {5, 6}, {0, 0}, {1, 0},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

/* The drivers below call the allocating function from one place in every
 * round: built without optimization, so that no loop is peeled or
 * versioned into two call sites (two return addresses). */
#define DRIVER __attribute__((noinline, optimize("O0")))

/* Round 0 takes every case's traceback with libunwind alone (the cache
 * off for this thread); the next rounds, with the cache, must give the
 * same, each case twice in a row (the second usually a hit).  Returns the
 * number of differences; *hits, the cache's answers. */
DRIVER static long compare_rounds(shape_fn fn, uint64_t *hits)
{
    uint32_t ref[NCASES];
    long wrong = 0;
    uint64_t before = 0;
    for (int round = 0; round < 4; round++) {
        lg__set_unwind_cache(round > 0);
        if (round == 1)
            before = lg__unwc_hits();
        for (int c = 0; c < NCASES; c++)
            for (int rep = 0; rep < 2; rep++) {
                uint32_t id = alloc_through(fn, cases[c][0], cases[c][1]);
                if (round == 0 && rep == 0)
                    ref[c] = id;
                else if (id != ref[c] || id == LG_TB_NONE) {
                    fprintf(stderr, "  case (%d, %d) round %d: traceback %u, libunwind's %u\n",
                            cases[c][0], cases[c][1], round, id, ref[c]);
                    wrong++;
                }
            }
    }
    *hits = lg__unwc_hits() - before;
    lg__set_unwind_cache(true);
    return wrong;
}

/* shape() of a build, loaded once and kept. */
static shape_fn kept_shapes(int build)
{
    if (!kept[build])
        kept[build] = dlopen(libs[build], RTLD_NOW | RTLD_LOCAL);
    return kept[build] ? (shape_fn)(uintptr_t)dlsym(kept[build], "shape") : NULL;
}

LGT_TEST(cached_tracebacks_are_libunwinds_in_every_build)
{
    ASSERT_EQ(build_shapes(), 0);
    lg__set_unwind_mode(LG_UNWIND_LIBUNWIND);
    ASSERT_EQ(lg_start(16), 0);
    for (int b = 0; b < NBUILDS; b++) {
        shape_fn fn = kept_shapes(b);
        ASSERT(fn != NULL);
        uint64_t hits;
        ASSERT_EQ(compare_rounds(fn, &hits), 0);
        /* Not vacuous: the cache answered (3 rounds of 22 cases, twice). */
        ASSERT_GE(hits, 3 * NCASES / 2);
    }
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* ---- a signal handler's frame ------------------------------------------ */

static shape_fn sig_fn;
static uint32_t sig_tb;

static void on_signal(int sig)
{
    LG_UNUSED(sig);
    sig_tb = alloc_through(sig_fn, 0, 0);
}

/* Round 0 with libunwind alone, then with the cache: the number of
 * tracebacks that differ from the first; *hits, the cache's answers. */
DRIVER static int signal_rounds(uint64_t *hits)
{
    uint32_t ref = LG_TB_NONE;
    int wrong = 0;
    for (int round = 0; round < 4; round++) {
        lg__set_unwind_cache(round > 0);
        if (round == 1)
            *hits = lg__unwc_hits();
        raise(SIGUSR1);
        if (round == 0)
            ref = sig_tb;
        wrong += sig_tb == LG_TB_NONE || sig_tb != ref;
    }
    *hits = lg__unwc_hits() - *hits;
    lg__set_unwind_cache(true);
    return wrong;
}

LGT_TEST(tracebacks_through_a_signal_frame_are_libunwinds)
{
    ASSERT_EQ(build_shapes(), 0);
    lg__set_unwind_mode(LG_UNWIND_LIBUNWIND);
    ASSERT_EQ(lg_start(16), 0);
    sig_fn = kept_shapes(3);
    ASSERT(sig_fn != NULL);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
    uint64_t hits = 0;
    ASSERT_EQ(signal_rounds(&hits), 0);
    /* The signal frame (glibc's __restore_rt) is no standard frame: never
     * cached, libunwind walks it every time. */
    ASSERT_EQ(hits, 0);
    sigaction(SIGUSR1, &old, NULL);
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* ---- threads -------------------------------------------------------------- */

static void *rounds_worker(void *arg)
{
    long wrong = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t hits;
        wrong += compare_rounds((shape_fn)(uintptr_t)arg, &hits);
        wrong += hits == 0;
    }
    return (void *)wrong;
}

LGT_TEST(threads_get_libunwinds_tracebacks_of_their_own_stacks)
{
    ASSERT_EQ(build_shapes(), 0);
    lg__set_unwind_mode(LG_UNWIND_LIBUNWIND);
    ASSERT_EQ(lg_start(16), 0);
    shape_fn fn[2] = {kept_shapes(1), kept_shapes(2)};
    ASSERT(fn[0] && fn[1]);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, rounds_worker, (void *)(uintptr_t)fn[i % 2]), 0);
    for (int i = 0; i < 4; i++) {
        void *wrong;
        pthread_join(t[i], &wrong);
        ASSERT_EQ((long)wrong, 0);
    }
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* A library unloaded and another build loaded (often at the same place):
 * rules and tracebacks learned in the first are not used for the second.
 * libunwind itself may then follow the old rules (above); the cache must
 * still agree with it, by not answering then. */
LGT_TEST(cached_tracebacks_follow_objects_unloaded_and_loaded)
{
    ASSERT_EQ(build_shapes(), 0);
    lg__set_unwind_mode(LG_UNWIND_LIBUNWIND);
    ASSERT_EQ(lg_start(16), 0);
    for (int i = 0; i < 6; i++) {
        void *h = dlopen(libs[NBUILDS + (i * 3) % NBUILDS], RTLD_NOW | RTLD_LOCAL);
        ASSERT(h != NULL);
        shape_fn fn = (shape_fn)(uintptr_t)dlsym(h, "shape");
        ASSERT(fn != NULL);
        uint64_t hits;
        ASSERT_EQ(compare_rounds(fn, &hits), 0);
        T(dlclose)(h);
    }
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

LGT_TEST(cleanup)
{
    for (int b = 0; b < NBUILDS; b++)
        if (kept[b])
            T(dlclose)(kept[b]);
    remove_shapes();
    ASSERT_EQ(access(libdir, F_OK), -1);
}

LGT_MAIN()
