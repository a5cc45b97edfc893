/*
 * unwind_shapes.c — call stacks of many shapes for test_unwind_cache.c,
 * which compiles this file at run time four ways (-O0 and -O2, with and
 * without frame pointers) and compares the tracebacks of allocations made
 * through shape() with libunwind's, frame for frame.
 *
 * Shapes (which, arg):
 *   0, 1  top_a() or top_b() -> mid() -> site(): identical frames, so the
 *         allocation is made at the same stack pointer and return address
 *         and only a deeper return address tells them apart
 *   2     recursion arg deep, then mid() -> site()
 *   3, 4  pad_a() or pad_b() with a variable-length array of 16 * arg bytes
 *         -> vla() with one of 16 * (8 - arg) bytes -> mid() -> site():
 *         frames whose CFA is computed from RBP, at the same stack pointer
 *         for every arg
 *   5     alloca(16 * arg) -> mid() -> site()
 * Every function is noipa: no inlining, cloning or identical-code folding.
 */
#include <alloca.h>
#include <stddef.h>

typedef void *(*alloc_fn)(size_t);

#define SHAPE __attribute__((noipa))
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory") /* no tail call */

void *shape(alloc_fn f, size_t n, int which, int arg);

SHAPE static void *site(alloc_fn f, size_t n)
{
    void *p = f(n);
    KEEP(p);
    return p;
}

SHAPE static void *mid(alloc_fn f, size_t n)
{
    void *p = site(f, n);
    KEEP(p);
    return p;
}

SHAPE static void *top_a(alloc_fn f, size_t n)
{
    void *p = mid(f, n);
    KEEP(p);
    return p;
}

SHAPE static void *top_b(alloc_fn f, size_t n)
{
    void *p = mid(f, n);
    KEEP(p);
    return p;
}

SHAPE static void *recurse(alloc_fn f, size_t n, int depth)
{
    void *p = depth ? recurse(f, n, depth - 1) : mid(f, n);
    KEEP(p);
    return p;
}

SHAPE static void *vla(alloc_fn f, size_t n, int bytes)
{
    volatile char buf[bytes];
    buf[0] = 1;
    void *p = mid(f, n);
    KEEP(p);
    buf[bytes - 1] = 2;
    return p;
}

SHAPE static void *pad_a(alloc_fn f, size_t n, int pad, int bytes)
{
    volatile char buf[pad];
    buf[0] = 1;
    void *p = vla(f, n, bytes);
    KEEP(p);
    buf[pad - 1] = 2;
    return p;
}

SHAPE static void *pad_b(alloc_fn f, size_t n, int pad, int bytes)
{
    volatile char buf[pad];
    buf[0] = 1;
    void *p = vla(f, n, bytes);
    KEEP(p);
    buf[pad - 1] = 2;
    return p;
}

SHAPE static void *with_alloca(alloc_fn f, size_t n, int bytes)
{
    volatile char *buf = alloca((size_t)bytes);
    buf[0] = 1;
    void *p = mid(f, n);
    KEEP(p);
    buf[bytes - 1] = 2;
    return p;
}

SHAPE void *shape(alloc_fn f, size_t n, int which, int arg)
{
    switch (which) {
    case 0: return top_a(f, n);
    case 1: return top_b(f, n);
    case 2: return recurse(f, n, arg);
    case 3: return pad_a(f, n, 16 * arg, 16 * (8 - arg));
    case 4: return pad_b(f, n, 16 * arg, 16 * (8 - arg));
    default: return with_alloca(f, n, 16 * arg);
    }
}
