/*
 * suppressions.c — `leakgate suppressions REPORT.json...`: a suppression
 * file that accepts the leaks of these reports, and `--from-valgrind FILE`:
 * valgrind's suppression blocks as leak: rules.  The file goes to stdout:
 *
 *   leakgate run --json run.json -- ./tests
 *   leakgate suppressions run.json > leakgate.supp   (review, keep)
 *   leakgate run --suppressions leakgate.supp -- ./tests     (clean)
 *
 * Exit status 0, or 2 for usage and input errors (one line naming the
 * file).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char suppressions_usage[] =
    "usage: leakgate suppressions REPORT.json...\n"
    "       leakgate suppressions --from-valgrind FILE\n"
    "\n"
    "Prints a suppression file accepting every leak of the leakgate/1\n"
    "reports: one leak:^FUNCTION$ rule per allocation site, after comments\n"
    "naming the test, the size and the traceback.  Review it, keep what you\n"
    "accept, and pass it to --suppressions (or LEAKGATE_SUPPRESSIONS).\n"
    "\n"
    "options:\n"
    "  --from-valgrind FILE  convert valgrind's {...} suppression blocks\n"
    "                        (Memcheck:Leak) into leak: rules instead\n"
    "  -h, --help            show this help\n";

static int from_valgrind(const char *path)
{
    char *out, err[1024];
    if (lg_suppressions_from_valgrind(path, &out, err, sizeof err) != 0) {
        cli_error("--from-valgrind=%s", err);
        return CLI_EUSAGE;
    }
    fputs(out, stdout);
    lg_string_free(out);
    return 0;
}

/* The leak: rules of the reports. */
static int from_reports(char **reports, int n)
{
    lg_gate_t *g;
    char err[1024];
    if (lg_gate_new(&g) != 0) {
        cli_error("out of memory");
        return CLI_EUSAGE;
    }
    int rc = 0;
    for (int k = 0; k < n && rc == 0; k++)
        rc = lg_gate_add_report_file(g, reports[k], err, sizeof err);
    if (rc == 0)
        rc = lg_gate_compare(g, NULL, err, sizeof err);
    char *text = rc ? NULL : lg_gate_suppressions(g);
    if (rc || !text) {
        cli_error("%s", rc ? err : "out of memory");
        lg_gate_free(g);
        return CLI_EUSAGE;
    }
    fputs(text, stdout);
    lg_string_free(text);
    lg_gate_free(g);
    return 0;
}

int cli_suppressions(int argc, char **argv)
{
    const char *valgrind = NULL;
    char **reports = calloc((size_t)argc, sizeof *reports);
    int n = 0, rc = 0;
    if (!reports) {
        cli_error("out of memory");
        return CLI_EUSAGE;
    }
    bool options = true;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        int found = 0;
        if (!options || a[0] != '-' || !a[1]) {
            reports[n++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options = false;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(suppressions_usage, stdout);
            free(reports);
            return 0;
        } else if ((found = cli_opt_value(argc, argv, &i, "--from-valgrind", &valgrind)) == 0) {
            cli_error("unknown option %s (try leakgate suppressions --help)", a);
            rc = CLI_EUSAGE;
        } else if (found < 0) {
            rc = CLI_EUSAGE;
        }
    }
    if (rc == 0 && valgrind && n) {
        cli_error("suppressions: --from-valgrind takes no report (%s)", reports[0]);
        rc = CLI_EUSAGE;
    } else if (rc == 0 && !valgrind && !n) {
        cli_error("suppressions: no report given (usage: leakgate suppressions REPORT.json...)");
        rc = CLI_EUSAGE;
    }
    if (rc == 0)
        rc = valgrind ? from_valgrind(valgrind) : from_reports(reports, n);
    free(reports);
    return rc;
}
