/*
 * suite.c — a Criterion suite for test_criterion.sh: one case per behaviour
 * of the adapter.  Tests named leak_* leave memory allocated on purpose;
 * the line of each allocation carries a "SITE:<name>" marker.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/theories.h>
#include <leakgate/criterion.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *kept[8];

NOINLINE static void *make_node(size_t n)
{
    return calloc(1, n); /* SITE:deep */
}

NOINLINE static void *make_list(void)
{
    return make_node(208);
}

Test(plain, clean)
{
    char *p = malloc(64);
    cr_assert_not_null(p);
    free(p);
}

Test(plain, leak_malloc)
{
    kept[0] = malloc(123); /* SITE:malloc */
}

Test(plain, leak_strdup)
{
    kept[1] = strdup("a string that is never freed"); /* SITE:strdup */
}

Test(plain, leak_deep)
{
    kept[2] = make_list();
}

Test(plain, libc_first_use)
{
    printf("first printf of this process\n");
    time_t now = time(NULL);
    cr_assert_not_null(localtime(&now));
    setlocale(LC_ALL, "");
}

Test(plain, own_failure_and_leak)
{
    kept[3] = malloc(55); /* SITE:own */
    cr_assert_eq(1, 2, "the test's own failure");
}

Test(plain, crashes)
{
    kept[4] = malloc(11);
    raise(SIGSEGV);
}

Test(plain, times_out, .timeout = 1)
{
    kept[5] = malloc(13);
    sleep(5);
}

Test(plain, raises_its_limit)
{
    lg_cr_set_limits(4096, -1);
    kept[6] = malloc(1000);
}

Test(plain, expects_a_leak)
{
    lg_cr_expect_leak();
    kept[7] = malloc(5000);
}

Test(plain, limited_by_rule)
{
    kept[0] = malloc(300);
}

static char *scratch;

static void balanced_init(void)
{
    scratch = malloc(777);
}

static void balanced_fini(void)
{
    free(scratch);
}

static void forgetful_fini(void) {}

Test(fixture, balanced, .init = balanced_init, .fini = balanced_fini)
{
    cr_assert_not_null(scratch);
}

Test(fixture, leak_in_init, .init = balanced_init, .fini = forgetful_fini)
{
    cr_assert_not_null(scratch);
}

ParameterizedTestParameters(param, sizes)
{
    static size_t sizes[] = {16, 32};
    return cr_make_param_array(size_t, sizes, 2);
}

ParameterizedTest(size_t *n, param, sizes)
{
    char *p = malloc(*n); /* SITE:param */
    cr_assert_not_null(p);
    if (*n == 32)
        kept[1] = p;
    else
        free(p);
}

TheoryDataPoints(theory, halves) = {DataPoints(int, 2, 4, 8)};

Theory((int n), theory, halves)
{
    int *p = malloc(sizeof *p * (size_t)n);
    p[0] = n / 2;
    cr_assert_eq(p[0] * 2, n);
    free(p);
}
