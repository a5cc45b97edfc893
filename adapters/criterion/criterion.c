/*
 * criterion.c — libleakgate-criterion: every Criterion Test() becomes a leak
 * assertion, with no change to the test source.
 *
 * Criterion 2.4 runs each test in a worker process, where the Test()
 * trampoline calls three functions exported by libcriterion.  This library
 * defines them first (LD_PRELOAD, or linked before -lcriterion) and wraps
 * the real ones, found with dlsym(RTLD_NEXT):
 *
 *   worker                          leakgate
 *   ------                          --------
 *   test_setup   -> .init           begin_test: mark (before the fixtures)
 *   test_main    -> body()          body, then the fixtures' .fini, then
 *                                   end_test; a leak is sent as a failed
 *                                   assertion (criterion_send_assert)
 *                -> phase TEARDOWN  (the test's pass/fail is settled here)
 *   test_teardown -> .fini          (already run: the pointers are cleared)
 *
 * The .fini fixtures run before the TEARDOWN phase because a leak must be
 * judged after them (memory an .init allocates and its .fini frees is not
 * a leak) and reported before it (an assertion sent later is recorded but
 * does not fail the test).  A test whose body fails its own assertion
 * longjmps past body(): teardown then does the same work and the leak is
 * noted beside the test's own failure.
 *
 * Repeats (LEAKGATE_REPEAT=N): the run above is the test's first, the one
 * Criterion reports, and it is not measured.  Its .fini done, the body
 * wrapper runs the fixtures and the body again, up to N times, each run a
 * window of its own (mark, .init, body, .fini, diff); the test leaks only
 * if every measured run left memory over its limits, whatever its kind
 * (lg_session_repeat in session.h).  While a measured run goes, its
 * assertions are held back from the runner (criterion_send_assert), and
 * criterion_abort_test and cr_skip_test return to the wrapper (a longjmp
 * to rerun_jmp) instead of ending the test: a run whose outcome differs
 * from the first one's leaves the test with its first outcome, not
 * checked.  A test that failed its first run is not run again.
 *
 * The runner (the process that calls criterion_run_all_tests) never sees a
 * test's heap.  With LEAKGATE_REPORT=path it gives its workers a directory
 * for their JSON parts and merges them into one leakgate/1 document when
 * the run ends.  It checks the settings first: a bad one (or a report
 * that cannot be written there) is one line and exit 2 before any test
 * runs.  Under --debug, leakgate stays out of the way.
 *
 * Criterion's symbols are looked up at run time: preloaded into a process
 * without libcriterion (a shell started by the suite), this library is
 * inert.
 *
 * Link order: when this library comes after libcriterion in the lookup
 * order (`cc t.c -lcriterion -lleakgate-criterion`, meson and CMake list
 * dependencies in the order given), libcriterion's definitions win and no
 * test would be checked.  The constructor therefore checks which
 * definitions are in force and, when they are not ours, points the
 * callers' relocation slots (the test program's calls into Criterion,
 * libcriterion's own call of criterion_run_all_tests) at our functions.
 * If that cannot be done, the program stops before any test runs, saying
 * why: a suite linked with the adapter is never silently unchecked.
 */
#include <criterion/criterion.h>
#include <criterion/event.h>
#include <criterion/hooks.h>
#include <criterion/options.h>
#include <criterion/parameterized.h>
#include <criterion/stats.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <leakgate/criterion.h>
#include <leakgate/report.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#define API       __attribute__((visibility("default")))
#define PARTS_ENV "LEAKGATE_REPORT_PARTS" /* runner -> workers */
#define BASE_ENV  "LEAKGATE_CRITERION_BASE" /* runner's program load address */
#define MARKS_ENV "LEAKGATE_CRITERION_MARKS" /* runner -> workers: see mark_param */
/* Reports end tracebacks at the test: libcriterion's frames and ours
 * below it are not shown. */
#define STOP_MODULE "lib*criterion.so*"
/* The walk ends at the first frame in libcriterion itself.  (The pattern
 * above would name this adapter, which comes first in the loader's list:
 * Criterion's own allocations in a test's window, its messages, would then
 * be unwound through libcriterion, built without frame pointers, down to
 * _start, and their frames in the C library symbolized.) */
#define STOP_WALK "libcriterion.so*"

static struct {
    bool resolved;
    void (*setup)(void);
    void (*main)(void (*)(void));
    void (*teardown)(void);
    int (*run_all)(struct criterion_test_set *);
    void (*send_assert)(struct criterion_assert_stats *);
    void (*abort_test)(void);
    void (*skip)(const char *, ...);
    const struct criterion_test **test;
    const struct criterion_suite **suite;
    struct criterion_options *options;

    lg_session_t *session;
    bool broken;   /* no test can be checked: every test fails with why */
    char why[512]; /* that one-line reason */
    bool in_test;  /* begun, not yet ended */
    bool skipped;  /* the running test called cr_skip_test() */
    bool exiting;  /* the running test called exit(): judged at exit */
    bool atexit_set;
    void (*body)(void);
    unsigned ntests; /* tests run by this worker: part file names */
    char mark[4096]; /* this worker's param mark file, or "" */
    char marks[4096]; /* the runner's directory of param marks, or "" */
    char id[512];    /* suite::name of the running test */
    bool has_param;  /* an instance of a parameterized test: */
    unsigned param;  /*   its parameter index */

    /* repeats (see the top of the file) */
    enum {
        RUN_ONE,     /* no repeats, or they are over */
        RUN_FIRST,   /* the first run, unmeasured: Criterion's */
        RUN_MEASURED /* a measured run: assertions held back */
    } run;
    bool first_failed;     /* the first run failed an assertion */
    const char *rerun_why; /* how a measured run's outcome differed, or NULL */
    jmp_buf rerun_jmp;     /* where a measured run that aborts returns */
    void (*fixtures[4])(void); /* suite .init, test .init, test .fini, suite .fini */
} A;

/* leakgate's own messages go to its log: LEAKGATE_LOG_FILE, else stderr. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024]; /* on the stack: nothing the test's window could see */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        lg_log_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Criterion's definition of `name`: the next one after ours, or, when
 * libcriterion comes first in the lookup order, the one in force. */
static void *real(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    return f ? f : dlsym(RTLD_DEFAULT, name);
}

static void resolve(void)
{
    if (A.resolved)
        return;
    *(void **)&A.setup = real("criterion_internal_test_setup");
    *(void **)&A.main = real("criterion_internal_test_main");
    *(void **)&A.teardown = real("criterion_internal_test_teardown");
    *(void **)&A.run_all = real("criterion_run_all_tests");
    *(void **)&A.skip = real("criterion_skip_test");
    *(void **)&A.send_assert = real("criterion_send_assert");
    *(void **)&A.abort_test = real("criterion_abort_test");
    A.test = dlsym(RTLD_DEFAULT, "criterion_current_test");
    A.suite = dlsym(RTLD_DEFAULT, "criterion_current_suite");
    A.options = dlsym(RTLD_DEFAULT, "criterion_options");
    A.resolved = true;
}

static bool debugging(void)
{
    const char *off = getenv("LEAKGATE_CRITERION_OFF");
    return (off && *off == '1') || (A.options && A.options->debug != CR_DBG_NONE);
}

/* Sends a failed assertion located at the test's body.  (The worker's copy
 * of the test's data does not hold a usable file_: the runner's pointer.) */
static void send_failure(const char *message)
{
    lg_frame_t where = {0};
    if (A.body)
        lg_symbolize((uintptr_t)(void *)A.body + 1, &where);
    struct criterion_assert_stats st = {
        .message = message,
        .passed = false,
        .file = where.file ? where.file : "(leakgate)",
        .line = where.line,
    };
    A.send_assert(&st);
}

static void at_exit(void);
static void save_fixtures(void);

static void begin(void)
{
    A.in_test = false;
    A.skipped = A.exiting = false;
    A.has_param = false;
    A.run = RUN_ONE;
    A.first_failed = false;
    A.rerun_why = NULL;
    if (!A.test || !*A.test || !A.send_assert || debugging())
        return;
    if (!A.session && !A.broken) {
        int rc = lg_session_new(&A.session, A.why, sizeof A.why);
        if (rc && !*A.why)
            snprintf(A.why, sizeof A.why, "leakgate: %s", lg_strerror(rc));
        A.broken = rc != 0;
        char other[400];
        if (!rc && !lg_hooks_in_force(other, sizeof other)) {
            /* Another allocator wins: no test could be checked. */
            snprintf(A.why, sizeof A.why,
                     "leakgate: malloc resolves to %.280s, not to libleakgate.so: no test is "
                     "checked; link libleakgate before it (pkg-config --libs "
                     "leakgate-criterion) or put libleakgate.so first in LD_PRELOAD",
                     other);
            A.broken = true;
        }
        if (!A.broken)
            lg_session_stop_frames_at(A.session, STOP_MODULE);
        /* From the first test on, tracebacks are whole, up to the test. */
        lg_set_traceback_stop(STOP_WALK);
        lg_set_traceback_quick(0);
    }
    if (A.broken)
        return;
    const struct criterion_test *t = *A.test;
    snprintf(A.id, sizeof A.id, "%s::%s", t->category, t->name);
    if (lg_session_repeat(A.session)) {
        /* The first run is traced too: the scan of a measured run reads
         * the blocks it kept (a library's tables). */
        if (!lg_is_tracing())
            lg_start(0);
        save_fixtures();
        A.run = RUN_FIRST;
    } else {
        A.in_test = lg_session_begin_test(A.session, A.id) == 0;
    }
    if ((A.in_test || A.run == RUN_FIRST) && !A.atexit_set)
        A.atexit_set = atexit(at_exit) == 0;
}

/* With LEAKGATE_REPORT set, each ended test leaves a JSON document of its
 * own in the runner's parts directory. */
static void write_part(const lg_result_t *r)
{
    if (A.mark[0])
        unlink(A.mark); /* the verdict is written: no runner's record */
    A.mark[0] = '\0';
    const char *dir = getenv(PARTS_ENV);
    lg_json_report_t *one;
    if (!dir || !*dir || lg_json_report_new(&one) != 0)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%ld-%u.json", dir, (long)getpid(), A.ntests++);
    lg_render_opts_t opts = {.stop_module = STOP_MODULE};
    if (lg_json_report_add(one, r, &opts) != 0 || lg_json_report_write(one, path) != 0)
        say("leakgate: cannot write %s\n", path);
    lg_json_report_free(one);
}

/* A worker's copy of a test's data may be misaligned in Criterion's arena:
 * its pointer fields are read and written bytewise. */
#define FIELD(d, f) ((char *)(d) + offsetof(struct criterion_test_extra_data, f))

static void *get_field(void *at)
{
    void *v;
    memcpy(&v, at, sizeof v);
    return v;
}

static void clear_field(void *at)
{
    memset(at, 0, sizeof(void *));
}

/* The fixtures of the running test, for its measured runs. */
static void save_fixtures(void)
{
    void *td = (*A.test)->data, *sd = *A.suite ? (*A.suite)->data : NULL;
    *(void **)&A.fixtures[0] = sd ? get_field(FIELD(sd, init)) : NULL;
    *(void **)&A.fixtures[1] = get_field(FIELD(td, init));
    *(void **)&A.fixtures[2] = get_field(FIELD(td, fini));
    *(void **)&A.fixtures[3] = sd ? get_field(FIELD(sd, fini)) : NULL;
}

/* The fixtures' .fini, now, and never again: see the top of the file. */
static void run_fini_now(void)
{
    void *td = (*A.test)->data, *sd = *A.suite ? (*A.suite)->data : NULL;
    void *test_fini = get_field(FIELD(td, fini)),
         *suite_fini = sd ? get_field(FIELD(sd, fini)) : NULL;
    clear_field(FIELD(td, fini));
    if (sd)
        clear_field(FIELD(sd, fini));
    if (test_fini)
        ((void (*)(void))test_fini)();
    if (suite_fini)
        ((void (*)(void))suite_fini)();
}

/* A test that is not judged: a part with outcome "skipped" and `why`. */
static void not_judged(const char *why)
{
    lg_result_t r;
    lg_limits_t limits = lg_session_limits_for(A.session, A.id);
    lg_result_init(&r, A.id, NULL, &limits, 0);
    r.outcome = LG_OUTCOME_SKIPPED;
    r.note = why;
    r.has_param = A.has_param;
    r.param = A.param;
    write_part(&r);
}

static void no_verdict(int rc)
{
    say("leakgate: %s: no leak verdict: %s\n", A.id, lg_strerror(rc));
}

/* The verdict `r` of the running test: its part, and a failed assertion
 * unless it is clean. */
static void conclude(lg_result_t *r, bool own_failure);

/* Ends the test; `own_failure`: the body failed its own assertion. */
static void finish(bool own_failure)
{
    if (A.run == RUN_FIRST) { /* its first run did not return: not run again */
        A.run = RUN_ONE;
        not_judged(A.skipped ? NULL : A.exiting ? "ended by exit(): not run again"
                                                : "failed: not run again");
        return;
    }
    if (!A.in_test)
        return;
    A.in_test = false;
    if (A.run == RUN_MEASURED) { /* exit() in a measured run: the worker ends */
        A.run = RUN_ONE;
        lg_session_abandon(A.session);
        not_judged("ended by exit() when run again");
        say("leakgate: %s: not checked for leaks: it called exit() when run again\n", A.id);
        return;
    }
    run_fini_now();
    lg_result_t r;
    int rc = lg_session_end_test(A.session, &r);
    if (rc) {
        no_verdict(rc);
        return;
    }
    if (A.skipped) { /* not judged: Criterion reports it skipped */
        not_judged(NULL);
        return;
    }
    if (A.exiting)
        r.note = "ended by exit()";
    conclude(&r, own_failure);
}

static void conclude(lg_result_t *r, bool own_failure)
{
    write_part(r);
    if (r->outcome == LG_OUTCOME_CLEAN)
        return;
    char *text = lg_session_failure_text(A.session);
    if (!text)
        return;
    size_t n = strlen(text);
    if (n && text[n - 1] == '\n')
        text[n - 1] = '\0'; /* Criterion ends the message itself */
    send_failure(text); /* leaked, or inconclusive: never a silent pass */
    if (own_failure)
        say("leakgate: the test also failed its own assertions\n");
    lg_string_free(text);
}

static void call_body(void *param, bool is_param)
{
    if (is_param)
        ((void (*)(void *))(void *)A.body)(param);
    else
        A.body();
}

static void call_fixture(int i)
{
    if (A.fixtures[i])
        A.fixtures[i]();
}

/* One measured run: .init, body, .fini.  An assertion that aborts (or
 * cr_skip_test) comes back here through rerun_jmp; the .fini still runs
 * after a body that aborted, as Criterion runs it. */
static void run_again(void *param, bool is_param)
{
    volatile int stage = 0;
    if (setjmp(A.rerun_jmp) == 0) {
        stage = 1;
        call_fixture(0);
        call_fixture(1);
        call_body(param, is_param);
    }
    if (stage == 1) {
        stage = 2;
        if (setjmp(A.rerun_jmp) == 0) {
            call_fixture(2);
            call_fixture(3);
        }
    }
}

/* After the first run: its .fini, then up to N measured runs; the test
 * leaks only if each of them leaked (a clean run ends the check). */
static void repeat(void *param, bool is_param)
{
    A.run = RUN_ONE;
    run_fini_now();
    if (A.first_failed) {
        not_judged("failed: not run again");
        return;
    }
    lg_result_t r = {0};
    unsigned n = lg_session_repeat(A.session);
    for (unsigned k = 1; k <= n; k++) {
        int rc = lg_session_begin_test(A.session, A.id);
        if (rc) {
            no_verdict(rc);
            return;
        }
        if (A.has_param)
            lg_session_set_param(A.session, A.param);
        A.in_test = true;
        A.run = RUN_MEASURED;
        run_again(param, is_param);
        A.run = RUN_ONE;
        A.in_test = false;
        lg_stack_scrub();
        if (A.rerun_why) {
            lg_session_abandon(A.session);
            not_judged(A.rerun_why);
            char at[16] = "";
            if (A.has_param)
                snprintf(at, sizeof at, "[%u]", A.param);
            say("leakgate: %s%s: not checked for leaks: it passed, then %s (measured run %u of "
                "%u); it may depend on what its first run left, and keeps its first outcome\n",
                A.id, at, A.rerun_why, k, n);
            return;
        }
        if ((rc = lg_session_measure(A.session, &r))) {
            no_verdict(rc);
            return;
        }
        if (r.outcome != LG_OUTCOME_LEAKED)
            break;
    }
    conclude(&r, false);
}

/* The worker's test has its verdict.  Criterion runs each test in a
 * process of its own, so nothing allocated or freed from now on is judged:
 * tracing stops, and Criterion's messages after the test, the worker's
 * exit and its thousands of frees of start-up state go to the allocator
 * alone. */
static void verdict_given(void)
{
    if (A.session && !A.in_test && A.run == RUN_ONE)
        lg_stop();
}

/* After the body, before any other call: the frames of the verdict must
 * not find stale words of the test's (lg_stack_scrub). */
static void body(void)
{
    A.body();
    lg_stack_scrub();
    if (A.run == RUN_FIRST)
        repeat(NULL, false);
    else
        finish(false);
    verdict_given();
}

/* dl_iterate_phdr callback: the load address of the main program (the
 * first object). */
static int main_base(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr;
    return 1;
}

/* The index of `param` among the test's parameters: the test's parameter
 * function is called again (untraced) and `param`, the worker's copy of
 * one parameter, found in its array by value; false when not found (a
 * parameter holding pointers to memory allocated per call).  The test's
 * data holds the runner's addresses, and the worker is another execution
 * of the program: the runner passes its program's load address
 * (BASE_ENV), and the function is moved by the difference. */
static bool param_index(void *param, unsigned *out)
{
    struct criterion_test_params (*fn)(void);
    *(void **)&fn = get_field(FIELD((*A.test)->data, param_));
    const char *runner = getenv(BASE_ENV);
    Dl_info body;
    uintptr_t load = 0;
    dl_iterate_phdr(main_base, &load);
    if (!fn || !param || !runner || !A.body || !dladdr((void *)A.body, &body) ||
        (uintptr_t)body.dli_fbase != load)
        return false; /* the test is not in the main program */
    *(void **)&fn = (void *)((uintptr_t)(void *)fn - strtoull(runner, NULL, 16) + load);
    int prev = lg_untraced_enter();
    struct criterion_test_params p = fn();
    bool found = false;
    const char *base = p.params, *at = param;
    for (int by_value = 0; by_value < 2 && !found; by_value++)
        for (size_t i = 0; base && p.size && i < p.length && !found; i++) {
            const char *one = base + i * p.size;
            found = by_value ? memcmp(at, one, p.size) == 0 : at == one;
            if (found)
                *out = (unsigned)i;
        }
    if (p.cleanup)
        p.cleanup(&p);
    lg_untraced_leave(prev);
    return found;
}

/* A worker that dies before its verdict is recorded by the runner, which
 * knows the test but not which instance ran: each instance leaves a mark,
 * MARKS_ENV/<pid> holding "<param index> <test id>", removed when its
 * verdict is written (write_part).  The runner reads the mark of a dead worker
 * (find_mark). */
static void mark_param(unsigned index)
{
    const char *dir = getenv(MARKS_ENV);
    char text[600];
    if (!dir || !*dir)
        return;
    snprintf(A.mark, sizeof A.mark, "%s/%ld", dir, (long)getpid());
    int n = snprintf(text, sizeof text, "%u %s::%s", index, (*A.test)->category,
                     (*A.test)->name);
    int fd = open(A.mark, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, (size_t)n) != n)
        A.mark[0] = '\0';
    if (fd >= 0)
        close(fd);
}

static void body_param(void *param)
{
    A.has_param = param_index(param, &A.param);
    if (A.has_param && A.in_test)
        lg_session_set_param(A.session, A.param);
    if (A.has_param)
        mark_param(A.param);
    call_body(param, true);
    lg_stack_scrub();
    if (A.run == RUN_FIRST)
        repeat(param, true);
    else
        finish(false);
    verdict_given();
}

static void test_setup(void)
{
    resolve();
    /* Under `leakgate tap` the test's standard output and error share one
     * pipe: line buffering keeps its lines in the order it printed them,
     * as on a terminal. */
    const char *lines = getenv("LEAKGATE_LINE_BUFFERED");
    if (lines && *lines == '1')
        setvbuf(stdout, NULL, _IOLBF, 0);
    begin();
    A.setup();
    if (A.broken && !debugging())
        send_failure(A.why); /* no test can be checked: each fails, saying why */
}

static void test_main(void (*fn)(void))
{
    resolve();
    if (!A.in_test && A.run != RUN_FIRST) {
        A.main(fn);
        return;
    }
    A.body = fn;
    bool param = get_field(FIELD((*A.test)->data, param_)) != NULL;
    A.main(param ? (void (*)(void))(void *)body_param : body);
}

static void test_teardown(void)
{
    resolve();
    lg_stack_scrub();
    finish(!A.skipped);
    verdict_given();
    A.teardown();
}

/* A test that calls exit() never returns to Criterion: what it left when
 * it exits is its leak (the atexit handler runs before libleakgate's exit
 * work and Criterion's own).  With repeats, it is not judged. */
static void at_exit(void)
{
    if (!A.in_test && A.run != RUN_FIRST)
        return;
    A.exiting = true;
    finish(false);
    verdict_given();
}

/* Criterion's assertions: held back from the runner in a measured run; a
 * failure is noted (the first run's, or how a measured run differed). */
static void send_assert(struct criterion_assert_stats *st)
{
    resolve();
    if (st && !st->passed && A.run == RUN_FIRST)
        A.first_failed = true;
    if (A.run != RUN_MEASURED) {
        A.send_assert(st);
        return;
    }
    if (st && !st->passed && !A.rerun_why)
        A.rerun_why = "failed when run again";
}

static CR_NORETURN void abort_test(void)
{
    resolve();
    if (A.run == RUN_MEASURED) {
        if (!A.rerun_why)
            A.rerun_why = "failed when run again";
        longjmp(A.rerun_jmp, 1);
    }
    A.abort_test();
    abort(); /* not reached: criterion_abort_test does not return */
}

/* cr_skip_test(): the test is not judged.  Criterion's function does not
 * return (it ends the test), so the message is formatted here and passed
 * on whole. */
static CR_NORETURN void skip_v(const char *fmt, va_list ap)
{
    resolve();
    if (A.run == RUN_MEASURED) {
        A.rerun_why = "skipped itself when run again";
        longjmp(A.rerun_jmp, 1);
    }
    A.skipped = true;
    char msg[1024] = "";
    if (fmt)
        vsnprintf(msg, sizeof msg, fmt, ap);
    A.skip("%s", msg);
    abort(); /* not reached: criterion_skip_test does not return */
}
static CR_NORETURN void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    skip_v(fmt, ap);
}

/* Per-test limits from leakgate/criterion.h; negative means no limit. */
API void lg_criterion_set_limits(long long max_size, long long max_count)
{
    if (!A.in_test)
        return;
    lg_limits_t l = {max_size < 0 ? INT64_MAX : max_size, max_count < 0 ? -1 : max_count};
    lg_session_set_limits(A.session, &l);
}

/* ---- the runner --------------------------------------------------------- */

/* A test whose worker ended before its verdict (a crash, a timeout: the
 * runner kills it) wrote no part: the runner records it as crashed, and
 * says so in one line. */
/* The parameter index of a dead worker that ran an instance of test `id`,
 * from its mark (mark_param), which is then removed.  Two instances of one
 * test dying at once may have their causes swapped, never their indexes
 * lost. */
static bool find_mark(const char *id, unsigned *param)
{
    DIR *d = A.marks[0] ? opendir(A.marks) : NULL;
    struct dirent *e;
    char path[4600], text[600];
    bool found = false;
    while (d && !found && (e = readdir(d))) {
        long pid = atol(e->d_name);
        if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* not a worker's mark, or the worker still runs */
        snprintf(path, sizeof path, "%s/%s", A.marks, e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
        if (fd >= 0)
            close(fd);
        text[n > 0 ? n : 0] = '\0';
        char *sp = strchr(text, ' ');
        if (sp && strcmp(sp + 1, id) == 0) {
            *param = (unsigned)strtoul(text, NULL, 10);
            found = true;
            unlink(path);
        }
    }
    if (d)
        closedir(d);
    return found;
}

static void record_crash(struct criterion_test_stats *st, const char *why)
{
    if (debugging() || !st || !st->test)
        return;
    char id[512], note[64];
    snprintf(id, sizeof id, "%s::%s", st->test->category, st->test->name);
    if (why)
        snprintf(note, sizeof note, "%s", why);
    else
        snprintf(note, sizeof note, "crashed (signal %d)", st->signal);
    lg_result_t r;
    lg_result_init(&r, id, NULL, NULL, 0);
    r.outcome = LG_OUTCOME_CRASHED;
    r.note = note;
    r.has_param = find_mark(id, &r.param);
    write_part(&r);
    char *text = lg_render_failure(&r, NULL);
    if (text)
        say("%s", text);
    lg_string_free(text);
}

ReportHook(TEST_CRASH)(struct criterion_test_stats *st)
{
    record_crash(st, NULL);
}

ReportHook(POST_TEST)(struct criterion_test_stats *st)
{
    if (st && st->timed_out)
        record_crash(st, "timed out");
}

/* Removes `dir` and its files, merging each into `rep` first when given. */
static void drain(const char *dir, lg_json_report_t *rep)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4200], err[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (rep && lg_json_report_merge_file(rep, path, err, sizeof err) != 0)
            say("leakgate: %s\n", err);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void merge_parts(const char *dir, const char *report)
{
    lg_json_report_t *rep;
    if (lg_json_report_new(&rep) != 0)
        return;
    drain(dir, rep);
    if (lg_json_report_write(rep, report) != 0)
        say("leakgate: LEAKGATE_REPORT=%s: cannot write the report\n", report);
    lg_json_report_free(rep);
}

static int run_all_tests(struct criterion_test_set *tests)
{
    resolve();
    /* The runner's own allocations are nobody's test: trace only workers. */
    lg_stop();
    if (debugging()) {
        setenv("LEAKGATE_CRITERION_OFF", "1", 1);
        say("leakgate: --debug: tests are not checked for leaks\n");
        return A.run_all(tests);
    }
    /* A bad setting is one line and exit 2 before any test runs, not a
     * failure of every test in its worker. */
    lg_session_t *check;
    char why[512];
    int rc = lg_session_new(&check, why, sizeof why);
    if (rc && rc != LG_ENOMEM) {
        say("leakgate: %s\n", why);
        exit(2);
    }
    lg_session_free(check);
    char base[32];
    uintptr_t addr = 0;
    dl_iterate_phdr(main_base, &addr);
    snprintf(base, sizeof base, "%lx", (unsigned long)addr);
    setenv(BASE_ENV, base, 1);
    /* The workers' reports are symbolized here, once per run. */
    lg_symbolize_serve();
    const char *report = getenv("LEAKGATE_REPORT");
    char dir[4096] = "";
    if (report && *report) {
        snprintf(dir, sizeof dir, "%s.parts.XXXXXX", report);
        if (!mkdtemp(dir)) { /* no report could be written: nothing runs */
            say("leakgate: LEAKGATE_REPORT=%s: cannot create %s.parts.XXXXXX: %s\n", report,
                report, strerror(errno));
            exit(2);
        }
        setenv(PARTS_ENV, dir, 1);
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(A.marks, sizeof A.marks, "%s/leakgate-marks.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(A.marks))
        setenv(MARKS_ENV, A.marks, 1);
    else
        A.marks[0] = '\0'; /* the instances that die are recorded without index */
    int ok = A.run_all(tests);
    if (dir[0])
        merge_parts(dir, report);
    if (A.marks[0])
        drain(A.marks, NULL);
    return ok;
}

/* ---- link order ---------------------------------------------------------- */

/* Criterion's functions this library wraps, and our wrappers.  The exported
 * definitions below are what the lookup finds when we come first. */
static const struct {
    const char *name;
    void *ours;
} wrapped[] = {
    {"criterion_internal_test_setup", (void *)test_setup},
    {"criterion_internal_test_main", (void *)test_main},
    {"criterion_internal_test_teardown", (void *)test_teardown},
    {"criterion_run_all_tests", (void *)run_all_tests},
    {"criterion_skip_test", (void *)test_skip},
    {"criterion_send_assert", (void *)send_assert},
    {"criterion_abort_test", (void *)abort_test},
};
#define NWRAPPED (sizeof wrapped / sizeof wrapped[0])

API void criterion_internal_test_setup(void)
{
    test_setup();
}
API void criterion_internal_test_main(void (*fn)(void))
{
    test_main(fn);
}
API void criterion_internal_test_teardown(void)
{
    test_teardown();
}
API int criterion_run_all_tests(struct criterion_test_set *tests)
{
    return run_all_tests(tests);
}
API CR_NORETURN void criterion_skip_test(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    skip_v(fmt, ap);
}
API void criterion_send_assert(struct criterion_assert_stats *st)
{
    send_assert(st);
}
API CR_NORETURN void criterion_abort_test(void)
{
    abort_test();
}

/* Whether the definition of `name` in force is in this object. */
static bool ours_in_force(const char *name)
{
    Dl_info mine, found;
    void *f = dlsym(RTLD_DEFAULT, name);
    return f && dladdr((void *)ours_in_force, &mine) && dladdr(f, &found) &&
           mine.dli_fbase == found.dli_fbase;
}

struct patch {
    void *self_base; /* our own object: its slots are left alone */
    unsigned patched;
    bool failed;
};

/* A dynamic-section address: glibc relocates most of them in place, the
 * vDSO's and some others' are offsets from the load address. */
static uintptr_t dyn_addr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
    return v < info->dlpi_addr ? info->dlpi_addr + v : v;
}

/* Writes `value` into a relocation slot of `info`'s object, making a
 * read-only (RELRO) page writable for the time of the write. */
static bool write_slot(const struct dl_phdr_info *info, void **slot, void *value)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)slot & ~(uintptr_t)(page - 1);
    bool relro = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        relro = relro || (ph->p_type == PT_GNU_RELRO && (uintptr_t)slot >= a &&
                          (uintptr_t)slot < a + ph->p_memsz);
    }
    if (relro && mprotect((void *)lo, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return false;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    if (relro)
        mprotect((void *)lo, (size_t)page, PROT_READ);
    return true;
}

/* dl_iterate_phdr callback: points every JUMP_SLOT and GLOB_DAT relocation
 * of a wrapped function in this object at our wrapper. */
static int patch_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct patch *p = arg;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn || (void *)info->dlpi_addr == p->self_base)
        return 0;
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const ElfW(Rela) *tables[2] = {NULL, NULL};
    size_t sizes[2] = {0, 0};
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = (const void *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strtab = (const void *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_JMPREL: tables[0] = (const void *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: sizes[0] = dyn->d_un.d_val; break;
        case DT_RELA: tables[1] = (const void *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_RELASZ: sizes[1] = dyn->d_un.d_val; break;
        }
    }
    if (!symtab || !strtab)
        return 0;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; tables[t] && i < sizes[t] / sizeof(ElfW(Rela)); i++) {
            const ElfW(Rela) *r = &tables[t][i];
            unsigned long type = ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                continue;
            const char *name = strtab + symtab[ELF64_R_SYM(r->r_info)].st_name;
            for (size_t k = 0; k < NWRAPPED; k++) {
                if (strcmp(name, wrapped[k].name) != 0)
                    continue;
                if (write_slot(info, (void **)(info->dlpi_addr + r->r_offset), wrapped[k].ours))
                    p->patched++;
                else
                    p->failed = true;
            }
        }
    }
    return 0;
}

/* A symbol of libcriterion, or NULL.  A failed look-up leaves an error
 * for dlerror() in blocks glibc keeps: cleared (the second call frees
 * them), so that a program without Criterion, which `leakgate run` loads
 * this adapter into, finds no error of ours nor our blocks at exit. */
static void *criterion_symbol(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    while (!p && dlerror())
        ;
    return p;
}

/* Until a test begins, nothing allocated is ever judged (Criterion's own
 * start-up in the runner and in each worker, which a new worker repeats):
 * its tracebacks are taken by the frame-pointer walk alone, so that a
 * worker does not pay for unwinding code built without frame pointers.
 * begin() turns full tracebacks back on.  Tracing starts now, in a linked
 * suite too (LEAKGATE_START=0 aside): what the program allocated before
 * its first test (a library's registry made by a constructor) must be in
 * the table for the scan, or a block only it points to looks lost. */
__attribute__((constructor)) static void quick_until_first_test(void)
{
    if (!criterion_symbol("criterion_options")) /* libcriterion's alone */
        return;
    lg_set_traceback_quick(1);
    const char *start = getenv("LEAKGATE_START");
    if (!lg_is_tracing() && !(start && strcmp(start, "0") == 0))
        lg_start(0);
}

/* At load time: if Criterion's definitions are in force rather than ours,
 * take their callers over, or stop the program saying why (when no caller
 * goes through a relocation slot: a static libcriterion, whose calls are
 * direct, exported with -rdynamic). */
__attribute__((constructor)) static void check_link_order(void)
{
    if (!criterion_symbol("criterion_run_all_tests"))
        return; /* no Criterion in this process: inert */
    bool in_force = true;
    for (size_t k = 0; k < NWRAPPED; k++)
        in_force = in_force && ours_in_force(wrapped[k].name);
    if (in_force)
        return;
    Dl_info mine;
    struct patch p = {0};
    if (dladdr((void *)check_link_order, &mine))
        p.self_base = mine.dli_fbase;
    dl_iterate_phdr(patch_object, &p);
    if (p.patched && !p.failed)
        return;
    say("leakgate: libleakgate-criterion cannot take Criterion's calls over (it is loaded "
        "after libcriterion, or Criterion is linked into the program): no test would be "
        "checked for leaks; link it before the shared -lcriterion (pkg-config --libs "
        "leakgate-criterion first) or run the suite with `leakgate run`\n");
    _exit(LG_EXIT_NOT_CHECKED);
}
