/*
 * lgtest.h — a very small test harness for leakgate's unit tests.
 *
 * LGT_TEST(name) { ... } defines a test; LGT_MAIN() runs them all in file
 * order.  ASSERT_* print both values and the location, then fail the test.
 * A failed test does not stop the others; the exit status is the number of
 * failed tests (capped at 100).  LGT_AFTER_EACH(fn) names a function run
 * after every test (failed or not) to restore shared state.
 * lgt_keep_json(name, text) keeps a JSON document the test built in
 * $LGT_JSON_DIR/name.json (when set), where run-unit.sh validates every
 * one against docs/schema/.  lgt_build_dlclose_lib() builds the small
 * shared library of the dlclose tests.
 */
#ifndef LGTEST_H
#define LGTEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Builds data/dlclose_lib.c (beside this file) into dir/libdlclose_test.so,
 * whose path goes to lib; returns system()'s status (0: built). */
static inline int lgt_build_dlclose_lib(const char *dir, char *lib, size_t len)
{
    char src[512], cmd[1536];
    const char *slash = strrchr(__FILE__, '/');
    int n = slash ? (int)(slash - __FILE__) : 1;
    snprintf(src, sizeof src, "%.*s/data/dlclose_lib.c", n, slash ? __FILE__ : ".");
    snprintf(lib, len, "%s/libdlclose_test.so", dir);
    if (access(src, R_OK) != 0) {
        fprintf(stderr, "  cannot read %s (run from the source root)\n", src);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -g -O0 -o '%s' '%s'", lib, src);
    return system(cmd);
}

typedef void (*lgt_fn)(void);
struct lgt_case {
    const char *name;
    lgt_fn fn;
};
static struct lgt_case lgt_cases[256];
static int lgt_ncases;
static int lgt_failed_current;
static lgt_fn lgt_after_each;

static inline void lgt_keep_json(const char *name, const char *text)
{
    const char *dir = getenv("LGT_JSON_DIR");
    char path[4096];
    if (!dir || !*dir || !text)
        return;
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fprintf(stderr, "lgtest: cannot keep %s\n", path);
}

#define LGT_AFTER_EACH(fn)                                            \
    __attribute__((constructor)) static void lgt_set_after_each(void) \
    {                                                                 \
        lgt_after_each = (fn);                                        \
    }

#define LGT_TEST(tname)                                            \
    static void lgt_##tname(void);                                 \
    __attribute__((constructor)) static void lgt_reg_##tname(void) \
    {                                                              \
        lgt_cases[lgt_ncases].name = #tname;                       \
        lgt_cases[lgt_ncases++].fn = lgt_##tname;                  \
    }                                                              \
    static void lgt_##tname(void)

#define LGT_FAIL(...)                                     \
    do {                                                  \
        fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__); \
        fprintf(stderr, __VA_ARGS__);                     \
        fputc('\n', stderr);                              \
        lgt_failed_current = 1;                           \
        return;                                           \
    } while (0)

#define ASSERT(c)                                 \
    do {                                          \
        if (!(c))                                 \
            LGT_FAIL("assertion failed: %s", #c); \
    } while (0)
#define ASSERT_INT_OP(a, op, b)                                            \
    do {                                                                   \
        long long lgt_a = (long long)(a), lgt_b = (long long)(b);          \
        if (!(lgt_a op lgt_b))                                             \
            LGT_FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, lgt_a, lgt_b); \
    } while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)
#define ASSERT_STR_EQ(a, b)                                                            \
    do {                                                                               \
        const char *lgt_sa = (a), *lgt_sb = (b);                                       \
        if (!lgt_sa || !lgt_sb || strcmp(lgt_sa, lgt_sb) != 0)                         \
            LGT_FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b, lgt_sa ? lgt_sa : "(null)", \
                     lgt_sb ? lgt_sb : "(null)");                                      \
    } while (0)
#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        const char *lgt_h = (hay), *lgt_n = (needle);                                              \
        if (!lgt_h || !strstr(lgt_h, lgt_n))                                                       \
            LGT_FAIL("%s does not contain \"%s\": \"%s\"", #hay, lgt_n, lgt_h ? lgt_h : "(null)"); \
    } while (0)

#define LGT_MAIN()                                                                      \
    int main(int argc, char **argv)                                                     \
    {                                                                                   \
        int failed = 0;                                                                 \
        for (int i = 0; i < lgt_ncases; i++) {                                          \
            if (argc > 1 && strcmp(argv[1], lgt_cases[i].name) != 0)                    \
                continue;                                                               \
            lgt_failed_current = 0;                                                     \
            lgt_cases[i].fn();                                                          \
            if (lgt_after_each)                                                         \
                lgt_after_each();                                                       \
            printf("%s %s\n", lgt_failed_current ? "FAIL" : "ok  ", lgt_cases[i].name); \
            failed += lgt_failed_current;                                               \
        }                                                                               \
        return failed > 100 ? 100 : failed;                                             \
    }

#endif
