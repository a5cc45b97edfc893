/*
 * leakgate/gate.h — the CI gate: the JSON reports of a suite's shards,
 * merged and compared with a reviewed baseline of known leaks; only new or
 * grown leaks fail.  Renders text, Markdown, JUnit XML and HTML.
 *
 * The gate is a static library (build/lib/libleakgate-gate.a) linked into
 * the `leakgate` command only: it never runs inside a traced process, and
 * libleakgate.so carries none of it.  Functions returning int return 0 or
 * a negative LG_E* code (runtime.h); strings returned as `char *` are the
 * caller's: free with lg_string_free() (report.h).
 */
#ifndef LEAKGATE_GATE_H
#define LEAKGATE_GATE_H

#include <leakgate/report.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the CI gate: merged reports against a baseline of known leaks ------
 *
 *   lg_gate_new()
 *   lg_gate_add_report_file()  once per shard (merged; "attempt": report.h)
 *   lg_gate_load_baseline_file()           the known leaks, if any
 *   lg_gate_compare()          each leak is new, grown, known or fixed
 *   lg_gate_render() / lg_gate_baseline_string() / lg_gate_passed()
 *
 * A leak is a (test id, signature, kind) triple of a test whose outcome is
 * "leaked" (a test within its own limits has none), from the rows its
 * verdict counted (a row marked "counted": false, of a kind the verdict
 * leaves to notes, is not a leak).  The kind is the row's, or none (rows
 * of reports without kinds): a block that was still reachable and is now
 * definitely lost is a new leak.  The signature names
 * the top LG_GATE_SIGNATURE_FRAMES frames that have a function or a file,
 * most recent first, as "function@file-basename" joined by " < "; no
 * addresses, offsets or line numbers, so it survives rebuilds and edits
 * elsewhere in a file.  Rows of one test with one signature add up; what a
 * report leaves out of a test's leak (its "leaks" list is cut at --top) is
 * the signature "(other leaks)".
 *
 * The baseline file, schema "leakgate-baseline/1", one leak per line,
 * sorted by test, signature, then kind (byte order; none first):
 *
 *   {"schema": "leakgate-baseline/1", "leaks": [
 *   {"test": "kvconf::report_header", "signature": "__strdup@strdup.c < ...",
 *    "kind": "definite", "size": 5, "count": 1},
 *   ...
 *   ]}
 *
 * An entry without "kind" (baselines written before leak kinds, leaks of
 * no kind) covers its test and signature's current leaks of every kind
 * together: they are known unless their sum grew.
 */

#define LG_GATE_SIGNATURE_FRAMES 3

typedef struct lg_gate lg_gate_t;

typedef enum {
    LG_GATE_NEW,      /* not in the baseline: fails the gate */
    LG_GATE_GROWN,    /* bigger than the baseline plus tolerance: fails */
    LG_GATE_KNOWN,    /* in the baseline, not grown beyond tolerance */
    LG_GATE_FIXED,    /* in the baseline; its test ran and no longer has it */
    LG_GATE_UNCHECKED /* in the baseline; its test did not run (or skipped) */
} lg_gate_status_t;

typedef struct lg_gate_opts {
    int64_t tolerance_bytes;  /* a leak may grow this much ... */
    double tolerance_percent; /* ... or this percentage of its baseline */
    int top;                  /* allocation sites shown; 0: LG_TOP_DEFAULT */
    const char *baseline;     /* the baseline's name in summaries, or NULL */
    const char *absent;       /* the default baseline, which does not exist
                                 yet (an empty baseline), or NULL */
    int written;              /* the baseline was just written from these
                                 reports: verdicts say so, nothing fails */
} lg_gate_opts_t;

typedef struct lg_gate_counts {
    size_t reports, tests, leaked_tests, skipped_tests, inconclusive_tests;
    size_t by_status[LG_GATE_UNCHECKED + 1]; /* leaks per lg_gate_status_t */
    size_t baseline;                         /* leaks in the baseline */
} lg_gate_counts_t;

/* Caller frees with lg_gate_free().  Returns 0 or LG_ENOMEM. */
int lg_gate_new(lg_gate_t **out);

/* Frees the gate, its parsed reports and baseline (NULL is fine). */
void lg_gate_free(lg_gate_t *g);

/* Adds the tests of a leakgate/1 report; `name` (copied) names it in
 * messages.  Returns 0, LG_EIO (file unreadable, errno tells why),
 * LG_EFORMAT (not JSON, truncated, not schema leakgate/1, or a test
 * without a string id or a known outcome) or LG_ENOMEM; err receives
 * "NAME: what is wrong".  A failed report adds nothing. */
int lg_gate_add_report(lg_gate_t *g, const char *name, const char *text, size_t len,
                       char *err, size_t errlen);

/* The same for the file at `path` (its name in messages). */
int lg_gate_add_report_file(lg_gate_t *g, const char *path, char *err, size_t errlen);

/* Reads the known leaks (replacing any read before).  Same returns as
 * lg_gate_add_report; LG_EIO with errno ENOENT when the file is missing. */
int lg_gate_load_baseline(lg_gate_t *g, const char *name, const char *text, size_t len,
                          char *err, size_t errlen);

/* The same for the file at `path`. */
int lg_gate_load_baseline_file(lg_gate_t *g, const char *path, char *err, size_t errlen);

/* Merges the reports and classifies every leak.  Returns 0, LG_EINVAL when
 * one test id is in two reports at the same attempt (err names the test
 * and both reports), or LG_ENOMEM.  opts NULL: no tolerance.  Call it
 * after the last report and baseline, and again after loading another
 * baseline (the result is recomputed). */
int lg_gate_compare(lg_gate_t *g, const lg_gate_opts_t *opts, char *err, size_t errlen);

/* After lg_gate_compare: 1 when no leak is new or grown, else 0. */
int lg_gate_passed(const lg_gate_t *g);

/* After lg_gate_compare: how many reports, tests and leaks of each status. */
void lg_gate_counts(const lg_gate_t *g, lg_gate_counts_t *out);

typedef enum {
    LG_GATE_TEXT,     /* the summary a CI log shows */
    LG_GATE_MARKDOWN, /* a CI job summary */
    LG_GATE_JUNIT,    /* JUnit XML, one test case per checked test */
    LG_GATE_HTML      /* one self-contained page: chart, tracebacks */
} lg_gate_format_t;

/* The gate's result in `format`, after lg_gate_compare.  Returns NULL when
 * out of memory.  Caller frees with lg_string_free(). */
char *lg_gate_render(const lg_gate_t *g, lg_gate_format_t format);

/* The baseline these reports make: every current leak at its current
 * size, plus the baseline's leaks of tests that did not run.  Returns NULL
 * when out of memory.  Caller frees with lg_string_free(). */
char *lg_gate_baseline_string(const lg_gate_t *g);

typedef enum {
    LG_ANNOTATE_GITHUB, /* workflow commands: one ::error line per leak */
    LG_ANNOTATE_GITLAB  /* a Code Quality report: a JSON array of issues */
} lg_gate_annotations_t;

/* The new and grown leaks, after lg_gate_compare, as annotations of
 * `kind`, each on the first frame of its traceback whose file is under
 * `root` (the repository checkout; NULL: the current directory), by its
 * path relative to root.  Returns NULL when out of memory (an empty string
 * when GitHub has nothing to show).  Caller frees with lg_string_free(). */
char *lg_gate_annotations(const lg_gate_t *g, lg_gate_annotations_t kind, const char *root);

/* A suppression file accepting every current leak (new, grown or known),
 * after lg_gate_compare: one `leak:^FUNCTION$` rule per allocation site
 * (the first frame with a symbol that is not the allocator or a C library
 * wrapper such as strdup), after comments naming each test, size and
 * traceback it covers.  Returns NULL when out of memory.  Caller frees
 * with lg_string_free(). */
char *lg_gate_suppressions(const lg_gate_t *g);

/* Converts the valgrind suppression blocks (`{ name, Memcheck:Leak,
 * fun:... }`) of file `path` into `leak:` rules, one per leak block, on its
 * first fun: frame that is not an allocator (else its first obj:).
 * Returns 0 with *out set (caller frees with lg_string_free), LG_EIO
 * (errno tells why), LG_EFORMAT or LG_ENOMEM; err gets "PATH[:LINE]: what
 * is wrong". */
int lg_suppressions_from_valgrind(const char *path, char **out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* LEAKGATE_GATE_H */
