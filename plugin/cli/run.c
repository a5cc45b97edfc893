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

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_ERROR_EXITCODE 23

static const char run_usage[] =
    "usage: leakgate run [options] [--] CMD [ARG...]\n"
    "\n"
    "Runs CMD with libleakgate.so preloaded.  What CMD still has allocated\n"
    "when it exits, less the C library's kept-until-exit state and your\n"
    "suppressions, is a leak: leakgate prints where it was allocated and\n"
    "exits with --error-exitcode.  Otherwise the exit status is CMD's.\n"
    "\n"
    "options (each also read from the environment variable shown):\n"
    "  --max-size N        leaked bytes allowed (N, N KiB, N MB...; default 0)\n"
    "                                                   LEAKGATE_MAX_SIZE\n"
    "  --max-count N       leaked blocks allowed (default: no count limit)\n"
    "                                                   LEAKGATE_MAX_COUNT\n"
    "  --frames N          frames per traceback, 1 to 128 (default 16)\n"
    "                                                   LEAKGATE_FRAMES\n"
    "  --top N             tracebacks shown, 0 for all (default 5)\n"
    "                                                   LEAKGATE_TOP\n"
    "  --json FILE         write a JSON report (schema leakgate/1)\n"
    "                                                   LEAKGATE_JSON\n"
    "  --suppressions FILE suppression file (include/exclude lines, leak:PAT)\n"
    "                                                   LEAKGATE_SUPPRESSIONS\n"
    "  --no-default-suppressions\n"
    "                      also report the C library's kept-until-exit state\n"
    "                                       LEAKGATE_NO_DEFAULT_SUPPRESSIONS=1\n"
    "  --error-exitcode N  exit status when CMD leaked, 0 to 255 (default 23;\n"
    "                      0 keeps CMD's status)    LEAKGATE_ERROR_EXITCODE\n"
    "  --snapshot FILE     keep CMD's exit snapshot in FILE (leakgate show)\n"
    "                                                   LEAKGATE_SNAPSHOT\n"
    "  -h, --help          show this help\n"
    "\n"
    "LEAKGATE_LIBRARY overrides the path of libleakgate.so.\n";

struct run_opts {
    const char *json, *suppressions, *snapshot;
    const char *json_name, *snapshot_name; /* option or variable */
    int64_t frames, top, error_exitcode, no_defaults;
    lg_limits_t limits;
    char **cmd;
    /* Validated texts passed on to CMD as LEAKGATE_* variables. */
    const char *max_size_text, *max_count_text, *frames_text, *top_text;
    char suppressions_abs[PATH_MAX];
};

/* ---- settings ----------------------------------------------------------- */

struct raw_opts {
    const char *json, *max_size, *max_count, *frames, *top, *suppressions, *error_exitcode,
        *snapshot;
    bool no_defaults;
};

/* Scans argv; returns 0, 1 for --help, or CLI_EUSAGE. */
static int scan_args(int argc, char **argv, struct raw_opts *raw, char ***cmd)
{
    static const struct {
        const char *name;
        size_t off;
    } valued[] = {
        {"--json", offsetof(struct raw_opts, json)},
        {"--max-size", offsetof(struct raw_opts, max_size)},
        {"--max-count", offsetof(struct raw_opts, max_count)},
        {"--frames", offsetof(struct raw_opts, frames)},
        {"--top", offsetof(struct raw_opts, top)},
        {"--suppressions", offsetof(struct raw_opts, suppressions)},
        {"--error-exitcode", offsetof(struct raw_opts, error_exitcode)},
        {"--snapshot", offsetof(struct raw_opts, snapshot)},
    };
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--no-default-suppressions") == 0) {
            raw->no_defaults = true;
            continue;
        }
        int found = 0;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !found; k++) {
            const char **slot = (const char **)((char *)raw + valued[k].off);
            found = cli_opt_value(argc, argv, &i, valued[k].name, slot);
        }
        if (found < 0)
            return CLI_EUSAGE;
        if (!found) {
            cli_error("unknown option %s (try leakgate run --help)", a);
            return CLI_EUSAGE;
        }
    }
    if (i >= argc) {
        cli_error("run: no command given (usage: leakgate run [options] -- "
                  "CMD [ARG...])");
        return CLI_EUSAGE;
    }
    *cmd = argv + i;
    return 0;
}

static bool resolve(const struct raw_opts *raw, struct run_opts *o)
{
    const char *name;
    char err[512];

    o->limits = (lg_limits_t)LG_LIMITS_INIT;
    o->max_size_text = cli_setting(raw->max_size, "--max-size", "LEAKGATE_MAX_SIZE", &name);
    if (o->max_size_text &&
        lg_parse_size_setting(name, o->max_size_text, &o->limits.max_size, err, sizeof err)) {
        cli_error("%s", err);
        return false;
    }
    o->max_count_text = cli_setting(raw->max_count, "--max-count", "LEAKGATE_MAX_COUNT", &name);
    o->frames_text = cli_setting(raw->frames, "--frames", "LEAKGATE_FRAMES", &name);
    o->top_text = cli_setting(raw->top, "--top", "LEAKGATE_TOP", &name);
    o->top = LG_TOP_DEFAULT;
    o->error_exitcode = DEFAULT_ERROR_EXITCODE;
    if (!cli_int_setting(raw->max_count, "--max-count", "LEAKGATE_MAX_COUNT", 0, 1000000000,
                         &o->limits.max_count) ||
        !cli_int_setting(raw->frames, "--frames", "LEAKGATE_FRAMES", 1, LG_FRAMES_MAX,
                         &o->frames) ||
        !cli_int_setting(raw->top, "--top", "LEAKGATE_TOP", 0, 100000, &o->top) ||
        !cli_int_setting(raw->error_exitcode, "--error-exitcode", "LEAKGATE_ERROR_EXITCODE", 0, 255,
                         &o->error_exitcode) ||
        !cli_int_setting(raw->no_defaults ? "1" : NULL, "--no-default-suppressions",
                         "LEAKGATE_NO_DEFAULT_SUPPRESSIONS", 0, 1, &o->no_defaults))
        return false;
    o->json = cli_setting(raw->json, "--json", "LEAKGATE_JSON", &o->json_name);
    o->snapshot = cli_setting(raw->snapshot, "--snapshot", "LEAKGATE_SNAPSHOT", &o->snapshot_name);
    o->suppressions =
        cli_setting(raw->suppressions, "--suppressions", "LEAKGATE_SUPPRESSIONS", &name);
    if (o->suppressions && !realpath(o->suppressions, o->suppressions_abs)) {
        cli_error("%s=%s: %s", name, o->suppressions, strerror(errno));
        return false;
    }
    return true;
}

/* Checks now that an output file can be written later, so that a typo
 * fails before CMD runs rather than after.  `name` is the option or the
 * variable the path came from. */
static bool check_writable(const char *name, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + (slash == path)), path);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_error("%s=%s: is a directory", name, path);
        return false;
    }
    if (access(dir, W_OK) != 0) {
        cli_error("%s=%s: cannot write in %s: %s", name, path, dir, strerror(errno));
        return false;
    }
    return true;
}

static lg_filterset_t *load_filters(const struct run_opts *o)
{
    lg_filterset_t *set;
    char err[512];
    if (lg_filterset_new(&set) != 0) {
        cli_error("out of memory");
        return NULL;
    }
    if (!o->no_defaults && lg_filterset_add_defaults(set) != 0) {
        cli_error("cannot load the default suppressions");
        lg_filterset_free(set);
        return NULL;
    }
    if (o->suppressions && lg_filterset_load(set, o->suppressions_abs, err, sizeof err) != 0) {
        cli_error("%s", err);
        lg_filterset_free(set);
        return NULL;
    }
    return set;
}

/* The absolute path of libleakgate.so: LEAKGATE_LIBRARY, else
 * <dir of this executable>/../lib/libleakgate.so. */
static bool find_library(char *out, size_t len)
{
    const char *env = getenv("LEAKGATE_LIBRARY");
    char guess[PATH_MAX + 32];
    if (env && *env) {
        snprintf(guess, sizeof guess, "%s", env);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            cli_error("cannot find libleakgate.so: /proc/self/exe: %s "
                      "(set LEAKGATE_LIBRARY)",
                      strerror(errno));
            return false;
        }
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        *slash = '\0';
        snprintf(guess, sizeof guess, "%s/../lib/libleakgate.so", exe);
    }
    char abs[PATH_MAX];
    if (!realpath(guess, abs) || access(abs, R_OK) != 0) {
        cli_error("cannot find libleakgate.so at %s: %s (set LEAKGATE_LIBRARY)", guess,
                  strerror(errno));
        return false;
    }
    snprintf(out, len, "%s", abs);
    return true;
}

/* ---- the child ---------------------------------------------------------- */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
static volatile pid_t child_pid;

/* Signals sent to leakgate by another process go on to CMD.  Signals from
 * the terminal (si_code SI_KERNEL) already reached CMD, which shares the
 * process group; forwarding them would deliver them twice. */
static void forward(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    if (child_pid > 0 && info->si_code <= 0 && info->si_pid != child_pid)
        kill(child_pid, sig);
}

static void set_env(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
}

/* In the child: environment, signals, exec.  Writes errno to `errfd` and
 * exits 127 if exec fails. */
static void exec_child(const struct run_opts *o, const char *lib, const char *snap, int errfd,
                       const sigset_t *oldmask)
{
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        signal(forwarded[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, oldmask, NULL);

    const char *old = getenv("LD_PRELOAD");
    size_t n = (lib ? strlen(lib) : 0) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(n);
    char pid[32];
    if (preload && lib) {
        snprintf(preload, n, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", preload, 1);
    }
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    if (snap) {
        setenv("LEAKGATE_RUN_SNAPSHOT", snap, 1);
        setenv("LEAKGATE_RUN_PID", pid, 1);
    } else {
        set_env("LEAKGATE_REPORT", o->json);
    }
    set_env("LEAKGATE_MAX_SIZE", o->max_size_text);
    set_env("LEAKGATE_MAX_COUNT", o->max_count_text);
    set_env("LEAKGATE_FRAMES", o->frames_text);
    set_env("LEAKGATE_TOP", o->top_text);
    set_env("LEAKGATE_SUPPRESSIONS", o->suppressions ? o->suppressions_abs : NULL);

    execvp(o->cmd[0], o->cmd);
    int e = errno;
    ssize_t w = write(errfd, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Runs CMD; returns its wait status, or -1 after reporting why it could
 * not run (*exec_errno set when exec itself failed). */
static int spawn_and_wait(const struct run_opts *o, const char *lib, const char *snap,
                          int *exec_errno)
{
    int pfd[2];
    *exec_errno = 0;
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        cli_error("pipe: %s", strerror(errno));
        return -1;
    }
    sigset_t block, oldmask;
    sigemptyset(&block);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &oldmask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        exec_child(o, lib, snap, pfd[1], &oldmask);
    }
    close(pfd[1]);
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
        close(pfd[0]);
        cli_error("fork: %s", strerror(errno));
        return -1;
    }
    child_pid = pid;
    struct sigaction sa = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaction(forwarded[i], &sa, NULL);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);

    int e = 0;
    ssize_t r;
    while ((r = read(pfd[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            cli_error("waitpid: %s", strerror(errno));
            return -1;
        }
    }
    child_pid = 0;
    if (r == (ssize_t)sizeof e) {
        *exec_errno = e;
        return -1;
    }
    return status;
}

/* ---- Criterion test binaries ------------------------------------------- */

/* Whether the program that `cmd` names (a path, or a name looked up in
 * PATH) has libcriterion among its DT_NEEDED libraries. */
static bool links_criterion(const char *cmd)
{
    char path[PATH_MAX];
    const char *p = cmd;
    if (!strchr(cmd, '/')) {
        const char *dirs = getenv("PATH");
        p = NULL;
        for (const char *d = dirs ? dirs : ""; d && *d && !p;
             d = strchr(d, ':') ? strchr(d, ':') + 1 : NULL) {
            int len = (int)strcspn(d, ":");
            snprintf(path, sizeof path, "%.*s/%s", len, d, cmd);
            if (access(path, X_OK) == 0)
                p = path;
        }
        if (!p)
            return false;
    }
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    bool found = false;
    for (Elf_Scn *scn = NULL; elf && !found && (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        Elf_Data *data;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC ||
            !(data = elf_getdata(scn, NULL)))
            continue;
        GElf_Dyn dyn;
        for (int i = 0; !found && gelf_getdyn(data, i, &dyn); i++) {
            const char *name =
                dyn.d_tag == DT_NEEDED ? elf_strptr(elf, sh.sh_link, dyn.d_un.d_val) : NULL;
            found = name && strncmp(name, "libcriterion.so", 15) == 0;
        }
    }
    if (elf)
        elf_end(elf);
    close(fd);
    return found;
}

/* A Criterion suite: every test is judged by itself in its worker
 * (libleakgate-criterion, preloaded beside libleakgate.so); the exit status
 * is the runner's.  Under --debug leakgate stays out of the way. */
static int run_criterion(const struct run_opts *o, const char *lib)
{
    if (o->snapshot) {
        cli_error("%s: %s is a Criterion test binary: its tests are judged one by one, "
                  "there is no exit snapshot",
                  o->snapshot_name, o->cmd[0]);
        return CLI_EUSAGE;
    }
    char libs[2 * PATH_MAX + 64];
    const char *slash = strrchr(lib, '/');
    snprintf(libs, sizeof libs, "%s:%.*s/libleakgate-criterion.so", lib, (int)(slash - lib), lib);
    if (access(strchr(libs, ':') + 1, R_OK) != 0) {
        cli_error("cannot find %s: %s", strchr(libs, ':') + 1, strerror(errno));
        return CLI_EUSAGE;
    }
    bool debug = false;
    for (char **a = o->cmd + 1; *a; a++)
        debug = debug || strncmp(*a, "--debug", 7) == 0;
    if (debug)
        cli_error("--debug: running %s without leak checks", o->cmd[0]);
    int exec_errno;
    int ws = spawn_and_wait(o, debug ? NULL : libs, NULL, &exec_errno);
    if (ws < 0) {
        if (exec_errno)
            cli_error("cannot run %s: %s", o->cmd[0], strerror(exec_errno));
        return 127;
    }
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* ---- the verdict -------------------------------------------------------- */

static char *join_cmd(char **cmd)
{
    size_t n = 1;
    for (char **a = cmd; *a; a++)
        n += strlen(*a) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (char **a = cmd; *a; a++) {
        if (a != cmd)
            strcat(s, " ");
        strcat(s, *a);
    }
    return s;
}

/* Copies file `from` over `to` (--snapshot); returns 0 or -1 with errno. */
static int copy_file(const char *from, const char *to)
{
    if (rename(from, to) == 0)
        return 0;
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char buf[65536];
    ssize_t r = out < 0 ? -1 : 0;
    while (out >= 0 && (r = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)r) != r) {
            r = -1;
            break;
        }
    int saved = errno;
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) != 0 && r == 0) {
        r = -1;
        saved = errno;
    }
    errno = saved;
    return r < 0 ? -1 : 0;
}

/* Loads the exit snapshot and reports; returns the exit status. */
static int judge(const struct run_opts *o, const char *snap_path, int status, const char *id,
                 lg_filterset_t *filters)
{
    lg_snapshot_t *snap;
    const char *detail = NULL;
    int rc = lg_snapshot_load(snap_path, &snap, &detail);
    if (rc) {
        cli_error("%s: %s%s%s%s; no leak verdict", snap_path,
                  rc == LG_EIO ? strerror(errno) : lg_strerror(rc), detail ? " (" : "",
                  detail ? detail : "", detail ? ")" : "");
        return status;
    }
    size_t ulen;
    const char *user = lg_snapshot_user_data(snap, &ulen);
    if (user && ulen == strlen(LG_EXIT_INTERPRETER) && memcmp(user, LG_EXIT_INTERPRETER, ulen) == 0) {
        /* DESIGN.md: an interpreter's exit-time leftovers are not leaks of
         * the script; its adapter (pytest --leaks) gives the verdicts. */
        lg_snapshot_free(snap);
        return status;
    }
    if (o->snapshot && copy_file(snap_path, o->snapshot) != 0)
        cli_error("%s=%s: %s", o->snapshot_name, o->snapshot, strerror(errno));

    lg_stats_t *leaks;
    if (lg_leaks_from_snapshot(snap, filters, &leaks) != 0) {
        cli_error("out of memory while grouping the leaks; no leak verdict");
        lg_snapshot_free(snap);
        return status;
    }
    lg_result_t r;
    lg_result_init(&r, id, leaks, &o->limits, lg_snapshot_metrics(snap)->lost_traces);
    lg_render_opts_t ro = {.top = o->top ? (int)o->top : -1};
    char *text = lg_render_failure(&r, &ro);
    if (text)
        fputs(text, stderr);
    lg_string_free(text);

    if (o->json) {
        lg_json_report_t *rep;
        int jrc = lg_json_report_new(&rep);
        if (jrc == 0)
            jrc = lg_json_report_add(rep, &r, &ro);
        if (jrc == 0)
            jrc = lg_json_report_write(rep, o->json);
        if (jrc)
            cli_error("%s=%s: %s", o->json_name, o->json,
                      jrc == LG_EIO ? strerror(errno) : lg_strerror(jrc));
        lg_json_report_free(rep);
    }
    lg_stats_free(leaks);
    lg_snapshot_free(snap);
    if (status == 0 && r.outcome == LG_OUTCOME_LEAKED && o->error_exitcode)
        return (int)o->error_exitcode;
    return status;
}

int cli_run(int argc, char **argv)
{
    struct raw_opts raw = {0};
    struct run_opts o = {0};
    int rc = scan_args(argc, argv, &raw, &o.cmd);
    if (rc == 1) {
        fputs(run_usage, stdout);
        return 0;
    }
    if (rc || !resolve(&raw, &o))
        return CLI_EUSAGE;
    if ((o.json && !check_writable(o.json_name, o.json)) ||
        (o.snapshot && !check_writable(o.snapshot_name, o.snapshot)))
        return CLI_EUSAGE;
    char lib[PATH_MAX];
    lg_filterset_t *filters = load_filters(&o);
    if (!filters)
        return CLI_EUSAGE;
    if (!find_library(lib, sizeof lib)) {
        lg_filterset_free(filters);
        return CLI_EUSAGE;
    }

    if (links_criterion(o.cmd[0])) {
        lg_filterset_free(filters);
        return run_criterion(&o, lib);
    }

    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], snap[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/leakgate-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        cli_error("cannot create a temporary directory %s: %s", dir, strerror(errno));
        lg_filterset_free(filters);
        return CLI_EUSAGE;
    }
    snprintf(snap, sizeof snap, "%s/exit.lgsnap", dir);

    int exec_errno;
    int ws = spawn_and_wait(&o, lib, snap, &exec_errno);
    int status;
    if (ws < 0) {
        if (exec_errno)
            cli_error("cannot run %s: %s", o.cmd[0], strerror(exec_errno));
        status = 127;
    } else if (WIFSIGNALED(ws)) {
        status = 128 + WTERMSIG(ws);
    } else {
        status = WEXITSTATUS(ws);
    }

    char *id = join_cmd(o.cmd);
    if (ws >= 0 && access(snap, F_OK) != 0) {
        if (WIFSIGNALED(ws))
            cli_error("%s was killed by signal %d (%s): no exit snapshot, no "
                      "leak verdict",
                      o.cmd[0], WTERMSIG(ws), strsignal(WTERMSIG(ws)));
        else
            cli_error("%s left no exit snapshot (it called _exit, is "
                      "statically linked, or did not load libleakgate.so): "
                      "no leak verdict",
                      o.cmd[0]);
    } else if (ws >= 0) {
        status = judge(&o, snap, status, id ? id : o.cmd[0], filters);
    }
    free(id);
    unlink(snap);
    rmdir(dir);
    lg_filterset_free(filters);
    return status;
}
