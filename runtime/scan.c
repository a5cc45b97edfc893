/*
 * scan.c — leak kinds: a conservative reachability scan of the traced heap.
 *
 * Entry point: lg_scan_take().  It stops every other thread, reads the
 * roots word by word, marks the traced live blocks of the C and Python
 * domains that the roots reach (through start and interior pointers,
 * transitively), and classifies every block as memcheck does:
 *
 *   reachable  a chain of start pointers leads to it from a root
 *   possible   a chain leads to it, with at least one interior pointer
 *   indirect   no chain from a root, but a lost block points to it
 *   definite   nothing that is not lost points to it (the "clique
 *              leader": one block per lost structure, e.g. a list's head)
 *
 * Blocks and their look-up: the trace table gives address -> size.  The
 * scan copies the traces into an array sorted by address (radix sort),
 * so that the block holding a word, at its start or inside it, is found by
 * binary search.  Every array the scan uses comes from mmap, never from an
 * allocator: while the world is stopped, a stopped thread may hold malloc's
 * locks.
 *
 *   blk[]:  | addr | size (top bit: Python domain) |   sorted by addr
 *   kind[]: | state (2 bits) | unreadable bit |        parallel to blk[]
 *
 * Roots (where the scan differs from LeakSanitizer and memcheck, it says):
 *   - the writable PT_LOAD segments of every loaded object, as both do;
 *     except the tracer's own object when it is a separate library
 *     (libleakgate.so: its tables are not the program's), and in the
 *     object of the real allocator (the C library) only pointers to a
 *     block's start count: glibc's malloc keeps its free lists and top
 *     chunk there, pointing at chunk headers that lie 16 bytes before the
 *     next block, i.e. inside the block before it.  LeakSanitizer and
 *     memcheck replace malloc and do not have this problem.
 *   - every thread's stack from its stack pointer up, with the registers
 *     the signal frame saved (other threads) or that the scanning call
 *     spilled (this thread), and its static TLS and thread descriptor
 *     (pthread_setspecific values, the dynamic TLS vector).  A thread's
 *     stack top is its descriptor (glibc keeps it at the top of a thread's
 *     stack), the end of the [stack] mapping for the main thread.
 *   - not scanned: memory the program mapped itself (mmap), which memcheck
 *     scans and LeakSanitizer does not (it wants root regions registered);
 *     and heap blocks that are not traced (allocated before tracing began,
 *     or the tracer's own), which memcheck and LeakSanitizer know as
 *     blocks.  A block reachable only through such memory is reported as
 *     lost.
 *   Words are read at pointer alignment only, as both do.  A word that
 *   holds the address of the glibc chunk header inside a block's last 8
 *   bytes is not a pointer into it (see next_chunk_header).
 *
 * Stopping the world, and why it cannot deadlock:
 *   1. scan.lock serializes scans (and is taken around fork, so a child
 *      never inherits it held).
 *   2. dl_iterate_phdr() holds the loader's list lock for the whole scan,
 *      as LeakSanitizer does, so no object is mapped or unmapped under it.
 *      The trace table locks are taken inside it.  Nothing that holds a
 *      table lock waits for the loader lock: the table's critical sections
 *      only touch the table and the real allocator, and the hooks capture
 *      tracebacks (which may call dl_iterate_phdr) before taking one.
 *   3. With every table lock held, the traces are copied: a block cannot
 *      be freed or allocated in the table meanwhile, and a block freed
 *      after step 4 has its trace removed first, which waits for step 7.
 *      So every copied block stays allocated until the scan ends.
 *   4. Each other thread (from /proc/self/task, read with getdents64 into
 *      a stack buffer) gets a real-time signal with tgkill.  Its handler
 *      records its stack pointer and thread pointer, publishes "stopped",
 *      and waits on a futex for the scan to end.  It allocates nothing and
 *      takes no lock, so a thread stopped anywhere (in malloc, holding a
 *      stdio lock, waiting for a table lock) is fine.  Threads created
 *      meanwhile are found by reading the task list again until a round
 *      finds none.  A thread that exits meanwhile is dropped (tgkill says
 *      ESRCH); one that does not answer within 5 s makes the scan fail
 *      with LG_ENOSTOP (another handler took the signal).  A thread that
 *      has not stopped after 50 ms, blocks the signal and sleeps in a
 *      system call (a test runner's event thread) is read from the stack
 *      pointer the kernel shows (see sleeping_in_syscall); at once in the
 *      first scan of a process (no thread can be in the handler for an
 *      earlier one, the reason for the wait).
 *   5. While the world is stopped the scanner makes system calls and reads
 *      memory; it never allocates, and never takes a lock.
 *   6. The world resumes; then the table locks and the loader lock go.
 * The signal's handler stays installed once a scan ran: a signal sent by a
 *   scan that gave up may still arrive, and must not kill the thread.
 * fork: a forked child has one thread and consistent tables (trace.c's
 *   fork handlers), and scans normally.
 */
#include "lg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/futex.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define LG_HAVE_MEMCHECK 1
#endif
#endif

#define MAX_THREADS 4096
#define MAX_SEGS    4096
#define MAX_MAPS    65536
#define NREGS       32 /* general registers kept per thread */
#define DOM_BIT     ((size_t)1 << (sizeof(size_t) * 8 - 1))
#define UNREADABLE  0x80
#define STATE(k)    ((k)&3)
#define STOP_WAIT_NS (5 * 1000000000LL)

/* Reading memory that other code owns: stack redzones, globals' padding. */
#define NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))

struct blk {
    uintptr_t addr;
    size_t size; /* DOM_BIT: a Python-domain block */
};

struct range {
    uintptr_t lo, hi;
    bool start_only; /* only pointers to a block's start count */
};

struct map {
    uintptr_t lo, hi;
    bool readable;
};

/* PASSIVE: the thread blocks the stop signal and sleeps in a system call;
 * it is scanned from the stack pointer the kernel shows (below). */
enum { SLOT_FREE, SLOT_SIGNALED, SLOT_STOPPING, SLOT_STOPPED, SLOT_GONE, SLOT_PASSIVE };

/* One thread asked to stop.  Fields are atomic: a signal from an earlier
 * scan may reach a thread while the slots are being rewritten. */
struct slot {
    _Atomic pid_t tid;
    _Atomic unsigned scan; /* id of the scan that signaled it */
    _Atomic int state;
    uintptr_t sp, tp;      /* written before state becomes STOPPED */
    uintptr_t regs[NREGS]; /* general registers at the signal */
};

struct lg_scan {
    struct blk *blk; /* sorted by address; mmap'd with kind */
    uint8_t *kind;
    size_t n;
    size_t map_bytes;
    lg_scan_stats_t stats;
};

static struct {
    pthread_mutex_t lock; /* one scan at a time; held across fork */
    int sig;              /* the stop signal, installed once */
    size_t tls_static;    /* static TLS size (glibc), 0 if unknown */
    size_t tcb_size;      /* sizeof(struct pthread) (glibc) */
    unsigned next_id;     /* protected by lock */
    pid_t signaled_pid;   /* the process an earlier scan signaled; protected by lock */
    _Atomic unsigned scan_id;    /* the scan stopping threads now; 0: none */
    _Atomic unsigned resumed_id; /* futex word: the last scan that resumed */
    _Atomic size_t nslots;
    struct slot slots[MAX_THREADS];
    /* Scratch of the scan in progress (protected by lock). */
    struct range roots[MAX_SEGS + 2 * MAX_THREADS + 2];
    size_t nroots;
} sc = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- small system helpers (no allocation, no lock) --------------------- */

static pid_t gettid_raw(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static void futex_wait(_Atomic unsigned *word, unsigned val)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *word)
{
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *map_anon(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ---- the stop signal ----------------------------------------------------- */

/* The interrupted stack pointer (less the red zone that leaf functions use
 * below it) and the general registers; the floating-point state is not a
 * root, as in memcheck and LeakSanitizer. */
static void save_context(struct slot *s, void *ctx)
{
    const ucontext_t *uc = ctx;
#if defined(__x86_64__)
    for (int i = 0; i < NGREG && i < NREGS; i++)
        s->regs[i] = (uintptr_t)uc->uc_mcontext.gregs[i];
    s->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP] - 128;
#elif defined(__aarch64__)
    for (int i = 0; i < 31 && i < NREGS; i++)
        s->regs[i] = (uintptr_t)uc->uc_mcontext.regs[i];
    s->sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    LG_UNUSED(uc);
    s->sp = (uintptr_t)__builtin_frame_address(0);
#endif
}

static void on_stop_signal(int sig, siginfo_t *si, void *uc)
{
    LG_UNUSED(sig);
    int saved = errno;
    unsigned id = atomic_load_explicit(&sc.scan_id, memory_order_acquire);
    if (!id || si->si_code != SI_TKILL || si->si_pid != getpid())
        goto out;
    pid_t tid = gettid_raw();
    size_t n = atomic_load_explicit(&sc.nslots, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        struct slot *s = &sc.slots[i];
        if (atomic_load(&s->tid) != tid || atomic_load(&s->scan) != id)
            continue;
        int expect = SLOT_SIGNALED;
        if (!atomic_compare_exchange_strong(&s->state, &expect, SLOT_STOPPING))
            break;
        save_context(s, uc);
        s->tp = (uintptr_t)pthread_self();
        atomic_store_explicit(&s->state, SLOT_STOPPED, memory_order_release);
        /* Until this scan, or a later one, resumed its threads. */
        unsigned r;
        while ((int)((r = atomic_load_explicit(&sc.resumed_id, memory_order_acquire)) - id) < 0)
            futex_wait(&sc.resumed_id, r);
        break;
    }
out:
    errno = saved;
}

static void tls_geometry(void)
{
    void (*tls_info)(size_t *, size_t *) =
        (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    if (tls_info) {
        size_t align;
        tls_info(&sc.tls_static, &align);
    }
    const unsigned *tcb = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
    sc.tcb_size = tcb ? *tcb : 2304;
}

void lg__scan_prepare(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, tls_geometry);
}

/* Once, before the first scan: the signal. */
static int scan_init_locked(void)
{
    if (sc.sig)
        return 0;
    lg__scan_prepare(); /* done by lg_start: tracing is on */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stop_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    int sig = SIGRTMAX - 4;
    if (sigaction(sig, &sa, NULL) != 0)
        return LG_ENOSTOP;
    sc.sig = sig;
    return 0;
}

/* ---- one scan's state ---------------------------------------------------- */

struct run {
    uintptr_t self_sp, self_tp;
    pid_t self_tid;
    int rc;
    bool done;
    /* blocks */
    struct blk *blk, *tmp;
    uint8_t *kind;
    uint32_t *stack;
    size_t n, cap, sp;
    size_t map_bytes, scratch_bytes;
    uintptr_t lo, hi; /* lowest block start, highest block end */
    struct page *pages; /* page table, mmap'd with big */
    uint32_t *big;      /* indices of blocks bigger than PAGE_SPAN pages */
    size_t page_mask, nbig, pages_bytes;
    /* modules */
    uintptr_t own_text, alloc_text;
    struct map *maps;
    size_t nmaps, maps_bytes;
    bool copy_words; /* under memcheck: read through a buffer marked defined */
    lg_scan_stats_t stats;
};

static void copy_trace(void *ctx, uint32_t domain, uintptr_t ptr, size_t size, uint32_t tb)
{
    struct run *r = ctx;
    LG_UNUSED(tb);
    if ((domain != LG_DOMAIN_C && domain != LG_DOMAIN_PYTHON) || r->n == r->cap)
        return;
    r->blk[r->n++] =
        (struct blk){ptr, (size & ~DOM_BIT) | (domain == LG_DOMAIN_PYTHON ? DOM_BIT : 0)};
}

/* Sizes the arrays for `cap` blocks: blk and kind are kept in the result,
 * tmp and the mark stack are scratch. */
static int arrays_alloc(struct run *r, size_t cap)
{
    r->cap = cap;
    r->map_bytes = cap * (sizeof *r->blk + 1) + 64;
    r->scratch_bytes = cap * (sizeof *r->tmp + 2 * sizeof *r->stack) + 64;
    r->blk = map_anon(r->map_bytes);
    void *scratch = map_anon(r->scratch_bytes);
    if (!r->blk || !scratch) {
        if (r->blk)
            munmap(r->blk, r->map_bytes);
        if (scratch)
            munmap(scratch, r->scratch_bytes);
        r->blk = NULL;
        return LG_ENOMEM;
    }
    r->kind = (uint8_t *)(r->blk + cap);
    r->tmp = scratch;
    r->stack = (uint32_t *)(r->tmp + cap);
    return 0;
}

/* LSD radix sort by address, 12 bits a pass; passes whose digit is the
 * same for every block are skipped (the high bits mostly are). */
static void sort_blocks(struct run *r)
{
    enum { BITS = 12, BUCKETS = 1 << BITS };
    uint32_t count[BUCKETS];
    struct blk *src = r->blk, *dst = r->tmp;
    for (unsigned shift = 0; shift < sizeof(uintptr_t) * 8; shift += BITS) {
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < r->n; i++)
            count[(src[i].addr >> shift) & (BUCKETS - 1)]++;
        if (r->n == 0 || count[(src[0].addr >> shift) & (BUCKETS - 1)] == r->n)
            continue;
        uint32_t sum = 0;
        for (unsigned b = 0; b < BUCKETS; b++) {
            uint32_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < r->n; i++)
            dst[count[(src[i].addr >> shift) & (BUCKETS - 1)]++] = src[i];
        struct blk *t = src;
        src = dst;
        dst = t;
    }
    if (src != r->blk)
        memcpy(r->blk, src, r->n * sizeof *src);
}

static inline size_t blk_size(const struct blk *b)
{
    return b->size & ~DOM_BIT;
}

/* ---- finding the block that holds a word --------------------------------
 *
 * A word is first checked against [lowest block start, highest block end),
 * then looked up by its page in an open-addressing table built after the
 * sort: each page that a block starts in, or that a block of at most
 * PAGE_SPAN pages covers, maps to the blocks starting in it (a run of the
 * sorted array), searched by bisection; the block before that run may
 * reach into the page.  Bigger blocks are few and have their own sorted
 * list.  Most words that are not pointers are rejected by the range or by
 * one probe of a table that stays in cache.
 *
 *   page -> | page + 1 | first | count |      key 0 = empty
 */
#define PAGE_SHIFT 12
#define PAGE_SPAN  256

struct page {
    uintptr_t key; /* page number + 1 */
    uint32_t first, count;
};

static inline size_t page_home(uintptr_t page, size_t mask)
{
    return (size_t)((page * 0x9e3779b97f4a7c15ull) >> 20) & mask;
}

static struct page *page_slot(struct run *r, uintptr_t page)
{
    size_t i = page_home(page, r->page_mask);
    while (r->pages[i].key && r->pages[i].key != page + 1)
        i = (i + 1) & r->page_mask;
    return &r->pages[i];
}

/* Builds the page table and the list of big blocks; 0 or LG_ENOMEM. */
static int pages_build(struct run *r)
{
    size_t need = 0, nbig = 0;
    for (size_t i = 0; i < r->n; i++) {
        size_t span = (blk_size(&r->blk[i]) >> PAGE_SHIFT) + 2;
        if (span > PAGE_SPAN)
            nbig++, span = 1;
        need += span;
    }
    size_t cap = 64;
    while (cap < 2 * need)
        cap *= 2;
    r->pages_bytes = cap * sizeof *r->pages + (nbig + 1) * sizeof *r->big;
    r->pages = map_anon(r->pages_bytes);
    if (!r->pages)
        return LG_ENOMEM;
    r->big = (uint32_t *)(r->pages + cap);
    r->page_mask = cap - 1;
    for (size_t i = 0; i < r->n; i++) {
        uintptr_t a = r->blk[i].addr, size = blk_size(&r->blk[i]);
        uintptr_t p = a >> PAGE_SHIFT, last = (a + (size ? size : 1) - 1) >> PAGE_SHIFT;
        struct page *e = page_slot(r, p);
        if (!e->key)
            *e = (struct page){p + 1, (uint32_t)i, 0};
        e->count++;
        if (last - p + 1 > PAGE_SPAN) {
            r->big[r->nbig++] = (uint32_t)i;
            continue;
        }
        for (uintptr_t q = p + 1; q <= last; q++) {
            e = page_slot(r, q);
            if (!e->key) /* no block starts in q before i + 1 does */
                *e = (struct page){q + 1, (uint32_t)(i + 1), 0};
        }
    }
    return 0;
}

static inline bool holds(const struct run *r, size_t i, uintptr_t w)
{
    size_t size = blk_size(&r->blk[i]);
    return w - r->blk[i].addr < (size ? size : 1);
}

/* Index of the block holding address w (a zero-sized block holds its own
 * address, as in memcheck), or SIZE_MAX. */
static inline size_t find_block(const struct run *r, uintptr_t w)
{
    if (w < r->lo || w >= r->hi)
        return SIZE_MAX;
    uintptr_t p = w >> PAGE_SHIFT;
    size_t k = page_home(p, r->page_mask);
    while (r->pages[k].key && r->pages[k].key != p + 1)
        k = (k + 1) & r->page_mask;
    if (r->pages[k].key) {
        /* The last block of the page's run starting at or before w. */
        size_t lo = r->pages[k].first, hi = lo + r->pages[k].count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (r->blk[mid].addr <= w)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && holds(r, lo - 1, w))
            return lo - 1;
    }
    /* Otherwise only a big block can hold it. */
    size_t lo = 0, hi = r->nbig;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->blk[r->big[mid]].addr <= w)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && holds(r, r->big[lo - 1], w) ? r->big[lo - 1] : SIZE_MAX;
}

/* ---- /proc/self/maps, read without stdio -------------------------------- */

static uintptr_t parse_hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9')
            v = v << 4 | (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uintptr_t)(c - 'a' + 10);
        else
            return v;
    }
}

static void maps_add_line(struct run *r, const char *line)
{
    if (r->nmaps == MAX_MAPS)
        return;
    const char *p = line;
    uintptr_t lo = parse_hex(&p);
    if (*p++ != '-')
        return;
    uintptr_t hi = parse_hex(&p);
    if (*p++ != ' ')
        return;
    r->maps[r->nmaps++] = (struct map){lo, hi, *p == 'r'};
}

static void maps_read(struct run *r)
{
    char buf[4096];
    char line[256];
    size_t len = 0;
    r->nmaps = 0;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] == '\n') {
                line[len] = '\0';
                maps_add_line(r, line);
                len = 0;
            } else if (len + 1 < sizeof line) {
                line[len++] = buf[i];
            }
        }
    }
    close(fd);
}

static const struct map *map_of(const struct run *r, uintptr_t a)
{
    size_t lo = 0, hi = r->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a < r->maps[mid].lo)
            hi = mid;
        else if (a >= r->maps[mid].hi)
            lo = mid + 1;
        else
            return &r->maps[mid];
    }
    return NULL;
}

/* Flags blocks that do not lie in readable memory (a block freed behind
 * the tracer's back, e.g. by a thread inside the tracer): never read. */
static void flag_unreadable(struct run *r)
{
    size_t m = 0;
    for (size_t i = 0; i < r->n; i++) {
        uintptr_t a = r->blk[i].addr, end = a + blk_size(&r->blk[i]);
        while (m < r->nmaps && r->maps[m].hi <= a)
            m++;
        if (m == r->nmaps || !r->maps[m].readable || a < r->maps[m].lo || end > r->maps[m].hi)
            r->kind[i] |= UNREADABLE;
    }
}

/* ---- roots --------------------------------------------------------------- */

static void root_add(struct run *r, uintptr_t lo, uintptr_t hi, bool start_only)
{
    if (hi > lo && sc.nroots < sizeof sc.roots / sizeof sc.roots[0]) {
        sc.roots[sc.nroots++] = (struct range){lo, hi, start_only};
        r->stats.root_bytes += hi - lo;
    }
}

static bool has_text(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && addr - lo < ph->p_memsz)
            return true;
    }
    return false;
}

static int collect_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
    struct run *r = ctx;
    LG_UNUSED(size);
    /* The tracer's own library; not when it is linked into the program. */
    if (info->dlpi_name && info->dlpi_name[0] && has_text(info, r->own_text))
        return 0;
    bool start_only = has_text(info, r->alloc_text);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        root_add(r, lo, lo + ph->p_memsz, start_only);
    }
    return 0;
}

/* Stack, registers and TLS of a stopped thread (or of this one). */
static void thread_roots(struct run *r, pid_t tid, const uintptr_t *regs, uintptr_t sp,
                         uintptr_t tp)
{
    if (regs)
        root_add(r, (uintptr_t)regs, (uintptr_t)(regs + NREGS), false);
    const struct map *m = map_of(r, sp);
    if (!m || !m->readable)
        return;
    r->stats.threads++;
    if (tid != getpid() && tp > sp && tp < m->hi) {
        /* glibc: the descriptor, with static TLS below it, tops the stack. */
        uintptr_t top = tp + sc.tcb_size;
        root_add(r, sp, top < m->hi ? top : m->hi, false);
        return;
    }
    root_add(r, sp, m->hi, false);
    const struct map *t = map_of(r, tp);
    if (t && t->readable && t != m) {
        uintptr_t lo = tp - sc.tls_static, hi = tp + sc.tcb_size;
        root_add(r, lo > t->lo && lo < tp ? lo : t->lo, hi < t->hi ? hi : t->hi, false);
    }
}

/* ---- marking ------------------------------------------------------------- */

enum { ST_UNREACHED = LG_KIND_DEFINITE, ST_INDIRECT = LG_KIND_INDIRECT,
       ST_POSSIBLE = LG_KIND_POSSIBLE, ST_REACHABLE = LG_KIND_REACHABLE };

static inline void push(struct run *r, size_t i)
{
    if (r->sp < 2 * r->cap)
        r->stack[r->sp++] = (uint32_t)i;
}

static inline void set_state(struct run *r, size_t i, int st)
{
    r->kind[i] = (uint8_t)((r->kind[i] & ~3) | st);
}

/* Whether w, inside C-domain block i, is the address of the glibc malloc
 * chunk that follows it: when a block's size is within 8 bytes of its
 * chunk's, that chunk's header overlaps the block's last bytes.  malloc
 * keeps the address in its locals (the new top chunk after splitting), and
 * at exit a dead stack slot under the exit path's frames may still hold
 * it: not the program's pointer into the block. */
static inline bool next_chunk_header(const struct run *r, size_t i, uintptr_t w)
{
    size_t size = r->blk[i].size;
    if (size & DOM_BIT)
        return false;
    size_t chunk = (size + 8 + 15) & ~(size_t)15; /* request2size */
    return w == r->blk[i].addr + (chunk < 32 ? 32 : chunk) - 16;
}

/* A word seen while marking from the roots (clique == SIZE_MAX) or while
 * grouping the lost blocks under the clique leader `clique`. */
static inline void consider(struct run *r, uintptr_t w, bool definite, bool start_only,
                            size_t clique)
{
    size_t i = find_block(r, w);
    if (i == SIZE_MAX)
        return;
    bool at_start = w == r->blk[i].addr;
    if ((start_only || next_chunk_header(r, i, w)) && !at_start)
        return;
    int st = STATE(r->kind[i]);
    if (clique != SIZE_MAX) {
        /* Lost blocks: start and interior pointers alike, as memcheck. */
        if (st == ST_UNREACHED && i != clique) {
            set_state(r, i, ST_INDIRECT);
            push(r, i);
        }
        return;
    }
    if (st == ST_REACHABLE)
        return;
    if (at_start && definite) {
        set_state(r, i, ST_REACHABLE);
        push(r, i);
    } else if (st == ST_UNREACHED) {
        set_state(r, i, ST_POSSIBLE);
        push(r, i);
    }
}

NO_SANITIZE static void scan_words(struct run *r, uintptr_t lo, uintptr_t hi, bool definite,
                                   bool start_only, size_t clique)
{
    uintptr_t a = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    hi &= ~(uintptr_t)(sizeof(uintptr_t) - 1);
    r->stats.scanned_bytes += hi > a ? hi - a : 0;
#ifdef LG_HAVE_MEMCHECK
    if (r->copy_words) {
        /* Stacks hold undefined words: memcheck would report the compare. */
        uintptr_t buf[512];
        while (a < hi) {
            size_t k = (hi - a) / sizeof(uintptr_t);
            if (k > 512)
                k = 512;
            memcpy(buf, (const void *)a, k * sizeof(uintptr_t));
            VALGRIND_MAKE_MEM_DEFINED(buf, k * sizeof(uintptr_t));
            for (size_t j = 0; j < k; j++)
                consider(r, buf[j], definite, start_only, clique);
            a += k * sizeof(uintptr_t);
        }
        return;
    }
#endif
    for (; a < hi; a += sizeof(uintptr_t))
        consider(r, *(const volatile uintptr_t *)a, definite, start_only, clique);
}

static void drain(struct run *r, size_t clique)
{
    while (r->sp) {
        size_t i = r->stack[--r->sp];
        if (r->kind[i] & UNREADABLE)
            continue;
        bool definite = STATE(r->kind[i]) == ST_REACHABLE;
        scan_words(r, r->blk[i].addr, r->blk[i].addr + blk_size(&r->blk[i]), definite, false,
                   clique);
    }
}

static void classify(struct run *r)
{
    for (size_t k = 0; k < sc.nroots; k++) {
        scan_words(r, sc.roots[k].lo, sc.roots[k].hi, true, sc.roots[k].start_only, SIZE_MAX);
        drain(r, SIZE_MAX);
    }
    /* Each block nothing reached leads a clique of what it reaches. */
    for (size_t i = 0; i < r->n; i++) {
        if (STATE(r->kind[i]) != ST_UNREACHED)
            continue;
        push(r, i);
        drain(r, i);
    }
}

/* ---- stopping the world -------------------------------------------------- */

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Reads /proc/self/task/TID/NAME into buf (NUL-terminated); returns the
 * length, or -1 (the thread is gone). */
static ssize_t task_file(pid_t tid, const char *name, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return n;
}

/* 1 when thread `tid` blocks the stop signal (SigBlk of its status), 0
 * when not, -1 when it is gone. */
static int blocks_signal(pid_t tid)
{
    char buf[2048];
    if (task_file(tid, "status", buf, sizeof buf) < 0)
        return -1;
    const char *p = strstr(buf, "SigBlk:");
    if (!p)
        return 0;
    p += 7;
    while (*p == ' ' || *p == '\t')
        p++;
    uint64_t mask = parse_hex(&p);
    return (int)(mask >> (sc.sig - 1) & 1);
}

/* A thread that blocks the signal (a test runner's event thread, say) and
 * sleeps in a system call: the kernel shows its argument registers, stack
 * pointer and program counter (/proc/.../syscall).  Its stack is read from
 * there while it sleeps; if it wakes, it cannot change a trace (the table
 * locks are held) nor free a traced block.  Its callee-saved registers are
 * not shown, and are not roots.  Returns false when it is running. */
static bool sleeping_in_syscall(pid_t tid, uintptr_t *regs, uintptr_t *sp)
{
    char buf[512];
    if (task_file(tid, "syscall", buf, sizeof buf) < 0 || buf[0] < '0' || buf[0] > '9')
        return false;
    const char *p = strchr(buf, ' ');
    uintptr_t v[8] = {0};
    int n = 0;
    while (p && n < 8) {
        while (*p == ' ')
            p++;
        if (p[0] != '0' || p[1] != 'x')
            break;
        p += 2;
        v[n++] = parse_hex(&p);
    }
    if (n < 8)
        return false;
    memset(regs, 0, NREGS * sizeof *regs);
    memcpy(regs, v, 6 * sizeof v[0]);
    *sp = v[6];
    return true;
}

/* Signals the threads not yet asked; returns how many it found, or -1. */
static int signal_new_threads(struct run *r, unsigned id)
{
    int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    _Alignas(8) char buf[4096];
    int added = 0;
    long got;
    pid_t pid = getpid();
    while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < got;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            if (d->d_name[0] < '0' || d->d_name[0] > '9')
                continue;
            pid_t tid = 0;
            for (const char *c = d->d_name; *c; c++)
                tid = tid * 10 + (*c - '0');
            if (tid == r->self_tid)
                continue;
            size_t n = atomic_load(&sc.nslots), k = 0;
            while (k < n && atomic_load(&sc.slots[k].tid) != tid)
                k++;
            if (k < n)
                continue;
            if (n == MAX_THREADS) {
                close(fd);
                return -1;
            }
            struct slot *s = &sc.slots[n];
            atomic_store(&s->state, SLOT_FREE);
            atomic_store(&s->tid, tid);
            atomic_store(&s->scan, id);
            atomic_store(&s->state, SLOT_SIGNALED);
            atomic_store_explicit(&sc.nslots, n + 1, memory_order_release);
            if (syscall(SYS_tgkill, pid, tid, sc.sig) != 0)
                atomic_store(&s->state, SLOT_GONE);
            added++;
        }
    }
    close(fd);
    return added;
}

/* A thread that has not stopped after a while and blocks the signal (a
 * thread inside this handler for an earlier scan also blocks it, briefly:
 * hence the wait) is read passively when it sleeps in a system call. */
static void try_passive(struct slot *s)
{
    uintptr_t regs[NREGS], sp;
    pid_t tid = atomic_load(&s->tid);
    if (blocks_signal(tid) != 1 || !sleeping_in_syscall(tid, regs, &sp))
        return;
    int expect = SLOT_SIGNALED;
    if (!atomic_compare_exchange_strong(&s->state, &expect, SLOT_STOPPING))
        return; /* its handler runs after all */
    memcpy(s->regs, regs, sizeof regs);
    s->sp = sp;
    s->tp = 0;
    atomic_store_explicit(&s->state, SLOT_PASSIVE, memory_order_release);
}

/* Waits until every signaled thread stopped or exited; 0 or LG_ENOSTOP.
 * `first`: no earlier scan signaled this process (a Criterion worker's
 * only scan), so no thread can be inside the handler for one, and a
 * thread that blocks the signal and sleeps is read at once. */
static int wait_stopped(int64_t deadline, bool first)
{
    pid_t pid = getpid();
    int64_t passive_after = mono_ns() + (first ? 0 : 50000000);
    for (;;) {
        bool all = true;
        size_t n = atomic_load(&sc.nslots);
        for (size_t k = 0; k < n; k++) {
            struct slot *s = &sc.slots[k];
            int st = atomic_load_explicit(&s->state, memory_order_acquire);
            if (st == SLOT_STOPPED || st == SLOT_GONE || st == SLOT_PASSIVE)
                continue;
            if (syscall(SYS_tgkill, pid, atomic_load(&s->tid), 0) != 0 && errno == ESRCH) {
                int expect = SLOT_SIGNALED;
                atomic_compare_exchange_strong(&s->state, &expect, SLOT_GONE);
                continue;
            }
            if (st == SLOT_SIGNALED && mono_ns() > passive_after) {
                try_passive(s);
                if (atomic_load(&s->state) == SLOT_PASSIVE)
                    continue;
            }
            all = false;
        }
        if (all)
            return 0;
        if (mono_ns() > deadline)
            return LG_ENOSTOP;
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
}

static void resume_world(unsigned id)
{
    atomic_store_explicit(&sc.resumed_id, id, memory_order_release);
    futex_wake_all(&sc.resumed_id);
    atomic_store(&sc.scan_id, 0);
}

static int stop_world(struct run *r, unsigned id)
{
    atomic_store(&sc.nslots, 0);
    atomic_store_explicit(&sc.scan_id, id, memory_order_release);
    int64_t deadline = mono_ns() + STOP_WAIT_NS;
    bool first = sc.signaled_pid != getpid(); /* a forked child: its own */
    sc.signaled_pid = getpid();
    for (;;) {
        int added = signal_new_threads(r, id);
        if (added < 0)
            return LG_ENOSTOP;
        int rc = wait_stopped(deadline, first);
        if (rc)
            return rc;
        if (added == 0)
            return 0;
    }
}

/* ---- the scan, inside dl_iterate_phdr ------------------------------------ */

static void scan_stopped(struct run *r)
{
    maps_read(r);
    sort_blocks(r);
    if (r->n) {
        r->lo = r->blk[0].addr;
        for (size_t i = 0; i < r->n; i++) {
            uintptr_t end = r->blk[i].addr + (blk_size(&r->blk[i]) ? blk_size(&r->blk[i]) : 1);
            if (end > r->hi)
                r->hi = end;
        }
    }
    flag_unreadable(r);
    if (pages_build(r) != 0) {
        r->rc = LG_ENOMEM;
        return;
    }
    sc.nroots = 0;
    dl_iterate_phdr(collect_module, r); /* the loader lock is ours: recursive */
    thread_roots(r, r->self_tid, NULL, r->self_sp, r->self_tp);
    size_t n = atomic_load(&sc.nslots);
    for (size_t k = 0; k < n; k++) {
        struct slot *s = &sc.slots[k];
        int st = atomic_load_explicit(&s->state, memory_order_acquire);
        if (st == SLOT_STOPPED || st == SLOT_PASSIVE)
            thread_roots(r, atomic_load(&s->tid), s->regs, s->sp, s->tp);
    }
    classify(r);
}

static int under_loader_lock(struct dl_phdr_info *info, size_t size, void *ctx)
{
    struct run *r = ctx;
    LG_UNUSED(info);
    LG_UNUSED(size);
    if (r->done)
        return 1;
    r->done = true;
    /* Arrays for a few more blocks than now; if the count grew before the
     * locks, the scan starts again with bigger ones. */
    for (;;) {
        size_t want = lg__table_count() + lg__table_count() / 8 + 1024;
        r->rc = arrays_alloc(r, want);
        if (r->rc)
            return 1;
        lg__table_lock_all();
        if (lg__table_count_locked() <= r->cap)
            break;
        lg__table_unlock_all();
        munmap(r->blk, r->map_bytes);
        munmap(r->tmp, r->scratch_bytes);
    }
    lg__table_foreach_locked(copy_trace, r);
    r->maps_bytes = MAX_MAPS * sizeof *r->maps;
    r->maps = map_anon(r->maps_bytes);
    unsigned id = ++sc.next_id ? sc.next_id : ++sc.next_id;
    int64_t t0 = mono_ns();
    r->rc = r->maps ? stop_world(r, id) : LG_ENOMEM;
    if (r->rc == 0)
        scan_stopped(r);
    resume_world(id);
    r->stats.stopped_ns = mono_ns() - t0;
    lg__table_unlock_all();
    munmap(r->tmp, r->scratch_bytes);
    if (r->maps)
        munmap(r->maps, r->maps_bytes);
    if (r->pages)
        munmap(r->pages, r->pages_bytes);
    return 1;
}

/* ---- public -------------------------------------------------------------- */

const char *lg_kind_name(int kind)
{
    static const char *const names[LG_KINDS] = {"definite", "indirect", "possible", "reachable"};
    return kind >= 0 && kind < LG_KINDS ? names[kind] : "unknown";
}

/* lg_scan_take() pushes the caller's callee-saved registers and passes
 * where they are: this thread's stack is scanned from there up, so the
 * scan sees the caller's registers and frames, and none of the scanner's
 * own frames (whose slots may hold stale words of the frames that were
 * there before).  Other machines spill the registers in C and start a
 * little lower. */
int lg__scan_take_from(lg_scan_t **out, uintptr_t stack);
#if defined(__x86_64__)
__asm__(".text\n"
        ".globl lg_scan_take\n"
        ".type lg_scan_take, @function\n"
        "lg_scan_take:\n"
        "    push %r15\n"
        "    push %r14\n"
        "    push %r13\n"
        "    push %r12\n"
        "    push %rbp\n"
        "    push %rbx\n"
        "    mov %rsp, %rsi\n"
        "    sub $8, %rsp\n"
        "    call lg__scan_take_from\n"
        "    add $56, %rsp\n"
        "    ret\n"
        ".size lg_scan_take, .-lg_scan_take\n");
#else
int lg_scan_take(lg_scan_t **out)
{
    volatile uintptr_t anchor = 0;
    __builtin_unwind_init();
    return lg__scan_take_from(out, (uintptr_t)&anchor);
}
#endif

int lg__scan_take_from(lg_scan_t **out, uintptr_t stack)
{
    *out = NULL;
    if (!lg__tracing())
        return LG_ENOTTRACING;
    struct run r = {0};
    r.self_sp = stack;
    r.self_tp = (uintptr_t)pthread_self();
    r.self_tid = gettid_raw();
    r.own_text = (uintptr_t)lg__scan_take_from;
    r.alloc_text = (uintptr_t)lg__real.malloc;
#ifdef LG_HAVE_MEMCHECK
    r.copy_words = RUNNING_ON_VALGRIND;
#endif
    int prev = lg_untraced_enter();
    int64_t t0 = mono_ns();
    lg__lock(&sc.lock, LG_LOCK_SCAN);
    r.rc = scan_init_locked();
    if (r.rc == 0)
        dl_iterate_phdr(under_loader_lock, &r);
    lg__unlock(&sc.lock, LG_LOCK_SCAN);
    lg_untraced_leave(prev);
    lg_scan_t *s = r.rc == 0 ? lg__xcalloc(1, sizeof *s) : NULL;
    if (!s) {
        if (r.blk)
            munmap(r.blk, r.map_bytes);
        return r.rc ? r.rc : LG_ENOMEM;
    }
    s->blk = r.blk;
    s->kind = r.kind;
    s->n = r.n;
    s->map_bytes = r.map_bytes;
    s->stats = r.stats;
    for (size_t i = 0; i < r.n; i++) {
        int k = STATE(r.kind[i]);
        s->stats.blocks[k]++;
        s->stats.bytes[k] += blk_size(&r.blk[i]);
    }
    s->stats.duration_ns = mono_ns() - t0;
    *out = s;
    return 0;
}

int lg_scan_kind(const lg_scan_t *s, uint32_t domain, uintptr_t ptr)
{
    if (!s || (domain != LG_DOMAIN_C && domain != LG_DOMAIN_PYTHON))
        return LG_ENOTFOUND;
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->blk[mid].addr < ptr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* The same address may be traced in both domains: look at each. */
    for (; lo < s->n && s->blk[lo].addr == ptr; lo++)
        if (!!(s->blk[lo].size & DOM_BIT) == (domain == LG_DOMAIN_PYTHON))
            return STATE(s->kind[lo]);
    return LG_ENOTFOUND;
}

const lg_scan_stats_t *lg_scan_stats(const lg_scan_t *s)
{
    return &s->stats;
}

void lg_scan_free(lg_scan_t *s)
{
    if (!s)
        return;
    if (s->blk)
        munmap(s->blk, s->map_bytes);
    lg__xfree(s);
}

LG_NOINLINE void lg_stack_scrub(void)
{
    volatile unsigned char area[8192];
    memset((unsigned char *)area, 0, sizeof area);
    __asm__ volatile("" : : "r"(area) : "memory");
}

void lg__scan_lock(void)
{
    lg__lock(&sc.lock, LG_LOCK_SCAN);
}

void lg__scan_unlock(void)
{
    lg__unlock(&sc.lock, LG_LOCK_SCAN);
}
