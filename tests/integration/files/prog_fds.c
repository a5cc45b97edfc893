/*
 * prog_fds.c — leaks one block, then uses up every file descriptor and
 * exits: leakgate must still write its exit snapshot and judge it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    volatile char *leak = malloc(4242);
    leak[0] = 1;
    while (open("/dev/null", O_RDONLY) >= 0)
        ;
    return 0;
}
