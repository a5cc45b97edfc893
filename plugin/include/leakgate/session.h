/*
 * leakgate/session.h — the policy every adapter shares: the test session,
 * verdicts and limits, settings (sizes and integers from options and
 * LEAKGATE_* variables) and the default suppressions.
 *
 * Nothing here knows which test framework it serves.  An adapter drives a
 * session around each test case:
 *
 *   lg_session_t *s;
 *   lg_session_new(&s, err, sizeof err);      // settings from LEAKGATE_*
 *   lg_session_begin_test(s, "suite::test");  // limits, tracing on, a mark
 *   ... the test runs ...
 *   lg_result_t r;
 *   lg_session_end_test(s, &r);               // diff, filters, verdict
 *   if (r.outcome != LG_OUTCOME_CLEAN)
 *       text = lg_session_failure_text(s);    // report.h's failure text
 *   lg_json_report_write(lg_session_report(s), path);   // report.h
 *   lg_session_free(s);
 *
 * Functions returning int return 0 or a negative LG_E* code (runtime.h).
 * Strings returned as `char *` are the caller's: free with lg_string_free()
 * (report.h).  Everything here is part of libleakgate.so and runs inside
 * the traced process.
 */
#ifndef LEAKGATE_SESSION_H
#define LEAKGATE_SESSION_H

#include <leakgate/runtime.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- verdicts ---------------------------------------------------------- */

typedef enum {
    LG_OUTCOME_CLEAN,
    LG_OUTCOME_LEAKED,
    LG_OUTCOME_INCONCLUSIVE, /* traces were lost: a clean diff proves nothing */
    LG_OUTCOME_SKIPPED,
    LG_OUTCOME_CRASHED /* the test ended before its verdict: signal, timeout */
} lg_outcome_t;

/* Exit statuses shared by the command line and the adapters (the table in
 * docs/reference.md).  A program stopped by an adapter that cannot check
 * anything (libleakgate-criterion loaded but not in force) exits
 * LG_EXIT_NOT_CHECKED before any test runs. */
#define LG_EXIT_USAGE       2
#define LG_EXIT_LEAKED      23 /* default of --error-exitcode */
#define LG_EXIT_NOT_CHECKED 24

/* "clean", "leaked", "inconclusive", "skipped" or "crashed" (static). */
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

/* ---- leak kinds: which ones a verdict counts ---------------------------
 *
 * A set of kinds (runtime.h's LG_KIND_*) as bits.  LG_LEAK_KINDS_ALL is the
 * model of repeats and of pytest --leaks: every row counts, net of the older
 * blocks the test freed.  Any other set counts the new blocks of those
 * kinds only (a block nothing points to stays lost whatever the test
 * freed); rows of no kind (lg_stat_t.kind -1: no scan ran) count when
 * they grew. */
#define LG_KIND_BIT(kind)     (1u << (kind))
#define LG_LEAK_KINDS_ALL     0xfu
#define LG_LEAK_KINDS_DEFAULT (LG_KIND_BIT(LG_KIND_DEFINITE) | LG_KIND_BIT(LG_KIND_INDIRECT))
#define LG_LEAK_KINDS_FORM                                                              \
    "a comma-separated list of definite, indirect, possible, reachable, or all"

/* Parses "definite,indirect", "all", ... into a set (never empty).  On
 * LG_EINVAL, err receives "NAME=TEXT: expected <LG_LEAK_KINDS_FORM>". */
LG_API int lg_parse_leak_kinds(const char *name, const char *text, unsigned *out, char *err,
                               size_t errlen);

/* Whether row `st` counts under the set `kinds` (see above). */
LG_API int lg_row_counts(const lg_stat_t *st, unsigned kinds);

/* Everything the renderers need about one test. */
typedef struct lg_result {
    const char *id; /* test id, borrowed */
    lg_outcome_t outcome;
    int64_t size_diff; /* what the counted rows of `leaks` add up to */
    int64_t count_diff;
    lg_limits_t limits;
    uint64_t lost_traces;
    const lg_stats_t *leaks; /* borrowed, may be NULL (skipped tests) */
    bool has_param;          /* an instance of a parameterized test: */
    unsigned param;          /*   its parameter index ("param" in JSON) */
    const char *note;        /* why there is no verdict ("timed out"), or NULL; borrowed */
    unsigned leak_kinds;     /* the kinds counted (LG_LEAK_KINDS_ALL: every row) */
    unsigned runs;           /* repeats: the measured runs the verdict comes from, after one
                                unmeasured run ("runs" in JSON); 0: one window */
} lg_result_t;

/* Fills *r from the rows of `leaks` (totals by lg_stats_totals, outcome by
 * lg_verdict), every row counting.  Borrows id and leaks: they must
 * outlive *r. */
LG_API void lg_result_init(lg_result_t *r, const char *id, const lg_stats_t *leaks,
                           const lg_limits_t *limits, uint64_t lost_traces);

/* The same, counting the rows of the kinds in `kinds` only. */
LG_API void lg_result_init_kinds(lg_result_t *r, const char *id, const lg_stats_t *leaks,
                                 const lg_limits_t *limits, uint64_t lost_traces, unsigned kinds);

/* The leak rows of a whole-process snapshot: its traces that pass `filters`
 * (NULL: all), grouped by (domain, traceback, kind) (a row's kind is its
 * traces', -1 when the snapshot has none), with size_diff = size and
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

/* ---- default suppressions ---------------------------------------------- */

/* Suppression lines (lg_filterset_parse_line syntax) for what the C library
 * allocates lazily and keeps until exit: stdio buffers, locales, time
 * zones, the dynamic loader, the environment, nss, thread resources.  The
 * array ends with NULL; static. */
LG_API const char *const *lg_default_suppressions(void);

/* Appends the default suppressions to `set`.  Returns 0 or LG_ENOMEM. */
LG_API int lg_filterset_add_defaults(lg_filterset_t *set);

/* The JSON report a session builds; its functions are in report.h. */
typedef struct lg_json_report lg_json_report_t;

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
 * count limit), LEAKGATE_LEAK_KINDS (default definite,indirect; all with
 * repeats), LEAKGATE_REPEAT (below), LEAKGATE_TOP, LEAKGATE_SUPPRESSIONS
 * (filter lines and `limit` lines), LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1,
 * LEAKGATE_LIMITS; the runtime's LEAKGATE_UNWIND, LEAKGATE_START and
 * LEAKGATE_FRAMES are checked too (where the runtime read them as it
 * loaded, it has already reported and removed a bad one).
 * Per-test limits are lines `limit PATTERN [max_size=SIZE] [max_count=N]`
 * (PATTERN: fnmatch on the test id), in the suppressions file or in
 * LEAKGATE_LIMITS separated by ';'; the last matching line wins, the
 * environment's after the file's. */

typedef struct lg_session lg_session_t;

/* Returns 0, or LG_EINVAL / LG_ESYNTAX / LG_EIO with a one-line message
 * naming the bad setting in err, or LG_ENOMEM.  Caller frees with
 * lg_session_free(). */
LG_API int lg_session_new(lg_session_t **out, char *err, size_t errlen);

/* Frees the session, its filters and its report (NULL is fine); a running
 * test's mark is dropped. */
LG_API void lg_session_free(lg_session_t *s);

/* Begins test `id` (copied): starts tracing if it is off, then takes a
 * mark.  Returns 0 or an LG_E* code (the test is then not checked). */
LG_API int lg_session_begin_test(lg_session_t *s, const char *id);

/* Replaces the limits of the running test (a test that caches on purpose). */
LG_API void lg_session_set_limits(lg_session_t *s, const lg_limits_t *limits);

/* The running test is the instance of a parameterized test with this
 * parameter index: its result carries it ("param" in JSON, "ID[N]" in the
 * failure text), so that two instances of one id can be told apart. */
LG_API void lg_session_set_param(lg_session_t *s, unsigned param);

/* The limits of the running (or last begun) test; before any, the defaults. */
LG_API lg_limits_t lg_session_limits(const lg_session_t *s);

/* The limits a test with this id begins with: the defaults, then each
 * matching `limit` rule in order (what lg_session_begin_test applies; the
 * command line applies them to a whole process's verdict). */
LG_API lg_limits_t lg_session_limits_for(const lg_session_t *s, const char *id);

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

/* Repeats: logical leaks in C (LEAKGATE_REPEAT=N, 1 to LG_REPEAT_MAX; 0 or
 * unset: off).  The adapter runs each test once unmeasured (its outcome is
 * the test's), then measures it up to N times, each run a window of its own:
 *
 *   for (k = 1; k <= N; k++) {
 *       lg_session_begin_test(s, id);    // the same id: run k of the test
 *       ... fixtures and body again, their assertions held back ...
 *       lg_session_measure(s, &r);       // r.runs == k
 *       if (r.outcome != LG_OUTCOME_LEAKED)
 *           break;                       // a clean run ends the check
 *   }
 *   lg_session_record(s);
 *
 * so a test leaks only if every measured run left memory over its limits,
 * whatever its kind (the default kinds become all): a one-time
 * initialisation is absorbed by the unmeasured run, a list that grows on
 * every call is not.  A run whose outcome differs from the first run's
 * ends the check: lg_session_abandon(), then lg_session_not_checked(). */
#define LG_REPEAT_MAX 100

/* N, the measured runs of each test (0: repeats are off). */
LG_API unsigned lg_session_repeat(const lg_session_t *s);

/* Replaces N (an adapter with a model of its own, pytest --leaks, sets 0). */
LG_API void lg_session_set_repeat(lg_session_t *s, unsigned n);

/* lg_session_skip_test with a note saying why (borrowed: "failed when run
 * again").  Returns 0 or LG_ENOMEM. */
LG_API int lg_session_not_checked(lg_session_t *s, const char *id, const char *why);

/* Replaces the default limits (what an adapter's options say). */
LG_API void lg_session_set_defaults(lg_session_t *s, const lg_limits_t *limits);

/* The kinds a verdict counts (default LEAKGATE_LEAK_KINDS, else
 * LG_LEAK_KINDS_DEFAULT).  A test that left blocks gets a reachability
 * scan (lg_scan_take) when it ends, so that its rows have kinds; if the
 * scan fails, its new blocks have no kind and all count. */
LG_API void lg_session_set_leak_kinds(lg_session_t *s, unsigned kinds);

/* When a test that left blocks is scanned:
 *   LG_SCAN_ALL     always (the default): every row has a kind
 *   LG_SCAN_OFF     never: rows have no kind (pytest --leaks, whose heap is
 *                   big and whose model counts every kind)
 *   LG_SCAN_NATIVE  when a row has native frames (a C extension's blocks
 *                   under pytest): those rows have kinds, the others none */
enum { LG_SCAN_OFF, LG_SCAN_ALL, LG_SCAN_NATIVE };
LG_API void lg_session_set_scan(lg_session_t *s, int mode);

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
#endif /* LEAKGATE_SESSION_H */
