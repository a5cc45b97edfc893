/*
 * tap.c — `leakgate tap [options] -- CMD...`: a TAP filter that adds a leak
 * verdict to any TAP program.
 *
 *   CMD (libleakgate.so preloaded)   leakgate tap                  consumer
 *   ------------------------------   ------------                  --------
 *   TAP version 13            ---->  (added when CMD has none) ---> prove
 *   1..3                             1..4    (the plan counts the point
 *   ok 1 - ...                       ok 1 - ...   leakgate adds)
 *   ...                              ...
 *   exits: exit snapshot             not ok 4 - leakgate: leaked 96 B in
 *                                      2 blocks  + YAML block
 *
 * CMD's standard output comes through a pipe, line by line, unchanged but
 * for the plan: a plan printed first is raised by one at once; a plan
 * printed last is held back and printed, raised by one, after leakgate's
 * test point, which is numbered after CMD's last one.  Malformed TAP stays
 * malformed — no plan, a second plan, numbers out of sequence, a test
 * point after a trailing plan, "Bail out!" — and each gets a "# leakgate:"
 * line saying so; the verdict point is still printed.  A skip-all plan
 * ("1..0 # SKIP") is kept and the verdict is a comment.
 *
 * The verdict is `leakgate run`'s (child.c): the exit snapshot less the
 * default and user suppressions, and less what was allocated inside a
 * test case of libleakgate-tap, which that case judged already.  A
 * Criterion binary gets per-test verdicts instead (its adapter preloaded,
 * its --tap report sent to the pipe, its YAML made readable, see
 * filter_line); leakgate's point is then a SKIP.
 *
 * Exit status: as `leakgate run` — CMD's own unless CMD exited 0 and
 * leaked (--error-exitcode, default 23); 2 for usage errors, CMD not
 * found included.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char tap_usage[] =
    "usage: leakgate tap [options] [--] CMD [ARG...]\n"
    "\n"
    "Runs the TAP program CMD with libleakgate.so preloaded and passes its\n"
    "TAP through, adding one test point: `ok N - leakgate: no leaks`, or\n"
    "`not ok N - leakgate: leaked 96 B in 2 blocks` with a YAML block saying\n"
    "where.  The plan is raised by one.  With prove:\n"
    "\n"
    "  prove --exec 'leakgate tap --' t/*.t\n"
    "\n" CLI_CHILD_OPTIONS_HELP;

/* What test cases of libleakgate-tap allocated was judged by the case. */
static const char judged_by_cases[] = "exclude all module=*/libleakgate-tap.so*";

/* ---- the filter --------------------------------------------------------- */

struct filter {
    const char *cmd;
    bool started;      /* a line (or our version line) was written */
    int count;         /* CMD's top-level test points */
    long last;         /* the highest test number seen; 0: none */
    bool planned;      /* CMD printed a plan */
    bool plan_written; /* that plan went out (first, or mid-stream) */
    long held;         /* a trailing plan's count, held back; -1: none */
    char held_rest[512];
    bool skip_all;
    bool bailed;
    bool criterion; /* CMD is a Criterion suite */
};

static void emit(const char *line)
{
    fputs(line, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static void emitf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emitf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

/* The version line must be the first line, and a YAML block needs it. */
static void start(struct filter *f, const char *first)
{
    if (f->started)
        return;
    f->started = true;
    if (!first || strncmp(first, "TAP version ", 12) != 0)
        emit("TAP version 13");
}

/* "1..N[ rest]" at the start of `line`: returns N, rest in *rest; or -1. */
static long parse_plan(const char *line, const char **rest)
{
    if (strncmp(line, "1..", 3) != 0 || !isdigit((unsigned char)line[3]))
        return -1;
    char *end;
    long n = strtol(line + 3, &end, 10);
    if (*end && *end != ' ' && *end != '\t' && *end != '#')
        return -1;
    *rest = end;
    return n;
}

/* "ok" / "not ok" starting a test point: returns its number, 0 when it
 * has none, or -1 when the line is not a test point. */
static long parse_point(const char *line)
{
    const char *p = line;
    if (strncmp(p, "not ", 4) == 0)
        p += 4;
    if (strncmp(p, "ok", 2) != 0 || (p[2] && p[2] != ' ' && p[2] != '\t'))
        return -1;
    p += 2;
    while (*p == ' ' || *p == '\t')
        p++;
    return isdigit((unsigned char)*p) ? strtol(p, NULL, 10) : 0;
}

static void filter_line(struct filter *f, char *line)
{
    start(f, line);
    /* Criterion 2.4 writes an assertion's message as a `|+` block scalar,
     * which Test::Harness' YAML reader rejects (and then stops reading):
     * the one change made to a Criterion suite's TAP is `|+` -> `|`. */
    size_t len = strlen(line);
    if (f->criterion && (line[0] == ' ' || line[0] == '\t') && len >= 4 &&
        strcmp(line + len - 4, ": |+") == 0)
        line[len - 1] = '\0';
    const char *rest;
    long n;
    if ((n = parse_point(line)) >= 0) {
        if (f->held >= 0) {
            emitf("# leakgate: a test point follows the plan 1..%ld (a plan comes first or "
                  "last)",
                  f->held);
            emitf("1..%ld%s", f->held, f->held_rest);
            f->held = -1;
            f->plan_written = true;
        }
        f->count++;
        emit(line);
        if (n > 0 && n != f->count)
            emitf("# leakgate: test number %ld out of sequence (expected %d)", n, f->count);
        if (n > f->last)
            f->last = n;
        return;
    }
    if ((n = parse_plan(line, &rest)) >= 0) {
        if (f->planned) {
            emit(line);
            emit("# leakgate: a second plan (TAP has one)");
        } else if (f->count == 0 && n == 0) {
            f->skip_all = true;
            emit(line);
        } else if (f->count == 0) {
            emitf("1..%ld%s", n + 1, rest);
            f->plan_written = true;
        } else {
            f->held = n;
            snprintf(f->held_rest, sizeof f->held_rest, "%s", rest);
        }
        f->planned = true;
        return;
    }
    emit(line);
    if (strncmp(line, "Bail out!", 9) == 0) {
        f->bailed = true;
        emitf("# leakgate: %s bailed out; leakgate's verdict follows", f->cmd);
    }
}

/* Reads CMD's TAP from `fd` to the end. */
static void filter_run(struct filter *f, int fd)
{
    FILE *in = fdopen(fd, "r");
    if (!in) {
        cli_error("fdopen: %s", strerror(errno));
        close(fd);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        filter_line(f, line);
    }
    free(line);
    fclose(in);
}

/* ---- leakgate's test point --------------------------------------------- */

static void put_text(FILE *out, const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(out, "# %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
    fflush(out);
}

/* Prints the verdict point (or, under a skip-all plan, a comment).
 * `v` is NULL when there is no verdict; `why` says why. */
static void verdict_point(struct filter *f, const struct cli_verdict *v, const char *why)
{
    long num = (f->last > f->count ? f->last : f->count) + 1;
    const char *lead = f->skip_all ? "# " : "";
    char summary[128], size[32];
    if (!v) {
        snprintf(summary, sizeof summary, "ok %ld - leakgate: no leak verdict # SKIP %s", num, why);
    } else if (v->r.outcome == LG_OUTCOME_LEAKED) {
        lg_format_size(size, sizeof size, (double)v->r.size_diff, 0);
        snprintf(summary, sizeof summary, "not ok %ld - leakgate: leaked %s in %lld block%s", num,
                 size, (long long)v->r.count_diff, v->r.count_diff == 1 ? "" : "s");
    } else if (v->r.outcome == LG_OUTCOME_INCONCLUSIVE) {
        snprintf(summary, sizeof summary, "ok %ld - leakgate: inconclusive, %llu traces lost", num,
                 (unsigned long long)v->r.lost_traces);
    } else {
        snprintf(summary, sizeof summary, "ok %ld - leakgate: no leaks", num);
    }
    emitf("%s%s", lead, summary);
    if (v && !f->skip_all) {
        char *yaml = lg_render_tap_yaml(&v->r, &v->ro, "  ");
        if (yaml)
            fputs(yaml, stdout);
        lg_string_free(yaml);
    }
    if (v) {
        char *text = lg_render_failure(&v->r, &v->ro);
        if (text && *text)
            put_text(stderr, text);
        lg_string_free(text);
    }
    if (f->held >= 0)
        emitf("1..%ld%s", f->held + 1, f->held_rest);
    else if (!f->planned)
        emitf("# leakgate: %s printed no plan", f->cmd);
    fflush(stdout);
}

/* ---- Criterion suites --------------------------------------------------- */

/* Criterion writes its --tap report to stderr unless given a file: the
 * report must come through our pipe, so --tap (or --tap=-) becomes
 * --tap=/dev/stdout, and is added when absent.  Returns a new argv
 * (malloc'd, strings borrowed), or NULL. */
static char **criterion_argv(char **cmd)
{
    size_t n = 0;
    bool has_tap = false;
    while (cmd[n])
        n++;
    char **v = calloc(n + 2, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool bare = strcmp(cmd[i], "--tap") == 0 || strcmp(cmd[i], "--tap=-") == 0;
        v[i] = bare ? "--tap=/dev/stdout" : cmd[i];
        has_tap = has_tap || strncmp(cmd[i], "--tap", 5) == 0;
    }
    if (!has_tap)
        v[n] = "--tap=/dev/stdout";
    return v;
}

/* ---- the verb ----------------------------------------------------------- */

/* Whether cmd can be executed (a path, or a name found in PATH). */
static bool runnable(const char *cmd)
{
    if (strchr(cmd, '/'))
        return access(cmd, X_OK) == 0;
    const char *dirs = getenv("PATH");
    char path[PATH_MAX];
    for (const char *d = dirs ? dirs : ""; d; d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
        int len = (int)strcspn(d, ":");
        snprintf(path, sizeof path, "%.*s%s%s", len, d, len ? "/" : "", cmd);
        if (access(path, X_OK) == 0)
            return true;
    }
    errno = ENOENT;
    return false;
}

int cli_tap(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_opts_parse(argc, argv, &o);
    if (rc == 1) {
        fputs(tap_usage, stdout);
        return 0;
    }
    if (rc)
        return CLI_EUSAGE;
    if (!runnable(o.cmd[0])) {
        cli_error("tap: cannot run %s: %s", o.cmd[0], strerror(errno));
        return CLI_EUSAGE;
    }
    char lib[PATH_MAX], libs[2 * PATH_MAX + 64], err[256];
    lg_filterset_t *filters = cli_load_filters(&o);
    if (!filters)
        return CLI_EUSAGE;
    if (lg_filterset_parse_line(filters, judged_by_cases, err, sizeof err) != 0 ||
        !cli_find_library(lib, sizeof lib)) {
        lg_filterset_free(filters);
        return CLI_EUSAGE;
    }
    bool criterion = cli_links_criterion(o.cmd[0]);
    char **cmd = o.cmd, **cr_argv = NULL;
    if (criterion) {
        if (o.snapshot) {
            cli_error("%s: %s is a Criterion test binary: its tests are judged one by one, "
                      "there is no exit snapshot",
                      o.snapshot_name, o.cmd[0]);
            lg_filterset_free(filters);
            return CLI_EUSAGE;
        }
        if (!cli_criterion_preload(lib, libs, sizeof libs) || !(cr_argv = criterion_argv(cmd))) {
            lg_filterset_free(filters);
            return CLI_EUSAGE;
        }
        o.cmd = cr_argv;
    }

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        cli_error("pipe: %s", strerror(errno));
        lg_filterset_free(filters);
        free(cr_argv);
        return 127;
    }
    struct cli_child c = {
        .preload = criterion ? libs : lib, .out_fd = pfd[1], .snap_wanted = !criterion};
    int status = cli_child_start(&o, &c);
    close(pfd[1]);
    if (status) {
        close(pfd[0]);
        cli_child_cleanup(&c);
        lg_filterset_free(filters);
        free(cr_argv);
        return status;
    }
    /* A consumer that stops reading (after "Bail out!") must not kill us
     * before CMD is waited for. */
    signal(SIGPIPE, SIG_IGN);
    struct filter f = {.cmd = cmd[0], .held = -1, .criterion = criterion};
    filter_run(&f, pfd[0]);
    status = cli_child_wait(&c);
    start(&f, NULL);

    if (criterion) {
        verdict_point(&f, NULL, "Criterion tests get per-test verdicts");
    } else if (cli_child_has_snapshot(&c, cmd[0])) {
        struct cli_verdict v;
        char *id = cli_join_cmd(cmd);
        if (cli_verdict_load(&o, c.snap, id ? id : cmd[0], filters, &v) == 0) {
            verdict_point(&f, &v, NULL);
            if (status == 0 && v.r.outcome == LG_OUTCOME_LEAKED && o.error_exitcode)
                status = (int)o.error_exitcode;
            cli_verdict_free(&v);
        } else {
            verdict_point(&f, NULL, "the exit snapshot cannot be read");
        }
        free(id);
    } else {
        verdict_point(&f, NULL, c.signaled ? "killed by a signal" : "no exit snapshot");
    }
    cli_child_cleanup(&c);
    lg_filterset_free(filters);
    free(cr_argv);
    return status;
}
