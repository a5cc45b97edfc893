/*
 * suppressions.c — the default suppressions: what the C library allocates
 * lazily and keeps until exit on purpose.
 *
 * A program that frees everything it allocates still ends with these blocks
 * live (a stdout buffer after printf, a time zone after localtime, a locale
 * after setlocale ...).  They are not the program's leaks, so every
 * verdict excludes them.  Most of that state is still reachable, a note
 * under the default leak kinds; these rules matter for what would still
 * fail: blocks held through memory the scan does not read (the loader's
 * first link maps come from its own allocator, so a dlopen's new scope
 * array looks definitely lost), and every kind under --leak-kinds=all.
 * glibc's NSS and resolver state stay a note (DESIGN.md).  Each
 * rule is a suppression-file line (lg_filterset_parse_line) under a comment
 * naming what it hides; "all" makes it match any frame of the traceback,
 * so the public entry point (setlocale) is enough even when the allocating
 * internal function has no symbol.  No rule names a function whose result
 * the caller frees (getaddrinfo, strdup): a lost result stays a leak.
 */
#include "lg_plugin_internal.h"

static const char *const defaults[] = {
    "# stdio: the buffer of a stream, allocated on its first use",
    "exclude all function=_IO_file_doallocate",
    "# stdio: the same, through setvbuf's and ungetc's paths",
    "exclude all function=_IO_doallocbuf",
    "# locales: what setlocale loads (LC_* data, names)",
    "exclude all function=setlocale",
    "# locales: newlocale's objects, kept by their users until exit",
    "exclude all function=newlocale",
    "# locales and message catalogs: glibc's loaders (_nl_find_locale, _nl_load_domain...)",
    "exclude all function=_nl_*",
    "# message catalogs: gettext's lookups and their cache",
    "exclude all function=__dcigettext",
    "# message catalogs: textdomain and bindtextdomain's names",
    "exclude all function=*textdomain*",
    "# message catalogs: the domain bindings bindtextdomain keeps",
    "exclude all function=set_binding_values*",
    "# character set conversions: iconv's module cache",
    "exclude all function=__gconv_*",
    "# time zones: the zone tzset reads (TZ, /etc/localtime)",
    "exclude all function=tzset",
    "# time zones: the same, through localtime and mktime",
    "exclude all function=tzset_internal",
    "# time zones: the zone file's rules and names (__tzfile_read, __tzstring)",
    "exclude all function=__tz*",
    "# time zones: localtime's first call loads the zone",
    "exclude all function=localtime",
    "# time zones: the same for localtime_r",
    "exclude all function=localtime_r",
    "# time zones: the same for mktime",
    "exclude all function=mktime",
    "# time zones: the same for timelocal",
    "exclude all function=timelocal",
    "# the dynamic loader: link maps, scopes, search paths, TLS blocks of threads",
    "exclude all module=*ld-linux*",
    "# the dynamic loader: the same, from libc's side (_dl_open, _dl_allocate_tls...)",
    "exclude all function=_dl_*",
    "# dlopen: the loader's bookkeeping of the objects loaded",
    "exclude all function=dlopen*",
    "# dlopen and dlsym: the last error, kept for dlerror()",
    "exclude all function=_dlerror_run",
    "# dlerror: the message it formats and keeps until the next call",
    "exclude all function=dlerror",
    "# the environment: setenv's strings and the grown environ array",
    "exclude all function=setenv",
    "# the environment: the same through putenv",
    "exclude all function=putenv",
    "# the environment: the function both use",
    "exclude all function=__add_to_environ",
    "# name services: getpwnam/getpwuid's static result and the passwd database",
    "exclude all function=getpw*",
    "# name services: the same for groups",
    "exclude all function=getgr*",
    "# name services: the same for shadow passwords",
    "exclude all function=getsp*",
    "# name services: nsswitch.conf as parsed, the modules loaded, their functions",
    "exclude all function=__nss_*",
    "# name services: the same, in the modules (nss_files, nss_dns...)",
    "exclude all function=nss_*",
    "# threads: a new thread's stack cache entry and thread descriptor",
    "exclude all function=pthread_create*",
    "# threads: strerror's per-thread message buffer",
    "exclude all function=strerror",
    "# threads: strsignal's per-thread message buffer",
    "exclude all function=strsignal",
    "# test runners: Criterion's own bookkeeping and messages",
    "exclude module=*libcriterion.so*",
    "# test runners: Criterion's IPC (nanomsg)",
    "exclude module=*libnanomsg.so*",
    "# atexit: the handler blocks beyond the static first one",
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
