/*
 * tap.c — libleakgate-tap: a TAP version 13 producer whose test cases are
 * leak checks (leakgate/tap.h).
 *
 *   lg_tap_case(name, fn, arg)
 *     "    # Subtest: name"            stdout
 *     lg_session_begin_test(name)      tracing on, a mark
 *     fn(arg)                          its lg_tap_ok() print "    ok K - ..."
 *     lg_session_end_test()            diff, suppressions, limits, verdict
 *     "    1..K"                       the subtest's plan (if it asserted)
 *     "ok N - name" | "not ok N - name" + YAML block (lg_render_tap_yaml)
 *
 * Repeats (LEAKGATE_REPEAT=N): the first run of a case is the one the TAP
 * shows, unmeasured; then it runs up to N more times, each run a window of
 * its own, quietly: its test points and messages are counted, not printed.
 * The case leaks only if every measured run left memory over its limits,
 * whatever its kind; a case that fails a later run keeps its first outcome
 * and is not checked (a diagnostic says so; "skipped" in the report).
 *
 * Invariant: nothing this library does between begin_test and end_test
 * allocates — lines are formatted in stack buffers and written with
 * fwrite to a stream that already has its buffer (the version line was
 * written before) — so a case is charged only with its own allocations.
 * Tracebacks are cut before this library's frames (lg_tap_case calling
 * the body), as the Criterion adapter cuts them before Criterion's.
 *
 * State is one static struct; the API is meant for one thread.
 */
#include <leakgate/report.h>
#include <leakgate/tap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STOP_MODULE "libleakgate-tap.so*"
#define SUB_INDENT  "    "

static struct {
    bool header;    /* "TAP version 13" written */
    int planned;    /* the plan's count; -1 before a plan is printed */
    bool skip_all;  /* the plan was "1..0 # SKIP" */
    int run;        /* top-level test points printed */
    int failed;     /* of which failed outside a TODO */
    char todo[256]; /* the TODO reason; "" when none */
    bool in_todo;

    lg_session_t *session;
    bool broken;   /* the settings were bad: every case fails with why */
    char why[512]; /* that one-line reason */

    bool in_case; /* between begin and end of a case */
    int case_run; /* the running case's assertions */
    int case_failed; /* its assertions that failed outside a TODO */
    int case_todo_failed; /* and inside one */
    bool quiet;           /* a measured run of repeats: nothing is printed */
    bool quiet_bailed;    /* that run called lg_tap_bail_out() */
} T = {.planned = -1};

/* ---- output ------------------------------------------------------------- */

/* Writes text to `f`, each line prefixed by `prefix`, and flushes: a
 * consumer reads TAP as it comes. */
static void put_lines(FILE *f, const char *prefix, const char *text)
{
    const char *p = text;
    do {
        size_t n = strcspn(p, "\n");
        fputs(prefix, f);
        fwrite(p, 1, n, f);
        fputc('\n', f);
        p += n;
        if (*p == '\n')
            p++;
    } while (*p);
    fflush(f);
}

static void header(void)
{
    if (T.header)
        return;
    T.header = true;
    fputs("TAP version 13\n", stdout);
    fflush(stdout);
}

static const char *indent(void)
{
    return T.in_case ? SUB_INDENT : "";
}

/* Descriptions must not start a directive or a new line. */
static void clean_description(char *s)
{
    for (; *s; s++) {
        if (*s == '#')
            *s = '_';
        else if (*s == '\n' || *s == '\r')
            *s = ' ';
    }
}

/* Prints one test point at the current level; returns whether it counts
 * as a failure (not ok, outside a TODO). */
static bool point(bool pass, const char *description, const char *directive)
{
    int *run = T.in_case ? &T.case_run : &T.run;
    if (T.quiet) { /* inside a case: counted only */
        ++*run;
        if (!pass)
            ++*(T.in_todo ? &T.case_todo_failed : &T.case_failed);
        return !pass && !T.in_todo;
    }
    header();
    char desc[1024], line[1400];
    snprintf(desc, sizeof desc, "%s", description ? description : "");
    clean_description(desc);
    int n = ++*run;
    snprintf(line, sizeof line, "%s%s %d%s%s%s%s", indent(), pass ? "ok" : "not ok", n,
             desc[0] ? " - " : "", desc, directive ? " # " : "", directive ? directive : "");
    put_lines(stdout, "", line);
    bool failure = !pass && !T.in_todo;
    if (failure)
        ++*(T.in_case ? &T.case_failed : &T.failed);
    else if (!pass && T.in_case)
        T.case_todo_failed++;
    return failure;
}

static const char *todo_directive(char *buf, size_t len)
{
    if (!T.in_todo)
        return NULL;
    snprintf(buf, len, "TODO%s%s", T.todo[0] ? " " : "", T.todo);
    return buf;
}

static void vmessage(FILE *f, const char *fmt, va_list ap)
{
    if (T.quiet)
        return;
    char text[2048], prefix[16];
    header();
    vsnprintf(text, sizeof text, fmt, ap);
    snprintf(prefix, sizeof prefix, "%s# ", indent());
    put_lines(f, prefix, text);
}

/* ---- the plan ----------------------------------------------------------- */

LG_TAP_API void lg_tap_plan(int n)
{
    header();
    if (T.planned >= 0 || n < 0) {
        lg_tap_diag("lg_tap_plan(%d): %s", n, n < 0 ? "a plan counts 0 or more tests"
                                                     : "the plan was already given");
        return;
    }
    T.planned = n;
    printf("1..%d\n", n);
    fflush(stdout);
}

LG_TAP_API void lg_tap_skip_all(const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    clean_description(reason);
    header();
    T.planned = 0;
    T.skip_all = true;
    printf("1..0 # SKIP %s\n", reason);
    fflush(stdout);
}

/* ---- assertions --------------------------------------------------------- */

LG_TAP_API int lg_tap_ok_at(const char *file, int line, int pass, const char *fmt, ...)
{
    char name[1024], dir[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    point(pass != 0, name, todo_directive(dir, sizeof dir));
    if (!pass && !T.quiet) {
        /* A TODO failure is expected: said on stdout, not as an error. */
        FILE *f = T.in_todo ? stdout : stderr;
        char msg[1400];
        snprintf(msg, sizeof msg, "  Failed%s test%s%s%s\n  at %s line %d.",
                 T.in_todo ? " (TODO)" : "", name[0] ? " '" : "", name, name[0] ? "'" : "",
                 file ? file : "?", line);
        char prefix[16];
        snprintf(prefix, sizeof prefix, "%s# ", indent());
        put_lines(f, prefix, msg);
    }
    return pass != 0;
}

LG_TAP_API void lg_tap_skip(int n, const char *fmt, ...)
{
    char reason[1024], dir[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    clean_description(reason);
    snprintf(dir, sizeof dir, "SKIP%s%s", reason[0] ? " " : "", reason);
    for (int i = 0; i < n; i++)
        point(true, NULL, dir);
}

LG_TAP_API void lg_tap_todo_start(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(T.todo, sizeof T.todo, fmt, ap);
    va_end(ap);
    clean_description(T.todo);
    T.in_todo = true;
}

LG_TAP_API void lg_tap_todo_end(void)
{
    T.in_todo = false;
    T.todo[0] = '\0';
}

LG_TAP_API void lg_tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(stderr, fmt, ap);
    va_end(ap);
}

LG_TAP_API void lg_tap_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(stdout, fmt, ap);
    va_end(ap);
}

LG_TAP_API void lg_tap_bail_out(const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    if (T.quiet) {
        T.quiet_bailed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    header();
    put_lines(stdout, "Bail out! ", reason);
}

/* ---- test cases --------------------------------------------------------- */

/* The session, made on first use; a bad setting is kept as `why`. */
static void session_open(void)
{
    if (T.session || T.broken)
        return;
    int rc = lg_session_new(&T.session, T.why, sizeof T.why);
    if (rc && !T.why[0])
        snprintf(T.why, sizeof T.why, "leakgate: %s", lg_strerror(rc));
    T.broken = rc != 0;
    if (!rc)
        lg_session_stop_frames_at(T.session, STOP_MODULE);
}

/* How many tracebacks the YAML block lists: LEAKGATE_TOP as the session
 * reads it (0 means all). */
static int top_setting(void)
{
    const char *v = getenv("LEAKGATE_TOP");
    int64_t top = LG_TOP_DEFAULT;
    char err[256];
    if (v && *v && lg_parse_int_setting("LEAKGATE_TOP", v, 0, 100000, &top, err, sizeof err))
        top = LG_TOP_DEFAULT;
    return top ? (int)top : -1;
}

/* After a case's test point: the YAML block and the failure text. */
static void report_case(const lg_result_t *r)
{
    lg_render_opts_t ro = {.top = top_setting(), .stop_module = STOP_MODULE};
    char *yaml = lg_render_tap_yaml(r, &ro, "  ");
    if (yaml && *yaml) {
        fputs(yaml, stdout);
        fflush(stdout);
    }
    lg_string_free(yaml);
    char *text = lg_session_failure_text(T.session);
    if (text && *text)
        put_lines(r->outcome == LG_OUTCOME_LEAKED && !T.in_todo ? stderr : stdout, "# ", text);
    lg_string_free(text);
}

/* Whether the running case passes so far (its own assertions). */
static bool case_passes(void)
{
    return T.case_failed == 0 && !(T.in_todo && T.case_todo_failed);
}

/* Repeats, after the case's first run: up to N quiet measured runs; *r is
 * the verdict of the last.  A run whose outcome differs from the first
 * (which passed) sets *why and *at (the run) and leaves the case not
 * checked.  Returns 0 or an LG_E* code (no verdict). */
static int repeat_case(const char *name, lg_tap_case_fn *fn, void *arg, lg_result_t *r,
                       const char **why, unsigned *at)
{
    if (!case_passes()) {
        *why = "failed: not run again";
        return lg_session_not_checked(T.session, name, *why);
    }
    int first[3] = {T.case_run, T.case_failed, T.case_todo_failed}, rc = 0;
    unsigned n = lg_session_repeat(T.session);
    for (unsigned k = 1; k <= n && !rc; k++) {
        if ((rc = lg_session_begin_test(T.session, name)))
            break;
        T.quiet = true;
        T.quiet_bailed = false;
        T.case_run = T.case_failed = T.case_todo_failed = 0;
        if (fn)
            fn(arg);
        T.quiet = false;
        lg_stack_scrub();
        if (!case_passes() || T.quiet_bailed) {
            lg_session_abandon(T.session);
            *why = T.quiet_bailed ? "bailed out when run again" : "failed when run again";
            *at = k;
            rc = lg_session_not_checked(T.session, name, *why);
            break;
        }
        if ((rc = lg_session_measure(T.session, r)) == 0 && r->outcome != LG_OUTCOME_LEAKED)
            break;
    }
    T.case_run = first[0];
    T.case_failed = first[1];
    T.case_todo_failed = first[2];
    return rc || *why ? rc : lg_session_record(T.session);
}

LG_TAP_API int lg_tap_case(const char *name, lg_tap_case_fn *fn, void *arg)
{
    char dir[300], line[1100];
    if (!name)
        name = "";
    if (T.in_case) {
        snprintf(line, sizeof line, "case '%s' inside another case: cases do not nest", name);
        point(false, line, todo_directive(dir, sizeof dir));
        return 0;
    }
    header();
    snprintf(line, sizeof line, SUB_INDENT "# Subtest: %s", name);
    put_lines(stdout, "", line);
    session_open();
    unsigned repeat = T.broken ? 0 : lg_session_repeat(T.session);
    bool checked = !T.broken && (repeat || lg_session_begin_test(T.session, name) == 0);
    /* With repeats, the first run is traced too: the scan of a measured
     * run reads the blocks it kept. */
    if (repeat && !lg_is_tracing())
        lg_start(0);

    /* Set before the case runs: a word left in this frame from an earlier
     * case (a freed pointer whose memory the case gets back) would keep the
     * case's blocks reachable for the scan that judges it. */
    lg_result_t r = {0};
    const char *unchecked = NULL;
    unsigned at = 0;
    T.in_case = true;
    T.case_run = T.case_failed = T.case_todo_failed = 0;
    if (fn)
        fn(arg);
    lg_stack_scrub();
    int rc = !checked ? 0
             : repeat ? repeat_case(name, fn, arg, &r, &unchecked, &at)
                      : lg_session_end_test(T.session, &r);
    T.in_case = false;

    if (T.case_run) {
        snprintf(line, sizeof line, SUB_INDENT "1..%d", T.case_run);
        put_lines(stdout, "", line);
    }
    bool verdict = checked && rc == 0 && !unchecked;
    bool leaked = verdict && r.outcome == LG_OUTCOME_LEAKED;
    /* A TODO assertion that failed fails a case that is TODO itself. */
    bool pass = case_passes() && !leaked && !T.broken;
    bool failure = point(pass, name, todo_directive(dir, sizeof dir));
    if (T.broken)
        put_lines(stderr, "# ", T.why);
    else if (rc)
        lg_tap_diag("leakgate: %s: no leak verdict: %s", name, lg_strerror(rc));
    else if (unchecked && at)
        lg_tap_diag("leakgate: %s: not checked for leaks: it passed, then %s (measured run %u "
                    "of %u); it may depend on what its first run left, and keeps its first "
                    "outcome",
                    name, unchecked, at, repeat);
    else if (verdict && r.outcome != LG_OUTCOME_CLEAN)
        report_case(&r);
    return !failure;
}

LG_TAP_API void lg_tap_set_limits(long long max_size, long long max_count)
{
    if (!T.in_case || !T.session)
        return;
    lg_limits_t l = {max_size < 0 ? INT64_MAX : max_size, max_count < 0 ? -1 : max_count};
    lg_session_set_limits(T.session, &l);
}

/* ---- the end ------------------------------------------------------------ */

LG_TAP_API int lg_tap_done_testing(void)
{
    header();
    if (T.planned < 0) {
        T.planned = T.run;
        printf("1..%d\n", T.run);
        fflush(stdout);
    }
    const char *report = getenv("LEAKGATE_REPORT");
    if (T.session && report && *report) {
        int rc = lg_json_report_write(lg_session_report(T.session), report);
        if (rc)
            lg_tap_diag("leakgate: LEAKGATE_REPORT=%s: cannot write the report: %s", report,
                        lg_strerror(rc));
    }
    lg_session_free(T.session);
    T.session = NULL;
    if (T.failed)
        return T.failed < 254 ? T.failed : 254;
    if (!T.skip_all && T.planned != T.run) {
        lg_tap_diag("planned %d test%s but ran %d", T.planned, T.planned == 1 ? "" : "s", T.run);
        return 255;
    }
    return 0;
}
