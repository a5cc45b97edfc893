/*
 * prog_plain_tap.c — a TAP program built without leakgate, in the style of
 * the small C TAP libraries (plan / ok / done_testing over printf), for
 * `leakgate tap`.  One scenario per argument:
 *
 *   clean     plan first, three points, frees everything
 *   leak      plan first, keeps 64 B + 32 B until exit (SITE: lines)
 *   planlast  the plan after the points, and a leak
 *   fail      one point fails; exits 1
 *   noplan    no plan at all
 *   badnum    numbers out of sequence
 *   bailout   "Bail out!" after one point; exits 255
 *   yaml      TAP version 13 with a YAML block of its own
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int run, failed;

static void plan(int n)
{
    printf("1..%d\n", n);
}

static int ok(int pass, const char *fmt, ...)
{
    va_list ap;
    printf("%sok %d - ", pass ? "" : "not ", ++run);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        failed++;
        fprintf(stderr, "#   Failed test %d\n", run);
    }
    return pass;
}

static int done_testing(void)
{
    printf("1..%d\n", run);
    return failed ? 1 : 0;
}

static void *keep[2];

static void *remember(size_t n)
{
    return malloc(n); /* SITE:remember */
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "clean";
    char *t = strdup("scratch");
    free(t);
    if (strcmp(s, "clean") == 0) {
        plan(3);
        ok(1, "first");
        ok(t != NULL, "strdup");
        ok(1, "third");
    } else if (strcmp(s, "leak") == 0) {
        plan(2);
        keep[0] = remember(64);
        ok(keep[0] != NULL, "a buffer kept until exit");
        keep[1] = malloc(32); /* SITE:second */
        ok(keep[1] != NULL, "another");
    } else if (strcmp(s, "planlast") == 0) {
        ok(1, "first");
        keep[0] = remember(64);
        ok(keep[0] != NULL, "kept");
        return done_testing();
    } else if (strcmp(s, "fail") == 0) {
        plan(2);
        ok(1, "fine");
        ok(0, "broken");
        return 1;
    } else if (strcmp(s, "noplan") == 0) {
        ok(1, "first");
        ok(1, "second");
    } else if (strcmp(s, "badnum") == 0) {
        plan(3);
        printf("ok 1 - one\nok 3 - three\nok 4 - four\n");
    } else if (strcmp(s, "bailout") == 0) {
        plan(3);
        ok(1, "first");
        printf("Bail out! the database is gone\n");
        return 255;
    } else if (strcmp(s, "yaml") == 0) {
        printf("TAP version 13\n");
        plan(2);
        ok(1, "first");
        printf("not ok 2 - second # TODO not yet\n  ---\n  message: \"not yet\"\n  ...\n");
    }
    return 0;
}
