/*
 * leakgate/plugin.h — policy shared by every adapter: verdicts, settings,
 * default suppressions and report rendering (failure text, JSON report).
 *
 * Nothing here knows which test framework it serves.  An adapter computes
 * the leak rows of a test (lg_mark_diff(), or lg_leaks_from_snapshot() for a
 * whole process), then:
 *
 *   lg_result_t r;
 *   lg_result_init(&r, "suite::test", leaks, &limits, lost);
 *   if (r.outcome != LG_OUTCOME_CLEAN) {
 *       char *text = lg_render_failure(&r, NULL);  // DESIGN.md's format
 *       ...; lg_string_free(text);
 *   }
 *   lg_json_report_add(report, &r, NULL);          // once per test
 *   lg_json_report_write(report, path);            // once at the end
 *
 * Functions returning int return 0 or a negative LG_E* code (runtime.h).
 * Strings returned as `char *` are the caller's: free with lg_string_free().
 */
#ifndef LEAKGATE_PLUGIN_H
#define LEAKGATE_PLUGIN_H

#include <leakgate/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- verdicts ---------------------------------------------------------- */

typedef enum {
    LG_OUTCOME_CLEAN,
    LG_OUTCOME_LEAKED,
    LG_OUTCOME_INCONCLUSIVE, /* traces were lost: a clean diff proves nothing */
    LG_OUTCOME_SKIPPED
} lg_outcome_t;

/* "clean", "leaked", "inconclusive" or "skipped" (static). */
LG_API const char *lg_outcome_name(lg_outcome_t outcome);

/* What a test may leave behind.  A test leaks when its size_diff exceeds
 * max_size bytes, or (max_count >= 0) its count_diff exceeds max_count. */
typedef struct lg_limits {
    int64_t max_size;  /* bytes, >= 0 */
    int64_t max_count; /* blocks; -1: no count limit */
} lg_limits_t;

#define LG_LIMITS_INIT \
    {                  \
        0, -1          \
    }

/* The outcome for these totals: leaked when over a limit; otherwise
 * inconclusive when lost_traces > 0, else clean.  limits NULL: {0, -1}. */
LG_API lg_outcome_t lg_verdict(const lg_limits_t *limits, int64_t size_diff, int64_t count_diff,
                               uint64_t lost_traces);

/* Everything the renderers need about one test. */
typedef struct lg_result {
    const char *id; /* test id, borrowed */
    lg_outcome_t outcome;
    int64_t size_diff; /* net change over all rows of `leaks` */
    int64_t count_diff;
    lg_limits_t limits;
    uint64_t lost_traces;
    const lg_stats_t *leaks; /* borrowed, may be NULL (skipped tests) */
} lg_result_t;

/* Fills *r from the rows of `leaks` (totals by lg_stats_totals, outcome by
 * lg_verdict).  Borrows id and leaks: they must outlive *r. */
LG_API void lg_result_init(lg_result_t *r, const char *id, const lg_stats_t *leaks,
                           const lg_limits_t *limits, uint64_t lost_traces);

/* The leak rows of a whole-process snapshot: its traces that pass `filters`
 * (NULL: all), grouped by (domain, traceback), with size_diff = size and
 * count_diff = count, biggest first.  Caller frees with lg_stats_free(). */
LG_API int lg_leaks_from_snapshot(const lg_snapshot_t *snap, const lg_filterset_t *filters,
                                  lg_stats_t **out);

/* ---- settings: sizes and integers from options and LEAKGATE_* ---------- */

#define LG_SIZE_FORM                                                      \
    "a size in bytes: N, N B, N KiB, N MiB, N GiB (1024) or N kB, N MB, " \
    "N GB (1000)"

/* Parses "0", "100", "100 B", "1 KiB", "1KiB", "2 MiB", "3 GiB", "1 kB",
 * "1 MB", "1 GB" (one optional space; units case-sensitive).  Returns 0 or
 * LG_EINVAL (anything else, or more than INT64_MAX bytes). */
LG_API int lg_parse_size(const char *text, int64_t *out);

/* The same, for a named setting ("--max-size", "LEAKGATE_MAX_SIZE"): on
 * LG_EINVAL, err receives "NAME=TEXT: expected <LG_SIZE_FORM>". */
LG_API int lg_parse_size_setting(const char *name, const char *text, int64_t *out, char *err,
                                 size_t errlen);

/* Parses a decimal integer in [lo, hi]; on LG_EINVAL err receives
 * "NAME=TEXT: expected an integer from LO to HI". */
LG_API int lg_parse_int_setting(const char *name, const char *text, int64_t lo, int64_t hi,
                                int64_t *out, char *err, size_t errlen);

/* Formats a size as tracemalloc's _format_size: "64 B", "10 KiB",
 * "1.5 MiB"; with `sign`, "+64 B" / "-1.5 MiB".  Returns buf. */
LG_API char *lg_format_size(char *buf, size_t len, double size, int sign);

/* ---- default suppressions ---------------------------------------------- */

/* Suppression lines (lg_filterset_parse_line syntax) for what the C library
 * allocates lazily and keeps until exit: stdio buffers, locales, time
 * zones, the dynamic loader, the environment, nss, thread resources.  The
 * array ends with NULL; static. */
LG_API const char *const *lg_default_suppressions(void);

/* Appends the default suppressions to `set`.  Returns 0 or LG_ENOMEM. */
LG_API int lg_filterset_add_defaults(lg_filterset_t *set);

/* ---- failure text ------------------------------------------------------ */

#define LG_TOP_DEFAULT 5

typedef struct lg_render_opts {
    int top;                 /* tracebacks shown: 0 means LG_TOP_DEFAULT,
                             -1 means all */
    const char *base_dir;    /* files under it are shown relative to it;
                             NULL: the current directory, "": never */
    const char *stop_module; /* fnmatch pattern on a module's file name:
                                a traceback is cut before the first frame
                                (after frame 0) in such a module, the test
                                runner's frames below the test; NULL: whole */
    const char *stop_file;   /* the same for Python frames, on their whole
                                file path (pytest's own files); several
                                patterns separated by ':'; NULL: none */
} lg_render_opts_t;

/* The failure text of DESIGN.md for a leaked or inconclusive result, every
 * line ending in '\n':
 *
 *   leakgate: test ID leaked 96 B in 2 blocks (limit 0 B)
 *     64 B in 1 block (+1) allocated at
 *       File "tests/test_x.py", line 3          (Python frames first,
 *       #0 buffer_new  src/buffer.c:41  (libparse.so+0x1a2b)  then native)
 *     ... and 2 more tracebacks (48 B)
 *
 * Clean and skipped results render as "" (nothing to say).  opts NULL:
 * defaults.  Returns NULL when out of memory.  Caller frees. */
LG_API char *lg_render_failure(const lg_result_t *r, const lg_render_opts_t *opts);

/* The frames of `tb`, Python frames first as tracemalloc's
 * Traceback.format(), then native frames "#N function  file:line
 * (module+0xoffset)" in aligned columns, each line prefixed by `indent`.
 * Returns NULL when out of memory.  Caller frees. */
LG_API char *lg_render_traceback(const lg_traceback_t *tb, const char *indent,
                                 const lg_render_opts_t *opts);

/* One row as tracemalloc's Statistic.__str__ ("src/a.c:41: size=64 B,
 * count=1, average=64 B") or, with `diff`, StatisticDiff.__str__
 * ("... size=64 B (+64 B), count=1 (+1), average=64 B").  The key is the
 * most recent frame.  Returns NULL when out of memory.  Caller frees. */
LG_API char *lg_render_stat(const lg_stat_t *st, int diff, const lg_render_opts_t *opts);

/* The TAP version 13 YAML diagnostic block of a leaked or inconclusive
 * result, for the line after its `not ok` (or `ok`) test point; every line
 * is prefixed by `indent` (NULL: two spaces) and ends in '\n':
 *
 *   ---
 *   message: "leaked 96 B in 2 blocks (limit 0 B)"
 *   severity: fail                        (inconclusive: warn)
 *   data:
 *     outcome: leaked
 *     size_diff: 96
 *     count_diff: 2
 *     limits:
 *       max_size: 0
 *       max_count: ~
 *     lost_traces: 0
 *     leaks:                              (the top opts->top rows)
 *       - size_diff: 64
 *         count_diff: 1
 *         domain: 0
 *         frames:                         (most recent first, cut at
 *           - function: "buffer_new"       opts->stop_module; files and
 *             file: "/src/buffer.c"        modules as recorded)
 *             line: 41
 *             module: "/lib/libparse.so"
 *   ...
 *
 * Clean and skipped results render as "".  Returns NULL when out of
 * memory.  Caller frees. */
LG_API char *lg_render_tap_yaml(const lg_result_t *r, const lg_render_opts_t *opts,
                                const char *indent);

/* Frees a string returned by this header's functions (NULL is fine). */
LG_API void lg_string_free(char *s);

/* ---- JSON report (schema "leakgate/1") --------------------------------- */

/*
 *   {"schema": "leakgate/1", "tests": [
 *   {"id": "...", "outcome": "leaked", "size_diff": 96, "count_diff": 2,
 *    "limits": {"max_size": 0, "max_count": null},
 *    "leaks": [{"size_diff": 64, "count_diff": 1, "size": 64, "count": 1,
 *               "domain": 0, "traceback": [{"kind": "native",
 *               "function": "buffer_new", "file": "/src/buffer.c",
 *               "line": 41, "module": "/lib/libparse.so",
 *               "offset": 6699}, ...]}, ...]},
 *   ...
 *   ]}
 *
 * Frames most recent first, files and modules as recorded; unknown fields
 * null.  A report is built in memory, one test per line, and written once.
 *
 * Optional test fields (readers ignore members they do not know):
 *   "attempt": N   the Nth run of this test in the CI job (1 when absent).
 *                  A runner that re-runs a test (pytest-rerunfailures, a
 *                  retried CI job) writes each run with its attempt; the
 *                  gate keeps the highest and refuses the same id at the
 *                  same attempt in two reports.
 * The same id several times in one report, at one attempt, is one test
 * run several times over (Criterion's parameterized tests): the gate adds
 * their leaks up.
 */
typedef struct lg_json_report lg_json_report_t;

/* Caller frees with lg_json_report_free().  Returns 0 or LG_ENOMEM. */
LG_API int lg_json_report_new(lg_json_report_t **out);
LG_API void lg_json_report_free(lg_json_report_t *rep);

/* Appends one test; leaks are the top opts->top leak rows.  Returns 0 or
 * LG_ENOMEM. */
LG_API int lg_json_report_add(lg_json_report_t *rep, const lg_result_t *r,
                              const lg_render_opts_t *opts);

/* Appends every test of a leakgate/1 document (another process's report).
 * Returns 0, LG_EIO (errno tells why), LG_EFORMAT (not valid JSON, or not
 * schema leakgate/1; err says where) or LG_ENOMEM. */
LG_API int lg_json_report_merge_buffer(lg_json_report_t *rep, const char *text, size_t len,
                                       char *err, size_t errlen);
LG_API int lg_json_report_merge_file(lg_json_report_t *rep, const char *path, char *err,
                                     size_t errlen);

LG_API size_t lg_json_report_count(const lg_json_report_t *rep);

/* The whole document.  Returns NULL when out of memory.  Caller frees. */
LG_API char *lg_json_report_string(const lg_json_report_t *rep);

/* Writes the document to `path` atomically (a temporary file renamed over
 * it).  Returns 0, LG_EIO (errno tells why) or LG_ENOMEM. */
LG_API int lg_json_report_write(const lg_json_report_t *rep, const char *path);

/* ---- the CI gate: merged reports against a baseline of known leaks ------
 *
 *   lg_gate_new()
 *   lg_gate_add_report_file()  once per shard (merged; see "attempt" above)
 *   lg_gate_load_baseline_file()           the known leaks, if any
 *   lg_gate_compare()          each leak is new, grown, known or fixed
 *   lg_gate_render() / lg_gate_baseline_write() / lg_gate_passed()
 *
 * A leak is a (test id, signature) pair of a test whose outcome is
 * "leaked" (a test within its own limits has none).  The signature names
 * the top LG_GATE_SIGNATURE_FRAMES frames that have a function or a file,
 * most recent first, as "function@file-basename" joined by " < "; no
 * addresses, offsets or line numbers, so it survives rebuilds and edits
 * elsewhere in a file.  Rows of one test with one signature add up; what a
 * report leaves out of a test's leak (its "leaks" list is cut at --top) is
 * the signature "(other leaks)".
 *
 * The baseline file, schema "leakgate-baseline/1", one leak per line,
 * sorted by test then signature (byte order):
 *
 *   {"schema": "leakgate-baseline/1", "leaks": [
 *   {"test": "kvconf::report_header", "signature": "__strdup@strdup.c < ...",
 *    "size": 5, "count": 1},
 *   ...
 *   ]}
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
} lg_gate_opts_t;

typedef struct lg_gate_counts {
    size_t reports, tests, leaked_tests, skipped_tests, inconclusive_tests;
    size_t by_status[LG_GATE_UNCHECKED + 1]; /* leaks per lg_gate_status_t */
    size_t baseline;                         /* leaks in the baseline */
} lg_gate_counts_t;

/* Caller frees with lg_gate_free().  Returns 0 or LG_ENOMEM. */
LG_API int lg_gate_new(lg_gate_t **out);
LG_API void lg_gate_free(lg_gate_t *g);

/* Adds the tests of a leakgate/1 report; `name` (copied) names it in
 * messages.  Returns 0, LG_EIO (file unreadable, errno tells why),
 * LG_EFORMAT (not JSON, truncated, not schema leakgate/1, or a test
 * without a string id or a known outcome) or LG_ENOMEM; err receives
 * "NAME: what is wrong".  A failed report adds nothing. */
LG_API int lg_gate_add_report(lg_gate_t *g, const char *name, const char *text, size_t len,
                              char *err, size_t errlen);
LG_API int lg_gate_add_report_file(lg_gate_t *g, const char *path, char *err, size_t errlen);

/* Reads the known leaks (replacing any read before).  Same returns as
 * lg_gate_add_report; LG_EIO with errno ENOENT when the file is missing. */
LG_API int lg_gate_load_baseline(lg_gate_t *g, const char *name, const char *text, size_t len,
                                 char *err, size_t errlen);
LG_API int lg_gate_load_baseline_file(lg_gate_t *g, const char *path, char *err, size_t errlen);

/* Merges the reports and classifies every leak.  Returns 0, LG_EINVAL when
 * one test id is in two reports at the same attempt (err names the test
 * and both reports), or LG_ENOMEM.  opts NULL: no tolerance.  Call once,
 * after the last report and baseline. */
LG_API int lg_gate_compare(lg_gate_t *g, const lg_gate_opts_t *opts, char *err, size_t errlen);

/* After lg_gate_compare: 1 when no leak is new or grown, else 0. */
LG_API int lg_gate_passed(const lg_gate_t *g);
LG_API void lg_gate_counts(const lg_gate_t *g, lg_gate_counts_t *out);

typedef enum {
    LG_GATE_TEXT,     /* the summary a CI log shows */
    LG_GATE_MARKDOWN, /* a CI job summary */
    LG_GATE_JUNIT,    /* JUnit XML, one test case per checked test */
    LG_GATE_HTML      /* one self-contained page: chart, tracebacks */
} lg_gate_format_t;

/* The gate's result in `format`, after lg_gate_compare.  Returns NULL when
 * out of memory.  Caller frees with lg_string_free(). */
LG_API char *lg_gate_render(const lg_gate_t *g, lg_gate_format_t format);

/* The baseline these reports make: every current leak at its current
 * size, plus the baseline's leaks of tests that did not run.  Returns NULL
 * when out of memory.  Caller frees with lg_string_free(). */
LG_API char *lg_gate_baseline_string(const lg_gate_t *g);

/* Writes text to path atomically (a temporary file renamed over it).
 * Returns 0, LG_EIO (errno tells why). */
LG_API int lg_gate_write_file(const char *path, const char *text);

/* ---- the test session ----------------------------------------------------
 *
 * What every adapter does around each test case:
 *
 *   lg_session_new()            settings from the environment (below)
 *   lg_session_begin_test(id)   limits for this id, tracing on, a mark
 *     ... the test runs; lg_session_set_limits() may change its limits ...
 *   lg_session_end_test()       diff since the mark, filters, verdict,
 *                               result added to the session's JSON report
 *   lg_session_failure_text()   the text a user reads when it leaked
 *
 * Settings: LEAKGATE_MAX_SIZE, LEAKGATE_MAX_COUNT (default limits: 0 B, no
 * count limit), LEAKGATE_TOP, LEAKGATE_SUPPRESSIONS (filter lines and
 * `limit` lines), LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1, LEAKGATE_LIMITS.
 * Per-test limits are lines `limit PATTERN [max_size=SIZE] [max_count=N]`
 * (PATTERN: fnmatch on the test id), in the suppressions file or in
 * LEAKGATE_LIMITS separated by ';'; the last matching line wins, the
 * environment's after the file's. */

typedef struct lg_session lg_session_t;

/* Returns 0, or LG_EINVAL / LG_ESYNTAX / LG_EIO with a one-line message
 * naming the bad setting in err, or LG_ENOMEM.  Caller frees with
 * lg_session_free(). */
LG_API int lg_session_new(lg_session_t **out, char *err, size_t errlen);
LG_API void lg_session_free(lg_session_t *s);

/* Begins test `id` (copied): starts tracing if it is off, then takes a
 * mark.  Returns 0 or an LG_E* code (the test is then not checked). */
LG_API int lg_session_begin_test(lg_session_t *s, const char *id);

/* Replaces the limits of the running test (a test that caches on purpose). */
LG_API void lg_session_set_limits(lg_session_t *s, const lg_limits_t *limits);
LG_API lg_limits_t lg_session_limits(const lg_session_t *s);

/* Ends the running test: fills *out (valid until the next begin_test or
 * lg_session_free) and adds it to the session's report.  Returns 0 or an
 * LG_E* code (LG_ESTALE: no test was begun, or another mark replaced it). */
LG_API int lg_session_end_test(lg_session_t *s, lg_result_t *out);

/* lg_session_end_test in two steps, for adapters that measure a test
 * several times and report once: measure fills *out without adding it to
 * the report; record adds the last measured result (LG_ESTALE: none). */
LG_API int lg_session_measure(lg_session_t *s, lg_result_t *out);
LG_API int lg_session_record(lg_session_t *s);

/* Drops the running test's window unmeasured (the test raised): if the same
 * test was measured before this run began, that result is the last measured
 * one again, for record and lg_session_failure_text. */
LG_API void lg_session_abandon(lg_session_t *s);

/* Adds a result with outcome "skipped" for test `id` (not checked: it
 * failed, was skipped, or opted out).  Returns 0 or LG_ENOMEM. */
LG_API int lg_session_skip_test(lg_session_t *s, const char *id);

/* Replaces the default limits (what an adapter's options say). */
LG_API void lg_session_set_defaults(lg_session_t *s, const lg_limits_t *limits);

/* Tracebacks shown per failure (lg_render_opts_t.top). */
LG_API void lg_session_set_top(lg_session_t *s, int top);

/* Adds the suppressions of `spec`: the path of a suppressions file, else
 * one line of it (a filter or a `limit` rule).  `name` names the input in
 * errors ("--leaks-filter").  Returns 0, LG_ESYNTAX / LG_EINVAL / LG_EIO
 * with a one-line message in err, or LG_ENOMEM. */
LG_API int lg_session_add_suppressions(lg_session_t *s, const char *name, const char *spec,
                                       char *err, size_t errlen);

/* The failure text of the last ended test (lg_render_failure with the
 * session's LEAKGATE_TOP).  Caller frees with lg_string_free(). */
LG_API char *lg_session_failure_text(const lg_session_t *s);

/* Cuts the session's tracebacks before the first frame in a module
 * matching `pattern` (lg_render_opts_t.stop_module; borrowed: a literal). */
LG_API void lg_session_stop_frames_at(lg_session_t *s, const char *pattern);

/* The same for Python frames: cut before the first one whose file matches
 * `pattern` (lg_render_opts_t.stop_file; borrowed). */
LG_API void lg_session_stop_python_frames_at(lg_session_t *s, const char *pattern);

/* The results of every ended test.  Borrowed until lg_session_free(). */
LG_API lg_json_report_t *lg_session_report(lg_session_t *s);

#ifdef __cplusplus
}
#endif
#endif /* LEAKGATE_PLUGIN_H */
