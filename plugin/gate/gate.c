/*
 * gate.c — the CI gate: merges leakgate/1 reports from shards, reads the
 * baseline of known leaks and classifies every leak (new, grown, known,
 * fixed, unchecked).  Main entry points: lg_gate_add_report(),
 * lg_gate_load_baseline(), lg_gate_compare(); rendering is render.c.
 *
 *   report A --parse--+                          baseline --parse--+
 *   report B --parse--+-> occurrences (id, attempt, report)        |
 *                          | sort by id, attempt (highest first)   |
 *                          v                                       v
 *                      tests (highest attempt; instances summed)   |
 *                          | leak rows -> (test, signature)        |
 *                          v                                       v
 *                      current leaks, sorted ----- merge walk --- known leaks, sorted
 *                          |
 *                          v
 *                      leaks with a status; allocation sites by signature
 *
 * Invariants: a report is validated whole before any of it is kept, so a
 * bad report adds nothing; every string the result shows points into a
 * parsed document the gate owns.  Merging never consults the order of the
 * reports on the command line: the result is the same for any order.
 */
#include "lg_gate_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BASELINE_SCHEMA "leakgate-baseline/1"
#define OTHER_LEAKS     "(other leaks)"

/* ---- small helpers ------------------------------------------------------- */

static const char *json_str(const lg__json_t *obj, const char *key)
{
    const lg__json_t *v = lg__json_get(obj, key);
    return v && v->type == LG__JSON_STRING ? v->string : NULL;
}

/* The largest size or count a report or baseline may hold, in absolute
 * value: 2^53 (8 PiB, 9e15 blocks) is beyond any process, and sums of many
 * such values stay exact in a double and far from int64_t's end. */
#define VALUE_MAX ((int64_t)1 << 53)

/* Why member `key` of obj is not an integer from lo to VALUE_MAX, or NULL
 * (absent and null read as 0). */
static const char *int_problem(const lg__json_t *obj, const char *key, int64_t lo)
{
    const lg__json_t *v = lg__json_get(obj, key);
    if (!v || v->type == LG__JSON_NULL)
        return NULL;
    const char *range = lo < 0 ? "is out of range (-2^53 to 2^53)" : "is out of range (0 to 2^53)";
    if (v->type != LG__JSON_NUMBER)
        return "must be an integer";
    if (!v->is_int) {
        /* A fraction, or a whole number past int64_t (every double that
         * large is whole). */
        double d = v->number;
        bool whole = d > -9e18 && d < 9e18 ? d == (double)(int64_t)d : d == d;
        return whole ? range : "must be an integer";
    }
    return v->integer > VALUE_MAX || v->integer < lo ? range : NULL;
}

/* An integer member: 0 when absent or null; false when present and not an
 * integer. */
static bool json_int(const lg__json_t *obj, const char *key, int64_t *out)
{
    const lg__json_t *v = lg__json_get(obj, key);
    *out = 0;
    if (!v || v->type == LG__JSON_NULL)
        return true;
    if (v->type != LG__JSON_NUMBER || !v->is_int)
        return false;
    *out = v->integer;
    return true;
}

static bool parse_outcome(const char *s, lg_outcome_t *out)
{
    for (int o = LG_OUTCOME_CLEAN; o <= LG_OUTCOME_CRASHED; o++) {
        if (s && strcmp(s, lg_outcome_name((lg_outcome_t)o)) == 0) {
            *out = (lg_outcome_t)o;
            return true;
        }
    }
    return false;
}

/* The leak kind member `key` of obj: *kind is LG_KIND_*, or -1 when absent
 * or null; false when it is something else. */
static bool json_kind(const lg__json_t *obj, const char *key, int *kind)
{
    const lg__json_t *v = lg__json_get(obj, key);
    *kind = -1;
    if (!v || v->type == LG__JSON_NULL)
        return true;
    for (int k = 0; v->type == LG__JSON_STRING && k < LG_KINDS; k++)
        if (strcmp(v->string, lg_kind_name(k)) == 0)
            return (*kind = k), true;
    return false;
}

#define KIND_FORM "definite, indirect, possible or reachable"

/* Severity for combining instances: leaked > crashed, inconclusive >
 * clean > skipped. */
static int severity(lg_outcome_t o)
{
    switch (o) {
    case LG_OUTCOME_LEAKED:
        return 3;
    case LG_OUTCOME_INCONCLUSIVE:
    case LG_OUTCOME_CRASHED:
        return 2;
    case LG_OUTCOME_CLEAN:
        return 1;
    default:
        return 0;
    }
}

/* ---- signatures ------------------------------------------------------------ */

char *lg__gate_signature(const lg__json_t *traceback)
{
    lg__sb_t b = {0};
    int parts = 0;
    for (size_t i = 0; traceback && i < traceback->n && parts < LG_GATE_SIGNATURE_FRAMES; i++) {
        const lg__json_t *f = traceback->items[i];
        const char *fn = json_str(f, "function"), *file = json_str(f, "file");
        const char *module = json_str(f, "module");
        if (fn && !*fn)
            fn = NULL;
        if (file && !*file)
            file = NULL;
        if (!fn && !file && (!module || !*module))
            continue; /* an unsymbolized frame says nothing stable */
        if (parts++)
            lg__sb_puts(&b, " < ");
        if (fn && file)
            lg__sb_printf(&b, "%s@%s", fn, lg__basename(file));
        else if (fn || file)
            lg__sb_puts(&b, fn ? fn : lg__basename(file));
        else
            lg__sb_printf(&b, "@%s", lg__basename(module));
    }
    if (!parts)
        lg__sb_puts(&b, "(no symbols)");
    return lg__sb_finish(&b);
}

char *lg__gate_render_frames(const lg__json_t *traceback, const char *indent)
{
    size_t n = traceback ? traceback->n : 0;
    lg_frame_t *frames = lg__xcalloc(n ? n : 1, sizeof *frames);
    const lg_frame_t **ptrs = lg__xcalloc(n ? n : 1, sizeof *ptrs);
    char *text = NULL;
    if (frames && ptrs) {
        for (size_t i = 0; i < n; i++) {
            const lg__json_t *f = traceback->items[i];
            const char *kind = json_str(f, "kind");
            int64_t line, offset;
            frames[i].kind =
                kind && strcmp(kind, "python") == 0 ? LG_FRAME_PYTHON : LG_FRAME_NATIVE;
            frames[i].function = json_str(f, "function");
            frames[i].file = json_str(f, "file");
            frames[i].module = json_str(f, "module");
            json_int(f, "line", &line);
            json_int(f, "offset", &offset);
            frames[i].line = line > 0 && line <= (int64_t)UINT32_MAX ? (unsigned)line : 0;
            frames[i].offset = offset > 0 ? (uint64_t)offset : 0;
            ptrs[i] = &frames[i];
        }
        lg_traceback_t tb = {(uint32_t)n, (uint32_t)n, ptrs};
        lg_render_opts_t ro = {.top = 0};
        text = lg_render_traceback(&tb, indent, &ro);
    }
    lg__xfree(frames);
    lg__xfree(ptrs);
    return text;
}

/* ---- the gate ------------------------------------------------------------- */

int lg_gate_new(lg_gate_t **out)
{
    *out = lg__xcalloc(1, sizeof **out);
    return *out ? 0 : LG_ENOMEM;
}

static void clear_result(lg_gate_t *g)
{
    for (size_t i = 0; i < g->ntests; i++)
        lg__xfree(g->tests[i].rows);
    for (size_t i = 0; i < g->nleaks; i++)
        lg__xfree(g->leaks[i].signature);
    lg__xfree(g->tests);
    lg__xfree(g->leaks);
    lg__xfree(g->sites);
    g->tests = NULL;
    g->leaks = NULL;
    g->sites = NULL;
    g->ntests = g->nleaks = g->nsites = 0;
}

void lg_gate_free(lg_gate_t *g)
{
    if (!g)
        return;
    clear_result(g);
    for (size_t i = 0; i < g->nreports; i++) {
        lg__xfree(g->names[i]);
        lg__json_free(g->docs[i]);
    }
    lg__xfree(g->names);
    lg__xfree(g->docs);
    lg__arena_release(&g->param_ids);
    lg__json_free(g->baseline);
    lg__xfree(g->baseline_name);
    lg__xfree(g);
}

/* What the schema member of a document says, for messages. */
static const char *schema_of(const lg__json_t *doc)
{
    const lg__json_t *v = lg__json_get(doc, "schema");
    if (!v)
        return "no \"schema\"";
    return v->type == LG__JSON_STRING ? v->string : "a \"schema\" that is not a string";
}

/* Checks a parsed leakgate/1 document; err gets "what" without the name. */
static int check_report(const lg__json_t *doc, char *err, size_t errlen)
{
    if (doc->type != LG__JSON_OBJECT)
        return lg__errf(err, errlen, LG_EFORMAT, "not a leakgate/1 report (not a JSON object)");
    const char *schema = json_str(doc, "schema");
    if (!schema || strcmp(schema, "leakgate/1") != 0)
        return lg__errf(err, errlen, LG_EFORMAT, "not a leakgate/1 report (%s%s%s)",
                        schema ? "schema \"" : "", schema_of(doc), schema ? "\"" : "");
    const lg__json_t *tests = lg__json_get(doc, "tests");
    if (!tests || tests->type != LG__JSON_ARRAY)
        return lg__errf(err, errlen, LG_EFORMAT, "\"tests\" must be an array");
    for (size_t i = 0; i < tests->n; i++) {
        const lg__json_t *t = tests->items[i];
        const char *id = json_str(t, "id");
        lg_outcome_t o;
        int64_t v;
        if (!id)
            return lg__errf(err, errlen, LG_EFORMAT, "test %zu has no string \"id\"", i + 1);
        if (!parse_outcome(json_str(t, "outcome"), &o))
            return lg__errf(err, errlen, LG_EFORMAT,
                            "test %s: \"outcome\" must be clean, leaked, inconclusive, skipped or crashed",
                            id);
        const char *bad;
        static const char *const totals[] = {"size_diff", "count_diff"};
        for (int k = 0; k < 2; k++)
            if ((bad = int_problem(t, totals[k], -VALUE_MAX)))
                return lg__errf(err, errlen, LG_EFORMAT, "test %s: \"%s\" %s", id, totals[k],
                                bad);
        if (!json_int(t, "attempt", &v) || v < 0 || int_problem(t, "attempt", 0))
            return lg__errf(err, errlen, LG_EFORMAT, "test %s: \"attempt\" must be an integer >= 1",
                            id);
        if (!json_int(t, "param", &v) || v < 0)
            return lg__errf(err, errlen, LG_EFORMAT, "test %s: \"param\" must be an integer >= 0",
                            id);
        const lg__json_t *leaks = lg__json_get(t, "leaks");
        if (leaks && leaks->type != LG__JSON_NULL && leaks->type != LG__JSON_ARRAY)
            return lg__errf(err, errlen, LG_EFORMAT, "test %s: \"leaks\" must be an array", id);
        for (size_t k = 0; leaks && k < leaks->n; k++) {
            const lg__json_t *row = leaks->items[k], *tb = lg__json_get(row, "traceback");
            if (row->type != LG__JSON_OBJECT ||
                (tb && tb->type != LG__JSON_ARRAY && tb->type != LG__JSON_NULL))
                return lg__errf(err, errlen, LG_EFORMAT, "test %s: leak %zu is malformed", id,
                                k + 1);
            static const char *const fields[] = {"size_diff", "count_diff", "size", "count"};
            for (int f = 0; f < 4; f++)
                if ((bad = int_problem(row, fields[f], f < 2 ? -VALUE_MAX : 0)))
                    return lg__errf(err, errlen, LG_EFORMAT, "test %s: leak %zu: \"%s\" %s", id,
                                    k + 1, fields[f], bad);
            int kind;
            const lg__json_t *counted = lg__json_get(row, "counted");
            if (!json_kind(row, "kind", &kind))
                return lg__errf(err, errlen, LG_EFORMAT,
                                "test %s: leak %zu: \"kind\" must be " KIND_FORM, id, k + 1);
            if (counted && counted->type != LG__JSON_BOOL)
                return lg__errf(err, errlen, LG_EFORMAT,
                                "test %s: leak %zu: \"counted\" must be true or false", id,
                                k + 1);
            for (size_t f = 0; tb && f < tb->n; f++)
                if (tb->items[f]->type != LG__JSON_OBJECT)
                    return lg__errf(err, errlen, LG_EFORMAT,
                                    "test %s: leak %zu: frames must be objects", id, k + 1);
        }
    }
    return 0;
}

static int parse_doc(const char *name, const char *text, size_t len, lg__json_t **doc, char *err,
                     size_t errlen)
{
    char detail[256];
    int rc = lg__json_parse(text, len, doc, detail, sizeof detail);
    if (rc == LG_EFORMAT && len == 0)
        snprintf(detail, sizeof detail, "empty file");
    if (rc)
        return lg__errf(err, errlen, rc, "%s: %s", name, detail);
    return 0;
}

/* An instance of a parameterized test ("param": N) is its own test to the
 * gate: its id becomes "ID[N]", as the console writes it.  The tree is
 * read-only (a node may be shared by several tests): the test's "id" member
 * gets a new node of its own, kept in g->param_ids.  Returns 0 or
 * LG_ENOMEM. */
static int name_params(lg_gate_t *g, lg__json_t *doc)
{
    const lg__json_t *tests = lg__json_get(doc, "tests");
    for (size_t i = 0; i < tests->n; i++) {
        lg__json_t *t = tests->items[i];
        int64_t param;
        const lg__json_t *p = lg__json_get(t, "param");
        if (!p || p->type == LG__JSON_NULL || !json_int(t, "param", &param))
            continue;
        for (uint32_t k = t->n; k-- > 0;) { /* the last "id", as lg__json_get */
            if (strcmp(t->keys[k], "id") != 0)
                continue;
            const char *id = t->items[k]->string;
            size_t n = strlen(id) + 24;
            lg__json_t *node = lg__arena_alloc(&g->param_ids, sizeof *node);
            char *s = node ? lg__arena_alloc(&g->param_ids, n) : NULL;
            if (!s)
                return LG_ENOMEM;
            snprintf(s, n, "%s[%lld]", id, (long long)param);
            *node = *t->items[k];
            node->string = s;
            t->items[k] = node;
            break;
        }
    }
    return 0;
}

static int add_report_raw(lg_gate_t *g, const char *name, const char *text, size_t len, char *err,
                      size_t errlen)
{
    lg__json_t *doc;
    char detail[256];
    int rc = parse_doc(name, text, len, &doc, err, errlen);
    if (rc)
        return rc;
    if ((rc = check_report(doc, detail, sizeof detail)) != 0) {
        lg__json_free(doc);
        return lg__errf(err, errlen, rc, "%s: %s", name, detail);
    }
    if (name_params(g, doc) != 0) {
        lg__json_free(doc);
        return lg__errf(err, errlen, LG_ENOMEM, "%s: %s", name, lg_strerror(LG_ENOMEM));
    }
    char **nn = lg__xrealloc(g->names, (g->nreports + 1) * sizeof *nn);
    if (nn)
        g->names = nn;
    lg__json_t **nd = nn ? lg__xrealloc(g->docs, (g->nreports + 1) * sizeof *nd) : NULL;
    if (nd)
        g->docs = nd;
    char *copy = nd ? lg__xstrdup(name) : NULL;
    if (!copy) {
        lg__json_free(doc);
        return lg__errf(err, errlen, LG_ENOMEM, "%s: %s", name, lg_strerror(LG_ENOMEM));
    }
    g->names[g->nreports] = copy;
    g->docs[g->nreports++] = doc;
    return 0;
}

int lg_gate_add_report(lg_gate_t *g, const char *name, const char *text, size_t len, char *err,
                       size_t errlen)
{
    int rc = add_report_raw(g, name, text, len, err, errlen);
    if (rc)
        lg__text_fix(err, errlen); /* it may quote a test id or a schema */
    return rc;
}

typedef int (*add_fn)(lg_gate_t *, const char *, const char *, size_t, char *, size_t);

static int add_file(lg_gate_t *g, const char *path, add_fn add, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    const char *why;
    int rc = lg__file_read(path, &lg__json_input, &buf, &len, &why);
    if (rc)
        return lg__file_errf(err, errlen, path, rc, why);
    rc = add(g, path, buf, len, err, errlen);
    lg__xfree(buf);
    return rc;
}

int lg_gate_add_report_file(lg_gate_t *g, const char *path, char *err, size_t errlen)
{
    return add_file(g, path, lg_gate_add_report, err, errlen);
}

static int load_baseline_raw(lg_gate_t *g, const char *name, const char *text, size_t len, char *err,
                         size_t errlen)
{
    lg__json_t *doc;
    int rc = parse_doc(name, text, len, &doc, err, errlen);
    if (rc)
        return rc;
    const char *schema = json_str(doc, "schema");
    const lg__json_t *leaks = lg__json_get(doc, "leaks");
    if (doc->type != LG__JSON_OBJECT || !schema || strcmp(schema, BASELINE_SCHEMA) != 0) {
        lg__errf(err, errlen, LG_EFORMAT, "%s: not a " BASELINE_SCHEMA " file (%s%s%s)", name,
                 schema ? "schema \"" : "",
                 doc->type == LG__JSON_OBJECT ? schema_of(doc) : "not an object",
                 schema ? "\"" : "");
        lg__json_free(doc);
        return LG_EFORMAT;
    }
    rc = leaks && leaks->type == LG__JSON_ARRAY ? 0 : LG_EFORMAT;
    if (rc)
        lg__errf(err, errlen, rc, "%s: \"leaks\" must be an array", name);
    for (size_t i = 0; rc == 0 && i < leaks->n; i++) {
        const lg__json_t *e = leaks->items[i];
        const char *bad, *field = "size";
        int kind;
        if (!json_str(e, "test") || !json_str(e, "signature") || !lg__json_get(e, "size") ||
            !lg__json_get(e, "count"))
            rc = lg__errf(err, errlen, LG_EFORMAT,
                          "%s: leak %zu needs \"test\", \"signature\", \"size\" and \"count\"",
                          name, i + 1);
        else if ((bad = int_problem(e, field, 0)) || (bad = int_problem(e, field = "count", 0)))
            rc = lg__errf(err, errlen, LG_EFORMAT, "%s: leak %zu: \"%s\" %s", name, i + 1, field,
                          bad);
        else if (!json_kind(e, "kind", &kind))
            rc = lg__errf(err, errlen, LG_EFORMAT, "%s: leak %zu: \"kind\" must be " KIND_FORM,
                          name, i + 1);
    }
    char *copy = rc ? NULL : lg__xstrdup(name);
    if (!rc && !copy)
        rc = lg__errf(err, errlen, LG_ENOMEM, "%s: %s", name, lg_strerror(LG_ENOMEM));
    if (rc) {
        lg__json_free(doc);
        return rc;
    }
    lg__json_free(g->baseline);
    lg__xfree(g->baseline_name);
    g->baseline = doc;
    g->baseline_name = copy;
    return 0;
}

int lg_gate_load_baseline(lg_gate_t *g, const char *name, const char *text, size_t len, char *err,
                          size_t errlen)
{
    int rc = load_baseline_raw(g, name, text, len, err, errlen);
    if (rc)
        lg__text_fix(err, errlen); /* it may quote a test id or a schema */
    return rc;
}

int lg_gate_load_baseline_file(lg_gate_t *g, const char *path, char *err, size_t errlen)
{
    return add_file(g, path, lg_gate_load_baseline, err, errlen);
}

/* ---- merging --------------------------------------------------------------- */

struct occ {
    const lg__json_t *test;
    const char *id;
    int64_t attempt;
    size_t report, seq;
};

static int occ_cmp(const void *pa, const void *pb)
{
    const struct occ *a = pa, *b = pb;
    int c = strcmp(a->id, b->id);
    if (c)
        return c;
    if (a->attempt != b->attempt)
        return a->attempt > b->attempt ? -1 : 1;
    if (a->report != b->report)
        return a->report < b->report ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Adds one instance (occurrence) to a test. */
static int add_instance(lg__gate_test_t *t, const struct occ *o)
{
    lg_outcome_t out = LG_OUTCOME_CLEAN; /* check_report made sure it parses */
    int64_t size, count;
    parse_outcome(json_str(o->test, "outcome"), &out);
    json_int(o->test, "size_diff", &size);
    json_int(o->test, "count_diff", &count);
    if (t->instances++ == 0 || severity(out) > severity(t->outcome))
        t->outcome = out;
    t->size_diff = lg__add_sat(t->size_diff, size);
    t->count_diff = lg__add_sat(t->count_diff, count);
    const lg__json_t *leaks = lg__json_get(o->test, "leaks");
    size_t add = leaks && leaks->type == LG__JSON_ARRAY ? leaks->n : 0;
    if (!add)
        return 0;
    const lg__json_t **nr = lg__xrealloc(t->rows, (t->nrows + add) * sizeof *nr);
    if (!nr)
        return LG_ENOMEM;
    t->rows = nr;
    /* Rows the verdict did not count (kinds it leaves to notes) are not
     * leaks. */
    for (size_t i = 0; i < add; i++) {
        const lg__json_t *counted = lg__json_get(leaks->items[i], "counted");
        if (!counted || counted->boolean)
            t->rows[t->nrows++] = leaks->items[i];
    }
    return 0;
}

static int merge_tests(lg_gate_t *g, char *err, size_t errlen)
{
    size_t nocc = 0;
    for (size_t r = 0; r < g->nreports; r++)
        nocc += lg__json_get(g->docs[r], "tests")->n;
    struct occ *occ = lg__xcalloc(nocc ? nocc : 1, sizeof *occ);
    g->tests = lg__xcalloc(nocc ? nocc : 1, sizeof *g->tests);
    if (!occ || !g->tests) {
        lg__xfree(occ);
        return LG_ENOMEM;
    }
    size_t k = 0;
    for (size_t r = 0; r < g->nreports; r++) {
        const lg__json_t *tests = lg__json_get(g->docs[r], "tests");
        for (size_t i = 0; i < tests->n; i++, k++) {
            occ[k].test = tests->items[i];
            occ[k].id = json_str(tests->items[i], "id");
            json_int(tests->items[i], "attempt", &occ[k].attempt);
            if (occ[k].attempt == 0)
                occ[k].attempt = 1;
            occ[k].report = r;
            occ[k].seq = i;
        }
    }
    qsort(occ, nocc, sizeof *occ, occ_cmp);
    int rc = 0;
    for (size_t i = 0; i < nocc && rc == 0;) {
        size_t j = i;
        lg__gate_test_t *t = &g->tests[g->ntests++];
        t->id = occ[i].id;
        t->report = g->names[occ[i].report];
        t->attempt = occ[i].attempt;
        for (; j < nocc && strcmp(occ[j].id, occ[i].id) == 0; j++) {
            if (j > i && occ[j].attempt == occ[j - 1].attempt &&
                occ[j].report != occ[j - 1].report) {
                rc = lg__errf(err, errlen, LG_EINVAL,
                              "test %s is in both %s and %s at attempt %lld (a re-run must say "
                              "\"attempt\": N in its report)",
                              occ[j].id, g->names[occ[j - 1].report], g->names[occ[j].report],
                              (long long)occ[j].attempt);
                break;
            }
            if (occ[j].attempt == t->attempt && rc == 0)
                rc = add_instance(t, &occ[j]);
        }
        i = j;
    }
    lg__xfree(occ);
    return rc;
}

/* ---- current leaks and the baseline ---------------------------------------- */

static int leak_cmp(const void *pa, const void *pb)
{
    const lg__gate_leak_t *a = pa, *b = pb;
    int c = strcmp(a->test, b->test);
    if (!c)
        c = strcmp(a->signature, b->signature);
    return c ? c : (a->kind > b->kind) - (a->kind < b->kind);
}

struct leakvec {
    lg__gate_leak_t *v;
    size_t n, cap;
    int64_t *biggest; /* size of the row whose traceback a leak shows */
};

static lg__gate_leak_t *leakvec_push(struct leakvec *lv)
{
    lg__gate_leak_t *nv = lg__vec_reserve(lv->v, &lv->cap, lv->n, sizeof *nv, 64);
    if (!nv)
        return NULL;
    lv->v = nv;
    lg__gate_leak_t *l = &lv->v[lv->n++];
    memset(l, 0, sizeof *l);
    l->kind = -1;
    l->base_size = l->base_count = -1;
    return l;
}

/* The leaks of one test, one per signature and kind (rows added up). */
static int test_leaks(struct leakvec *lv, const lg__gate_test_t *t)
{
    size_t first = lv->n;
    int64_t rows_size = 0, rows_count = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        const lg__json_t *row = t->rows[i];
        int64_t size, count;
        json_int(row, "size_diff", &size);
        json_int(row, "count_diff", &count);
        if (size < 0 || (size == 0 && count <= 0))
            continue; /* not a leak row: memory the test freed */
        const lg__json_t *tb = lg__json_get(row, "traceback");
        if (tb && tb->type != LG__JSON_ARRAY)
            tb = NULL;
        char *sig = lg__gate_signature(tb);
        if (!sig)
            return LG_ENOMEM;
        int kind;
        json_kind(row, "kind", &kind);
        lg__gate_leak_t *l = NULL;
        for (size_t k = first; k < lv->n && !l; k++)
            if (lv->v[k].kind == kind && strcmp(lv->v[k].signature, sig) == 0)
                l = &lv->v[k];
        if (l) {
            lg__xfree(sig);
        } else if ((l = leakvec_push(lv)) == NULL) {
            lg__xfree(sig);
            return LG_ENOMEM;
        } else {
            l->test = t->id;
            l->signature = sig;
            l->kind = kind;
        }
        l->size = lg__add_sat(l->size, size);
        l->count = lg__add_sat(l->count, count);
        rows_size = lg__add_sat(rows_size, size);
        rows_count = lg__add_sat(rows_count, count);
        /* Show the biggest row's traceback; the first on ties. */
        if (!l->traceback || size > l->shown_size) {
            l->traceback = tb;
            l->shown_size = size;
        }
    }
    if (t->size_diff > rows_size) {
        lg__gate_leak_t *l = leakvec_push(lv);
        char *sig = lg__xstrdup(OTHER_LEAKS);
        if (!l || !sig) {
            lg__xfree(sig);
            return LG_ENOMEM;
        }
        l->test = t->id;
        l->signature = sig;
        l->size = t->size_diff - rows_size;
        l->count = t->count_diff > rows_count ? t->count_diff - rows_count : 0;
    }
    return 0;
}

/* A baseline entry's kind: LG_KIND_*, or -1 (none: every kind). */
static int base_kind(const lg__json_t *e)
{
    int kind;
    json_kind(e, "kind", &kind); /* checked when loaded */
    return kind;
}

/* Orders baseline entries by (test, signature); pair_only: not by kind. */
static int base_key_cmp(const lg__json_t *a, const lg__json_t *b, bool pair_only)
{
    int c = strcmp(json_str(a, "test"), json_str(b, "test"));
    if (!c)
        c = strcmp(json_str(a, "signature"), json_str(b, "signature"));
    if (c || pair_only)
        return c;
    int ka = base_kind(a), kb = base_kind(b);
    return (ka > kb) - (ka < kb);
}

static int base_cmp(const void *pa, const void *pb)
{
    return base_key_cmp(*(const lg__json_t *const *)pa, *(const lg__json_t *const *)pb, false);
}

/* A current leak against a baseline entry, by (test, signature). */
static int pair_cmp(const lg__gate_leak_t *l, const lg__json_t *e)
{
    int c = strcmp(l->test, json_str(e, "test"));
    return c ? c : strcmp(l->signature, json_str(e, "signature"));
}

static const lg__gate_test_t *find_test(const lg_gate_t *g, const char *id)
{
    size_t lo = 0, hi = g->ntests;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->tests[mid].id, id);
        if (c == 0)
            return &g->tests[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Whether `now` exceeds `base` by more than the tolerance: the growth is
 * computed exactly in integers (a byte over the baseline is growth, at any
 * size); only a percentage goes through a double. */
static bool grown(const lg_gate_opts_t *o, int64_t now, int64_t base)
{
    if (now <= base)
        return false;
    uint64_t growth = (uint64_t)now - (uint64_t)base;
    uint64_t allowed = o->tolerance_bytes > 0 ? (uint64_t)o->tolerance_bytes : 0;
    double pct = (double)base * o->tolerance_percent / 100.0;
    if (pct >= 18446744073709551615.0)
        return false;
    if (pct > (double)allowed)
        allowed = (uint64_t)pct;
    return growth > allowed;
}

/* The sorted baseline, walked one key at a time. */
struct basewalk {
    const lg__json_t **e;
    size_t n, j;
};

/* Sums the entries from b->j that share its (test, signature, kind): a
 * leak's repeated lines add up.  Returns the first of them. */
static const lg__json_t *base_take(struct basewalk *b, int64_t *size, int64_t *count)
{
    const lg__json_t *first = b->e[b->j];
    *size = *count = 0;
    while (b->j < b->n && base_key_cmp(b->e[b->j], first, false) == 0) {
        int64_t s, n;
        json_int(b->e[b->j], "size", &s);
        json_int(b->e[b->j], "count", &n);
        *size = lg__add_sat(*size, s);
        *count = lg__add_sat(*count, n);
        b->j++;
    }
    return first;
}

/* A baseline leak (entry e, its lines summed) that nothing current
 * matched: fixed, or unchecked when its test did not run.  Returns 0 or
 * LG_ENOMEM (pushing may move lv->v). */
static int push_base(lg_gate_t *g, struct leakvec *lv, const lg__json_t *e, int64_t size,
                     int64_t count)
{
    lg__gate_leak_t *l = leakvec_push(lv);
    if (!l || !(l->signature = lg__xstrdup(json_str(e, "signature")))) {
        if (l)
            lv->n--;
        return LG_ENOMEM;
    }
    l->test = json_str(e, "test");
    l->kind = base_kind(e);
    const lg__gate_test_t *t = find_test(g, l->test);
    l->status = t && t->outcome != LG_OUTCOME_SKIPPED ? LG_GATE_FIXED : LG_GATE_UNCHECKED;
    l->base_size = size;
    l->base_count = count;
    return 0;
}

static int base_only(lg_gate_t *g, struct leakvec *lv, struct basewalk *b)
{
    int64_t size, count;
    const lg__json_t *e = base_take(b, &size, &count);
    return push_base(g, lv, e, size, count);
}

static void set_known(const lg_gate_t *g, lg__gate_leak_t *l, int64_t now, int64_t size,
                      int64_t count)
{
    l->status = grown(&g->opts, now, size) ? LG_GATE_GROWN : LG_GATE_KNOWN;
    l->base_size = size;
    l->base_count = count;
}

/* Whether the next baseline entry belongs to the pair of `pair`. */
static bool same_pair(const struct basewalk *b, const lg__json_t *pair)
{
    return b->j < b->n && base_key_cmp(b->e[b->j], pair, true) == 0;
}

/* Classifies the current leaks [i, i2) of one (test, signature), sorted by
 * kind, against the baseline entries of that pair from b->j on (sorted by
 * kind, those without one first).  An entry with a kind matches the leak
 * of that kind; entries without one cover the leaks that no entry of their
 * kind matched, together: known unless their sum grew. */
static int classify_pair(lg_gate_t *g, struct leakvec *lv, size_t i, size_t i2,
                         struct basewalk *b)
{
    const lg__json_t *pair = b->e[b->j];
    int64_t any_size = 0, any_count = 0, covered = 0;
    bool any = base_kind(pair) < 0;
    if (any)
        base_take(b, &any_size, &any_count);
    int rc = 0;
    for (size_t k = i; k < i2 && rc == 0; k++) {
        lg__gate_leak_t *l = &lv->v[k];
        while (rc == 0 && same_pair(b, pair) && base_kind(b->e[b->j]) < l->kind)
            rc = base_only(g, lv, b);
        l = &lv->v[k]; /* base_only may have moved lv->v */
        if (rc == 0 && l->kind >= 0 && same_pair(b, pair) && base_kind(b->e[b->j]) == l->kind) {
            int64_t size, count;
            base_take(b, &size, &count);
            set_known(g, l, l->size, size, count);
        } else {
            l->status = LG_GATE_NEW; /* unless an entry without kind covers it, below */
            covered = any ? lg__add_sat(covered, l->size) : covered;
            l->base_size = any ? -2 : -1; /* -2: covered */
        }
    }
    while (rc == 0 && same_pair(b, pair))
        rc = base_only(g, lv, b);
    bool matched = false;
    for (size_t k = i; k < i2; k++) {
        if (lv->v[k].base_size == -2) {
            set_known(g, &lv->v[k], covered, any_size, any_count);
            matched = true;
        }
    }
    if (rc == 0 && any && !matched)
        rc = push_base(g, lv, pair, any_size, any_count);
    return rc;
}

/* Classifies the current leaks (sorted) against the sorted baseline. */
static int classify(lg_gate_t *g, struct leakvec *lv)
{
    const lg__json_t *bl = g->baseline ? lg__json_get(g->baseline, "leaks") : NULL;
    size_t nb = bl ? bl->n : 0;
    struct basewalk b = {lg__xcalloc(nb ? nb : 1, sizeof *b.e), nb, 0};
    if (!b.e)
        return LG_ENOMEM;
    for (size_t i = 0; i < nb; i++)
        b.e[i] = bl->items[i];
    qsort(b.e, nb, sizeof *b.e, base_cmp);
    g->counts.baseline = nb;

    size_t ncur = lv->n, i = 0;
    int rc = 0;
    while (rc == 0 && (i < ncur || b.j < nb)) {
        int c = i >= ncur ? 1 : b.j >= nb ? -1 : pair_cmp(&lv->v[i], b.e[b.j]);
        if (c < 0) {
            lv->v[i++].status = LG_GATE_NEW;
        } else if (c > 0) {
            rc = base_only(g, lv, &b);
        } else {
            size_t i2 = i + 1;
            while (i2 < ncur && pair_cmp(&lv->v[i2], b.e[b.j]) == 0)
                i2++;
            rc = classify_pair(g, lv, i, i2, &b);
            i = i2;
        }
    }
    lg__xfree(b.e);
    return rc;
}

/* ---- allocation sites ------------------------------------------------------ */

static int site_sig_cmp(const void *pa, const void *pb)
{
    const lg__gate_leak_t *a = *(const lg__gate_leak_t *const *)pa;
    const lg__gate_leak_t *b = *(const lg__gate_leak_t *const *)pb;
    int c = strcmp(a->signature, b->signature);
    return c ? c : strcmp(a->test, b->test);
}

static int site_size_cmp(const void *pa, const void *pb)
{
    const lg__gate_site_t *a = pa, *b = pb;
    if (a->size != b->size)
        return a->size > b->size ? -1 : 1;
    return strcmp(a->signature, b->signature);
}

static int make_sites(lg_gate_t *g)
{
    const lg__gate_leak_t **cur = lg__xcalloc(g->nleaks ? g->nleaks : 1, sizeof *cur);
    g->sites = lg__xcalloc(g->nleaks ? g->nleaks : 1, sizeof *g->sites);
    if (!cur || !g->sites) {
        lg__xfree(cur);
        return LG_ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < g->nleaks; i++)
        if (g->leaks[i].status <= LG_GATE_KNOWN && strcmp(g->leaks[i].signature, OTHER_LEAKS) != 0)
            cur[n++] = &g->leaks[i];
    qsort(cur, n, sizeof *cur, site_sig_cmp);
    int64_t best = -1;
    for (size_t i = 0; i < n; i++) {
        lg__gate_site_t *s = g->nsites ? &g->sites[g->nsites - 1] : NULL;
        if (!s || strcmp(s->signature, cur[i]->signature) != 0) {
            s = &g->sites[g->nsites++];
            s->signature = cur[i]->signature;
            best = -1;
        }
        s->size = lg__add_sat(s->size, cur[i]->size);
        s->count = lg__add_sat(s->count, cur[i]->count);
        s->tests++;
        if (cur[i]->traceback && cur[i]->size > best) {
            s->traceback = cur[i]->traceback;
            best = cur[i]->size;
        }
    }
    qsort(g->sites, g->nsites, sizeof *g->sites, site_size_cmp);
    lg__xfree(cur);
    return 0;
}

/* ---- compare ---------------------------------------------------------------- */

static int compare_raw(lg_gate_t *g, const lg_gate_opts_t *opts, char *err, size_t errlen)
{
    clear_result(g);
    memset(&g->counts, 0, sizeof g->counts);
    g->opts = opts ? *opts : (lg_gate_opts_t){0};
    g->compared = true;
    int rc = merge_tests(g, err, errlen);
    struct leakvec lv = {0};
    for (size_t i = 0; rc == 0 && i < g->ntests; i++) {
        lg__gate_test_t *t = &g->tests[i];
        t->first_leak = lv.n;
        if (t->outcome == LG_OUTCOME_LEAKED)
            rc = test_leaks(&lv, t);
        t->nleaks = lv.n - t->first_leak;
        g->counts.leaked_tests += t->outcome == LG_OUTCOME_LEAKED;
        g->counts.skipped_tests += t->outcome == LG_OUTCOME_SKIPPED;
        g->counts.inconclusive_tests +=
            t->outcome == LG_OUTCOME_INCONCLUSIVE || t->outcome == LG_OUTCOME_CRASHED;
    }
    /* Tests are sorted by id and each test's leaks follow it: sort within. */
    for (size_t i = 0; rc == 0 && i < g->ntests; i++)
        if (g->tests[i].nleaks > 1) /* lv.v is NULL while there is none */
            qsort(lv.v + g->tests[i].first_leak, g->tests[i].nleaks, sizeof *lv.v, leak_cmp);
    if (rc == 0)
        rc = classify(g, &lv);
    g->leaks = lv.v;
    g->nleaks = lv.n;
    if (rc == 0) {
        /* Baseline-only leaks were appended: one order for everything. */
        if (g->nleaks > 1)
            qsort(g->leaks, g->nleaks, sizeof *g->leaks, leak_cmp);
        for (size_t i = 0; i < g->ntests; i++)
            g->tests[i].nleaks = 0;
        for (size_t i = g->nleaks; i-- > 0;) {
            lg__gate_test_t *t = (lg__gate_test_t *)find_test(g, g->leaks[i].test);
            if (t) {
                t->first_leak = i;
                t->nleaks++;
            }
        }
        rc = make_sites(g);
    }
    g->counts.reports = g->nreports;
    g->counts.tests = g->ntests;
    for (size_t i = 0; i < g->nleaks; i++)
        g->counts.by_status[g->leaks[i].status]++;
    if (rc == LG_ENOMEM)
        lg__errf(err, errlen, rc, "%s", lg_strerror(rc));
    return rc;
}

int lg_gate_compare(lg_gate_t *g, const lg_gate_opts_t *opts, char *err, size_t errlen)
{
    int rc = compare_raw(g, opts, err, errlen);
    if (rc)
        lg__text_fix(err, errlen); /* it may quote a test id or a schema */
    return rc;
}

int lg_gate_passed(const lg_gate_t *g)
{
    return g->compared && g->counts.by_status[LG_GATE_NEW] == 0 &&
           g->counts.by_status[LG_GATE_GROWN] == 0;
}

void lg_gate_counts(const lg_gate_t *g, lg_gate_counts_t *out)
{
    *out = g->counts;
}

/* ---- the new baseline ------------------------------------------------------- */

char *lg_gate_baseline_string(const lg_gate_t *g)
{
    lg__sb_t b = {0};
    lg__sb_puts(&b, "{\"schema\": \"" BASELINE_SCHEMA "\", \"leaks\": [\n");
    size_t shown = 0;
    for (size_t i = 0; i < g->nleaks; i++) {
        const lg__gate_leak_t *l = &g->leaks[i];
        if (l->status == LG_GATE_FIXED)
            continue;
        bool keep_old = l->status == LG_GATE_UNCHECKED;
        lg__sb_puts(&b, shown++ ? ",\n{\"test\": " : "{\"test\": ");
        lg__sb_json_str(&b, l->test);
        lg__sb_puts(&b, ", \"signature\": ");
        lg__sb_json_str(&b, l->signature);
        if (l->kind >= 0)
            lg__sb_printf(&b, ", \"kind\": \"%s\"", lg_kind_name(l->kind));
        lg__sb_printf(&b, ", \"size\": %lld, \"count\": %lld}",
                      (long long)(keep_old ? l->base_size : l->size),
                      (long long)(keep_old ? l->base_count : l->count));
    }
    lg__sb_puts(&b, shown ? "\n]}\n" : "]}\n");
    return lg__sb_finish(&b);
}
