/*
 * arena.c — bump allocation for objects freed all at once (a snapshot's
 * frames, tracebacks and strings; interned tracebacks).
 *
 *   chunks -> [next|size|used| data ........ ] -> [ ... ] -> NULL
 *
 * Each chunk comes from the real allocator; an allocation bigger than the
 * default chunk gets a chunk of its own.  Memory is zeroed and 16-aligned.
 */
#include "lg_internal.h"

#include <string.h>

struct lg__chunk {
    struct lg__chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

#define CHUNK_DATA (64 * 1024 - sizeof(struct lg__chunk))

void *lg__arena_alloc(lg__arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct lg__chunk *c = a->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_DATA ? n : CHUNK_DATA;
        size_t total = sizeof *c + size;
        c = lg__xcalloc(1, total);
        if (!c)
            return NULL;
        c->size = size;
        if (a->counted)
            lg__mem_account((int64_t)total);
        a->bytes += total;
        /* Keep a partly used current chunk in front for small allocations. */
        if (a->chunks && size > CHUNK_DATA) {
            c->next = a->chunks->next;
            a->chunks->next = c;
        } else {
            c->next = a->chunks;
            a->chunks = c;
        }
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

char *lg__arena_strdup(lg__arena_t *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = lg__arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void lg__arena_release(lg__arena_t *a)
{
    struct lg__chunk *c = a->chunks;
    while (c) {
        struct lg__chunk *next = c->next;
        lg__xfree(c);
        c = next;
    }
    if (a->counted)
        lg__mem_account(-(int64_t)a->bytes);
    a->chunks = NULL;
    a->bytes = 0;
}
