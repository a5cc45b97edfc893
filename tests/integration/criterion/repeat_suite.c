/* repeat_suite.c — Criterion tests for repeats (LEAKGATE_REPEAT=N): tests
 * whose outcome changes when run again (an assertion, an expectation, a
 * skip), a test that fails its first run, fixtures that are run again with
 * the body, a cache filled on the second call, a per-test limit, and a
 * parameterized test whose second instance grows a list.  Each test
 * counts its runs, which test_repeat.sh reads on standard error
 * ("run T K").  Built by test_repeat.sh. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <leakgate/criterion.h>
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *next;
    int value;
};

static struct node *g_list;
static int g_runs;

static void counted(const char *test)
{
    fprintf(stderr, "run %s %d\n", test, ++g_runs);
}

static void push(int value)
{
    struct node *n = malloc(sizeof *n);
    n->value = value;
    n->next = g_list;
    g_list = n;
}

Test(repeat, second_run_asserts)
{
    counted("second_run_asserts");
    cr_assert(g_runs == 1, "only the first run passes");
    push(1); /* a leak on every run would fail it: it is not judged */
}

Test(repeat, second_run_expects)
{
    counted("second_run_expects");
    cr_expect(g_runs == 1, "only the first run passes");
}

Test(repeat, second_run_skips)
{
    counted("second_run_skips");
    if (g_runs > 1)
        cr_skip_test("skipped on run %d", g_runs);
}

Test(repeat, fails_first)
{
    counted("fails_first");
    push(2);
    cr_expect(0, "fails on its first run");
}

/* The fixtures run again with the body: what .init allocates and .fini
 * frees is no leak; what .init adds to a list each time is. */
static char *g_buffer;

static void buffer_new(void)
{
    g_buffer = malloc(128);
}

static void buffer_free(void)
{
    free(g_buffer);
    g_buffer = NULL;
}

static void list_grow(void)
{
    push(3);
}

Test(repeat, fixtures_clean, .init = buffer_new, .fini = buffer_free)
{
    counted("fixtures_clean");
    cr_assert(g_buffer != NULL);
}

Test(repeat, fixture_grows, .init = list_grow)
{
    counted("fixture_grows");
    cr_assert(g_list != NULL);
}

/* A cache filled by the second call only: the first measured run leaves
 * it, the second does not: not every run leaks. */
Test(repeat, late_cache)
{
    static char *cache;
    counted("late_cache");
    if (g_runs == 2)
        cache = malloc(48);
    cr_assert(g_runs < 2 || cache != NULL);
}

Test(repeat, within_limit)
{
    counted("within_limit");
    lg_cr_set_limits(100, -1);
    push(4); /* 16 B a run, within its 100 B */
}

ParameterizedTestParameters(repeat, param)
{
    static int values[] = {10, 20};
    return cr_make_param_array(int, values, 2);
}

ParameterizedTest(int *v, repeat, param)
{
    counted("param");
    if (*v == 20)
        push(*v);
}
