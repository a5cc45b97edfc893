/*
 * report.c — verdicts and the failure text every adapter shows.
 *
 * Entry points: lg_verdict() / lg_result_init() decide an outcome,
 * lg_render_failure() renders DESIGN.md's failure text, lg_render_stat()
 * and lg_render_traceback() the pieces `leakgate show` prints, and
 * lg_leaks_from_snapshot() turns a whole-process snapshot into leak rows.
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
 */
#include "lg_plugin_internal.h"

#include <fnmatch.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- string builder ----------------------------------------------------- */

static bool sb_reserve(lg__sb_t *b, size_t extra)
{
    if (b->oom)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + extra + 1)
        ncap *= 2;
    char *np = lg__xrealloc(b->p, ncap);
    if (!np) {
        b->oom = true;
        return false;
    }
    b->p = np;
    b->cap = ncap;
    return true;
}

void lg__sb_putn(lg__sb_t *b, const char *s, size_t n)
{
    if (!sb_reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void lg__sb_puts(lg__sb_t *b, const char *s)
{
    lg__sb_putn(b, s, strlen(s));
}

void lg__sb_printf(lg__sb_t *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        lg__sb_putn(b, small, (size_t)n);
        return;
    }
    if (!sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void lg__sb_pad(lg__sb_t *b, size_t n)
{
    static const char spaces[] = "                                ";
    while (n > 0) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        lg__sb_putn(b, spaces, k);
        n -= k;
    }
}

char *lg__sb_finish(lg__sb_t *b)
{
    if (!b->oom && !b->p)
        sb_reserve(b, 0);
    char *s = b->oom ? NULL : b->p;
    if (s)
        s[b->len] = '\0';
    else
        lg__xfree(b->p);
    *b = (lg__sb_t){0};
    return s;
}

void lg__sb_release(lg__sb_t *b)
{
    lg__xfree(b->p);
    *b = (lg__sb_t){0};
}

void lg_string_free(char *s)
{
    lg__xfree(s);
}

/* ---- verdicts ----------------------------------------------------------- */

const char *lg_outcome_name(lg_outcome_t outcome)
{
    switch (outcome) {
    case LG_OUTCOME_CLEAN:
        return "clean";
    case LG_OUTCOME_LEAKED:
        return "leaked";
    case LG_OUTCOME_INCONCLUSIVE:
        return "inconclusive";
    case LG_OUTCOME_SKIPPED:
        return "skipped";
    }
    return "unknown";
}

static const lg_limits_t default_limits = LG_LIMITS_INIT;

lg_outcome_t lg_verdict(const lg_limits_t *limits, int64_t size_diff, int64_t count_diff,
                        uint64_t lost_traces)
{
    if (!limits)
        limits = &default_limits;
    if (size_diff > limits->max_size || (limits->max_count >= 0 && count_diff > limits->max_count))
        return LG_OUTCOME_LEAKED;
    return lost_traces ? LG_OUTCOME_INCONCLUSIVE : LG_OUTCOME_CLEAN;
}

void lg_result_init(lg_result_t *r, const char *id, const lg_stats_t *leaks,
                    const lg_limits_t *limits, uint64_t lost_traces)
{
    *r = (lg_result_t){.id = id, .leaks = leaks, .lost_traces = lost_traces};
    r->limits = limits ? *limits : default_limits;
    if (leaks)
        lg_stats_totals(leaks, &r->size_diff, &r->count_diff);
    r->outcome = lg_verdict(&r->limits, r->size_diff, r->count_diff, lost_traces);
}

bool lg__is_leak_row(const lg_stat_t *st)
{
    return st->size_diff > 0 || (st->size_diff == 0 && st->count_diff > 0);
}

/* ---- sizes -------------------------------------------------------------- */

char *lg_format_size(char *buf, size_t len, double size, int sign)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    for (size_t i = 0;; i++) {
        double a = size < 0 ? -size : size;
        if (a < 100 && i > 0) {
            snprintf(buf, len, sign ? "%+.1f %s" : "%.1f %s", size, units[i]);
            return buf;
        }
        if (a < 10 * 1024 || i == 4) {
            snprintf(buf, len, sign ? "%+.0f %s" : "%.0f %s", size, units[i]);
            return buf;
        }
        size /= 1024;
    }
}

/* Formats into a small per-call buffer (the struct is returned by value). */
struct sizestr {
    char s[32];
};

static struct sizestr fmt_size(double size, int sign)
{
    struct sizestr r;
    lg_format_size(r.s, sizeof r.s, size, sign);
    return r;
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
        const char *m = f->module, *slash = m ? strrchr(m, '/') : NULL;
        if (opts->stop_module && m && fnmatch(opts->stop_module, slash ? slash + 1 : m, 0) == 0)
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

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
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
    lg__sb_printf(b, "%sFile \"%s\", line %u\n", indent, short_file(rd, file), f->line);
    char src[256];
    source_line(f->file, f->line, src, sizeof src);
    if (src[0])
        lg__sb_printf(b, "%s  %s\n", indent, src);
}

/* "file:line", "file" or "" for a native frame. */
static void native_location(const struct render *rd, const lg_frame_t *f, char *buf, size_t len)
{
    buf[0] = '\0';
    if (f->file && f->line)
        snprintf(buf, len, "%s:%u", short_file(rd, f->file), f->line);
    else if (f->file)
        snprintf(buf, len, "%s", short_file(rd, f->file));
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
    char loc[PATH_MAX + 16];
    for (uint32_t i = 0; i < nframes; i++) {
        const lg_frame_t *f = tb->frames[i];
        if (f->kind == LG_FRAME_PYTHON)
            continue;
        nnative++;
        size_t n = strlen(f->function ? f->function : "??");
        fw = n > fw ? n : fw;
        native_location(rd, f, loc, sizeof loc);
        n = strlen(loc);
        lw = n > lw ? n : lw;
    }
    int iw = nnative ? digits(nnative - 1) : 1;
    size_t k = 0;
    for (uint32_t i = 0; i < nframes; i++) {
        const lg_frame_t *f = tb->frames[i];
        if (f->kind == LG_FRAME_PYTHON)
            continue;
        const char *fn = f->function ? f->function : "??";
        native_location(rd, f, loc, sizeof loc);
        lg__sb_printf(b, "%s#%-*zu %s", indent, iw, k++, fn);
        if (loc[0] || (f->module && lw)) {
            lg__sb_pad(b, fw - strlen(fn) + 2);
            lg__sb_puts(b, loc);
        }
        if (f->module) {
            lg__sb_pad(b, lw ? lw - strlen(loc) + 2 : fw - strlen(fn) + 2);
            lg__sb_printf(b, "(%s+0x%llx)", basename_of(f->module), (unsigned long long)f->offset);
        }
        lg__sb_puts(b, "\n");
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

static const char *plural(int64_t n)
{
    return n == 1 || n == -1 ? "" : "s";
}

static void put_limits(lg__sb_t *b, const lg_limits_t *l)
{
    if (l->max_count >= 0)
        lg__sb_printf(b, "(limits %s, %lld block%s)", fmt_size((double)l->max_size, 0).s,
                      (long long)l->max_count, plural(l->max_count));
    else
        lg__sb_printf(b, "(limit %s)", fmt_size((double)l->max_size, 0).s);
}

static void put_row(lg__sb_t *b, const struct render *rd, const lg_stat_t *st)
{
    lg__sb_printf(b, "  %s in %lld block%s (%+lld", fmt_size((double)st->size_diff, 0).s,
                  (long long)st->count_diff, plural(st->count_diff), (long long)st->count_diff);
    /* Blocks allocated with this traceback before the test still live. */
    if ((int64_t)st->size != st->size_diff || (int64_t)st->count != st->count_diff)
        lg__sb_printf(b, "; %s in %zu block%s now", fmt_size((double)st->size, 0).s, st->count,
                      plural((int64_t)st->count));
    lg__sb_puts(b, ") allocated at\n");
    put_traceback(b, rd, &st->traceback, "    ");
}

char *lg_render_failure(const lg_result_t *r, const lg_render_opts_t *opts)
{
    struct render rd;
    render_init(&rd, opts);
    lg__sb_t b = {0};
    if (r->outcome == LG_OUTCOME_LEAKED) {
        lg__sb_printf(&b, "leakgate: test %s leaked %s in %lld block%s ", r->id,
                      fmt_size((double)r->size_diff, 0).s, (long long)r->count_diff,
                      plural(r->count_diff));
        put_limits(&b, &r->limits);
        lg__sb_puts(&b, "\n");
    } else if (r->outcome == LG_OUTCOME_INCONCLUSIVE) {
        lg__sb_printf(&b,
                      "leakgate: test %s is inconclusive: the tracer ran out "
                      "of memory and lost %llu trace%s\n",
                      r->id, (unsigned long long)r->lost_traces, plural((int64_t)r->lost_traces));
    } else {
        return lg__sb_finish(&b);
    }
    size_t n = r->leaks ? lg_stats_count(r->leaks) : 0, shown = 0, more = 0;
    int64_t more_size = 0;
    for (size_t i = 0; i < n; i++) {
        const lg_stat_t *st = lg_stats_get(r->leaks, i);
        if (!lg__is_leak_row(st))
            continue;
        if (rd.top < 0 || shown < (size_t)rd.top) {
            put_row(&b, &rd, st);
            shown++;
        } else {
            more++;
            more_size += st->size_diff;
        }
    }
    if (more)
        lg__sb_printf(&b, "  ... and %zu more traceback%s (%s)\n", more, plural((int64_t)more),
                      fmt_size((double)more_size, 0).s);
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
        lg__sb_printf(&b, "%s:%u", f->file ? short_file(&rd, f->file) : "<unknown>", f->line);
    } else {
        lg__sb_puts(&b, f->function ? f->function : "??");
        if (f->module)
            lg__sb_printf(&b, " (%s+0x%llx)", basename_of(f->module),
                          (unsigned long long)f->offset);
    }
    lg__sb_printf(&b, ": size=%s", fmt_size((double)st->size, 0).s);
    if (diff)
        lg__sb_printf(&b, " (%s)", fmt_size((double)st->size_diff, 1).s);
    lg__sb_printf(&b, ", count=%zu", st->count);
    if (diff)
        lg__sb_printf(&b, " (%+lld)", (long long)st->count_diff);
    if (st->count)
        lg__sb_printf(&b, ", average=%s", fmt_size((double)st->size / (double)st->count, 0).s);
    return lg__sb_finish(&b);
}

/* ---- whole-process leaks ------------------------------------------------ */

static int str_cmp(const char *a, const char *b)
{
    if (a == b)
        return 0;
    if (!a || !b)
        return a ? 1 : -1;
    return strcmp(a, b);
}

static int frame_cmp(const lg_frame_t *a, const lg_frame_t *b)
{
    int c;
    if (a == b)
        return 0;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if ((c = str_cmp(a->file, b->file)) != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if ((c = str_cmp(a->function, b->function)) != 0)
        return c;
    if ((c = str_cmp(a->module, b->module)) != 0)
        return c;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return 0;
}

/* Orders traces by (domain, traceback) so equal keys are adjacent. */
static int trace_key_cmp(const void *pa, const void *pb)
{
    const lg_trace_t *a = *(const lg_trace_t *const *)pa;
    const lg_trace_t *b = *(const lg_trace_t *const *)pb;
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    const lg_traceback_t *ta = a->traceback, *tb = b->traceback;
    if (ta == tb)
        return 0;
    if (ta->nframes != tb->nframes)
        return ta->nframes < tb->nframes ? -1 : 1;
    if (ta->total_nframe != tb->total_nframe)
        return ta->total_nframe < tb->total_nframe ? -1 : 1;
    for (uint32_t i = 0; i < ta->nframes; i++) {
        int c = frame_cmp(ta->frames[i], tb->frames[i]);
        if (c)
            return c;
    }
    return 0;
}

int lg_leaks_from_snapshot(const lg_snapshot_t *snap, const lg_filterset_t *filters,
                           lg_stats_t **out)
{
    *out = NULL;
    size_t n = lg_snapshot_count(snap);
    const lg_trace_t **v = lg__xmalloc((n ? n : 1) * sizeof *v);
    lg_stats_t *st = lg__stats_new();
    if (!v || !st) {
        lg__xfree(v);
        lg_stats_free(st);
        return LG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = lg_snapshot_trace(snap, i);
    qsort(v, n, sizeof *v, trace_key_cmp);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i, size = 0;
        for (; j < n && trace_key_cmp(&v[i], &v[j]) == 0; j++)
            size += v[j]->size;
        if (!filters || lg_filterset_match(filters, v[i]->domain, v[i]->traceback))
            rc = lg__stats_add(st, v[i]->traceback, v[i]->domain, size, j - i, (int64_t)size,
                               (int64_t)(j - i));
        i = j;
    }
    lg__xfree(v);
    if (rc) {
        lg_stats_free(st);
        return rc;
    }
    lg__stats_sort(st, 1);
    *out = st;
    return 0;
}
