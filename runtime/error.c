/*
 * error.c — error codes and the one diagnostic reporter.
 *
 * lg_strerror() maps the LG_ERRNO_MAP table; lg__error() formats into a
 * stack buffer and write(2)s it, so it is safe inside the allocation hook:
 * it never allocates and keeps errno.
 */
#include "lg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

const char *lg_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define LG_ERRNO_CASE(name, value, msg) \
    case LG_E##name:                    \
        return msg;
        LG_ERRNO_MAP(LG_ERRNO_CASE)
#undef LG_ERRNO_CASE
    default:
        return "unknown error";
    }
}

void lg__error(const char *fmt, ...)
{
    int saved = errno;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "leakgate: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof buf - 2)
        len = sizeof buf - 2;
    buf[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, len);
    LG_UNUSED(w);
    errno = saved;
}

int lg__errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}
