/*
 * prim_linux.c — what the runtime needs from the operating system: the real
 * allocator behind ours, the clock, the resident set size, and memory for
 * the tracer itself.
 *
 * lg__real is resolved with dlsym(RTLD_NEXT): the allocator that comes after
 * us in symbol lookup (glibc's, or another preloaded one).  When nothing
 * comes after us (the library was linked without being needed first, or
 * loaded after the C library), the C library's own functions are taken: the
 * program's calls reach them anyway.  dlsym itself may call calloc; when
 * that reaches our hooks before lg__real is set, hooks.c serves it from a
 * static pool.
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct lg__real lg__real;

static _Atomic int64_t tracer_memory; /* bytes held by lg__mem_* and arenas */

_Atomic long lg__fault_countdown;

/* Fault injection for tests: when armed, the Nth tracer allocation fails. */
static inline bool inject_fault(void)
{
    long n = atomic_load_explicit(&lg__fault_countdown, memory_order_relaxed);
    return n > 0 && atomic_fetch_sub(&lg__fault_countdown, 1) == 1;
}

int lg__real_init(void)
{
    if (lg__real.malloc)
        return 0;
    struct lg__real r;
    void *libc = NULL;
#define RESOLVE(name)                                                                \
    do {                                                                             \
        r.name = (__typeof__(r.name))dlsym(RTLD_NEXT, #name);                        \
        if (!r.name && (libc || (libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)))) \
            r.name = (__typeof__(r.name))dlsym(libc, #name);                         \
    } while (0)
#define RESOLVE_ONE(name, ret, params, args, body, size, align) RESOLVE(name);
    LG_FOR_EACH_HOOKED_FUNCTION(RESOLVE_ONE)
#undef RESOLVE_ONE
#undef RESOLVE
    if (libc)
        dlclose(libc); /* RTLD_NOLOAD: only drops the reference just taken */
    if (!r.malloc || !r.free || !r.calloc || !r.realloc)
        return LG_ENOMEM;
    /* Publish malloc last: hooks test it to know the rest is there. */
    void *(*m)(size_t) = r.malloc;
    r.malloc = NULL;
    lg__real = r;
    __atomic_store_n(&lg__real.malloc, m, __ATOMIC_RELEASE);
    return 0;
}

static inline void ensure_real(void)
{
    if (LG_UNLIKELY(!__atomic_load_n(&lg__real.malloc, __ATOMIC_ACQUIRE)))
        lg__real_init();
}

void *lg__xmalloc(size_t n)
{
    ensure_real();
    if (LG_UNLIKELY(inject_fault()))
        return NULL;
    return lg__real.malloc(n ? n : 1);
}

void *lg__xcalloc(size_t n, size_t size)
{
    ensure_real();
    if (LG_UNLIKELY(inject_fault()))
        return NULL;
    return lg__real.calloc(n ? n : 1, size ? size : 1);
}

void *lg__xrealloc(void *p, size_t n)
{
    ensure_real();
    if (LG_UNLIKELY(inject_fault()))
        return NULL;
    return lg__real.realloc(p, n ? n : 1);
}

void lg__xfree(void *p)
{
    if (p)
        lg__real.free(p);
}

char *lg__xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = lg__xmalloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void *lg__mem_calloc(size_t n, size_t size)
{
    void *p = lg__xcalloc(n, size);
    if (p)
        atomic_fetch_add(&tracer_memory, (int64_t)(n * size));
    return p;
}

void lg__mem_free(void *p, size_t bytes)
{
    if (!p)
        return;
    lg__real.free(p);
    atomic_fetch_sub(&tracer_memory, (int64_t)bytes);
}

void lg__mem_account(int64_t delta)
{
    atomic_fetch_add(&tracer_memory, delta);
}

size_t lg_get_tracer_memory(void)
{
    int64_t v = atomic_load(&tracer_memory);
    return v > 0 ? (size_t)v : 0;
}

int64_t lg__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t lg__rss(void)
{
    /* /proc/self/statm: size resident ... in pages; read without stdio. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    if (!p)
        return 0;
    return strtoull(p + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
}
