/*
 * suppressions.c — the default suppressions: what the C library allocates
 * lazily and keeps until exit on purpose.
 *
 * A program that frees everything it allocates still ends with these blocks
 * live (a stdout buffer after printf, a time zone after localtime, a locale
 * after setlocale ...).  They are not the program's leaks, so every
 * whole-process verdict excludes them.  Each line is a suppression-file line
 * (lg_filterset_parse_line); "all" makes it match any frame of the
 * traceback, so the public entry point (setlocale) is enough even when the
 * allocating internal function has no symbol.
 */
#include "lg_plugin_internal.h"

static const char *const defaults[] = {
    "# stdio: a stream's buffer, allocated on first use",
    "exclude all function=_IO_file_doallocate",
    "exclude all function=_IO_doallocbuf",
    "# locales, message catalogs, character set conversions",
    "exclude all function=setlocale",
    "exclude all function=newlocale",
    "exclude all function=_nl_*",
    "exclude all function=__dcigettext",
    "exclude all function=*textdomain*",
    "exclude all function=set_binding_values*",
    "exclude all function=__gconv_*",
    "# time zones",
    "exclude all function=tzset",
    "exclude all function=tzset_internal",
    "exclude all function=__tz*",
    "exclude all function=localtime",
    "exclude all function=localtime_r",
    "exclude all function=mktime",
    "exclude all function=timelocal",
    "# the dynamic loader, dlopen and its error strings",
    "exclude all module=*ld-linux*",
    "exclude all function=_dl_*",
    "exclude all function=dlopen*",
    "exclude all function=_dlerror_run",
    "exclude all function=dlerror",
    "# the environment",
    "exclude all function=setenv",
    "exclude all function=putenv",
    "exclude all function=__add_to_environ",
    "# name services (nss modules and their caches)",
    "exclude all function=getpw*",
    "exclude all function=getgr*",
    "exclude all function=getsp*",
    "exclude all function=__nss_*",
    "exclude all function=nss_*",
    "# threads: stacks, thread-local storage, per-thread caches",
    "exclude all function=pthread_create*",
    "exclude all function=strerror",
    "exclude all function=strsignal",
    "# test runners' own bookkeeping and messages (Criterion, its nanomsg IPC)",
    "exclude module=*libcriterion.so*",
    "exclude module=*libnanomsg.so*",
    "# atexit handlers beyond the static block",
    "exclude all function=__new_exitfn",
    NULL,
};

const char *const *lg_default_suppressions(void)
{
    return defaults;
}

int lg_filterset_add_defaults(lg_filterset_t *set)
{
    char err[256];
    for (const char *const *l = defaults; *l; l++) {
        int rc = lg_filterset_parse_line(set, *l, err, sizeof err);
        if (rc == LG_ENOMEM)
            return rc;
        if (rc) {
            /* A bug in the table above, not a user error. */
            lg__error("default suppression \"%s\": %s", *l, err);
            return rc;
        }
    }
    return 0;
}
