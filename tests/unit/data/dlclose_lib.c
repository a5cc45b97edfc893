/*
 * dlclose_lib.c — a tiny shared library for the dlclose tests of
 * test_symbolize.c and test_backtrace.c, which compile it at run time
 * (lgt_build_dlclose_lib: cc -shared -fPIC -g -O0), load it, take a return
 * address inside it, then unload it.
 */

/* Calls fn and returns what it returns: fn gives back its return address,
 * which lies in this function.  *line receives the line of the call. */
void *dlclose_lib_call(void *(*fn)(void), unsigned *line);

void *dlclose_lib_call(void *(*fn)(void), unsigned *line)
{
    *line = __LINE__ + 1;
    void *where = fn();
    __asm__ volatile("" : : "r"(where) : "memory"); /* no tail call */
    return where;
}
