/*
 * prog_leaky.c — a program for `leakgate run` to judge.
 *
 *   prog_leaky leak  [STATUS]   leaks one block from each site below
 *   prog_leaky clean [STATUS]   allocates the same and frees everything
 *   prog_leaky _exit [STATUS]   leaks, then leaves by _exit (no exit snapshot)
 *   prog_leaky kill             leaks, then dies of SIGKILL
 *
 * Each site has its own size, and the allocating line carries a marker
 * comment "SITE:<name>" that test_run.sh finds with grep -n.  Every mode
 * also uses the C library's kept-until-exit state (stdio, locale, time
 * zone), which leakgate must not report.  Exits STATUS (default 0).
 */
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static void *kept[32];
static int nkept;

static void keep(void *p)
{
    kept[nkept++] = p;
}

NOINLINE static void leak_malloc(void)
{
    keep(malloc(1001)); /* SITE:malloc */
}

NOINLINE static void leak_calloc(void)
{
    keep(calloc(3, 337)); /* SITE:calloc */
}

NOINLINE static void leak_realloc(void)
{
    char *p = malloc(10);
    keep(realloc(p, 1021)); /* SITE:realloc */
}

NOINLINE static void leak_strdup(void)
{
    char s[1031];
    memset(s, 'x', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    keep(strdup(s)); /* SITE:strdup */
}

NOINLINE static void leak_posix_memalign(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, 1041) == 0) /* SITE:posix_memalign */
        keep(p);
}

NOINLINE static void leak_aligned_alloc(void)
{
    keep(aligned_alloc(64, 1088)); /* SITE:aligned_alloc */
}

/* Six calls deep: deep1 -> ... -> deep6 allocates. */
NOINLINE static void *deep6(void)
{
    return malloc(1071); /* SITE:deep6 */
}
NOINLINE static void *deep5(void)
{
    return deep6(); /* SITE:deep5 */
}
NOINLINE static void *deep4(void)
{
    return deep5(); /* SITE:deep4 */
}
NOINLINE static void *deep3(void)
{
    return deep4(); /* SITE:deep3 */
}
NOINLINE static void *deep2(void)
{
    return deep3(); /* SITE:deep2 */
}
NOINLINE static void *deep1(void)
{
    return deep2(); /* SITE:deep1 */
}

/* Three threads leak one block each from the same line: one traceback. */
NOINLINE static void *thread_leak(void *arg)
{
    (void)arg;
    return malloc(1051); /* SITE:thread */
}

NOINLINE static void leak_in_threads(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, thread_leak, NULL);
    for (int i = 0; i < 3; i++) {
        void *p;
        pthread_join(t[i], &p);
        keep(p);
    }
}

/* Zeroes the stack below main's frame: the frames of the calls above held
 * the blocks' addresses, and the exit-time scan would still find such a
 * stale word (a block reachable, no longer lost). */
NOINLINE static void scrub_stack(void)
{
    volatile char junk[16384];
    memset((char *)junk, 0, sizeof junk);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "clean";
    int leak = strcmp(mode, "clean") != 0;
    int status = argc > 2 ? atoi(argv[2]) : 0;

    setlocale(LC_ALL, "");
    time_t now = time(NULL);
    struct tm *tm = localtime(&now);
    printf("prog_leaky: %s mode, year %d\n", mode, tm ? tm->tm_year + 1900 : 0);

    leak_malloc();
    leak_calloc();
    leak_realloc();
    leak_strdup();
    leak_posix_memalign();
    leak_aligned_alloc();
    keep(deep1());

    leak_in_threads();

    if (!leak) {
        for (int i = 0; i < nkept; i++)
            free(kept[i]);
    }
    /* Forget the pointers so that only leakgate knows about the blocks. */
    memset(kept, 0, sizeof kept);
    scrub_stack();
    fflush(stdout);
    if (strcmp(mode, "_exit") == 0)
        _exit(status);
    if (strcmp(mode, "kill") == 0)
        raise(SIGKILL);
    return status;
}
