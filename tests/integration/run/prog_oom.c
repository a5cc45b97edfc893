/*
 * prog_oom.c — a program that leaks after the tracer ran out of memory
 * (run it under `ulimit -v`), for test_lost.sh.
 *
 *   1. allocates 100,000 blocks of 64 B (one traceback)
 *   2. maps address space (mmap, not traced) until none is left
 *   3. frees every other block of step 1: the heap has holes of 64 B only
 *   4. allocates 40,000 blocks of 64 B into those holes, each from another
 *      call path (16,384 tracebacks): the program needs no new memory, the
 *      tracer does (a new traceback is stored) and cannot get it: their
 *      traces are lost
 *   5. unmaps step 2 (not with "full": the program exits with no address
 *      space left), frees every block, and leaks 10 blocks of 64 B
 *
 * The leak of step 5 is traced; the verdict must say that traces were lost.
 * Prints how many blocks step 4 allocated; exits 1 if step 2 or 4 failed.
 *
 *   usage: prog_oom [full]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NOINLINE __attribute__((noinline))
#define FIRST    100000
#define SECOND   40000
#define DEPTH    14

static void *first[FIRST], *second[SECOND];
static void *volatile sink;

NOINLINE static void *leaf(void)
{
    return malloc(64);
}

/* Allocates through DEPTH frames of a() and b(), chosen by the bits of
 * `path`: each path is another traceback (two call sites per function). */
NOINLINE static void *b(unsigned path, int depth);
NOINLINE static void *a(unsigned path, int depth)
{
    void *p = !depth ? leaf() : path & 1 ? a(path >> 1, depth - 1) : b(path >> 1, depth - 1);
    sink = p; /* no tail call: this frame stays on the stack */
    return p;
}
NOINLINE static void *b(unsigned path, int depth)
{
    void *p = !depth ? leaf() : path & 1 ? a(path >> 1, depth - 1) : b(path >> 1, depth - 1);
    sink = p;
    return p;
}

struct map {
    void *at;
    size_t len;
};

int main(int argc, char **argv)
{
    int full = argc > 1 && strcmp(argv[1], "full") == 0;
    static struct map maps[4096];
    int nmaps = 0;
    for (int i = 0; i < FIRST; i++)
        first[i] = malloc(64);
    for (size_t len = (size_t)1 << 30; len >= 4096 && nmaps < 4096;) {
        void *at = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (at == MAP_FAILED)
            len /= 2;
        else
            maps[nmaps++] = (struct map){at, len};
    }
    for (int i = 0; i < FIRST; i += 2) {
        free(first[i]);
        first[i] = NULL;
    }
    int got = 0;
    for (; got < SECOND; got++)
        if (!(second[got] = a((unsigned)got, DEPTH)))
            break;
    for (int i = 0; i < nmaps && !full; i++)
        munmap(maps[i].at, maps[i].len);
    for (int i = 0; i < FIRST; i++)
        free(first[i]);
    for (int i = 0; i < got; i++)
        free(second[i]);
    for (int i = 0; i < 10; i++)
        sink = malloc(64); /* SITE:leak */
    sink = NULL;
    fprintf(stderr, "prog_oom: %d blocks allocated without address space left\n", got);
    return nmaps && got == SECOND ? 0 : 1;
}
