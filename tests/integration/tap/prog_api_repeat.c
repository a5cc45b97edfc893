/*
 * prog_api_repeat.c — a TAP program (leakgate/tap.h) for repeats
 * (LEAKGATE_REPEAT=N): a lazy global, a list that grows on every call, a
 * buffer lost on every call, a case that fails only when run again, one
 * that fails its first run, and a clean one.  test_repeat.sh runs it with
 * and without LEAKGATE_REPEAT.  Each case counts its runs on standard
 * error ("run NAME K").
 */
#include <leakgate/tap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    struct node *next;
    char name[24];
};

static char *g_registry;
static struct node *g_list;

static void counted(const char *name, int *runs)
{
    fprintf(stderr, "run %s %d\n", name, ++*runs);
}

static void lazy_global(void *arg)
{
    static int runs;
    counted("lazy_global", &runs);
    if (!g_registry)
        g_registry = calloc(1, 520);
    lg_tap_ok(g_registry != NULL, "registry");
}

static void growing_list(void *arg)
{
    static int runs;
    counted("growing_list", &runs);
    struct node *n = calloc(1, sizeof *n);
    strcpy(n->name, "entry");
    n->next = g_list;
    g_list = n;
    lg_tap_ok(g_list != NULL, "appended");
}

static void lost_buffer(void *arg)
{
    static int runs;
    counted("lost_buffer", &runs);
    char *volatile p = malloc(64);
    memset(p, 0, 64);
    p = NULL;
    lg_tap_ok(1, "lost");
}

static void second_run_fails(void *arg)
{
    static int runs;
    counted("second_run_fails", &runs);
    lg_tap_ok(runs == 1, "first run only");
    lg_tap_diag("a diagnostic of run %d", runs);
}

static void fails_first(void *arg)
{
    static int runs;
    counted("fails_first", &runs);
    lg_tap_ok(0, "fails");
}

static void clean(void *arg)
{
    static int runs;
    counted("clean", &runs);
    char *s = strdup("clean");
    lg_tap_ok(s != NULL, "strdup");
    free(s);
}

int main(void)
{
    lg_tap_plan(6);
    lg_tap_case("lazy global", lazy_global, NULL);
    lg_tap_case("growing list", growing_list, NULL);
    lg_tap_case("lost buffer", lost_buffer, NULL);
    lg_tap_case("second run fails", second_run_fails, NULL);
    lg_tap_case("fails first", fails_first, NULL);
    lg_tap_case("clean", clean, NULL);
    return lg_tap_done_testing();
}
