/*
 * tap_yaml.c — a result as a TAP version 13 YAML diagnostic block, the
 * block that follows a leaking test point in TAP output:
 *
 *   not ok 3 - parser::empty_input
 *     ---
 *     message: "leaked 96 B in 2 blocks (limit 0 B)"
 *     severity: fail
 *     data:
 *       ...
 *     ...
 *
 * Entry point: lg_render_tap_yaml().  The block uses only what every TAP
 * consumer's YAML reader accepts (Test::Harness' YAMLish among them): block
 * mappings and sequences, "- key: value" items, integers, `~` for null,
 * and double-quoted strings whose escapes are \\, \" and \xNN.
 */
#include "lg_plugin_internal.h"

#include <stdio.h>

/* Appends s as a double-quoted YAML scalar (JSON's escaping: YAML reads
 * JSON strings), or ~ when s is NULL. */
static void put_str(lg__sb_t *b, const char *s)
{
    if (s)
        lg__sb_json_str(b, s);
    else
        lg__sb_puts(b, "~");
}

static void put_message(lg__sb_t *b, const lg_result_t *r)
{
    lg__sb_t text = {0};
    lg__put_verdict(&text, r);
    char *s = lg__sb_finish(&text);
    if (!s) {
        b->oom = true;
        return;
    }
    put_str(b, s);
    lg__xfree(s);
}

static void put_frames(lg__sb_t *b, const char *indent, const lg_stat_t *st,
                       const lg_render_opts_t *opts)
{
    uint32_t n = lg__shown_frames(&st->traceback, opts);
    if (n == 0) {
        lg__sb_printf(b, "%s      frames: []\n", indent);
        return;
    }
    lg__sb_printf(b, "%s      frames:\n", indent);
    for (uint32_t i = 0; i < n; i++) {
        const lg_frame_t *f = st->traceback.frames[i];
        lg__sb_printf(b, "%s        - function: ", indent);
        put_str(b, f->function);
        lg__sb_printf(b, "\n%s          file: ", indent);
        put_str(b, f->file);
        if (f->line)
            lg__sb_printf(b, "\n%s          line: %u", indent, f->line);
        else
            lg__sb_printf(b, "\n%s          line: ~", indent);
        lg__sb_printf(b, "\n%s          module: ", indent);
        put_str(b, f->module);
        lg__sb_puts(b, "\n");
    }
}

char *lg_render_tap_yaml(const lg_result_t *r, const lg_render_opts_t *opts, const char *indent)
{
    lg__sb_t b = {0};
    if (r->outcome != LG_OUTCOME_LEAKED && r->outcome != LG_OUTCOME_INCONCLUSIVE)
        return lg__sb_finish(&b);
    if (!indent)
        indent = "  ";
    int top = opts && opts->top ? opts->top : LG_TOP_DEFAULT;
    lg__sb_printf(&b, "%s---\n%smessage: ", indent, indent);
    put_message(&b, r);
    lg__sb_printf(&b, "\n%sseverity: %s\n%sdata:\n", indent,
                  r->outcome == LG_OUTCOME_LEAKED ? "fail" : "warn", indent);
    lg__sb_printf(&b, "%s  outcome: %s\n", indent, lg_outcome_name(r->outcome));
    lg__sb_printf(&b, "%s  size_diff: %lld\n%s  count_diff: %lld\n", indent,
                  (long long)r->size_diff, indent, (long long)r->count_diff);
    lg__sb_printf(&b, "%s  limits:\n%s    max_size: %lld\n", indent, indent,
                  (long long)r->limits.max_size);
    if (r->limits.max_count >= 0)
        lg__sb_printf(&b, "%s    max_count: %lld\n", indent, (long long)r->limits.max_count);
    else
        lg__sb_printf(&b, "%s    max_count: ~\n", indent);
    lg__sb_printf(&b, "%s  lost_traces: %llu\n", indent, (unsigned long long)r->lost_traces);
    if (r->runs)
        lg__sb_printf(&b, "%s  runs: %u\n", indent, r->runs);
    size_t n = r->leaks ? lg_stats_count(r->leaks) : 0, shown = 0;
    for (size_t i = 0; i < n && (top < 0 || shown < (size_t)top); i++) {
        const lg_stat_t *st = lg_stats_get(r->leaks, i);
        if (!lg__is_leak_row(st))
            continue;
        if (shown++ == 0)
            lg__sb_printf(&b, "%s  leaks:\n", indent);
        lg__sb_printf(&b, "%s    - size_diff: %lld\n%s      count_diff: %lld\n", indent,
                      (long long)st->size_diff, indent, (long long)st->count_diff);
        lg__sb_printf(&b, "%s      domain: %u\n", indent, st->domain);
        if (st->kind >= 0)
            lg__sb_printf(&b, "%s      kind: %s\n", indent, lg_kind_name(st->kind));
        put_frames(&b, indent, st, opts);
    }
    if (shown == 0)
        lg__sb_printf(&b, "%s  leaks: []\n", indent);
    lg__sb_printf(&b, "%s...\n", indent);
    return lg__sb_finish(&b);
}
