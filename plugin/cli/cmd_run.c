/*
 * cmd_run.c — `leakgate run [options] -- CMD...`: the whole-process leak
 * check, over CMD and the programs it starts.
 *
 *   leakgate                       CMD (libleakgate.so preloaded)
 *   --------                       ---
 *   validate every setting
 *   mkdtemp D
 *   fork ----------------------->  LEAKGATE_RUN_SNAPSHOT=D/exit.lgsnap
 *                                  LEAKGATE_RUN_PID=<own pid>, exec CMD
 *   wait (forward INT/TERM/...)    ... runs, exits: the runtime dumps what
 *                                  is still allocated to D/exit.lgsnap
 *   load D/exit.lgsnap, apply default and user suppressions, group by
 *   traceback -> verdict, failure text on stderr, JSON report; rm -r D
 *
 * The process tree: every exec'd descendant inherits the preload (with
 * libleakgate-criterion, inert outside Criterion) and records itself in D
 * (runtime/exit.c).  What is judged:
 *
 *   CMD                      whole process, unless it is a wrapper (a
 *                            shell, make, ctest, meson, ...) or an
 *                            interpreter, and matches no --children glob
 *   a Criterion binary       per test, by the adapter, wherever it sits;
 *                            its JSON parts land in D/parts
 *   another descendant       whole process when its program path matches
 *                            a --children glob
 *
 * One merged report: every verdict's failure text on stderr, one JSON
 * report, and one line naming what was not judged.
 *
 * Exit status (docs/reference.md): CMD's own when it failed (128+N when
 * killed by signal N); else --error-exitcode (default 23) when a judged
 * program leaked; else 24 when a program to be judged left no verdict (no
 * exit snapshot, lost traces) or, CMD being a wrapper, nothing at all was
 * judged; else CMD's (0).  127 when CMD could not be run; 2 for usage
 * errors.  An interpreter CMD (python, ...) is never judged as a whole: its
 * leftovers at exit are the interpreter's; a line says so.
 */
#include "cli.h"
#include "lg_plugin_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char run_usage[] =
    "usage: leakgate run [options] [--] CMD [ARG...]\n"
    "\n"
    "Runs CMD with libleakgate.so preloaded.  What CMD still has allocated\n"
    "when it exits, less the C library's kept-until-exit state and your\n"
    "suppressions, is a leak: leakgate prints where it was allocated and\n"
    "exits with --error-exitcode.  Otherwise the exit status is CMD's.\n"
    "Programs CMD starts: Criterion suites are judged test by test; others\n"
    "when their path matches a --children glob.\n"
    "\n"
    "  --children GLOB     also judge descendants whose program path matches\n"
    "                      GLOB (repeatable), e.g. --children='*/tests/*'\n"
    CLI_CHILD_OPTIONS_HELP;

/* ---- Criterion test binaries ------------------------------------------- */

/* A Criterion suite: every test is judged by itself in its worker
 * (libleakgate-criterion, preloaded beside libleakgate.so); the exit status
 * is the runner's.  Under --debug leakgate stays out of the way. */
static int run_criterion(const struct cli_opts *o, const char *lib)
{
    if (o->snapshot) {
        cli_error("%s: %s is a Criterion test binary: its tests are judged one by one, "
                  "there is no exit snapshot",
                  o->snapshot_name, o->cmd[0]);
        return CLI_EUSAGE;
    }
    char libs[2 * PATH_MAX + 64];
    if (!cli_criterion_preload(lib, libs, sizeof libs))
        return CLI_EUSAGE;
    bool debug = false;
    for (char **a = o->cmd + 1; *a; a++)
        debug = debug || strncmp(*a, "--debug", 7) == 0;
    if (debug)
        cli_error("--debug: running %s without leak checks", o->cmd[0]);
    struct cli_child c = {.preload = debug ? NULL : libs, .out_fd = -1};
    int rc = cli_child_start(o, &c);
    return rc ? rc : cli_child_wait(&c);
}

/* ---- the process tree --------------------------------------------------- */

/* Programs never judged as a whole when they are CMD, unless a --children
 * glob names them: wrappers run the programs to judge; an interpreter's
 * leftovers at exit are the interpreter's, not the script's. */
static const char *const wrappers[] = {"sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox",
                                       "make", "gmake", "ctest", "meson", "ninja", "env",
                                       "xargs", "timeout", "nice", "nohup", "stdbuf", "setsid",
                                       NULL};
static const char *const interpreters[] = {"python*", "pypy*", "perl*", "ruby*", "node*", NULL};

static bool basename_in(const char *path, const char *const *globs)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    for (; *globs; globs++)
        if (fnmatch(*globs, base, 0) == 0)
            return true;
    return false;
}

static bool children_match(const struct cli_opts *o, const char *exe)
{
    char one[PATH_MAX];
    for (const char *g = o->children; g && *g;) {
        size_t n = strcspn(g, "\n");
        snprintf(one, sizeof one, "%.*s", (int)n, g);
        if (fnmatch(one, exe, 0) == 0)
            return true;
        g += n + (g[n] == '\n');
    }
    return false;
}

/* One traced process of the tree, from D/<pid>.seen. */
struct proc {
    long pid;
    char exe[PATH_MAX], args[4096];
};

static bool read_seen(const char *path, struct proc *p)
{
    char rec[sizeof p->exe + sizeof p->args + 1];
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(rec, 1, sizeof rec - 1, f);
    fclose(f);
    rec[n] = '\0'; /* "program path\0command line\0" (runtime/exit.c) */
    size_t elen = strlen(rec);
    /* Each part cut to its field (the runtime wrote at most that much). */
    snprintf(p->exe, sizeof p->exe, "%.*s", (int)sizeof p->exe - 1, rec);
    snprintf(p->args, sizeof p->args, "%.*s", (int)sizeof p->args - 1,
             elen < n ? rec + elen + 1 : "");
    return p->exe[0] != '\0';
}

/* A program name or command line as the terminal shows it: escaped as
 * text (what a process tree runs is named by whoever named its files). */
static const char *shown(const char *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s", s);
    lg__text_fix(buf, len);
    return buf;
}

/* What the run found, for the exit status and the closing line. */
struct tally {
    int judged, leaked, unchecked, tests;
    char skipped[1024]; /* programs not judged, ", "-separated */
};

static void note_skipped(struct tally *t, const char *exe)
{
    const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    size_t used = strlen(t->skipped);
    char name[PATH_MAX], item[PATH_MAX + 4];
    snprintf(item, sizeof item, "%s%s", used ? ", " : "", shown(base, name, sizeof name));
    if (strstr(t->skipped, name) == NULL && used + strlen(item) + 4 < sizeof t->skipped)
        strcat(t->skipped, item);
}

/* Judges one exit snapshot: failure text on stderr, the JSON report. */
static void judge(const struct cli_opts *o, const char *snap_path, const char *id,
                  lg_filterset_t *filters, lg_json_report_t *rep, struct tally *t)
{
    struct cli_opts quiet = *o;
    quiet.json = NULL; /* one report for the whole tree, written by cli_run */
    struct cli_verdict v;
    int rc = cli_verdict_load(&quiet, snap_path, id, filters, &v);
    if (rc != 0) {
        t->unchecked += rc < 0;
        return;
    }
    t->judged++;
    char *text = lg_render_failure(&v.r, &v.ro), *notes = lg_render_notes(&v.r);
    if (text)
        cli_log("%s", text);
    if (notes)
        cli_log("%s", notes);
    lg_string_free(text);
    lg_string_free(notes);
    t->leaked += v.r.outcome == LG_OUTCOME_LEAKED;
    t->unchecked += v.r.outcome == LG_OUTCOME_INCONCLUSIVE;
    if (rep && lg_json_report_add(rep, &v.r, &v.ro) != 0)
        cli_error("out of memory while writing the JSON report");
    cli_verdict_free(&v);
}

/* Judges the descendants of CMD that left a snapshot, counts the Criterion
 * suites, and lists the programs not judged. */
static void judge_tree(const struct cli_opts *o, const struct cli_child *c,
                       lg_filterset_t *filters, lg_json_report_t *rep, struct tally *t)
{
    DIR *d = opendir(c->dir);
    struct dirent *e;
    char path[PATH_MAX + 300];
    struct proc p;
    while (d && (e = readdir(d))) {
        char *dot = strrchr(e->d_name, '.');
        if (!dot || strcmp(dot, ".seen") != 0)
            continue;
        p.pid = atol(e->d_name);
        snprintf(path, sizeof path, "%s/%s", c->dir, e->d_name);
        if (p.pid == (long)c->pid || !read_seen(path, &p))
            continue;
        snprintf(path, sizeof path, "%s/%ld.lgsnap", c->dir, p.pid);
        struct stat st;
        if (cli_links_criterion(p.exe))
            continue; /* its tests are judged by the adapter: D/parts */
        if (stat(path, &st) != 0) {
            note_skipped(t, p.exe);
        } else if (st.st_size == 0) {
            char name[sizeof p.args];
            cli_error("%s (pid %ld) left no exit snapshot (it ended by _exit or a signal): "
                      "no leak verdict",
                      shown(p.args[0] ? p.args : p.exe, name, sizeof name), p.pid);
            t->unchecked++;
        } else {
            judge(o, path, p.args[0] ? p.args : p.exe, filters, rep, t);
        }
    }
    if (d)
        closedir(d);
    /* The Criterion suites' tests, as their workers reported them. */
    d = c->parts[0] ? opendir(c->parts) : NULL;
    char err[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", c->parts, e->d_name);
        lg_json_report_t *one;
        if (lg_json_report_new(&one) != 0)
            continue;
        if (lg_json_report_merge_file(one, path, err, sizeof err) != 0)
            cli_error("%s", err);
        t->tests += (int)lg_json_report_count(one);
        t->leaked += (int)lg_json_report_count_outcome(one, LG_OUTCOME_LEAKED);
        t->unchecked += (int)lg_json_report_count_outcome(one, LG_OUTCOME_INCONCLUSIVE);
        lg_json_report_free(one);
        if (rep && lg_json_report_merge_file(rep, path, err, sizeof err) != 0)
            cli_error("%s", err);
    }
    if (d)
        closedir(d);
}

int cli_run(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_opts_parse(argc, argv, &o);
    if (rc == 1) {
        fputs(run_usage, stdout);
        return 0;
    }
    if (rc)
        return CLI_EUSAGE;
    char lib[PATH_MAX], libs[2 * PATH_MAX + 64];
    lg_filterset_t *filters = cli_load_filters(&o);
    if (!filters || !cli_find_library(lib, sizeof lib)) {
        lg_filterset_free(filters);
        cli_opts_free(&o);
        return CLI_EUSAGE;
    }
    if (cli_links_criterion(o.cmd[0])) {
        lg_filterset_free(filters);
        rc = run_criterion(&o, lib);
        cli_opts_free(&o);
        return rc;
    }
    /* The adapter rides along for Criterion suites deeper in the tree. */
    if (!cli_criterion_preload(lib, libs, sizeof libs))
        snprintf(libs, sizeof libs, "%s", lib);

    lg_json_report_t *rep = NULL;
    if (o.json && lg_json_report_new(&rep) != 0) {
        cli_error("out of memory");
        lg_filterset_free(filters);
        cli_opts_free(&o);
        return CLI_EUSAGE;
    }
    struct cli_child c = {.preload = libs, .out_fd = -1, .snap_wanted = true};
    struct tally t = {0};
    int status = cli_child_start(&o, &c);
    if (status == 0) {
        status = cli_child_wait(&c);
        char seen[PATH_MAX + 64];
        struct proc cmd = {0};
        snprintf(seen, sizeof seen, "%s/%ld.seen", c.dir, (long)c.pid);
        bool traced = read_seen(seen, &cmd);
        bool interp = traced && basename_in(cmd.exe, interpreters);
        bool wrapper = traced && (interp || basename_in(cmd.exe, wrappers)) &&
                       !children_match(&o, cmd.exe);
        char *id = cli_join_cmd(o.cmd), name[PATH_MAX];
        shown(o.cmd[0], name, sizeof name);
        if (!wrapper) {
            if (cli_child_has_snapshot(&c, name))
                judge(&o, c.snap, id ? id : o.cmd[0], filters, rep, &t);
            else
                t.unchecked++;
        }
        free(id);
        judge_tree(&o, &c, filters, rep, &t);
        if (wrapper || t.skipped[0])
            cli_log("leakgate: judged: %d program%s, %d Criterion test%s; not judged: %s%s%s%s\n",
                    t.judged, t.judged == 1 ? "" : "s", t.tests, t.tests == 1 ? "" : "s",
                    wrapper ? name : "", wrapper && t.skipped[0] ? ", " : "", t.skipped,
                    interp ? " (an interpreter: its leftovers at exit are not its script's "
                             "leaks; pytest --leaks judges Python tests)"
                           : " (judge programs with --children=GLOB)");
        if (rep) {
            int jrc = lg_json_report_write(rep, o.json);
            if (jrc)
                cli_error("%s=%s: %s", o.json_name, o.json,
                          jrc == LG_EIO ? strerror(errno) : lg_strerror(jrc));
        }
        if (status == 0 && t.leaked && o.error_exitcode)
            status = (int)o.error_exitcode;
        else if (status == 0 && (t.unchecked || (wrapper && !interp && !t.judged && !t.tests)))
            status = LG_EXIT_NOT_CHECKED;
    }
    cli_child_cleanup(&c);
    lg_json_report_free(rep);
    lg_filterset_free(filters);
    cli_opts_free(&o);
    return status;
}
