/* cmocka_suite.c — a suite written with cmocka, a common C test library
 * that prints TAP: one clean test, and one that keeps a buffer (48 B) it
 * never frees.  Run by test_tap.sh under `prove --exec 'leakgate tap --'`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *kept;

static void frees_what_it_takes(void **state)
{
    (void)state;
    char *p = malloc(32);
    assert_non_null(p);
    strcpy(p, "scratch");
    assert_string_equal(p, "scratch");
    free(p);
}

static void keeps_a_buffer(void **state)
{
    (void)state;
    kept = malloc(48);
    assert_non_null(kept);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frees_what_it_takes),
        cmocka_unit_test(keeps_a_buffer),
    };
    cmocka_set_message_output(CM_OUTPUT_TAP);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
