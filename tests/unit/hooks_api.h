/*
 * hooks_api.h — the allocation functions as the tests call them: the
 * interposed names normally, the lg__hook_* names in AddressSanitizer
 * builds (LG_NO_INTERPOSE), where ASan owns malloc.
 */
#ifndef HOOKS_API_H
#define HOOKS_API_H
#include <stddef.h>
#ifdef LG_NO_INTERPOSE
void *lg__hook_malloc(size_t);
void lg__hook_free(void *);
void *lg__hook_calloc(size_t, size_t);
void *lg__hook_realloc(void *, size_t);
void *lg__hook_reallocarray(void *, size_t, size_t);
int lg__hook_posix_memalign(void **, size_t, size_t);
void *lg__hook_aligned_alloc(size_t, size_t);
void *lg__hook_memalign(size_t, size_t);
void *lg__hook_valloc(size_t);
void *lg__hook_pvalloc(size_t);
#define T(name) lg__hook_##name
#else
#include <malloc.h>
#include <stdlib.h>
#define T(name) name
#endif
#endif
