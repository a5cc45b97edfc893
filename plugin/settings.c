/*
 * settings.c — parsing sizes and integers given as options or LEAKGATE_*
 * variables.
 *
 * Every adapter accepts the same forms and gives the same one-line error,
 * "NAME=TEXT: expected <form>", naming the option or variable it read.
 * Sizes are whole numbers of bytes with an optional unit: binary units
 * (KiB, MiB, GiB) as tracemalloc prints them, and decimal ones (kB, MB, GB).
 */
#include "lg_plugin_internal.h"

#include <stdio.h>
#include <string.h>

/* Parses the leading decimal digits of s into *out; NULL on overflow or if
 * there are none, else the first character after them. */
static const char *parse_digits(const char *s, uint64_t *out)
{
    uint64_t n = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return NULL;
        n = n * 10 + d;
    }
    *out = n;
    return p == s ? NULL : p;
}

int lg_parse_size(const char *text, int64_t *out)
{
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {
        {"B", 1},     {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
        {"kB", 1000}, {"MB", 1000000},     {"GB", 1000000000},
    };
    uint64_t n;
    const char *p = text ? parse_digits(text, &n) : NULL;
    if (!p)
        return LG_EINVAL;
    uint64_t mult = 1;
    if (*p) {
        if (*p == ' ')
            p++;
        mult = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp(p, units[i].name) == 0)
                mult = units[i].mult;
        if (!mult)
            return LG_EINVAL;
    }
    if (n > (uint64_t)INT64_MAX / mult)
        return LG_EINVAL;
    *out = (int64_t)(n * mult);
    return 0;
}

int lg_parse_size_setting(const char *name, const char *text, int64_t *out, char *err,
                          size_t errlen)
{
    if (lg_parse_size(text, out) == 0)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s=%s: expected %s", name, text ? text : "", LG_SIZE_FORM);
    return LG_EINVAL;
}

int lg_parse_int_setting(const char *name, const char *text, int64_t lo, int64_t hi, int64_t *out,
                         char *err, size_t errlen)
{
    uint64_t n;
    const char *s = text ? text : "";
    bool neg = *s == '-';
    const char *p = parse_digits(s + neg, &n);
    if (p && !*p && n <= (uint64_t)INT64_MAX) {
        int64_t v = neg ? -(int64_t)n : (int64_t)n;
        if (v >= lo && v <= hi) {
            *out = v;
            return 0;
        }
    }
    if (err && errlen)
        snprintf(err, errlen, "%s=%s: expected an integer from %lld to %lld", name, s,
                 (long long)lo, (long long)hi);
    return LG_EINVAL;
}
