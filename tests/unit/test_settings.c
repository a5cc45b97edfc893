/*
 * test_settings.c — every LEAKGATE_* variable read inside the traced
 * process: each good value takes effect, each bad one gives one line
 * naming the variable, the value and the accepted form.
 *
 *   session (lg_session_new)   MAX_SIZE, MAX_COUNT, TOP, LIMITS,
 *                              SUPPRESSIONS, NO_DEFAULT_SUPPRESSIONS;
 *                              UNWIND, START, FRAMES checked (refused)
 *   lg_start(0)                FRAMES
 *   load time (constructors)   UNWIND, START, FRAMES: this program runs
 *                              itself again with the variable set; a bad
 *                              one is said and removed (once per tree)
 *
 * The command line's own (JSON, ERROR_EXITCODE, SNAPSHOT, LIBRARY, ...) are
 * tested with `leakgate run` (tests/integration/run/test_run.sh), the
 * Python package's LEAKGATE_PYTHON in tests/python/test_binding.py.
 */
#include "lg_internal.h"
#include <leakgate/report.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lgtest.h"

static const char *const session_vars[] = {
    "LEAKGATE_MAX_SIZE", "LEAKGATE_MAX_COUNT",    "LEAKGATE_TOP",
    "LEAKGATE_LIMITS",   "LEAKGATE_SUPPRESSIONS", "LEAKGATE_NO_DEFAULT_SUPPRESSIONS",
    "LEAKGATE_FRAMES",   "LEAKGATE_REPEAT",
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof session_vars / sizeof session_vars[0]; i++)
        unsetenv(session_vars[i]);
    lg_stop();
}
LGT_AFTER_EACH(clear_env)

static char dir[] = "/tmp/lg_test_settings_XXXXXX";

/* A file in the test's directory holding `text`; returns its path (static). */
static const char *file_with(const char *name, const char *text)
{
    static char path[128];
    static bool made; /* mkdtemp's random letters may be an 'X' too */
    if (!made && !(made = mkdtemp(dir) != NULL))
        return NULL;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(text, f);
    fclose(f);
    return path;
}

/* ---- the session's variables -------------------------------------------- */

/* The limits lg_session_new gives test `id` with `var` set to `value`. */
static int limits_for(const char *var, const char *value, const char *id, lg_limits_t *out)
{
    char err[256] = "";
    lg_session_t *s;
    setenv(var, value, 1);
    int rc = lg_session_new(&s, err, sizeof err);
    if (rc == 0) {
        rc = lg_session_begin_test(s, id);
        *out = lg_session_limits(s);
        /* What the command line applies to a whole process of this id. */
        lg_limits_t same = lg_session_limits_for(s, id);
        if (same.max_size != out->max_size || same.max_count != out->max_count)
            rc = -1000;
        lg_session_free(s);
    }
    unsetenv(var);
    return rc;
}

LGT_TEST(size_and_count_limits_take_effect)
{
    lg_limits_t l;
    ASSERT_EQ(limits_for("LEAKGATE_MAX_SIZE", "1 KiB", "t", &l), 0);
    ASSERT_EQ(l.max_size, 1024);
    ASSERT_EQ(l.max_count, -1);
    ASSERT_EQ(limits_for("LEAKGATE_MAX_SIZE", "2MB", "t", &l), 0);
    ASSERT_EQ(l.max_size, 2000000);
    ASSERT_EQ(limits_for("LEAKGATE_MAX_COUNT", "3", "t", &l), 0);
    ASSERT_EQ(l.max_size, 0);
    ASSERT_EQ(l.max_count, 3);
    ASSERT_EQ(limits_for("LEAKGATE_MAX_COUNT", "", "t", &l), 0); /* empty: unset */
    ASSERT_EQ(l.max_count, -1);
}

LGT_TEST(limit_rules_from_the_environment_and_a_file)
{
    lg_limits_t l;
    const char *limits = "cache::* max_size=4KiB; cache::big max_count=2 max_size=1MiB ;";
    ASSERT_EQ(limits_for("LEAKGATE_LIMITS", limits, "cache::small", &l), 0);
    ASSERT_EQ(l.max_size, 4096);
    ASSERT_EQ(l.max_count, -1);
    ASSERT_EQ(limits_for("LEAKGATE_LIMITS", limits, "cache::big", &l), 0); /* the last wins */
    ASSERT_EQ(l.max_size, 1 << 20);
    ASSERT_EQ(l.max_count, 2);
    ASSERT_EQ(limits_for("LEAKGATE_LIMITS", limits, "other", &l), 0);
    ASSERT_EQ(l.max_size, 0);

    const char *supp = file_with("limits.supp", "# kept caches\n"
                                                "limit cache::* max_size=100\n"
                                                "exclude-domain 7\n");
    ASSERT(supp);
    setenv("LEAKGATE_LIMITS", "cache::big max_count=1", 1); /* after the file's */
    ASSERT_EQ(limits_for("LEAKGATE_SUPPRESSIONS", supp, "cache::big", &l), 0);
    ASSERT_EQ(l.max_size, 100);
    ASSERT_EQ(l.max_count, 1);
    ASSERT_EQ(limits_for("LEAKGATE_SUPPRESSIONS", supp, "cache::x", &l), 0);
    ASSERT_EQ(l.max_size, 100);
    ASSERT_EQ(l.max_count, -1);
}

static int leaked_site(uintptr_t *frames, int max, uint32_t *total)
{
    static uintptr_t next = 0x100;
    LG_UNUSED(max);
    frames[0] = next++; /* each block its own traceback */
    *total = 1;
    return 1;
}

/* The failure text of a test leaving three blocks with three tracebacks. */
static char *failure_text_with_top(const char *top)
{
    char err[256];
    lg_session_t *s;
    if (top)
        setenv("LEAKGATE_TOP", top, 1);
    lg__set_backtrace_hook(leaked_site);
    if (lg_start(4) != 0 || lg_session_new(&s, err, sizeof err) != 0)
        return NULL;
    lg_result_t r;
    char *text = NULL;
    if (lg_session_begin_test(s, "t") == 0) {
        lg_track(7, 0x1000, 30);
        lg_track(7, 0x2000, 20);
        lg_track(7, 0x3000, 10);
        if (lg_session_end_test(s, &r) == 0)
            text = lg_session_failure_text(s);
        lg_untrack(7, 0x1000);
        lg_untrack(7, 0x2000);
        lg_untrack(7, 0x3000);
    }
    lg_session_free(s);
    lg__set_backtrace_hook(NULL);
    lg_stop();
    unsetenv("LEAKGATE_TOP");
    return text;
}

LGT_TEST(top_sets_the_tracebacks_shown)
{
    char *text = failure_text_with_top("1");
    ASSERT_CONTAINS(text, "leaked 60 B in 3 blocks");
    ASSERT_CONTAINS(text, "30 B in 1 block");
    ASSERT_CONTAINS(text, "... and 2 more tracebacks (30 B)");
    lg_string_free(text);
    text = failure_text_with_top("0"); /* all */
    ASSERT_CONTAINS(text, "10 B in 1 block");
    ASSERT(!strstr(text, "more traceback"));
    lg_string_free(text);
    text = failure_text_with_top(NULL); /* default 5: all three */
    ASSERT_CONTAINS(text, "10 B in 1 block");
    lg_string_free(text);
}

LGT_TEST(a_suppressions_file_filters_the_leaks)
{
    /* exclude-domain 7 drops everything the test leaves in domain 7. */
    const char *supp = file_with("domain.supp", "exclude-domain 7\n");
    ASSERT(supp);
    setenv("LEAKGATE_SUPPRESSIONS", supp, 1);
    char err[256];
    lg_session_t *s;
    ASSERT_EQ(lg_start(4), 0);
    ASSERT_EQ(lg_session_new(&s, err, sizeof err), 0);
    lg_result_t r;
    ASSERT_EQ(lg_session_begin_test(s, "t"), 0);
    lg_track(7, 0x1000, 30);
    lg_track(8, 0x1000, 5);
    ASSERT_EQ(lg_session_end_test(s, &r), 0);
    ASSERT_EQ(r.size_diff, 5);
    ASSERT_EQ(r.outcome, LG_OUTCOME_LEAKED);
    lg_untrack(7, 0x1000);
    lg_untrack(8, 0x1000);
    lg_session_free(s);
}

LGT_TEST(no_default_suppressions_takes_0_or_1)
{
    static const char *const good[] = {"0", "1", ""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char err[256] = "";
        lg_session_t *s = NULL;
        setenv("LEAKGATE_NO_DEFAULT_SUPPRESSIONS", good[i], 1);
        int rc = lg_session_new(&s, err, sizeof err);
        lg_session_free(s);
        if (rc != 0)
            LGT_FAIL("\"%s\": %d %s", good[i], rc, err);
    }
}

/* Every bad value of the session's variables: the error code and the one
 * line that says what is wrong. */
LGT_TEST(each_bad_session_value_is_one_line_naming_it)
{
    const char *bad_supp = file_with("bad.supp", "exclude-domain 7\n\nexclude line=x\n");
    ASSERT(bad_supp);
    static char missing[160];
    snprintf(missing, sizeof missing, "%s/missing.supp", dir);
    char want_bad_supp[256];
    snprintf(want_bad_supp, sizeof want_bad_supp, "LEAKGATE_SUPPRESSIONS=%s:3:", bad_supp);
    char want_missing[256];
    snprintf(want_missing, sizeof want_missing, "LEAKGATE_SUPPRESSIONS=%s: ", missing);
    const struct {
        const char *var, *value;
        int rc;
        const char *err; /* the whole line, or its beginning when `prefix` */
        bool prefix;
    } bad[] = {
        {"LEAKGATE_MAX_SIZE", "lots", LG_EINVAL, "LEAKGATE_MAX_SIZE=lots: expected " LG_SIZE_FORM,
         false},
        {"LEAKGATE_MAX_SIZE", "-1", LG_EINVAL, "LEAKGATE_MAX_SIZE=-1: expected " LG_SIZE_FORM,
         false},
        {"LEAKGATE_MAX_SIZE", "1 TiB", LG_EINVAL, "LEAKGATE_MAX_SIZE=1 TiB: expected " LG_SIZE_FORM,
         false},
        {"LEAKGATE_MAX_COUNT", "-1", LG_EINVAL,
         "LEAKGATE_MAX_COUNT=-1: expected an integer from 0 to 9223372036854775807", false},
        {"LEAKGATE_MAX_COUNT", "2 blocks", LG_EINVAL,
         "LEAKGATE_MAX_COUNT=2 blocks: expected an integer from 0 to 9223372036854775807", false},
        {"LEAKGATE_REPEAT", "x", LG_EINVAL, "LEAKGATE_REPEAT=x: expected an integer from 0 to 100",
         false},
        {"LEAKGATE_REPEAT", "101", LG_EINVAL,
         "LEAKGATE_REPEAT=101: expected an integer from 0 to 100", false},
        {"LEAKGATE_REPEAT", "-1", LG_EINVAL, "LEAKGATE_REPEAT=-1: expected an integer from 0 to 100",
         false},
        {"LEAKGATE_TOP", "x", LG_EINVAL, "LEAKGATE_TOP=x: expected an integer from 0 to 100000",
         false},
        {"LEAKGATE_TOP", "100001", LG_EINVAL,
         "LEAKGATE_TOP=100001: expected an integer from 0 to 100000", false},
        {"LEAKGATE_NO_DEFAULT_SUPPRESSIONS", "yes", LG_EINVAL,
         "LEAKGATE_NO_DEFAULT_SUPPRESSIONS=yes: expected 0 or 1", false},
        {"LEAKGATE_LIMITS", "t*", LG_ESYNTAX,
         "LEAKGATE_LIMITS=t*: entry 1: expected limit PATTERN [max_size=SIZE] [max_count=N]",
         false},
        {"LEAKGATE_LIMITS", "a max_size=1; t* max_size=huge", LG_ESYNTAX,
         "LEAKGATE_LIMITS=a max_size=1; t* max_size=huge: entry 2: max_size=huge: "
         "expected " LG_SIZE_FORM,
         false},
        {"LEAKGATE_LIMITS", "t* max_count=-2", LG_ESYNTAX,
         "LEAKGATE_LIMITS=t* max_count=-2: entry 1: max_count=-2: expected an integer from 0 to "
         "9223372036854775807",
         false},
        {"LEAKGATE_LIMITS", "t* speed=3", LG_ESYNTAX,
         "LEAKGATE_LIMITS=t* speed=3: entry 1: unknown word \"speed=3\" (expected limit PATTERN "
         "[max_size=SIZE] [max_count=N])",
         false},
        /* The runtime's, which it reads (and removes when bad) as it loads:
         * where it did not load them, the session refuses them. */
        {"LEAKGATE_UNWIND", "dwarf", LG_EINVAL,
         "LEAKGATE_UNWIND=dwarf: expected auto, fp or libunwind", false},
        {"LEAKGATE_START", "2", LG_EINVAL, "LEAKGATE_START=2: expected 0 or 1", false},
        {"LEAKGATE_FRAMES", "129", LG_EINVAL,
         "LEAKGATE_FRAMES=129: expected an integer from 1 to 128", false},
        {"LEAKGATE_SUPPRESSIONS", bad_supp, LG_ESYNTAX, want_bad_supp, true},
        {"LEAKGATE_SUPPRESSIONS", missing, LG_EIO, want_missing, true},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        lg_session_t *s = NULL;
        setenv(bad[i].var, bad[i].value, 1);
        int rc = lg_session_new(&s, err, sizeof err);
        unsetenv(bad[i].var);
        if (rc != bad[i].rc || s != NULL)
            LGT_FAIL("%s=%s: rc %d, want %d", bad[i].var, bad[i].value, rc, bad[i].rc);
        bool same = bad[i].prefix ? strncmp(err, bad[i].err, strlen(bad[i].err)) == 0
                                  : strcmp(err, bad[i].err) == 0;
        if (!same || strchr(err, '\n'))
            LGT_FAIL("%s=%s:\n  got  \"%s\"\n  want \"%s\"%s", bad[i].var, bad[i].value, err,
                     bad[i].err, bad[i].prefix ? "..." : "");
    }
}

/* ---- the runtime's variables ------------------------------------------- */

/* Runs fn with fd 2 sent to a file; returns what it wrote (static). */
static const char *stderr_of(void (*fn)(void))
{
    static char out[1024];
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    if (saved < 0 || !tmp)
        return NULL;
    dup2(fileno(tmp), 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof out - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return out;
}

static int start_rc;
static void start_default(void)
{
    start_rc = lg_start(0);
}

LGT_TEST(frames_at_start)
{
    setenv("LEAKGATE_FRAMES", "7", 1);
    ASSERT_STR_EQ(stderr_of(start_default), "");
    ASSERT_EQ(start_rc, 0);
    ASSERT_EQ(lg_get_traceback_limit(), 7);
    lg_stop();
    static const char *const bad[] = {"0", "129", "12x", "-3", " 5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("LEAKGATE_FRAMES", bad[i], 1);
        char want[128];
        snprintf(want, sizeof want,
                 "leakgate: LEAKGATE_FRAMES=%s: expected an integer from 1 to 128; using 16\n",
                 bad[i]);
        ASSERT_STR_EQ(stderr_of(start_default), want);
        ASSERT_EQ(start_rc, 0);
        ASSERT_EQ(lg_get_traceback_limit(), LG_FRAMES_DEFAULT);
        ASSERT(!getenv("LEAKGATE_FRAMES")); /* removed: said once */
        lg_stop();
    }
}

/* Runs this program again, running no test, with `env` ("NAME=value"
 * entries, NULL-terminated) added: what its constructors print. */
static const char *load_time_stderr(const char *const *env)
{
    static char out[1024];
    /* The program's path, not /proc/self/exe: under valgrind that is the
     * tool's executable, while readlink gives the program's. */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    int fds[2];
    if (len <= 0 || pipe(fds) != 0)
        return NULL;
    self[len] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (const char *const *e = env; *e; e++)
            putenv((char *)*e);
        dup2(fds[1], 2);
        dup2(open("/dev/null", O_WRONLY), 1);
        close(fds[0]);
        execl(self, "test_settings", "no test at all", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n < sizeof out - 1 && (k = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? out : "(the program failed)";
}

LGT_TEST(load_time_variables)
{
    static const struct {
        const char *env[3];
        const char *err;
    } cases[] = {
        {{"LEAKGATE_UNWIND=fp", NULL}, ""},
        {{"LEAKGATE_UNWIND=libunwind", NULL}, ""},
        {{"LEAKGATE_UNWIND=auto", NULL}, ""},
        {{"LEAKGATE_UNWIND=dwarf", NULL},
         "leakgate: LEAKGATE_UNWIND=dwarf: expected auto, fp or libunwind; using auto\n"},
        {{"LEAKGATE_START=1", NULL}, ""},
        {{"LEAKGATE_START=0", NULL}, ""},
        {{"LEAKGATE_START=yes", NULL},
         "leakgate: LEAKGATE_START=yes: expected 0 or 1; not tracing\n"},
        {{"LEAKGATE_START=1", "LEAKGATE_FRAMES=9", NULL}, ""},
        {{"LEAKGATE_START=1", "LEAKGATE_FRAMES=200", NULL},
         "leakgate: LEAKGATE_FRAMES=200: expected an integer from 1 to 128; using 16\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = load_time_stderr(cases[i].env);
        if (!got || strcmp(got, cases[i].err) != 0)
            LGT_FAIL("%s %s:\n  got  \"%s\"\n  want \"%s\"", cases[i].env[0],
                     cases[i].env[1] ? cases[i].env[1] : "", got ? got : "(null)", cases[i].err);
    }
}

LGT_MAIN()
