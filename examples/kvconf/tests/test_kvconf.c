/*
 * test_kvconf.c — the kvconf suite.  Three tests leak on purpose (marked
 * DEMO LEAK) to show what leakgate reports; the others are clean.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvconf.h"

Test(kvconf, parses_lines)
{
    kvconf_t *kv = kv_new();
    cr_assert_eq(kv_parse(kv, "a = 1\n# comment\n  b=two  \n"), 2);
    cr_assert_str_eq(kv_get(kv, "a"), "1");
    cr_assert_str_eq(kv_get(kv, "b"), "two");
    kv_free(kv);
}

Test(kvconf, rejects_malformed_lines)
{
    kvconf_t *kv = kv_new();
    cr_assert_eq(kv_parse(kv, "just words\n"), -1);
    kv_free(kv);
}

Test(kvconf, sorted_keys)
{
    kvconf_t *kv = kv_new();
    kv_parse(kv, "zeta=1\nalpha=2\nmu=3\n");
    const char **keys = kv_keys(kv);
    cr_assert_str_eq(keys[0], "alpha");
    cr_assert_str_eq(keys[2], "zeta");
    free(keys);
    kv_free(kv);
}

Test(kvconf, later_lines_replace_earlier_ones)
{
    kvconf_t *kv = kv_new();
    kv_parse(kv, "mode = fast\nmode = safe\n"); /* the library leaks here */
    cr_assert_str_eq(kv_get(kv, "mode"), "safe");
    cr_assert_eq(kv_count(kv), 1);
    kv_free(kv);
}

Test(kvconf, report_header)
{
    kvconf_t *kv = kv_new();
    kv_parse(kv, "name = demo\n");
    char *title = strdup(kv_get(kv, "name")); /* DEMO LEAK: never freed */
    cr_assert_str_eq(title, "demo");
    kv_free(kv);
}

Test(kvconf, prints_a_dated_summary)
{
    setlocale(LC_ALL, "");
    time_t now = time(NULL);
    struct tm *tm = localtime(&now);
    printf("kvconf summary for %d\n", tm->tm_year + 1900);
    cr_assert_not_null(tm);
}

static kvconf_t *shared;
static char *scratch;

static void open_conf(void)
{
    shared = kv_new();
    kv_parse(shared, "user = ada\nhome = /home/ada\n");
    scratch = malloc(256);
}

static void close_conf(void)
{
    kv_free(shared);
    free(scratch);
}

static void close_conf_forgetfully(void)
{
    kv_free(shared);
    scratch = NULL; /* DEMO LEAK: scratch is dropped, never freed */
}

Test(fixture, reads_the_fixture, .init = open_conf, .fini = close_conf)
{
    cr_assert_str_eq(kv_get(shared, "user"), "ada");
}

Test(fixture, counts_the_fixture, .init = open_conf, .fini = close_conf_forgetfully)
{
    cr_assert_eq(kv_count(shared), 2);
}

ParameterizedTestParameters(kvconf, numbers)
{
    static int widths[] = {0, 1, 4};
    return cr_make_param_array(int, widths, 3);
}

ParameterizedTest(int *width, kvconf, numbers)
{
    char text[32];
    snprintf(text, sizeof text, "k =%*s42", *width, "");
    kvconf_t *kv = kv_new();
    cr_assert_eq(kv_parse(kv, text), 1);
    cr_assert_str_eq(kv_get(kv, "k"), "42");
    kv_free(kv);
}
