/*
 * util.c — helpers every layer shares: the string builder, growing
 * arrays, and the words of reports (sizes, plurals, file names).  The hash
 * table is map.c's.
 *
 * Report-time memory: everything here comes from lg__xmalloc (the real
 * allocator, never traced), so rendering inside a traced process leaves
 * no trace of its own.  Declarations and invariants in lg_util.h.
 */
#include "lg_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- string builder ----------------------------------------------------- */

static bool sb_reserve(lg__sb_t *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1)
        ncap *= 2;
    char *np = lg__xrealloc(b->p, ncap);
    if (!np) {
        b->oom = true;
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}

void lg__sb_putn(lg__sb_t *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lg__sb_puts(lg__sb_t *b, const char *s)
{
    lg__sb_putn(b, s, strlen(s));
}

void lg__sb_printf(lg__sb_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        lg__sb_putn(b, small, (size_t)n);
        return;
    }
    if (!sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lg__sb_pad(lg__sb_t *b, size_t n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        lg__sb_putn(b, spaces, k);
        n -= k;
    }
}

char *lg__sb_finish(lg__sb_t *b)
{
    if (!b->oom && !b->p)
        sb_reserve(b, 0);
    char *s = b->oom ? NULL : b->p;
    if (s)
        s[b->len] = '\0';
    else
        lg__xfree(b->p);
    *b = (lg__sb_t){0};
    return s;
}

/* ---- vectors ------------------------------------------------------------- */

void *lg__vec_reserve(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap * 2 : first;
    if (ncap < n + 1 || ncap > SIZE_MAX / size)
        return NULL;
    void *nv = lg__xrealloc(items, ncap * size);
    if (nv)
        *cap = ncap;
    return nv;
}

/* ---- words of reports ---------------------------------------------------- */

lg__size_text_t lg__size_text(double size, bool sign)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    lg__size_text_t t;
    for (size_t i = 0;; i++) {
        double a = size < 0 ? -size : size;
        if (a < 100 && i > 0) {
            snprintf(t.s, sizeof t.s, sign ? "%+.1f %s" : "%.1f %s", size, units[i]);
            return t;
        }
        if (a < 10 * 1024 || i == 4) {
            snprintf(t.s, sizeof t.s, sign ? "%+.0f %s" : "%.0f %s", size, units[i]);
            return t;
        }
        size /= 1024;
    }
}

const char *lg__plural(int64_t n, const char *one, const char *many)
{
    return n == 1 || n == -1 ? one : many;
}

const char *lg__basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}
