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
 *     miss: a runner serving this run (symserve.c)? ──> its answer for
 *           (module, build-id, offset), cached like ours
 *     else: loader counters changed? ──> rebuild the Dwfl module list
 *           Dwfl module of addr - 1 ──> module path and bias, and a
 *           sorted index of its function symbols (both once per module);
 *           innermost inlined function (DWARF DIEs), else the symbol;
 *           file:line (line table)
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
 * are equal pointers.  Our own memory comes from lg__x* and the arena,
 * report-time memory not counted as tracer memory; libdw (and qsort)
 * allocate with malloc internally, which the hooks' reentrancy guard is
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One cached answer.  addr == 0 marks an empty slot. */
struct entry {
    uintptr_t addr;
    const char *function, *file, *module;
    unsigned line;
    uint64_t offset;
};

/* A function symbol of a module, at its address in this process. */
struct sym {
    uintptr_t lo, hi; /* [lo, hi) */
    const char *name; /* libelf's string: valid while the module is */
    int rank;         /* at equal lo, the highest rank names the address */
};

#define RANK_SIZED 4 /* st_size given; else the symbol ends at the next */

/* What we keep per module, in the Dwfl module's userdata slot: computed
 * once per module and kept while the loader keeps the object.  The struct
 * itself is in S.arena; syms is freed when the module goes away. */
struct modinfo {
    const char *name; /* interned */
    uintptr_t bias;   /* dlpi_addr, link_map l_addr */
    bool syms_built;
    struct sym *syms; /* sorted by lo, lg__xmalloc'd; NULL: none */
    size_t nsyms;
};

/* Every field is protected by lock (LG_LOCK_SYMBOLIZE, the outermost). */
static struct {
    pthread_mutex_t lock;
    Dwfl *dwfl;              /* NULL until the first miss */
    unsigned long long adds; /* loader counters the Dwfl reflects */
    unsigned long long subs;
    const char *exe;     /* real path of the main program, interned */
    bool exe_known;      /* exe looked up (it may stay NULL) */
    struct entry *cache; /* address cache, lg__xcalloc'd */
    size_t cache_mask, cache_count;
    const char **strs; /* interned strings, lg__xcalloc'd */
    size_t strs_mask, strs_count;
    lg__arena_t arena; /* strings and modinfos; never released */
    uint64_t answered; /* addresses the runner resolved for us */
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Set while this thread holds S.lock: libdw may dlopen/dlclose (its
 * debuginfod client), and the dlclose hook must not wait for ourselves.
 * What libdw allocates meanwhile is the tracer's, never the program's:
 * the section is untraced (lg__in_hook), and restored on unlock. */
static LG_TLS int holding_lock, saved_in_hook;

static void lock(void)
{
    saved_in_hook = lg__in_hook;
    lg__in_hook = 1;
    lg__lock(&S.lock, LG_LOCK_SYMBOLIZE);
    holding_lock = 1;
}

static void unlock(void)
{
    holding_lock = 0;
    lg__unlock(&S.lock, LG_LOCK_SYMBOLIZE);
    lg__in_hook = saved_in_hook;
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
    for (size_t i = addr_hash(addr) & S.cache_mask; S.cache[i].addr; i = (i + 1) & S.cache_mask)
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

/* ---- libdw, loaded when first needed ------------------------------------
 *
 * libdw and libelf (and the compression libraries they need) are opened on
 * the first address this process resolves itself, not when the runtime is
 * loaded: a process that resolves none (a passing test's worker, a worker
 * whose runner answers) never maps them, which a test runner starting a
 * process per test pays for in every test.  Their sonames have been stable
 * for as long as libdwfl exists. */

#define FOR_EACH_DW_FUNCTION(X)                                                      \
    X(dwfl_begin) X(dwfl_report_begin) X(dwfl_report_module) X(dwfl_report_end)     \
    X(dwfl_module_info) X(dwfl_module_getsymtab) X(dwfl_module_getsym_info)         \
    X(dwfl_module_addrdie) X(dwfl_addrmodule) X(dwfl_module_addrinfo)               \
    X(dwfl_module_getsrc) X(dwfl_lineinfo) X(dwfl_linux_proc_find_elf)              \
    X(dwfl_standard_find_debuginfo) X(dwarf_child) X(dwarf_tag) X(dwarf_haspc)      \
    X(dwarf_diename) X(dwarf_siblingof) X(elf_getscn) X(gelf_getshdr)

/* Protected by S.lock; written once by dw_load_locked(). */
static struct {
    int state; /* 0: not tried yet, 1: loaded, -1: not available */
    Dwfl_Callbacks callbacks;
#define DW_POINTER(f) __typeof__(f) *f;
    FOR_EACH_DW_FUNCTION(DW_POINTER)
#undef DW_POINTER
} D;

/* Opens libdw (once); false if it is not installed. */
static bool dw_load_locked(void)
{
    if (D.state)
        return D.state > 0;
    D.state = -1;
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return false;
#define DW_RESOLVE(f)                                    \
    if (!(*(void **)&D.f = dlsym(h, #f)))                \
        return false;
    FOR_EACH_DW_FUNCTION(DW_RESOLVE)
#undef DW_RESOLVE
    D.callbacks.find_elf = D.dwfl_linux_proc_find_elf;
    D.callbacks.find_debuginfo = D.dwfl_standard_find_debuginfo;
    D.state = 1;
    return true;
}

/* ---- the Dwfl session --------------------------------------------------- */

static int read_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
    LG_UNUSED(size);
    unsigned long long *c = arg;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1; /* the counters are the same in every entry: stop */
}

/* The lowest and highest address of an object's PT_LOAD segments.
 * The low end is rounded down to p_align as libdwfl rounds it when it
 * computes the bias of the file it opens. */
static bool load_range(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
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

/* The absolute path of the file mapped at `addr`, from /proc/self/maps,
 * into buf; false if none.  An object dlopen'ed by a relative path
 * ("./x.so") keeps that name in the loader's list, which names no file
 * once the program changed directory; the kernel keeps the real path. */
static bool mapped_path(uintptr_t addr, char *buf, size_t len)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[PATH_MAX + 128];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int at = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &at) != 2 || !at ||
            addr < lo || addr >= hi || line[at] != '/')
            continue;
        line[strcspn(line, "\n")] = '\0';
        found = snprintf(buf, len, "%s", line + at) < (int)len;
    }
    if (f)
        fclose(f);
    return found;
}

static void exe_locked(void)
{
    char path[PATH_MAX];
    if (!S.exe_known && realpath("/proc/self/exe", path))
        S.exe = intern_locked(path);
    S.exe_known = true;
}

/* The name reports give the object `info` (lo: its lowest address), real
 * holding it if needed; NULL for the vDSO and other objects without a
 * path (no file to read).  S.lock held, exe_locked() done. */
static const char *module_name_locked(const struct dl_phdr_info *info, uintptr_t lo,
                                      char real[PATH_MAX])
{
    const char *name = info->dlpi_name;
    if (!name || !name[0])
        return S.exe;
    if (!strchr(name, '/'))
        return NULL;
    if (name[0] != '/' && mapped_path(lo, real, PATH_MAX))
        return real;
    return name;
}

/* dl_iterate_phdr callback: reports one object to S.dwfl.  The vDSO and
 * other objects without a path are left out (no file to read). */
static int report_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    LG_UNUSED(size);
    LG_UNUSED(arg);
    char real[PATH_MAX];
    uintptr_t lo, hi;
    if (!load_range(info, &lo, &hi))
        return 0;
    const char *name = module_name_locked(info, lo, real);
    if (!name)
        return 0;
    Dwfl_Module *mod = D.dwfl_report_module(S.dwfl, name, lo, hi);
    void **ud;
    if (!mod || !D.dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL))
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

/* dwfl_report_end callback: a module whose object was unloaded.  Like
 * every libdwfl module callback it gets the address of the userdata slot
 * (void **), whatever the prototype's `void *` suggests. */
static int module_removed(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
                          void *arg)
{
    LG_UNUSED(mod);
    LG_UNUSED(name);
    LG_UNUSED(base);
    LG_UNUSED(arg);
    struct modinfo *mi = *(void **)userdata;
    if (mi) {
        lg__xfree(mi->syms);
        mi->syms = NULL;
        mi->nsyms = 0;
    }
    return DWARF_CB_OK;
}

/* Makes S.dwfl describe the objects loaded now, rebuilding its module list
 * only when the loader's counters moved.  Modules still there keep their
 * opened ELF and DWARF data.  Returns false if there is no session. */
static bool dwfl_sync_locked(void)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(read_counters, c);
    if (S.dwfl && c[0] == S.adds && c[1] == S.subs)
        return true;
    if (!S.dwfl) {
        exe_locked();
        if (!dw_load_locked())
            return false;
        S.dwfl = D.dwfl_begin(&D.callbacks);
        if (!S.dwfl)
            return false;
    }
    D.dwfl_report_begin(S.dwfl);
    dl_iterate_phdr(report_object, NULL);
    D.dwfl_report_end(S.dwfl, module_removed, NULL);
    S.adds = c[0];
    S.subs = c[1];
    return true;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return y->rank - x->rank;
}

/* The end, in this process, of section `shndx` of `elf` (a sizeless
 * symbol ends there at the latest), or 0. */
static uintptr_t section_end(Elf *elf, GElf_Word shndx, Dwarf_Addr bias)
{
    GElf_Shdr shdr;
    Elf_Scn *scn = elf ? D.elf_getscn(elf, shndx) : NULL;
    if (!scn || !D.gelf_getshdr(scn, &shdr))
        return 0;
    return (uintptr_t)(shdr.sh_addr + shdr.sh_size + bias);
}

/* Builds the module's sorted index of function symbols, once.  Why not
 * dwfl_module_addrinfo: it scans the whole symbol table on every call
 * (about 200 us per address in libc); the index answers by binary search.
 * Out of memory, the index stays empty and addrinfo is used instead. */
static void syms_build_locked(Dwfl_Module *mod, struct modinfo *mi)
{
    mi->syms_built = true;
    int n = D.dwfl_module_getsymtab(mod);
    struct sym *v = n > 1 ? lg__xmalloc((size_t)n * sizeof *v) : NULL;
    if (!v)
        return;
    size_t k = 0;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx;
        Elf *elf;
        Dwarf_Addr bias;
        const char *name = D.dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, &elf, &bias);
        int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
        if (!name || !name[0] || shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
            continue;
        /* Prefer a sized symbol, then global over weak over local, as
         * addrinfo does: the public name rather than a local alias. */
        v[k].rank = (sym.st_size > 0 ? RANK_SIZED : 0) + (bind == STB_GLOBAL ? 2
                                                          : bind == STB_WEAK ? 1
                                                                             : 0);
        v[k].lo = (uintptr_t)addr;
        v[k].hi = sym.st_size ? (uintptr_t)(addr + sym.st_size) : section_end(elf, shndx, bias);
        if (v[k].hi <= v[k].lo)
            v[k].hi = v[k].lo + 1;
        v[k++].name = name;
    }
    qsort(v, k, sizeof *v, sym_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++)
        if (m == 0 || v[m - 1].lo != v[i].lo)
            v[m++] = v[i];
    /* A sizeless symbol (_init, assembly) runs to the next symbol, within
     * its section. */
    for (size_t i = 0; i + 1 < m; i++)
        if (!(v[i].rank & RANK_SIZED) && v[i].hi > v[i + 1].lo)
            v[i].hi = v[i + 1].lo;
    mi->syms = v;
    mi->nsyms = m;
}

/* The function symbol containing pc, or NULL. */
static const char *syms_find(const struct modinfo *mi, uintptr_t pc)
{
    size_t lo = 0, hi = mi->nsyms;
    while (lo < hi) { /* first symbol starting after pc */
        size_t mid = lo + (hi - lo) / 2;
        if (mi->syms[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && pc < mi->syms[lo - 1].hi ? mi->syms[lo - 1].name : NULL;
}

/* The name of the innermost inlined subroutine holding pc below `scope`
 * (a subprogram, lexical block or inlined subroutine holding pc), else
 * `found`.  Only scopes holding pc are entered. */
static const char *innermost_inlined(Dwarf_Die *scope, Dwarf_Addr pc, const char *found)
{
    Dwarf_Die die;
    if (D.dwarf_child(scope, &die) != 0)
        return found;
    do {
        int tag = D.dwarf_tag(&die);
        if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) &&
            D.dwarf_haspc(&die, pc) == 1) {
            if (tag == DW_TAG_inlined_subroutine)
                found = D.dwarf_diename(&die); /* follows abstract_origin */
            return innermost_inlined(&die, pc, found);
        }
    } while (D.dwarf_siblingof(&die, &die) == 0);
    return found;
}

/* Looks for the subprogram holding pc among the children of `scope` (a CU
 * or a namespace); returns true when found, with *name its innermost
 * inlined subroutine at pc (NULL if none). */
static bool find_subprogram(Dwarf_Die *scope, Dwarf_Addr pc, const char **name)
{
    Dwarf_Die die;
    if (D.dwarf_child(scope, &die) != 0)
        return false;
    do {
        int tag = D.dwarf_tag(&die);
        if (tag == DW_TAG_subprogram && D.dwarf_haspc(&die, pc) == 1) {
            *name = innermost_inlined(&die, pc, NULL);
            return true;
        }
        if (tag == DW_TAG_namespace && find_subprogram(&die, pc, name))
            return true;
    } while (D.dwarf_siblingof(&die, &die) == 0);
    return false;
}

/* The innermost inlined function containing pc, or NULL when pc is not in
 * inlined code.  Inlined code carries the line of the inlined function but
 * the symbol of the function it was inlined into; naming the inlined one
 * keeps function and line telling the same story.  Not dwarf_getscopes:
 * it walks the whole CU, twice for inlined code (3 ms per address in a
 * CU of 10,000 functions); this walk skips every sibling that does not
 * hold pc. */
static const char *inlined_function(Dwfl_Module *mod, Dwarf_Addr pc)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = D.dwfl_module_addrdie(mod, pc, &bias);
    const char *name = NULL;
    if (cu)
        find_subprogram(cu, pc - bias, &name);
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
    Dwfl_Module *mod = D.dwfl_addrmodule(S.dwfl, pc);
    void **ud;
    if (!mod || !D.dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL))
        return;
    struct modinfo *mi = *ud;
    if (!mi || !mi->name)
        return;
    e->module = mi->name;
    e->offset = addr - mi->bias;

    e->function = inlined_function(mod, pc);
    if (!e->function) {
        if (!mi->syms_built)
            syms_build_locked(mod, mi);
        GElf_Off off;
        GElf_Sym sym;
        e->function =
            intern_locked(mi->syms ? syms_find(mi, (uintptr_t)pc)
                                   : D.dwfl_module_addrinfo(mod, pc, &off, &sym, NULL, NULL, NULL));
    }
    Dwfl_Line *line = D.dwfl_module_getsrc(mod, pc);
    int lineno = 0;
    const char *file = line ? D.dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
        e->file = intern_locked(file);
        e->line = lineno > 0 ? (unsigned)lineno : 0;
    }
}

/* ---- answers from the runner (symserve.c) ------------------------------
 *
 * A request names one byte of one file: the object's name as reports give
 * it, its GNU build-id, and the return address's offset from its load
 * bias.  The answer is what this symbolizer finds there in the answering
 * process.  Both are datagrams of at most LG_SYMSERVE_MAX bytes:
 *
 *   request  "LGS1" | offset u64 | id length u8 | build-id | name
 *   answer   "LGS1" | 0 found, 1 refused | has function 1, file 2 | line
 *            u32 | function NUL | file NUL  (the two strings if present)
 *
 * Integers are in the machine's order: both ends run on one machine. */

static void lookup_locked(uintptr_t addr, struct entry *e);

#define MAGIC "LGS1"
#define REQ_HEAD 13 /* magic, offset, id length */
#define ANS_HEAD 10 /* magic, status, flags, line */

/* The GNU build-id note of a loaded object, read from its mapped program
 * headers; its length (0: none, or not within a loaded segment). */
static size_t build_id(const struct dl_phdr_info *info, uintptr_t lo, uintptr_t hi,
                       const unsigned char **id)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        uintptr_t p = info->dlpi_addr + ph->p_vaddr, end = p + ph->p_memsz;
        uintptr_t align = ph->p_align == 8 ? 8 : 4;
        if (p < lo || end > hi || end < p)
            continue;
        while (end - p >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            uintptr_t name = p + sizeof *n, desc = name + ((n->n_namesz + align - 1) & ~(align - 1));
            uintptr_t next = desc + ((n->n_descsz + align - 1) & ~(align - 1));
            if (next > end || next <= p)
                break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                memcmp((const void *)name, "GNU", 4) == 0 && n->n_descsz <= 255) {
                *id = (const unsigned char *)desc;
                return n->n_descsz;
            }
            p = next;
        }
    }
    return 0;
}

/* Whether pc lies in a loaded segment of `info`. */
static bool holds(const struct dl_phdr_info *info, uintptr_t pc)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && pc >= a && pc - a < ph->p_memsz)
            return true;
    }
    return false;
}

/* One object, looked for by address (the asking side) or by name and
 * build-id (the answering side). */
struct object {
    uintptr_t pc;              /* asking: the address looked up */
    const char *name;          /* the module name (asking: interned) */
    const unsigned char *id;   /* build-id (answering: the request's) */
    size_t idlen;
    uintptr_t bias;            /* found: the object's load bias */
    bool found;
};

static int object_at_pc(struct dl_phdr_info *info, size_t size, void *arg)
{
    LG_UNUSED(size);
    struct object *o = arg;
    uintptr_t lo, hi;
    char real[PATH_MAX];
    if (!holds(info, o->pc) || !load_range(info, &lo, &hi))
        return 0;
    o->found = true;
    o->name = intern_locked(module_name_locked(info, lo, real));
    o->idlen = build_id(info, lo, hi, &o->id);
    o->bias = info->dlpi_addr;
    return 1;
}

static int object_named(struct dl_phdr_info *info, size_t size, void *arg)
{
    LG_UNUSED(size);
    struct object *o = arg;
    uintptr_t lo, hi;
    char real[PATH_MAX];
    const unsigned char *id;
    if (!load_range(info, &lo, &hi))
        return 0;
    const char *name = module_name_locked(info, lo, real);
    if (!name || strcmp(name, o->name) != 0)
        return 0;
    if (build_id(info, lo, hi, &id) == o->idlen && memcmp(id, o->id, o->idlen) == 0) {
        o->found = true;
        o->bias = info->dlpi_addr;
    }
    return 1;
}

size_t lg__symbolize_answer(const void *request, size_t n, void *answer, size_t cap)
{
    const unsigned char *q = request;
    unsigned char *a = answer;
    char name[PATH_MAX];
    uint64_t offset;
    if (n < REQ_HEAD || memcmp(q, MAGIC, 4) != 0 || cap < ANS_HEAD ||
        n - REQ_HEAD <= q[12] || n - REQ_HEAD - q[12] >= sizeof name)
        return 0;
    memcpy(&offset, q + 4, sizeof offset);
    struct object o = {.id = q + REQ_HEAD, .idlen = q[12], .name = name};
    memcpy(name, q + REQ_HEAD + o.idlen, n - REQ_HEAD - o.idlen);
    name[n - REQ_HEAD - o.idlen] = '\0';
    memcpy(a, MAGIC, 4);
    memset(a + 4, 0, ANS_HEAD - 4);
    a[4] = 1; /* refused, unless found below */
    if (!o.idlen)
        return ANS_HEAD; /* without a build-id, no proof it is the same file */
    pthread_once(&atfork_once, atfork_register);
    int saved = errno;
    struct entry e;
    lock();
    exe_locked();
    dl_iterate_phdr(object_named, &o);
    uintptr_t addr = o.bias + (uintptr_t)offset;
    bool ok = o.found && offset > 0;
    if (ok) { /* addr - 1, the call, in that object too */
        struct object at = {.pc = addr - 1};
        dl_iterate_phdr(object_at_pc, &at);
        ok = at.found && at.bias == o.bias;
    }
    if (ok) {
        lookup_locked(addr, &e);
        ok = e.module != NULL;
    }
    unlock();
    errno = saved;
    if (!ok)
        return ANS_HEAD;
    size_t len = ANS_HEAD, fl = e.function ? strlen(e.function) + 1 : 0,
           il = e.file ? strlen(e.file) + 1 : 0;
    if (len + fl + il > cap)
        return ANS_HEAD; /* too long to send: the worker resolves it */
    a[4] = 0;
    a[5] = (unsigned char)((e.function ? 1 : 0) | (e.file ? 2 : 0));
    uint32_t line = e.line;
    memcpy(a + 6, &line, sizeof line);
    memcpy(a + len, e.function ? e.function : "", fl);
    memcpy(a + len + fl, e.file ? e.file : "", il);
    return len + fl + il;
}

/* Asks the runner for addr (LEAKGATE_SYMBOLIZER): true with *e filled
 * when it answered, false to resolve here (no runner, an object it does
 * not hold, no build-id, any failure). */
static bool ask_locked(uintptr_t addr, struct entry *e)
{
    if (!lg__symserve_on_locked())
        return false;
    exe_locked();
    struct object o = {.pc = addr - 1};
    dl_iterate_phdr(object_at_pc, &o);
    size_t nl = o.name ? strlen(o.name) : 0;
    if (!o.found || !o.name || !o.idlen || REQ_HEAD + o.idlen + nl > LG_SYMSERVE_MAX)
        return false;
    unsigned char q[LG_SYMSERVE_MAX], a[LG_SYMSERVE_MAX];
    uint64_t offset = addr - o.bias;
    memcpy(q, MAGIC, 4);
    memcpy(q + 4, &offset, sizeof offset);
    q[12] = (unsigned char)o.idlen;
    memcpy(q + REQ_HEAD, o.id, o.idlen);
    memcpy(q + REQ_HEAD + o.idlen, o.name, nl);
    size_t n = lg__symserve_ask_locked(q, REQ_HEAD + o.idlen + nl, a, sizeof a - 1);
    if (n < ANS_HEAD || memcmp(a, MAGIC, 4) != 0 || a[4] != 0)
        return false;
    a[n] = '\0';
    const char *function = NULL, *file = NULL, *p = (const char *)a + ANS_HEAD,
               *end = (const char *)a + n;
    if (a[5] & 1) {
        function = p;
        p += strlen(p) + 1;
    }
    if (a[5] & 2) {
        if (p >= end)
            return false;
        file = p;
    }
    uint32_t line;
    memcpy(&line, a + 6, sizeof line);
    memset(e, 0, sizeof *e);
    e->addr = addr;
    e->module = o.name;
    e->offset = offset;
    e->function = intern_locked(function);
    e->file = intern_locked(file);
    e->line = file ? line : 0;
    S.answered++;
    return true;
}

/* Fills *e from the cache, resolving and caching on a miss (the runner's
 * answer first, when there is one).  Answers without a module are not
 * cached: an object may be loaded there later. */
static void lookup_locked(uintptr_t addr, struct entry *e)
{
    const struct entry *hit = cache_find_locked(addr);
    if (hit) {
        *e = *hit;
        return;
    }
    if (!ask_locked(addr, e))
        resolve_locked(addr, e);
    if (e->module)
        cache_add_locked(e);
}

void lg__symbolize(uintptr_t addr, lg_frame_t *out)
{
    if (lg__interp_resolve(addr, out))
        return;
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
    LG_UNUSED(size);
    struct object_range *r = arg;
    if (info->dlpi_addr != r->lm->l_addr || strcmp(info->dlpi_name, r->lm->l_name) != 0)
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
    struct object_range r = {NULL, 0, 0};
    /* The main program (empty name) is never unloaded. */
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0]) {
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

void lg_symbolize(uintptr_t addr, lg_frame_t *out)
{
    lg__symbolize(addr, out);
}

uint64_t lg__symbolize_answered(void)
{
    lock();
    uint64_t n = S.answered;
    unlock();
    return n;
}
