/* Tests of traceback capture: frame 0 is the allocator's caller, in every
 * unwinding mode; depth limits; total_nframe; the replaceable hook. */
#include "lg_internal.h"
#include "hooks_api.h"
#include "lgtest.h"

static uintptr_t ra_into_caller; /* return address of leaf() into its caller */

__attribute__((noinline)) static void *leaf(size_t n)
{
    ra_into_caller = (uintptr_t)__builtin_return_address(0);
    void *p = T(malloc)(n);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return p;
}

__attribute__((noinline)) static void *deep(int depth, size_t n)
{
    void *p = depth ? deep(depth - 1, n) : leaf(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

static int traceback_of(void *p, uintptr_t *frames, int max)
{
    return lg_get_traceback(LG_DOMAIN_C, (uintptr_t)p, frames, max);
}

static void check_mode(int mode)
{
    lg__set_unwind_mode(mode);
    ASSERT_EQ(lg_start(16), 0);
    void *p = deep(5, 8); /* leaf + 6 deep() frames */
    uintptr_t f[16];
    int n = traceback_of(p, f, 16);
    ASSERT_GE(n, 7);
    /* frame 0 is inside leaf(), frame 1 is the call in deep(0). */
    ASSERT_GE(f[0], (uintptr_t)leaf);
    ASSERT_LT(f[0], (uintptr_t)leaf + 128);
    ASSERT_EQ(f[1], ra_into_caller);
    for (int i = 1; i <= 6; i++) {
        ASSERT_GE(f[i], (uintptr_t)deep);
        ASSERT_LT(f[i], (uintptr_t)deep + 128);
    }
    ASSERT_EQ(f[2], f[3]); /* the recursive call site repeats */
    T(free)(p);
    lg_stop();
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

LGT_TEST(frame0_is_the_caller_with_frame_pointers)
{
    check_mode(LG_UNWIND_FP);
}
LGT_TEST(frame0_is_the_caller_with_libunwind)
{
    check_mode(LG_UNWIND_LIBUNWIND);
}
LGT_TEST(frame0_is_the_caller_in_auto_mode)
{
    check_mode(LG_UNWIND_AUTO);
}

LGT_TEST(depth_limit_and_total)
{
    ASSERT_EQ(lg_start(3), 0);
    ASSERT_EQ(lg_get_traceback_limit(), 3);
    /* Frames past the limit are counted up to LG_TOTAL_EXTRA more, by
     * either unwinder, and the allocation is 10 frames deep and more. */
    int modes[] = {LG_UNWIND_FP, LG_UNWIND_LIBUNWIND};
    for (int m = 0; m < 2; m++) {
        lg__set_unwind_mode(modes[m]);
        void *p = deep(10, 8);
        uintptr_t f[16];
        ASSERT_EQ(traceback_of(p, f, 16), 3);
        size_t size;
        uint32_t id;
        ASSERT_EQ(lg__table_get(LG_DOMAIN_C, (uintptr_t)p, &size, &id), 0);
        ASSERT_EQ(lg__tb_get(id)->total_nframe, 3 + LG_TOTAL_EXTRA);
        T(free)(p);
    }
    lg__set_unwind_mode(LG_UNWIND_AUTO);
    lg_stop();
    ASSERT_EQ(lg_start(0), 0); /* 0: LEAKGATE_FRAMES or the default */
    ASSERT_EQ(lg_get_traceback_limit(), LG_FRAMES_DEFAULT);
    ASSERT_EQ(lg_start(-1), LG_EINVAL);
    ASSERT_EQ(lg_start(LG_FRAMES_MAX + 1), LG_EINVAL);
    lg_stop();
}

static int fixed_backtrace(uintptr_t *frames, int max, uint32_t *total)
{
    static const uintptr_t fake[] = {0x1111, 0x2222, 0x3333};
    int n = max < 3 ? max : 3;
    memcpy(frames, fake, (size_t)n * sizeof *frames);
    *total = 3;
    return n;
}

LGT_TEST(replaceable_backtrace_makes_tracebacks_deterministic)
{
    lg__set_backtrace_hook(fixed_backtrace);
    ASSERT_EQ(lg_start(2), 0);
    void *p = T(malloc)(1);
    uintptr_t f[4];
    ASSERT_EQ(traceback_of(p, f, 4), 2);
    ASSERT_EQ(f[0], 0x1111);
    ASSERT_EQ(f[1], 0x2222);
    T(free)(p);
    lg_stop();
    lg__set_backtrace_hook(NULL);
}

#include <dlfcn.h>

static bool in_object(uintptr_t a, const char *name_part)
{
    Dl_info di;
    return dladdr((void *)a, &di) && di.dli_fname && strstr(di.dli_fname, name_part);
}

LGT_TEST(a_stop_object_ends_tracebacks_in_every_mode)
{
    ASSERT_EQ(lg_set_traceback_stop("no-such-object.so*"), LG_ENOTFOUND);
    int modes[] = {LG_UNWIND_FP, LG_UNWIND_LIBUNWIND, LG_UNWIND_AUTO};
    for (int m = 0; m < 3; m++) {
        lg__set_unwind_mode(modes[m]);
        ASSERT_EQ(lg_start(32), 0);
        /* deep() -> ... -> main() -> the C library's start-up code. */
        ASSERT_EQ(lg_set_traceback_stop("libc.so*"), 0);
        void *p = deep(3, 8);
        uintptr_t f[32];
        int n = traceback_of(p, f, 32);
        ASSERT_GE(n, 6); /* leaf, 4 deep(), the test... */
        ASSERT_EQ(in_object(f[n - 1], "libc.so"), 1);
        for (int i = 0; i < n - 1; i++)
            ASSERT_EQ(in_object(f[i], "libc.so"), 0);
        T(free)(p);
        ASSERT_EQ(lg_set_traceback_stop(NULL), 0);
        lg_stop();
    }
    lg__set_unwind_mode(LG_UNWIND_AUTO);
}

/* Calls leaf(n) with a frame pointer that is no frame (1): the walk breaks
 * right above leaf(). */
__attribute__((noinline)) static void *broken_chain(size_t n)
{
    void *p;
    void *(*fn)(size_t) = leaf;
    __asm__ volatile("mov %%rsp, %%r12\n\t"
                     "sub $128, %%rsp\n\t" /* past the red zone */
                     "and $-16, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "push %%rbp\n\t"
                     "mov $1, %%rbp\n\t"
                     "call *%[fn]\n\t"
                     "pop %%rbp\n\t"
                     "pop %%rbp\n\t"
                     "mov %%r12, %%rsp"
                     : "=a"(p), "+D"(n)
                     : [fn] "r"(fn)
                     : "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "r12", "memory", "cc");
    return p;
}

LGT_TEST(quick_capture_never_falls_back_to_libunwind)
{
    ASSERT_EQ(lg_start(16), 0);
    uint64_t before = lg_get_unwind_fallbacks();
    void *p = broken_chain(8);
    ASSERT_EQ(lg_get_unwind_fallbacks(), before + 1); /* auto: the chain broke */
    T(free)(p);
    lg_set_traceback_quick(1);
    int modes[] = {LG_UNWIND_AUTO, LG_UNWIND_LIBUNWIND};
    for (int m = 0; m < 2; m++) {
        lg__set_unwind_mode(modes[m]);
        before = lg_get_unwind_fallbacks();
        p = broken_chain(8);
        uintptr_t f[16];
        ASSERT_EQ(traceback_of(p, f, 16), 2); /* leaf and the call into it */
        ASSERT_GE(f[0], (uintptr_t)leaf);
        ASSERT_LT(f[0], (uintptr_t)leaf + 128);
        ASSERT_EQ(lg_get_unwind_fallbacks(), before);
        T(free)(p);
    }
    lg_set_traceback_quick(0);
    lg__set_unwind_mode(LG_UNWIND_AUTO);
    lg_stop();
}

LGT_MAIN()
