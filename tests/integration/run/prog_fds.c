/* prog_fds — exhausts its file descriptors, then creates a thread, leaks
 * one block of 4242 bytes and exits 0 with every descriptor still open: its
 * exit snapshot must still be written and symbolized, and the thread's own
 * memory (kept by the C library for reuse) must not look like a leak.
 * With "closeall", it then closes every descriptor above 2 (leakgate's
 * own included): the snapshot file is opened again at exit.  With "lose",
 * it also removes that file (LEAKGATE_RUN_SNAPSHOT): the exit snapshot
 * cannot be written, and the run says why with the real errno.
 *
 *   usage: prog_fds [closeall|lose] */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *thread_main(void *arg)
{
    return arg;
}

__attribute__((noinline)) static void *leak_after_emfile(void)
{
    return malloc(4242); /* SITE:emfile */
}

int main(int argc, char **argv)
{
    int n = 0;
    while (open("/dev/null", O_RDONLY) >= 0)
        n++;
    pthread_t t;
    if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 1;
    void *volatile p = leak_after_emfile();
    p = NULL;
    fprintf(stderr, "prog_fds: %d descriptors open\n", n);
    if (argc > 1)
        for (int fd = 3; fd < n + 64; fd++)
            close(fd);
    const char *snap = getenv("LEAKGATE_RUN_SNAPSHOT");
    if (argc > 1 && strcmp(argv[1], "lose") == 0 && snap)
        unlink(snap);
    return 0;
}
