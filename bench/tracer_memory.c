/*
 * tracer_memory — the tracer's own memory per live traced block.
 *
 * Traces with 16 frames, then allocates N blocks at a depth of at least 16
 * frames and divides the growth of lg_get_tracer_memory() by N.  Two
 * shapes of heap:
 *   shared    every block from the same call site: one traceback for all
 *             (the common case: many objects from few places)
 *   distinct  every block with its own traceback: 2^15 blocks reached through
 *             15 levels of two call sites each (the worst case: the
 *             16 frames are the malloc call site and those 15 levels)
 * Prints one row per case: live_blocks tracebacks bytes_per_block.
 * LG_BENCH_SMALL=1 uses tiny sizes (the smoke run of make check); block
 * counts given as arguments measure those counts, shared, instead.
 */
#include "lg_internal.h"

#include <stdio.h>
#include <stdlib.h>

#define LEVELS 15

/* Which of two call sites leads to the allocation is picked, level by
 * level, by the bits of `path`: 2^LEVELS distinct tracebacks. */
__attribute__((noinline)) static void *branch(int level, unsigned path)
{
    void *p;
    if (level == 0)
        return malloc(32);
    /* Different code after each call keeps the compiler from merging
     * the two call sites into one. */
    if ((path >> (level - 1)) & 1) {
        p = branch(level - 1, path);
        __asm__ volatile("nop" ::: "memory");
    } else {
        p = branch(level - 1, path);
        __asm__ volatile("nop; nop" ::: "memory");
    }
    return p;
}

/* One call site, LEVELS frames deep. */
__attribute__((noinline)) static void *straight(int level)
{
    if (level == 0)
        return malloc(32);
    void *p = straight(level - 1);
    __asm__ volatile("" ::: "memory");
    return p;
}

static int measure(size_t n, bool distinct)
{
    void **heap = malloc(n * sizeof *heap);
    if (!heap)
        return 1;
    lg_clear_traces();
    size_t before = lg_get_tracer_memory();
    for (size_t i = 0; i < n; i++)
        heap[i] = distinct ? branch(LEVELS, (unsigned)i) : straight(LEVELS);
    size_t after = lg_get_tracer_memory();
    size_t tracebacks = distinct ? (n < (1u << LEVELS) ? n : 1u << LEVELS) : 1;
    printf("%-12zu %-11zu %.1f\n", n, tracebacks, (double)(after - before) / (double)n);
    for (size_t i = 0; i < n; i++)
        free(heap[i]);
    free(heap);
    if (lg_get_lost_traces() != 0) {
        fprintf(stderr, "tracer_memory: traces were lost\n");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *small = getenv("LG_BENCH_SMALL");
    int tiny = small && *small == '1';
    size_t sizes[] = {10000, 100000, 1000000};
    if (tiny)
        sizes[0] = 100, sizes[1] = 1000, sizes[2] = 2000;
    if (lg_start(16) != 0)
        return 1;
    printf("%-12s %-11s %s\n", "live_blocks", "tracebacks", "bytes_per_block");
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            if (measure(strtoul(argv[i], NULL, 10), false) != 0)
                return 1;
        return 0;
    }
    for (int s = 0; s < 3; s++)
        if (measure(sizes[s], false) != 0)
            return 1;
    if (measure(tiny ? 256 : (size_t)1 << LEVELS, true) != 0)
        return 1;
    return 0;
}
