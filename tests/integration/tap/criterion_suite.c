/*
 * criterion_suite.c — a Criterion suite for `leakgate tap -- ./suite
 * --tap`: one clean test, one that leaks (judged by the Criterion adapter,
 * so its TAP line is `not ok`).  Built by test_tap.sh with -lcriterion.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

Test(tap, clean)
{
    char *s = strdup("clean");
    cr_assert_str_eq(s, "clean");
    free(s);
}

Test(tap, leaks)
{
    void *p = malloc(40);
    cr_assert_not_null(p);
}
