/*
 * test_json.c — the JSON report (plugin/json.c) and the gate's JSON tree
 * (plugin/gate/json_tree.c): string escaping (control characters, invalid
 * UTF-8), the leakgate/1 document against a golden string, merging other
 * processes' reports (all or nothing, every malformed document refused
 * with where it broke), writing and reading files, and the tree reader:
 * decoding, nesting limit, numbers, and what the writer writes reads back.
 */
#include "lg_internal.h"
#include "lg_gate_internal.h"

#include <unistd.h>

#include "lgtest.h"

static const lg_frame_t f_buffer_new = {
    LG_FRAME_NATIVE, 0x1000, "buffer_new", "/src/src/buffer.c", 41, "/usr/lib/libparse.so", 0x1a2b};
static const lg_frame_t f_parser_init = {
    LG_FRAME_NATIVE, 0x2000, "parser_init", "/src/src/parser.c", 88, NULL, 0};
static const lg_frame_t f_py_new = {LG_FRAME_PYTHON, 0, NULL, "/src/tests/test_x.py", 3, NULL, 0};
static const lg_frame_t *const tb3_frames[] = {&f_parser_init};
static const lg_traceback_t tb3 = {1, 1, tb3_frames};

/* ---- writing ------------------------------------------------------------- */

static char *json_of_id(const char *id)
{
    lg_json_report_t *rep;
    if (lg_json_report_new(&rep))
        return NULL;
    lg_result_t r;
    lg_result_init(&r, id, NULL, NULL, 0);
    char *s = lg_json_report_add(rep, &r, NULL) ? NULL : lg_json_report_string(rep);
    lg_json_report_free(rep);
    return s;
}

LGT_TEST(json_escaping)
{
    char *s = json_of_id("a\"b\\c\nd\te\x01"
                         "f\x1f\r\b\f/\x7f");
    ASSERT_CONTAINS(s, "{\"id\": \"a\\\"b\\\\c\\nd\\te\\u0001f\\u001f\\r\\b\\f/\x7f\", ");
    lg_string_free(s);
    /* Valid UTF-8 passes; each invalid byte becomes U+FFFD. */
    s = json_of_id("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80|\xff|\xc0\xaf|"
                   "\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80|\xc3");
#define R "\xef\xbf\xbd"
    ASSERT_CONTAINS(s, "{\"id\": \"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80|" R "|" R R "|" R R R
                       "|" R R "|" R R R R "|" R "\", ");
#undef R
    lg_string_free(s);
}

LGT_TEST(json_document_golden)
{
    lg_stats_t *st = lg__stats_new();
    ASSERT(st);
    lg_frame_t bare = {LG_FRAME_NATIVE, 0x10, NULL, NULL, 0, NULL, 0};
    const lg_frame_t *frames[] = {&f_buffer_new, &bare, &f_py_new};
    lg_traceback_t tb = {3, 3, frames};
    lg__stats_add(st, &tb, 1, 96, 2, 64, 1);
    lg__stats_add(st, &tb3, 0, 0, 0, -8, -1); /* freed: not a leak row */
    lg_json_report_t *rep;
    ASSERT_EQ(lg_json_report_new(&rep), 0);
    lg_result_t r;
    lg_limits_t lim = {0, 3};
    lg_result_init(&r, "suite::one", st, &lim, 0);
    ASSERT_EQ(lg_json_report_add(rep, &r, NULL), 0);
    lg_result_init(&r, "suite::two", NULL, NULL, 0);
    r.outcome = LG_OUTCOME_SKIPPED;
    ASSERT_EQ(lg_json_report_add(rep, &r, NULL), 0);
    ASSERT_EQ(lg_json_report_count(rep), 2);
    char *doc = lg_json_report_string(rep);
    lg_stats_free(st);
    lgt_keep_json("test_json-two_tests", doc);
    ASSERT_STR_EQ(doc, "{\"schema\": \"leakgate/1\", \"tests\": [\n"
                       "{\"id\": \"suite::one\", \"outcome\": \"leaked\", \"size_diff\": 56, "
                       "\"count_diff\": 0, \"limits\": {\"max_size\": 0, \"max_count\": 3}, "
                       "\"leaks\": [{\"size_diff\": 64, \"count_diff\": 1, \"size\": 96, "
                       "\"count\": 2, \"domain\": 1, \"traceback\": ["
                       "{\"kind\": \"native\", \"function\": \"buffer_new\", \"file\": "
                       "\"/src/src/buffer.c\", \"line\": 41, \"module\": "
                       "\"/usr/lib/libparse.so\", \"offset\": 6699}, "
                       "{\"kind\": \"native\", \"function\": null, \"file\": null, \"line\": "
                       "null, \"module\": null, \"offset\": null}, "
                       "{\"kind\": \"python\", \"function\": null, \"file\": "
                       "\"/src/tests/test_x.py\", \"line\": 3, \"module\": null, \"offset\": "
                       "null}]}]},\n"
                       "{\"id\": \"suite::two\", \"outcome\": \"skipped\", \"size_diff\": 0, "
                       "\"count_diff\": 0, \"limits\": {\"max_size\": 0, \"max_count\": null}, "
                       "\"leaks\": []}\n"
                       "]}\n");

    /* Merging the document into another report reproduces it. */
    lg_json_report_t *merged;
    char err[200] = "";
    ASSERT_EQ(lg_json_report_new(&merged), 0);
    ASSERT_EQ(lg_json_report_merge_buffer(merged, doc, strlen(doc), err, sizeof err), 0);
    ASSERT_EQ(lg_json_report_count(merged), 2);
    char *again = lg_json_report_string(merged);
    ASSERT_STR_EQ(again, doc);
    lg_string_free(again);

    /* Through a file, twice: four tests. */
    char dir[] = "/tmp/lg_test_json_XXXXXX", path[64];
    ASSERT(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/r.json", dir);
    ASSERT_EQ(lg_json_report_write(rep, path), 0);
    ASSERT_EQ(lg_json_report_merge_file(merged, path, err, sizeof err), 0);
    ASSERT_EQ(lg_json_report_count(merged), 4);
    ASSERT_EQ(lg_json_report_write(rep, "/nonexistent/dir/r.json"), LG_EIO);
    unlink(path);
    rmdir(dir);
    ASSERT_EQ(lg_json_report_merge_file(merged, path, err, sizeof err), LG_EIO);
    ASSERT_CONTAINS(err, "No such file");
    lg_json_report_free(merged);
    lg_json_report_free(rep);
    lg_string_free(doc);
}

LGT_TEST(json_merge_rejects_bad_documents)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"schema\": \"leakgate/2\", \"tests\": []}",
        "{\"tests\": []}",
        "{\"schema\": \"leakgate/1\"}",
        "{\"schema\": \"leakgate/1\", \"tests\": {}}",
        "{\"schema\": \"leakgate/1\", \"tests\": [1]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a\"}, ]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a\"}]} x",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a}]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"\\q\"}]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"\\u12\"}]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\" \"a\"}]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": tru}]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": -}]}",
        "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"a\"}]",
    };
    lg_json_report_t *rep;
    ASSERT_EQ(lg_json_report_new(&rep), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        int rc = lg_json_report_merge_buffer(rep, bad[i], strlen(bad[i]), err, sizeof err);
        if (rc != LG_EFORMAT || lg_json_report_count(rep) != 0 || !err[0])
            LGT_FAIL("accepted (rc %d, %zu tests): %s", rc, lg_json_report_count(rep), bad[i]);
    }
    const char good[] = " { \"x\": [true, false, null, -1.5e3, {\"a\": []}],"
                        "\"tests\": [ {\"id\": \"\\u00e9\\n\"} ] ,"
                        " \"schema\" : \"leakgate/1\" } \n";
    ASSERT_EQ(lg_json_report_merge_buffer(rep, good, strlen(good), NULL, 0), 0);
    ASSERT_EQ(lg_json_report_count(rep), 1);
    lg_json_report_free(rep);
}

/* A document of one test per id in `ids`, for the merge tests. */
static char *doc_of(const char *const *ids, size_t n)
{
    lg_json_report_t *rep;
    if (lg_json_report_new(&rep))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        lg_result_t r;
        lg_result_init(&r, ids[i], NULL, NULL, 0);
        if (lg_json_report_add(rep, &r, NULL))
            break;
    }
    char *s = lg_json_report_string(rep);
    lg_json_report_free(rep);
    return s;
}

LGT_TEST(json_merge_is_all_or_nothing)
{
    static const char *const ab[] = {"a", "b"};
    char *good = doc_of(ab, 2);
    ASSERT(good);
    lg_json_report_t *rep;
    ASSERT_EQ(lg_json_report_new(&rep), 0);
    char err[200];
    ASSERT_EQ(lg_json_report_merge_buffer(rep, good, strlen(good), err, sizeof err), 0);
    ASSERT_EQ(lg_json_report_count(rep), 2);
    /* The same document cut anywhere before its end adds nothing. */
    size_t len = strlen(good);
    while (len > 0 && (good[len - 1] == '\n' || good[len - 1] == ' '))
        len--;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = lg_json_report_merge_buffer(rep, good, cut, err, sizeof err);
        if (rc != LG_EFORMAT || lg_json_report_count(rep) != 2)
            LGT_FAIL("cut at %zu: rc %d, %zu tests", cut, rc, lg_json_report_count(rep));
    }
    /* A second test that breaks takes the first one back out. */
    const char half[] = "{\"schema\": \"leakgate/1\", \"tests\": [{\"id\": \"c\"}, 7]}";
    ASSERT_EQ(lg_json_report_merge_buffer(rep, half, strlen(half), err, sizeof err), LG_EFORMAT);
    ASSERT_CONTAINS(err, "\"tests\" must be an array of objects");
    ASSERT_EQ(lg_json_report_count(rep), 2);
    /* Merged tests are kept verbatim: the result is both documents' tests. */
    ASSERT_EQ(lg_json_report_merge_buffer(rep, good, strlen(good), err, sizeof err), 0);
    char *all = lg_json_report_string(rep);
    static const char *const abab[] = {"a", "b", "a", "b"};
    char *want = doc_of(abab, 4);
    ASSERT_STR_EQ(all, want);
    lg_string_free(all);
    lg_string_free(want);
    lg_string_free(good);
    lg_json_report_free(rep);
}

LGT_TEST(json_merge_errors_say_where)
{
    lg_json_report_t *rep;
    ASSERT_EQ(lg_json_report_new(&rep), 0);
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"{\"schema\": \"leakgate/1\", \"tests\": []", "offset 36: expected ',' or '}' (the text "
                                                       "ends there: truncated?)"},
        {"{\"schema\": \"leakgate/2\", \"tests\": []}", "not a \"leakgate/1\" report"},
        {"{\"schema\": \"leakgate/1\"}", "no \"tests\""},
        {"{\"tests\": [], \"schema\": \"leakgate/1\"} {}", "offset 38: text after the document"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[200] = "";
        ASSERT_EQ(
            lg_json_report_merge_buffer(rep, bad[i].text, strlen(bad[i].text), err, sizeof err),
            LG_EFORMAT);
        ASSERT_STR_EQ(err, bad[i].err);
    }
    ASSERT_EQ(lg_json_report_count(rep), 0);
    lg_json_report_free(rep);
}

/* ---- reading: the gate's tree ------------------------------------------- */

LGT_TEST(json_tree_decodes_strings_numbers_and_nesting)
{
    const char *text = "{\"s\": \"a\\\"b\\\\c\\n\\u00e9\\ud83d\\ude00\\u0000\", \"i\": -42, "
                       "\"f\": 1.5e3, \"big\": 99999999999999999999, \"a\": [true, false, null, "
                       "{\"k\": []}], \"k\": 1, \"k\": 2}";
    lg__json_t *v;
    char err[128];
    ASSERT_EQ(lg__json_parse(text, strlen(text), &v, err, sizeof err), 0);
    ASSERT_STR_EQ(lg__json_get(v, "s")->string, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd");
    ASSERT(lg__json_get(v, "i")->is_int);
    ASSERT_EQ(lg__json_get(v, "i")->integer, -42);
    ASSERT(!lg__json_get(v, "f")->is_int);
    ASSERT(lg__json_get(v, "f")->number == 1500.0);
    ASSERT(!lg__json_get(v, "big")->is_int);
    const lg__json_t *a = lg__json_get(v, "a");
    ASSERT_EQ(a->type, LG__JSON_ARRAY);
    ASSERT_EQ(a->n, 4);
    ASSERT(a->items[0]->boolean && !a->items[1]->boolean);
    ASSERT_EQ(a->items[2]->type, LG__JSON_NULL);
    ASSERT_EQ(lg__json_get(a->items[3], "k")->n, 0);
    ASSERT_EQ(lg__json_get(v, "k")->integer, 2); /* the last wins */
    ASSERT(lg__json_get(v, "missing") == NULL);
    ASSERT(lg__json_get(a, "k") == NULL); /* not an object */
    lg__json_free(v);
}

LGT_TEST(json_tree_refuses_bad_documents_with_the_offset)
{
    static const struct {
        const char *text, *err;
    } bad[] = {
        {"{\"a\": [1, 2", "offset 11: expected ',' or ']' (the text ends there: truncated?)"},
        {"{\"a\": \"x", "offset 8: unterminated string (the text ends there: truncated?)"},
        {"{\"a\" 1}", "offset 5: expected ':'"},
        {"{\"a\": 1} x", "offset 9: text after the document"},
        {"{\"a\": tru}", "offset 6: expected a value"},
        {"\"\\x\"", "offset 3: bad escape in a string"},
        {"", "offset 0: unexpected end (the text ends there: truncated?)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lg__json_t *v = (lg__json_t *)1;
        char err[128] = "";
        ASSERT_EQ(lg__json_parse(bad[i].text, strlen(bad[i].text), &v, err, sizeof err),
                  LG_EFORMAT);
        ASSERT(v == NULL);
        ASSERT_STR_EQ(err, bad[i].err);
    }
}

LGT_TEST(json_tree_nesting_is_limited)
{
    char text[300];
    lg__json_t *v;
    char err[128];
    /* 65 levels (the document and 64 inside it) parse; 66 do not. */
    for (int depth = 65; depth <= 66; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        text[2 * depth] = '\0';
        int rc = lg__json_parse(text, strlen(text), &v, err, sizeof err);
        if (depth == 65) {
            ASSERT_EQ(rc, 0);
            lg__json_free(v);
        } else {
            ASSERT_EQ(rc, LG_EFORMAT);
            ASSERT_STR_EQ(err, "offset 65: nested too deeply");
        }
    }
}

LGT_TEST(json_tree_numbers)
{
    static const struct {
        const char *text;
        bool is_int;
        int64_t integer;
        double number;
    } ok[] = {
        {"0", true, 0, 0},
        {"-0", true, 0, 0},
        {"9223372036854775807", true, INT64_MAX, 9223372036854775807.0},
        {"-9223372036854775808", true, INT64_MIN, -9223372036854775808.0},
        {"9223372036854775808", false, 0, 9223372036854775808.0},
        {"1e2", false, 0, 100},
        {"-2.5E-1", false, 0, -0.25},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        lg__json_t *v;
        ASSERT_EQ(lg__json_parse(ok[i].text, strlen(ok[i].text), &v, NULL, 0), 0);
        if (v->type != LG__JSON_NUMBER || v->is_int != ok[i].is_int ||
            (ok[i].is_int && v->integer != ok[i].integer) || v->number != ok[i].number)
            LGT_FAIL("%s: is_int %d, integer %lld, number %g", ok[i].text, v->is_int,
                     (long long)v->integer, v->number);
        lg__json_free(v);
    }
    static const char *const bad[] = {"-", "1.2.3", "--1", "1e", "+1", ".5", "01", "1.", "1e+"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lg__json_t *v = (lg__json_t *)1;
        if (lg__json_parse(bad[i], strlen(bad[i]), &v, NULL, 0) != LG_EFORMAT || v != NULL)
            LGT_FAIL("\"%s\" accepted", bad[i]);
    }
}

LGT_TEST(what_the_writer_writes_the_tree_reads_back)
{
    /* Ids with every kind of character the escaper handles. */
    static const struct {
        const char *id, *read;
    } ids[] = {
        {"plain::test", "plain::test"},
        {"q\"b\\s/\n\t\x01\x7f", "q\"b\\s/\n\t\x01\x7f"},
        {"\xc3\xa9\xf0\x9f\x98\x80", "\xc3\xa9\xf0\x9f\x98\x80"},
        {"bad\xff|\xc3", "bad\xef\xbf\xbd|\xef\xbf\xbd"},
    };
    lg_stats_t *st = lg__stats_new();
    ASSERT(st);
    const lg_frame_t *frames[] = {&f_buffer_new, &f_py_new};
    lg_traceback_t tb = {2, 5, frames};
    ASSERT_EQ(lg__stats_add(st, &tb, LG_DOMAIN_C, 96, 2, 64, 1), 0);
    lg_json_report_t *rep;
    ASSERT_EQ(lg_json_report_new(&rep), 0);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        lg_result_t r;
        lg_limits_t lim = {10, 4};
        lg_result_init(&r, ids[i].id, st, &lim, 0);
        ASSERT_EQ(lg_json_report_add(rep, &r, NULL), 0);
    }
    char *doc = lg_json_report_string(rep);
    ASSERT(doc);
    lg__json_t *v;
    char err[128];
    ASSERT_EQ(lg__json_parse(doc, strlen(doc), &v, err, sizeof err), 0);
    ASSERT_STR_EQ(lg__json_get(v, "schema")->string, "leakgate/1");
    const lg__json_t *tests = lg__json_get(v, "tests");
    ASSERT_EQ(tests->n, sizeof ids / sizeof ids[0]);
    for (size_t i = 0; i < tests->n; i++) {
        const lg__json_t *t = tests->items[i];
        ASSERT_STR_EQ(lg__json_get(t, "id")->string, ids[i].read);
        ASSERT_STR_EQ(lg__json_get(t, "outcome")->string, "leaked");
        ASSERT_EQ(lg__json_get(t, "size_diff")->integer, 64);
        ASSERT_EQ(lg__json_get(lg__json_get(t, "limits"), "max_count")->integer, 4);
        const lg__json_t *leak = lg__json_get(t, "leaks")->items[0];
        ASSERT_EQ(lg__json_get(leak, "domain")->integer, LG_DOMAIN_C);
        const lg__json_t *f0 = lg__json_get(leak, "traceback")->items[0];
        ASSERT_STR_EQ(lg__json_get(f0, "function")->string, "buffer_new");
        ASSERT_EQ(lg__json_get(f0, "offset")->integer, 0x1a2b);
        const lg__json_t *f1 = lg__json_get(leak, "traceback")->items[1];
        ASSERT_STR_EQ(lg__json_get(f1, "kind")->string, "python");
        ASSERT_EQ(lg__json_get(f1, "line")->integer, 3);
    }
    lg__json_free(v);
    lg_string_free(doc);
    lg_json_report_free(rep);
    lg_stats_free(st);
}

LGT_MAIN()
