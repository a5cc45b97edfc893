/*
 * main.c — the `leakgate` command: verb dispatch, help, version and the
 * option helpers the verbs share.
 *
 *   leakgate run [options] -- CMD...     whole-process leak check (run.c)
 *   leakgate tap [options] -- CMD...     TAP filter adding a leak verdict (tap.c)
 *   leakgate show FILE                   top statistics of a snapshot (show.c)
 *   leakgate compare OLD NEW             top differences (show.c)
 *   leakgate gate [options] REPORT...    CI gate over JSON reports (gate.c)
 *   leakgate suppressions REPORT...      leak: rules accepting their leaks
 *                                        (suppressions.c)
 *
 * Exit status 2 means the command line or a LEAKGATE_* variable was wrong;
 * every such error is one line naming the option or variable and the
 * accepted form.  The binary links libleakgate-core.a, without the malloc
 * hooks: leakgate itself is never traced.
 */
#include "cli.h"
#include "lg_plugin_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: leakgate COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run [options] -- CMD [ARG...]   run CMD under leakgate; fail when memory\n"
    "                                  it allocated is still allocated at exit\n"
    "  tap [options] -- CMD [ARG...]   run the TAP program CMD under leakgate; its\n"
    "                                  TAP plus one test point: the leak verdict\n"
    "  show FILE                       top statistics of a snapshot file\n"
    "  compare OLD NEW                 top differences between two snapshots\n"
    "  gate [options] REPORT.json...   merge JSON reports, compare their leaks\n"
    "                                  with a baseline; fail on new or grown ones\n"
    "  suppressions REPORT.json...     print leak: rules accepting their leaks\n"
    "\n"
    "`leakgate COMMAND --help` lists the options of a command;\n"
    "`leakgate --version` prints the version.\n";

/* One message.  An error line is escaped as text as a whole: it quotes
 * what the user or a program named (CMD, file names, values), and its
 * control characters must not act on the terminal or end the line. */
static void vlog(const char *prefix, const char *fmt, va_list ap, const char *suffix, bool line)
{
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    if (n < 0)
        return;
    lg__sb_t b = {0};
    char *esc = NULL;
    if (line) {
        lg__sb_text(&b, text);
        esc = lg__sb_finish(&b);
    }
    fflush(stdout); /* what came before, first (when both are a terminal) */
    lg_log_write(prefix, strlen(prefix));
    lg_log_write(esc ? esc : text, esc ? strlen(esc) : (size_t)n);
    lg_log_write(suffix, strlen(suffix));
    lg__xfree(esc);
    free(text);
}

void cli_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("", fmt, ap, "", false);
    va_end(ap);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog("leakgate: ", fmt, ap, "\n", true);
    va_end(ap);
}

int cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
    } else if (a[n] != '\0') {
        return 0;
    } else if (*i + 1 >= argc) {
        cli_error("%s: needs a value", name);
        return -1;
    } else {
        *value = argv[++*i];
    }
    return 1;
}

bool cli_path_given(const char *name, const char *path)
{
    if (path && !*path) {
        cli_error("%s: an empty file name (expected the path of a file)", name);
        return false;
    }
    return true;
}

const char *cli_setting(const char *opt_text, const char *opt, const char *env, const char **name)
{
    if (opt_text) {
        *name = opt;
        return opt_text;
    }
    const char *v = env ? getenv(env) : NULL;
    *name = env;
    return v && *v ? v : NULL;
}

bool cli_int_setting(const char *opt_text, const char *opt, const char *env, int64_t lo, int64_t hi,
                     int64_t *out)
{
    const char *name;
    const char *text = cli_setting(opt_text, opt, env, &name);
    char err[256];
    if (text && lg_parse_int_setting(name, text, lo, hi, out, err, sizeof err)) {
        cli_error("%s", err);
        return false;
    }
    return true;
}

bool cli_parse_key_type(const char *text, lg_key_type_t *out)
{
    static const struct {
        const char *name;
        lg_key_type_t key;
    } keys[] = {
        {"filename", LG_KEY_FILENAME}, {"lineno", LG_KEY_LINENO}, {"traceback", LG_KEY_TRACEBACK}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(text, keys[i].name) == 0) {
            *out = keys[i].key;
            return true;
        }
    }
    cli_error("--key-type=%s: expected filename, lineno or traceback", text);
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_EUSAGE;
    }
    const char *verb = argv[1];
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0 || strcmp(verb, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(verb, "--version") == 0) {
        printf("leakgate %s\n", LEAKGATE_VERSION);
        return 0;
    }
    if (strcmp(verb, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(verb, "tap") == 0)
        return cli_tap(argc - 1, argv + 1);
    if (strcmp(verb, "show") == 0)
        return cli_show(argc - 1, argv + 1);
    if (strcmp(verb, "compare") == 0)
        return cli_compare(argc - 1, argv + 1);
    if (strcmp(verb, "gate") == 0)
        return cli_gate(argc - 1, argv + 1);
    if (strcmp(verb, "suppressions") == 0)
        return cli_suppressions(argc - 1, argv + 1);
    if (verb[0] == '-')
        cli_error("unknown option %s (try leakgate --help)", verb);
    else
        cli_error("unknown command '%s' (try leakgate --help)", verb);
    return CLI_EUSAGE;
}
