/*
 * hooks_dl.c — the dynamic loader's calls the runtime watches: dlclose, so
 * that the frames of an object about to be unloaded stay symbolizable, and
 * dlopen, so that objects loaded while imported-symbol tables are patched
 * (hooks_got.c) are patched too.
 *
 * dlclose.  Once dlclose has unmapped an object, nothing tells which object
 * its return addresses belonged to.  Before passing the call on to the real
 * dlclose, the hook lets the symbolizer resolve and cache every interned
 * address inside the object (lg__symbolize_before_dlclose).  This costs
 * O(interned frames) per dlclose while tracing, and nothing when tracing is
 * off.  Exported as `dlclose` (a preload or a link interposes it) and
 * written into patched objects' tables.
 *
 * dlopen.  Only patched objects reach lg__hook_dlopen (it is not exported).
 * glibc's dlopen searches a bare file name ("libfoo.so") along the search
 * path of its *caller*: its DT_RPATH/DT_RUNPATH.  Called from here, the
 * caller would be this library, so the hook looks the name up along the
 * search path of the object that called it (dlinfo RTLD_DI_SERINFO), and
 * falls back to a plain dlopen (ld.so.cache, default directories).
 *
 * Reentrancy: the symbolizer runs its libdw work as an untraced section
 * (lg__in_hook), so nothing it allocates is traced.  A dlclose made by
 * libdw itself while the symbolizer works is passed on untouched (the
 * symbolizer notices it holds its own lock).
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int lg__hook_dlclose(void *handle)
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

#ifndef LG_NO_INTERPOSE
extern __typeof__(dlclose) dlclose __attribute__((alias("lg__hook_dlclose"), visibility("default")));
#endif

/* dlopen(file) as `caller`'s object would: along its search path first.
 * Returns NULL when not found there (the caller then tries a plain dlopen). */
static void *open_as_caller(const char *file, int flags, const void *caller)
{
    Dl_info info;
    struct link_map *map = NULL;
    if (!dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
        return NULL;
    void *h = lg__real.dlopen(file, flags | RTLD_NOLOAD); /* already loaded */
    if (h)
        return h;
    Dl_serinfo size;
    if (dlinfo(map, RTLD_DI_SERINFOSIZE, &size) != 0)
        return NULL;
    Dl_serinfo *paths = lg__xmalloc(size.dls_size);
    if (!paths)
        return NULL;
    *paths = size;
    if (dlinfo(map, RTLD_DI_SERINFO, paths) == 0) {
        char path[PATH_MAX];
        for (unsigned i = 0; !h && i < paths->dls_cnt; i++) {
            const char *dir = paths->dls_serpath[i].dls_name;
            if (dir && *dir && (size_t)snprintf(path, sizeof path, "%s/%s", dir, file) < sizeof path &&
                access(path, F_OK) == 0)
                h = lg__real.dlopen(path, flags);
        }
    }
    lg__xfree(paths);
    return h;
}

void *lg__hook_dlopen(const char *file, int flags)
{
    const void *caller = __builtin_extract_return_addr(__builtin_return_address(0));
    if (!lg__real.malloc)
        lg__real_init();
    if (!lg__real.dlopen)
        return NULL;
    void *h = NULL;
    if (file && *file && !strchr(file, '/'))
        h = open_as_caller(file, flags, caller);
    if (!h)
        h = lg__real.dlopen(file, flags);
    if (h)
        lg__imports_loaded();
    return h;
}
