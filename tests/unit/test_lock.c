/* Tests of the lock-order check (LG_DEBUG_LOCKS, lock.c): the unit tests
 * are built with it, so every test here and in the other files runs with
 * the order of lg_internal.h asserted on each lock taken. */
#include "lg_internal.h"
#include "lgtest.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LG_DEBUG_LOCKS
#error "the unit tests are built with LG_DEBUG_LOCKS"
#endif

/* Runs fn in a child process; returns its wait status. */
static int in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child's report of a broken order goes nowhere useful. */
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        fn();
        _exit(0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return status;
}

static void mark_then_intern(void)
{
    lg__mark_lock();
    lg__intern_lock();
    lg__intern_unlock();
    lg__mark_unlock();
}

static void intern_then_mark(void)
{
    lg__intern_lock();
    lg__mark_lock(); /* out of order: aborts */
    lg__mark_unlock();
    lg__intern_unlock();
}

static void all_table_locks_then_interp(void)
{
    lg__table_lock_all();
    lg__interp_lock(); /* above the shards: aborts */
}

static void fork_while_tracing(void)
{
    /* fork() runs the atfork handlers: every lock, in order, both sides. */
    if (lg_start(4) != 0)
        _exit(4);
    void *p = malloc(10);
    pid_t pid = fork();
    if (pid == 0) {
        free(p);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    free(p);
    lg_stop();
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 5);
}

LGT_TEST(locks_taken_in_order_pass)
{
    int st = in_child(mark_then_intern);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
}

LGT_TEST(a_lock_taken_out_of_order_aborts)
{
    int st = in_child(intern_then_mark);
    ASSERT(WIFSIGNALED(st));
    ASSERT_EQ(WTERMSIG(st), SIGABRT);
    st = in_child(all_table_locks_then_interp);
    ASSERT(WIFSIGNALED(st));
    ASSERT_EQ(WTERMSIG(st), SIGABRT);
}

LGT_TEST(fork_takes_every_lock_in_order)
{
    int st = in_child(fork_while_tracing);
    ASSERT(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 0);
}

LGT_MAIN()
