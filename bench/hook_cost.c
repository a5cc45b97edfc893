/*
 * hook_cost — nanoseconds per malloc+free pair made 16 frames deep, with a
 * given number of live blocks, in one or more threads.
 *
 * A plain program that knows nothing of leakgate, so that the same binary
 * runs untraced, with libleakgate.so preloaded, under heaptrack and under
 * valgrind; bench/run.py runs it each way and compares the figures.  It is
 * built twice: with frame pointers (hook_cost) and without them
 * (hook_cost_nofp, for the libunwind-only figures).
 *
 *   usage: hook_cost [LIVE THREADS PAIRS [WINDOW]]
 *
 * The main thread first allocates LIVE blocks (they stay live: they fill the
 * tracer's table as a real heap would), then THREADS threads each descend
 * DEPTH frames through a recursive helper and time PAIRS malloc+free pairs
 * there.  Hot pairs (no WINDOW, or 0): each block is freed at once.  Cold
 * frees (WINDOW > 0): each thread first fills a FIFO of WINDOW blocks, then
 * every pair allocates a block into the FIFO and frees the one allocated
 * WINDOW pairs before, so that the free meets a trace written long ago.
 * One row per run: live_blocks threads pairs ns_per_pair cpu_ns_per_pair
 * window, where ns_per_pair is the mean over the threads of each thread's
 * elapsed (wall) time divided by its pairs and cpu_ns_per_pair the same
 * with each thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which other work
 * on the machine does not stretch.  Without arguments, runs a small table
 * (tiny sizes with LG_BENCH_SMALL=1: the smoke run of make check).
 *
 *   usage: hook_cost --module MODULE.so PAIRS
 *
 * times the same loop inside an object loaded with dlopen() after tracing
 * started (as every C extension of Python is).  The same source built with
 * -DHOOK_COST_MODULE -shared is that object.  Under leakgate, the row is
 * followed by how many of the module's tracebacks fell back to libunwind
 * (lg_get_unwind_fallbacks(), looked up at run time): 0 when the
 * frame-pointer walker knows the module.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEPTH 16
#define MAX_THREADS 64

struct job {
    size_t live, pairs, window;
    void **heap;
    pthread_barrier_t *start;
    double ns_per_pair, cpu_ns_per_pair;
};

/* Stores the block here so that the compiler keeps every malloc/free. */
static void *volatile sink;

static double now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fill_heap(struct job *j)
{
    for (size_t i = 0; i < j->live; i++)
        j->heap[i] = malloc(32);
}

static void time_pairs(struct job *j)
{
    void **fifo = NULL;
    if (j->window) {
        fifo = malloc(j->window * sizeof *fifo);
        for (size_t k = 0; fifo && k < j->window; k++)
            fifo[k] = malloc(16 + (k & 63));
    }
    pthread_barrier_wait(j->start);
    double t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    if (fifo) {
        for (size_t i = 0, k = 0; i < j->pairs; i++) {
            void *old = fifo[k];
            fifo[k] = malloc(16 + (i & 63));
            free(old);
            k = k + 1 == j->window ? 0 : k + 1;
        }
    } else {
        for (size_t i = 0; i < j->pairs; i++) {
            void *p = malloc(16 + (i & 63));
            sink = p;
            free(p);
        }
    }
    j->cpu_ns_per_pair = (now_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)j->pairs;
    j->ns_per_pair = (now_ns(CLOCK_MONOTONIC) - t0) / (double)j->pairs;
    for (size_t k = 0; fifo && k < j->window; k++)
        free(fifo[k]);
    free(fifo);
}

/* Calls fn `depth` frames below the caller.  The empty asm after the call
 * keeps it from becoming a tail call, so every level is a real frame. */
__attribute__((noinline)) static void descend(int depth, void (*fn)(struct job *), struct job *j)
{
    if (depth == 0) {
        fn(j);
        return;
    }
    descend(depth - 1, fn, j);
    __asm__ volatile("" ::: "memory");
}

#ifdef HOOK_COST_MODULE
__attribute__((visibility("default"))) void hook_cost_module_run(struct job *j);
void hook_cost_module_run(struct job *j)
{
    descend(DEPTH, time_pairs, j);
}
#else
static void *thread_main(void *arg)
{
    descend(DEPTH, time_pairs, arg);
    return NULL;
}

static int run(size_t live, int threads, size_t pairs, size_t window)
{
    struct job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    pthread_barrier_t start;
    struct job fill = {.live = live, .heap = malloc((live ? live : 1) * sizeof(void *))};
    if (!fill.heap || pthread_barrier_init(&start, NULL, (unsigned)threads) != 0)
        return 1;
    descend(DEPTH, fill_heap, &fill);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){.pairs = pairs, .window = window, .start = &start};
        if (pthread_create(&tid[t], NULL, thread_main, &jobs[t]) != 0)
            return 1;
    }
    double sum = 0, cpu = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        sum += jobs[t].ns_per_pair;
        cpu += jobs[t].cpu_ns_per_pair;
    }
    printf("%-12zu %-8d %-10zu %-12.1f %-16.1f %zu\n", live, threads, pairs, sum / threads,
           cpu / threads, window);
    fflush(stdout);
    for (size_t i = 0; i < live; i++)
        free(fill.heap[i]);
    free(fill.heap);
    pthread_barrier_destroy(&start);
    return 0;
}

/* --module: the loop in an object loaded now, in this thread. */
static int run_module(const char *path, size_t pairs)
{
    uint64_t (*fallbacks)(void);
    *(void **)&fallbacks = dlsym(RTLD_DEFAULT, "lg_get_unwind_fallbacks");
    void *h = dlopen(path, RTLD_NOW);
    void (*fn)(struct job *) = NULL;
    if (h)
        *(void **)&fn = dlsym(h, "hook_cost_module_run");
    if (!fn) {
        fprintf(stderr, "hook_cost: %s: %s\n", path, dlerror());
        return 1;
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 1);
    struct job j = {.pairs = pairs, .start = &start};
    uint64_t before = fallbacks ? fallbacks() : 0;
    fn(&j);
    uint64_t after = fallbacks ? fallbacks() : 0;
    printf("%-12d %-8d %-10zu %-12.1f %-16.1f %d\n", 0, 1, pairs, j.ns_per_pair,
           j.cpu_ns_per_pair, 0);
    if (fallbacks)
        printf("# libunwind fallbacks in the module: %llu\n", (unsigned long long)(after - before));
    else
        printf("# not traced: no libunwind fallback count\n");
    pthread_barrier_destroy(&start);
    dlclose(h);
    return 0;
}

int main(int argc, char **argv)
{
    printf("%-12s %-8s %-10s %-12s %-16s %s\n", "live_blocks", "threads", "pairs", "ns_per_pair",
           "cpu_ns_per_pair", "window");
    if (argc == 4 && strcmp(argv[1], "--module") == 0) {
        long pairs = atol(argv[3]);
        if (pairs < 1) {
            fprintf(stderr, "usage: hook_cost --module MODULE.so PAIRS(>0)\n");
            return 2;
        }
        return run_module(argv[2], (size_t)pairs);
    }
    if (argc == 4 || argc == 5) {
        long live = atol(argv[1]), threads = atol(argv[2]), pairs = atol(argv[3]);
        long window = argc == 5 ? atol(argv[4]) : 0;
        if (live < 0 || threads < 1 || threads > MAX_THREADS || pairs < 1 || window < 0) {
            fprintf(stderr, "usage: hook_cost [LIVE THREADS(1-%d) PAIRS(>0) [WINDOW(>=0)]]\n",
                    MAX_THREADS);
            return 2;
        }
        return run((size_t)live, (int)threads, (size_t)pairs, (size_t)window);
    }
    if (argc != 1) {
        fprintf(stderr,
                "usage: hook_cost [LIVE THREADS PAIRS [WINDOW] | --module MODULE.so PAIRS]\n");
        return 2;
    }
    const char *small = getenv("LG_BENCH_SMALL");
    int tiny = small && *small == '1';
    size_t lives[] = {tiny ? 100 : 10000, tiny ? 1000 : 1000000};
    size_t pairs = tiny ? 1000 : 1000000;
    for (int l = 0; l < 2; l++)
        for (int threads = 1; threads <= 2; threads++)
            if (run(lives[l], threads, pairs, 0) != 0)
                return 1;
    return run(lives[1], 1, pairs, tiny ? 100 : 65536);
}
#endif /* HOOK_COST_MODULE */
