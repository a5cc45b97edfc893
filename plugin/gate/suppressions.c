/*
 * gate_suppressions.c — suppression files made from what was seen:
 * LeakSanitizer-style `leak:` rules from the leaks of merged reports
 * (lg_gate_suppressions), and from valgrind's `{...}` suppression blocks
 * (lg_suppressions_from_valgrind).
 *
 * A rule names one function, anchored (`leak:^name$`), so that it matches
 * that function and no other whose name contains it.  The function is the
 * first frame of the leak's traceback that has a symbol and is not the
 * allocator or one of the C library's allocating wrappers (strdup,
 * asprintf ...): a rule on `strdup` would hide every leak that went
 * through it.  A traceback with no such frame falls back on its first
 * symbolized frame, then on its first module.
 *
 * Leaks that come to the same rule share it: the rule follows one comment
 * block per (test, signature) it covers, naming the test, the size and the
 * whole traceback, so a reviewer sees what is being accepted.
 */
#include "lg_gate_internal.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

/* Allocation functions and the C library's wrappers around them; valgrind
 * and leakgate both show them above the frame a rule should name. */
static const char *const allocators[] = {
    "malloc",  "calloc",   "realloc",   "reallocarray", "free",      "memalign",
    "valloc",  "pvalloc",  "aligned_alloc", "posix_memalign", "strdup", "__strdup",
    "strndup", "__strndup", "asprintf", "vasprintf", "__vasprintf*", "_Znwm*",
    "_Znam*",  "_Znwj*",   "_Znaj*",    "operator new*", NULL,
};

/* The C library's and the dynamic loader's modules. */
static const char *const libc_modules[] = {"*/libc.so*", "*/libc-*.so", "*/ld-linux*", NULL};

static bool matches_any(const char *s, const char *const *patterns)
{
    for (const char *const *p = patterns; s && *p; p++)
        if (fnmatch(*p, s, 0) == 0)
            return true;
    return false;
}

static const char *frame_str(const lg__json_t *f, const char *key)
{
    const lg__json_t *v = lg__json_get(f, key);
    return v && v->type == LG__JSON_STRING && *v->string ? v->string : NULL;
}

/* The rule for a JSON traceback: "leak:^function$" (or the module), into
 * b.  False when the traceback has neither. */
static bool rule_of(lg__sb_t *b, const lg__json_t *tb)
{
    const char *first_fn = NULL, *first_module = NULL;
    for (size_t i = 0; tb && i < tb->n; i++) {
        const char *fn = frame_str(tb->items[i], "function");
        const char *module = frame_str(tb->items[i], "module");
        if (!first_fn)
            first_fn = fn;
        if (!first_module)
            first_module = module;
        if (fn && !matches_any(fn, allocators) && !matches_any(module, libc_modules)) {
            first_fn = fn;
            break;
        }
    }
    const char *name = first_fn ? first_fn : first_module;
    if (!name)
        return false;
    lg__sb_printf(b, "leak:^%s$", name);
    return true;
}

char *lg_gate_suppressions(const lg_gate_t *g)
{
    lg__sb_t out = {0}, rule = {0};
    size_t n = 0;
    /* Which leaks a rule was already written for: each leak is looked at
     * once, its rule compared with the rules of the leaks before it. */
    char **rules = lg__xcalloc(g->nleaks ? g->nleaks : 1, sizeof *rules);
    if (!rules)
        return NULL;
    lg__sb_puts(&out, "# leakgate suppressions: one leak: rule per leaked allocation site of\n");
    for (size_t r = 0; r < g->nreports; r++)
        lg__sb_printf(&out, "#   %s\n", g->names[r]);
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        rules[i] = NULL;
        if (l->status > LG_GATE_KNOWN)
            continue; /* fixed or not run: nothing to suppress */
        if (!l->traceback || !rule_of(&rule, l->traceback))
            continue;
        if (!(rules[i] = lg__sb_finish(&rule)))
            break;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = rules[k] && strcmp(rules[k], rules[i]) == 0;
        if (seen)
            continue;
        /* A rule, after the comments of every leak it covers. */
        lg__sb_puts(&out, "\n");
        for (size_t k = i; k < g->nleaks; k++) {
            const lg__gate_leak_t *m = &g->leaks[k];
            lg__sb_t other = {0};
            if (m->status > LG_GATE_KNOWN || !m->traceback || !rule_of(&other, m->traceback))
                continue;
            char *text = lg__sb_finish(&other);
            bool same = text && strcmp(text, rules[i]) == 0;
            lg__xfree(text);
            if (!same)
                continue;
            lg__sb_printf(&out, "# %s: %s in %lld block%s\n", m->test,
                          lg__size_text((double)m->size, false).s, (long long)m->count,
                          lg__plural(m->count, "", "s"));
            char *frames = lg__gate_render_frames(m->traceback, "#   ");
            if (frames)
                lg__sb_puts(&out, frames);
            lg_string_free(frames);
        }
        lg__sb_printf(&out, "%s\n", rules[i]);
        n++;
    }
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status <= LG_GATE_KNOWN && !rules[i])
            lg__sb_printf(&out,
                          "\n# %s: %s has no frame with a symbol (or the report left it out: "
                          "run with --top 0): no rule\n",
                          l->test, l->signature);
        lg__xfree(rules[i]);
    }
    lg__xfree(rules);
    if (!n)
        lg__sb_puts(&out, "# (no leaks)\n");
    return lg__sb_finish(&out);
}

/* ---- valgrind's suppression blocks ---------------------------------------
 *
 *   {
 *      name
 *      Memcheck:Leak
 *      match-leak-kinds: definite        (optional)
 *      fun:malloc
 *      fun:make_buffer                   fun:/obj: patterns, * and ?
 *      obj:/usr/lib/libfoo.so.1          wildcards; "..." any frames
 *   }
 *
 * A Memcheck:Leak block becomes one rule on its first fun: frame that is
 * not an allocator (else its first obj:); valgrind's '?' becomes '*', the
 * only wildcard of a leak: pattern.  Other kinds (Memcheck:Cond ...) are
 * not leaks: a comment says each was skipped.
 */

/* The next line of text[*pos..len), trimmed, in a NUL-ended copy. */
static bool next_line(const char *text, size_t len, size_t *pos, char *line, size_t cap,
                      unsigned *lineno)
{
    if (*pos >= len)
        return false;
    size_t start = *pos, end = start;
    while (end < len && text[end] != '\n')
        end++;
    *pos = end < len ? end + 1 : end;
    ++*lineno;
    while (start < end && (text[start] == ' ' || text[start] == '\t'))
        start++;
    while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
        end--;
    size_t n = end - start < cap - 1 ? end - start : cap - 1;
    memcpy(line, text + start, n);
    line[n] = '\0';
    return true;
}

/* Appends `pattern` to b with '?' widened to '*'. */
static void put_pattern(lg__sb_t *b, const char *pattern)
{
    for (const char *p = pattern; *p; p++)
        lg__sb_putn(b, *p == '?' ? "*" : p, 1);
}

static int convert_valgrind(const char *name, const char *text, size_t len, char **out,
                            char *err, size_t errlen)
{
    lg__sb_t b = {0};
    char line[1024], block[256] = "", fun[1024] = "", obj[1024] = "";
    size_t pos = 0;
    unsigned lineno = 0, start = 0, nrules = 0;
    int state = 0; /* 0: outside, 1: before the name, 2: before the kind, 3: frames */
    bool leak = false;
    *out = NULL;
    lg__sb_printf(&b, "# leakgate suppressions converted from valgrind's %s\n", name);
    while (next_line(text, len, &pos, line, sizeof line, &lineno)) {
        if (state == 0) {
            if (!*line || line[0] == '#')
                continue;
            if (strcmp(line, "{") != 0)
                goto bad;
            state = 1;
            start = lineno;
            fun[0] = obj[0] = '\0';
        } else if (strcmp(line, "}") == 0) {
            if (state < 3)
                goto bad;
            if (!leak) {
                lg__sb_printf(&b, "# %s (line %u): not a leak suppression, skipped\n", block,
                              start);
            } else if (fun[0] || obj[0]) {
                lg__sb_printf(&b, "# %s (line %u)\nleak:^", block, start);
                put_pattern(&b, fun[0] ? fun : obj);
                lg__sb_puts(&b, "$\n");
                nrules++;
            } else {
                lg__sb_printf(&b, "# %s (line %u): only allocator frames, no rule\n", block,
                              start);
            }
            state = 0;
        } else if (state == 1) {
            snprintf(block, sizeof block, "%.200s", line);
            state = 2;
        } else if (state == 2) {
            if (!strchr(line, ':'))
                goto bad;
            leak = strcmp(line, "Memcheck:Leak") == 0;
            state = 3;
        } else if (strncmp(line, "match-leak-kinds:", 17) == 0 || strcmp(line, "...") == 0) {
            continue;
        } else if (strncmp(line, "fun:", 4) == 0) {
            if (!fun[0] && line[4] && !matches_any(line + 4, allocators))
                snprintf(fun, sizeof fun, "%s", line + 4);
        } else if (strncmp(line, "obj:", 4) == 0) {
            if (!obj[0] && line[4])
                snprintf(obj, sizeof obj, "%s", line + 4);
        } else if (strncmp(line, "src:", 4) != 0) {
            goto bad;
        }
    }
    if (state != 0) {
        lg__xfree(lg__sb_finish(&b));
        return lg__errf(err, errlen, LG_EFORMAT,
                        "%s: the block at line %u has no closing \"}\" (valgrind suppression "
                        "blocks are { name, Tool:Kind, frames... })",
                        name, start);
    }
    if (!nrules)
        lg__sb_puts(&b, "# (no leak suppressions)\n");
    *out = lg__sb_finish(&b);
    return *out ? 0 : lg__errf(err, errlen, LG_ENOMEM, "%s: %s", name, lg_strerror(LG_ENOMEM));
bad:
    lg__xfree(lg__sb_finish(&b));
    return lg__errf(err, errlen, LG_EFORMAT,
                    "%s:%u: \"%s\" is not valgrind suppression syntax (expected { name, "
                    "Tool:Kind, then fun:, obj:, src: or ... lines, })",
                    name, lineno, line);
}

int lg_suppressions_from_valgrind(const char *path, char **out, char *err, size_t errlen)
{
    char *text;
    size_t len;
    *out = NULL;
    int rc = lg__suppressions_read(path, &text, &len, err, errlen);
    if (rc)
        return rc;
    rc = convert_valgrind(path, text, len, out, err, errlen);
    lg__xfree(text);
    return rc;
}
