/*
 * config.c — reading LEAKGATE_* settings from the environment.
 *
 * Every bad value gets one line naming the variable, the value and the
 * accepted form.  The runtime then uses the default and removes the
 * variable (said once per process tree); the test session and the command
 * line refuse it (lg__load_settings_check: the command line exits 2 before
 * CMD runs).
 */
#include "lg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether v is a decimal integer in [lo, hi] (into *n). */
static bool int_in(const char *v, long lo, long hi, long *n)
{
    char *end;
    errno = 0;
    *n = strtol(v, &end, 10);
    bool digits_first = (*v >= '0' && *v <= '9') || (*v == '-' && v[1] >= '0' && v[1] <= '9');
    return !errno && !*end && digits_first && *n >= lo && *n <= hi;
}

int lg__env_int(const char *name, long lo, long hi, long dflt, long *out)
{
    *out = dflt;
    const char *v = getenv(name);
    long n;
    if (!v || !*v)
        return 0;
    if (!int_in(v, lo, hi, &n)) {
        lg__error("%s=%s: expected an integer from %ld to %ld; using %ld", name, v, lo, hi, dflt);
        unsetenv(name); /* said once: see env_word */
        return LG_EINVAL;
    }
    *out = n;
    return 0;
}

/* ---- the runtime's load-time settings ----------------------------------- */

/* Words a load-time variable accepts, in the order of the values they
 * stand for. */
static const char *const unwind_words[] = {"auto", "fp", "libunwind", NULL}; /* LG_UNWIND_* */
static const char *const start_words[] = {"0", "1", NULL};

/* The index of v among words, or -1. */
static int word_index(const char *v, const char *const *words)
{
    for (int i = 0; words[i]; i++)
        if (strcmp(v, words[i]) == 0)
            return i;
    return -1;
}

/* "a, b or c" */
static const char *word_form(const char *const *words, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; words[i] && n < len; i++) {
        const char *sep = i == 0 ? "" : words[i + 1] ? ", " : " or ";
        n += (size_t)snprintf(buf + n, len - n, "%s%s", sep, words[i]);
    }
    return buf;
}

/* `name`'s word index; -1 when unset or empty, or when bad: then one line
 * "NAME=value: expected FORM; THEN" and the variable removed, so that
 * neither this process nor those it starts (Criterion's workers, a traced
 * shell's commands) say it again: they use the default, as this one does. */
static int env_word(const char *name, const char *const *words, const char *then)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return -1;
    int i = word_index(v, words);
    if (i < 0) {
        char form[64];
        lg__error("%s=%s: expected %s; %s", name, v, word_form(words, form, sizeof form), then);
        unsetenv(name);
    }
    return i;
}

int lg__env_unwind(void)
{
    int mode = env_word("LEAKGATE_UNWIND", unwind_words, "using auto");
    return mode < 0 ? LG_UNWIND_AUTO : mode;
}

int lg__env_start(const char *then)
{
    return env_word("LEAKGATE_START", start_words, then);
}

int lg__load_settings_check(char *err, size_t errlen)
{
    static const struct {
        const char *name;
        const char *const *words;
    } vars[] = {{"LEAKGATE_UNWIND", unwind_words}, {"LEAKGATE_START", start_words}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i].name);
        char form[64];
        if (v && *v && word_index(v, vars[i].words) < 0)
            return lg__errf(err, errlen, LG_EINVAL, "%s=%s: expected %s", vars[i].name, v,
                            word_form(vars[i].words, form, sizeof form));
    }
    const char *v = getenv("LEAKGATE_FRAMES");
    long n;
    if (v && *v && !int_in(v, 1, LG_FRAMES_MAX, &n))
        return lg__errf(err, errlen, LG_EINVAL,
                        "LEAKGATE_FRAMES=%s: expected an integer from 1 to %d", v, LG_FRAMES_MAX);
    return 0;
}
