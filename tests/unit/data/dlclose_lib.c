/*
 * dlclose_lib.c — a tiny shared library for test_symbolize's dlclose test.
 * test_symbolize.c compiles it at run time (cc -shared -fPIC -g -O0),
 * loads it, takes a return address inside it, then unloads it.
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
