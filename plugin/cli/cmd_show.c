/*
 * show.c — `leakgate show FILE` and `leakgate compare OLD NEW`.
 *
 * The "display the top 10" recipes of tracemalloc's documentation, for
 * snapshot files:
 *
 *   prog.lgsnap: 12 traces, traceback limit 16 frames, traced 9.8 KiB
 *   (peak 12 KiB), tracer 80 KiB, RSS 3.1 MiB, 0 lost traces, taken ...
 *   [ Top 10 ]
 *   src/buffer.c:41: size=64 B, count=1, average=64 B
 *   ...
 *   3 other: 96 B
 *   Total allocated size: 9.8 KiB
 *
 * With --key-type traceback each row is followed by its frames.  A file
 * that does not load is one line, "leakgate: FILE: <why> (<detail>)", and
 * exit status 2.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char show_usage[] =
    "usage: leakgate show FILE [options]\n"
    "       leakgate compare OLD NEW [options]\n"
    "\n"
    "Prints the top statistics of a snapshot file (leakgate run --snapshot),\n"
    "or the top differences from OLD to NEW, as tracemalloc's\n"
    "Snapshot.statistics() and Snapshot.compare_to() do.\n"
    "\n"
    "options:\n"
    "  --key-type filename|lineno|traceback   group by (default lineno)\n"
    "  --cumulative        count a block once per frame of its traceback\n"
    "                      (filename and lineno only)\n"
    "  --top N             rows shown, 0 for all (default 10)  LEAKGATE_TOP\n"
    "  -h, --help          show this help\n";

struct show_opts {
    const char *files[2];
    int nfiles;
    lg_key_type_t key;
    bool cumulative;
    int64_t top;
};

/* Returns 0, 1 for --help, or CLI_EUSAGE. */
static int parse(int argc, char **argv, int want, struct show_opts *o)
{
    const char *top = NULL, *key = NULL;
    bool dashdash = false;
    o->key = LG_KEY_LINENO;
    o->top = 10;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (dashdash || a[0] != '-' || a[1] == '\0') {
            if (o->nfiles == want) {
                cli_error("%s: unexpected argument %s (try leakgate %s --help)", argv[0], a,
                          argv[0]);
                return CLI_EUSAGE;
            }
            o->files[o->nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            dashdash = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 1;
        } else if (strcmp(a, "--cumulative") == 0) {
            o->cumulative = true;
        } else if ((r = cli_opt_value(argc, argv, &i, "--key-type", &key)) ||
                   (r = cli_opt_value(argc, argv, &i, "--top", &top))) {
            if (r < 0)
                return CLI_EUSAGE;
        } else {
            cli_error("unknown option %s (try leakgate %s --help)", a, argv[0]);
            return CLI_EUSAGE;
        }
    }
    if (o->nfiles != want) {
        cli_error("%s: expected %s (try leakgate %s --help)", argv[0],
                  want == 1 ? "a snapshot FILE" : "two snapshot files OLD NEW", argv[0]);
        return CLI_EUSAGE;
    }
    if (key && !cli_parse_key_type(key, &o->key))
        return CLI_EUSAGE;
    if (o->cumulative && o->key == LG_KEY_TRACEBACK) {
        cli_error("--cumulative: needs --key-type filename or lineno");
        return CLI_EUSAGE;
    }
    if (!cli_int_setting(top, "--top", "LEAKGATE_TOP", 0, 100000, &o->top))
        return CLI_EUSAGE;
    return 0;
}

static lg_snapshot_t *load(const char *path)
{
    lg_snapshot_t *snap;
    const char *detail = NULL;
    int rc = lg_snapshot_load(path, &snap, &detail);
    if (rc == 0)
        return snap;
    cli_error("%s: %s%s%s%s", path, rc == LG_EIO ? strerror(errno) : lg_strerror(rc),
              detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    return NULL;
}

static const char *size_str(char *buf, size_t len, double size, int sign)
{
    return lg_format_size(buf, len, size, sign);
}

static void print_header(const char *path, const lg_snapshot_t *snap)
{
    const lg_metrics_t *m = lg_snapshot_metrics(snap);
    char cur[32], peak[32], tracer[32], rss[32], when[64] = "unknown";
    time_t t = (time_t)(m->timestamp_ns / 1000000000);
    struct tm tm;
    if (m->timestamp_ns > 0 && gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    size_t n = lg_snapshot_count(snap);
    printf("%s: %zu trace%s, traceback limit %d frames, traced %s (peak %s), "
           "tracer %s, RSS %s, %llu lost traces, taken %s\n",
           path, n, n == 1 ? "" : "s", lg_snapshot_traceback_limit(snap),
           size_str(cur, sizeof cur, (double)m->traced_current, 0),
           size_str(peak, sizeof peak, (double)m->traced_peak, 0),
           size_str(tracer, sizeof tracer, (double)m->tracer_memory, 0),
           size_str(rss, sizeof rss, (double)m->rss, 0), (unsigned long long)m->lost_traces, when);
}

/* Prints the top rows of `stats`; returns 0, or 1 when out of memory. */
static int print_top(const lg_stats_t *stats, const struct show_opts *o, int diff)
{
    size_t n = lg_stats_count(stats);
    size_t top = o->top == 0 || (size_t)o->top > n ? n : (size_t)o->top;
    char buf[32];
    if (diff)
        printf("[ Top %zu differences ]\n", top);
    else
        printf("[ Top %zu ]\n", top);
    for (size_t i = 0; i < top; i++) {
        const lg_stat_t *st = lg_stats_get(stats, i);
        char *line = lg_render_stat(st, diff, NULL);
        char *frames =
            o->key == LG_KEY_TRACEBACK ? lg_render_traceback(&st->traceback, "    ", NULL) : NULL;
        if (!line || (o->key == LG_KEY_TRACEBACK && !frames)) {
            lg_string_free(line);
            lg_string_free(frames);
            cli_error("out of memory");
            return 1;
        }
        printf("%s\n%s", line, frames ? frames : "");
        lg_string_free(line);
        lg_string_free(frames);
    }
    int64_t other_size = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        const lg_stat_t *st = lg_stats_get(stats, i);
        int64_t v = diff ? st->size_diff : (int64_t)st->size;
        total += v;
        if (i >= top)
            other_size += v;
    }
    if (n > top)
        printf("%zu other: %s\n", n - top, size_str(buf, sizeof buf, (double)other_size, diff));
    if (diff)
        printf("Total difference: %s\n", size_str(buf, sizeof buf, (double)total, 1));
    else if (!o->cumulative)
        printf("Total allocated size: %s\n", size_str(buf, sizeof buf, (double)total, 0));
    return 0;
}

static int show_or_compare(int argc, char **argv, int want)
{
    struct show_opts o = {0};
    int rc = parse(argc, argv, want, &o);
    if (rc == 1) {
        fputs(show_usage, stdout);
        return 0;
    }
    if (rc)
        return rc;
    lg_snapshot_t *snaps[2] = {NULL, NULL};
    for (int i = 0; i < want; i++) {
        if (!(snaps[i] = load(o.files[i]))) {
            lg_snapshot_free(snaps[0]);
            return CLI_EUSAGE;
        }
    }
    lg_stats_t *stats;
    rc = want == 1 ? lg_snapshot_statistics(snaps[0], o.key, o.cumulative, &stats)
                   : lg_snapshot_compare(snaps[1], snaps[0], o.key, o.cumulative, &stats);
    if (rc) {
        cli_error("%s: %s", argv[0], lg_strerror(rc));
    } else {
        for (int i = 0; i < want; i++)
            print_header(o.files[i], snaps[i]);
        rc = print_top(stats, &o, want == 2);
        lg_stats_free(stats);
    }
    for (int i = 0; i < want; i++)
        lg_snapshot_free(snaps[i]);
    return rc ? 1 : 0;
}

int cli_show(int argc, char **argv)
{
    return show_or_compare(argc, argv, 1);
}

int cli_compare(int argc, char **argv)
{
    return show_or_compare(argc, argv, 2);
}
