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
 * The runner (the process that calls criterion_run_all_tests) never sees a
 * test's heap.  With LEAKGATE_REPORT=path it gives its workers a directory
 * for their JSON parts and merges them into one leakgate/1 document when
 * the run ends.  Under --debug, leakgate stays out of the way.
 *
 * Criterion's symbols are looked up at run time: preloaded into a process
 * without libcriterion (a shell started by the suite), this library is
 * inert.
 */
#include <criterion/criterion.h>
#include <criterion/event.h>
#include <criterion/options.h>
#include <criterion/stats.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stddef.h>
#include <leakgate/criterion.h>
#include <leakgate/report.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API       __attribute__((visibility("default")))
#define PARTS_ENV "LEAKGATE_REPORT_PARTS" /* runner -> workers */
/* Tracebacks end at the test: libcriterion's frames and ours below it. */
#define STOP_MODULE "lib*criterion.so*"

static struct {
    bool resolved;
    void (*setup)(void);
    void (*main)(void (*)(void));
    void (*teardown)(void);
    int (*run_all)(struct criterion_test_set *);
    void (*send_assert)(struct criterion_assert_stats *);
    const struct criterion_test **test;
    const struct criterion_suite **suite;
    struct criterion_options *options;

    lg_session_t *session;
    bool broken;   /* the settings were bad: every test fails with why */
    char why[512]; /* that one-line reason */
    bool in_test;  /* begun, not yet ended */
    void (*body)(void);
    unsigned ntests; /* tests run by this worker: part file names */
} A;

static void resolve(void)
{
    if (A.resolved)
        return;
    *(void **)&A.setup = dlsym(RTLD_NEXT, "criterion_internal_test_setup");
    *(void **)&A.main = dlsym(RTLD_NEXT, "criterion_internal_test_main");
    *(void **)&A.teardown = dlsym(RTLD_NEXT, "criterion_internal_test_teardown");
    *(void **)&A.run_all = dlsym(RTLD_NEXT, "criterion_run_all_tests");
    *(void **)&A.send_assert = dlsym(RTLD_DEFAULT, "criterion_send_assert");
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

static void begin(void)
{
    A.in_test = false;
    if (!A.test || !*A.test || !A.send_assert || debugging())
        return;
    if (!A.session && !A.broken) {
        int rc = lg_session_new(&A.session, A.why, sizeof A.why);
        if (rc && !*A.why)
            snprintf(A.why, sizeof A.why, "leakgate: %s", lg_strerror(rc));
        A.broken = rc != 0;
        if (!rc)
            lg_session_stop_frames_at(A.session, STOP_MODULE);
    }
    if (A.broken)
        return;
    const struct criterion_test *t = *A.test;
    char id[512];
    snprintf(id, sizeof id, "%s::%s", t->category, t->name);
    A.in_test = lg_session_begin_test(A.session, id) == 0;
}

/* With LEAKGATE_REPORT set, each ended test leaves a JSON document of its
 * own in the runner's parts directory. */
static void write_part(const lg_result_t *r)
{
    const char *dir = getenv(PARTS_ENV);
    lg_json_report_t *one;
    if (!dir || !*dir || lg_json_report_new(&one) != 0)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%ld-%u.json", dir, (long)getpid(), A.ntests++);
    lg_render_opts_t opts = {.stop_module = STOP_MODULE};
    if (lg_json_report_add(one, r, &opts) != 0 || lg_json_report_write(one, path) != 0)
        fprintf(stderr, "leakgate: cannot write %s\n", path);
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

/* Ends the test; `own_failure`: the body failed its own assertion. */
static void finish(bool own_failure)
{
    if (!A.in_test)
        return;
    A.in_test = false;
    run_fini_now();
    lg_result_t r;
    int rc = lg_session_end_test(A.session, &r);
    if (rc) {
        fprintf(stderr, "leakgate: %s::%s: no leak verdict: %s\n", (*A.test)->category,
                (*A.test)->name, lg_strerror(rc));
        return;
    }
    write_part(&r);
    if (r.outcome == LG_OUTCOME_CLEAN)
        return;
    char *text = lg_session_failure_text(A.session);
    if (!text)
        return;
    size_t n = strlen(text);
    if (n && text[n - 1] == '\n')
        text[n - 1] = '\0'; /* Criterion ends the message itself */
    if (r.outcome == LG_OUTCOME_LEAKED)
        send_failure(text);
    else
        fprintf(stderr, "%s\n", text); /* inconclusive: said, not failed */
    if (own_failure)
        fprintf(stderr, "leakgate: the test also failed its own assertions\n");
    lg_string_free(text);
}

static void body(void)
{
    A.body();
    finish(false);
}

static void body_param(void *param)
{
    ((void (*)(void *))(void *)A.body)(param);
    finish(false);
}

API void criterion_internal_test_setup(void)
{
    resolve();
    begin();
    A.setup();
    if (A.broken && !debugging())
        send_failure(A.why); /* a bad setting fails every test, saying which */
}

API void criterion_internal_test_main(void (*fn)(void))
{
    resolve();
    if (!A.in_test) {
        A.main(fn);
        return;
    }
    A.body = fn;
    bool param = get_field(FIELD((*A.test)->data, param_)) != NULL;
    A.main(param ? (void (*)(void))(void *)body_param : body);
}

API void criterion_internal_test_teardown(void)
{
    resolve();
    finish(true);
    A.teardown();
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

static void merge_parts(const char *dir, const char *report)
{
    lg_json_report_t *rep;
    if (lg_json_report_new(&rep) != 0)
        return;
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096], err[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lg_json_report_merge_file(rep, path, err, sizeof err) != 0)
            fprintf(stderr, "leakgate: %s\n", err);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
    if (lg_json_report_write(rep, report) != 0)
        fprintf(stderr, "leakgate: LEAKGATE_REPORT=%s: cannot write the report\n", report);
    lg_json_report_free(rep);
}

API int criterion_run_all_tests(struct criterion_test_set *tests)
{
    resolve();
    /* The runner's own allocations are nobody's test: trace only workers. */
    lg_stop();
    if (debugging()) {
        setenv("LEAKGATE_CRITERION_OFF", "1", 1);
        fprintf(stderr, "leakgate: --debug: tests are not checked for leaks\n");
        return A.run_all(tests);
    }
    const char *report = getenv("LEAKGATE_REPORT");
    char dir[4096] = "";
    if (report && *report) {
        snprintf(dir, sizeof dir, "%s.parts.XXXXXX", report);
        if (!mkdtemp(dir)) {
            fprintf(stderr, "leakgate: LEAKGATE_REPORT=%s: cannot create %s\n", report, dir);
            dir[0] = '\0';
        } else {
            setenv(PARTS_ENV, dir, 1);
        }
    }
    int ok = A.run_all(tests);
    if (dir[0])
        merge_parts(dir, report);
    return ok;
}
