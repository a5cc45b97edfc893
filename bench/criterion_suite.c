/* A Criterion suite of 200 tests that each allocate a little and free it:
 * what a real suite's worker start-up costs under leakgate, per test.
 * Built plain (criterion_suite) and with the adapter linked
 * (criterion_suite_linked); bench/run.py times both beside each other. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define ONE(name)                                   \
    Test(bench, name)                               \
    {                                               \
        char *p = malloc(48);                       \
        memset(p, 1, 48);                           \
        char *q = strdup(p + 40);                   \
        cr_assert(p[0] == 1 && q[0] == 1);          \
        free(q);                                    \
        free(p);                                    \
    }
#define TEN(x)                                                                       \
    ONE(x##0) ONE(x##1) ONE(x##2) ONE(x##3) ONE(x##4) ONE(x##5) ONE(x##6) ONE(x##7) \
        ONE(x##8) ONE(x##9)
#define HUNDRED(x)                                                                   \
    TEN(x##0) TEN(x##1) TEN(x##2) TEN(x##3) TEN(x##4) TEN(x##5) TEN(x##6) TEN(x##7) \
        TEN(x##8) TEN(x##9)

HUNDRED(a)
HUNDRED(b)
