/*
 * leakgate/tap.h — a TAP producer in which every test case is a leak check.
 *
 * The program prints TAP version 13 on its standard output, for `prove` or
 * any TAP consumer.  Each test case runs in its own leak window: what it
 * allocates and does not free makes it `not ok`, with a YAML diagnostic
 * block saying how much leaked and where it was allocated.
 *
 *   #include <leakgate/tap.h>
 *
 *   static void empty_input(void *arg)
 *   {
 *       struct parser *p = parser_new("");
 *       lg_tap_ok(p != NULL, "parser_new accepts \"\"");
 *       lg_tap_ok(parser_next(p) == NULL, "no token");
 *       parser_free(p);
 *   }
 *
 *   int main(void)
 *   {
 *       lg_tap_plan(2);
 *       lg_tap_case("empty input", empty_input, NULL);
 *       lg_tap_skip(1, "no network here");
 *       return lg_tap_done_testing();
 *   }
 *
 * prints
 *
 *   TAP version 13
 *   1..2
 *   # Subtest: empty input
 *       ok 1 - parser_new accepts ""
 *       ok 2 - no token
 *       1..2
 *   ok 1 - empty input
 *   ok 2 # SKIP no network here
 *
 * and, had the case leaked,
 *
 *   not ok 1 - empty input
 *     ---
 *     message: "leaked 96 B in 2 blocks (limit 0 B)"
 *     severity: fail
 *     data:
 *       size_diff: 96
 *       count_diff: 2
 *       leaks:
 *         - size_diff: 64
 *           frames:
 *             - function: "buffer_new"
 *     ...                                (lg_render_tap_yaml in report.h)
 *
 * with the failure text of leakgate (tracebacks) as a diagnostic on
 * standard error.  Each test case is one test point of the plan; the
 * assertions inside it are an indented subtest, which consumers show in
 * verbose mode.  A case fails when one of its assertions fails (outside a
 * TODO) or when it leaks.  Assertions outside any case are test points of
 * their own.
 *
 * Link with `pkg-config --cflags --libs leakgate-tap` (libleakgate-tap and
 * libleakgate).  Settings are those of every adapter: LEAKGATE_MAX_SIZE,
 * LEAKGATE_MAX_COUNT, LEAKGATE_FRAMES, LEAKGATE_TOP, LEAKGATE_SUPPRESSIONS
 * (with `limit CASE-NAME ...` lines), LEAKGATE_LIMITS, LEAKGATE_REPORT (a
 * JSON report of every case, written by lg_tap_done_testing),
 * LEAKGATE_REPEAT=N (repeats: each case runs once as above, then up to N
 * more times quietly, each run measured; what it leaves on every measured
 * run fails it, whatever its kind; a case that fails only when run again
 * keeps its outcome and is not checked).  A bad setting makes every case
 * `not ok`, naming the setting.
 *
 * Calls are not thread-safe: one thread prints the TAP.  Functions never
 * exit the process; after lg_tap_skip_all() or lg_tap_bail_out() the
 * program should return from main.
 */
#ifndef LEAKGATE_TAP_H
#define LEAKGATE_TAP_H

#ifdef __cplusplus
extern "C" {
#endif

#ifndef LG_TAP_API
#define LG_TAP_API __attribute__((visibility("default")))
#endif

#define LG_TAP_PRINTF(i) __attribute__((format(printf, i, i + 1)))

/* Prints the plan "1..n" (n >= 0).  Call it once, before the first test
 * point, or not at all and let lg_tap_done_testing() print it last. */
LG_TAP_API void lg_tap_plan(int n);

/* Prints "1..0 # SKIP reason": the whole program is skipped.  Return from
 * main with 0 afterwards. */
LG_TAP_API void lg_tap_skip_all(const char *fmt, ...) LG_TAP_PRINTF(1);

/* The body of a test case; `arg` is lg_tap_case's. */
typedef void lg_tap_case_fn(void *arg);

/* Runs test case `name` in a leak window: tracing on and a mark before
 * fn(arg), the diff, the suppressions and the verdict after it.  Prints its
 * assertions as an indented subtest, then one test point: `ok N - name`,
 * or `not ok N - name` when an assertion failed or the case leaked (then
 * with the YAML diagnostic block; the failure text goes to standard
 * error).  Returns 1 when the case passed (or is TODO), else 0.  Cases do
 * not nest: a case started inside another is `not ok` and not run. */
LG_TAP_API int lg_tap_case(const char *name, lg_tap_case_fn *fn, void *arg);

/* Inside a case: sets its limits, max_size in bytes and max_count in
 * blocks; negative means no limit.  Outside a case it does nothing. */
LG_TAP_API void lg_tap_set_limits(long long max_size, long long max_count);

/* An assertion: `ok N - name` when `pass` is non-zero, else `not ok N -
 * name` with "Failed test" and `file`:`line` on standard error.  Returns
 * `pass` as 0 or 1.  Use the lg_tap_ok() macro. */
LG_TAP_API int lg_tap_ok_at(const char *file, int line, int pass, const char *fmt, ...)
    LG_TAP_PRINTF(4);
#define lg_tap_ok(pass, ...) lg_tap_ok_at(__FILE__, __LINE__, (pass), __VA_ARGS__)

/* Prints `n` test points `ok N # SKIP reason` (inside a case: subtest
 * points). */
LG_TAP_API void lg_tap_skip(int n, const char *fmt, ...) LG_TAP_PRINTF(2);

/* Until lg_tap_todo_end(), test points (cases and assertions) carry
 * "# TODO reason": their failure is expected and does not count. */
LG_TAP_API void lg_tap_todo_start(const char *fmt, ...) LG_TAP_PRINTF(1);
LG_TAP_API void lg_tap_todo_end(void);

/* A diagnostic "# message" on standard error (diag), or a note on
 * standard output (note); each line of the message gets its "# ". */
LG_TAP_API void lg_tap_diag(const char *fmt, ...) LG_TAP_PRINTF(1);
LG_TAP_API void lg_tap_note(const char *fmt, ...) LG_TAP_PRINTF(1);

/* Prints "Bail out! reason": the consumer stops the whole run.  Return
 * from main with a non-zero status afterwards. */
LG_TAP_API void lg_tap_bail_out(const char *fmt, ...) LG_TAP_PRINTF(1);

/* Ends the TAP: prints the plan if none was printed, writes the
 * LEAKGATE_REPORT JSON report and frees leakgate's state.  Returns the
 * exit status for main: 0 when every test point passed and the count
 * matched the plan, else the number of failed points (at most 254), or
 * 255 when only the count was wrong. */
LG_TAP_API int lg_tap_done_testing(void);

#ifdef __cplusplus
}
#endif
#endif /* LEAKGATE_TAP_H */
