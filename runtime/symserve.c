/*
 * symserve.c — one symbolizer for a whole test run: a process that starts
 * many short-lived copies of one program (a Criterion runner, whose every
 * test is a new worker) answers their symbolization requests, so that each
 * object's symbols and debug information are read once per run, and a
 * worker never opens them.
 *
 *   runner                              worker (a new process)
 *   ------                              ------
 *   lg_symbolize_serve():               lg__symbolize(addr), cache miss:
 *     datagram socket, abstract name      the object holding addr (name,
 *     LEAKGATE_SYMBOLIZER=@name           build-id, addr - load bias)
 *     a thread: request ──────────────>   ──> request datagram
 *       the same object here, same        <── function, file, line
 *       build-id: its own lg__symbolize   (refused, or no runner: the
 *       of (its load bias + offset)        worker's own libdw, as before)
 *
 * The answer is the runner's own symbolizer's for the same byte of the
 * same file, so it is what the worker would have found itself; the module
 * and offset are always the worker's.  Objects the runner does not hold
 * (loaded by a test) or whose build-ids differ are refused, and the worker
 * resolves them itself.  The message format is in symbolize.c; this file
 * only carries datagrams: a Unix datagram socket in the abstract namespace
 * (no file to clean up, gone with the runner), one serving thread, and in
 * the worker a socket per request (no descriptor stays open in a test).
 *
 * State: V.fd and V.serving are written once, before the thread starts;
 * the client's state (V.client) is protected by the symbolizer's lock,
 * which every caller of lg__symserve_ask holds.
 */
#include "lg_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ENV_NAME "LEAKGATE_SYMBOLIZER"
/* A runner busy with another worker's request (reading the debug
 * information of a large library) answers late, not never. */
#define ASK_TIMEOUT_S 30

static struct {
    int fd;       /* the runner's socket, -1: not serving */
    bool serving; /* this process answers: it never asks */
    int client;   /* 0: not looked at yet, 1: ask V.addr, -1: never ask */
    struct sockaddr_un addr;
    socklen_t addrlen;
} V = {.fd = -1};

static LG_NOINLINE void *serve(void *arg)
{
    LG_UNUSED(arg);
    static unsigned char req[LG_SYMSERVE_MAX], reply[LG_SYMSERVE_MAX];
    lg__in_hook = 1; /* nothing this thread allocates is the program's */
    for (;;) {
        struct sockaddr_un from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(V.fd, req, sizeof req, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        size_t len = lg__symbolize_answer(req, (size_t)n, reply, sizeof reply);
        /* A worker gone or not reading never holds the runner up. */
        if (len)
            sendto(V.fd, reply, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&from,
                   fromlen);
    }
}

int lg_symbolize_serve(void)
{
    if (V.serving)
        return 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return LG_EIO;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    /* sun_path[0] = '\0': the abstract namespace. */
    int k = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "leakgate-symbolizer-%ld-%lx",
                     (long)getpid(), (unsigned long)ts.tv_nsec);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)k);
    char value[sizeof a.sun_path + 1];
    snprintf(value, sizeof value, "@%s", a.sun_path + 1);
    pthread_t t;
    pthread_attr_t attr;
    if (bind(fd, (struct sockaddr *)&a, len) != 0 || pthread_attr_init(&attr) != 0) {
        close(fd);
        return LG_EIO;
    }
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    V.fd = fd;
    V.serving = true;
    int rc = pthread_create(&t, &attr, serve, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0 || setenv(ENV_NAME, value, 1) != 0) {
        V.serving = false;
        V.fd = -1;
        close(fd);
        return rc ? LG_ENOMEM : LG_EIO;
    }
    return 0;
}

/* Reads LEAKGATE_SYMBOLIZER once: "@name", an abstract socket. */
static void client_init_locked(void)
{
    const char *v = getenv(ENV_NAME);
    V.client = -1;
    if (V.serving || !v || v[0] != '@' || !v[1] || strlen(v) >= sizeof V.addr.sun_path)
        return;
    V.addr = (struct sockaddr_un){.sun_family = AF_UNIX};
    memcpy(V.addr.sun_path + 1, v + 1, strlen(v + 1));
    V.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(v));
    V.client = 1;
}

bool lg__symserve_on_locked(void)
{
    if (!V.client)
        client_init_locked();
    return V.client == 1;
}

void lg__symserve_reset(void)
{
    V.serving = false;
    V.client = 0;
}

size_t lg__symserve_ask_locked(const void *req, size_t n, void *reply, size_t cap)
{
    if (!lg__symserve_on_locked())
        return 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0; /* out of descriptors: resolved here this once */
    struct sockaddr_un self = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = ASK_TIMEOUT_S};
    ssize_t got = -1;
    /* An address of length sizeof(sa_family_t): the kernel picks an
     * abstract name, which the runner answers to. */
    if (bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t)) == 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
        connect(fd, (struct sockaddr *)&V.addr, V.addrlen) == 0 &&
        send(fd, req, n, MSG_NOSIGNAL) == (ssize_t)n) {
        do
            got = recv(fd, reply, cap, 0);
        while (got < 0 && errno == EINTR);
    }
    close(fd);
    if (got <= 0) {
        V.client = -1; /* the runner is gone or stuck: stop asking */
        return 0;
    }
    return (size_t)got;
}
