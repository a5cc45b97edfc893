/*
 * lg_plugin_internal.h — what plugin modules share and nobody else may see.
 *
 * A growable string builder (report-time memory from lg__xmalloc, so the
 * tracer never traces its own rendering) and JSON string escaping, used by
 * report.c and json.c.
 */
#ifndef LG_PLUGIN_INTERNAL_H
#define LG_PLUGIN_INTERNAL_H

#ifndef LG_BUILDING_LIBRARY
#error "lg_plugin_internal.h is internal to leakgate; include <leakgate/plugin.h>"
#endif

#include "lg_internal.h"
#include <leakgate/plugin.h>

/* A string being built.  Once an append fails, `oom` sticks and every later
 * append is a no-op, so callers check once at the end. */
typedef struct lg__sb {
    char *p; /* NUL-terminated when len > 0; lg__xmalloc'd */
    size_t len, cap;
    bool oom;
} lg__sb_t;

void lg__sb_putn(lg__sb_t *b, const char *s, size_t n);
void lg__sb_puts(lg__sb_t *b, const char *s);
void lg__sb_printf(lg__sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n spaces. */
void lg__sb_pad(lg__sb_t *b, size_t n);
/* Hands the string over (caller frees with lg_string_free), or NULL when an
 * append ran out of memory; the builder is reset either way. */
char *lg__sb_finish(lg__sb_t *b);
void lg__sb_release(lg__sb_t *b);

/* Appends s as a JSON string literal (quotes included), or null when s is
 * NULL.  Control characters are escaped, invalid UTF-8 becomes U+FFFD. */
void lg__sb_json_str(lg__sb_t *b, const char *s);

/* The leak rows of `stats` are the rows that grew: size_diff > 0, or
 * size_diff == 0 and count_diff > 0. */
bool lg__is_leak_row(const lg_stat_t *st);

/* How many frames of tb a report shows (opts->stop_module). */
uint32_t lg__shown_frames(const lg_traceback_t *tb, const lg_render_opts_t *opts);

/* ---- files and JSON input (json.c) ---------------------------------------- */

/* Reads a whole file into *out (NUL-terminated, lg__xmalloc'd; *len bytes
 * without the NUL).  Returns 0, LG_EIO (errno tells why) or LG_ENOMEM. */
int lg__read_file(const char *path, char **out, size_t *len);

/* Writes text to path through a temporary file renamed over it, so readers
 * see the old file or the new one, never a part.  Returns 0 or LG_EIO
 * (errno tells why). */
int lg__write_file_atomic(const char *path, const char *text, size_t len);

/* A parsed JSON value, for readers of reports and baselines.  Built by the
 * report scanner of json.c (one grammar for merging and reading). */
typedef enum {
    LG__JSON_NULL,
    LG__JSON_BOOL,
    LG__JSON_NUMBER,
    LG__JSON_STRING,
    LG__JSON_ARRAY,
    LG__JSON_OBJECT
} lg__json_type_t;

typedef struct lg__json lg__json_t;
struct lg__json {
    lg__json_type_t type;
    bool boolean;
    bool is_int;     /* NUMBER written as an integer that fits int64_t */
    int64_t integer; /* valid when is_int */
    double number;
    char *string;       /* STRING: decoded UTF-8; \u0000 becomes U+FFFD */
    size_t n;           /* ARRAY and OBJECT: elements */
    lg__json_t **items; /* ARRAY elements, OBJECT values */
    char **keys;        /* OBJECT keys, decoded */
};

/* Parses one JSON document.  Returns 0 (caller frees *out with
 * lg__json_free), LG_EFORMAT (err: "offset N: what") or LG_ENOMEM. */
int lg__json_parse(const char *text, size_t len, lg__json_t **out, char *err, size_t errlen);
void lg__json_free(lg__json_t *v);

/* The member `key` of an object (the last one when repeated), or NULL when
 * absent or obj is not an object.  Borrowed from obj. */
const lg__json_t *lg__json_get(const lg__json_t *obj, const char *key);

#endif /* LG_PLUGIN_INTERNAL_H */
