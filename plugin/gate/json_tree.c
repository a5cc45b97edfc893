/*
 * json_tree.c — JSON documents as a small tree, for the gate's readers of
 * reports and baselines.  Entry point: lg__json_parse().
 *
 * The grammar is json.c's scanner (the one a report merge uses): each
 * value is validated by it, then decoded.  Strings are decoded to UTF-8
 * (\u0000 and lone surrogates become U+FFFD, so every string is a valid C
 * string); numbers keep their integer value when they are one.  Nesting is
 * limited to 64 levels.
 *
 * A report of 50 MB holds hundreds of thousands of frames that repeat the
 * same keys, file names and small numbers, so the tree is built to stay
 * near the size of the text:
 *
 *   struct doc  [ arena | root ]      every node, array and string of the
 *                                     document in one arena, freed at once
 *   node        24 bytes              type, n, then a number, a string or
 *                                     (items, keys)
 *   items/keys  exact-size arrays     children are gathered on one scratch
 *                                     stack, copied out when the container
 *                                     ends
 *   caches      direct-mapped         a string, a scalar node or an
 *                                     object's key list seen recently is
 *                                     shared instead of copied
 *
 * So nodes may have several parents: the tree is read-only, and only its
 * root is ever freed.
 */
#include "lg_gate_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS  4096 /* per cache; a power of two */
#define CACHE_MAXLEN 256  /* longer strings are not looked up */
#define DEPTH_MAX    64

struct doc {
    lg__arena_t arena;
    lg__json_t root;
};

/* What one parse needs beside the document; freed when it ends. */
struct builder {
    lg__json_scan_t *sc;
    struct doc *d;
    lg__sb_t str; /* the string being decoded */
    struct child {
        char *key;
        lg__json_t *v;
    } *stack; /* children of the open containers, innermost last */
    size_t nstack, capstack;
    char *strs[CACHE_SLOTS];
    lg__json_t *scalars[CACHE_SLOTS];
    char **keysets[CACHE_SLOTS];
    uint32_t keyset_n[CACHE_SLOTS];
};

static uint32_t hash_bytes(const void *p, size_t n, uint32_t h)
{
    const unsigned char *b = p;
    while (n--)
        h = (h ^ *b++) * 16777619u; /* FNV-1a */
    return h;
}

static void *arena(struct builder *bd, size_t n)
{
    return lg__arena_alloc(&bd->d->arena, n);
}

/* The decoded string in bd->str as a string of the document, shared with
 * an equal one seen recently. */
static char *keep_string(struct builder *bd)
{
    const char *s = bd->str.p ? bd->str.p : "";
    size_t n = bd->str.len;
    char **slot = NULL;
    if (n <= CACHE_MAXLEN) {
        slot = &bd->strs[hash_bytes(s, n, 2166136261u) & (CACHE_SLOTS - 1)];
        if (*slot && strcmp(*slot, s) == 0)
            return *slot;
    }
    char *d = arena(bd, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n + 1);
    if (slot)
        *slot = d;
    return d;
}

/* A scalar node equal to *v, shared with an equal one seen recently. */
static lg__json_t *keep_scalar(struct builder *bd, const lg__json_t *v)
{
    uint32_t h = hash_bytes(&v->type, 1, 2166136261u);
    if (v->type == LG__JSON_STRING)
        h = hash_bytes(&v->string, sizeof v->string, h);
    else if (v->type == LG__JSON_NUMBER)
        h = hash_bytes(&v->number, sizeof v->number, hash_bytes(&v->integer, 8, h));
    else
        h = hash_bytes(&v->boolean, 1, h);
    lg__json_t **slot = &bd->scalars[h & (CACHE_SLOTS - 1)], *c = *slot;
    if (c && c->type == v->type && c->boolean == v->boolean && c->is_int == v->is_int &&
        (v->type == LG__JSON_STRING ? c->string == v->string
                                    : c->integer == v->integer &&
                                          memcmp(&c->number, &v->number, sizeof c->number) == 0))
        return c;
    lg__json_t *d = arena(bd, sizeof *d);
    if (!d)
        return NULL;
    *d = *v;
    *slot = d;
    return d;
}

/* Appends code point cp as UTF-8 (U+FFFD for NUL and lone surrogates, so
 * the result is a valid C string). */
static void put_utf8(lg__sb_t *b, unsigned long cp)
{
    char u[4];
    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        cp = 0xfffd;
    if (cp < 0x80) {
        u[0] = (char)cp;
        lg__sb_putn(b, u, 1);
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        lg__sb_putn(b, u, 2);
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        lg__sb_putn(b, u, 3);
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        lg__sb_putn(b, u, 4);
    }
}

static unsigned long hex4(const char *p)
{
    char h[5] = {p[0], p[1], p[2], p[3], 0};
    return strtoul(h, NULL, 16);
}

/* Scans a string (validated by scan_string) and decodes it into *out. */
static int read_string(struct builder *bd, char **out)
{
    lg__json_scan_t *sc = bd->sc;
    lg__json_skip_ws(sc);
    const char *start = sc->p + 1;
    int rc = lg__json_scan_string(sc);
    if (rc)
        return rc;
    const char *end = sc->p - 1, *p = start;
    lg__sb_t *b = &bd->str;
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    while (p < end) {
        const char *run = p;
        while (p < end && *p != '\\')
            p++;
        lg__sb_putn(b, run, (size_t)(p - run));
        if (p >= end)
            break;
        char c = p[1];
        p += 2;
        if (c != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            lg__sb_putn(b, &to[strchr(from, c) - from], 1);
            continue;
        }
        unsigned long cp = hex4(p);
        p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            unsigned long lo = hex4(p + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
        }
        put_utf8(b, cp);
    }
    *out = b->oom ? NULL : keep_string(bd);
    return *out ? 0 : LG_ENOMEM;
}

static int read_value(struct builder *bd, int depth, lg__json_t **out);

static int push_child(struct builder *bd, char *key, lg__json_t *v)
{
    if (bd->nstack == bd->capstack) {
        size_t cap = bd->capstack ? bd->capstack * 2 : 64;
        struct child *ns = lg__xrealloc(bd->stack, cap * sizeof *ns);
        if (!ns)
            return LG_ENOMEM;
        bd->stack = ns;
        bd->capstack = cap;
    }
    bd->stack[bd->nstack++] = (struct child){key, v};
    return 0;
}

/* Moves the children pushed since `base` into node's exact-size arrays; an
 * object shares its list of keys with a recent object that had the same. */
static int pop_children(struct builder *bd, size_t base, lg__json_t *node)
{
    size_t n = bd->nstack - base;
    struct child *c = bd->stack + base;
    bd->nstack = base;
    if (n > UINT32_MAX)
        return LG_ENOMEM;
    node->n = (uint32_t)n;
    if (!n)
        return 0;
    if (!(node->items = arena(bd, n * sizeof *node->items)))
        return LG_ENOMEM;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        node->items[i] = c[i].v;
        h = hash_bytes(&c[i].key, sizeof c[i].key, h);
    }
    if (node->type != LG__JSON_OBJECT)
        return 0;
    size_t k = h & (CACHE_SLOTS - 1);
    char **ks = bd->keysets[k];
    bool same = ks && bd->keyset_n[k] == n;
    for (size_t i = 0; same && i < n; i++)
        same = ks[i] == c[i].key;
    if (!same) {
        if (!(ks = arena(bd, n * sizeof *ks)))
            return LG_ENOMEM;
        for (size_t i = 0; i < n; i++)
            ks[i] = c[i].key;
        bd->keysets[k] = ks;
        bd->keyset_n[k] = (uint32_t)n;
    }
    node->keys = ks;
    return 0;
}

static int read_container(struct builder *bd, int depth, lg__json_t *node)
{
    lg__json_scan_t *sc = bd->sc;
    bool object = node->type == LG__JSON_OBJECT;
    if (lg__json_expect(sc, object ? '{' : '[', object ? "expected an object" : "expected an array"))
        return LG_EFORMAT;
    if (lg__json_peek(sc, object ? '}' : ']')) {
        sc->p++;
        return 0;
    }
    size_t base = bd->nstack;
    for (;;) {
        char *key = NULL;
        lg__json_t *v = NULL;
        int rc = 0;
        if (object && ((rc = read_string(bd, &key)) || (rc = lg__json_expect(sc, ':', "expected ':'"))))
            return rc;
        if ((rc = read_value(bd, depth + 1, &v)) || (rc = push_child(bd, key, v)))
            return rc;
        if (lg__json_peek(sc, object ? '}' : ']')) {
            sc->p++;
            return pop_children(bd, base, node);
        }
        if (lg__json_expect(sc, ',', object ? "expected ',' or '}'" : "expected ',' or ']'"))
            return LG_EFORMAT;
    }
}

static int read_number(lg__json_scan_t *sc, lg__json_t *v)
{
    const char *start = sc->p;
    int rc = lg__json_scan_number(sc);
    if (rc)
        return rc;
    char num[64], *endp;
    size_t n = (size_t)(sc->p - start);
    if (n >= sizeof num) {
        sc->p = start;
        return lg__json_fail(sc, "number too long");
    }
    memcpy(num, start, n);
    num[n] = '\0';
    errno = 0;
    long long i = strtoll(num, &endp, 10);
    v->is_int = *endp == '\0' && errno == 0;
    v->integer = v->is_int ? (int64_t)i : 0;
    v->number = strtod(num, &endp);
    if (*endp != '\0') {
        sc->p = start;
        return lg__json_fail(sc, "bad number");
    }
    return 0;
}

static int read_value(struct builder *bd, int depth, lg__json_t **out)
{
    lg__json_scan_t *sc = bd->sc;
    *out = NULL;
    if (depth > DEPTH_MAX)
        return lg__json_fail(sc, "nested too deeply");
    lg__json_skip_ws(sc);
    if (sc->p >= sc->end)
        return lg__json_fail(sc, "unexpected end");
    lg__json_t v = {0};
    int rc;
    switch (*sc->p) {
    case '{':
    case '[':
        if (!(*out = arena(bd, sizeof **out)))
            return LG_ENOMEM;
        (*out)->type = *sc->p == '{' ? LG__JSON_OBJECT : LG__JSON_ARRAY;
        return read_container(bd, depth, *out);
    case '"':
        v.type = LG__JSON_STRING;
        rc = read_string(bd, &v.string);
        break;
    case 't':
    case 'f':
        v.type = LG__JSON_BOOL;
        v.boolean = *sc->p == 't';
        rc = lg__json_scan_literal(sc, v.boolean ? "true" : "false");
        break;
    case 'n':
        v.type = LG__JSON_NULL;
        rc = lg__json_scan_literal(sc, "null");
        break;
    default:
        v.type = LG__JSON_NUMBER;
        rc = read_number(sc, &v);
    }
    if (rc)
        return rc;
    *out = keep_scalar(bd, &v);
    return *out ? 0 : LG_ENOMEM;
}

int lg__json_parse(const char *text, size_t len, lg__json_t **out, char *err, size_t errlen)
{
    lg__json_scan_t sc = {text, text, text + len, err, errlen, false};
    *out = NULL;
    struct builder *bd = lg__xcalloc(1, sizeof *bd);
    struct doc *d = bd ? lg__xcalloc(1, sizeof *d) : NULL;
    int rc = d ? 0 : LG_ENOMEM;
    lg__json_t *root = NULL;
    if (rc == 0) {
        bd->sc = &sc;
        bd->d = d;
        rc = read_value(bd, 0, &root);
    }
    if (rc == 0) {
        lg__json_skip_ws(&sc);
        if (sc.p != sc.end)
            rc = lg__json_fail(&sc, "text after the document");
    }
    if (rc == 0) {
        d->root = *root;
        *out = &d->root;
    } else if (d) {
        lg__arena_release(&d->arena);
        lg__xfree(d);
    }
    if (bd) {
        lg__xfree(bd->str.p);
        lg__xfree(bd->stack);
        lg__xfree(bd);
    }
    if (rc == LG_ENOMEM && err && errlen)
        snprintf(err, errlen, "%s", lg_strerror(rc));
    return rc;
}

void lg__json_free(lg__json_t *v)
{
    if (!v)
        return;
    struct doc *d = (struct doc *)((char *)v - offsetof(struct doc, root));
    lg__arena_release(&d->arena);
    lg__xfree(d);
}

const lg__json_t *lg__json_get(const lg__json_t *obj, const char *key)
{
    if (!obj || obj->type != LG__JSON_OBJECT)
        return NULL;
    for (size_t i = obj->n; i-- > 0;) /* the last of duplicate keys wins */
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}
