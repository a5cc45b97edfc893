/*
 * symbolize.c — native return addresses to function, file:line, module and
 * offset, at report time, with libdw (elfutils).
 *
 * Entry point: lg__symbolize(addr).  Every answer is cached by address, so
 * a report resolves each distinct address once; a cache hit is a lock, a
 * hash probe and a copy.  On a miss, a Dwfl session that mirrors the
 * objects the dynamic loader holds now answers:
 *
 *   addr ──> cache (open addressing, key = addr, 0 = empty slot)
 *     miss: loader counters changed? ──> rebuild the Dwfl module list
 *           Dwfl module of addr - 1 ──> symbol (ELF symtab), innermost
 *           inlined function (DWARF scopes), file:line (line table),
 *           module path and bias (reported by us, cached per module)
 *
 * Modules come from dl_iterate_phdr, not /proc/self/maps: the loader's own
 * list is exactly what its dlpi_adds/dlpi_subs counters describe (so one
 * cheap call tells whether the Dwfl is stale), and it does not mistake
 * data files mapped by the program or by libelf for code.  The main
 * program is named by the real path of /proc/self/exe.  offset is addr
 * minus the object's load bias (link_map l_addr), the address that
 * `addr2line -e MODULE` takes.
 *
 * dlclose: once an object is unloaded, its addresses belong to no module.
 * The dlclose interposer (hooks_dl.c) therefore calls
 * lg__symbolize_before_dlclose(), which resolves every interned address
 * inside the object while it is still mapped, so the cache answers for it
 * afterwards.  Addresses only ever seen after the unload get module NULL;
 * "no module" answers are not cached, so an object loaded there later is
 * found.
 *
 * Limitation: cached entries are never dropped.  If an object is unloaded
 * and another one is later loaded over the same addresses, a traceback
 * captured in the new object at an address already cached for the old one
 * is reported with the old object's names.  Dropping entries when a new
 * object appears would lose the frames of older interned tracebacks, which
 * is the point of the dlclose work; the collision needs an unload, a load
 * at the same place and the same return address, and is left as is.
 *
 * Invariants: all state is in `S`, protected by S.lock.  Strings handed
 * out live in S.arena (never released) and are interned, so equal strings
 * are equal pointers.  Our own memory comes from lg__x* / the arena; libdw
 * allocates with malloc internally, which the hooks' reentrancy guard is
 * expected to keep out of the traces.
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One cached answer.  addr == 0 marks an empty slot. */
struct entry {
    uintptr_t addr;
    const char *function, *file, *module;
    unsigned line;
    uint64_t offset;
};

/* What we know of a module without opening its ELF file; stored in the
 * Dwfl module's userdata slot, so it lives as long as the module is
 * reported and is computed once per module. */
struct modinfo {
    const char *name; /* interned */
    uintptr_t bias;   /* dlpi_addr, link_map l_addr */
};

static struct {
    pthread_mutex_t lock;
    Dwfl *dwfl;              /* NULL until the first miss */
    unsigned long long adds; /* loader counters the Dwfl reflects */
    unsigned long long subs;
    const char *exe;         /* real path of the main program, interned */
    struct entry *cache;     /* address cache, lg__xcalloc'd */
    size_t cache_mask, cache_count;
    const char **strs;       /* interned strings, lg__xcalloc'd */
    size_t strs_mask, strs_count;
    lg__arena_t arena;       /* strings and modinfos; never released */
} S = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Set while this thread holds S.lock: libdw may dlopen/dlclose (its
 * debuginfod client), and the dlclose hook must not wait for ourselves. */
static LG_TLS int holding_lock;

static void lock(void)
{
    pthread_mutex_lock(&S.lock);
    holding_lock = 1;
}

static void unlock(void)
{
    holding_lock = 0;
    pthread_mutex_unlock(&S.lock);
}

/* A fork while another thread symbolizes would leave the child's lock
 * taken forever; hold it across fork instead (registered on first use). */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
    pthread_atfork(lock, unlock, unlock);
}

/* ---- interned strings --------------------------------------------------- */

static size_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

static void strs_grow_locked(void)
{
    size_t cap = S.strs ? (S.strs_mask + 1) * 2 : 256;
    const char **t = lg__xcalloc(cap, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; S.strs && i <= S.strs_mask; i++) {
        if (!S.strs[i])
            continue;
        size_t j = str_hash(S.strs[i]) & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = S.strs[i];
    }
    lg__xfree(S.strs);
    S.strs = t;
    S.strs_mask = cap - 1;
}

/* Returns the arena copy of `s`, shared by every equal string; NULL for
 * NULL or when out of memory (the field is then unknown).  S.lock held. */
static const char *intern_locked(const char *s)
{
    if (!s)
        return NULL;
    if (S.strs_count * 2 >= S.strs_mask)
        strs_grow_locked();
    if (S.strs_count >= S.strs_mask) /* keep a free slot: probes must end */
        return NULL;
    size_t i = str_hash(s) & S.strs_mask;
    for (; S.strs[i]; i = (i + 1) & S.strs_mask)
        if (strcmp(S.strs[i], s) == 0)
            return S.strs[i];
    char *copy = lg__arena_strdup(&S.arena, s);
    if (copy) {
        S.strs[i] = copy;
        S.strs_count++;
    }
    return copy;
}

/* ---- address cache ------------------------------------------------------ */

static size_t addr_hash(uintptr_t addr)
{
    uint64_t h = (uint64_t)addr * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 32));
}

static const struct entry *cache_find_locked(uintptr_t addr)
{
    if (!S.cache)
        return NULL;
    for (size_t i = addr_hash(addr) & S.cache_mask; S.cache[i].addr;
         i = (i + 1) & S.cache_mask)
        if (S.cache[i].addr == addr)
            return &S.cache[i];
    return NULL;
}

static void cache_grow_locked(void)
{
    size_t cap = S.cache ? (S.cache_mask + 1) * 2 : 1024;
    struct entry *t = lg__xcalloc(cap, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; S.cache && i <= S.cache_mask; i++) {
        if (!S.cache[i].addr)
            continue;
        size_t j = addr_hash(S.cache[i].addr) & (cap - 1);
        while (t[j].addr)
            j = (j + 1) & (cap - 1);
        t[j] = S.cache[i];
    }
    lg__xfree(S.cache);
    S.cache = t;
    S.cache_mask = cap - 1;
}

/* Adds an entry not in the cache.  Out of memory: not cached, which only
 * costs a later lookup. */
static void cache_add_locked(const struct entry *e)
{
    if (S.cache_count * 2 >= S.cache_mask)
        cache_grow_locked();
    if (S.cache_count >= S.cache_mask) /* keep a free slot: probes must end */
        return;
    size_t i = addr_hash(e->addr) & S.cache_mask;
    while (S.cache[i].addr)
        i = (i + 1) & S.cache_mask;
    S.cache[i] = *e;
    S.cache_count++;
}

/* ---- the Dwfl session --------------------------------------------------- */

static int read_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1; /* the counters are the same in every entry: stop */
}

/* The lowest and highest address of an object's PT_LOAD segments.
 * The low end is rounded down to p_align as libdwfl rounds it when it
 * computes the bias of the file it opens. */
static bool load_range(const struct dl_phdr_info *info, uintptr_t *lo,
                       uintptr_t *hi)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t align = ph->p_align ? (uintptr_t)ph->p_align : 1;
        uintptr_t a = info->dlpi_addr + (ph->p_vaddr & ~(align - 1));
        uintptr_t b = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        if (a < *lo)
            *lo = a;
        if (b > *hi)
            *hi = b;
    }
    return *lo < *hi;
}

/* dl_iterate_phdr callback: reports one object to S.dwfl.  The vDSO and
 * other objects without a path are left out (no file to read). */
static int report_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    const char *name = info->dlpi_name;
    if (!name || !name[0])
        name = S.exe;
    else if (!strchr(name, '/'))
        name = NULL;
    uintptr_t lo, hi;
    if (!name || !load_range(info, &lo, &hi))
        return 0;
    Dwfl_Module *mod = dwfl_report_module(S.dwfl, name, lo, hi);
    void **ud;
    if (!mod || !dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL))
        return 0;
    if (!*ud) { /* a module reported before keeps its modinfo */
        struct modinfo *mi = lg__arena_alloc(&S.arena, sizeof *mi);
        if (mi) {
            mi->name = intern_locked(name);
            mi->bias = info->dlpi_addr;
            *ud = mi;
        }
    }
    return 0;
}

/* Makes S.dwfl describe the objects loaded now, rebuilding its module list
 * only when the loader's counters moved.  Modules still there keep their
 * opened ELF and DWARF data.  Returns false if there is no session. */
static bool dwfl_sync_locked(void)
{
    static const Dwfl_Callbacks callbacks = {
        .find_elf = dwfl_linux_proc_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
    };
    unsigned long long c[2] = { 0, 0 };
    dl_iterate_phdr(read_counters, c);
    if (S.dwfl && c[0] == S.adds && c[1] == S.subs)
        return true;
    if (!S.dwfl) {
        char path[PATH_MAX];
        if (realpath("/proc/self/exe", path))
            S.exe = intern_locked(path);
        S.dwfl = dwfl_begin(&callbacks);
        if (!S.dwfl)
            return false;
    }
    dwfl_report_begin(S.dwfl);
    dl_iterate_phdr(report_object, NULL);
    dwfl_report_end(S.dwfl, NULL, NULL);
    S.adds = c[0];
    S.subs = c[1];
    return true;
}

/* The innermost inlined function containing pc, or NULL when pc is not in
 * inlined code.  Inlined code carries the line of the inlined function but
 * the symbol of the function it was inlined into; naming the inlined one
 * keeps function and line telling the same story. */
static const char *inlined_function(Dwfl_Module *mod, Dwarf_Addr pc)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
    Dwarf_Die *scopes = NULL;
    int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
    const char *name = NULL;
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine)
            name = dwarf_diename(&scopes[i]);
        if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram)
            break;
    }
    free(scopes); /* libdw's malloc'd array: libdw's allocator frees it */
    return intern_locked(name);
}

/* Resolves addr with libdw into *e (all unknown on failure). */
static void resolve_locked(uintptr_t addr, struct entry *e)
{
    memset(e, 0, sizeof *e);
    e->addr = addr;
    if (!dwfl_sync_locked())
        return;
    Dwarf_Addr pc = addr - 1; /* inside the call instruction */
    Dwfl_Module *mod = dwfl_addrmodule(S.dwfl, pc);
    void **ud;
    if (!mod || !dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL))
        return;
    const struct modinfo *mi = *ud;
    if (!mi || !mi->name)
        return;
    e->module = mi->name;
    e->offset = addr - mi->bias;

    e->function = inlined_function(mod, pc);
    if (!e->function) {
        GElf_Off off;
        GElf_Sym sym;
        e->function = intern_locked(
            dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL));
    }
    Dwfl_Line *line = dwfl_module_getsrc(mod, pc);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL,
                                            NULL)
                            : NULL;
    if (file) {
        e->file = intern_locked(file);
        e->line = lineno > 0 ? (unsigned)lineno : 0;
    }
}

/* Fills *e from the cache, resolving and caching on a miss.  Answers
 * without a module are not cached: an object may be loaded there later. */
static void lookup_locked(uintptr_t addr, struct entry *e)
{
    const struct entry *hit = cache_find_locked(addr);
    if (hit) {
        *e = *hit;
        return;
    }
    resolve_locked(addr, e);
    if (e->module)
        cache_add_locked(e);
}

void lg__symbolize(uintptr_t addr, lg_frame_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = LG_FRAME_NATIVE;
    out->addr = addr;
    if (addr == 0)
        return;
    pthread_once(&atfork_once, atfork_register);
    int saved = errno;
    struct entry e;
    lock();
    lookup_locked(addr, &e);
    unlock();
    errno = saved;
    out->function = e.function;
    out->file = e.file;
    out->line = e.line;
    out->module = e.module;
    out->offset = e.module ? e.offset : 0;
}

/* ---- dlclose ------------------------------------------------------------ */

struct object_range {
    const struct link_map *lm;
    uintptr_t lo, hi; /* lo == hi: not found */
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct object_range *r = arg;
    if (info->dlpi_addr != r->lm->l_addr || !r->lm->l_name ||
        strcmp(info->dlpi_name, r->lm->l_name) != 0)
        return 0;
    if (!load_range(info, &r->lo, &r->hi))
        r->lo = r->hi = 0;
    return 1;
}

void lg__symbolize_before_dlclose(void *handle)
{
    if (!handle || holding_lock)
        return;
    int saved = errno;
    struct link_map *lm = NULL;
    struct object_range r = { NULL, 0, 0 };
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm) {
        r.lm = lm;
        dl_iterate_phdr(find_object, &r);
    }
    if (r.lo < r.hi) {
        pthread_once(&atfork_once, atfork_register);
        /* Tracebacks interned after this count are not looked at: they
         * would have to be captured in the object's code while it is being
         * closed, which a correct program does not do. */
        uint32_t n = lg__intern_count();
        struct entry e;
        lock();
        for (uint32_t id = 0; id < n; id++) {
            const lg__tb_t *tb = lg__tb_get(id);
            for (uint32_t i = 0; tb && i < tb->nframes; i++) {
                uintptr_t pc = tb->frames[i] - 1;
                if (tb->frames[i] && pc >= r.lo && pc < r.hi)
                    lookup_locked(tb->frames[i], &e);
            }
        }
        unlock();
    }
    errno = saved;
}
