/*
 * error.c — error codes and the one diagnostic reporter.
 *
 * lg_strerror() maps the LG_ERRNO_MAP table; lg__error() formats into a
 * stack buffer and write(2)s it to the log, so it is safe inside the
 * allocation hook: it never allocates and keeps errno.  The log
 * (lg_log_write) is the file LEAKGATE_LOG_FILE names, per process ("%p"),
 * as LeakSanitizer's log_path, or standard error.
 */
#include "lg_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *lg_version(void)
{
    return LG_VERSION;
}

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
    lg_log_write(buf, len);
    errno = saved;
}

/* ---- the log ------------------------------------------------------------ */

/* The log's descriptor in the process that opened it; after a fork the
 * child opens its own (its %p differs). */
static struct {
    _Atomic int fd;    /* -1: not open */
    _Atomic long pid;  /* the process that opened fd, or failed to */
    _Atomic bool fell; /* that process writes to stderr: the file failed */
} L = {-1, 0, false};

/* Where leakgate's messages go now: LEAKGATE_LOG_FILE's file, else (unset,
 * or it cannot be opened, said once per process) standard error. */
static int log_fd(void)
{
    const char *pattern = getenv("LEAKGATE_LOG_FILE");
    if (!pattern || !*pattern)
        return STDERR_FILENO;
    long pid = (long)getpid();
    int fd = atomic_load(&L.fd);
    if (atomic_load(&L.pid) == pid)
        return atomic_load(&L.fell) || fd < 0 ? STDERR_FILENO : fd;
    if (fd >= 0)
        close(fd); /* a forked child: the parent's log */
    char path[4096], msg[512];
    const char *why = NULL;
    int nfd = lg__log_path(pattern, pid, path, sizeof path, &why) == 0 ? lg__log_open(path, &why)
                                                                       : -1;
    atomic_store(&L.fd, nfd);
    atomic_store(&L.fell, nfd < 0);
    atomic_store(&L.pid, pid);
    if (nfd >= 0)
        return nfd;
    int n = snprintf(msg, sizeof msg,
                     "leakgate: LEAKGATE_LOG_FILE=%.300s: %s; leakgate's messages go to standard "
                     "error\n",
                     pattern, why ? why : strerror(errno));
    ssize_t w = write(STDERR_FILENO, msg, n <= 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    LG_UNUSED(w);
    return STDERR_FILENO;
}

void lg_log_write(const char *text, size_t len)
{
    int saved = errno, fd = log_fd();
    while (len > 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        text += w;
        len -= (size_t)w;
    }
    errno = saved;
}

int lg_log_check(const char *name, const char *value, char *err, size_t errlen)
{
    char path[4096], dir[4096];
    const char *why = NULL;
    int saved = errno;
    struct stat st;
    if (lg__log_path(value, (long)getpid(), path, sizeof path, &why) != 0)
        return lg__errf(err, errlen, LG_EINVAL, "%s=%s: %s", name, value ? value : "", why);
    bool exists = stat(path, &st) == 0;
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path + (slash == path)) : 1,
             slash ? path : ".");
    if (exists && S_ISDIR(st.st_mode))
        why = "is a directory";
    else if (exists && access(path, W_OK) != 0)
        why = strerror(errno);
    else if (!exists && access(dir, W_OK) != 0)
        why = strerror(errno);
    errno = saved;
    if (!why)
        return 0;
    return lg__errf(err, errlen, LG_EINVAL, "%s=%s: %s%s%s", name, value, exists ? "" : dir,
                    exists ? "" : ": ", why);
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
