/*
 * json_tree.c — JSON documents as a small tree, for the gate's readers of
 * reports and baselines.  Entry point: lg__json_parse().
 *
 * The grammar is json.c's scanner (the one a report merge uses): each
 * value is validated by it, then decoded.  Strings are decoded to UTF-8
 * (\u0000 and lone surrogates become U+FFFD, so every string is a valid C
 * string); numbers keep their integer value when they are one.  Nesting is
 * limited to 64 levels.  Memory comes from lg__xmalloc.
 */
#include "lg_gate_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int read_string(lg__json_scan_t *sc, char **out)
{
    lg__json_skip_ws(sc);
    const char *start = sc->p + 1;
    int rc = lg__json_scan_string(sc);
    if (rc)
        return rc;
    const char *end = sc->p - 1, *p = start;
    lg__sb_t b = {0};
    while (p < end) {
        const char *run = p;
        while (p < end && *p != '\\')
            p++;
        lg__sb_putn(&b, run, (size_t)(p - run));
        if (p >= end)
            break;
        char c = p[1];
        p += 2;
        if (c != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            lg__sb_putn(&b, &to[strchr(from, c) - from], 1);
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
        put_utf8(&b, cp);
    }
    *out = lg__sb_finish(&b);
    return *out ? 0 : LG_ENOMEM;
}

static int read_value(lg__json_scan_t *sc, int depth, lg__json_t **out);

/* Appends (key, v) to an array or object node; takes v (freed on failure). */
static int node_append(lg__json_t *node, char *key, lg__json_t *v)
{
    if ((node->n & (node->n - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t cap = node->n ? node->n * 2 : 1;
        lg__json_t **ni = lg__xrealloc(node->items, cap * sizeof *ni);
        if (ni)
            node->items = ni;
        char **nk =
            ni && node->type == LG__JSON_OBJECT ? lg__xrealloc(node->keys, cap * sizeof *nk) : NULL;
        if (nk)
            node->keys = nk;
        if (!ni || (node->type == LG__JSON_OBJECT && !nk)) {
            lg__xfree(key);
            lg__json_free(v);
            return LG_ENOMEM;
        }
    }
    if (node->type == LG__JSON_OBJECT)
        node->keys[node->n] = key;
    node->items[node->n++] = v;
    return 0;
}

static int read_container(lg__json_scan_t *sc, int depth, lg__json_t *node)
{
    bool object = node->type == LG__JSON_OBJECT;
    if (lg__json_expect(sc, object ? '{' : '[', object ? "expected an object" : "expected an array"))
        return LG_EFORMAT;
    if (lg__json_peek(sc, object ? '}' : ']')) {
        sc->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        lg__json_t *v = NULL;
        int rc = 0;
        if (object && ((rc = read_string(sc, &key)) || (rc = lg__json_expect(sc, ':', "expected ':'")))) {
            lg__xfree(key);
            return rc;
        }
        if ((rc = read_value(sc, depth + 1, &v)) != 0) {
            lg__xfree(key);
            return rc;
        }
        if ((rc = node_append(node, key, v)) != 0)
            return rc;
        if (lg__json_peek(sc, object ? '}' : ']')) {
            sc->p++;
            return 0;
        }
        if (lg__json_expect(sc, ',', object ? "expected ',' or '}'" : "expected ',' or ']'"))
            return LG_EFORMAT;
    }
}

static int read_value(lg__json_scan_t *sc, int depth, lg__json_t **out)
{
    *out = NULL;
    if (depth > 64)
        return lg__json_fail(sc, "nested too deeply");
    lg__json_skip_ws(sc);
    if (sc->p >= sc->end)
        return lg__json_fail(sc, "unexpected end");
    lg__json_t *v = lg__xcalloc(1, sizeof *v);
    if (!v)
        return LG_ENOMEM;
    int rc;
    const char *start = sc->p;
    switch (*sc->p) {
    case '{':
    case '[':
        v->type = *sc->p == '{' ? LG__JSON_OBJECT : LG__JSON_ARRAY;
        rc = read_container(sc, depth, v);
        break;
    case '"':
        v->type = LG__JSON_STRING;
        rc = read_string(sc, &v->string);
        break;
    case 't':
    case 'f':
        v->type = LG__JSON_BOOL;
        v->boolean = *sc->p == 't';
        rc = lg__json_scan_literal(sc, v->boolean ? "true" : "false");
        break;
    case 'n':
        v->type = LG__JSON_NULL;
        rc = lg__json_scan_literal(sc, "null");
        break;
    default: {
        v->type = LG__JSON_NUMBER;
        rc = lg__json_scan_number(sc);
        if (rc)
            break;
        char num[64], *endp;
        size_t n = (size_t)(sc->p - start);
        if (n >= sizeof num) {
            sc->p = start;
            rc = lg__json_fail(sc, "number too long");
            break;
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
            rc = lg__json_fail(sc, "bad number");
        }
    }
    }
    if (rc) {
        lg__json_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int lg__json_parse(const char *text, size_t len, lg__json_t **out, char *err, size_t errlen)
{
    lg__json_scan_t sc = {text, text, text + len, err, errlen, false};
    int rc = read_value(&sc, 0, out);
    if (rc == 0) {
        lg__json_skip_ws(&sc);
        if (sc.p != sc.end) {
            rc = lg__json_fail(&sc, "text after the document");
            lg__json_free(*out);
            *out = NULL;
        }
    }
    if (rc == LG_ENOMEM && err && errlen)
        snprintf(err, errlen, "%s", lg_strerror(rc));
    return rc;
}

void lg__json_free(lg__json_t *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++) {
        lg__json_free(v->items[i]);
        if (v->keys)
            lg__xfree(v->keys[i]);
    }
    lg__xfree(v->items);
    lg__xfree(v->keys);
    lg__xfree(v->string);
    lg__xfree(v);
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
