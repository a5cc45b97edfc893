/*
 * hooks_got.c — native tracing without a preload: the malloc family of the
 * loaded objects is routed through the hooks by rewriting their
 * imported-symbol tables.
 *
 * An object calls malloc through a slot of its global offset table (GOT)
 * that the dynamic linker filled with malloc's address.  lg_imports_patch()
 * walks the loaded objects (dl_iterate_phdr) and, in each, the relocations
 * that name an imported function — DT_JMPREL (the PLT's slots) and
 * DT_RELA (GLOB_DAT slots: the function's address taken) — and rewrites the
 * slots of the hooked functions to hold the hooks:
 *
 *   object's dynamic section ──> DT_SYMTAB, DT_STRTAB, DT_JMPREL, DT_RELA
 *   relocation {r_offset, sym} ──> name "malloc" ──> slot at base + r_offset
 *   slot: &malloc (libc's)  ──rewritten──>  lg__hook_malloc
 *
 * Which slots.  A slot is rewritten only when it holds what the hook itself
 * calls (lg__real.<name>), or, for a PLT slot not resolved yet (lazy
 * binding), an address inside the object; a slot holding another allocator
 * is left alone, so that the program's allocation results never change.
 * Every object is patched except the dynamic linker, the vDSO and this
 * library (whose own calls must reach the real allocator).  dlopen and
 * dlclose are rewritten too: objects loaded later are patched when their
 * dlopen returns, through lg__hook_dlopen (hooks_dl.c).
 *
 * Blocks.  A block the real allocator gave before the patch and freed
 * through a patched free is not traced: the hook passes it through (as any
 * block allocated before tracing began).
 *
 * Restore.  lg_imports_restore() walks the objects again and puts the real
 * function back into every slot that holds a hook: no list of slots is
 * kept, so an object unloaded meanwhile cannot be written to.
 *
 * Pages.  Slots inside the object's RELRO segment (read-only after
 * relocation) are written with the pages made writable for the write and
 * read-only again afterwards.  A slot is one aligned pointer store: a
 * thread calling through it meanwhile gets either function.
 *
 * State: `got` below, protected by got.lock (taken with the dynamic
 * linker's lock inside dl_iterate_phdr; nothing in the walk allocates).
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__x86_64__)
#define R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define R_GLOB_DAT  R_X86_64_GLOB_DAT
#define R_ABS       R_X86_64_64
#elif defined(__aarch64__)
#define R_JUMP_SLOT R_AARCH64_JUMP_SLOT
#define R_GLOB_DAT  R_AARCH64_GLOB_DAT
#define R_ABS       R_AARCH64_ABS64
#endif

#if defined(R_JUMP_SLOT) && !defined(LG_NO_INTERPOSE) && __SIZEOF_POINTER__ == 8
#define CAN_PATCH 1
#endif

/* One hooked import: its name, the hook, and what the hook calls. */
struct import {
    const char *name;
    void *hook;
    void *real;
};

static struct {
    pthread_mutex_t lock;
    int active;             /* patched, and objects loaded later get patched
                               (atomic; written under lock) */
    struct import imports[16];
    int nimports;           /* imports[] filled once, under lock */
    size_t page;            /* the page size */
    uintptr_t self;         /* this library's load base: never patched */
} got = {.lock = PTHREAD_MUTEX_INITIALIZER};

#ifdef CAN_PATCH

static void fill_imports_locked(void)
{
    if (got.nimports)
        return;
    int n = 0;
#define IMPORT(name, ret, params, args, body, size, align) \
    got.imports[n++] = (struct import){#name, (void *)lg__hook_##name, (void *)lg__real.name};
    LG_FOR_EACH_HOOKED_FUNCTION(IMPORT)
#undef IMPORT
    got.imports[n++] = (struct import){"dlopen", (void *)lg__hook_dlopen, (void *)lg__real.dlopen};
    got.imports[n++] = (struct import){"dlclose", (void *)lg__hook_dlclose, dlsym(RTLD_NEXT, "dlclose")};
    got.nimports = n;
    got.page = (size_t)sysconf(_SC_PAGESIZE);
    /* Found here, not in the walk: dladdr takes the loader's lock, which a
     * concurrent dlopen holds while it waits for the walk's. */
    Dl_info self;
    if (dladdr((void *)lg_imports_patch, &self))
        got.self = (uintptr_t)self.dli_fbase;
}

/* The dynamic section's entries hold addresses relocated by glibc, or
 * offsets from the load base (other C libraries, read-only sections). */
static uintptr_t dyn_addr(ElfW(Addr) base, ElfW(Addr) v)
{
    return v < base ? base + v : v;
}

/* One object's tables, found from its dynamic section. */
struct object {
    ElfW(Addr) base;
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Rela) *rela, *jmprel;
    size_t nrela, njmprel;
    uintptr_t lo, hi;           /* its mapped extent (PT_LOAD) */
    uintptr_t relro_lo, relro_hi; /* page-aligned RELRO range, or 0, 0 */
};

static bool object_read(const struct dl_phdr_info *info, struct object *o)
{
    memset(o, 0, sizeof *o);
    o->base = info->dlpi_addr;
    o->lo = UINTPTR_MAX;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = o->base + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)lo;
        else if (ph->p_type == PT_LOAD) {
            o->lo = lo < o->lo ? lo : o->lo;
            o->hi = hi > o->hi ? hi : o->hi;
        } else if (ph->p_type == PT_GNU_RELRO) {
            o->relro_lo = lo & ~(uintptr_t)(got.page - 1);
            o->relro_hi = hi & ~(uintptr_t)(got.page - 1); /* the loader rounds down */
        }
    }
    if (!dyn)
        return false;
    size_t relasz = 0, pltsz = 0;
    bool plt_rela = true;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: o->symtab = (const ElfW(Sym) *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_STRTAB: o->strtab = (const char *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_RELA: o->rela = (const ElfW(Rela) *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_RELASZ: relasz = dyn->d_un.d_val; break;
        case DT_JMPREL: o->jmprel = (const ElfW(Rela) *)dyn_addr(o->base, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltsz = dyn->d_un.d_val; break;
        case DT_PLTREL: plt_rela = dyn->d_un.d_val == DT_RELA; break;
        }
    }
    if (!o->symtab || !o->strtab)
        return false;
    o->nrela = o->rela ? relasz / sizeof *o->rela : 0;
    o->njmprel = o->jmprel && plt_rela ? pltsz / sizeof *o->jmprel : 0;
    return true;
}

/* The import a relocation names, or NULL. */
static const struct import *import_of(const struct object *o, const ElfW(Rela) *r)
{
    size_t type = ELF64_R_TYPE(r->r_info), sym = ELF64_R_SYM(r->r_info);
    if (!sym || (type != R_JUMP_SLOT && type != R_GLOB_DAT && !(type == R_ABS && !r->r_addend)))
        return NULL;
    const ElfW(Sym) *s = &o->symtab[sym];
    if (s->st_shndx != SHN_UNDEF) /* the object defines it: not an import */
        return NULL;
    const char *name = o->strtab + s->st_name;
    for (int i = 0; i < got.nimports; i++)
        if (strcmp(name, got.imports[i].name) == 0)
            return &got.imports[i];
    return NULL;
}

/* Writes `value` into `slot`, making a RELRO page writable meanwhile. */
static void slot_write(const struct object *o, void **slot, void *value)
{
    uintptr_t a = (uintptr_t)slot;
    bool relro = a >= o->relro_lo && a < o->relro_hi;
    void *page = (void *)(a & ~(uintptr_t)(got.page - 1));
    if (relro && mprotect(page, got.page, PROT_READ | PROT_WRITE) != 0)
        return; /* left as it is: that object's calls stay untraced */
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (relro)
        mprotect(page, got.page, PROT_READ);
}

static void relocs_visit(const struct object *o, const ElfW(Rela) *rel, size_t n, bool restore)
{
    for (size_t i = 0; i < n; i++) {
        const struct import *im = import_of(o, &rel[i]);
        if (!im)
            continue;
        void **slot = (void **)(o->base + rel[i].r_offset);
        void *v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (restore) {
            if (v == im->hook)
                slot_write(o, slot, im->real);
            continue;
        }
        bool lazy = ELF64_R_TYPE(rel[i].r_info) == R_JUMP_SLOT && (uintptr_t)v >= o->lo &&
                    (uintptr_t)v < o->hi;
        if (im->real && (v == im->real || lazy))
            slot_write(o, slot, im->hook);
    }
}

/* dl_iterate_phdr callback; `arg` is non-NULL to restore. */
static int object_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    LG_UNUSED(size);
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (info->dlpi_addr == got.self || strstr(name, "/ld-linux") || strstr(name, "/ld-musl") ||
        strstr(name, "linux-vdso"))
        return 0;
    struct object o;
    if (!object_read(info, &o))
        return 0;
    relocs_visit(&o, o.jmprel, o.njmprel, arg != NULL);
    relocs_visit(&o, o.rela, o.nrela, arg != NULL);
    return 0;
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&got.lock);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&got.lock);
}

static void atfork_register(void)
{
    pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

#endif /* CAN_PATCH */

int lg_native_hooks(void)
{
    if (!lg__real.malloc)
        lg__real_init();
#ifndef LG_NO_INTERPOSE
    /* A preload or a link made our malloc the one everybody calls. */
    if (dlsym(RTLD_DEFAULT, "malloc") == (void *)lg__hook_malloc)
        return LG_HOOKS_INTERPOSED;
#endif
    return __atomic_load_n(&got.active, __ATOMIC_ACQUIRE) ? LG_HOOKS_PATCHED : LG_HOOKS_NONE;
}

int lg_imports_patch(void)
{
    int now = lg_native_hooks();
    if (now != LG_HOOKS_NONE)
        return now;
#ifdef CAN_PATCH
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, atfork_register);
    pthread_mutex_lock(&got.lock);
    fill_imports_locked();
    dl_iterate_phdr(object_visit, NULL);
    __atomic_store_n(&got.active, 1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&got.lock);
    return LG_HOOKS_PATCHED;
#else
    return LG_ENOTSUP;
#endif
}

void lg_imports_restore(void)
{
#ifdef CAN_PATCH
    pthread_mutex_lock(&got.lock);
    if (got.active) {
        __atomic_store_n(&got.active, 0, __ATOMIC_RELEASE);
        dl_iterate_phdr(object_visit, &got);
    }
    pthread_mutex_unlock(&got.lock);
#endif
}

void lg__imports_loaded(void)
{
#ifdef CAN_PATCH
    if (!__atomic_load_n(&got.active, __ATOMIC_ACQUIRE))
        return;
    pthread_mutex_lock(&got.lock);
    if (got.active)
        dl_iterate_phdr(object_visit, NULL);
    pthread_mutex_unlock(&got.lock);
#endif
}
