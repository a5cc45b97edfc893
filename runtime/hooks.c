/*
 * hooks.c — the allocation functions the program calls, and process-level
 * set-up: start-up, fork, and the exit report of `leakgate run`.
 *
 * Every hook calls the real allocator first and traces afterwards (frees:
 * forget first, then free), so what the program gets is exactly what the
 * real allocator gives.  The hooks never abort, never longjmp, and keep
 * errno as the real allocator left it.
 *
 * Reentrancy: `in_hook` (lg__in_hook, initial-exec TLS: reached without
 * allocating) is set while the tracer works; anything allocated meanwhile
 * — by libunwind, libdw, pthread_getattr_np, the tracer itself — passes
 * straight through and is never traced.
 *
 * Bootstrap: until dlsym(RTLD_NEXT) has found the real allocator, requests
 * (dlsym's own calloc) are served from a static pool and never freed:
 *
 *   pool: [hdr|block][hdr|block]........[free space]
 *          hdr = 16 bytes holding the block size (for realloc)
 *
 * Names: each hook is lg__hook_<name> (hidden: what hooks_got.c writes into
 * other objects' imported-symbol tables), exported as <name> by an alias so
 * that a preload or a link interposes it.  Built with LG_NO_INTERPOSE
 * (AddressSanitizer builds, whose runtime owns malloc), there are no
 * aliases: tests call the lg__hook_* functions.
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define in_hook lg__in_hook

/* ---- bootstrap pool ----------------------------------------------------- */

static _Alignas(64) unsigned char pool[64 * 1024];
static size_t pool_used; /* bump pointer, atomic */

static inline bool from_pool(const void *p)
{
    return (const unsigned char *)p >= pool && (const unsigned char *)p < pool + sizeof pool;
}

static void *pool_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    size_t need = ((size + 15) & ~(size_t)15) + align;
    size_t off = __atomic_fetch_add(&pool_used, need, __ATOMIC_RELAXED);
    if (off + need > sizeof pool)
        return NULL;
    uintptr_t p = ((uintptr_t)pool + off + 16 + align - 1) & ~(uintptr_t)(align - 1);
    ((size_t *)p)[-1] = size;
    return (void *)p;
}

static inline size_t pool_size(const void *p)
{
    return ((const size_t *)p)[-1];
}

/* Slow path of the first calls: resolve the real allocator. */
static LG_NOINLINE bool bootstrap(void)
{
    static LG_TLS int resolving;
    if (resolving)
        return false;
    resolving = 1;
    int saved = errno;
    lg__real_init();
    errno = saved;
    resolving = 0;
    return lg__real.malloc != NULL;
}

#define READY() (LG_LIKELY(lg__real.malloc != NULL) || bootstrap())

/* Enter the tracer if tracing and not already inside it. */
#define ENTER()            (LG_LIKELY(lg__tracing()) && !in_hook ? (in_hook = 1) : 0)
#define LEAVE(saved_errno) (errno = (saved_errno), in_hook = 0)

/* ---- the hooks ----------------------------------------------------------- */

/* The hook's own frame record: the traceback cache starts there rather
 * than passing over the tracer's frames below it. */
#define FRAME() ((uintptr_t)__builtin_frame_address(0))

#define HOOK(name) lg__hook_##name
#define HOOK_API   LG_HOOK_TEXT

/* Every hook's prototype, from the one list (lg_internal.h): a hand-written
 * hook that strays from it does not compile. */
#define PROTOTYPE(name, ret, params, args, body, size, align) HOOK_API ret HOOK(name) params;
LG_FOR_EACH_HOOKED_FUNCTION(PROTOTYPE)
#undef PROTOTYPE

/* Traces a block the real allocator returned (NULL: nothing to trace). */
#define TRACE_RESULT(p, size)                          \
    do {                                               \
        if ((p) && ENTER()) {                          \
            int e_ = errno;                            \
            lg__trace_alloc(LG_DOMAIN_C, (p), (size), FRAME()); \
            LEAVE(e_);                                 \
        }                                              \
    } while (0)

/* The SIMPLE hooks of the list (malloc, aligned_alloc, memalign, valloc,
 * pvalloc): the pool until the real allocator is known, then the real call
 * with its result traced at the requested size.  CUSTOM ones follow. */
#define HOOK_SIMPLE(name, ret, params, args, size, align) \
    HOOK_API ret HOOK(name) params                        \
    {                                                     \
        if (!READY())                                     \
            return pool_alloc(size, align);               \
        void *p = lg__real.name args;                     \
        TRACE_RESULT(p, size);                            \
        return p;                                         \
    }
#define HOOK_CUSTOM(name, ret, params, args, size, align)
#define HOOK_BODY(name, ret, params, args, body, size, align) \
    HOOK_##body(name, ret, params, args, size, align)
LG_FOR_EACH_HOOKED_FUNCTION(HOOK_BODY)
#undef HOOK_BODY
#undef HOOK_CUSTOM
#undef HOOK_SIMPLE

HOOK_API void HOOK(free)(void *p)
{
    if (!p || from_pool(p))
        return;
    if (ENTER()) {
        int e = errno;
        lg__trace_free(LG_DOMAIN_C, p);
        lg__real.free(p);
        LEAVE(e);
        return;
    }
    lg__real.free(p);
}

HOOK_API void *HOOK(calloc)(size_t n, size_t size)
{
    if (!READY()) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total))
            return NULL;
        return pool_alloc(total, 16); /* static memory is zeroed */
    }
    void *p = lg__real.calloc(n, size);
    if (p && ENTER()) {
        int e = errno;
        lg__trace_alloc(LG_DOMAIN_C, p, n * size, FRAME());
        LEAVE(e);
    }
    return p;
}

/* realloc and reallocarray share this: `real` performs the call. */
LG_HOOK_TEXT static void *resize(void *old, size_t size, void *(*real)(void *, size_t, size_t),
                                 size_t a, size_t b)
{
    if (!ENTER())
        return real(old, a, b);
    int e = errno;
    size_t old_size;
    uint32_t old_tb;
    bool traced = lg__trace_realloc_begin(LG_DOMAIN_C, old, &old_size, &old_tb);
    errno = e;
    void *p = real(old, a, b);
    e = errno;
    if (traced) {
        /* glibc's realloc(p, 0) frees p and returns NULL: that is success. */
        if (p || size == 0)
            lg__trace_realloc_done(LG_DOMAIN_C, old, old_size, old_tb, p, size);
        else
            lg__trace_realloc_failed(LG_DOMAIN_C, old, old_size, old_tb);
    }
    LEAVE(e);
    return p;
}

static void *call_realloc(void *old, size_t size, size_t unused)
{
    LG_UNUSED(unused);
    return lg__real.realloc(old, size);
}

static void *call_reallocarray(void *old, size_t n, size_t size)
{
    if (lg__real.reallocarray)
        return lg__real.reallocarray(old, n, size);
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return lg__real.realloc(old, total);
}

static void *from_pool_resize(void *old, size_t size)
{
    void *p = lg__real.malloc(size);
    if (p && old) {
        size_t n = pool_size(old);
        memcpy(p, old, n < size ? n : size);
    }
    return p;
}

HOOK_API void *HOOK(realloc)(void *old, size_t size)
{
    if (!READY()) {
        void *p = pool_alloc(size, 16);
        if (p && old)
            memcpy(p, old, pool_size(old) < size ? pool_size(old) : size);
        return p;
    }
    if (!old)
        return HOOK(malloc)(size);
    if (from_pool(old))
        return from_pool_resize(old, size);
    return resize(old, size, call_realloc, size, 0);
}

HOOK_API void *HOOK(reallocarray)(void *old, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (!old || !READY() || from_pool(old))
        return HOOK(realloc)(old, total);
    return resize(old, total, call_reallocarray, n, size);
}

HOOK_API int HOOK(posix_memalign)(void **out, size_t align, size_t size)
{
    if (!READY()) {
        void *p = pool_alloc(size, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    int rc = lg__real.posix_memalign(out, align, size);
    if (rc == 0)
        TRACE_RESULT(*out, size);
    return rc;
}

HOOK_API size_t HOOK(malloc_usable_size)(void *p)
{
    if (!p)
        return 0;
    if (from_pool(p))
        return pool_size(p);
    return READY() && lg__real.malloc_usable_size ? lg__real.malloc_usable_size(p) : 0;
}

#ifndef LG_NO_INTERPOSE
/* The hooks under the C library's names: what a preload or a link
 * interposes. */
#define EXPORT_HOOK(name, ret, params, args, body, size, align) \
    extern __typeof__(name) name __attribute__((alias("lg__hook_" #name), visibility("default")));
LG_FOR_EACH_HOOKED_FUNCTION(EXPORT_HOOK)
#undef EXPORT_HOOK
#endif

/* ---- process set-up ------------------------------------------------------ */

/* fork(): hold every tracer lock across it so the child inherits consistent
 * tables, then release them on both sides; the child keeps tracing. */

/* Tracing starts at load time when asked (LEAKGATE_START=1), or, when
 * LEAKGATE_START is unset (or not 0 or 1: said so), when this library was
 * preloaded. */
static bool autostart(void)
{
    const char *pre = getenv("LD_PRELOAD");
    bool preloaded = pre && strstr(pre, "libleakgate.so");
    int start = lg__env_start(preloaded ? "tracing (the library was preloaded)" : "not tracing");
    return start < 0 ? preloaded : start == 1;
}

__attribute__((constructor(102))) static void hooks_init(void)
{
    (void)READY();
    lg__atfork_register();
    lg__set_unwind_mode(lg__env_unwind());
    if (!autostart())
        return;
    long n;
    lg__env_int("LEAKGATE_FRAMES", 1, LG_FRAMES_MAX, LG_FRAMES_DEFAULT, &n);
    char other[512];
    bool bypassed = !lg_hooks_in_force(other, sizeof other);
    lg__exit_init(bypassed ? other : NULL); /* before tracing: nothing it allocates is traced */
    if (bypassed)
        lg__error("malloc resolves to %s, not to libleakgate.so: this process's allocations are "
                  "not traced; put libleakgate.so first (LD_PRELOAD=libleakgate.so:%s)",
                  other, other);
    lg_start((int)n);
}

__attribute__((destructor)) static void hooks_fini(void)
{
    lg__exit_dump();
}
