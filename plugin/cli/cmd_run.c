/*
 * run.c — `leakgate run [options] -- CMD...`: the whole-process leak check.
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
 * Exit status: CMD's own when it failed (128+N when killed by signal N) or
 * when it was clean; --error-exitcode (default 23) when it exited 0 and
 * leaked; 127 when CMD could not be run; 2 for usage errors.  Without an
 * exit snapshot (CMD called _exit, is static, ...) there is no verdict: one
 * line says so and the status is CMD's.
 */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char run_usage[] =
    "usage: leakgate run [options] [--] CMD [ARG...]\n"
    "\n"
    "Runs CMD with libleakgate.so preloaded.  What CMD still has allocated\n"
    "when it exits, less the C library's kept-until-exit state and your\n"
    "suppressions, is a leak: leakgate prints where it was allocated and\n"
    "exits with --error-exitcode.  Otherwise the exit status is CMD's.\n"
    "\n"
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

/* ---- the verdict -------------------------------------------------------- */

/* Reports the verdict on CMD's exit snapshot; returns the exit status. */
static int judge(const struct cli_opts *o, const char *snap_path, int status, const char *id,
                 lg_filterset_t *filters)
{
    struct cli_verdict v;
    if (cli_verdict_load(o, snap_path, id, filters, &v) != 0)
        return status;
    char *text = lg_render_failure(&v.r, &v.ro);
    if (text)
        fputs(text, stderr);
    lg_string_free(text);
    bool leaked = v.r.outcome == LG_OUTCOME_LEAKED;
    cli_verdict_free(&v);
    if (status == 0 && leaked && o->error_exitcode)
        return (int)o->error_exitcode;
    return status;
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
    char lib[PATH_MAX];
    lg_filterset_t *filters = cli_load_filters(&o);
    if (!filters)
        return CLI_EUSAGE;
    if (!cli_find_library(lib, sizeof lib)) {
        lg_filterset_free(filters);
        return CLI_EUSAGE;
    }

    if (cli_links_criterion(o.cmd[0])) {
        lg_filterset_free(filters);
        return run_criterion(&o, lib);
    }

    struct cli_child c = {.preload = lib, .out_fd = -1, .snap_wanted = true};
    int status = cli_child_start(&o, &c);
    if (status == 0) {
        status = cli_child_wait(&c);
        char *id = cli_join_cmd(o.cmd);
        if (cli_child_has_snapshot(&c, o.cmd[0]))
            status = judge(&o, c.snap, status, id ? id : o.cmd[0], filters);
        free(id);
    }
    cli_child_cleanup(&c);
    lg_filterset_free(filters);
    return status;
}
