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
 * test case of libleakgate-tap, which that case judged already.
 *
 * A Criterion binary gets per-test verdicts instead (its adapter
 * preloaded), and leakgate's point is a SKIP.  Its tests print to the same
 * stdout and stderr as the runner, so its --tap report comes on a pipe of
 * its own (--tap=/dev/fd/N) and everything on stdout and stderr becomes a
 * comment line ("# ..."), in the order it came (the tests' stdout is made
 * line-buffered).  Criterion writes its report when the run ends, after
 * the tests' output: its version line is dropped (ours went first) and its
 * plan held back to the end, where prove and tap.py both accept it.
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
#include <poll.h>
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
    "\n"
    "A Criterion test binary is judged test by test; its TAP report is\n"
    "passed on and what its tests print becomes TAP comment lines.\n"
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
    /* A Criterion suite's version line: ours went out first. */
    if (f->criterion && strncmp(line, "TAP version ", 12) == 0)
        return;
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
        if (f->held >= 0 && !f->criterion) {
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
        } else if (f->count == 0 && !f->criterion) {
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

/* ---- reading CMD's pipes ----------------------------------------------- */

/* One pipe read line by line; `buf` holds the partial line read so far. */
struct lines {
    int fd; /* -1 once at the end */
    char *buf;
    size_t len, cap;
    void (*line)(struct filter *f, char *line);
};

/* Hands every complete line in l->buf to l->line, then keeps the rest;
 * at the end (`last`) the rest too. */
static void lines_flush(struct filter *f, struct lines *l, bool last)
{
    size_t from = 0;
    if (!l->buf)
        return;
    for (;;) {
        char *nl = memchr(l->buf + from, '\n', l->len - from);
        if (!nl && !(last && from < l->len))
            break;
        size_t end = nl ? (size_t)(nl - l->buf) : l->len;
        size_t n = end;
        while (n > from && l->buf[n - 1] == '\r')
            n--;
        l->buf[n] = '\0';
        l->line(f, l->buf + from);
        from = nl ? end + 1 : l->len;
    }
    memmove(l->buf, l->buf + from, l->len - from);
    l->len -= from;
}

/* Reads what one pipe has; false at its end (or on an error). */
static bool lines_read(struct filter *f, struct lines *l)
{
    if (l->cap - l->len < 4096) {
        char *grown = realloc(l->buf, l->cap * 2 + 8192);
        if (!grown) {
            cli_error("out of memory reading %s's output", f->cmd);
            return false;
        }
        l->buf = grown;
        l->cap = l->cap * 2 + 8192;
    }
    ssize_t n = read(l->fd, l->buf + l->len, l->cap - l->len - 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        if (n < 0)
            cli_error("reading %s's output: %s", f->cmd, strerror(errno));
        return false;
    }
    l->len += (size_t)n;
    lines_flush(f, l, false);
    return true;
}

/* Reads the pipes to their ends, each line to its handler as it comes;
 * closes them. */
static void read_pipes(struct filter *f, struct lines *pipes, int n)
{
    for (int open_pipes = n; open_pipes > 0;) {
        struct pollfd pfd[2];
        for (int i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = pipes[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            cli_error("poll: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            if (pipes[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (!lines_read(f, &pipes[i])) {
                lines_flush(f, &pipes[i], true);
                close(pipes[i].fd);
                pipes[i].fd = -1;
                open_pipes--;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        if (pipes[i].fd >= 0)
            close(pipes[i].fd);
        free(pipes[i].buf);
    }
}

/* A line CMD wrote outside its TAP (a Criterion suite's output). */
static void comment_line(struct filter *f, char *line)
{
    start(f, NULL);
    emitf("#%s%s", *line ? " " : "", line);
}

/* ---- leakgate's test point --------------------------------------------- */

/* The failure text, as TAP comment lines, to leakgate's log (stderr). */
static void put_text(const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        cli_log("# %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
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
        char *text = lg_render_failure(&v->r, &v->ro), *notes = lg_render_notes(&v->r);
        if (text && *text)
            put_text(text);
        if (notes && *notes)
            put_text(notes);
        lg_string_free(text);
        lg_string_free(notes);
    }
    if (f->held >= 0)
        emitf("1..%ld%s", f->held + 1, f->held_rest);
    else if (!f->planned)
        emitf("# leakgate: %s printed no plan", f->cmd);
    fflush(stdout);
}

/* ---- Criterion suites --------------------------------------------------- */

/* Criterion's --tap report goes to a pipe of its own, descriptor `fd`,
 * apart from what the tests print: every --tap option CMD was given
 * (--tap, --tap=-, --tap=FILE) becomes --tap=/dev/fd/FD.  Returns a new
 * argv (malloc'd, strings borrowed but for *tap_arg), or NULL. */
static char **criterion_argv(char **cmd, int fd, char *tap_arg, size_t len)
{
    size_t n = 0, k = 0;
    while (cmd[n])
        n++;
    char **v = calloc(n + 2, sizeof *v);
    if (!v)
        return NULL;
    snprintf(tap_arg, len, "--tap=/dev/fd/%d", fd);
    v[k++] = cmd[0];
    for (size_t i = 1; i < n; i++)
        if (strcmp(cmd[i], "--tap") != 0 && strncmp(cmd[i], "--tap=", 6) != 0)
            v[k++] = cmd[i];
    v[k] = tap_arg;
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

/* Runs CMD with its output on pipes and filters it; returns CMD's status,
 * or 127 (after reporting) when it could not be run.  c->snap is set when
 * an exit snapshot was asked for. */
static int tap_child(struct cli_opts *o, struct cli_child *c, struct filter *f, const char *preload)
{
    /* out: CMD's standard output (and, for a Criterion suite, its standard
     * error); tap: a Criterion suite's TAP report. */
    int out[2] = {-1, -1}, tap[2] = {-1, -1}, status = 127;
    char **cmd = o->cmd, **cr_argv = NULL, tap_arg[32];
    if (pipe2(out, O_CLOEXEC) != 0 || (f->criterion && pipe2(tap, O_CLOEXEC) != 0)) {
        cli_error("pipe: %s", strerror(errno));
    } else if (f->criterion &&
               !(o->cmd = cr_argv = criterion_argv(cmd, tap[1], tap_arg, sizeof tap_arg))) {
        cli_error("out of memory");
    } else {
        if (f->criterion)
            setenv("LEAKGATE_LINE_BUFFERED", "1", 1);
        *c = (struct cli_child){.preload = preload,
                                .out_fd = out[1],
                                .err_fd = f->criterion ? out[1] : 0,
                                .keep_fd = f->criterion ? tap[1] : 0,
                                .snap_wanted = !f->criterion};
        status = cli_child_start(o, c);
    }
    o->cmd = cmd;
    free(cr_argv);
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0 && (i == 1 || status))
            close(out[i]);
        if (tap[i] >= 0 && (i == 1 || status))
            close(tap[i]);
    }
    if (status)
        return status;
    /* A consumer that stops reading (after "Bail out!") must not kill us
     * before CMD is waited for. */
    signal(SIGPIPE, SIG_IGN);
    if (f->criterion) {
        start(f, NULL);
        struct lines pipes[2] = {{.fd = tap[0], .line = filter_line},
                                 {.fd = out[0], .line = comment_line}};
        read_pipes(f, pipes, 2);
    } else {
        struct lines pipes[1] = {{.fd = out[0], .line = filter_line}};
        read_pipes(f, pipes, 1);
    }
    return cli_child_wait(c);
}

/* The filter over CMD's TAP, with the options parsed. */
static int tap_run(struct cli_opts *o)
{
    if (!runnable(o->cmd[0])) {
        cli_error("tap: cannot run %s: %s", o->cmd[0], strerror(errno));
        return CLI_EUSAGE;
    }
    char lib[PATH_MAX], libs[2 * PATH_MAX + 64], err[256];
    lg_filterset_t *filters = cli_load_filters(o);
    if (!filters)
        return CLI_EUSAGE;
    bool criterion = cli_links_criterion(o->cmd[0]);
    if (lg_filterset_parse_line(filters, judged_by_cases, err, sizeof err) != 0 ||
        !cli_find_library(lib, sizeof lib) ||
        (criterion && !cli_criterion_preload(lib, libs, sizeof libs))) {
        lg_filterset_free(filters);
        return CLI_EUSAGE;
    }
    if (criterion && o->snapshot) {
        cli_error("%s: %s is a Criterion test binary: its tests are judged one by one, "
                  "there is no exit snapshot",
                  o->snapshot_name, o->cmd[0]);
        lg_filterset_free(filters);
        return CLI_EUSAGE;
    }

    struct filter f = {.cmd = o->cmd[0], .held = -1, .criterion = criterion};
    struct cli_child c = {0};
    int status = tap_child(o, &c, &f, criterion ? libs : lib);
    if (c.pid <= 0 || c.exec_errno) {
        cli_child_cleanup(&c);
        lg_filterset_free(filters);
        return status;
    }
    start(&f, NULL);
    if (criterion) {
        verdict_point(&f, NULL, "Criterion tests get per-test verdicts");
    } else if (cli_child_has_snapshot(&c, o->cmd[0])) {
        struct cli_verdict v;
        char *id = cli_join_cmd(o->cmd);
        if (cli_verdict_load(o, c.snap, id ? id : o->cmd[0], filters, &v) == 0) {
            verdict_point(&f, &v, NULL);
            if (status == 0 && v.r.outcome == LG_OUTCOME_LEAKED && o->error_exitcode)
                status = (int)o->error_exitcode;
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
    return status;
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
    rc = tap_run(&o);
    cli_opts_free(&o);
    return rc;
}
