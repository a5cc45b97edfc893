/* dlmodule.c — an object that prog_dlopen loads while tracing: one block
 * of 4321 bytes is allocated here and never freed.  Built by test_dl.sh. */
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) static void *module_make(size_t n)
{
    void *p = malloc(n); /* SITE:module */
    if (p)
        memset(p, 1, n);
    return p;
}

__attribute__((visibility("default"))) void *module_leak(void);
void *module_leak(void)
{
    return module_make(4321);
}
