/*
 * config.c — reading LEAKGATE_* settings from the environment.
 *
 * Every bad value gets one line naming the variable, the value and the
 * accepted form; the caller then decides (the runtime keeps its default and
 * does not start tracing; the command line exits).
 */
#include "lg_internal.h"

#include <errno.h>
#include <stdlib.h>

int lg__env_int(const char *name, long lo, long hi, long dflt, const char *then, long *out)
{
    *out = dflt;
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    bool digits_first = (*v >= '0' && *v <= '9') || (*v == '-' && v[1] >= '0' && v[1] <= '9');
    if (errno || *end || !digits_first || n < lo || n > hi) {
        if (then)
            lg__error("%s=%s: expected an integer from %ld to %ld; %s", name, v, lo, hi, then);
        else
            lg__error("%s=%s: expected an integer from %ld to %ld; using %ld", name, v, lo, hi,
                      dflt);
        return LG_EINVAL;
    }
    *out = n;
    return 0;
}
