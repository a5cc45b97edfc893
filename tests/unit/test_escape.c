/* Tests of the escaping layer (escape.c), one format at a time, and of the
 * failure text that uses it: nothing a terminal, a Markdown renderer or an
 * XML parser acts on gets through from a test id or a symbol. */
#include "lg_plugin_internal.h"
#include "lgtest.h"

/* The escaping of s by `put`, in a static buffer. */
static const char *esc(void (*put)(lg__sb_t *, const char *), const char *s)
{
    static char out[1024];
    lg__sb_t b = {0};
    put(&b, s);
    char *t = lg__sb_finish(&b);
    snprintf(out, sizeof out, "%s", t ? t : "(oom)");
    lg__xfree(t);
    return out;
}

LGT_TEST(text_shows_what_a_terminal_would_act_on)
{
    ASSERT_STR_EQ(esc(lg__sb_text, "plain é ✓ text"), "plain é ✓ text");
    ASSERT_STR_EQ(esc(lg__sb_text, "a\nb\tc\rd"), "a\\nb\\tc\\rd");
    ASSERT_STR_EQ(esc(lg__sb_text, "\x1b[2J\x07\x7f"), "\\x1b[2J\\x07\\x7f");
    ASSERT_STR_EQ(esc(lg__sb_text, "c1 \xc2\x9b end"), "c1 \\u009b end");     /* CSI */
    ASSERT_STR_EQ(esc(lg__sb_text, "rtl \xe2\x80\xae x"), "rtl \\u202e x");  /* override */
    ASSERT_STR_EQ(esc(lg__sb_text, "\xef\xbf\xbe"), "\\ufffe");              /* non-char */
    ASSERT_STR_EQ(esc(lg__sb_text, "bad \x80\xc0\xaf\xff!"), "bad \\x80\\xc0\\xaf\\xff!");
    ASSERT_STR_EQ(esc(lg__sb_text, "cut \xe2\x80"), "cut \\xe2\\x80");
    ASSERT_EQ(lg__text_len("a\x1b"), 5);
}

LGT_TEST(xml_is_well_formed_whatever_the_bytes)
{
    ASSERT_STR_EQ(esc(lg__sb_xml, "<a href=\"x\">&'</a>"),
                  "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    ASSERT_STR_EQ(esc(lg__sb_xml, "keep\nlines\tand é"), "keep\nlines\tand é");
    ASSERT_STR_EQ(esc(lg__sb_xml, "\x01\x1b\x7f"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ASSERT_STR_EQ(esc(lg__sb_xml, "x\xff\xc0\xafy"), "x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy");
    ASSERT_STR_EQ(esc(lg__sb_xml, "\xef\xbf\xbf"), "\xef\xbf\xbd"); /* U+FFFF */
    ASSERT_STR_EQ(esc(lg__sb_xml_line, "a\n<b>\x1b"), "a\\n&lt;b&gt;\\x1b");
}

LGT_TEST(markdown_code_cannot_be_closed_from_inside)
{
    ASSERT_STR_EQ(esc(lg__sb_md_code, "plain"), "`plain`");
    ASSERT_STR_EQ(esc(lg__sb_md_code, "a|b"), "`a\\|b`");
    ASSERT_STR_EQ(esc(lg__sb_md_code, "x``y"), "```x``y```");
    ASSERT_STR_EQ(esc(lg__sb_md_code, "`edge`"), "`` `edge` ``");
    ASSERT_STR_EQ(esc(lg__sb_md_code, "l1\n## h\n<img>"), "`l1\\n## h\\n<img>`");
    ASSERT_STR_EQ(esc(lg__sb_md_block, "a\n```\nb\n"), "````\na\n```\nb\n````\n");
    ASSERT_STR_EQ(esc(lg__sb_md_block, "no newline"), "```\nno newline\n```\n");
}

LGT_TEST(json_and_yaml_strings_stay_valid)
{
    ASSERT_STR_EQ(esc(lg__sb_json_str, "q\"\\\n\x1b\xff"), "\"q\\\"\\\\\\n\\u001b\xef\xbf\xbd\"");
    ASSERT_STR_EQ(esc(lg__sb_json_str, NULL), "null");
}

LGT_TEST(failure_text_escapes_ids_and_symbols)
{
    lg_frame_t f = {.kind = LG_FRAME_NATIVE,
                    .function = "evil\x1b[2J\nfn",
                    .file = "/src/a\nb.c",
                    .line = 3,
                    .module = "/lib/m\x1b.so",
                    .offset = 16};
    const lg_frame_t *fp = &f;
    lg_traceback_t tb = {1, 1, &fp};
    lg_render_opts_t ro = {.base_dir = ""};
    char *text = lg_render_traceback(&tb, "  ", &ro);
    ASSERT_STR_EQ(text, "  #0 evil\\x1b[2J\\nfn  /src/a\\nb.c:3  (m\\x1b.so+0x10)\n");
    lg_string_free(text);
}

LGT_MAIN()
