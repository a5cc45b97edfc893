/*
 * lg_util.h — helpers shared by every layer (runtime, plugin, gate): one
 * home, so no module carries its own copy.
 *
 *   lg__sb_t   a growable string (util.c)
 *
 * All memory is report-time memory (lg__xmalloc: the real allocator, never
 * traced).
 */
#ifndef LG_UTIL_H
#define LG_UTIL_H

#ifndef LG_BUILDING_LIBRARY
#error "lg_util.h is internal to leakgate"
#endif

#include "lg_internal.h"

/* A string being built.  Once an append fails, `oom` sticks and every later
 * append is a no-op, so callers check once at the end. */
typedef struct lg__sb {
    char *p; /* NUL-terminated when len > 0; lg__xmalloc'd */
    size_t len, cap;
    bool oom;
} lg__sb_t;

/* Append n bytes of s, a C string, or printf's output. */
void lg__sb_putn(lg__sb_t *b, const char *s, size_t n);
void lg__sb_puts(lg__sb_t *b, const char *s);
void lg__sb_printf(lg__sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n spaces. */
void lg__sb_pad(lg__sb_t *b, size_t n);
/* Hands the string over (caller frees with lg__xfree; lg_string_free for
 * a user), or NULL when an append ran out of memory; the builder is reset
 * either way. */
char *lg__sb_finish(lg__sb_t *b);

#endif /* LG_UTIL_H */
