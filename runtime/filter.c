/*
 * filter.c — tracemalloc's Filter and DomainFilter, suppression files, and
 * Snapshot.filter_traces.
 *
 * A filter set is an array of filters that own copies of their patterns.
 * lg_filterset_match() decides a trace exactly as tracemalloc's
 * Snapshot._filter_trace(): a trace is kept when it matches one inclusive
 * filter (if there are any) and no exclusive filter excludes it.
 *
 * Frame fields are matched with fnmatch(3), FNM_NOESCAPE and no
 * FNM_PATHNAME, so '*' crosses '/' as in Python's fnmatch.  An unknown file
 * is matched as "<unknown>" (what tracemalloc shows), an unknown function or
 * module as "".  Like tracemalloc, a trailing ".pyc" of a file name or file
 * pattern is read as ".py".
 *
 * Suppression lines (lg_filterset_parse_line) become filters; LeakSanitizer's
 * `leak:PATTERN` becomes an exclusive all-frames filter whose one pattern is
 * tried on the function, the file and the module of each frame (`any_field`),
 * which lg_filter_t cannot express, hence the internal struct below.
 */
#include "lg_internal.h"
#include "lg_util.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct flt {
    lg_filter_t f;  /* patterns owned (lg__xstrdup) */
    bool any_field; /* leak:PATTERN: f.filename_pattern tried on every field */
};

struct lg_filterset {
    struct flt *v;
    size_t n, cap;
    size_t ninclusive;
};

/* ---- the set ------------------------------------------------------------- */

int lg_filterset_new(lg_filterset_t **out)
{
    if (!out)
        return LG_EINVAL;
    *out = lg__xcalloc(1, sizeof **out);
    return *out ? 0 : LG_ENOMEM;
}

static void flt_free(struct flt *f)
{
    lg__xfree((char *)f->f.filename_pattern);
    lg__xfree((char *)f->f.function_pattern);
    lg__xfree((char *)f->f.module_pattern);
}

/* Drops the filters after the first `n` (a failed load rolls back). */
static void truncate_set(lg_filterset_t *set, size_t n)
{
    while (set->n > n) {
        struct flt *f = &set->v[--set->n];
        set->ninclusive -= f->f.inclusive != 0;
        flt_free(f);
    }
}

void lg_filterset_free(lg_filterset_t *set)
{
    if (!set)
        return;
    truncate_set(set, 0);
    lg__xfree(set->v);
    lg__xfree(set);
}

size_t lg_filterset_count(const lg_filterset_t *set)
{
    return set ? set->n : 0;
}

/* Copies a pattern; tracemalloc normalizes "x.pyc" to "x.py" (file only). */
static int dup_pattern(const char *p, bool is_file, const char **out)
{
    *out = NULL;
    if (!p)
        return 0;
    char *d = lg__xstrdup(p);
    if (!d)
        return LG_ENOMEM;
    size_t n = strlen(d);
    if (is_file && n >= 4 && strcmp(d + n - 4, ".pyc") == 0)
        d[n - 1] = '\0';
    *out = d;
    return 0;
}

static int add_flt(lg_filterset_t *set, const lg_filter_t *f, bool any_field)
{
    if (!set || !f || (f->kind != LG_FILTER_TRACE && f->kind != LG_FILTER_DOMAIN))
        return LG_EINVAL;
    if (f->domain < (f->kind == LG_FILTER_DOMAIN ? 0 : -1) || f->domain > UINT32_MAX)
        return LG_EINVAL;
    struct flt *nv = lg__vec_reserve(set->v, &set->cap, set->n, sizeof *nv, 8);
    if (!nv)
        return LG_ENOMEM;
    set->v = nv;
    struct flt *d = &set->v[set->n];
    *d = (struct flt){.f = *f, .any_field = any_field};
    d->f.inclusive = f->inclusive != 0;
    d->f.all_frames = f->all_frames != 0;
    /* A DomainFilter has no frame criteria: keep only what it reads. */
    if (f->kind == LG_FILTER_DOMAIN) {
        d->f.filename_pattern = d->f.function_pattern = d->f.module_pattern = NULL;
        d->f.lineno = 0;
        d->f.all_frames = 0;
    } else if (dup_pattern(f->filename_pattern, !any_field, &d->f.filename_pattern) ||
               dup_pattern(f->function_pattern, false, &d->f.function_pattern) ||
               dup_pattern(f->module_pattern, false, &d->f.module_pattern)) {
        flt_free(d);
        return LG_ENOMEM;
    }
    set->n++;
    set->ninclusive += d->f.inclusive != 0;
    return 0;
}

int lg_filterset_add(lg_filterset_t *set, const lg_filter_t *f)
{
    return add_flt(set, f, false);
}

/* ---- matching ------------------------------------------------------------ */

static bool glob(const char *pattern, const char *s)
{
    return fnmatch(pattern, s, FNM_NOESCAPE) == 0;
}

/* The file name as tracemalloc's _normalize_filename() sees it. */
static bool glob_file(const char *pattern, const char *file)
{
    if (!file)
        file = "<unknown>";
    size_t n = strlen(file);
    char buf[1024];
    if (n >= 4 && n < sizeof buf && strcmp(file + n - 4, ".pyc") == 0) {
        memcpy(buf, file, n - 1);
        buf[n - 1] = '\0';
        file = buf;
    }
    return glob(pattern, file);
}

/* LeakSanitizer never matches an unknown or empty field. */
static bool glob_known(const char *pattern, const char *s)
{
    return s && *s && glob(pattern, s);
}

/* Filter._match_frame_impl(): every given criterion matches the frame. */
static bool frame_matches(const struct flt *f, const lg_frame_t *fr)
{
    const char *fp = f->f.filename_pattern;
    if (f->any_field)
        return glob_known(fp, fr->function) || glob_known(fp, fr->file) ||
               glob_known(fp, fr->module);
    if (f->f.lineno && fr->line != f->f.lineno)
        return false;
    if (fp && !glob_file(fp, fr->file))
        return false;
    if (f->f.function_pattern && !glob(f->f.function_pattern, fr->function ? fr->function : ""))
        return false;
    if (f->f.module_pattern && !glob(f->f.module_pattern, fr->module ? fr->module : ""))
        return false;
    return true;
}

/* Filter._match() / DomainFilter._match(): true means "keep" for an
 * exclusive filter and "selected" for an inclusive one. */
static bool flt_match(const struct flt *f, uint32_t domain, const lg_traceback_t *tb)
{
    bool inclusive = f->f.inclusive;
    if (f->f.kind == LG_FILTER_DOMAIN)
        return (domain == (uint32_t)f->f.domain) ^ !inclusive;
    bool res;
    if (f->f.all_frames) {
        bool any = false;
        for (uint32_t i = 0; i < tb->nframes && !any; i++)
            any = frame_matches(f, tb->frames[i]);
        res = any ? inclusive : !inclusive;
    } else {
        res = frame_matches(f, tb->frames[0]) ^ !inclusive;
    }
    if (f->f.domain >= 0) {
        bool same = domain == (uint32_t)f->f.domain;
        return inclusive ? res && same : res || !same;
    }
    return res;
}

int lg_filterset_match(const lg_filterset_t *set, uint32_t domain, const lg_traceback_t *tb)
{
    if (!tb || tb->nframes == 0)
        tb = &lg__unknown_traceback;
    if (!set)
        return 1;
    if (set->ninclusive) {
        bool any = false;
        for (size_t i = 0; i < set->n && !any; i++)
            any = set->v[i].f.inclusive && flt_match(&set->v[i], domain, tb);
        if (!any)
            return 0;
    }
    for (size_t i = 0; i < set->n; i++)
        if (!set->v[i].f.inclusive && !flt_match(&set->v[i], domain, tb))
            return 0;
    return 1;
}

int lg_snapshot_filter(const lg_snapshot_t *snap, const lg_filterset_t *set, lg_snapshot_t **out)
{
    if (!out)
        return LG_EINVAL;
    *out = NULL;
    if (!snap)
        return LG_EINVAL;
    lg_snapshot_t *s = lg__snapshot_alloc();
    if (!s)
        return LG_ENOMEM;
    s->traceback_limit = snap->traceback_limit;
    s->metrics = snap->metrics;
    for (size_t i = 0; i < snap->ntraces; i++) {
        const lg_trace_t *t = &snap->traces[i];
        if (!lg_filterset_match(set, t->domain, t->traceback))
            continue;
        const lg_traceback_t *tb = lg__snapshot_copy_traceback(s, t->traceback);
        if (!tb || lg__snapshot_add_trace_kind(s, t->domain, t->size, tb, t->kind)) {
            lg_snapshot_free(s);
            return LG_ENOMEM;
        }
    }
    lg__snapshot_seal(s);
    *out = s;
    return 0;
}

/* ---- suppression lines --------------------------------------------------- */

#define FIELDS "file=, line=, function=, module=, domain= or all"

#define syntax(err, errlen, ...) lg__errf(err, errlen, LG_ESYNTAX, __VA_ARGS__)

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Splits the next whitespace-separated token off *p, NUL-terminating it. */
static char *next_token(char **p)
{
    char *s = *p;
    while (is_space(*s))
        s++;
    if (!*s)
        return *p = s, NULL;
    char *t = s;
    while (*s && !is_space(*s))
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return t;
}

/* Parses a decimal integer in [lo, hi]; no sign, no trailing junk. */
static bool parse_num(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return v >= lo && v <= hi;
}

/* "include-domain N" / "exclude-domain N". */
static int parse_domain_line(lg_filterset_t *set, bool inclusive, char *rest, const char *word,
                             char *err, size_t errlen)
{
    char *n = next_token(&rest), *extra = next_token(&rest);
    uint64_t d;
    if (!n || (extra && *extra != '#') || !parse_num(n, 0, UINT32_MAX, &d))
        return syntax(err, errlen, "bad %s line (expected %s N with N from 0 to 4294967295)", word,
                      word);
    lg_filter_t f = {.kind = LG_FILTER_DOMAIN, .inclusive = inclusive, .domain = (int64_t)d};
    return add_flt(set, &f, false);
}

/* "include|exclude [all] [file=GLOB] [line=N] ..." */
static int parse_filter_line(lg_filterset_t *set, bool inclusive, char *rest, char *err,
                             size_t errlen)
{
    lg_filter_t f = {.kind = LG_FILTER_TRACE, .inclusive = inclusive, .domain = -1};
    bool seen_line = false, seen_domain = false, any = false;
    char *tok;
    while ((tok = next_token(&rest)) && *tok != '#') {
        if (strcmp(tok, "all") == 0) {
            if (f.all_frames)
                return syntax(err, errlen, "duplicate field \"all\"");
            f.all_frames = 1;
            continue;
        }
        char *eq = strchr(tok, '=');
        if (!eq)
            return syntax(err, errlen, "unknown field \"%s\" (expected " FIELDS ")", tok);
        *eq = '\0';
        const char *val = eq + 1, **pat = NULL;
        bool *seen = NULL;
        if (strcmp(tok, "file") == 0)
            pat = &f.filename_pattern;
        else if (strcmp(tok, "function") == 0)
            pat = &f.function_pattern;
        else if (strcmp(tok, "module") == 0)
            pat = &f.module_pattern;
        else if (strcmp(tok, "line") == 0)
            seen = &seen_line;
        else if (strcmp(tok, "domain") == 0)
            seen = &seen_domain;
        else
            return syntax(err, errlen, "unknown field \"%s\" (expected " FIELDS ")", tok);
        if (pat ? *pat != NULL : *seen)
            return syntax(err, errlen, "duplicate field \"%s=\"", tok);
        uint64_t n;
        if (pat) {
            if (!*val)
                return syntax(err, errlen, "empty pattern in \"%s=\" (expected %s=GLOB)", tok, tok);
            *pat = val;
        } else if (seen == &seen_line) {
            if (!parse_num(val, 1, UINT_MAX, &n))
                return syntax(err, errlen,
                              "bad line \"%s\" (expected line=N with N a positive integer)", val);
            f.lineno = (unsigned)n;
        } else {
            if (!parse_num(val, 0, UINT32_MAX, &n))
                return syntax(err, errlen,
                              "bad domain \"%s\" (expected domain=N with N from 0 to 4294967295)",
                              val);
            f.domain = (int64_t)n;
        }
        if (seen)
            *seen = true;
        any = true;
    }
    if (!any)
        return syntax(err, errlen,
                      "%s needs a criterion (expected one or more of "
                      "file=, line=, function=, module=, domain=)",
                      inclusive ? "include" : "exclude");
    return add_flt(set, &f, false);
}

/* LeakSanitizer's `leak:PATTERN`: a substring match unless anchored by a
 * leading '^' or a trailing '$'; '*' is its only wildcard.  Translated to
 * fnmatch: '*' at the unanchored ends, and '?' and '[' made literal. */
static int parse_lsan_line(lg_filterset_t *set, const char *pat, char *err, size_t errlen)
{
    size_t n = strlen(pat);
    bool head = n && pat[0] == '^';
    bool tail = n > (size_t)head && pat[n - 1] == '$';
    const char *b = pat + head, *e = pat + n - tail;
    if (b == e)
        return syntax(err, errlen, "empty pattern in \"leak:\" (expected leak:PATTERN)");
    char *g = lg__xmalloc((size_t)(e - b) * 3 + 3), *o = g;
    if (!g)
        return LG_ENOMEM;
    if (!head)
        *o++ = '*';
    for (const char *c = b; c < e; c++) {
        if (*c == '?' || *c == '[') {
            *o++ = '[';
            *o++ = *c;
            *o++ = ']';
        } else {
            *o++ = *c;
        }
    }
    if (!tail)
        *o++ = '*';
    *o = '\0';
    lg_filter_t f = {.kind = LG_FILTER_TRACE,
                     .inclusive = 0,
                     .all_frames = 1,
                     .domain = -1,
                     .filename_pattern = g};
    int rc = add_flt(set, &f, true);
    lg__xfree(g);
    return rc;
}

int lg_filterset_parse_line(lg_filterset_t *set, const char *line, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!set || !line)
        return LG_EINVAL;
    char *copy = lg__xstrdup(line);
    if (!copy)
        return LG_ENOMEM;
    /* Trim both ends: LSan patterns run to the end of the line. */
    char *s = copy, *end = copy + strlen(copy);
    while (is_space(*s))
        s++;
    while (end > s && is_space(end[-1]))
        *--end = '\0';
    int rc;
    if (!*s || *s == '#') {
        rc = 0; /* a blank line or a comment adds nothing */
    } else if (strncmp(s, "leak:", 5) == 0) {
        rc = parse_lsan_line(set, s + 5, err, errlen);
    } else {
        char *rest = s, *word = next_token(&rest);
        char *colon = strchr(word, ':');
        if (strcmp(word, "include") == 0 || strcmp(word, "exclude") == 0)
            rc = parse_filter_line(set, word[0] == 'i', rest, err, errlen);
        else if (strcmp(word, "limit") == 0)
            rc = 0; /* per-test limits: read by the test session (plugin) */
        else if (strcmp(word, "include-domain") == 0 || strcmp(word, "exclude-domain") == 0)
            rc = parse_domain_line(set, word[0] == 'i', rest, word, err, errlen);
        else if (colon && colon > word)
            rc = syntax(err, errlen,
                        "unsupported suppression kind \"%.*s:\" (only leak:PATTERN "
                        "is supported)",
                        (int)(colon - word), word);
        else
            rc = syntax(err, errlen,
                        "unknown directive \"%s\" (expected include, exclude, "
                        "include-domain, exclude-domain or leak:PATTERN)",
                        word);
    }
    lg__xfree(copy);
    return rc;
}

/* ---- suppression files --------------------------------------------------- */

/* A text file: no NUL byte among its first bytes (the rest is checked line
 * by line). */
static const char *check_text(const unsigned char *head, size_t n, bool whole)
{
    LG_UNUSED(whole);
    return memchr(head, '\0', n) ? "binary data (a NUL byte), not a text file" : NULL;
}

static const lg__input_kind_t text_input = {
    LG_TEXT_MAX, "larger than 16 MiB, the most a suppressions file may hold", check_text};

int lg__suppressions_read(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    const char *why;
    int rc = lg__file_read(path, &text_input, buf, len, &why);
    if (rc)
        return lg__file_errf(err, errlen, path, rc, why);
    /* Editors on some systems start UTF-8 files with a byte-order mark. */
    if (*len >= 3 && memcmp(*buf, "\xef\xbb\xbf", 3) == 0) {
        *len -= 3;
        memmove(*buf, *buf + 3, *len + 1);
    }
    return 0;
}

const char *lg__next_line(const char *text, size_t len, size_t *pos, size_t *n)
{
    if (*pos >= len)
        return NULL;
    const char *line = text + *pos, *nl = memchr(line, '\n', len - *pos);
    *n = nl ? (size_t)(nl - line) : len - *pos;
    *pos += *n + (nl != NULL);
    return line;
}

int lg__filterset_load_text(lg_filterset_t *set, const char *name, const char *text, size_t len,
                            char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    /* All or nothing: a bad line leaves the set as it was. */
    size_t before = set->n, lineno = 0, pos = 0, n;
    char msg[256];
    int rc = 0;
    for (const char *line; rc == 0 && (line = lg__next_line(text, len, &pos, &n));) {
        lineno++;
        char *copy = memchr(line, '\0', n) ? NULL : lg__xmalloc(n + 1);
        if (copy) {
            memcpy(copy, line, n);
            copy[n] = '\0';
            rc = lg_filterset_parse_line(set, copy, msg, sizeof msg);
            lg__xfree(copy);
        } else {
            rc = memchr(line, '\0', n) ? syntax(msg, sizeof msg, "NUL byte in line (expected text)")
                                       : LG_ENOMEM;
        }
        if (rc == LG_ESYNTAX)
            syntax(err, errlen, "%s:%zu: %s", name, lineno, msg);
    }
    if (rc)
        truncate_set(set, before);
    return rc;
}

int lg_filterset_load(lg_filterset_t *set, const char *path, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!set || !path)
        return LG_EINVAL;
    char *buf;
    size_t len;
    int rc = lg__suppressions_read(path, &buf, &len, err, errlen);
    if (rc)
        return rc;
    rc = lg__filterset_load_text(set, path, buf, len, err, errlen);
    lg__xfree(buf);
    return rc;
}
