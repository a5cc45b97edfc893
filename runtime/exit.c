/*
 * exit.c — the exit snapshots of `leakgate run` and `leakgate tap`: which
 * processes of the traced tree leave one, and writing it when they exit.
 *
 * The command sets, for the whole tree (every exec'd descendant inherits
 * the preload and these variables):
 *
 *   LEAKGATE_RUN_SNAPSHOT=D/exit.lgsnap  CMD's exit snapshot; D is the
 *                                        run's private directory
 *   LEAKGATE_RUN_PID=P                   CMD's process id
 *   LEAKGATE_RUN_CHILDREN=G1\nG2...      descendants whose program path
 *                                        (real path of /proc/self/exe)
 *                                        matches a glob leave D/<pid>.lgsnap
 *
 * At start-up (lg__exit_init, before tracing starts) every process records
 * its program path and command line in D/<pid>.seen, so that the command can say which
 * programs ran and were not judged.  A process that will leave a snapshot
 * opens its file now, and keeps LG_EXIT_SPARE_FDS more descriptors and
 * LG_EXIT_SPARE_MAP bytes of address space (PROT_NONE: no memory): a
 * program that exhausts its descriptors or its address space (ulimit -v)
 * must still get its verdict, and the symbolizer needs to open and map
 * the objects' files at exit (libdw crashes when it cannot).  An empty file
 * after the process ended means it left no snapshot (_exit, a signal).
 *
 * If the program closed the descriptor by exit, the file is opened again
 * (descriptors are free then); its identity is checked first, as the
 * number may name another file by then.
 *
 * At exit (lg__exit_dump), only the process that started here dumps: a
 * forked copy (a Criterion worker, a child that never exec'd) has another
 * pid and leaves nothing.  The snapshot holds each block's leak kind: a
 * reachability scan runs first (O(heap), once per judged process).  The
 * choice of what is judged stays with the command: the runtime only
 * matches the globs it is given.
 */
#include "lg_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LG_EXIT_SPARE_FDS 8
#define LG_EXIT_SPARE_MAP ((size_t)32 << 20) /* address space for the exit work */

static struct {
    long pid;        /* the process that opened fd; a fork copy differs */
    int fd;          /* the snapshot file, or -1: nothing to leave */
    /* LG_EXIT_BYPASSED and the other allocator's path, or "": found at
     * start, as a dlsym call at exit would free the program's last dlsym
     * error untraced (the allocator in force cannot change meanwhile). */
    char bypassed[600];
    int spare[LG_EXIT_SPARE_FDS]; /* released at exit; -1 when none */
    void *spare_map; /* LG_EXIT_SPARE_MAP bytes of PROT_NONE, released at exit */
    dev_t dev; /* the file fd was opened on: a program may close it, and */
    ino_t ino; /*   its number may then name another file */
    char path[PATH_MAX];
} X = {.fd = -1};

/* Whether `fd` is still the file opened as X.dev, X.ino. */
static bool still_ours(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == X.dev && st.st_ino == X.ino;
}

/* Whether `exe` matches one of the newline-separated globs. */
static bool matches(const char *globs, const char *exe)
{
    char one[PATH_MAX];
    while (globs && *globs) {
        size_t n = strcspn(globs, "\n");
        if (n && n < sizeof one) {
            memcpy(one, globs, n);
            one[n] = '\0';
            if (fnmatch(one, exe, 0) == 0)
                return true;
        }
        globs += n + (globs[n] == '\n');
    }
    return false;
}

/* Writes `len` bytes of `text` into a new file `path` (the .seen record). */
static void write_small(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    ssize_t w = write(fd, text, len);
    (void)w;
    close(fd);
}

#ifndef LG_NO_INTERPOSE
/* The object that defines `name` for the program: where dlsym finds it,
 * unless that is a non-PIE program's own PLT entry (a program that takes
 * the address of free gets one, an undefined symbol with an address: cc1
 * does); then the first object after the program that defines it, in the
 * order of the global scope (the link map's).  0 when not found. */
static int definer(const char *name, Dl_info *out)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    const ElfW(Sym) *sym = NULL;
    if (!f || !dladdr1(f, out, (void **)&sym, RTLD_DL_SYMENT))
        return 0;
    if (!sym || sym->st_shndx != SHN_UNDEF)
        return 1;
    void *self = dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD);
    struct link_map *l = NULL;
    int ok = self && dlinfo(self, RTLD_DI_LINKMAP, &l) == 0 && l;
    if (self)
        dlclose(self);
    if (!ok)
        return 0;
    for (l = l->l_next; l; l = l->l_next) {
        void *h = dlopen(l->l_name, RTLD_LAZY | RTLD_NOLOAD);
        void *g = h ? dlsym(h, name) : NULL;
        if (h)
            dlclose(h);
        if (g && dladdr(g, out) && (uintptr_t)out->dli_fbase == (uintptr_t)l->l_addr)
            return 1;
    }
    return 0;
}
#endif

/* The hooks and this file are in the same object (libleakgate.so, or the
 * program it is linked into), so this file's own address names it. */
int lg_hooks_in_force(char *lib, size_t len)
{
#ifdef LG_NO_INTERPOSE
    LG_UNUSED(lib);
    LG_UNUSED(len);
    return 1; /* sanitizer builds: the tests call the hooks by name */
#else
    static const char *const names[] = {"malloc", "calloc", "realloc", "free"};
    Dl_info mine, found;
    if (!dladdr((void *)lg_hooks_in_force, &mine))
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (definer(names[i], &found) && found.dli_fbase != mine.dli_fbase) {
            if (lib && len)
                snprintf(lib, len, "%s", found.dli_fname ? found.dli_fname : "?");
            return 0;
        }
    }
    return 1;
#endif
}

void lg__exit_init(const char *other)
{
    const char *snap = getenv("LEAKGATE_RUN_SNAPSHOT"), *cmd = getenv("LEAKGATE_RUN_PID");
    const char *slash = snap ? strrchr(snap, '/') : NULL;
    if (!slash || !cmd || !*cmd)
        return;
    long me = (long)getpid();
    char exe[PATH_MAX], seen[PATH_MAX + 32];
    if (!realpath("/proc/self/exe", exe))
        exe[0] = '\0';
    int dlen = (int)(slash - snap);
    snprintf(seen, sizeof seen, "%.*s/%ld.seen", dlen, snap, me);
    /* "program path\0command line\0": the command names what it judges
     * by the command line, as it names CMD.  A path may hold any byte but
     * NUL; the command line's NULs and newlines become spaces. */
    char line[PATH_MAX + 4096], args[4096] = "";
    int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = cfd >= 0 ? read(cfd, args, sizeof args - 1) : 0;
    if (cfd >= 0)
        close(cfd);
    for (ssize_t i = 0; i < n; i++)
        if (args[i] == '\0' || args[i] == '\n')
            args[i] = i == n - 1 ? '\0' : ' ';
    args[n > 0 ? n : 0] = '\0';
    int len = snprintf(line, sizeof line, "%s%c%s", exe, '\0', args);
    write_small(seen, line, (size_t)len + 1);
    if (atol(cmd) == me)
        snprintf(X.path, sizeof X.path, "%s", snap);
    else if (exe[0] && matches(getenv("LEAKGATE_RUN_CHILDREN"), exe))
        snprintf(X.path, sizeof X.path, "%.*s/%ld.lgsnap", dlen, snap, me);
    else
        return;
    X.fd = open(X.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (X.fd < 0) {
        lg__error("cannot create the exit snapshot %s: %s", X.path, strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(X.fd, &st) == 0) {
        X.dev = st.st_dev;
        X.ino = st.st_ino;
    }
    X.pid = me;
    if (other)
        snprintf(X.bypassed, sizeof X.bypassed, "%s%s", LG_EXIT_BYPASSED, other);
    for (int i = 0; i < LG_EXIT_SPARE_FDS; i++)
        X.spare[i] = fcntl(X.fd, F_DUPFD_CLOEXEC, 0);
    X.spare_map = mmap(NULL, LG_EXIT_SPARE_MAP, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
}

void lg__exit_dump(void)
{
    if (X.fd < 0 || (long)getpid() != X.pid || !lg__tracing())
        return;
    lg__in_hook = 1; /* from here on nothing is traced: the report is final */
    for (int i = 0; i < LG_EXIT_SPARE_FDS; i++)
        if (still_ours(X.spare[i]))
            close(X.spare[i]);
    if (X.spare_map != MAP_FAILED && X.spare_map)
        munmap(X.spare_map, LG_EXIT_SPARE_MAP);
    /* The program closed our descriptor (closefrom, a daemon's clean-up):
     * the file is still there, and descriptors are free now. */
    if (!still_ours(X.fd)) {
        X.fd = open(X.path, O_WRONLY | O_CLOEXEC);
        if (X.fd < 0) {
            lg__error("cannot write the exit snapshot %s: %s", X.path, strerror(errno));
            return;
        }
    }
    lg_snapshot_t *snap;
    /* An interpreter's process: its adapter gave the verdicts, so the exit
     * snapshot only says so (an empty one with the user data below). */
    /* Another allocator in force: what the snapshot holds proves nothing;
     * it says so instead (LG_EXIT_BYPASSED, then the allocator's path). */
    bool bypassed = X.bypassed[0] != '\0';
    int rc;
    if (lg__interp_seen() || bypassed) {
        rc = lg_snapshot_new(0, &snap);
    } else {
        /* Each block's kind, for the command's verdict (--leak-kinds).
         * Without a scan the blocks have no kind, and all count. */
        lg_scan_t *scan = NULL;
        if ((rc = lg_scan_take(&scan)) != 0)
            lg__error("no leak kinds at exit: %s; every block left counts", lg_strerror(rc));
        rc = lg_snapshot_take_kinds(scan, &snap);
        lg_scan_free(scan);
    }
    if (rc == 0 && bypassed)
        rc = lg_snapshot_set_user_data(snap, X.bypassed, strlen(X.bypassed));
    else if (rc == 0 && lg__interp_seen())
        rc = lg_snapshot_set_user_data(snap, LG_EXIT_INTERPRETER, strlen(LG_EXIT_INTERPRETER));
    if (rc == 0) {
        rc = lg__snapshot_dump_fd(snap, X.fd);
        lg_snapshot_free(snap);
    }
    if (rc != 0)
        lg__error("cannot write the exit snapshot %s: %s", X.path,
                  rc == LG_EIO ? strerror(errno) : lg_strerror(rc));
    close(X.fd);
    X.fd = -1;
}
