/*
 * report.c — the failure text every adapter shows.
 *
 * Entry points: lg_render_failure() renders DESIGN.md's failure text,
 * lg_render_stat() and lg_render_traceback() the pieces `leakgate show`
 * prints.  Verdicts are verdict.c's.
 *
 * Rendering happens inside traced processes, so every byte comes from
 * lg__xmalloc (never traced) and source lines are read with read(2) into a
 * stack buffer.  Sizes read as tracemalloc's _format_size, rows of stats
 * are shown in their given order (biggest first), frames of a traceback as:
 *
 *     File "tests/test_x.py", line 3           Python, oldest first
 *       x = make()                             (source line, if readable)
 *     #0 buffer_new   src/buffer.c:41  (libparse.so+0x1a2b)
 *     #1 parser_init  src/parser.c:88          native, most recent first
 *
 * Test ids, function, file and module names and source lines are escaped
 * as text (escape.c): a name holding a newline or an escape sequence shows
 * as \n or \x1b, never acts on the terminal or adds a line.
 */
#include "lg_plugin_internal.h"

#include <fnmatch.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lg_string_free(char *s)
{
    lg__xfree(s);
}

/* ---- sizes -------------------------------------------------------------- */

char *lg_format_size(char *buf, size_t len, double size, int sign)
{
    snprintf(buf, len, "%s", lg__size_text(size, sign != 0).s);
    return buf;
}

/* ---- frames ------------------------------------------------------------- */

/* Whether `text` matches one of the ':'-separated fnmatch patterns. */
static bool matches_any(const char *patterns, const char *text)
{
    char one[PATH_MAX];
    for (const char *p = patterns; *p;) {
        size_t n = strcspn(p, ":");
        if (n < sizeof one) {
            memcpy(one, p, n);
            one[n] = '\0';
            if (fnmatch(one, text, 0) == 0)
                return true;
        }
        p += n + (p[n] == ':');
    }
    return false;
}

uint32_t lg__shown_frames(const lg_traceback_t *tb, const lg_render_opts_t *opts)
{
    if (!opts || (!opts->stop_module && !opts->stop_file))
        return tb->nframes;
    for (uint32_t i = 1; i < tb->nframes; i++) {
        const lg_frame_t *f = tb->frames[i];
        if (f->kind == LG_FRAME_PYTHON) {
            if (opts->stop_file && f->file && matches_any(opts->stop_file, f->file))
                return i;
            continue;
        }
        const char *m = f->module;
        if (opts->stop_module && m && fnmatch(opts->stop_module, lg__basename(m), 0) == 0)
            return i;
    }
    return tb->nframes;
}

struct render {
    int top;
    lg_render_opts_t opts;
    const char *base; /* NULL: show files as given */
    char cwd[PATH_MAX];
};

static void render_init(struct render *rd, const lg_render_opts_t *o)
{
    rd->top = o && o->top ? o->top : LG_TOP_DEFAULT;
    rd->opts = o ? *o : (lg_render_opts_t){0};
    rd->base = NULL;
    if (o && o->base_dir) {
        if (*o->base_dir)
            rd->base = o->base_dir;
    } else if (getcwd(rd->cwd, sizeof rd->cwd)) {
        rd->base = rd->cwd;
    }
}

/* `file` relative to the base directory when it lies under it. */
static const char *short_file(const struct render *rd, const char *file)
{
    if (!file || !rd->base)
        return file;
    size_t n = strlen(rd->base);
    while (n > 1 && rd->base[n - 1] == '/')
        n--;
    if (n > 1 && strncmp(file, rd->base, n) == 0 && file[n] == '/' && file[n + 1])
        return file + n + 1;
    return file;
}

/* Reads line `line` of `path` (stripped) into buf; "" when unreadable. */
static void source_line(const char *path, unsigned line, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!path || line == 0 || len < 2)
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char chunk[4096];
    unsigned cur = 1;
    size_t out = 0;
    ssize_t n;
    while (cur <= line && (n = read(fd, chunk, sizeof chunk)) > 0) {
        for (ssize_t i = 0; i < n && cur <= line; i++) {
            if (chunk[i] == '\n')
                cur++;
            else if (cur == line && out < len - 1)
                buf[out++] = chunk[i];
        }
    }
    close(fd);
    buf[out] = '\0';
    size_t s = strspn(buf, " \t\r\f\v");
    memmove(buf, buf + s, out - s + 1);
    for (out -= s; out > 0 && strchr(" \t\r\f\v", buf[out - 1]); out--)
        buf[out - 1] = '\0';
}

static void put_python_frame(lg__sb_t *b, const struct render *rd, const lg_frame_t *f,
                             const char *indent)
{
    const char *file = f->file ? f->file : "<unknown>";
    lg__sb_printf(b, "%sFile \"", indent);
    lg__sb_text(b, short_file(rd, file));
    lg__sb_printf(b, "\", line %u\n", f->line);
    char src[256];
    source_line(f->file, f->line, src, sizeof src);
    if (src[0]) {
        lg__sb_printf(b, "%s  ", indent);
        lg__sb_text(b, src);
        lg__sb_puts(b, "\n");
    }
}

/* "file:line", "file" or "" for a native frame, escaped as text
 * (lg__xmalloc'd; NULL when out of memory). */
static char *native_location(const struct render *rd, const lg_frame_t *f)
{
    lg__sb_t b = {0};
    if (f->file) {
        lg__sb_text(&b, short_file(rd, f->file));
        if (f->line)
            lg__sb_printf(&b, ":%u", f->line);
    }
    return lg__sb_finish(&b);
}

static int digits(size_t n)
{
    int d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

static void put_traceback(lg__sb_t *b, const struct render *rd, const lg_traceback_t *tb,
                          const char *indent)
{
    uint32_t nframes = lg__shown_frames(tb, &rd->opts);
    /* Python frames first, oldest first, as Traceback.format(). */
    for (uint32_t i = nframes; i-- > 0;)
        if (tb->frames[i]->kind == LG_FRAME_PYTHON)
            put_python_frame(b, rd, tb->frames[i], indent);

    /* Native frames: measure the columns, then print them aligned. */
    size_t nnative = 0, fw = 0, lw = 0;
    for (uint32_t i = 0; i < nframes; i++) {
        const lg_frame_t *f = tb->frames[i];
        if (f->kind == LG_FRAME_PYTHON)
            continue;
        nnative++;
        size_t n = f->function ? lg__text_len(f->function) : 2;
        fw = n > fw ? n : fw;
        char *loc = native_location(rd, f);
        n = loc ? strlen(loc) : 0;
        lw = n > lw ? n : lw;
        lg__xfree(loc);
    }
    int iw = nnative ? digits(nnative - 1) : 1;
    size_t k = 0;
    for (uint32_t i = 0; i < nframes; i++) {
        const lg_frame_t *f = tb->frames[i];
        if (f->kind == LG_FRAME_PYTHON)
            continue;
        char *loc = native_location(rd, f);
        if (!loc) {
            b->oom = true;
            return;
        }
        size_t fn = f->function ? lg__text_len(f->function) : 2;
        lg__sb_printf(b, "%s#%-*zu ", indent, iw, k++);
        lg__sb_text(b, f->function ? f->function : "??");
        size_t ln = strlen(loc);
        if (loc[0] || (f->module && lw)) {
            lg__sb_pad(b, fw > fn ? fw - fn + 2 : 2);
            lg__sb_puts(b, loc);
        }
        if (f->module) {
            lg__sb_pad(b, lw ? (lw > ln ? lw - ln : 0) + 2 : (fw > fn ? fw - fn : 0) + 2);
            lg__sb_puts(b, "(");
            lg__sb_text(b, lg__basename(f->module));
            lg__sb_printf(b, "+0x%llx)", (unsigned long long)f->offset);
        }
        lg__sb_puts(b, "\n");
        lg__xfree(loc);
    }
}

char *lg_render_traceback(const lg_traceback_t *tb, const char *indent,
                          const lg_render_opts_t *opts)
{
    struct render rd;
    render_init(&rd, opts);
    lg__sb_t b = {0};
    put_traceback(&b, &rd, tb, indent ? indent : "");
    return lg__sb_finish(&b);
}

/* ---- failure text ------------------------------------------------------- */

void lg__put_verdict(lg__sb_t *b, const lg_result_t *r)
{
    const lg_limits_t *l = &r->limits;
    if (r->outcome == LG_OUTCOME_INCONCLUSIVE) {
        lg__sb_printf(b, "inconclusive: the tracer ran out of memory and lost %llu trace%s",
                      (unsigned long long)r->lost_traces,
                      lg__plural((int64_t)r->lost_traces, "", "s"));
        return;
    }
    if (r->outcome == LG_OUTCOME_CRASHED) {
        lg__sb_printf(b, "%s: no leak verdict", r->note ? r->note : "crashed");
        return;
    }
    /* Lost traces: what was seen is a lower bound. */
    lg__sb_printf(b, "leaked %s%s in %lld block%s ", r->lost_traces ? "at least " : "",
                  lg__size_text((double)r->size_diff, false).s, (long long)r->count_diff,
                  lg__plural(r->count_diff, "", "s"));
    if (l->max_count >= 0)
        lg__sb_printf(b, "(limits %s, %lld block%s)", lg__size_text((double)l->max_size, false).s,
                      (long long)l->max_count, lg__plural(l->max_count, "", "s"));
    else
        lg__sb_printf(b, "(limit %s)", lg__size_text((double)l->max_size, false).s);
    if (r->lost_traces)
        lg__sb_printf(b, "; %llu trace%s lost (the tracer ran out of memory)",
                      (unsigned long long)r->lost_traces,
                      lg__plural((int64_t)r->lost_traces, "", "s"));
}

static void put_row(lg__sb_t *b, const struct render *rd, const lg_stat_t *st)
{
    lg__sb_printf(b, "  %s in %lld block%s (%+lld", lg__size_text((double)st->size_diff, false).s,
                  (long long)st->count_diff, lg__plural(st->count_diff, "", "s"),
                  (long long)st->count_diff);
    /* Blocks allocated with this traceback before the test still live. */
    if ((int64_t)st->size != st->size_diff || (int64_t)st->count != st->count_diff)
        lg__sb_printf(b, "; %s in %zu block%s now", lg__size_text((double)st->size, false).s,
                      st->count, lg__plural((int64_t)st->count, "", "s"));
    lg__sb_puts(b, ") allocated at\n");
    put_traceback(b, rd, &st->traceback, "    ");
}

const char *lg__kind_words(int kind)
{
    static const char *const words[LG_KINDS] = {"definitely lost", "indirectly lost",
                                                 "possibly lost", "still reachable"};
    return kind >= 0 && kind < LG_KINDS ? words[kind] : "without a kind";
}

/* Why a kind that is not counted is shown. */
static const char *kind_note(int kind)
{
    return kind == LG_KIND_REACHABLE ? "library state, or a logical leak: see --repeat"
           : kind == LG_KIND_POSSIBLE ? "only a pointer into its middle reaches it"
                                      : "not counted";
}

/* The leftover of kind `want` (-1: rows of no kind) in *size and *count;
 * returns whether the verdict counts it. */
static bool kind_total(const lg_result_t *r, int want, int64_t *size, int64_t *count)
{
    bool counted = false;
    *size = *count = 0;
    for (size_t i = 0, n = r->leaks ? lg_stats_count(r->leaks) : 0; i < n; i++) {
        const lg_stat_t *st = lg_stats_get(r->leaks, i);
        if (st->kind == want && lg__is_leak_row(st)) {
            *size += st->size_diff;
            *count += st->count_diff;
            counted |= lg_row_counts(st, r->leak_kinds);
        }
    }
    return counted;
}

/* "still reachable: 216 B in 1 block (library state, ...)" */
static void put_kind_note(lg__sb_t *b, int kind, int64_t size, int64_t count)
{
    lg__sb_printf(b, "%s: %s in %lld block%s (%s)", lg__kind_words(kind),
                  lg__size_text((double)size, false).s, (long long)count,
                  lg__plural(count, "", "s"), kind_note(kind));
}

char *lg_render_notes(const lg_result_t *r)
{
    lg__sb_t b = {0};
    int shown = 0;
    for (int kind = 0; r->outcome == LG_OUTCOME_CLEAN && kind < LG_KINDS; kind++) {
        int64_t size, count;
        if (kind_total(r, kind, &size, &count) || (!size && !count))
            continue;
        if (!shown++) {
            lg__sb_puts(&b, "leakgate: test ");
            lg__sb_text(&b, r->id);
            if (r->has_param)
                lg__sb_printf(&b, "[%u]", r->param);
            lg__sb_puts(&b, " passed; note: ");
        } else {
            lg__sb_puts(&b, "; ");
        }
        put_kind_note(&b, kind, size, count);
    }
    if (shown)
        lg__sb_puts(&b, "\n");
    return lg__sb_finish(&b);
}

char *lg_render_failure(const lg_result_t *r, const lg_render_opts_t *opts)
{
    struct render rd;
    render_init(&rd, opts);
    lg__sb_t b = {0};
    if (r->outcome != LG_OUTCOME_LEAKED && r->outcome != LG_OUTCOME_INCONCLUSIVE &&
        r->outcome != LG_OUTCOME_CRASHED)
        return lg__sb_finish(&b);
    lg__sb_puts(&b, "leakgate: test ");
    lg__sb_text(&b, r->id);
    if (r->has_param) /* an instance of a parameterized test */
        lg__sb_printf(&b, "[%u]", r->param);
    lg__sb_puts(&b, r->outcome == LG_OUTCOME_INCONCLUSIVE ? " is " : " ");
    lg__put_verdict(&b, r);
    lg__sb_puts(&b, "\n");
    if (r->outcome == LG_OUTCOME_CRASHED)
        return lg__sb_finish(&b);
    size_t n = r->leaks ? lg_stats_count(r->leaks) : 0, shown = 0, more = 0;
    int64_t more_size = 0;
    bool kinds = false;
    for (size_t i = 0; i < n; i++)
        kinds |= lg_stats_get(r->leaks, i)->kind >= 0;
    /* Rows grouped by kind, worst first, as memcheck's loss records; rows
     * of no kind (no scan) last.  Kinds the verdict does not count are a
     * note each. */
    for (int kind = kinds ? 0 : -1; kind <= (kinds ? LG_KINDS : -1); kind++) {
        int want = kind == LG_KINDS ? -1 : kind;
        int64_t size, count;
        bool counted = kind_total(r, want, &size, &count);
        if (!size && !count)
            continue;
        if (kinds && !counted) {
            lg__sb_puts(&b, "  note: ");
            put_kind_note(&b, want, size, count);
            lg__sb_puts(&b, "\n");
            continue;
        }
        if (kinds)
            lg__sb_printf(&b, "  %s: %s in %lld block%s\n", lg__kind_words(want),
                          lg__size_text((double)size, false).s, (long long)count,
                          lg__plural(count, "", "s"));
        for (size_t i = 0; i < n; i++) {
            const lg_stat_t *st = lg_stats_get(r->leaks, i);
            if (st->kind != want || !lg__is_leak_row(st))
                continue;
            if (rd.top < 0 || shown < (size_t)rd.top) {
                put_row(&b, &rd, st);
                shown++;
            } else {
                more++;
                more_size += st->size_diff;
            }
        }
    }
    if (more)
        lg__sb_printf(&b, "  ... and %zu more traceback%s (%s)\n", more,
                      lg__plural((int64_t)more, "", "s"),
                      lg__size_text((double)more_size, false).s);
    if (r->runs)
        lg__sb_printf(&b,
                      "  measured: bytes allocated by the test and still allocated after it, "
                      "in %s%u measured run%s, after 1 unmeasured run\n",
                      r->runs > 1 ? "each of " : "", r->runs, lg__plural(r->runs, "", "s"));
    return lg__sb_finish(&b);
}

/* ---- statistics lines --------------------------------------------------- */

char *lg_render_stat(const lg_stat_t *st, int diff, const lg_render_opts_t *opts)
{
    struct render rd;
    render_init(&rd, opts);
    lg__sb_t b = {0};
    const lg_frame_t *f = st->traceback.nframes ? st->traceback.frames[0] : NULL;
    if (!f) {
        lg__sb_puts(&b, "<unknown>:0");
    } else if (f->file || f->kind == LG_FRAME_PYTHON) {
        lg__sb_text(&b, f->file ? short_file(&rd, f->file) : "<unknown>");
        lg__sb_printf(&b, ":%u", f->line);
    } else {
        lg__sb_text(&b, f->function ? f->function : "??");
        if (f->module) {
            lg__sb_puts(&b, " (");
            lg__sb_text(&b, lg__basename(f->module));
            lg__sb_printf(&b, "+0x%llx)", (unsigned long long)f->offset);
        }
    }
    lg__sb_printf(&b, ": size=%s", lg__size_text((double)st->size, false).s);
    if (diff)
        lg__sb_printf(&b, " (%s)", lg__size_text((double)st->size_diff, true).s);
    lg__sb_printf(&b, ", count=%zu", st->count);
    if (diff)
        lg__sb_printf(&b, " (%+lld)", (long long)st->count_diff);
    if (st->count)
        lg__sb_printf(&b, ", average=%s",
                      lg__size_text((double)st->size / (double)st->count, false).s);
    return lg__sb_finish(&b);
}
