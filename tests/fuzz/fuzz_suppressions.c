/* fuzz_suppressions.c — libFuzzer target for the suppressions parser: the
 * filter lines (runtime/filter.c) and the `limit` lines (plugin/session.c)
 * of one suppressions text, as a test session loads a file.
 *
 * The text must be loaded or refused with one line naming a place; a
 * refused text leaves the filter set as it was (all or nothing); a loaded
 * one is then used to filter a few tracebacks.  Anything else traps. */
#include "fuzz.h"
#include "lg_plugin_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The file layer hands parsers NUL-terminated text. */
    char *text = malloc(size + 1);
    CHECK(text);
    memcpy(text, data, size);
    text[size] = '\0';

    lg_filterset_t *set;
    char err[512] = "";
    CHECK(lg_filterset_new(&set) == 0);
    int rc = lg__filterset_load_text(set, "s.supp", text, size, err, sizeof err);
    CHECK(rc == 0 || rc == LG_ESYNTAX || rc == LG_ENOMEM);
    if (rc == LG_ESYNTAX)
        CHECK(strncmp(err, "s.supp:", 7) == 0 && !strchr(err, '\n'));
    if (rc)
        CHECK(lg_filterset_count(set) == 0);
    lg_frame_t f = {.kind = LG_FRAME_NATIVE,
                    .function = "buffer_new",
                    .file = "src/buffer.c",
                    .line = 41,
                    .module = "/usr/lib/libparse.so"};
    lg_frame_t py = {.kind = LG_FRAME_PYTHON, .file = "t.py", .line = 3};
    const lg_frame_t *frames[] = {&f, &py};
    lg_traceback_t tb = {2, 2, frames};
    for (uint32_t domain = 0; domain < 3; domain++) {
        int m = lg_filterset_match(set, domain, &tb);
        CHECK(m == 0 || m == 1);
    }
    lg_filterset_free(set);

    lg_session_t *s;
    CHECK(lg_session_new(&s, err, sizeof err) == 0);
    rc = lg__session_load_text(s, "SUPP", "s.supp", text, size, err, sizeof err);
    CHECK(rc == 0 || rc == LG_ESYNTAX || rc == LG_ENOMEM);
    if (rc == LG_ESYNTAX)
        CHECK(strncmp(err, "SUPP=s.supp:", 12) == 0 && !strchr(err, '\n'));
    lg_session_free(s);
    free(text);
    return 0;
}
