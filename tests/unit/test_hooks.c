/* Tests of the allocation hooks: sizes, frees, realloc, errno, pass-through
 * of untraced blocks, threads and fork. */
#include "lg_internal.h"
#include "hooks_api.h"
#include "lgtest.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

/* Impossible sizes, hidden from the compiler's size warnings. */
static volatile size_t huge = SIZE_MAX - 4096, half = SIZE_MAX / 2;

static size_t traced(void)
{
    size_t cur;
    lg_get_traced_memory(&cur, NULL);
    return cur;
}

/* A failed test returns early: leave no tracing on for the next one. */
static void stop_tracing(void)
{
    lg_stop();
}
LGT_AFTER_EACH(stop_tracing)

static int size_of(void *p, size_t *size)
{
    uint32_t tb;
    return lg__table_get(LG_DOMAIN_C, (uintptr_t)p, size, &tb);
}

LGT_TEST(every_allocator_is_traced_with_the_requested_size)
{
    ASSERT_EQ(lg_start(8), 0);
    size_t base = traced(), size;
    void *a = T(malloc)(10);
    void *b = T(calloc)(3, 7);
    void *c = NULL;
    ASSERT_EQ(T(posix_memalign)(&c, 64, 33), 0);
    void *d = T(aligned_alloc)(32, 64);
    void *e = T(memalign)(128, 5);
    void *f = T(valloc)(3);
    /* valgrind aborts on pvalloc: run-unit.sh tells us we are under it. */
    bool pv = !getenv("LGT_UNDER_VALGRIND");
    void *g = pv ? T(pvalloc)(9) : T(valloc)(9);
    ASSERT_EQ(traced() - base, 10 + 21 + 33 + 64 + 5 + 3 + 9);
    ASSERT_EQ(size_of(b, &size), 0);
    ASSERT_EQ(size, 21);
    ASSERT_EQ(size_of(g, &size), 0);
    ASSERT_EQ(size, 9);
    ASSERT_EQ((uintptr_t)c % 64, 0);
    ASSERT_EQ((uintptr_t)e % 128, 0);
    void *all[] = {a, b, c, d, e, f, g};
    for (size_t i = 0; i < 7; i++)
        T(free)(all[i]);
    ASSERT_EQ(traced(), base);
    lg_stop();
}

LGT_TEST(realloc_moves_the_trace)
{
    ASSERT_EQ(lg_start(8), 0);
    size_t base = traced(), size;
    char *p = T(realloc)(NULL, 16);
    ASSERT_EQ(traced() - base, 16);
    memset(p, 'x', 16);
    uintptr_t old = (uintptr_t)p;
    char *q = T(realloc)(p, 100000);
    ASSERT_EQ(q[15], 'x');
    ASSERT_EQ(traced() - base, 100000);
    ASSERT_EQ(size_of(q, &size), 0);
    ASSERT_EQ(size, 100000);
    if ((uintptr_t)q != old)
        ASSERT_NE(size_of((void *)old, &size), 0);
    q = T(reallocarray)(q, 10, 3);
    ASSERT_EQ(traced() - base, 30);
    errno = 0;
    ASSERT(T(reallocarray)(q, half, 3) == NULL);
    ASSERT_EQ(errno, ENOMEM);
    ASSERT_EQ(traced() - base, 30); /* failed: old block still traced */
    ASSERT(T(realloc)(q, huge) == NULL);
    ASSERT_EQ(traced() - base, 30);
    T(free)(q);
    ASSERT_EQ(traced(), base);
    lg_stop();
}

LGT_TEST(blocks_from_before_tracing_pass_through_untouched)
{
    char *old = T(malloc)(40);
    char *old2 = T(malloc)(50);
    ASSERT_EQ(lg_start(8), 0);
    size_t base = traced(), size;
    char *moved = T(realloc)(old2, 5000);
    ASSERT_NE(size_of(moved, &size), 0); /* still untraced */
    T(free)(old);
    T(free)(moved);
    ASSERT_EQ(traced(), base);
    lg_stop();
}

LGT_TEST(errno_is_preserved_and_failures_are_not_traced)
{
    ASSERT_EQ(lg_start(8), 0);
    size_t base = traced();
    errno = 1234;
    void *p = T(malloc)(24);
    ASSERT_EQ(errno, 1234);
    T(free)(p);
    ASSERT_EQ(errno, 1234);
    errno = 0;
    ASSERT(T(malloc)(huge) == NULL);
    ASSERT_EQ(errno, ENOMEM);
    ASSERT(T(calloc)(half, 4) == NULL);
    ASSERT_EQ(traced(), base);
    T(free)(NULL);
    lg_stop();
}

LGT_TEST(stop_forgets_and_clear_resets_counters)
{
    ASSERT_EQ(lg_start(4), 0);
    void *p = T(malloc)(100);
    size_t cur, peak;
    lg_get_traced_memory(&cur, &peak);
    ASSERT_GE(cur, 100);
    ASSERT_GE(peak, cur);
    T(free)(p);
    lg_get_traced_memory(&cur, &peak);
    ASSERT_GE(peak, 100);
    lg_reset_peak();
    lg_get_traced_memory(&cur, &peak);
    ASSERT_EQ(peak, cur);
    ASSERT_GT(lg_get_tracer_memory(), 0);
    lg_stop();
    ASSERT_EQ(lg_is_tracing(), 0);
    lg_get_traced_memory(&cur, &peak);
    ASSERT_EQ(cur, 0);
    ASSERT_EQ(lg__table_count(), 0);
}

/* 4 threads, a million mixed operations each; at the end traced memory must
 * equal exactly what the threads still hold. */
#define THREADS 4
#define OPS     1000000
#define SLOTS   512

static pthread_barrier_t go;

struct worker {
    void *slot[SLOTS];
    size_t size[SLOTS];
    unsigned seed;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    pthread_barrier_wait(&go);
    for (int i = 0; i < OPS; i++) {
        unsigned r = rand_r(&w->seed);
        unsigned k = r % SLOTS;
        size_t n = 1 + (r >> 9) % 300;
        switch ((r >> 20) % 4) {
        case 0:
            T(free)(w->slot[k]);
            w->slot[k] = T(malloc)(n), w->size[k] = n;
            break;
        case 1:
            T(free)(w->slot[k]);
            w->slot[k] = T(calloc)(1, n), w->size[k] = n;
            break;
        case 2: {
            void *p = T(realloc)(w->slot[k], n);
            if (p)
                w->slot[k] = p, w->size[k] = n;
            break;
        }
        default:
            T(free)(w->slot[k]);
            w->slot[k] = NULL, w->size[k] = 0;
        }
    }
    return NULL;
}

LGT_TEST(threads_stress_counts_exactly)
{
    ASSERT_EQ(lg_start(16), 0);
    static struct worker w[THREADS];
    pthread_t t[THREADS];
    /* Creating a thread allocates its TLS vector, kept with the cached
     * stack after the join: count from when all threads exist. */
    pthread_barrier_init(&go, NULL, THREADS + 1);
    for (int i = 0; i < THREADS; i++) {
        w[i].seed = (unsigned)i * 7919u + 1;
        ASSERT_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    size_t base = traced();
    pthread_barrier_wait(&go);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
    size_t held = 0;
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < SLOTS; k++)
            held += w[i].slot[k] ? w[i].size[k] : 0;
    ASSERT_EQ(traced() - base, held);
    ASSERT_EQ(lg_get_lost_traces(), 0);
    for (int i = 0; i < THREADS; i++)
        for (int k = 0; k < SLOTS; k++)
            T(free)(w[i].slot[k]);
    ASSERT_EQ(traced(), base);
    lg_stop();
}

/* A thread allocates in a loop while the main thread forks: the child must
 * not deadlock and keeps tracing consistently. */
static atomic_int stop_spinner;

static void *spinner(void *arg)
{
    LG_UNUSED(arg);
    while (!atomic_load(&stop_spinner)) {
        T(free)(T(malloc)(32));
        sched_yield(); /* valgrind runs one thread at a time */
    }
    return NULL;
}

LGT_TEST(fork_child_keeps_tracing)
{
    ASSERT_EQ(lg_start(16), 0);
    pthread_t t;
    atomic_store(&stop_spinner, 0);
    ASSERT_EQ(pthread_create(&t, NULL, spinner, NULL), 0);
    void *kept = T(malloc)(77);
    int forks = getenv("LGT_UNDER_VALGRIND") ? 3 : 20; /* slow there */
    fflush(stdout); /* a child leaving under valgrind flushes its copy */
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            size_t before = traced();
            void *p = T(malloc)(1000);
            int ok = traced() == before + 1000;
            T(free)(p);
            ok = ok && traced() == before;
            size_t size;
            ok = ok && size_of(kept, &size) == 0 && size == 77;
            _exit(ok ? 0 : 1);
        }
        int status;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT(WIFEXITED(status));
        ASSERT_EQ(WEXITSTATUS(status), 0);
    }
    atomic_store(&stop_spinner, 1);
    pthread_join(t, NULL);
    T(free)(kept);
    lg_stop();
}

LGT_TEST(track_and_untrack_user_domains)
{
    ASSERT_EQ(lg_track(7, 0x1000, 10), LG_ENOTTRACING);
    ASSERT_EQ(lg_start(4), 0);
    size_t base = traced();
    ASSERT_EQ(lg_track(7, 0x1000, 10), 0);
    ASSERT_EQ(lg_track(8, 0x1000, 20), 0); /* same address, other domain */
    ASSERT_EQ(lg_track(7, 0x1000, 15), 0); /* replaces */
    ASSERT_EQ(traced() - base, 35);
    ASSERT_EQ(lg_track(7, UINTPTR_MAX, 1), LG_EINVAL);
    ASSERT_EQ(lg_track(9, 0, 5), 0); /* address 0 (a file descriptor) is fine */
    uintptr_t frames[8];
    ASSERT_GT(lg_get_traceback(7, 0x1000, frames, 8), 0);
    ASSERT_EQ(lg_get_traceback(7, 0x2000, frames, 8), LG_ENOTFOUND);
    ASSERT_EQ(lg_untrack(7, 0x1000), 0);
    ASSERT_EQ(lg_untrack(7, 0x1000), LG_ENOTFOUND);
    ASSERT_EQ(lg_untrack(8, 0x1000), 0);
    ASSERT_EQ(lg_untrack(9, 0), 0);
    ASSERT_EQ(traced(), base);
    lg_stop();
}

/* Fault injection: fail the Nth internal allocation for every N until an
 * allocation sequence succeeds; the program's blocks are always intact and
 * lost traces are counted. */
LGT_TEST(out_of_memory_in_the_tracer_loses_traces_not_blocks)
{
    bool clean_run = false;
    for (long n = 1; n < 200 && !clean_run; n++) {
        ASSERT_EQ(lg_start(4), 0);
        uint64_t lost = lg_get_lost_traces();
        atomic_store(&lg__fault_countdown, n);
        char *p[64];
        for (int i = 0; i < 64; i++) {
            p[i] = T(malloc)(8 + (size_t)i);
            ASSERT(p[i] != NULL);
            memset(p[i], i, 8 + (size_t)i);
        }
        clean_run = atomic_load(&lg__fault_countdown) > 0;
        atomic_store(&lg__fault_countdown, 0);
        size_t cur;
        lg_get_traced_memory(&cur, NULL);
        if (!clean_run) {
            ASSERT_GT(lg_get_lost_traces(), lost);
        }
        for (int i = 0; i < 64; i++) {
            ASSERT_EQ(p[i][7], i);
            T(free)(p[i]);
        }
        lg_stop();
    }
    ASSERT(clean_run);
}

LGT_MAIN()
