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

int lg__env_int(const char *name, long lo, long hi, long dflt, long *out)
{
    *out = dflt;
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || end == v || n < lo || n > hi) {
        lg__error("%s=%s: expected an integer from %ld to %ld", name, v, lo, hi);
        return LG_EINVAL;
    }
    *out = n;
    return 0;
}
