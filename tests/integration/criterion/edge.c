/* edge.c — Criterion tests that end in other ways than returning: exit()
 * after a leak, a crash, a timeout, a skip, a parameterized test whose
 * second instance leaks, and one whose instances pass, crash, time out and
 * skip.  With EDGE_TRACING_LOG=path, each worker that gets to exit appends
 * a line to that file: what lg_is_tracing() says then.  Built by
 * test_edge.sh. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* After its test, whether the worker still traces (looked up: the suite is
 * also built without leakgate). */
__attribute__((destructor)) static void log_tracing(void)
{
    const char *log = getenv("EDGE_TRACING_LOG");
    int (*is_tracing)(void);
    *(void **)&is_tracing = dlsym(RTLD_DEFAULT, "lg_is_tracing");
    FILE *f;
    if (!log || !is_tracing || !(f = fopen(log, "a")))
        return;
    fprintf(f, "%d\n", is_tracing());
    fclose(f);
}

Test(edge, exits)
{
    void *volatile p = malloc(99);
    (void)p;
    exit(0);
}

Test(edge, crashes)
{
    raise(SIGSEGV);
}

Test(edge, times_out, .timeout = 0.3)
{
    sleep(5);
}

Test(edge, skipped)
{
    void *volatile p = malloc(5);
    (void)p;
    cr_skip_test("not today");
}

ParameterizedTestParameters(edge, param)
{
    static int values[] = {10, 20, 30};
    return cr_make_param_array(int, values, 3);
}

ParameterizedTest(int *v, edge, param)
{
    if (*v == 20) {
        void *volatile p = malloc(22);
        (void)p;
    }
}

ParameterizedTestParameters(edge, param_ends)
{
    static int values[] = {0, 1, 2, 3};
    return cr_make_param_array(int, values, 4);
}

ParameterizedTest(int *v, edge, param_ends, .timeout = 0.3)
{
    if (*v == 1)
        raise(SIGSEGV);
    if (*v == 2)
        sleep(5);
    if (*v == 3)
        cr_skip_test("not this one");
}
