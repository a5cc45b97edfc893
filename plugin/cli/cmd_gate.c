/*
 * cmd_gate.c — `leakgate gate [options] REPORT.json...`: the CI gate.
 *
 *   read every report (shards of one CI run), merge them
 *   read the baseline of known leaks (--baseline, or leakgate-baseline.json;
 *   the default missing: an empty baseline, and the outputs say so)
 *   classify every leak: new, grown, known, fixed
 *   --update-baseline writes the baseline from these reports, then
 *   classifies again against it (the outputs say "baseline written")
 *   summary on stdout; --markdown, --junit, --html files on request;
 *   annotations of the CI system (--annotations, GITHUB_ACTIONS, GITLAB_CI)
 *
 * Exit status: 0 when no leak is new or grown beyond --tolerance (or the
 * baseline was updated), 1 when the gate fails, 2 for usage and input
 * errors (a corrupt, truncated or foreign report, one line naming the
 * file).  Nothing is written over the baseline without --update-baseline,
 * and then atomically.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BASELINE    "leakgate-baseline.json"
#define DEFAULT_CODEQUALITY "gl-code-quality-report.json"
#define GATE_EFAIL       1

static const char gate_usage[] =
    "usage: leakgate gate [options] REPORT.json...\n"
    "\n"
    "Merges leakgate/1 reports (the shards of one CI run) and compares their\n"
    "leaks with a baseline of known leaks.  Exits 0 when no leak is new or\n"
    "grown beyond the tolerance, 1 when one is, 2 for bad options or input.\n"
    "\n"
    "options:\n"
    "  --baseline FILE     known leaks (default " DEFAULT_BASELINE ";\n"
    "                      a missing default file is an empty baseline)\n"
    "  --update-baseline   write the baseline from these reports, exit 0\n"
    "  --tolerance T       how much a known leak may grow: a size (N, N KiB...)\n"
    "                      or a percentage of its baseline (N%); default 0\n"
    "  --top N             allocation sites shown, 0 for all (default 5)\n"
    "  --markdown FILE     write a Markdown summary (CI job summaries)\n"
    "  --junit FILE        write JUnit XML, one test case per checked test\n"
    "  --html FILE         write a self-contained HTML report\n"
    "  --annotations KIND  new and grown leaks on the lines that allocated them:\n"
    "                      github (workflow commands on stdout), gitlab (a Code\n"
    "                      Quality report file) or none; default github when\n"
    "                      GITHUB_ACTIONS=true, gitlab when GITLAB_CI=true\n"
    "  --annotations-file FILE\n"
    "                      the Code Quality report (default " DEFAULT_CODEQUALITY ")\n"
    "  -q, --quiet         no summary on stdout\n"
    "  -h, --help          show this help\n";

struct gate_opts {
    const char *baseline, *markdown, *junit, *html, *annotations, *annotations_file;
    bool baseline_given, update, quiet;
    lg_gate_opts_t gate;
    char **reports;
    int nreports;
};

static bool parse_tolerance(const char *text, lg_gate_opts_t *o)
{
    size_t n = strlen(text);
    if (n > 1 && text[n - 1] == '%') {
        char *end;
        errno = 0;
        double pct = strtod(text, &end);
        if (end == text + n - 1 && errno == 0 && pct >= 0 && pct <= 1e6) {
            o->tolerance_percent = pct;
            return true;
        }
        cli_error("--tolerance=%s: expected %s, or a percentage N%%", text, LG_SIZE_FORM);
        return false;
    }
    char err[256];
    if (lg_parse_size_setting("--tolerance", text, &o->tolerance_bytes, err, sizeof err)) {
        cli_error("%s, or a percentage N%%", err);
        return false;
    }
    return true;
}

/* --annotations, or what the CI system the gate runs in shows: o->annotations
 * becomes "github", "gitlab" or NULL.  Returns 0 or CLI_EUSAGE. */
static int annotations_kind(struct gate_opts *o)
{
    const char *gh = getenv("GITHUB_ACTIONS"), *gl = getenv("GITLAB_CI");
    if (!o->annotations)
        o->annotations = gh && strcmp(gh, "true") == 0   ? "github"
                         : gl && strcmp(gl, "true") == 0 ? "gitlab"
                                                         : NULL;
    else if (strcmp(o->annotations, "none") == 0)
        o->annotations = NULL;
    else if (strcmp(o->annotations, "github") != 0 && strcmp(o->annotations, "gitlab") != 0) {
        cli_error("--annotations=%s: expected github, gitlab or none", o->annotations);
        return CLI_EUSAGE;
    }
    if (o->annotations_file && (!o->annotations || strcmp(o->annotations, "gitlab") != 0)) {
        cli_error("--annotations-file=%s: only with --annotations gitlab", o->annotations_file);
        return CLI_EUSAGE;
    }
    if (o->annotations && strcmp(o->annotations, "gitlab") == 0 && !o->annotations_file)
        o->annotations_file = DEFAULT_CODEQUALITY;
    return 0;
}

/* Returns 0 when parsed, 1 after --help, CLI_EUSAGE on errors.  Options
 * and reports may come in any order; after "--" everything is a report.
 * o->reports is malloc'd (the caller frees it). */
static int parse_args(int argc, char **argv, struct gate_opts *o)
{
    o->baseline = DEFAULT_BASELINE;
    o->reports = calloc((size_t)argc, sizeof *o->reports);
    if (!o->reports) {
        cli_error("gate: %s", lg_strerror(LG_ENOMEM));
        return CLI_EUSAGE;
    }
    bool only_reports = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        int r;
        if (only_reports || a[0] != '-' || !a[1]) {
            o->reports[o->nreports++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_reports = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(gate_usage, stdout);
            return 1;
        }
        if (strcmp(a, "--update-baseline") == 0) {
            o->update = true;
            continue;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--baseline", &v)) != 0) {
            if (r < 0 || !cli_path_given("--baseline", v))
                return CLI_EUSAGE;
            o->baseline = v;
            o->baseline_given = true;
            continue;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--tolerance", &v)) != 0) {
            if (r < 0 || !parse_tolerance(v, &o->gate))
                return CLI_EUSAGE;
            continue;
        }
        if ((r = cli_opt_value(argc, argv, &i, "--top", &v)) != 0) {
            int64_t top = LG_TOP_DEFAULT;
            if (r < 0 || !cli_int_setting(v, "--top", NULL, 0, 1000000, &top))
                return CLI_EUSAGE;
            o->gate.top = top == 0 ? -1 : (int)top;
            continue;
        }
        const char **file = NULL;
        if ((r = cli_opt_value(argc, argv, &i, "--markdown", &v)) != 0)
            file = &o->markdown;
        else if ((r = cli_opt_value(argc, argv, &i, "--junit", &v)) != 0)
            file = &o->junit;
        else if ((r = cli_opt_value(argc, argv, &i, "--html", &v)) != 0)
            file = &o->html;
        else if ((r = cli_opt_value(argc, argv, &i, "--annotations", &v)) != 0)
            file = &o->annotations;
        else if ((r = cli_opt_value(argc, argv, &i, "--annotations-file", &v)) != 0)
            file = &o->annotations_file;
        if (r < 0)
            return CLI_EUSAGE;
        if (!file) {
            cli_error("gate: unknown option %s (try leakgate gate --help)", a);
            return CLI_EUSAGE;
        }
        if (file != &o->annotations && !cli_path_given(a, v))
            return CLI_EUSAGE;
        *file = v;
    }
    if (o->nreports == 0) {
        cli_error("gate: no report given (usage: leakgate gate [options] REPORT.json...)");
        return CLI_EUSAGE;
    }
    o->gate.baseline = o->baseline;
    return annotations_kind(o);
}

static bool write_output(lg_gate_t *g, lg_gate_format_t format, const char *opt, const char *path)
{
    if (!path)
        return true;
    char *text = lg_gate_render(g, format), err[1024];
    int rc = text ? lg_file_write(path, text, strlen(text), err, sizeof err) : LG_ENOMEM;
    if (rc)
        cli_error("%s=%s", opt, rc == LG_EIO ? err : lg_strerror(rc));
    lg_string_free(text);
    return rc == 0;
}

/* The annotations of the CI system: GitHub's on stdout, GitLab's into
 * their file.  The repository is the CI checkout (GITHUB_WORKSPACE,
 * CI_PROJECT_DIR), else the current directory. */
static bool write_annotations(lg_gate_t *g, const struct gate_opts *o)
{
    if (!o->annotations)
        return true;
    bool github = strcmp(o->annotations, "github") == 0;
    const char *root = getenv(github ? "GITHUB_WORKSPACE" : "CI_PROJECT_DIR");
    char *text = lg_gate_annotations(g, github ? LG_ANNOTATE_GITHUB : LG_ANNOTATE_GITLAB, root);
    char err[1024];
    int rc = text ? 0 : LG_ENOMEM;
    if (text && github) {
        fputs(text, stdout);
        fflush(stdout);
    } else if (text) {
        rc = lg_file_write(o->annotations_file, text, strlen(text), err, sizeof err);
    }
    if (rc)
        cli_error("--annotations%s%s", github ? ": " : "-file=",
                  rc == LG_EIO ? err : lg_strerror(rc));
    lg_string_free(text);
    return rc == 0;
}

/* --update-baseline: writes the baseline these reports make, then compares
 * the reports with it again, so that every output shows the leaks as the
 * known ones they now are.  Returns 0 or CLI_EUSAGE after reporting. */
static int update_baseline(lg_gate_t *g, struct gate_opts *o)
{
    char err[1024];
    char *text = lg_gate_baseline_string(g);
    int rc = text ? lg_file_write(o->baseline, text, strlen(text), err, sizeof err) : LG_ENOMEM;
    if (rc) {
        cli_error("--baseline=%s", rc == LG_EIO ? err : lg_strerror(rc));
    } else {
        o->gate.baseline = o->baseline;
        o->gate.written = 1;
        rc = lg_gate_load_baseline(g, o->baseline, text, strlen(text), err, sizeof err);
        if (rc == 0)
            rc = lg_gate_compare(g, &o->gate, err, sizeof err);
        if (rc)
            cli_error("%s", err);
    }
    lg_string_free(text);
    return rc ? CLI_EUSAGE : 0;
}

int cli_gate(int argc, char **argv)
{
    struct gate_opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc) {
        free(o.reports);
        return rc == 1 ? 0 : rc;
    }

    lg_gate_t *g;
    char err[1024];
    if (lg_gate_new(&g)) {
        cli_error("gate: %s", lg_strerror(LG_ENOMEM));
        free(o.reports);
        return CLI_EUSAGE;
    }
    int status = 0;
    for (int i = 0; i < o.nreports && status == 0; i++) {
        if (lg_gate_add_report_file(g, o.reports[i], err, sizeof err) != 0) {
            cli_error("%s", err);
            status = CLI_EUSAGE;
        }
    }
    if (status == 0) {
        rc = lg_gate_load_baseline_file(g, o.baseline, err, sizeof err);
        if (rc == LG_EIO && errno == ENOENT && (!o.baseline_given || o.update)) {
            /* Day one: no baseline yet, an empty one (the summary says so);
             * a baseline named on the command line must exist. */
            o.gate.baseline = NULL;
            o.gate.absent = o.baseline;
        } else if (rc) {
            cli_error("baseline %s", err);
            status = CLI_EUSAGE;
        }
    }
    if (status == 0 && lg_gate_compare(g, &o.gate, err, sizeof err) != 0) {
        cli_error("%s", err);
        status = CLI_EUSAGE;
    }
    if (status == 0 && o.update)
        status = update_baseline(g, &o);
    if (status == 0 && !o.quiet) {
        char *text = lg_gate_render(g, LG_GATE_TEXT);
        if (text)
            fputs(text, stdout);
        lg_string_free(text);
        fflush(stdout);
    }
    if (status == 0 && (!write_output(g, LG_GATE_MARKDOWN, "--markdown", o.markdown) ||
                        !write_output(g, LG_GATE_JUNIT, "--junit", o.junit) ||
                        !write_output(g, LG_GATE_HTML, "--html", o.html) ||
                        !write_annotations(g, &o)))
        status = CLI_EUSAGE;
    if (status == 0 && o.gate.absent && !o.update)
        cli_log("leakgate: no baseline %s yet: an empty baseline, every leak is new (record one "
                "with --update-baseline)\n",
                o.gate.absent);
    if (status == 0 && o.update) {
        lg_gate_counts_t c;
        lg_gate_counts(g, &c);
        cli_log("leakgate: baseline written: %zu leak%s (%s)\n", c.baseline,
                c.baseline == 1 ? "" : "s", o.baseline);
    } else if (status == 0 && !lg_gate_passed(g)) {
        status = GATE_EFAIL;
    }
    lg_gate_free(g);
    free(o.reports);
    return status;
}
