/* kvconf.h — a tiny "key = value" configuration parser. */
#ifndef KVCONF_H
#define KVCONF_H
#include <stddef.h>

typedef struct kvconf kvconf_t;

kvconf_t *kv_new(void);
void kv_free(kvconf_t *kv);
/* Parses text ("key = value" lines, '#' comments); returns the number of
 * entries added, or -1 on a malformed line. */
int kv_parse(kvconf_t *kv, const char *text);
const char *kv_get(const kvconf_t *kv, const char *key);
size_t kv_count(const kvconf_t *kv);
/* The keys, sorted, in an array the caller frees (not the strings). */
const char **kv_keys(const kvconf_t *kv);
#endif
