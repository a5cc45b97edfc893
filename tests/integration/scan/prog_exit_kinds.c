/*
 * prog_exit_kinds — what a program leaves at exit, one case per argument:
 *   pwd    getpwuid(0): glibc keeps its NSS state (reachable)
 *   addr   getaddrinfo("localhost"): the resolver's and NSS's state
 *   array  200,000 blocks of 16 B kept in a global array (reachable)
 *   lost   a 100-byte buffer nothing points to (definite)
 * Built without leakgate: `leakgate run` and valgrind judge the same
 * program.
 */
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NOINLINE __attribute__((noinline))
#define NBLOCKS  200000

void **g_array;

static NOINLINE void keep_array(void)
{
    g_array = calloc(NBLOCKS, sizeof *g_array);
    for (int i = 0; g_array && i < NBLOCKS; i++)
        g_array[i] = malloc(16);
}

static NOINLINE void lose_buffer(void)
{
    char *volatile p = malloc(100);
    memset(p, 1, 100);
    p = NULL;
}

static NOINLINE int use_pwd(void)
{
    return getpwuid(0) == NULL;
}

static NOINLINE int use_resolver(void)
{
    struct addrinfo *ai = NULL, hints = {.ai_socktype = SOCK_STREAM};
    if (getaddrinfo("localhost", "80", &hints, &ai) != 0)
        return 1;
    freeaddrinfo(ai);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "pwd") == 0 && use_pwd())
            fprintf(stderr, "prog_exit_kinds: getpwuid(0) failed\n");
        else if (strcmp(argv[i], "addr") == 0 && use_resolver())
            fprintf(stderr, "prog_exit_kinds: getaddrinfo(localhost) failed\n");
        else if (strcmp(argv[i], "array") == 0)
            keep_array();
        else if (strcmp(argv[i], "lost") == 0)
            lose_buffer();
    }
    return 0;
}
