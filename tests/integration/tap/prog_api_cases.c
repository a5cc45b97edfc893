/*
 * prog_api_cases.c — a TAP program written with leakgate/tap.h, one
 * scenario per argument: clean, leak, fail, skip, todo, noplan.  The
 * golden files hold what each prints; test_tap.sh runs them with prove.
 * Lines marked SITE: are where the leaking scenarios allocate.
 */
#include <leakgate/tap.h>
#include <stdlib.h>
#include <string.h>

static void *keep;

static char *make_buffer(size_t n)
{
    return malloc(n); /* SITE:buffer */
}

static void balanced(void *arg)
{
    char *s = strdup("balanced");
    lg_tap_ok(s != NULL, "strdup");
    lg_tap_ok(strcmp(s, "balanced") == 0, "copied");
    free(s);
}

static void keeps_two_buffers(void *arg)
{
    char *a = make_buffer(64);
    lg_tap_ok(a != NULL, "first buffer");
    char *b = malloc(32); /* SITE:second */
    lg_tap_ok(b != NULL, "second buffer");
    *(char **)a = b;
}

static void wrong_answer(void *arg)
{
    lg_tap_ok(1 + 1 == 2, "one plus one");
    lg_tap_ok(6 * 7 == 41, "six times seven is 41");
}

static void caches_on_purpose(void *arg)
{
    lg_tap_set_limits(4096, -1);
    keep = malloc(100);
    lg_tap_ok(keep != NULL, "cache warmed");
}

static void leaks_known(void *arg)
{
    char *lost = malloc(48); /* SITE:todo */
    lg_tap_ok(lost != NULL, "allocated");
}

int main(int argc, char **argv)
{
    const char *s = argc > 1 ? argv[1] : "clean";
    if (strcmp(s, "clean") == 0) {
        lg_tap_plan(3);
        lg_tap_ok(1, "outside any case");
        lg_tap_case("balanced", balanced, NULL);
        lg_tap_case("caches on purpose", caches_on_purpose, NULL);
        free(keep);
    } else if (strcmp(s, "leak") == 0) {
        lg_tap_plan(2);
        lg_tap_case("balanced", balanced, NULL);
        lg_tap_case("keeps two buffers", keeps_two_buffers, NULL);
    } else if (strcmp(s, "fail") == 0) {
        lg_tap_plan(2);
        lg_tap_case("wrong answer", wrong_answer, NULL);
        lg_tap_case("balanced", balanced, NULL);
    } else if (strcmp(s, "skip") == 0) {
        lg_tap_plan(3);
        lg_tap_case("balanced", balanced, NULL);
        lg_tap_skip(2, "no network here");
    } else if (strcmp(s, "skipall") == 0) {
        lg_tap_skip_all("nothing to test on this platform");
    } else if (strcmp(s, "todo") == 0) {
        lg_tap_plan(3);
        lg_tap_todo_start("parser rewrite");
        lg_tap_case("wrong answer", wrong_answer, NULL);
        lg_tap_case("leaks known", leaks_known, NULL);
        lg_tap_todo_end();
        lg_tap_case("balanced", balanced, NULL);
    } else if (strcmp(s, "noplan") == 0) {
        lg_tap_case("balanced", balanced, NULL);
        lg_tap_note("the plan comes last");
        lg_tap_case("balanced again", balanced, NULL);
    }
    return lg_tap_done_testing();
}
