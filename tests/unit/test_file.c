/* Tests of the file layer (prim_linux.c): reads are bounded and check the
 * first bytes before reading on; an output is replaced atomically when it is
 * a regular file (through its symlink), written in place when it is a FIFO,
 * a character device or a descriptor, refused otherwise; every failure
 * carries the system's own errno. */
#include "lg_internal.h"
#include "lgtest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static char dir[64];

static const char *path_in(const char *name)
{
    static char buf[4][384];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/lg-file-XXXXXX");
    if (!mkdtemp(dir))
        abort();
}

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(path_in(e->d_name));
    if (d)
        closedir(d);
    rmdir(dir);
}

static int count_entries(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void spill(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        abort();
}

/* The contents of path (static buffer), or "" when unreadable. */
static const char *contents(const char *path)
{
    static char buf[4096];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

static const char *starts_with_x(const unsigned char *head, size_t n, bool whole)
{
    LG_UNUSED(whole);
    return n > 0 && head[0] == 'x' ? NULL : "does not start with x";
}

static const lg__input_kind_t small_x = {1000, "larger than 1000 bytes", starts_with_x};
static const lg__input_kind_t small_any = {1000, "larger than 1000 bytes", NULL};

/* A thread that writes `len` bytes of `byte` into a FIFO or pipe, then
 * closes it. */
struct feeder {
    const char *path; /* opened for writing when fd < 0 */
    int fd;
    char byte;
    size_t len;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    int fd = f->fd >= 0 ? f->fd : open(f->path, O_WRONLY);
    char chunk[256];
    memset(chunk, f->byte, sizeof chunk);
    for (size_t done = 0; fd >= 0 && done < f->len;) {
        size_t k = f->len - done < sizeof chunk ? f->len - done : sizeof chunk;
        ssize_t w = write(fd, chunk, k);
        if (w <= 0)
            break; /* the reader stopped reading */
        done += (size_t)w;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* A thread that reads a FIFO to its end into `got`. */
struct drainer {
    const char *path;
    char got[256];
};

static void *drain(void *arg)
{
    struct drainer *d = arg;
    int fd = open(d->path, O_RDONLY);
    size_t n = 0;
    ssize_t r;
    while (fd >= 0 && n < sizeof d->got - 1 && (r = read(fd, d->got + n, sizeof d->got - 1 - n)) > 0)
        n += (size_t)r;
    d->got[n] = '\0';
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* ---- reading ------------------------------------------------------------ */

LGT_TEST(regular_files_are_read_whole)
{
    make_dir();
    spill(path_in("a"), "xyz\n");
    char *buf;
    size_t len;
    const char *why;
    ASSERT_EQ(lg__file_read(path_in("a"), &small_x, &buf, &len, &why), 0);
    ASSERT_EQ(len, 4);
    ASSERT_STR_EQ(buf, "xyz\n");
    lg__xfree(buf);
    spill(path_in("empty"), "");
    ASSERT_EQ(lg__file_read(path_in("empty"), &small_any, &buf, &len, &why), 0);
    ASSERT_EQ(len, 0);
    ASSERT_STR_EQ(buf, "");
    lg__xfree(buf);
    remove_dir();
}

LGT_TEST(the_first_bytes_are_checked_before_reading_on)
{
    make_dir();
    spill(path_in("a"), "yes, but not x");
    char *buf = (char *)1;
    size_t len;
    const char *why;
    ASSERT_EQ(lg__file_read(path_in("a"), &small_x, &buf, &len, &why), LG_EFORMAT);
    ASSERT_STR_EQ(why, "does not start with x");
    ASSERT(buf == NULL);
    char err[256];
    lg__file_errf(err, sizeof err, "a", LG_EFORMAT, why);
    ASSERT_STR_EQ(err, "a: does not start with x");
    remove_dir();
}

LGT_TEST(files_over_the_cap_are_refused_from_their_size)
{
    make_dir();
    char big[1002];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    spill(path_in("big"), big);
    char *buf;
    size_t len;
    const char *why;
    ASSERT_EQ(lg__file_read(path_in("big"), &small_x, &buf, &len, &why), LG_EFORMAT);
    ASSERT_STR_EQ(why, "larger than 1000 bytes");
    big[1000] = '\0'; /* exactly the cap is fine */
    spill(path_in("big"), big);
    ASSERT_EQ(lg__file_read(path_in("big"), &small_x, &buf, &len, &why), 0);
    ASSERT_EQ(len, 1000);
    lg__xfree(buf);
    remove_dir();
}

LGT_TEST(devices_directories_and_sockets_are_not_read)
{
    char *buf;
    size_t len;
    const char *why;
    static const char *const devices[] = {"/dev/zero", "/dev/urandom", "/dev/null", "/dev/full"};
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
        ASSERT_EQ(lg__file_read(devices[i], &small_any, &buf, &len, &why), LG_EFORMAT);
        ASSERT_STR_EQ(why, "not a regular file or a pipe");
    }
    errno = 0;
    ASSERT_EQ(lg__file_read("/tmp", &small_any, &buf, &len, &why), LG_EIO);
    ASSERT_EQ(errno, EISDIR);
    ASSERT(why == NULL);
    errno = 0;
    ASSERT_EQ(lg__file_read("/nonexistent/x", &small_any, &buf, &len, &why), LG_EIO);
    ASSERT_EQ(errno, ENOENT);
    char err[256];
    lg__file_errf(err, sizeof err, "/nonexistent/x", LG_EIO, why);
    ASSERT_STR_EQ(err, "/nonexistent/x: No such file or directory");

    make_dir();
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path_in("sock"));
    ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    int rc = lg__file_read(path_in("sock"), &small_any, &buf, &len, &why);
    ASSERT(rc == LG_EIO || rc == LG_EFORMAT); /* open(2) says ENXIO */
    close(s);
    remove_dir();
}

LGT_TEST(a_fifo_is_read_to_its_end)
{
    make_dir();
    ASSERT_EQ(mkfifo(path_in("f"), 0600), 0);
    /* The writer comes after the reader opened: it is waited for. */
    struct feeder f = {path_in("f"), -1, 'x', 700};
    pthread_t t;
    pthread_create(&t, NULL, feed, &f);
    char *buf;
    size_t len;
    const char *why;
    ASSERT_EQ(lg__file_read(path_in("f"), &small_x, &buf, &len, &why), 0);
    pthread_join(t, NULL);
    ASSERT_EQ(len, 700);
    ASSERT_EQ(buf[699], 'x');
    lg__xfree(buf);
    remove_dir();
}

LGT_TEST(a_pipe_past_the_cap_is_refused_without_growing)
{
    /* An endless pipe (a writer that would go on for 10 MB) stops at the
     * cap: the reader holds at most cap + 1 bytes and closes. */
    signal(SIGPIPE, SIG_IGN);
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    struct feeder f = {NULL, p[1], 'x', 10 << 20};
    pthread_t t;
    pthread_create(&t, NULL, feed, &f);
    char path[64], *buf;
    size_t len;
    const char *why;
    snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
    ASSERT_EQ(lg__file_read(path, &small_x, &buf, &len, &why), LG_EFORMAT);
    ASSERT_STR_EQ(why, "larger than 1000 bytes");
    close(p[0]);
    pthread_join(t, NULL);
    signal(SIGPIPE, SIG_DFL);

    /* A pipe of random bytes is refused by the check at its first bytes. */
    ASSERT_EQ(pipe(p), 0);
    struct feeder g = {NULL, p[1], 'y', 10 << 20};
    signal(SIGPIPE, SIG_IGN);
    pthread_create(&t, NULL, feed, &g);
    snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
    ASSERT_EQ(lg__file_read(path, &small_x, &buf, &len, &why), LG_EFORMAT);
    ASSERT_STR_EQ(why, "does not start with x");
    close(p[0]);
    pthread_join(t, NULL);
    signal(SIGPIPE, SIG_DFL);
}

/* ---- writing ------------------------------------------------------------ */

LGT_TEST(a_regular_file_is_replaced_and_keeps_its_mode)
{
    make_dir();
    const char *why;
    ASSERT_EQ(lg__file_write(path_in("new"), "one", 3, &why), 0);
    ASSERT_STR_EQ(contents(path_in("new")), "one");
    spill(path_in("old"), "old text");
    chmod(path_in("old"), 0640);
    struct stat before, after;
    stat(path_in("old"), &before);
    ASSERT_EQ(lg__file_write(path_in("old"), "new text", 8, &why), 0);
    ASSERT_STR_EQ(contents(path_in("old")), "new text");
    stat(path_in("old"), &after);
    ASSERT_EQ(after.st_mode & 07777, 0640);
    ASSERT_NE(after.st_ino, before.st_ino); /* replaced, not rewritten */
    ASSERT_EQ(count_entries(), 2);          /* no temporary file left */
    remove_dir();
}

LGT_TEST(a_symlink_stays_and_its_target_is_replaced)
{
    make_dir();
    const char *why;
    ASSERT_EQ(mkdir(path_in("sub"), 0755), 0);
    spill(path_in("sub/target"), "old");
    ASSERT_EQ(symlink("sub/target", path_in("link")), 0);  /* relative */
    ASSERT_EQ(symlink(path_in("link"), path_in("link2")), 0); /* a chain */
    ASSERT_EQ(lg__file_write(path_in("link2"), "new", 3, &why), 0);
    struct stat st;
    ASSERT_EQ(lstat(path_in("link"), &st), 0);
    ASSERT(S_ISLNK(st.st_mode));
    ASSERT_EQ(lstat(path_in("link2"), &st), 0);
    ASSERT(S_ISLNK(st.st_mode));
    ASSERT_STR_EQ(contents(path_in("sub/target")), "new");
    /* A dangling link: its target is created. */
    ASSERT_EQ(symlink("sub/later", path_in("dangling")), 0);
    ASSERT_EQ(lg__file_write(path_in("dangling"), "made", 4, &why), 0);
    ASSERT_STR_EQ(contents(path_in("sub/later")), "made");
    ASSERT_EQ(lstat(path_in("dangling"), &st), 0);
    ASSERT(S_ISLNK(st.st_mode));
    /* A loop is the system's ELOOP. */
    ASSERT_EQ(symlink("loop", path_in("loop")), 0);
    errno = 0;
    ASSERT_EQ(lg__file_write(path_in("loop"), "x", 1, &why), LG_EIO);
    ASSERT_EQ(errno, ELOOP);
    unlink(path_in("sub/target"));
    unlink(path_in("sub/later"));
    rmdir(path_in("sub"));
    remove_dir();
}

LGT_TEST(a_fifo_is_written_in_place_for_its_reader)
{
    make_dir();
    ASSERT_EQ(mkfifo(path_in("f"), 0600), 0);
    struct drainer d = {path_in("f"), ""};
    pthread_t t;
    pthread_create(&t, NULL, drain, &d);
    const char *why;
    ASSERT_EQ(lg__file_write(path_in("f"), "through the fifo", 16, &why), 0);
    pthread_join(t, NULL);
    ASSERT_STR_EQ(d.got, "through the fifo");
    struct stat st;
    ASSERT_EQ(lstat(path_in("f"), &st), 0);
    ASSERT(S_ISFIFO(st.st_mode)); /* still a FIFO */
    remove_dir();
}

LGT_TEST(devices_are_written_in_place_with_their_errors)
{
    const char *why;
    ASSERT_EQ(lg__file_write("/dev/null", "x", 1, &why), 0);
    errno = 0;
    ASSERT_EQ(lg__file_write("/dev/full", "x", 1, &why), LG_EIO);
    ASSERT_EQ(errno, ENOSPC);
    struct stat st;
    ASSERT_EQ(stat("/dev/full", &st), 0);
    ASSERT(S_ISCHR(st.st_mode)); /* not replaced by a regular file */
    char err[256];
    ASSERT_EQ(lg_file_write("/dev/full", "x", 1, err, sizeof err), LG_EIO);
    ASSERT_STR_EQ(err, "/dev/full: No space left on device");
}

LGT_TEST(descriptor_paths_write_through_the_descriptor)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    char path[64], got[64] = "";
    const char *why;
    snprintf(path, sizeof path, "/dev/fd/%d", p[1]);
    ASSERT_EQ(lg__file_write(path, "one ", 4, &why), 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    ASSERT_EQ(lg__file_write(path, "two", 3, &why), 0);
    close(p[1]);
    ASSERT_EQ(read(p[0], got, sizeof got - 1), 7);
    ASSERT_STR_EQ(got, "one two");
    close(p[0]);

    /* /dev/stdout: fd 1 at its offset, whatever it is open on. */
    make_dir();
    int saved = dup(1);
    int fd = open(path_in("out"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(write(fd, "before ", 7), 7);
    dup2(fd, 1);
    close(fd);
    int rc = lg__file_write("/dev/stdout", "after", 5, &why);
    dup2(saved, 1);
    close(saved);
    ASSERT_EQ(rc, 0);
    ASSERT_STR_EQ(contents(path_in("out")), "before after");
    remove_dir();
}

LGT_TEST(directories_and_sockets_are_refused)
{
    make_dir();
    const char *why;
    char err[256];
    ASSERT_EQ(lg__file_write(dir, "x", 1, &why), LG_EFORMAT);
    ASSERT_STR_EQ(why, "is a directory");
    ASSERT_EQ(lg_file_write("..", "x", 1, err, sizeof err), LG_EIO);
    ASSERT_STR_EQ(err, "..: is a directory");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path_in("sock"));
    ASSERT_EQ(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(lg__file_write(path_in("sock"), "x", 1, &why), LG_EFORMAT);
    ASSERT_STR_EQ(why, "not a regular file, FIFO or character device");
    struct stat st;
    ASSERT_EQ(lstat(path_in("sock"), &st), 0);
    ASSERT(S_ISSOCK(st.st_mode));
    close(s);
    errno = 0;
    ASSERT_EQ(lg__file_write("", "x", 1, &why), LG_EIO);
    ASSERT_EQ(errno, ENOENT);
    remove_dir();
}

LGT_TEST(a_failed_write_leaves_the_old_file_and_no_temporary)
{
    make_dir();
    spill(path_in("r"), "old contents");
    const char *why;
    /* The disk fills up half-way (the file size limit stands in). */
    struct rlimit old, small = {.rlim_cur = 4};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    int rc = lg__file_write(path_in("r"), "much newer contents", 19, &why);
    int e = errno;
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(rc, LG_EIO);
    ASSERT_EQ(e, EFBIG);
    ASSERT_STR_EQ(contents(path_in("r")), "old contents");
    ASSERT_EQ(count_entries(), 1);

    /* Out of descriptors: EMFILE itself, not "input/output error". */
    struct rlimit fds, one;
    getrlimit(RLIMIT_NOFILE, &fds);
    one = fds;
    one.rlim_cur = 3; /* only stdin, stdout, stderr */
    int extra[64], n = 0;
    setrlimit(RLIMIT_NOFILE, &one);
    while (n < 64 && (extra[n] = open("/dev/null", O_RDONLY)) >= 0)
        n++;
    char err[256];
    rc = lg_file_write(path_in("r"), "x", 1, err, sizeof err);
    for (int i = 0; i < n; i++)
        close(extra[i]);
    setrlimit(RLIMIT_NOFILE, &fds);
    ASSERT_EQ(rc, LG_EIO);
    ASSERT_CONTAINS(err, "Too many open files");
    ASSERT_STR_EQ(contents(path_in("r")), "old contents");
    remove_dir();
}

LGT_TEST(an_output_can_be_abandoned)
{
    make_dir();
    spill(path_in("r"), "old");
    lg__out_t o;
    const char *why;
    ASSERT_EQ(lg__out_open(&o, path_in("r"), &why), 0);
    lg__out_write(&o, "half", 4);
    ASSERT_EQ(lg__out_close(&o, false), 0);
    ASSERT_STR_EQ(contents(path_in("r")), "old");
    ASSERT_EQ(count_entries(), 1);
    remove_dir();
}

LGT_MAIN()
