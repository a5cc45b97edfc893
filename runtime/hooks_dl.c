/*
 * hooks_dl.c — the dlclose interposer: keeps the frames of an object that
 * is about to be unloaded symbolizable.
 *
 * Once dlclose has unmapped an object, nothing tells which object its
 * return addresses belonged to.  Before passing the call on to the real
 * dlclose (the next definition in symbol lookup: libc's), the interposer
 * lets the symbolizer resolve and cache every interned address inside the
 * object (lg__symbolize_before_dlclose).  This costs O(interned frames) per
 * dlclose while tracing, and nothing when tracing is off.
 *
 * Reentrancy: the symbolizer runs its libdw work as an untraced section
 * (lg__in_hook), so nothing it allocates is traced.  A dlclose made by
 * libdw itself while the symbolizer works is passed on untouched (the
 * symbolizer notices it holds its own lock).
 *
 * Built with LG_NO_INTERPOSE (sanitizer builds), there is no interposer.
 */
#include "lg_internal.h"

#ifndef LG_NO_INTERPOSE

#include <dlfcn.h>

LG_API int dlclose(void *handle)
{
    static int (*real_dlclose)(void *); /* resolved once, atomic */
    int (*fn)(void *) = __atomic_load_n(&real_dlclose, __ATOMIC_ACQUIRE);
    if (LG_UNLIKELY(!fn)) {
        fn = (__typeof__(fn))dlsym(RTLD_NEXT, "dlclose");
        if (!fn)
            return -1; /* no dlclose after us: nothing can be unloaded */
        __atomic_store_n(&real_dlclose, fn, __ATOMIC_RELEASE);
    }
    if (lg__tracing())
        lg__symbolize_before_dlclose(handle);
    int rc = fn(handle);
    lg__modules_changed(); /* the walker forgets what it proved there */
    return rc;
}

#endif /* LG_NO_INTERPOSE */
