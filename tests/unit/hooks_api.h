/*
 * hooks_api.h — the allocation functions as the tests call them: the
 * interposed names normally, the lg__hook_* names (declared in
 * lg_internal.h) in AddressSanitizer builds, where ASan owns malloc.
 */
#ifndef HOOKS_API_H
#define HOOKS_API_H
#include "lg_internal.h"
#ifdef LG_NO_INTERPOSE
#define T(name) lg__hook_##name
#else
#include <malloc.h>
#include <stdlib.h>
#define T(name) name
#endif
#endif
