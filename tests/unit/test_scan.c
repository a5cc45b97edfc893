/* Tests of the reachability scan: each leak kind, roots on other threads'
 * stacks and in their TLS, threads allocating during scans, a forked
 * child, a thread that blocks the stop signal.  Addresses the test must not keep as pointers are kept hidden
 * (xor-ed), so that only the structure under test points to a block.
 * Lost blocks have sizes nothing else here uses: a block freed earlier
 * whose address a dead stack slot still holds would otherwise be handed
 * out again and look reachable (any conservative scan has this limit). */
#include "hooks_api.h"
#include "lgtest.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define HIDE(p)   ((uintptr_t)(p) ^ (uintptr_t)0x5a5a5a5a5a5a5a5aull)
#define UNHIDE(h) ((h) ^ (uintptr_t)0x5a5a5a5a5a5a5a5aull)

struct node {
    struct node *next;
    char pad[24];
};

/* Roots of the tests: globals (module data) and thread-local storage. */
static void *volatile g_cache;
static char *volatile g_interior;
static __thread void *t_value;

static void stop_tracing(void)
{
    lg_stop();
}
LGT_AFTER_EACH(stop_tracing)

/* Not inlined: the caller must not compute (and keep) the address. */
static LG_NOINLINE int kind_in(const lg_scan_t *s, uint32_t domain, uintptr_t hidden, size_t off)
{
    return lg_scan_kind(s, domain, UNHIDE(hidden) + off);
}

static int kind_of(const lg_scan_t *s, uintptr_t hidden)
{
    return kind_in(s, LG_DOMAIN_C, hidden, 0);
}

/* Frees a hidden block (the caller never holds its address). */
static LG_NOINLINE void release(uintptr_t hidden)
{
    T(free)((void *)UNHIDE(hidden));
}

/* A buffer nothing points to once this returns. */
static LG_NOINLINE uintptr_t lost_buffer(size_t size)
{
    char *p = T(malloc)(size);
    memset(p, 0, size);
    return HIDE(p);
}

/* A three-node list whose head nothing points to. */
static LG_NOINLINE uintptr_t lost_list(uintptr_t *second, uintptr_t *third)
{
    struct node *c = T(calloc)(1, sizeof *c);
    struct node *b = T(calloc)(1, sizeof *b);
    struct node *a = T(calloc)(1, sizeof *a);
    a->next = b;
    b->next = c;
    *second = HIDE(b);
    *third = HIDE(c);
    return HIDE(a);
}

/* Two lost blocks pointing at each other: one definite, one indirect. */
static LG_NOINLINE void lost_cycle(uintptr_t *x, uintptr_t *y)
{
    struct node *a = T(calloc)(1, sizeof *a), *b = T(calloc)(1, sizeof *b);
    a->next = b;
    b->next = a;
    *x = HIDE(a);
    *y = HIDE(b);
}

/* Only a pointer into the middle of a block: possible, and so is what
 * the possible block points to (the chain has an interior pointer). */
static LG_NOINLINE void interior_only(uintptr_t *block, uintptr_t *child)
{
    struct node *mid = T(calloc)(1, sizeof *mid);
    mid->next = T(calloc)(1, sizeof *mid);
    *child = HIDE(mid->next);
    *block = HIDE(mid);
    g_interior = (char *)mid + 8;
}

/* A global cache and what it points to: reachable. */
static LG_NOINLINE uintptr_t global_cache(uintptr_t *child)
{
    struct node *cache = T(calloc)(1, sizeof *cache);
    cache->next = T(calloc)(1, sizeof *cache);
    g_cache = cache;
    *child = HIDE(cache->next);
    return HIDE(cache);
}

static LG_NOINLINE void forget_cache(void)
{
    g_cache = NULL;
}

LGT_TEST(each_kind_as_memcheck_gives_it)
{
    ASSERT_EQ(lg_start(4), 0);
    uintptr_t lost = lost_buffer(344);
    uintptr_t n2, n3, head = lost_list(&n2, &n3);
    uintptr_t cx, cy;
    lost_cycle(&cx, &cy);
    uintptr_t cache_child, cache_block = global_cache(&cache_child);
    uintptr_t mid_block, mid_child;
    interior_only(&mid_block, &mid_child);

    lg_scan_t *s;
    ASSERT_EQ(lg_scan_take(&s), 0);
    ASSERT_EQ(kind_of(s, lost), LG_KIND_DEFINITE);
    ASSERT_EQ(kind_of(s, head), LG_KIND_DEFINITE);
    ASSERT_EQ(kind_of(s, n2), LG_KIND_INDIRECT);
    ASSERT_EQ(kind_of(s, n3), LG_KIND_INDIRECT);
    ASSERT_EQ(kind_of(s, cx) + kind_of(s, cy), LG_KIND_DEFINITE + LG_KIND_INDIRECT);
    ASSERT_EQ(kind_of(s, cache_block), LG_KIND_REACHABLE);
    ASSERT_EQ(kind_of(s, cache_child), LG_KIND_REACHABLE);
    ASSERT_EQ(kind_of(s, mid_block), LG_KIND_POSSIBLE);
    ASSERT_EQ(kind_of(s, mid_child), LG_KIND_POSSIBLE);
    ASSERT_EQ(kind_in(s, LG_DOMAIN_C, lost, 8), LG_ENOTFOUND);
    ASSERT_EQ(kind_in(s, 7, lost, 0), LG_ENOTFOUND);
    const lg_scan_stats_t *st = lg_scan_stats(s);
    ASSERT_GE(st->blocks[LG_KIND_DEFINITE], 3);
    ASSERT_GE(st->bytes[LG_KIND_INDIRECT], 3 * sizeof(struct node));
    ASSERT_GE(st->threads, 1);
    ASSERT_GT(st->root_bytes, 0);
    lg_scan_free(s);

    /* Once the cache lets go, its blocks are lost: definite and indirect. */
    forget_cache();
    ASSERT_EQ(lg_scan_take(&s), 0);
    ASSERT_EQ(kind_of(s, cache_block), LG_KIND_DEFINITE);
    ASSERT_EQ(kind_of(s, cache_child), LG_KIND_INDIRECT);
    lg_scan_free(s);
    release(cache_child);
    release(cache_block);
    release(mid_child);
    release(mid_block);
    g_interior = NULL;
    release(lost);
    release(head);
    release(n2);
    release(n3);
    release(cx);
    release(cy);
}

/* glibc's malloc leaves the address of the chunk after a block (inside
 * the block's last 8 bytes when its size is within 8 of its chunk's) in
 * its locals: a word holding it does not make the block possibly lost;
 * any other pointer into the block does. */
LGT_TEST(the_next_chunks_header_is_not_a_pointer_into_a_block)
{
    ASSERT_EQ(lg_start(4), 0);
    uintptr_t a = lost_buffer(1000), b = lost_buffer(1000); /* chunks of 1008 B */
    g_interior = (char *)UNHIDE(a) + 992;                    /* the next chunk's header */
    g_cache = (char *)UNHIDE(b) + 984;
    lg_scan_t *s;
    ASSERT_EQ(lg_scan_take(&s), 0);
    ASSERT_EQ(kind_of(s, a), LG_KIND_DEFINITE);
    ASSERT_EQ(kind_of(s, b), LG_KIND_POSSIBLE);
    lg_scan_free(s);
    g_interior = NULL;
    g_cache = NULL;
    release(a);
    release(b);
}

/* The trace table keeps, per thread, the address of the last trace it
 * removed (to prefetch the next ones): a live block at that address must
 * not look reachable through it. */
static LG_NOINLINE void track_and_untrack(uint32_t domain, uintptr_t hidden)
{
    ASSERT_EQ(lg_track(domain, UNHIDE(hidden), 1), 0);
    ASSERT_EQ(lg_untrack(domain, UNHIDE(hidden)), 0);
}

LGT_TEST(the_last_removed_address_is_not_a_root)
{
    ASSERT_EQ(lg_start(4), 0);
    uintptr_t a = lost_buffer(48);
    track_and_untrack(7, a);
    lg_scan_t *s;
    ASSERT_EQ(lg_scan_take(&s), 0);
    ASSERT_EQ(kind_of(s, a), LG_KIND_DEFINITE);
    lg_scan_free(s);
    release(a);
}

/* A test's diff by kind: a lost buffer and a cache entry from one call
 * site are two rows; an older block freed meanwhile is a row of kind -1. */
static LG_NOINLINE uintptr_t from_one_site(size_t size)
{
    return HIDE(T(malloc)(size));
}

LGT_TEST(a_mark_diff_split_by_kind)
{
    ASSERT_EQ(lg_start(4), 0);
    uintptr_t old = from_one_site(72);
    lg_mark_t *m;
    ASSERT_EQ(lg_mark_begin(&m), 0);
    uintptr_t lost = from_one_site(360);
    g_cache = (void *)UNHIDE(from_one_site(56));
    release(old);
    lg_scan_t *s;
    ASSERT_EQ(lg_scan_take(&s), 0);
    lg_stats_t *st;
    ASSERT_EQ(lg_mark_diff_kinds(m, s, &st, NULL), 0);
    int64_t by_kind[LG_KINDS] = {0}, unclassified = 0;
    for (size_t i = 0; i < lg_stats_count(st); i++) {
        const lg_stat_t *r = lg_stats_get(st, i);
        if (r->kind < 0)
            unclassified += r->size_diff;
        else
            by_kind[r->kind] += r->size_diff;
        if (r->kind >= 0)
            ASSERT_EQ((int64_t)r->size, r->size_diff);
    }
    ASSERT_EQ(by_kind[LG_KIND_DEFINITE], 360);
    ASSERT_EQ(by_kind[LG_KIND_REACHABLE], 56);
    ASSERT_EQ(unclassified, -72);
    lg_stats_free(st);
    /* Without a scan: lg_mark_diff's rows, kind -1. */
    ASSERT_EQ(lg_mark_diff_kinds(m, NULL, &st, NULL), 0);
    for (size_t i = 0; i < lg_stats_count(st); i++)
        ASSERT_EQ(lg_stats_get(st, i)->kind, -1);
    lg_stats_free(st);
    lg_scan_free(s);
    lg_mark_free(m);
    release(lost);
    T(free)(g_cache);
    g_cache = NULL;
}

LGT_TEST(names_and_errors)
{
    ASSERT_STR_EQ(lg_kind_name(LG_KIND_DEFINITE), "definite");
    ASSERT_STR_EQ(lg_kind_name(LG_KIND_INDIRECT), "indirect");
    ASSERT_STR_EQ(lg_kind_name(LG_KIND_POSSIBLE), "possible");
    ASSERT_STR_EQ(lg_kind_name(LG_KIND_REACHABLE), "reachable");
    ASSERT_STR_EQ(lg_kind_name(9), "unknown");
    lg_scan_t *s = (lg_scan_t *)1;
    ASSERT_EQ(lg_scan_take(&s), LG_ENOTTRACING);
    ASSERT(s == NULL);
    ASSERT_EQ(lg_scan_kind(NULL, LG_DOMAIN_C, 16), LG_ENOTFOUND);
    lg_scan_free(NULL);
}

/* ---- another thread's stack and TLS --------------------------------------- */

static atomic_int holder_state; /* 1: holding, 2: let go */
static uintptr_t held_on_stack, held_in_tls;

static void *holder(void *arg)
{
    LG_UNUSED(arg);
    void *volatile on_stack = T(malloc)(48);
    t_value = T(malloc)(24);
    held_on_stack = HIDE(on_stack);
    held_in_tls = HIDE(t_value);
    atomic_store(&holder_state, 1);
    while (atomic_load(&holder_state) != 2)
        usleep(100);
    T(free)(t_value);
    T(free)(on_stack);
    return NULL;
}

LGT_TEST(blocks_held_only_by_another_threads_stack_or_tls)
{
    ASSERT_EQ(lg_start(4), 0);
    atomic_store(&holder_state, 0);
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, NULL, holder, NULL), 0);
    while (atomic_load(&holder_state) != 1)
        usleep(100);
    lg_scan_t *s;
    int rc = lg_scan_take(&s);
    atomic_store(&holder_state, 2);
    pthread_join(t, NULL);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(kind_of(s, held_on_stack), LG_KIND_REACHABLE);
    ASSERT_EQ(kind_of(s, held_in_tls), LG_KIND_REACHABLE);
    ASSERT_GE(lg_scan_stats(s)->threads, 2);
    lg_scan_free(s);
}

/* ---- threads allocating while scans run ----------------------------------- */

static atomic_int churn_stop;

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *live[64] = {0};
    while (!atomic_load(&churn_stop)) {
        unsigned i = (seed = seed * 1103515245u + 12345u) >> 16 & 63;
        T(free)(live[i]);
        live[i] = T(malloc)(16 + (seed >> 8 & 255));
    }
    for (int i = 0; i < 64; i++)
        T(free)(live[i]);
    return NULL;
}

LGT_TEST(scans_while_four_threads_allocate)
{
    ASSERT_EQ(lg_start(4), 0);
    /* Big enough for a mapping of its own: no stale word of an earlier
     * test, in a block the threads get back, holds its address. */
    uintptr_t lost = lost_buffer(1 << 20);
    g_cache = T(malloc)(32);
    lg_scan_t *s;
    ASSERT_EQ(lg_scan_take(&s), 0);
    uint64_t definite = lg_scan_stats(s)->blocks[LG_KIND_DEFINITE];
    lg_scan_free(s);
    atomic_store(&churn_stop, 0);
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        ASSERT_EQ(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
    int failures = 0, wrong = 0;
    uint64_t extra = 0;
    for (int k = 0; k < 30; k++) {
        if (lg_scan_take(&s) != 0) {
            failures++;
            continue;
        }
        wrong += kind_of(s, lost) != LG_KIND_DEFINITE;
        wrong += lg_scan_kind(s, LG_DOMAIN_C, (uintptr_t)g_cache) != LG_KIND_REACHABLE;
        /* Every block the threads hold is on their stacks or in their
         * registers: none may be lost. */
        uint64_t d = lg_scan_stats(s)->blocks[LG_KIND_DEFINITE];
        if (d > definite)
            extra += d - definite;
        lg_scan_free(s);
    }
    atomic_store(&churn_stop, 1);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ASSERT_EQ(failures, 0);
    ASSERT_EQ(wrong, 0);
    ASSERT_EQ(extra, 0);
    T(free)(g_cache);
    g_cache = NULL;
    release(lost);
}

LGT_TEST(a_forked_child_scans)
{
    ASSERT_EQ(lg_start(4), 0);
    uintptr_t lost = lost_buffer(328);
    g_cache = T(malloc)(32);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        lg_scan_t *s;
        int code = lg_scan_take(&s) != 0 ? 10
                   : kind_of(s, lost) != LG_KIND_DEFINITE ? 11
                   : lg_scan_kind(s, LG_DOMAIN_C, (uintptr_t)g_cache) != LG_KIND_REACHABLE
                       ? 12
                       : 0;
        _exit(code);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    T(free)(g_cache);
    g_cache = NULL;
    release(lost);
}

/* ---- a thread that blocks the stop signal --------------------------------- */

static int sleeper_pipe[2];
static atomic_uintptr_t sleeper_block;

static void *sleeper(void *arg)
{
    LG_UNUSED(arg);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    void *volatile on_stack = T(malloc)(56);
    atomic_store(&sleeper_block, HIDE(on_stack));
    char c;
    ssize_t n = read(sleeper_pipe[0], &c, 1); /* asleep until the scan ended */
    LG_UNUSED(n);
    T(free)(on_stack);
    return NULL;
}

/* A thread that blocks the stop signal and sleeps in a system call (a test
 * runner's event thread) is read where the kernel shows it; in the first
 * scan of a process (a Criterion worker's only one) at once, not after the
 * 50 ms a later scan gives a thread still inside the handler for it. */
LGT_TEST(a_thread_blocking_the_signal_is_read_at_once_in_a_first_scan)
{
    ASSERT_EQ(lg_start(4), 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        pthread_t t;
        if (pipe(sleeper_pipe) != 0 || pthread_create(&t, NULL, sleeper, NULL) != 0)
            _exit(10);
        while (!atomic_load(&sleeper_block))
            usleep(100);
        usleep(20000); /* asleep in read() by now, or soon */
        lg_scan_t *s;
        int code = lg_scan_take(&s) != 0 ? 11
                   : kind_of(s, atomic_load(&sleeper_block)) != LG_KIND_REACHABLE ? 12
                   : lg_scan_stats(s)->stopped_ns >= 50000000 ? 13
                                                              : 0;
        if (write(sleeper_pipe[1], "x", 1) != 1)
            code = 14;
        pthread_join(t, NULL);
        _exit(code);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
}

LGT_MAIN()
