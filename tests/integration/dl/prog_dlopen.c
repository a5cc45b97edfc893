/* prog_dlopen — loads MODULE with dlopen() while tracing (MODULE as given:
 * a relative path stays relative), calls its module_leak(), moves to / so
 * that a relative path no longer names the file from here, and unloads the
 * module when asked.  The block module_leak() returns is dropped: a leak
 * allocated in a module loaded after start.
 *
 *   usage: prog_dlopen MODULE [--close]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2 || (argc == 3 && strcmp(argv[2], "--close") != 0) || argc > 3) {
        fprintf(stderr, "usage: prog_dlopen MODULE [--close]\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW);
    void *(*leak)(void) = NULL;
    if (h)
        *(void **)&leak = dlsym(h, "module_leak");
    if (!leak) {
        fprintf(stderr, "prog_dlopen: %s: %s\n", argv[1], dlerror());
        return 1;
    }
    void *volatile block = leak();
    block = NULL;
    if (chdir("/") != 0)
        return 1;
    if (argc == 3 && dlclose(h) != 0)
        return 1;
    return 0;
}
