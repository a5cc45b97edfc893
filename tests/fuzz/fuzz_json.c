/* fuzz_json.c — libFuzzer target for the JSON report and baseline reader
 * (plugin/gate/json_tree.c, gate.c) and everything the gate renders from
 * what it read.
 *
 * The input is read as a report, then as a baseline (over a fixed report);
 * each must be refused with a message, or compared and rendered in every
 * format.  Every output must be valid UTF-8; XML and HTML must hold no
 * control character but newline and tab, the text summary none but
 * newline: the escaping layer's promise.  Anything else traps. */
#include "fuzz.h"
#include "lg_gate_internal.h"

#include <stdlib.h>
#include <string.h>

static const char fixed_report[] =
    "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"t::a\", \"outcome\": \"leaked\", "
    "\"size_diff\": 64, \"count_diff\": 1, \"leaks\": [{\"size_diff\": 64, \"count_diff\": 1, "
    "\"size\": 64, \"count\": 1, \"domain\": 1, \"traceback\": [{\"kind\": \"native\", "
    "\"function\": \"f\", \"file\": \"a.c\", \"line\": 3, \"module\": \"m.so\", \"offset\": 9}]}]}]}";

/* Valid UTF-8 without the control characters `allowed` does not list. */
static void check_text(const char *s, const char *allowed)
{
    CHECK(s != NULL);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p >= 0x80) {
            size_t n = lg__utf8_len(p);
            CHECK(n != 0);
            p += n;
            continue;
        }
        CHECK(*p >= 0x20 || strchr(allowed, *p));
        p++;
    }
}

static void render_all(lg_gate_t *g)
{
    char err[512];
    if (lg_gate_compare(g, NULL, err, sizeof err) != 0) {
        CHECK(err[0]);
        return;
    }
    char *text = lg_gate_render(g, LG_GATE_TEXT);
    char *md = lg_gate_render(g, LG_GATE_MARKDOWN);
    char *xml = lg_gate_render(g, LG_GATE_JUNIT);
    char *html = lg_gate_render(g, LG_GATE_HTML);
    char *base = lg_gate_baseline_string(g);
    check_text(text, "\n");
    check_text(md, "\n");
    check_text(xml, "\n\t");
    check_text(html, "\n\t");
    check_text(base, "\n");
    lg_string_free(text);
    lg_string_free(md);
    lg_string_free(xml);
    lg_string_free(html);
    lg_string_free(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char err[512] = "";
    lg_gate_t *g;

    lg__json_t *doc = (lg__json_t *)&doc;
    int rc = lg__json_parse(text, size, &doc, err, sizeof err);
    CHECK(rc == 0 || rc == LG_EFORMAT || rc == LG_ENOMEM);
    CHECK(rc == 0 ? doc != NULL : doc == NULL && err[0]);
    lg__json_free(rc == 0 ? doc : NULL);

    CHECK(lg_gate_new(&g) == 0);
    rc = lg_gate_add_report(g, "r.json", text, size, err, sizeof err);
    CHECK(rc == 0 || rc == LG_EFORMAT || rc == LG_ENOMEM);
    if (rc == 0)
        render_all(g);
    else
        CHECK(err[0] && !strchr(err, '\n'));
    lg_gate_free(g);

    CHECK(lg_gate_new(&g) == 0);
    CHECK(lg_gate_add_report(g, "r.json", fixed_report, strlen(fixed_report), err, sizeof err) == 0);
    rc = lg_gate_load_baseline(g, "b.json", text, size, err, sizeof err);
    CHECK(rc == 0 || rc == LG_EFORMAT || rc == LG_ENOMEM);
    if (rc == 0)
        render_all(g);
    else
        CHECK(err[0] && !strchr(err, '\n'));
    lg_gate_free(g);
    return 0;
}
