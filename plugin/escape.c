/*
 * escape.c — one escaping layer per output format, applied to every string
 * that comes from a report, a test id or a symbol: function, file and
 * module names are whatever a program's binaries, its test runner or a
 * report file say, and a terminal, a Markdown renderer or an XML parser
 * must not take them for anything but text.
 *
 *   lg__sb_text      terminal and plain text: control characters, DEL, C1
 *                    controls, bidirectional overrides, non-characters and
 *                    invalid UTF-8 are shown escaped (\n, \x1b, \u202e,
 *                    \xff), so a field is one line a terminal does not act on
 *   lg__sb_xml       XML and HTML text and attribute values: entities;
 *                    invalid UTF-8 and what XML 1.0 forbids become U+FFFD;
 *                    newlines and tabs stay (multi-line bodies)
 *   lg__sb_xml_line  a single-line field in XML or HTML: text, then XML
 *   lg__sb_md_code   Markdown inline code in a table cell: text, then a
 *                    fence longer than any run of backticks, '|' escaped
 *   lg__sb_md_block  a fenced Markdown code block of text lines: the fence
 *                    is longer than any run of backticks inside
 *   lg__sb_json_str  JSON string literals (also TAP's YAML, a superset)
 *
 * Markdown outside code is never given an untrusted string: headings,
 * HTML and emphasis can only come from leakgate's own words.
 */
#include "lg_plugin_internal.h"

#include <stdio.h>
#include <string.h>

size_t lg__utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f; /* no UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* The code point of a valid sequence of n bytes. */
static unsigned long decode(const unsigned char *p, size_t n)
{
    static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    unsigned long cp = p[0] & lead_mask[n];
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (p[i] & 0x3f);
    return cp;
}

/* Code points a terminal or a reader could be fooled by: C1 controls,
 * bidirectional embeddings, overrides and isolates, non-characters. */
static bool shown_escaped(unsigned long cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
           (cp & 0xfffe) == 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef);
}

/* Appends the text escaping of s to b, or only counts it when b is NULL;
 * returns its length. */
static size_t text_escape(lg__sb_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "(null)"), *run = p;
    size_t len = 0;
    char esc[24];
    while (*p) {
        unsigned c = *p;
        size_t n = 1;
        unsigned long cp = c;
        if (c >= 0x80 && (n = lg__utf8_len(p)) != 0)
            cp = decode(p, n);
        bool plain = c >= 0x80 ? n != 0 && !shown_escaped(cp) : c >= 0x20 && c != 0x7f;
        if (plain) {
            p += n;
            continue;
        }
        if (b)
            lg__sb_putn(b, (const char *)run, (size_t)(p - run));
        len += (size_t)(p - run);
        if (c == '\n' || c == '\t' || c == '\r')
            snprintf(esc, sizeof esc, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
        else if (n == 0 || c < 0x80)
            snprintf(esc, sizeof esc, "\\x%02x", c);
        else
            snprintf(esc, sizeof esc, "\\u%04lx", cp);
        if (b)
            lg__sb_puts(b, esc);
        len += strlen(esc);
        p += n ? n : 1;
        run = p;
    }
    if (b)
        lg__sb_putn(b, (const char *)run, (size_t)(p - run));
    return len + (size_t)(p - run);
}

void lg__sb_text(lg__sb_t *b, const char *s)
{
    text_escape(b, s);
}

size_t lg__text_len(const char *s)
{
    return text_escape(NULL, s);
}

void lg__text_fix(char *buf, size_t len)
{
    if (!buf || !len)
        return;
    lg__sb_t b = {0};
    lg__sb_text(&b, buf);
    char *t = lg__sb_finish(&b);
    if (!t) {
        for (char *p = buf; *p; p++) /* out of memory: blank what could act */
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                *p = '?';
        return;
    }
    size_t n = strlen(t);
    if (n >= len) {
        n = len - 1;
        while (n > 0 && ((unsigned char)t[n] & 0xc0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
    }
    memcpy(buf, t, n);
    buf[n] = '\0';
    lg__xfree(t);
}

void lg__sb_xml(lg__sb_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;
    while (*p) {
        unsigned c = *p;
        size_t n = 1;
        const char *rep = NULL;
        if (c >= 0x80) {
            n = lg__utf8_len(p);
            if (!n || (decode(p, n) & 0xfffe) == 0xfffe)
                rep = "\xef\xbf\xbd"; /* not UTF-8, or U+FFFE/U+FFFF */
        } else if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"')
            rep = "&quot;";
        else if (c == '\'')
            rep = "&#39;";
        else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            rep = "\xef\xbf\xbd";
        if (!rep) {
            p += n;
            continue;
        }
        lg__sb_putn(b, (const char *)run, (size_t)(p - run));
        lg__sb_puts(b, rep);
        p += n ? n : 1;
        run = p;
    }
    lg__sb_putn(b, (const char *)run, (size_t)(p - run));
}

/* Applies `put` to the text escaping of s. */
static void via_text(lg__sb_t *b, const char *s, void (*put)(lg__sb_t *, const char *))
{
    lg__sb_t t = {0};
    lg__sb_text(&t, s);
    char *text = lg__sb_finish(&t);
    if (!text) {
        b->oom = true;
        return;
    }
    put(b, text);
    lg__xfree(text);
}

void lg__sb_xml_line(lg__sb_t *b, const char *s)
{
    via_text(b, s, lg__sb_xml);
}

/* The longest run of backticks in s. */
static size_t backtick_run(const char *s)
{
    size_t best = 0, cur = 0;
    for (; *s; s++) {
        cur = *s == '`' ? cur + 1 : 0;
        best = cur > best ? cur : best;
    }
    return best;
}

static void put_fence(lg__sb_t *b, size_t n)
{
    while (n--)
        lg__sb_putn(b, "`", 1);
}

static void md_code_text(lg__sb_t *b, const char *s)
{
    size_t fence = backtick_run(s) + 1;
    /* A space on each side when the code starts or ends with a backtick
     * (CommonMark strips one). */
    bool pad = s[0] == '`' || (s[0] && s[strlen(s) - 1] == '`');
    put_fence(b, fence);
    if (pad)
        lg__sb_puts(b, " ");
    for (const char *run = s;; s++) {
        if (*s && *s != '|')
            continue;
        lg__sb_putn(b, run, (size_t)(s - run));
        if (!*s)
            break;
        lg__sb_puts(b, "\\|");
        run = s + 1;
    }
    if (pad)
        lg__sb_puts(b, " ");
    put_fence(b, fence);
}

void lg__sb_md_code(lg__sb_t *b, const char *s)
{
    via_text(b, s, md_code_text);
}

void lg__sb_md_block(lg__sb_t *b, const char *text)
{
    size_t fence = backtick_run(text) + 1;
    fence = fence < 3 ? 3 : fence;
    put_fence(b, fence);
    lg__sb_puts(b, "\n");
    lg__sb_puts(b, text);
    if (text[0] && text[strlen(text) - 1] != '\n')
        lg__sb_puts(b, "\n");
    put_fence(b, fence);
    lg__sb_puts(b, "\n");
}

void lg__sb_json_str(lg__sb_t *b, const char *s)
{
    if (!s) {
        lg__sb_puts(b, "null");
        return;
    }
    const unsigned char *p = (const unsigned char *)s, *run = p;
    lg__sb_puts(b, "\"");
    while (*p) {
        unsigned c = *p;
        size_t n;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0x80 && (n = lg__utf8_len(p)) != 0) {
            p += n;
            continue;
        }
        lg__sb_putn(b, (const char *)run, (size_t)(p - run));
        switch (c) {
        case '"':
            lg__sb_puts(b, "\\\"");
            break;
        case '\\':
            lg__sb_puts(b, "\\\\");
            break;
        case '\b':
            lg__sb_puts(b, "\\b");
            break;
        case '\f':
            lg__sb_puts(b, "\\f");
            break;
        case '\n':
            lg__sb_puts(b, "\\n");
            break;
        case '\r':
            lg__sb_puts(b, "\\r");
            break;
        case '\t':
            lg__sb_puts(b, "\\t");
            break;
        default:
            if (c < 0x20)
                lg__sb_printf(b, "\\u%04x", c);
            else
                lg__sb_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
        }
        run = ++p;
    }
    lg__sb_putn(b, (const char *)run, (size_t)(p - run));
    lg__sb_puts(b, "\"");
}
