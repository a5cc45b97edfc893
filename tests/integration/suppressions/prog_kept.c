/*
 * prog_kept — glibc's state kept until exit, one case per argument:
 *   nss       getpwuid, getpwnam, getgrgid: NSS's database state
 *   resolver  getaddrinfo("localhost") (its list freed) and res_init
 *   hosts     gethostbyname, gethostbyaddr, getservbyname, getprotobyname:
 *             their static result buffers
 *   dl        dlopen, dlsym and dlclose of libm, a failed dlopen and
 *             dlerror, libz kept open: the loader's bookkeeping
 *   threads   three threads joined, with pthread_setspecific values their
 *             key's destructor frees, and one left running
 *   lostaddr  a getaddrinfo list nobody frees: the caller's leak
 * Built without leakgate.
 */
#include <dlfcn.h>
#include <grp.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_key_t key;

static void *worker(void *arg)
{
    pthread_setspecific(key, arg);
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}

static int lookup(struct addrinfo **ai)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    return getaddrinfo("localhost", "80", &hints, ai);
}

static __attribute__((noinline)) void lose_addrinfo(void)
{
    struct addrinfo *volatile ai = NULL;
    lookup((struct addrinfo **)&ai);
    ai = NULL;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        struct addrinfo *ai;
        pthread_t t;
        if (strcmp(a, "nss") == 0) {
            getpwuid(0);
            getpwnam("root");
            getgrgid(0);
        } else if (strcmp(a, "resolver") == 0) {
            if (lookup(&ai) == 0)
                freeaddrinfo(ai);
            res_init();
        } else if (strcmp(a, "hosts") == 0) {
            gethostbyname("localhost");
            gethostbyaddr("\x7f\0\0\1", 4, AF_INET);
            getservbyname("http", "tcp");
            getprotobyname("tcp");
        } else if (strcmp(a, "dl") == 0) {
            void *h = dlopen("libm.so.6", RTLD_NOW);
            if (h && dlsym(h, "cos"))
                dlclose(h);
            if (!dlopen("libleakgate-none.so", RTLD_NOW))
                dlerror();
            dlopen("libz.so.1", RTLD_NOW);
        } else if (strcmp(a, "threads") == 0) {
            pthread_key_create(&key, free);
            for (int k = 0; k < 3; k++) {
                pthread_create(&t, NULL, worker, malloc(8));
                pthread_join(t, NULL);
            }
            pthread_create(&t, NULL, sleeper, NULL);
            pthread_detach(t);
            usleep(10000);
        } else if (strcmp(a, "lostaddr") == 0) {
            lose_addrinfo();
        }
    }
    return 0;
}
