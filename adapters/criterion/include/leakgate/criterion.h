/*
 * leakgate/criterion.h — per-test leak limits from inside a Criterion test.
 *
 * Every Test() is already a leak check when the suite runs under leakgate
 * (`leakgate run -- ./tests`, or linked with `pkg-config --libs
 * leakgate-criterion`).  These calls change the limits of the test that
 * calls them, for a test that keeps memory on purpose (a cache, a pool):
 *
 *   Test(cache, warms_up) {
 *       lg_cr_set_limits(4096, -1);   // up to 4 KiB may stay allocated
 *       ...
 *   }
 *   Test(registry, registers_for_good) {
 *       lg_cr_expect_leak();          // whatever stays allocated is fine
 *       ...
 *   }
 *
 * They do nothing when leakgate is not loaded, so a suite that uses them
 * builds and runs without leakgate, and needs no extra library.
 */
#ifndef LEAKGATE_CRITERION_H
#define LEAKGATE_CRITERION_H

#include <dlfcn.h>

/* The adapter's entry point (libleakgate-criterion), found at run time ((void *)0 is RTLD_DEFAULT:
 * every object loaded in the process). */
void lg_criterion_set_limits(long long max_size, long long max_count);
typedef void (*lg_cr_set_limits_fn)(long long max_size, long long max_count);

/* Sets the running test's limits: max_size in bytes, max_count in blocks;
 * a negative value means "no limit". */
static inline void lg_cr_set_limits(long long max_size, long long max_count)
{
    lg_cr_set_limits_fn fn;
    *(void **)&fn = dlsym((void *)0, "lg_criterion_set_limits");
    if (fn)
        fn(max_size, max_count);
}

/* The running test may leave anything allocated: it is not failed for it,
 * and the JSON report still records what it left. */
static inline void lg_cr_expect_leak(void)
{
    lg_cr_set_limits(-1, -1);
}

#endif /* LEAKGATE_CRITERION_H */
