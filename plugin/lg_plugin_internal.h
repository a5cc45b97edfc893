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

#endif /* LG_PLUGIN_INTERNAL_H */
