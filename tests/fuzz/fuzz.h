/* fuzz.h — what the libFuzzer targets of tests/fuzz/ share: CHECK, which
 * turns a broken invariant into a crash libFuzzer reports, and the
 * allocator set-up. */
#ifndef LG_FUZZ_H
#define LG_FUZZ_H

#include "lg_internal.h"

#include <stdint.h>
#include <stdlib.h>

#define CHECK(c)              \
    do {                      \
        if (!(c))             \
            __builtin_trap(); \
    } while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Under libFuzzer (LG_NO_INTERPOSE: clang links AddressSanitizer into the
 * executable), the runtime's dlsym(RTLD_NEXT, "malloc") would find glibc's
 * allocator and ASan would not watch the parsers' own arrays: resolve it to
 * ASan's instead.  Replayed without libFuzzer (tests/fuzz/replay.c, hooks
 * linked), the runtime resolves its allocator as always. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    LG_UNUSED(argc);
    LG_UNUSED(argv);
#ifdef LG_NO_INTERPOSE
    lg__real.free = free;
    lg__real.calloc = calloc;
    lg__real.realloc = realloc;
    lg__real.malloc = malloc;
#endif
    return 0;
}

#endif
