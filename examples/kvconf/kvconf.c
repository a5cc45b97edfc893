/*
 * kvconf.c — a tiny "key = value" configuration parser: entries in a
 * growable array, keys unique (a later line replaces an earlier one).
 *
 * Two build switches serve the CI gate's end-to-end test: KVCONF_EXTRA_LEAK
 * adds a new leak (kv_keys), KVCONF_FIX_REPLACE_LEAK fixes the leak of a
 * replaced entry.  The plain build is the example of `make demo`.
 */
#include "kvconf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *key, *value;
};

struct kvconf {
    struct entry *e;
    size_t n, cap;
};

kvconf_t *kv_new(void)
{
    return calloc(1, sizeof(kvconf_t));
}

void kv_free(kvconf_t *kv)
{
    if (!kv)
        return;
    for (size_t i = 0; i < kv->n; i++) {
        free(kv->e[i].key);
        free(kv->e[i].value);
    }
    free(kv->e);
    free(kv);
}

static char *trimmed_copy(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *d = malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static struct entry *find(const kvconf_t *kv, const char *key)
{
    for (size_t i = 0; i < kv->n; i++)
        if (strcmp(kv->e[i].key, key) == 0)
            return &kv->e[i];
    return NULL;
}

static void set(kvconf_t *kv, char *key, char *value)
{
    struct entry *old = find(kv, key);
    if (old) {
        /* DEMO LEAK: the replaced value is never freed (and neither is the
         * duplicate key).  -DKVCONF_FIX_REPLACE_LEAK fixes it (the CI gate's
         * end-to-end test then sees a known leak fixed). */
#ifdef KVCONF_FIX_REPLACE_LEAK
        free(old->value);
        free(key);
#endif
        old->value = value;
        return;
    }
    if (kv->n == kv->cap) {
        kv->cap = kv->cap ? kv->cap * 2 : 8;
        kv->e = realloc(kv->e, kv->cap * sizeof *kv->e);
    }
    kv->e[kv->n++] = (struct entry){key, value};
}

static int parse_line(kvconf_t *kv, const char *line, size_t len)
{
    const char *eq = memchr(line, '=', len);
    if (!eq)
        return -1;
    set(kv, trimmed_copy(line, (size_t)(eq - line)),
        trimmed_copy(eq + 1, len - (size_t)(eq - line) - 1));
    return 1;
}

int kv_parse(kvconf_t *kv, const char *text)
{
    int added = 0;
    while (*text) {
        size_t len = strcspn(text, "\n");
        size_t lead = strspn(text, " \t");
        if (lead < len && text[lead] != '#') {
            if (parse_line(kv, text, len) < 0)
                return -1;
            added++;
        }
        text += len + (text[len] == '\n');
    }
    return added;
}

const char *kv_get(const kvconf_t *kv, const char *key)
{
    const struct entry *e = find(kv, key);
    return e ? e->value : NULL;
}

size_t kv_count(const kvconf_t *kv)
{
    return kv->n;
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **kv_keys(const kvconf_t *kv)
{
    const char **keys = malloc((kv->n + 1) * sizeof *keys);
    for (size_t i = 0; i < kv->n; i++)
        keys[i] = kv->e[i].key;
    qsort(keys, kv->n, sizeof *keys, by_string);
    keys[kv->n] = NULL;
#ifdef KVCONF_EXTRA_LEAK
    /* A regression on purpose, for the CI gate's end-to-end test: a copy of
     * the keys made "for later" and dropped, never freed. */
    const char **spare;
    spare = malloc((kv->n + 1) * sizeof *spare);
    memcpy(spare, keys, (kv->n + 1) * sizeof *spare);
#endif
    return keys;
}
