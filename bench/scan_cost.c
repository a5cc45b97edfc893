/*
 * scan_cost — the reachability scan against the size of the heap, beside
 * LeakSanitizer's leak check on the same heap.
 *
 * For 10 k, 100 k and 1 M live 32-byte blocks (a global array points to
 * each; each block points to another one), times one scan, median of
 * repeated scans.  Built two ways from this one source: linked with the
 * runtime (lg_scan_take(); blocks traced through the hooks), and with
 * clang -fsanitize=address (scan_cost_lsan: __lsan_do_recoverable_leak_check,
 * which stops the world, scans the same roots and marks the same heap).
 * Prints "live_blocks wall_ms cpu_ms" per size (cpu: this thread's CPU time;
 * LeakSanitizer does its work in a separate task, so its cpu column is
 * not comparable).  LG_BENCH_SMALL=1 uses tiny sizes (make check's smoke
 * run).
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WITH_LSAN 1
#endif
#endif

#ifdef WITH_LSAN
#include <sanitizer/lsan_interface.h>
#else
#include <leakgate/runtime.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void **g_heap; /* the root: every block is reachable */

static double ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One scan or leak check; returns 0 when every block was reachable. */
static int check_once(size_t n)
{
#ifdef WITH_LSAN
    (void)n;
    return __lsan_do_recoverable_leak_check();
#else
    lg_scan_t *s;
    if (lg_scan_take(&s) != 0)
        return -1;
    const lg_scan_stats_t *st = lg_scan_stats(s);
    int rc = st->blocks[LG_KIND_REACHABLE] < n ? 1 : 0;
    lg_scan_free(s);
    return rc;
#endif
}

int main(void)
{
    const char *small = getenv("LG_BENCH_SMALL");
    size_t sizes[] = {10000, 100000, 1000000};
    int runs = 7;
    if (small && *small == '1') {
        sizes[0] = 100, sizes[1] = 1000, sizes[2] = 2000;
        runs = 3;
    }
#ifndef WITH_LSAN
    if (lg_start(16) != 0)
        return 1;
#endif
    printf("%-12s %-12s %s\n", "live_blocks", "wall_ms", "cpu_ms");
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        g_heap = malloc(n * sizeof *g_heap);
        for (size_t i = 0; i < n; i++)
            g_heap[i] = calloc(1, 32);
        unsigned seed = 1;
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            *(void **)g_heap[i] = g_heap[(seed >> 8) % n];
        }
        double wall[16], cpu[16];
        for (int r = 0; r < runs; r++) {
            double w0 = ms(CLOCK_MONOTONIC), c0 = ms(CLOCK_THREAD_CPUTIME_ID);
            int rc = check_once(n);
            cpu[r] = ms(CLOCK_THREAD_CPUTIME_ID) - c0;
            wall[r] = ms(CLOCK_MONOTONIC) - w0;
            if (rc != 0) {
                fprintf(stderr, "scan_cost: the check found lost blocks or failed (%d)\n", rc);
                return 1;
            }
        }
        qsort(wall, (size_t)runs, sizeof wall[0], cmp_double);
        qsort(cpu, (size_t)runs, sizeof cpu[0], cmp_double);
        printf("%-12zu %-12.2f %.2f\n", n, wall[runs / 2], cpu[runs / 2]);
        for (size_t i = 0; i < n; i++)
            free(g_heap[i]);
        free(g_heap);
        g_heap = NULL;
    }
    return 0;
}
