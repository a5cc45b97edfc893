/*
 * mark_diff — the cost of a per-test verdict against the size of the heap.
 *
 * For 10 k, 100 k and 1 M live traced blocks, begins a mark, makes 100
 * allocations, and times lg_mark_diff(), and lg_mark_begin() + lg_mark_diff()
 * + lg_mark_free() (a test's whole verdict cost), medians of repeated runs.
 * Blocks are real malloc() blocks traced through the hooks.  Prints one line
 * per heap size; LG_BENCH_SMALL=1 uses tiny sizes (the smoke run of make
 * check).
 */
#include "lg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

__attribute__((noinline)) static void *test_body_alloc(size_t n)
{
    return malloc(n);
}

int main(void)
{
    const char *small = getenv("LG_BENCH_SMALL");
    size_t sizes[] = {10000, 100000, 1000000};
    int runs = 21;
    if (small && *small == '1') {
        sizes[0] = 100, sizes[1] = 1000, sizes[2] = 2000;
        runs = 3;
    }
    if (lg_start(16) != 0)
        return 1;
    printf("%-12s %-10s %-20s %s\n", "live_blocks", "new", "mark_diff_median_ms",
           "verdict_median_ms");
    for (size_t s = 0; s < 3; s++) {
        void **heap = malloc(sizes[s] * sizeof *heap);
        for (size_t i = 0; i < sizes[s]; i++)
            heap[i] = malloc(32);
        double t[64], whole[64];
        for (int r = 0; r < runs; r++) {
            lg_mark_t *m;
            void *fresh[100];
            double b0 = now_us();
            lg_mark_begin(&m);
            double b1 = now_us();
            for (int i = 0; i < 100; i++)
                fresh[i] = test_body_alloc(24);
            lg_stats_t *st;
            double t0 = now_us();
            int rc = lg_mark_diff(m, &st, NULL);
            t[r] = (now_us() - t0) / 1e3;
            if (rc != 0 || lg_stats_count(st) != 1) {
                fprintf(stderr, "mark_diff: unexpected result %d\n", rc);
                return 1;
            }
            lg_stats_free(st);
            double f0 = now_us();
            lg_mark_free(m);
            whole[r] = (b1 - b0 + now_us() - f0) / 1e3 + t[r];
            for (int i = 0; i < 100; i++)
                free(fresh[i]);
        }
        qsort(t, (size_t)runs, sizeof t[0], cmp_double);
        qsort(whole, (size_t)runs, sizeof whole[0], cmp_double);
        printf("%-12zu %-10d %-20.4f %.4f\n", sizes[s], 100, t[runs / 2], whole[runs / 2]);
        for (size_t i = 0; i < sizes[s]; i++)
            free(heap[i]);
        free(heap);
    }
    return 0;
}
