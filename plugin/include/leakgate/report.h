/*
 * leakgate/report.h — what a user reads about a test: the failure text of
 * DESIGN.md, tracebacks and statistics lines, the TAP version 13 YAML
 * block, and the JSON report (schema "leakgate/1") every adapter writes.
 *
 * The renderers take a result (session.h) and format it:
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
 * Everything here is part of libleakgate.so: reports are written inside the
 * traced process, from the tracer's own memory (never traced).
 */
#ifndef LEAKGATE_REPORT_H
#define LEAKGATE_REPORT_H

#include <leakgate/session.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Formats a size as tracemalloc's _format_size: "64 B", "10 KiB",
 * "1.5 MiB"; with `sign`, "+64 B" / "-1.5 MiB".  Returns buf. */
LG_API char *lg_format_size(char *buf, size_t len, double size, int sign);

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

/* For a clean result that left blocks of kinds its verdict does not count
 * (lg_result_t.leak_kinds), one line naming them, worst first:
 *
 *   leakgate: test ID passed; note: still reachable: 216 B in 1 block
 *   (library state, or a logical leak: see --repeat)      (one line)
 *
 * Any other result, or nothing left of such kinds: "".  Returns NULL when
 * out of memory.  Caller frees. */
LG_API char *lg_render_notes(const lg_result_t *r);

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
 *         domain: 1
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
 *               "domain": 1, "traceback": [{"kind": "native",
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
/* lg_json_report_t is declared in session.h (a session builds one). */

/* A new, empty report.  Returns 0 or LG_ENOMEM.  Caller frees with
 * lg_json_report_free(). */
LG_API int lg_json_report_new(lg_json_report_t **out);

/* Frees a report and every test in it (NULL is fine). */
LG_API void lg_json_report_free(lg_json_report_t *rep);

/* Appends one test; leaks are the top opts->top leak rows.  Returns 0 or
 * LG_ENOMEM. */
LG_API int lg_json_report_add(lg_json_report_t *rep, const lg_result_t *r,
                              const lg_render_opts_t *opts);

/* Appends every test of a leakgate/1 document (another process's report:
 * a forked test, a pytest-xdist worker), kept verbatim.  Returns 0,
 * LG_EFORMAT (not valid JSON, or not schema leakgate/1; err says where) or
 * LG_ENOMEM.  A document that fails adds nothing. */
LG_API int lg_json_report_merge_buffer(lg_json_report_t *rep, const char *text, size_t len,
                                       char *err, size_t errlen);

/* The same for the file at `path`; also LG_EIO (errno tells why). */
LG_API int lg_json_report_merge_file(lg_json_report_t *rep, const char *path, char *err,
                                     size_t errlen);

/* The number of tests in the report. */
LG_API size_t lg_json_report_count(const lg_json_report_t *rep);

/* The number of tests with this outcome, as rendered ("outcome": "NAME",
 * this writer's and Python's json module's spacing; in a string member the
 * quotes are escaped, so an id cannot imitate it). */
LG_API size_t lg_json_report_count_outcome(const lg_json_report_t *rep, lg_outcome_t outcome);

/* The whole document.  Returns NULL when out of memory.  Caller frees. */
LG_API char *lg_json_report_string(const lg_json_report_t *rep);

/* Writes the document to `path` atomically (a temporary file renamed over
 * it).  Returns 0, LG_EIO (errno tells why) or LG_ENOMEM. */
LG_API int lg_json_report_write(const lg_json_report_t *rep, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* LEAKGATE_REPORT_H */
