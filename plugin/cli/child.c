/*
 * child.c — what `leakgate run` and `leakgate tap` share: their options,
 * finding libleakgate.so, running CMD with it preloaded and an exit
 * snapshot asked for, and the whole-process verdict on that snapshot.
 *
 *   cli_opts_parse()        argv and LEAKGATE_* -> struct cli_opts, checked
 *   cli_load_filters()      default and user suppressions
 *   cli_find_library()      the path of libleakgate.so to preload
 *   cli_child_start()       mkdtemp D, fork, exec CMD with LD_PRELOAD,
 *                           LEAKGATE_RUN_SNAPSHOT=D/exit.lgsnap, optionally
 *                           its standard output on a pipe
 *   cli_child_wait()        wait (INT/TERM/HUP/QUIT forwarded), status
 *   cli_verdict_load()      exit snapshot -> leak rows -> lg_result_t
 *   cli_child_cleanup()     rm -r D
 *
 * Errors are one line through cli_error(); the callers choose the exit
 * status (CLI_EUSAGE before CMD runs, 127 when it cannot be run).
 */
#include "cli.h"

#include <dirent.h>
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

/* ---- settings ----------------------------------------------------------- */

struct raw_opts {
    const char *json, *max_size, *max_count, *frames, *top, *suppressions, *error_exitcode,
        *snapshot, *log_file, *leak_kinds, *repeat;
    bool no_defaults;
};

/* Appends a --children glob to o->children ('\n'-separated). */
static bool add_children_glob(struct cli_opts *o, const char *glob)
{
    if (!*glob || strchr(glob, '\n')) {
        cli_error("--children=%s: expected a glob matched against a program's path, "
                  "e.g. '*/tests/test_*'",
                  glob);
        return false;
    }
    size_t have = o->children ? strlen(o->children) + 1 : 0, n = strlen(glob);
    char *s = realloc(o->children, have + n + 1);
    if (!s) {
        cli_error("out of memory");
        return false;
    }
    if (have)
        s[have - 1] = '\n';
    memcpy(s + have, glob, n + 1);
    o->children = s;
    return true;
}

/* Scans argv; returns 0, 1 for --help, or CLI_EUSAGE. */
static int scan_args(int argc, char **argv, struct raw_opts *raw, struct cli_opts *o)
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
        {"--log-file", offsetof(struct raw_opts, log_file)},
        {"--leak-kinds", offsetof(struct raw_opts, leak_kinds)},
        {"--repeat", offsetof(struct raw_opts, repeat)},
    };
    const char *verb = argv[0];
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
        const char *glob;
        int found = strcmp(verb, "run") == 0 ? cli_opt_value(argc, argv, &i, "--children", &glob)
                                              : 0;
        if (found < 0 || (found > 0 && !add_children_glob(o, glob)))
            return CLI_EUSAGE;
        if (found)
            continue;
        for (size_t k = 0; k < sizeof valued / sizeof valued[0] && !found; k++) {
            const char **slot = (const char **)((char *)raw + valued[k].off);
            found = cli_opt_value(argc, argv, &i, valued[k].name, slot);
        }
        if (found < 0)
            return CLI_EUSAGE;
        if (!found) {
            cli_error("unknown option %s (try leakgate %s --help)", a, verb);
            return CLI_EUSAGE;
        }
    }
    if (i >= argc) {
        cli_error("%s: no command given (usage: leakgate %s [options] -- CMD [ARG...])", verb,
                  verb);
        return CLI_EUSAGE;
    }
    o->cmd = argv + i;
    return 0;
}

static bool resolve(const struct raw_opts *raw, struct cli_opts *o)
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
    o->leak_kinds_text = cli_setting(raw->leak_kinds, "--leak-kinds", "LEAKGATE_LEAK_KINDS", &name);
    o->leak_kinds = LG_LEAK_KINDS_DEFAULT;
    if (o->leak_kinds_text &&
        lg_parse_leak_kinds(name, o->leak_kinds_text, &o->leak_kinds, err, sizeof err)) {
        cli_error("%s", err);
        return false;
    }
    o->top_text = cli_setting(raw->top, "--top", "LEAKGATE_TOP", &name);
    o->repeat_text = cli_setting(raw->repeat, "--repeat", "LEAKGATE_REPEAT", &name);
    o->top = LG_TOP_DEFAULT;
    o->error_exitcode = CLI_DEFAULT_ERROR_EXITCODE;
    if (!cli_int_setting(raw->max_count, "--max-count", "LEAKGATE_MAX_COUNT", 0, 1000000000,
                         &o->limits.max_count) ||
        !cli_int_setting(raw->frames, "--frames", "LEAKGATE_FRAMES", 1, LG_FRAMES_MAX,
                         &o->frames) ||
        !cli_int_setting(raw->top, "--top", "LEAKGATE_TOP", 0, 100000, &o->top) ||
        !cli_int_setting(raw->repeat, "--repeat", "LEAKGATE_REPEAT", 0, LG_REPEAT_MAX,
                         &o->repeat) ||
        !cli_int_setting(raw->error_exitcode, "--error-exitcode", "LEAKGATE_ERROR_EXITCODE", 0, 255,
                         &o->error_exitcode) ||
        !cli_int_setting(raw->no_defaults ? "1" : NULL, "--no-default-suppressions",
                         "LEAKGATE_NO_DEFAULT_SUPPRESSIONS", 0, 1, &o->no_defaults))
        return false;
    o->json = cli_setting(raw->json, "--json", "LEAKGATE_JSON", &o->json_name);
    o->snapshot = cli_setting(raw->snapshot, "--snapshot", "LEAKGATE_SNAPSHOT", &o->snapshot_name);
    /* leakgate's own messages, here and in CMD (which inherits the
     * variable), go to the log from now on. */
    const char *log = cli_setting(raw->log_file, "--log-file", "LEAKGATE_LOG_FILE", &name);
    if (log && lg_log_check(name, log, err, sizeof err) != 0) {
        unsetenv("LEAKGATE_LOG_FILE"); /* the error goes to stderr */
        cli_error("%s", err);
        return false;
    }
    /* Absolute, so that a program that changes directory writes the same
     * file. */
    char cwd[PATH_MAX], abs_log[2 * PATH_MAX + 2];
    if (log && log[0] != '/' && strncmp(log, "/dev/", 5) != 0 && getcwd(cwd, sizeof cwd)) {
        snprintf(abs_log, sizeof abs_log, "%s/%s", cwd, log);
        log = abs_log;
    }
    if (log)
        setenv("LEAKGATE_LOG_FILE", log, 1);
    o->suppressions = cli_setting(raw->suppressions, "--suppressions", "LEAKGATE_SUPPRESSIONS",
                                  &o->suppressions_name);
    name = o->suppressions_name;
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

static void set_env(const char *name, const char *value);

/* The settings CMD's processes read themselves, checked now so that a bad
 * one is one line and exit 2 before CMD runs, not a warning in each process
 * or a setting silently read as another: the runtime's (LEAKGATE_UNWIND,
 * LEAKGATE_START), LEAKGATE_LIMITS and the limit lines of the suppressions
 * file, all checked by the test session that reads them in CMD.  Its limit
 * rules stay in o->settings for the whole-process verdicts. */
static bool check_child_settings(struct cli_opts *o)
{
    /* The session reads what CMD will read (it inherits them): the settings
     * as resolved here (an option wins over its variable), the suppressions
     * file under its option's name (exec_child sets the variable). */
    set_env("LEAKGATE_MAX_SIZE", o->max_size_text);
    set_env("LEAKGATE_MAX_COUNT", o->max_count_text);
    set_env("LEAKGATE_FRAMES", o->frames_text);
    set_env("LEAKGATE_LEAK_KINDS", o->leak_kinds_text);
    set_env("LEAKGATE_TOP", o->top_text);
    set_env("LEAKGATE_NO_DEFAULT_SUPPRESSIONS", o->no_defaults ? "1" : NULL);
    set_env("LEAKGATE_REPEAT", o->repeat_text);
    unsetenv("LEAKGATE_SUPPRESSIONS");
    char err[1024];
    int rc = lg_session_new(&o->settings, err, sizeof err);
    if (rc == 0 && o->suppressions)
        rc = lg_session_add_suppressions(o->settings, o->suppressions_name, o->suppressions_abs,
                                         err, sizeof err);
    if (rc)
        cli_error("%s", rc == LG_ENOMEM ? lg_strerror(rc) : err);
    return rc == 0;
}

int cli_opts_parse(int argc, char **argv, struct cli_opts *o)
{
    struct raw_opts raw = {0};
    *o = (struct cli_opts){0};
    int rc = scan_args(argc, argv, &raw, o);
    if (rc)
        return rc;
    if (!resolve(&raw, o) || !cli_path_given(o->json_name, o->json) ||
        !cli_path_given(o->snapshot_name, o->snapshot) ||
        !cli_path_given(o->suppressions_name, o->suppressions) ||
        (o->json && !check_writable(o->json_name, o->json)) ||
        (o->snapshot && !check_writable(o->snapshot_name, o->snapshot)) ||
        !check_child_settings(o)) {
        cli_opts_free(o);
        return CLI_EUSAGE;
    }
    return 0;
}

void cli_opts_free(struct cli_opts *o)
{
    free(o->children);
    lg_session_free(o->settings);
    o->children = NULL;
    o->settings = NULL;
}

lg_filterset_t *cli_load_filters(const struct cli_opts *o)
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

/* ---- the library -------------------------------------------------------- */

/* The absolute path of libleakgate.so: LEAKGATE_LIBRARY, else
 * <dir of this executable>/../lib/libleakgate.so. */
bool cli_find_library(char *out, size_t len)
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

/* ---- Criterion test binaries ------------------------------------------- */

/* Whether the program that `cmd` names (a path, or a name looked up in
 * PATH) has libcriterion among its DT_NEEDED libraries. */
bool cli_links_criterion(const char *cmd)
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

bool cli_criterion_preload(const char *lib, char *out, size_t len)
{
    const char *slash = strrchr(lib, '/');
    snprintf(out, len, "%s:%.*s/libleakgate-criterion.so", lib, (int)(slash - lib), lib);
    if (access(strchr(out, ':') + 1, R_OK) != 0) {
        cli_error("cannot find %s: %s", strchr(out, ':') + 1, strerror(errno));
        return false;
    }
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

/* In the child: environment, signals, standard output, exec.  Writes errno
 * to `errfd` and exits 127 if exec fails. */
static void exec_child(const struct cli_opts *o, const struct cli_child *c, int errfd,
                       const sigset_t *oldmask)
{
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        signal(forwarded[i], SIG_DFL);
    sigprocmask(SIG_SETMASK, oldmask, NULL);
    if ((c->out_fd >= 0 && dup2(c->out_fd, STDOUT_FILENO) < 0) ||
        (c->err_fd > 0 && dup2(c->err_fd, STDERR_FILENO) < 0) ||
        (c->keep_fd > 0 && fcntl(c->keep_fd, F_SETFD, 0) < 0))
        _exit(127);

    const char *lib = c->preload, *old = getenv("LD_PRELOAD");
    size_t n = (lib ? strlen(lib) : 0) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(n);
    char pid[32];
    if (preload && lib) {
        snprintf(preload, n, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
        setenv("LD_PRELOAD", preload, 1);
    }
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    if (c->snap[0]) {
        setenv("LEAKGATE_RUN_SNAPSHOT", c->snap, 1);
        setenv("LEAKGATE_RUN_PID", pid, 1);
        set_env("LEAKGATE_RUN_CHILDREN", o->children);
        if (c->parts[0])
            setenv("LEAKGATE_REPORT_PARTS", c->parts, 1);
        unsetenv("LEAKGATE_REPORT");
    } else {
        set_env("LEAKGATE_REPORT", o->json);
    }
    /* The other settings were set by check_child_settings. */
    set_env("LEAKGATE_SUPPRESSIONS", o->suppressions ? o->suppressions_abs : NULL);

    execvp(o->cmd[0], o->cmd);
    int e = errno;
    ssize_t w = write(errfd, &e, sizeof e);
    (void)w;
    _exit(127);
}

int cli_child_start(const struct cli_opts *o, struct cli_child *c)
{
    c->pid = -1;
    c->exec_errno = 0;
    if (c->snap_wanted) {
        const char *tmp = getenv("TMPDIR");
        snprintf(c->dir, sizeof c->dir, "%s/leakgate-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(c->dir)) {
            cli_error("cannot create a temporary directory %s: %s", c->dir, strerror(errno));
            c->dir[0] = '\0';
            return CLI_EUSAGE;
        }
        snprintf(c->snap, sizeof c->snap, "%s/exit.lgsnap", c->dir);
        snprintf(c->parts, sizeof c->parts, "%s/parts", c->dir);
        if (mkdir(c->parts, 0700) != 0)
            c->parts[0] = '\0';
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        cli_error("pipe: %s", strerror(errno));
        return 127;
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
        exec_child(o, c, pfd[1], &oldmask);
    }
    close(pfd[1]);
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
        close(pfd[0]);
        cli_error("fork: %s", strerror(errno));
        return 127;
    }
    c->pid = child_pid = pid;
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
    if (r == (ssize_t)sizeof e) {
        c->exec_errno = e;
        cli_child_wait(c);
        cli_error("cannot run %s: %s", o->cmd[0], strerror(e));
        return 127;
    }
    return 0;
}

int cli_child_wait(struct cli_child *c)
{
    int ws;
    while (waitpid(c->pid, &ws, 0) < 0) {
        if (errno != EINTR) {
            cli_error("waitpid: %s", strerror(errno));
            child_pid = 0;
            return c->status = 127;
        }
    }
    child_pid = 0;
    c->signaled = WIFSIGNALED(ws);
    c->signal = c->signaled ? WTERMSIG(ws) : 0;
    c->waited = true;
    return c->status = c->signaled ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

bool cli_child_has_snapshot(const struct cli_child *c, const char *cmd)
{
    if (!c->waited || !c->snap[0] || c->exec_errno)
        return false;
    struct stat st;
    if (stat(c->snap, &st) == 0 && st.st_size > 0)
        return true;
    char seen[PATH_MAX + 64];
    snprintf(seen, sizeof seen, "%s/%ld.seen", c->dir, (long)c->pid);
    if (c->signaled)
        cli_error("%s was killed by signal %d (%s): no exit snapshot, no leak verdict", cmd,
                  c->signal, strsignal(c->signal));
    else if (stat(c->snap, &st) == 0 || stat(seen, &st) == 0)
        cli_error("%s left no exit snapshot (it ended by _exit, exec'd a program that does "
                  "not load libleakgate.so, or the snapshot could not be written: see above): "
                  "no leak verdict",
                  cmd);
    else
        cli_error("%s did not load libleakgate.so (statically linked, setuid, or LD_PRELOAD "
                  "dropped): no leak verdict",
                  cmd);
    return false;
}

/* Removes every file in `dir`, then `dir`. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[PATH_MAX + 256];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) != 0 && errno == EISDIR)
            remove_dir(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

void cli_child_cleanup(struct cli_child *c)
{
    if (c->dir[0])
        remove_dir(c->dir);
}

/* ---- the verdict -------------------------------------------------------- */

char *cli_join_cmd(char **cmd)
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

int cli_verdict_load(const struct cli_opts *o, const char *snap_path, const char *id,
                     const lg_filterset_t *filters, struct cli_verdict *v)
{
    const char *detail = NULL;
    *v = (struct cli_verdict){0};
    int rc = lg_snapshot_load(snap_path, &v->snap, &detail);
    if (rc) {
        cli_error("%s: %s%s%s%s; no leak verdict", snap_path,
                  rc == LG_EIO ? strerror(errno) : lg_strerror(rc), detail ? " (" : "",
                  detail ? detail : "", detail ? ")" : "");
        return -1;
    }
    size_t ulen;
    const char *user = lg_snapshot_user_data(v->snap, &ulen);
    if (user && ulen == strlen(LG_EXIT_INTERPRETER) && memcmp(user, LG_EXIT_INTERPRETER, ulen) == 0) {
        /* DESIGN.md: an interpreter's exit-time leftovers are not leaks of
         * the script; its adapter (pytest --leaks) gives the verdicts. */
        lg_snapshot_free(v->snap);
        v->snap = NULL;
        return 1;
    }
    size_t blen = strlen(LG_EXIT_BYPASSED);
    if (user && ulen > blen && memcmp(user, LG_EXIT_BYPASSED, blen) == 0) {
        cli_error("%s: malloc resolved to %.*s, not to libleakgate.so: its allocations were not "
                  "traced, no leak verdict; put libleakgate.so first in LD_PRELOAD",
                  id, (int)(ulen - blen), (const char *)user + blen);
        lg_snapshot_free(v->snap);
        v->snap = NULL;
        return -1;
    }
    /* Written again rather than moved: the file layer's rules for outputs
     * (no copy across file systems that truncates the old file first). */
    if (o->snapshot && (rc = lg_snapshot_dump(v->snap, o->snapshot)) != 0)
        cli_error("%s=%s: %s", o->snapshot_name, o->snapshot,
                  rc == LG_EIO ? strerror(errno) : lg_strerror(rc));
    if (lg_leaks_from_snapshot(v->snap, filters, &v->leaks) != 0) {
        cli_error("out of memory while grouping the leaks; no leak verdict");
        lg_snapshot_free(v->snap);
        v->snap = NULL;
        return -1;
    }
    lg_limits_t limits = o->settings ? lg_session_limits_for(o->settings, id) : o->limits;
    lg_result_init_kinds(&v->r, id, v->leaks, &limits, lg_snapshot_metrics(v->snap)->lost_traces,
                         o->leak_kinds);
    v->ro = (lg_render_opts_t){.top = o->top ? (int)o->top : -1};
    if (o->json) {
        lg_json_report_t *rep;
        char *doc = NULL, err[1024];
        int jrc = lg_json_report_new(&rep);
        if (jrc == 0)
            jrc = lg_json_report_add(rep, &v->r, &v->ro);
        if (jrc == 0)
            jrc = (doc = lg_json_report_string(rep)) ? 0 : LG_ENOMEM;
        if (jrc == 0)
            jrc = lg_file_write(o->json, doc, strlen(doc), err, sizeof err);
        if (jrc)
            cli_error("%s=%s", o->json_name, jrc == LG_EIO ? err : lg_strerror(jrc));
        lg_string_free(doc);
        lg_json_report_free(rep);
    }
    return 0;
}

void cli_verdict_free(struct cli_verdict *v)
{
    lg_stats_free(v->leaks);
    lg_snapshot_free(v->snap);
    *v = (struct cli_verdict){0};
}
