/*
 * cli.h — what the verbs of the `leakgate` command share.
 *
 * Each verb is `int cli_VERB(int argc, char **argv)` with argv[0] the verb,
 * returning the process exit status.  Usage errors print one line
 * "leakgate: ..." (plus a hint) and return CLI_EUSAGE.
 */
#ifndef LG_CLI_H
#define LG_CLI_H

#include <leakgate/gate.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#ifndef LEAKGATE_VERSION
#define LEAKGATE_VERSION "0.1.0"
#endif

#define CLI_EUSAGE 2

int cli_run(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_gate(int argc, char **argv);
int cli_tap(int argc, char **argv);
int cli_suppressions(int argc, char **argv);

/* Prints "leakgate: <message>\n" to leakgate's log: the file --log-file or
 * LEAKGATE_LOG_FILE names, else stderr (lg_log_write). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints leakgate's own output (leak reports, notes) to the same log. */
void cli_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option scanning: recognizes "--name VALUE" and "--name=VALUE" at argv[*i].
 * Returns 1 and sets *value (advancing *i past a separate value) when
 * argv[*i] is option `name`; 0 when it is not; -1 after reporting a
 * missing value. */
int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* False, after one line, when a file option was given an empty name
 * ("--json ''" would otherwise run CMD and fail to write afterwards). */
bool cli_path_given(const char *name, const char *path);

/* The value of a setting: the option's text when given (*name = option),
 * else the environment variable's when set and not empty (*name = var),
 * else NULL. */
const char *cli_setting(const char *opt_text, const char *opt, const char *env, const char **name);

/* Parses an integer setting (option or LEAKGATE_* variable); reports the
 * error and returns false when bad.  Absent settings keep *out. */
bool cli_int_setting(const char *opt_text, const char *opt, const char *env, int64_t lo, int64_t hi,
                     int64_t *out);

/* "--key-type" of show and compare. */
bool cli_parse_key_type(const char *text, lg_key_type_t *out);

/* ---- running CMD under the runtime (child.c): run and tap -------------- */

#define CLI_DEFAULT_ERROR_EXITCODE 23

/* The options `run` and `tap` share, as their --help lists them. */
#define CLI_CHILD_OPTIONS_HELP                                                 \
    "options (each also read from the environment variable shown):\n"          \
    "  --max-size N        leaked bytes allowed (N, N KiB, N MB...; default 0)\n" \
    "                                                   LEAKGATE_MAX_SIZE\n"   \
    "  --max-count N       leaked blocks allowed (default: no count limit)\n"  \
    "                                                   LEAKGATE_MAX_COUNT\n"  \
    "  --leak-kinds LIST   kinds a verdict counts: definite, indirect,\n"   \
    "                      possible, reachable, all (default definite,indirect)\n" \
    "                                                   LEAKGATE_LEAK_KINDS\n" \
    "  --repeat N          run each test once unmeasured, then N times; what it\n" \
    "                      leaves on every run fails it, whatever its kind\n" \
    "                      (Criterion, TAP API; 0 to 100, default 0: off)\n" \
    "                                                   LEAKGATE_REPEAT\n"    \
    "  --frames N          frames per traceback, 1 to 128 (default 16)\n"     \
    "                                                   LEAKGATE_FRAMES\n"     \
    "  --top N             tracebacks shown, 0 for all (default 5)\n"         \
    "                                                   LEAKGATE_TOP\n"        \
    "  --json FILE         write a JSON report (schema leakgate/1)\n"         \
    "                                                   LEAKGATE_JSON\n"       \
    "  --suppressions FILE suppression file (include/exclude lines, leak:PAT)\n" \
    "                                                   LEAKGATE_SUPPRESSIONS\n" \
    "  --no-default-suppressions\n"                                            \
    "                      also report the C library's kept-until-exit state\n" \
    "                                       LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1\n" \
    "  --error-exitcode N  exit status when CMD leaked, 0 to 255 (default 23;\n" \
    "                      0 keeps CMD's status)    LEAKGATE_ERROR_EXITCODE\n" \
    "  --snapshot FILE     keep CMD's exit snapshot in FILE (leakgate show)\n" \
    "                                                   LEAKGATE_SNAPSHOT\n"   \
    "  --log-file PATH     leakgate's own messages and leak reports, appended\n" \
    "                      to PATH instead of stderr (%p: the process id)\n" \
    "                                                   LEAKGATE_LOG_FILE\n"   \
    "  -h, --help          show this help\n"                                   \
    "\n"                                                                       \
    "LEAKGATE_LIBRARY overrides the path of libleakgate.so.\n"

struct cli_opts {
    const char *json, *suppressions, *snapshot;
    const char *json_name, *snapshot_name, *suppressions_name; /* option or variable */
    int64_t frames, top, error_exitcode, no_defaults, repeat;
    lg_limits_t limits;
    unsigned leak_kinds; /* the kinds the whole-process verdict counts */
    char **cmd;
    /* Validated texts passed on to CMD as LEAKGATE_* variables. */
    const char *max_size_text, *max_count_text, *frames_text, *top_text, *leak_kinds_text,
        *repeat_text;
    char suppressions_abs[PATH_MAX];
    char *children; /* run --children globs, '\n'-separated (malloc'd), or NULL */
    /* The session CMD's settings were checked with: its limit rules give a
     * whole process's limits, matched against its id (cli_verdict_load). */
    lg_session_t *settings;
};

/* Parses argv (argv[0] the verb) and the LEAKGATE_* variables, and checks
 * them and that output files can be written.  Returns 0, 1 for --help, or
 * CLI_EUSAGE after reporting.  After 0, the caller frees with
 * cli_opts_free. */
int cli_opts_parse(int argc, char **argv, struct cli_opts *o);
void cli_opts_free(struct cli_opts *o);

/* Default and user suppressions; NULL after reporting.  Caller frees. */
lg_filterset_t *cli_load_filters(const struct cli_opts *o);

/* The absolute path of libleakgate.so: LEAKGATE_LIBRARY, else
 * <dir of this executable>/../lib/libleakgate.so.  False after reporting. */
bool cli_find_library(char *out, size_t len);

/* Whether the program `cmd` names (a path, or a name looked up in PATH)
 * links libcriterion. */
bool cli_links_criterion(const char *cmd);

/* "LIB:<dir of LIB>/libleakgate-criterion.so" into out, the preload of a
 * Criterion suite; false after reporting that the adapter is missing. */
bool cli_criterion_preload(const char *lib, char *out, size_t len);

/* CMD as one string, arguments separated by spaces (malloc'd; NULL when
 * out of memory). */
char *cli_join_cmd(char **cmd);

/* One run of CMD.  The caller sets preload, out_fd, err_fd, keep_fd and
 * snap_wanted (a zero err_fd or keep_fd means none: descriptor 0 is never
 * one of them). */
struct cli_child {
    const char *preload; /* LD_PRELOAD prefix (':'-separated), or NULL */
    int out_fd;          /* CMD's standard output, or -1 to share ours */
    int err_fd;          /* CMD's standard error, or 0 to share ours */
    int keep_fd;         /* a close-on-exec descriptor CMD inherits, or 0 */
    bool snap_wanted;    /* ask CMD for an exit snapshot in a temporary dir */
    char dir[PATH_MAX], snap[PATH_MAX + 32]; /* "" when not wanted */
    char parts[PATH_MAX + 32]; /* the adapters' JSON parts directory, or "" */
    pid_t pid;
    int exec_errno; /* exec failed with it */
    bool waited, signaled;
    int signal, status; /* status: CMD's exit status, 128+N if killed by N */
};

/* Starts CMD; returns once it runs (exec succeeded).  Returns 0, or after
 * reporting CLI_EUSAGE (no temporary directory) or 127 (CMD cannot be run). */
int cli_child_start(const struct cli_opts *o, struct cli_child *c);

/* Waits for CMD; returns its status (c->status). */
int cli_child_wait(struct cli_child *c);

/* Whether CMD left its exit snapshot; says why not when it did not. */
bool cli_child_has_snapshot(const struct cli_child *c, const char *cmd);

/* Removes the snapshot and the temporary directory. */
void cli_child_cleanup(struct cli_child *c);

/* The whole-process verdict on an exit snapshot. */
struct cli_verdict {
    lg_snapshot_t *snap;
    lg_stats_t *leaks;
    lg_result_t r; /* borrows leaks and the id given */
    lg_render_opts_t ro;
};

/* Loads `snap_path`, keeps a copy for --snapshot, applies `filters`, fills
 * *v and writes the --json report (when o->json).  Returns 0; 1 when the
 * snapshot is an interpreter's (its adapter gave the verdicts: nothing is
 * printed); or -1 after reporting that there is no verdict.  Free with
 * cli_verdict_free(). */
int cli_verdict_load(const struct cli_opts *o, const char *snap_path, const char *id,
                     const lg_filterset_t *filters, struct cli_verdict *v);
void cli_verdict_free(struct cli_verdict *v);

#endif /* LG_CLI_H */
