/*
 * test_symbolize.c — unit tests of symbolize.c and the dlclose interposer
 * (hooks_dl.c): function, file:line, module and offset of return
 * addresses in this program, in libc, in nothing, in inlined code, in
 * a library unloaded after its frames were interned, and as a runner
 * answers them for its workers (symserve.c).
 */
#include "lg_internal.h"
#include "lgtest.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Returns its own return address: a point just after a call in the
 * caller, on the caller's line. */
static __attribute__((noinline)) void *where_am_i(void)
{
    void *ra = __builtin_return_address(0);
    __asm__ volatile("" : "+r"(ra)); /* keep it a real, separate call */
    return ra;
}

/* The load bias (link_map l_addr) of the object holding addr. */
static uintptr_t bias_of(void *addr)
{
    Dl_info info;
    struct link_map *lm = NULL;
    if (!dladdr1(addr, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return 0;
    return lm->l_addr;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, m = strlen(suffix);
    return s && n >= m && strcmp(s + n - m, suffix) == 0;
}

LGT_TEST(function_file_line_in_program)
{
    unsigned line = __LINE__ + 1;
    void *addr = where_am_i();
    lg_frame_t f;
    lg__symbolize((uintptr_t)addr, &f);
    ASSERT_EQ(f.kind, LG_FRAME_NATIVE);
    ASSERT_EQ(f.addr, (uintptr_t)addr);
    ASSERT_STR_EQ(f.function, __func__);
    ASSERT(ends_with(f.file, "test_symbolize.c"));
    ASSERT_EQ(f.line, line);
    ASSERT(ends_with(f.module, "/test_symbolize"));
    ASSERT_EQ(f.offset, (uintptr_t)addr - bias_of(addr));
}

static inline __attribute__((always_inline)) void *inlined_where(unsigned *line)
{
    *line = __LINE__ + 1;
    return where_am_i();
}

LGT_TEST(inlined_function_is_named_with_its_line)
{
    unsigned line;
    void *addr = inlined_where(&line);
    lg_frame_t f;
    lg__symbolize((uintptr_t)addr, &f);
    ASSERT_STR_EQ(f.function, "inlined_where");
    ASSERT(ends_with(f.file, "test_symbolize.c"));
    ASSERT_EQ(f.line, line);
}

static void *libc_ra;

static int record_caller(const void *a, const void *b)
{
    libc_ra = __builtin_return_address(0);
    return *(const int *)a - *(const int *)b;
}

/* A return address inside libc: where qsort calls the comparator. */
static void *libc_address(void)
{
    int v[] = {3, 1, 2};
    libc_ra = NULL;
    qsort(v, 3, sizeof v[0], record_caller);
    return libc_ra;
}

LGT_TEST(address_in_libc)
{
    void *addr = libc_address();
    ASSERT(addr != NULL);
    lg_frame_t f;
    lg__symbolize((uintptr_t)addr, &f);
    ASSERT_CONTAINS(f.module, "libc.so");
    ASSERT_EQ(f.offset, (uintptr_t)addr - bias_of(addr));
}

LGT_TEST(unknown_addresses_give_null_fields)
{
    void *heap = malloc(16);
    uintptr_t addrs[] = {0, 1, 4096, (uintptr_t)heap, UINTPTR_MAX >> 1};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        lg_frame_t f;
        lg__symbolize(addrs[i], &f);
        ASSERT_EQ(f.addr, addrs[i]);
        ASSERT(f.function == NULL && f.file == NULL && f.module == NULL);
        ASSERT_EQ(f.line, 0);
        ASSERT_EQ(f.offset, 0);
    }
    free(heap);
    /* A word with the interpreter bit never names native code; one that no
     * lg_interp_frame() gave is an unknown interpreter frame. */
    lg_frame_t f;
    lg__symbolize(UINTPTR_MAX, &f);
    ASSERT_EQ(f.kind, LG_FRAME_PYTHON);
    ASSERT_STR_EQ(f.file, "<unknown>");
    ASSERT(f.function == NULL && f.module == NULL);
}

LGT_TEST(repeated_lookups_share_strings)
{
    void *addr = where_am_i();
    lg_frame_t a, b;
    lg__symbolize((uintptr_t)addr, &a);
    lg__symbolize((uintptr_t)addr, &b);
    ASSERT(a.function != NULL && a.file != NULL && a.module != NULL);
    ASSERT(a.function == b.function);
    ASSERT(a.file == b.file);
    ASSERT(a.module == b.module);
    ASSERT_EQ(a.line, b.line);
    ASSERT_EQ(a.offset, b.offset);
    /* Interned: another address of the same file and module shares them. */
    void *other = where_am_i();
    lg__symbolize((uintptr_t)other, &b);
    ASSERT(a.file == b.file);
    ASSERT(a.module == b.module);
}

struct thread_arg {
    uintptr_t addrs[2];
    lg_frame_t frames[2];
};

static void *symbolize_thread(void *p)
{
    struct thread_arg *t = p;
    for (int round = 0; round < 50; round++)
        for (int i = 0; i < 2; i++)
            lg__symbolize(t->addrs[i], &t->frames[i]);
    return NULL;
}

LGT_TEST(threads_get_the_same_answers)
{
    /* Fresh addresses (not cached yet) make the threads race on misses. */
    uintptr_t addrs[2] = {(uintptr_t)where_am_i(), (uintptr_t)libc_address()};
    struct thread_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memcpy(args[i].addrs, addrs, sizeof addrs);
        ASSERT_EQ(pthread_create(&th[i], NULL, symbolize_thread, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 1; i < 4; i++) {
        for (int j = 0; j < 2; j++) {
            ASSERT(args[i].frames[j].module != NULL);
            ASSERT(args[i].frames[j].function == args[0].frames[j].function);
            ASSERT(args[i].frames[j].module == args[0].frames[j].module);
            ASSERT_EQ(args[i].frames[j].offset, args[0].frames[j].offset);
        }
    }
}

static void *lib_callback(void)
{
    return __builtin_return_address(0);
}

/* Loads lib, interns a traceback with a frame in it, unloads it through
 * the interposer, then symbolizes that frame. */
static void check_frames_survive_dlclose(const char *lib)
{
    void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        LGT_FAIL("dlopen: %s", dlerror());
    void *(*call)(void *(*)(void), unsigned *);
    *(void **)&call = dlsym(h, "dlclose_lib_call");
    ASSERT(call != NULL);
    unsigned line = 0;
    void *where = call(lib_callback, &line);
    uint64_t offset = (uintptr_t)where - bias_of(where);

    ASSERT_EQ(lg_start(16), 0);
    uintptr_t frames[2] = {(uintptr_t)where, (uintptr_t)where_am_i()};
    ASSERT(lg__intern(frames, 2, 2) != LG_TB_NONE);
#ifdef LG_NO_INTERPOSE
    lg__symbolize_before_dlclose(h); /* sanitizer builds: no interposer */
#endif
    ASSERT_EQ(dlclose(h), 0); /* the interposer in hooks_dl.c */
    Dl_info info;
    int still_loaded = dladdr(where, &info);
    lg_frame_t f, g;
    lg__symbolize((uintptr_t)where, &f);
    lg__symbolize((uintptr_t)where + 1, &g); /* never interned */
    lg_stop();

    ASSERT_EQ(still_loaded, 0);
    ASSERT(ends_with(f.module, "/libdlclose_test.so"));
    ASSERT_EQ(f.offset, offset);
    ASSERT_STR_EQ(f.function, "dlclose_lib_call");
    ASSERT(ends_with(f.file, "dlclose_lib.c"));
    ASSERT_EQ(f.line, line);
    ASSERT(g.module == NULL && g.function == NULL);
}

LGT_TEST(frames_survive_dlclose)
{
    char dir[] = "/tmp/lg-symbolize-XXXXXX", lib[600];
    ASSERT(mkdtemp(dir) != NULL);
    /* The file stays until the end: libdw reads it when first asked. */
    int built = lgt_build_dlclose_lib(dir, lib, sizeof lib);
    if (built == 0)
        check_frames_survive_dlclose(lib);
    unlink(lib);
    rmdir(dir);
    if (built != 0)
        LGT_FAIL("building the test library failed (%d)", built);
}

/* A runner serving its workers (symserve.c): a forked child, taken for a
 * worker, asks this process and gets what this process finds itself, for
 * an address in this program and one in libc; neither was resolved here
 * before the child asked. */
LGT_TEST(a_worker_gets_the_runners_answers)
{
    ASSERT_EQ(lg_symbolize_serve(), 0);
    const char *v = getenv("LEAKGATE_SYMBOLIZER");
    ASSERT(v && v[0] == '@');
    unsigned line = __LINE__ + 1;
    uintptr_t here = (uintptr_t)where_am_i(), in_libc = (uintptr_t)(void *)strtoul + 1;
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        lg__symserve_reset(); /* a worker: it asks, it does not answer */
        char buf[2048];
        lg_frame_t f, g;
        lg__symbolize(here, &f);
        lg__symbolize(in_libc, &g);
        int n = snprintf(buf, sizeof buf, "%llu|%s|%s|%u|%s|%llu|%s|%s|%u|%s|%llu",
                         (unsigned long long)lg__symbolize_answered(), f.function, f.file,
                         f.line, f.module, (unsigned long long)f.offset, g.function, g.file,
                         g.line, g.module, (unsigned long long)g.offset);
        _exit(write(fds[1], buf, (size_t)n) == n ? 0 : 1);
    }
    close(fds[1]);
    char got[2048] = "", want[2048];
    ssize_t n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    lg_frame_t f, g;
    lg__symbolize(here, &f);
    lg__symbolize(in_libc, &g);
    snprintf(want, sizeof want, "2|%s|%s|%u|%s|%llu|%s|%s|%u|%s|%llu", f.function, f.file, f.line,
             f.module, (unsigned long long)f.offset, g.function, g.file, g.line, g.module,
             (unsigned long long)g.offset);
    ASSERT_STR_EQ(got, want);
    ASSERT_STR_EQ(f.function, __func__);
    ASSERT_EQ(f.line, line);
}

LGT_MAIN()
