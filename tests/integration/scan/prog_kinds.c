/*
 * prog_kinds — a program whose heap at exit holds every leak kind: a lost
 * buffer (definite), a lost list (its head definite, its nodes indirect),
 * a block reached only through a pointer into its middle (possible), a
 * global cache and a global array of blocks (reachable), and what glibc
 * keeps after getpwuid() and getaddrinfo().  Built without leakgate, with
 * weak references to the scan: under LD_PRELOAD=libleakgate.so the loader
 * binds them and, at exit, the program prints "KIND BYTES BLOCKS" per
 * kind; elsewhere (under valgrind) they stay null and it prints nothing of
 * its own, allocating exactly what it allocates under leakgate.
 */
#include <netdb.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct node {
    struct node *next;
    char pad[40];
};

void *g_cache;
char *g_interior;
void **g_array;

#define NOINLINE __attribute__((noinline))

static NOINLINE void lose_buffer(void)
{
    char *p = malloc(100);
    memset(p, 1, 100);
}

static NOINLINE void lose_list(void)
{
    struct node *head = NULL;
    for (int i = 0; i < 3; i++) {
        struct node *n = calloc(1, sizeof *n);
        n->next = head;
        head = n;
    }
}

static NOINLINE void keep_interior(void)
{
    g_interior = (char *)calloc(1, 64) + 24;
}

static NOINLINE void keep_globals(void)
{
    g_cache = calloc(1, 520);
    g_array = calloc(20000, sizeof *g_array);
    for (int i = 0; i < 20000; i++)
        g_array[i] = malloc(16);
}

static NOINLINE void use_libc(void)
{
    if (!getpwuid(0))
        fprintf(stderr, "prog_kinds: getpwuid(0) failed\n");
    struct addrinfo *ai = NULL, hints = {.ai_socktype = SOCK_STREAM};
    if (getaddrinfo("localhost", "80", &hints, &ai) == 0)
        freeaddrinfo(ai);
}

/* The leading fields of lg_scan_stats_t. */
struct totals {
    uint64_t blocks[4], bytes[4];
};
int lg_scan_take(void **out) __attribute__((weak));
const struct totals *lg_scan_stats(void *scan) __attribute__((weak));

/* The scan at exit, after main's frame is gone, as memcheck's. */
static void report(void)
{
    if (!lg_scan_take || !lg_scan_stats)
        return;
    void *s;
    int rc = lg_scan_take(&s);
    if (rc != 0) {
        printf("scan failed %d\n", rc);
        return;
    }
    static const char *const names[4] = {"definite", "indirect", "possible", "reachable"};
    for (int k = 0; k < 4; k++)
        printf("%s %llu %llu\n", names[k], (unsigned long long)lg_scan_stats(s)->bytes[k],
               (unsigned long long)lg_scan_stats(s)->blocks[k]);
    fflush(stdout);
}

int main(void)
{
    atexit(report);
    lose_buffer();
    lose_list();
    keep_interior();
    keep_globals();
    use_libc();
    return 0;
}
