/*
 * lock.c — the slow path of the shards' spin lock, and the lock-order
 * check of debug builds (LG_DEBUG_LOCKS).
 *
 * The order itself is written once, in lg_internal.h.  Each thread counts
 * the locks it holds per level (initial-exec TLS: no allocation, safe in
 * the hooks).  Taking a lock while holding one of a later level (or of the
 * same level, but for trace-table shards, which lg__table_lock_all takes
 * all of in index order) is a bug that could deadlock: the check names both
 * levels and aborts, so that a test fails where the order broke.  Release
 * builds compile none of this: lg__lock is pthread_mutex_lock.
 */
#include "lg_internal.h"

#include <sched.h>

/* Waits until the lock is free and takes it: a few rounds of spinning on a
 * plain load (no cache-line ping-pong), then yields between attempts. */
void lg__spin_wait(lg__spin_t *l)
{
    for (unsigned n = 0;; n++) {
        if (!atomic_load_explicit(&l->held, memory_order_relaxed) &&
            !atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
        if (n < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

#ifdef LG_DEBUG_LOCKS

#include <stdlib.h>

static const char *const level_names[LG_LOCK_LEVELS] = {
    [LG_LOCK_SYMBOLIZE] = "symbolize", [LG_LOCK_SCAN] = "scan",     [LG_LOCK_MARK] = "mark",
    [LG_LOCK_INTERP] = "interp",       [LG_LOCK_INTERN] = "intern", [LG_LOCK_DOMAINS] = "domains",
    [LG_LOCK_SHARD] = "shard",         [LG_LOCK_LIVE] = "live",
};

static LG_TLS unsigned held[LG_LOCK_LEVELS]; /* locks this thread holds, per level */

void lg__lock_order_enter(int level)
{
    if (level <= 0 || level >= LG_LOCK_LEVELS) {
        lg__error("lock order: unknown lock level %d", level);
        abort();
    }
    for (int l = level; l < LG_LOCK_LEVELS; l++) {
        if (held[l] && !(l == level && level == LG_LOCK_SHARD)) {
            lg__error("lock order: taking the %s lock while holding the %s lock",
                      level_names[level], level_names[l]);
            abort();
        }
    }
    held[level]++;
}

void lg__lock_order_leave(int level)
{
    if (level <= 0 || level >= LG_LOCK_LEVELS || held[level] == 0) {
        lg__error("lock order: releasing a %s lock this thread does not hold",
                  level > 0 && level < LG_LOCK_LEVELS ? level_names[level] : "unknown");
        abort();
    }
    held[level]--;
}

#endif /* LG_DEBUG_LOCKS */
