/*
 * json.c — the JSON report, schema "leakgate/1", shared by every adapter.
 *
 * A report is a list of rendered test objects, one per line, written once:
 *
 *   {"schema": "leakgate/1", "tests": [
 *   {"id": "a", "outcome": "clean", ...},
 *   {"id": "b", "outcome": "leaked", ...}
 *   ]}
 *
 * Reports of other processes merge in by parsing them just enough to find
 * the elements of "tests" (a small validating scanner, no DOM), which are
 * kept verbatim.  Readers that need the values (the CI gate) get a small
 * tree from the same scanner (gate/json_tree.c, linked into the command
 * only).  Strings are escaped per RFC 8259; invalid UTF-8 becomes
 * U+FFFD so the document always parses.  Memory comes from lg__xmalloc and
 * files are written with write(2), so reports can be made inside a traced
 * process without being traced.
 */
#include "lg_plugin_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCHEMA "leakgate/1"

/* ---- one test ----------------------------------------------------------- */

static void put_frame(lg__sb_t *b, const lg_frame_t *f)
{
    lg__sb_printf(
        b, "{\"kind\": \"%s\", \"function\": ", f->kind == LG_FRAME_PYTHON ? "python" : "native");
    lg__sb_json_str(b, f->function);
    lg__sb_puts(b, ", \"file\": ");
    lg__sb_json_str(b, f->file);
    if (f->line)
        lg__sb_printf(b, ", \"line\": %u", f->line);
    else
        lg__sb_puts(b, ", \"line\": null");
    lg__sb_puts(b, ", \"module\": ");
    lg__sb_json_str(b, f->module);
    if (f->module)
        lg__sb_printf(b, ", \"offset\": %llu}", (unsigned long long)f->offset);
    else
        lg__sb_puts(b, ", \"offset\": null}");
}

static void put_leak(lg__sb_t *b, const lg_stat_t *st, bool counted, const lg_render_opts_t *opts)
{
    lg__sb_printf(b,
                  "{\"size_diff\": %lld, \"count_diff\": %lld, \"size\": %zu, "
                  "\"count\": %zu, \"domain\": %u, ",
                  (long long)st->size_diff, (long long)st->count_diff, st->size, st->count,
                  st->domain);
    /* A traceback with blocks of several kinds is one entry per kind. */
    if (st->kind >= 0)
        lg__sb_printf(b, "\"kind\": \"%s\", ", lg_kind_name(st->kind));
    /* A kind the verdict did not count: a note, which the gate skips. */
    if (!counted)
        lg__sb_puts(b, "\"counted\": false, ");
    lg__sb_puts(b, "\"traceback\": [");
    uint32_t n = lg__shown_frames(&st->traceback, opts);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            lg__sb_puts(b, ", ");
        put_frame(b, st->traceback.frames[i]);
    }
    lg__sb_puts(b, "]}");
}

static void put_test(lg__sb_t *b, const lg_result_t *r, const lg_render_opts_t *opts)
{
    int top = opts && opts->top ? opts->top : LG_TOP_DEFAULT;
    lg__sb_puts(b, "{\"id\": ");
    lg__sb_json_str(b, r->id ? r->id : "");
    if (r->has_param)
        lg__sb_printf(b, ", \"param\": %u", r->param);
    lg__sb_printf(b,
                  ", \"outcome\": \"%s\", \"size_diff\": %lld, "
                  "\"count_diff\": %lld, \"limits\": {\"max_size\": %lld, "
                  "\"max_count\": ",
                  lg_outcome_name(r->outcome), (long long)r->size_diff, (long long)r->count_diff,
                  (long long)r->limits.max_size);
    if (r->limits.max_count >= 0)
        lg__sb_printf(b, "%lld}", (long long)r->limits.max_count);
    else
        lg__sb_puts(b, "null}");
    if (r->lost_traces)
        lg__sb_printf(b, ", \"lost_traces\": %llu", (unsigned long long)r->lost_traces);
    if (r->runs)
        lg__sb_printf(b, ", \"runs\": %u", r->runs);
    if (r->note) {
        lg__sb_puts(b, ", \"note\": ");
        lg__sb_json_str(b, r->note);
    }
    lg__sb_puts(b, ", \"leaks\": [");
    size_t n = r->leaks ? lg_stats_count(r->leaks) : 0, shown = 0;
    for (size_t i = 0; i < n && (top < 0 || shown < (size_t)top); i++) {
        const lg_stat_t *st = lg_stats_get(r->leaks, i);
        if (!lg__is_leak_row(st))
            continue;
        if (shown++)
            lg__sb_puts(b, ", ");
        put_leak(b, st, !r->leak_kinds || lg_row_counts(st, r->leak_kinds), opts);
    }
    lg__sb_puts(b, "]}");
}

/* ---- the report --------------------------------------------------------- */

struct lg_json_report {
    char **tests; /* rendered test objects, lg__xmalloc'd */
    size_t n, cap;
};

int lg_json_report_new(lg_json_report_t **out)
{
    *out = lg__xcalloc(1, sizeof **out);
    return *out ? 0 : LG_ENOMEM;
}

void lg_json_report_free(lg_json_report_t *rep)
{
    if (!rep)
        return;
    for (size_t i = 0; i < rep->n; i++)
        lg__xfree(rep->tests[i]);
    lg__xfree(rep->tests);
    lg__xfree(rep);
}

size_t lg_json_report_count(const lg_json_report_t *rep)
{
    return rep->n;
}

size_t lg_json_report_count_outcome(const lg_json_report_t *rep, lg_outcome_t outcome)
{
    char want[64];
    snprintf(want, sizeof want, "\"outcome\": \"%s\"", lg_outcome_name(outcome));
    size_t n = 0;
    for (size_t i = 0; i < rep->n; i++)
        n += strstr(rep->tests[i], want) != NULL;
    return n;
}

/* Takes ownership of `test` (freed on failure). */
static int append(lg_json_report_t *rep, char *test)
{
    if (!test)
        return LG_ENOMEM;
    char **nt = lg__vec_reserve(rep->tests, &rep->cap, rep->n, sizeof *nt, 16);
    if (!nt) {
        lg__xfree(test);
        return LG_ENOMEM;
    }
    rep->tests = nt;
    rep->tests[rep->n++] = test;
    return 0;
}

int lg_json_report_add(lg_json_report_t *rep, const lg_result_t *r, const lg_render_opts_t *opts)
{
    lg__sb_t b = {0};
    put_test(&b, r, opts);
    return append(rep, lg__sb_finish(&b));
}

char *lg_json_report_string(const lg_json_report_t *rep)
{
    lg__sb_t b = {0};
    lg__sb_puts(&b, "{\"schema\": \"" SCHEMA "\", \"tests\": [\n");
    for (size_t i = 0; i < rep->n; i++) {
        lg__sb_puts(&b, rep->tests[i]);
        lg__sb_puts(&b, i + 1 < rep->n ? ",\n" : "\n");
    }
    lg__sb_puts(&b, "]}\n");
    return lg__sb_finish(&b);
}

int lg_json_report_write(const lg_json_report_t *rep, const char *path)
{
    char *doc = lg_json_report_string(rep);
    if (!doc)
        return LG_ENOMEM;
    const char *why;
    int rc = lg__file_write(path, doc, strlen(doc), &why);
    if (rc == LG_EFORMAT)
        rc = LG_EIO; /* errno says what is at path */
    int saved = errno;
    lg__xfree(doc);
    errno = saved;
    return rc;
}

/* ---- merging: a scanner that validates JSON without building it --------- */

int lg__json_fail(lg__json_scan_t *sc, const char *what)
{
    if (!sc->failed && sc->err && sc->errlen)
        snprintf(sc->err, sc->errlen, "offset %zu: %s%s", (size_t)(sc->p - sc->s), what,
                 sc->p >= sc->end ? " (the text ends there: truncated?)" : "");
    sc->failed = true;
    return LG_EFORMAT;
}

void lg__json_skip_ws(lg__json_scan_t *sc)
{
    while (sc->p < sc->end && (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
        sc->p++;
}

bool lg__json_peek(lg__json_scan_t *sc, char c)
{
    lg__json_skip_ws(sc);
    return sc->p < sc->end && *sc->p == c;
}

int lg__json_expect(lg__json_scan_t *sc, char c, const char *what)
{
    if (!lg__json_peek(sc, c))
        return lg__json_fail(sc, what);
    sc->p++;
    return 0;
}

int lg__json_scan_string(lg__json_scan_t *sc)
{
    if (lg__json_expect(sc, '"', "expected a string"))
        return LG_EFORMAT;
    while (sc->p < sc->end && *sc->p != '"') {
        unsigned char c = (unsigned char)*sc->p++;
        if (c < 0x20)
            return lg__json_fail(sc, "control character in a string");
        if (c != '\\')
            continue;
        if (sc->p >= sc->end)
            break;
        c = (unsigned char)*sc->p++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, sc->p++)
                if (sc->p >= sc->end || !strchr("0123456789abcdefABCDEF", *sc->p) || !*sc->p)
                    return lg__json_fail(sc, "bad \\u escape");
        } else if (!strchr("\"\\/bfnrt", c) || !c) {
            return lg__json_fail(sc, "bad escape in a string");
        }
    }
    if (sc->p >= sc->end)
        return lg__json_fail(sc, "unterminated string");
    sc->p++;
    return 0;
}

static bool digit_at(const lg__json_scan_t *sc)
{
    return sc->p < sc->end && *sc->p >= '0' && *sc->p <= '9';
}

/* RFC 8259's number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
int lg__json_scan_number(lg__json_scan_t *sc)
{
    const char *start = sc->p;
    if (sc->p < sc->end && *sc->p == '-')
        sc->p++;
    if (!digit_at(sc)) {
        sc->p = start;
        return lg__json_fail(sc, "expected a value");
    }
    if (*sc->p++ != '0')
        while (digit_at(sc))
            sc->p++;
    if (sc->p < sc->end && *sc->p == '.') {
        sc->p++;
        if (!digit_at(sc))
            return lg__json_fail(sc, "bad number");
        while (digit_at(sc))
            sc->p++;
    }
    if (sc->p < sc->end && (*sc->p == 'e' || *sc->p == 'E')) {
        sc->p++;
        if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-'))
            sc->p++;
        if (!digit_at(sc))
            return lg__json_fail(sc, "bad number");
        while (digit_at(sc))
            sc->p++;
    }
    return 0;
}

static int scan_value(lg__json_scan_t *sc, int depth);

/* Scans "[v, v, ...]"; calls on_elem with each element's text if given. */
static int scan_array(lg__json_scan_t *sc, int depth, int (*on_elem)(void *, const char *, size_t),
                      void *ctx)
{
    if (lg__json_expect(sc, '[', "expected an array"))
        return LG_EFORMAT;
    if (lg__json_peek(sc, ']')) {
        sc->p++;
        return 0;
    }
    for (;;) {
        lg__json_skip_ws(sc);
        const char *start = sc->p;
        int rc = scan_value(sc, depth + 1);
        if (rc)
            return rc;
        if (on_elem && (rc = on_elem(ctx, start, (size_t)(sc->p - start))))
            return rc;
        if (lg__json_peek(sc, ']')) {
            sc->p++;
            return 0;
        }
        if (lg__json_expect(sc, ',', "expected ',' or ']'"))
            return LG_EFORMAT;
    }
}

/* Scans "{"k": v, ...}"; calls on_member with each key (raw, without
 * quotes) positioned before its value; on_member must scan the value. */
static int scan_object(lg__json_scan_t *sc, int depth,
                       int (*on_member)(lg__json_scan_t *, void *, const char *, size_t), void *ctx)
{
    if (lg__json_expect(sc, '{', "expected an object"))
        return LG_EFORMAT;
    if (lg__json_peek(sc, '}')) {
        sc->p++;
        return 0;
    }
    for (;;) {
        lg__json_skip_ws(sc);
        const char *key = sc->p + 1;
        int rc = lg__json_scan_string(sc);
        if (rc || (rc = lg__json_expect(sc, ':', "expected ':'")))
            return rc;
        lg__json_skip_ws(sc);
        rc = on_member ? on_member(sc, ctx, key, (size_t)(sc->p - key)) : scan_value(sc, depth + 1);
        if (rc)
            return rc;
        if (lg__json_peek(sc, '}')) {
            sc->p++;
            return 0;
        }
        if (lg__json_expect(sc, ',', "expected ',' or '}'"))
            return LG_EFORMAT;
    }
}

int lg__json_scan_literal(lg__json_scan_t *sc, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(sc->end - sc->p) < n || memcmp(sc->p, lit, n) != 0)
        return lg__json_fail(sc, "expected a value");
    sc->p += n;
    return 0;
}

static int scan_value(lg__json_scan_t *sc, int depth)
{
    if (depth > 64)
        return lg__json_fail(sc, "nested too deeply");
    lg__json_skip_ws(sc);
    if (sc->p >= sc->end)
        return lg__json_fail(sc, "unexpected end");
    switch (*sc->p) {
    case '{':
        return scan_object(sc, depth, NULL, NULL);
    case '[':
        return scan_array(sc, depth, NULL, NULL);
    case '"':
        return lg__json_scan_string(sc);
    case 't':
        return lg__json_scan_literal(sc, "true");
    case 'f':
        return lg__json_scan_literal(sc, "false");
    case 'n':
        return lg__json_scan_literal(sc, "null");
    default:
        return lg__json_scan_number(sc);
    }
}

struct merge {
    lg_json_report_t *rep;
    bool schema_ok, has_tests;
    size_t first; /* tests already in rep before this document */
};

static int on_test(void *ctx, const char *text, size_t len)
{
    struct merge *m = ctx;
    if (*text != '{')
        return LG_EFORMAT;
    char *copy = lg__xmalloc(len + 1);
    if (!copy)
        return LG_ENOMEM;
    memcpy(copy, text, len);
    copy[len] = '\0';
    return append(m->rep, copy);
}

static int on_top_member(lg__json_scan_t *sc, void *ctx, const char *key, size_t keylen)
{
    struct merge *m = ctx;
    /* key spans up to and past the closing quote and ':'; compare the name. */
    if (keylen >= 8 && memcmp(key, "schema\"", 7) == 0) {
        const char *v = sc->p;
        int rc = lg__json_scan_string(sc);
        size_t n = strlen("\"" SCHEMA "\"");
        m->schema_ok = !rc && (size_t)(sc->p - v) == n && memcmp(v, "\"" SCHEMA "\"", n) == 0;
        return rc;
    }
    if (keylen >= 7 && memcmp(key, "tests\"", 6) == 0) {
        m->has_tests = true;
        int rc = scan_array(sc, 1, on_test, m);
        if (rc == LG_EFORMAT)
            return lg__json_fail(sc, "\"tests\" must be an array of objects");
        return rc;
    }
    return scan_value(sc, 1);
}

int lg_json_report_merge_buffer(lg_json_report_t *rep, const char *text, size_t len, char *err,
                                size_t errlen)
{
    lg__json_scan_t sc = {text, text, text + len, err, errlen, false};
    struct merge m = {rep, false, false, rep->n};
    int rc = scan_object(&sc, 0, on_top_member, &m);
    if (rc == 0) {
        lg__json_skip_ws(&sc);
        if (sc.p != sc.end)
            rc = lg__json_fail(&sc, "text after the document");
        else if (!m.schema_ok) /* the document is whole: no offset to name */
            rc = lg__errf(err, errlen, LG_EFORMAT, "not a \"" SCHEMA "\" report");
        else if (!m.has_tests)
            rc = lg__errf(err, errlen, LG_EFORMAT, "no \"tests\"");
    }
    if (rc) {
        /* All or nothing: drop what this document added. */
        while (rep->n > m.first)
            lg__xfree(rep->tests[--rep->n]);
    }
    return rc;
}

/* A report or a baseline: a JSON object, so its first byte that is not
 * white space is '{'.  Refused before the rest is read otherwise. */
static const char *check_json(const unsigned char *head, size_t n, bool whole)
{
    LG_UNUSED(whole);
    size_t i = 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\n' || head[i] == '\r'))
        i++;
    return i == n || head[i] == '{' ? NULL : "not a JSON object (a leakgate report or baseline)";
}

const lg__input_kind_t lg__json_input = {
    LG_JSON_MAX, "larger than 1 GiB, the most a report or baseline may hold", check_json};

int lg_json_report_merge_file(lg_json_report_t *rep, const char *path, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    const char *why;
    int rc = lg__file_read(path, &lg__json_input, &buf, &len, &why);
    if (rc)
        return lg__file_errf(err, errlen, path, rc, why);
    char detail[200];
    rc = lg_json_report_merge_buffer(rep, buf, len, detail, sizeof detail);
    if (rc == LG_EFORMAT && err && errlen)
        snprintf(err, errlen, "%s: %s", path, detail);
    lg__xfree(buf);
    return rc;
}
