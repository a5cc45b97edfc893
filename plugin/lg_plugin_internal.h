/*
 * lg_plugin_internal.h — what plugin modules share and nobody else may see:
 * JSON string escaping and scanning, leak rows, shown frames, files.  Used
 * by the plugin modules and the gate (plugin/gate/, linked into the command only).
 * The string builder is a shared helper (runtime/lg_util.h).
 */
#ifndef LG_PLUGIN_INTERNAL_H
#define LG_PLUGIN_INTERNAL_H

#ifndef LG_BUILDING_LIBRARY
#error "lg_plugin_internal.h is internal to leakgate; include <leakgate/report.h>"
#endif

#include "lg_internal.h"
#include "lg_util.h"
#include <leakgate/report.h>

/* ---- escaping, one layer per output format (escape.c) --------------------- */

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
size_t lg__utf8_len(const unsigned char *p);
/* Terminal and plain text: control characters, DEL, C1 controls,
 * bidirectional overrides, non-characters and invalid UTF-8 appended as
 * \n, \t, \r, \xNN or \uNNNN; the rest as is.  NULL reads "(null)". */
void lg__sb_text(lg__sb_t *b, const char *s);
/* Rewrites the message in buf (len bytes) escaped as text, cut to fit:
 * error messages that quote a test id or a file's contents. */
void lg__text_fix(char *buf, size_t len);
/* Bytes lg__sb_text appends for s (to align columns). */
size_t lg__text_len(const char *s);
/* XML and HTML text and attribute values: &<>"' as entities; invalid UTF-8,
 * control characters other than newline and tab, U+FFFE and U+FFFF as
 * U+FFFD.  lg__sb_xml_line escapes s as text first (one line). */
void lg__sb_xml(lg__sb_t *b, const char *s);
void lg__sb_xml_line(lg__sb_t *b, const char *s);
/* Markdown: inline code for a table cell (s escaped as text first, '|'
 * escaped, a fence longer than any run of backticks in it), and a fenced
 * code block around lines of text already escaped. */
void lg__sb_md_code(lg__sb_t *b, const char *s);
void lg__sb_md_block(lg__sb_t *b, const char *text);
/* Appends s as a JSON string literal (quotes included), or null when s is
 * NULL.  Control characters are escaped, invalid UTF-8 becomes U+FFFD.
 * Also a valid YAML double-quoted scalar (TAP's YAML blocks). */
void lg__sb_json_str(lg__sb_t *b, const char *s);

/* The verdict of a leaked or inconclusive result in words, as the failure
 * text and TAP's message say it: "leaked 96 B in 2 blocks (limit 0 B)",
 * "inconclusive: the tracer ran out of memory and lost 3 traces" (report.c). */
void lg__put_verdict(lg__sb_t *b, const lg_result_t *r);

/* The leak rows of `stats` are the rows that grew: size_diff > 0, or
 * size_diff == 0 and count_diff > 0. */
bool lg__is_leak_row(const lg_stat_t *st);
/* memcheck's words for a kind ("definitely lost", ...; "of no kind" for -1). */
const char *lg__kind_words(int kind);

/* How many frames of tb a report shows (opts->stop_module). */
uint32_t lg__shown_frames(const lg_traceback_t *tb, const lg_render_opts_t *opts);

/* Loads the text of a suppressions file into a session: its filter lines
 * (all or nothing) and its `limit` lines; errors start "NAME=PATH:LINE: "
 * (session.c; the fuzz target of suppressions calls it). */
int lg__session_load_text(lg_session_t *s, const char *name, const char *path, const char *text,
                          size_t len, char *err, size_t errlen);

/* ---- files (json.c) -------------------------------------------------------- */

/* How the file layer reads reports and baselines (json.c): at most
 * LG_JSON_MAX bytes, and nothing past the first bytes of a file that is not
 * a JSON object. */
#define LG_JSON_MAX ((size_t)1 << 30)
extern const lg__input_kind_t lg__json_input;

/* ---- JSON scanning (json.c) ----------------------------------------------
 *
 * One grammar for every JSON reader: the report merge (json.c, validates
 * and keeps test objects verbatim) and the gate's parse tree
 * (gate/json_tree.c).  Each function advances sc->p over what it scanned
 * and returns 0, or LG_EFORMAT after writing "offset N: what" into sc->err
 * (the first failure only; sc->failed then sticks). */
typedef struct lg__json_scan {
    const char *s, *p, *end; /* the text, the position, its end */
    char *err;               /* where the first failure is described, or NULL */
    size_t errlen;
    bool failed;
} lg__json_scan_t;

/* Records a failure at sc->p; always returns LG_EFORMAT. */
int lg__json_fail(lg__json_scan_t *sc, const char *what);
void lg__json_skip_ws(lg__json_scan_t *sc);
/* After white space: whether the next character is c (not consumed). */
bool lg__json_peek(lg__json_scan_t *sc, char c);
/* Consumes c after white space, else fails with `what`. */
int lg__json_expect(lg__json_scan_t *sc, char c, const char *what);
/* Scans a string literal (quotes included) after white space. */
int lg__json_scan_string(lg__json_scan_t *sc);
/* Scans a number at sc->p. */
int lg__json_scan_number(lg__json_scan_t *sc);
/* Scans the literal `lit` ("true", "false", "null") at sc->p. */
int lg__json_scan_literal(lg__json_scan_t *sc, const char *lit);

#endif /* LG_PLUGIN_INTERNAL_H */
