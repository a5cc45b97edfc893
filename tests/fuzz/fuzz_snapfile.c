/* fuzz_snapfile.c — libFuzzer target for the snapshot-file loader.
 *
 * Any input must give either a snapshot whose every field can be read, or
 * an error code with a static detail and no snapshot; anything else is
 * turned into a crash so that libFuzzer reports it.  Run with `make fuzz`;
 * the seeds in tests/fuzz/corpus/snapfile/ are written by test_snapfile (see its
 * seeds_are_small_and_valid test). */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lg_snapshot_t *s = (lg_snapshot_t *)&s;
    const char *detail = NULL;
    int rc = lg_snapshot_load_buffer(data, size, &s, &detail);
    if (rc != 0) {
        CHECK(s == NULL);
        CHECK(rc == LG_EFORMAT || rc == LG_EVERSION || rc == LG_ECORRUPT || rc == LG_ENOMEM);
        CHECK(rc == LG_ENOMEM || (detail && *detail));
        return 0;
    }
    CHECK(detail == NULL);
    CHECK(lg_snapshot_traceback_limit(s) >= 0);
    volatile size_t sum = lg_snapshot_metrics(s)->traced_current;
    for (size_t i = 0; i < lg_snapshot_count(s); i++) {
        const lg_trace_t *t = lg_snapshot_trace(s, i);
        CHECK(t && t->traceback && t->traceback->nframes >= 1);
        sum += t->size + t->domain;
        for (uint32_t k = 0; k < t->traceback->nframes; k++) {
            const lg_frame_t *f = t->traceback->frames[k];
            CHECK(f->kind == LG_FRAME_NATIVE || f->kind == LG_FRAME_PYTHON);
            sum += touch(f->function) + touch(f->file) + touch(f->module) + f->line + f->addr +
                   f->offset;
        }
    }
    CHECK(lg_snapshot_trace(s, lg_snapshot_count(s)) == NULL);
    lg_snapshot_free(s);
    return 0;
}
