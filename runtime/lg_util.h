/*
 * lg_util.h — helpers shared by every layer (runtime, plugin, gate): one
 * home, so no module carries its own copy.
 *
 *   lg__sb_t         a growable string (util.c)
 *   lg__vec_reserve  room for one more element in a doubling array (util.c)
 *   lg__map_t        an open-addressing hash table (map.c)
 *   lg__size_text, lg__plural, lg__basename   words of reports (util.c)
 *
 * Memory comes from the real allocator, never traced: report-time memory
 * (lg__xmalloc) unless said otherwise.
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

/* ---- vectors (util.c) ---------------------------------------------------- */

/* An array of `size`-byte elements (`items`, lg__xmalloc'd or NULL) with
 * room for *cap, n of them used: returns it with room for at least one
 * more, doubling it when full (`first` elements the first time), and
 * updates *cap.  Returns NULL when out of memory, the array and *cap
 * unchanged.  Use: `T *nv = lg__vec_reserve(v, &cap, n, sizeof *v, 64);
 * if (!nv) return LG_ENOMEM; v = nv; v[n++] = x;` */
void *lg__vec_reserve(void *items, size_t *cap, size_t n, size_t size, size_t first);

/* ---- hash table (map.c) -------------------------------------------------- */

/* Open addressing with linear probing and backward-shift deletion, for
 * small fixed-size entries.  An entry starts with its key, two 64-bit
 * words (a, b) with a != 0; what follows is the caller's value, zeroed
 * when the entry is added.  Grows by doubling at 3/4 full.
 *
 *   entry: [ a | b | value ...... ]   esize bytes, a multiple of 8
 *   a == 0: an empty slot
 */
typedef struct lg__map {
    unsigned char *slots; /* cap entries of esize bytes */
    size_t cap, len;      /* cap: 0 or a power of two */
    size_t esize;         /* at least 16 */
    bool counted;         /* memory from lg__mem_* (tracer memory) */
} lg__map_t;

/* An empty map of `esize`-byte entries (no memory until the first add). */
#define LG_MAP_INIT(esize, counted)    \
    {                                  \
        NULL, 0, 0, (esize), (counted) \
    }

/* The entry of key (a, b), or NULL when there is none. */
void *lg__map_find(const lg__map_t *m, uint64_t a, uint64_t b);
/* The entry of key (a, b), added when there is none (*added tells).
 * Returns NULL when out of memory (the map is unchanged): the map makes
 * room before it looks, so a full map may fail even for a present key. */
void *lg__map_put(lg__map_t *m, uint64_t a, uint64_t b, bool *added);
/* Removes an entry returned by find or put (pointers to other entries may
 * move). */
void lg__map_remove(lg__map_t *m, void *entry);
/* The entry in slot i < m->cap, or NULL when the slot is empty: visits
 * every entry in slot order. */
void *lg__map_slot(const lg__map_t *m, size_t i);
/* Frees the slots; the map is empty again, ready for reuse. */
void lg__map_clear(lg__map_t *m);

/* ---- words of reports (util.c) ------------------------------------------- */

/* A formatted size, by value so that several fit in one printf. */
typedef struct lg__size_text {
    char s[32];
} lg__size_text_t;

/* A size as tracemalloc's _format_size: "64 B", "10 KiB", "1.5 MiB"; with
 * `sign`, "+64 B" / "-1.5 MiB". */
lg__size_text_t lg__size_text(double size, bool sign);

/* `one` when n is 1 or -1, else `many`: lg__plural(n, "block", "blocks"),
 * or as a suffix, "%lld block%s" with lg__plural(n, "", "s"). */
const char *lg__plural(int64_t n, const char *one, const char *many);

/* The file name of a path ("libc.so.6" of "/lib/libc.so.6"); the path
 * itself when it has no '/' or ends in one. */
const char *lg__basename(const char *path);

/* a + b, held at INT64_MAX or INT64_MIN instead of wrapping: sums of sizes
 * and counts read from files. */
static inline int64_t lg__add_sat(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

#endif /* LG_UTIL_H */
