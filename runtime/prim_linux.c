/*
 * prim_linux.c — what the runtime needs from the operating system: the real
 * allocator behind ours, the clock, the resident set size, and memory for
 * the tracer itself.
 *
 * lg__real is resolved with dlsym(RTLD_NEXT): the allocator that comes after
 * us in symbol lookup (glibc's, or another preloaded one).  When nothing
 * comes after us (the library was linked without being needed first, or
 * loaded after the C library), the C library's own functions are taken: the
 * program's calls reach them anyway.  dlsym itself may call calloc; when
 * that reaches our hooks before lg__real is set, hooks.c serves it from a
 * static pool.
 *
 * It also holds the one file layer (lg__file_read, lg__out_*, and the log
 * leakgate appends its messages to, lg__log_open; the rules are in
 * lg_internal.h): every file leakgate reads or writes goes through it,
 * with read(2)/write(2) into report-time memory, never stdio, so that it
 * works inside a traced process without being traced.
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct lg__real lg__real;

static _Atomic int64_t tracer_memory; /* bytes held by lg__mem_* and arenas */

_Atomic long lg__fault_countdown;

/* Fault injection for tests: when armed, the Nth tracer allocation fails. */
static inline bool inject_fault(void)
{
    long n = atomic_load_explicit(&lg__fault_countdown, memory_order_relaxed);
    return n > 0 && atomic_fetch_sub(&lg__fault_countdown, 1) == 1;
}

int lg__real_init(void)
{
    if (lg__real.malloc)
        return 0;
    struct lg__real r;
    void *libc = NULL;
#define RESOLVE(name)                                                                \
    do {                                                                             \
        r.name = (__typeof__(r.name))dlsym(RTLD_NEXT, #name);                        \
        if (!r.name && (libc || (libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)))) \
            r.name = (__typeof__(r.name))dlsym(libc, #name);                         \
    } while (0)
#define RESOLVE_ONE(name, ret, params, args, body, size, align) RESOLVE(name);
    LG_FOR_EACH_HOOKED_FUNCTION(RESOLVE_ONE)
#undef RESOLVE_ONE
    RESOLVE(dlopen);
#undef RESOLVE
    if (libc)
        dlclose(libc); /* RTLD_NOLOAD: only drops the reference just taken */
    if (!r.malloc || !r.free || !r.calloc || !r.realloc)
        return LG_ENOMEM;
    /* Publish malloc last: hooks test it to know the rest is there. */
    void *(*m)(size_t) = r.malloc;
    r.malloc = NULL;
    lg__real = r;
    __atomic_store_n(&lg__real.malloc, m, __ATOMIC_RELEASE);
    return 0;
}

static inline void ensure_real(void)
{
    if (LG_UNLIKELY(!__atomic_load_n(&lg__real.malloc, __ATOMIC_ACQUIRE)))
        lg__real_init();
}

void *lg__xmalloc(size_t n)
{
    ensure_real();
    if (LG_UNLIKELY(inject_fault()))
        return NULL;
    return lg__real.malloc(n ? n : 1);
}

void *lg__xcalloc(size_t n, size_t size)
{
    ensure_real();
    if (LG_UNLIKELY(inject_fault()))
        return NULL;
    return lg__real.calloc(n ? n : 1, size ? size : 1);
}

void *lg__xrealloc(void *p, size_t n)
{
    ensure_real();
    if (LG_UNLIKELY(inject_fault()))
        return NULL;
    return lg__real.realloc(p, n ? n : 1);
}

void lg__xfree(void *p)
{
    if (p)
        lg__real.free(p);
}

char *lg__xstrdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = lg__xmalloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void *lg__mem_calloc(size_t n, size_t size)
{
    void *p = lg__xcalloc(n, size);
    if (p)
        atomic_fetch_add(&tracer_memory, (int64_t)(n * size));
    return p;
}

void lg__mem_free(void *p, size_t bytes)
{
    if (!p)
        return;
    lg__real.free(p);
    atomic_fetch_sub(&tracer_memory, (int64_t)bytes);
}

#define HUGE_PAGE  ((size_t)2 << 20)
#define HUGE_TABLE ((size_t)1 << 20)

static size_t huge_round(size_t bytes)
{
    return (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *lg__mem_table_alloc(size_t bytes)
{
    if (bytes < HUGE_TABLE)
        return lg__mem_calloc(1, bytes);
    if (inject_fault())
        return NULL;
    /* Map a huge page more than needed, then unmap the unaligned ends. */
    size_t len = huge_round(bytes);
    int saved = errno;
    char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED) {
        errno = saved;
        return NULL;
    }
    char *p = (char *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (p + len < m + len + HUGE_PAGE)
        munmap(p + len, (size_t)(m + len + HUGE_PAGE - (p + len)));
    madvise(p, len, MADV_HUGEPAGE); /* a hint: 4 KiB pages if refused */
    errno = saved;
    atomic_fetch_add(&tracer_memory, (int64_t)bytes);
    return p;
}

void lg__mem_table_free(void *p, size_t bytes)
{
    if (bytes < HUGE_TABLE) {
        lg__mem_free(p, bytes);
        return;
    }
    if (!p)
        return;
    int saved = errno;
    munmap(p, huge_round(bytes));
    errno = saved;
    atomic_fetch_sub(&tracer_memory, (int64_t)bytes);
}

void lg__mem_account(int64_t delta)
{
    atomic_fetch_add(&tracer_memory, delta);
}

size_t lg_get_tracer_memory(void)
{
    int64_t v = atomic_load(&tracer_memory);
    return v > 0 ? (size_t)v : 0;
}

int64_t lg__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t lg__rss(void)
{
    /* /proc/self/statm: size resident ... in pages; read without stdio. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *p = strchr(buf, ' ');
    if (!p)
        return 0;
    return strtoull(p + 1, NULL, 10) * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* ---- reading ------------------------------------------------------------ */

/* Keeps errno across close(). */
static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* Opens path for reading: a regular file or a FIFO, nothing else.  A FIFO
 * is opened blocking, so that a writer that comes later is waited for;
 * anything else without blocking (a device may act on open). */
static int open_input(const char *path, struct stat *st, const char **why)
{
    bool fifo = stat(path, st) == 0 && S_ISFIFO(st->st_mode);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (fifo ? 0 : O_NONBLOCK));
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0) {
        close_keep_errno(fd);
        return -1;
    }
    if (S_ISFIFO(st->st_mode) && !fifo) {
        close(fd);
        *why = "changed while it was opened";
        return -1;
    }
    if (!S_ISREG(st->st_mode) && !S_ISFIFO(st->st_mode)) {
        close(fd);
        if (S_ISDIR(st->st_mode))
            errno = EISDIR; /* what read(2) would say */
        else
            *why = "not a regular file or a pipe";
        return -1;
    }
    return fd;
}

/* Reads into buf[*len, want) until want bytes or the end.  Returns 0 or -1
 * (errno). */
static int read_upto(int fd, char *buf, size_t *len, size_t want)
{
    while (*len < want) {
        ssize_t r = read(fd, buf + *len, want - *len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        *len += (size_t)r;
    }
    return 0;
}

int lg__file_read(const char *path, const lg__input_kind_t *kind, char **out, size_t *len,
                  const char **why)
{
    *out = NULL;
    *len = 0;
    *why = NULL;
    struct stat st;
    int fd = open_input(path, &st, why);
    if (fd < 0)
        return *why ? LG_EFORMAT : LG_EIO;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > kind->max) {
        close(fd);
        *why = kind->too_big;
        return LG_EFORMAT;
    }
    /* A regular file's size is the first guess (files in /proc say 0); a
     * pipe starts small.  The buffer grows by doubling, never past max. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size : 64 * 1024;
    if (cap < LG_FILE_HEAD)
        cap = LG_FILE_HEAD;
    if (cap > kind->max)
        cap = kind->max;
    char *buf = lg__xmalloc(cap + 1);
    size_t n = 0;
    int rc = buf ? 0 : LG_ENOMEM;
    if (rc == 0 && read_upto(fd, buf, &n, cap < LG_FILE_HEAD ? cap : LG_FILE_HEAD) != 0)
        rc = LG_EIO;
    if (rc == 0 && kind->check &&
        (*why = kind->check((const unsigned char *)buf, n, n < LG_FILE_HEAD)) != NULL)
        rc = LG_EFORMAT;
    while (rc == 0) {
        if (read_upto(fd, buf, &n, cap) != 0) {
            rc = LG_EIO;
            break;
        }
        if (n < cap)
            break; /* the end */
        /* Full: one byte more tells whether there is more. */
        char probe;
        size_t got = 0;
        if (read_upto(fd, &probe, &got, 1) != 0) {
            rc = LG_EIO;
            break;
        }
        if (!got)
            break;
        if (cap >= kind->max) {
            *why = kind->too_big;
            rc = LG_EFORMAT;
            break;
        }
        size_t ncap = cap > kind->max / 2 ? kind->max : cap * 2;
        char *nb = lg__xrealloc(buf, ncap + 1);
        if (!nb) {
            rc = LG_ENOMEM;
            break;
        }
        buf = nb;
        buf[n++] = probe;
        cap = ncap;
    }
    close_keep_errno(fd);
    if (rc) {
        int saved = errno;
        lg__xfree(buf);
        errno = saved;
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* ---- writing ------------------------------------------------------------ */

/* The descriptor a path names, or -1: /dev/stdout, /dev/stderr, /dev/fd/N,
 * /proc/self/fd/N and /proc/<this pid>/fd/N are written through the
 * descriptor itself, at its offset, whatever it is open on. */
static int fd_of_path(const char *p)
{
    if (strcmp(p, "/dev/stdout") == 0)
        return STDOUT_FILENO;
    if (strcmp(p, "/dev/stderr") == 0)
        return STDERR_FILENO;
    char self[48];
    snprintf(self, sizeof self, "/proc/%ld/fd/", (long)getpid());
    const char *rest = strncmp(p, "/dev/fd/", 8) == 0         ? p + 8
                       : strncmp(p, "/proc/self/fd/", 14) == 0 ? p + 14
                       : strncmp(p, self, strlen(self)) == 0   ? p + strlen(self)
                                                               : NULL;
    if (!rest || *rest < '0' || *rest > '9')
        return -1;
    char *end;
    long n = strtol(rest, &end, 10);
    return *end || n > INT32_MAX ? -1 : (int)n;
}

/* Follows the symlinks of o->target (at most 40, as the kernel), stopping at
 * a path that names a descriptor.  Returns 0 with *st of the last path
 * (st_mode 0 when it does not exist) or -1 (errno). */
static int resolve_target(lg__out_t *o, struct stat *st, int *fdno)
{
    for (int hops = 0; hops < 40; hops++) {
        if ((*fdno = fd_of_path(o->target)) >= 0)
            return 0;
        if (lstat(o->target, st) != 0) {
            if (errno != ENOENT)
                return -1;
            st->st_mode = 0; /* a new file */
            return 0;
        }
        if (!S_ISLNK(st->st_mode))
            return 0;
        char link[sizeof o->target];
        ssize_t n = readlink(o->target, link, sizeof link - 1);
        if (n < 0)
            return -1;
        link[n] = '\0';
        const char *slash = strrchr(o->target, '/');
        size_t dir = link[0] == '/' || !slash ? 0 : (size_t)(slash - o->target) + 1;
        if (dir + (size_t)n >= sizeof o->target) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memmove(o->target + dir, link, (size_t)n + 1);
    }
    errno = ELOOP;
    return -1;
}

/* Creates the temporary file beside o->target (same directory, so the
 * rename is atomic).  Returns the descriptor or -1 (errno). */
static int open_temp(lg__out_t *o, mode_t mode)
{
    static unsigned counter; /* atomic; O_EXCL settles any remaining race */
    for (int tries = 0; tries < 100; tries++) {
        unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        if ((size_t)snprintf(o->tmp, sizeof o->tmp, "%s.tmp-%ld-%u", o->target, (long)getpid(),
                             k) >= sizeof o->tmp) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int lg__out_open(lg__out_t *o, const char *path, const char **why)
{
    o->fd = -1;
    o->err = 0;
    o->replace = false;
    o->tmp[0] = '\0';
    *why = NULL;
    if (!path || !*path) {
        errno = ENOENT;
        return LG_EIO;
    }
    if (strlen(path) >= sizeof o->target) {
        errno = ENAMETOOLONG;
        return LG_EIO;
    }
    strcpy(o->target, path);
    struct stat st;
    int fdno = -1;
    if (resolve_target(o, &st, &fdno) != 0)
        return LG_EIO;
    if (fdno >= 0) {
        o->fd = fcntl(fdno, F_DUPFD_CLOEXEC, 0);
        return o->fd < 0 ? LG_EIO : 0;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        o->fd = open(o->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        return o->fd < 0 ? LG_EIO : 0;
    }
    if (st.st_mode != 0 && !S_ISREG(st.st_mode)) {
        bool dir = S_ISDIR(st.st_mode);
        *why = dir ? "is a directory" : "not a regular file, FIFO or character device";
        errno = dir ? EISDIR : EINVAL;
        return LG_EFORMAT;
    }
    /* A new file gets the usual 0666 less the umask; a replaced one keeps
     * its permission bits. */
    o->fd = open_temp(o, 0666);
    if (o->fd < 0)
        return LG_EIO;
    if (st.st_mode != 0 && fchmod(o->fd, st.st_mode & 07777) != 0) {
        int saved = errno;
        close(o->fd);
        unlink(o->tmp);
        o->fd = -1;
        errno = saved;
        return LG_EIO;
    }
    o->replace = true;
    return 0;
}

void lg__out_write(lg__out_t *o, const void *p, size_t n)
{
    const char *s = p;
    while (!o->err && n > 0) {
        ssize_t w = write(o->fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            o->err = w < 0 ? errno : EIO;
            break;
        }
        s += w;
        n -= (size_t)w;
    }
}

int lg__out_close(lg__out_t *o, bool commit)
{
    if (o->fd < 0)
        return o->err ? (errno = o->err, LG_EIO) : 0;
    if (!commit && !o->err)
        o->err = ECANCELED;
    if (o->replace && !o->err && fsync(o->fd) != 0)
        o->err = errno;
    if (close(o->fd) != 0 && !o->err)
        o->err = errno;
    o->fd = -1;
    if (o->replace && !o->err && rename(o->tmp, o->target) != 0)
        o->err = errno;
    if (o->replace && o->err)
        unlink(o->tmp);
    if (!o->err)
        return 0;
    errno = o->err;
    return commit ? LG_EIO : 0;
}

int lg__file_write(const char *path, const void *data, size_t n, const char **why)
{
    lg__out_t o;
    int rc = lg__out_open(&o, path, why);
    if (rc)
        return rc;
    lg__out_write(&o, data, n);
    return lg__out_close(&o, true);
}

int lg_file_write(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    const char *why;
    int rc = lg__file_write(path, data, len, &why);
    if (rc)
        lg__file_errf(err, errlen, path ? path : "(null)", rc, why);
    return rc == LG_EFORMAT ? LG_EIO : rc;
}

int lg__file_errf(char *err, size_t errlen, const char *path, int rc, const char *why)
{
    int saved = errno;
    lg__errf(err, errlen, rc, "%s: %s", path,
             why ? why : rc == LG_EIO ? strerror(saved) : lg_strerror(rc));
    errno = saved;
    return rc;
}

/* ---- the log ------------------------------------------------------------ */

int lg__log_path(const char *pattern, long pid, char *out, size_t len, const char **why)
{
    size_t n = 0;
    *why = NULL;
    if (!pattern || !*pattern) {
        *why = "empty (expected a path; %p becomes the process id)";
        return LG_EINVAL;
    }
    for (const char *p = pattern; *p; p++) {
        char piece[32] = {p[0], '\0'};
        if (*p == '%') {
            if (p[1] == 'p')
                snprintf(piece, sizeof piece, "%ld", pid);
            else if (p[1] != '%') {
                *why = "'%' must be followed by p (the process id) or % (a '%')";
                return LG_EINVAL;
            }
            p++;
        }
        size_t k = strlen(piece);
        if (n + k >= len) {
            *why = "the path is too long";
            return LG_EINVAL;
        }
        memcpy(out + n, piece, k);
        n += k;
    }
    out[n] = '\0';
    return 0;
}

int lg__log_open(const char *path, const char **why)
{
    int fdno = fd_of_path(path);
    *why = NULL;
    if (fdno >= 0)
        return fcntl(fdno, F_DUPFD_CLOEXEC, 0);
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) &&
        !S_ISCHR(st.st_mode)) {
        bool dir = S_ISDIR(st.st_mode);
        *why = dir ? "is a directory" : "not a regular file, FIFO or character device";
        errno = dir ? EISDIR : EINVAL;
        return -1;
    }
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0666);
}
