/* Tests of interpreter frames: interning of frame words, their resolution,
 * tracing with given frames, and the capture function the hooks call. */
#include "lg_internal.h"
#include "lgtest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uintptr_t native_site;
static int native_backtrace(uintptr_t *frames, int max, uint32_t *total)
{
    LG_UNUSED(max);
    frames[0] = native_site;      /* the extension that called malloc */
    frames[1] = 0x5000;           /* the interpreter's own code */
    frames[2] = 0x5100;
    *total = 3;
    return 3;
}

static uintptr_t py_words[2];
static int py_frames(uintptr_t *frames, int max, uint32_t *total)
{
    int n = max < 2 ? max : 2;
    for (int i = 0; i < n; i++)
        frames[i] = py_words[i];
    *total = 7;
    return n;
}

LGT_TEST(frame_words_are_interned_and_resolve)
{
    uintptr_t a = lg_interp_frame("app/models.py", 12, NULL);
    uintptr_t b = lg_interp_frame("app/models.py", 13, "Model.save");
    ASSERT(a & LG_INTERP_FRAME_BIT);
    ASSERT(a != b);
    ASSERT(lg_interp_frame("app/models.py", 12, NULL) == a);
    ASSERT(lg_interp_frame(NULL, 1, NULL) == 0);
    lg_frame_t f;
    lg_symbolize(b, &f);
    ASSERT_EQ(f.kind, LG_FRAME_PYTHON);
    ASSERT_STR_EQ(f.file, "app/models.py");
    ASSERT_EQ(f.line, 13);
    ASSERT_STR_EQ(f.function, "Model.save");
    ASSERT(f.module == NULL);
    /* The same line in another function (a lambda, a comprehension) is
     * another frame. */
    uintptr_t c = lg_interp_frame("app/models.py", 13, "<lambda>");
    ASSERT(c != b && c != 0);
    ASSERT(lg_interp_frame("app/models.py", 13, "Model.save") == b);
    lg_symbolize(a, &f);
    ASSERT(f.function == NULL && f.module == NULL);
    /* Many positions: the table grows and every word stays right. */
    char name[32];
    uintptr_t w[3000];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "m%d.py", i % 7);
        w[i] = lg_interp_frame(name, (unsigned)i, i % 2 ? "f" : NULL);
    }
    for (int i = 0; i < 3000; i++) {
        lg_symbolize(w[i], &f);
        snprintf(name, sizeof name, "m%d.py", i % 7);
        ASSERT_STR_EQ(f.file, name);
        ASSERT_EQ(f.line, (unsigned)i);
        ASSERT(i % 2 ? f.function && strcmp(f.function, "f") == 0 : f.function == NULL);
    }
}

LGT_TEST(track_frames_gives_the_traceback)
{
    ASSERT_EQ(lg_track_frames(1, 0x10, 8, NULL, 0, 0), LG_ENOTTRACING);
    ASSERT_EQ(lg_start(8), 0);
    uintptr_t words[2] = {lg_interp_frame("b.py", 4, NULL), lg_interp_frame("a.py", 2, NULL)};
    ASSERT_EQ(lg_track_frames(LG_DOMAIN_PYTHON, 0x10, 8, words, 2, 9), 0);
    ASSERT_EQ(lg_track_frames(LG_DOMAIN_PYTHON, 0x20, 4, NULL, 0, 0), 0);
    ASSERT_EQ(lg_track_frames(LG_DOMAIN_PYTHON, 0x30, 4, NULL, -1, 0), LG_EINVAL);
    lg_snapshot_t *s;
    ASSERT_EQ(lg_snapshot_take(&s), 0);
    ASSERT_EQ(lg_snapshot_count(s), 2);
    for (size_t i = 0; i < 2; i++) {
        const lg_trace_t *t = lg_snapshot_trace(s, i);
        ASSERT_EQ(t->domain, LG_DOMAIN_PYTHON);
        if (t->size == 8) {
            ASSERT_EQ(t->traceback->nframes, 2);
            ASSERT_EQ(t->traceback->total_nframe, 9);
            ASSERT_STR_EQ(t->traceback->frames[0]->file, "b.py");
            ASSERT_EQ(t->traceback->frames[1]->line, 2);
        } else {
            ASSERT_STR_EQ(t->traceback->frames[0]->file, "<unknown>");
        }
    }
    lg_snapshot_free(s);
}

LGT_TEST(native_tracebacks_end_with_the_interpreters_frames)
{
    lg__set_backtrace_hook(native_backtrace);
    ASSERT_EQ(lg_start(8), 0);
    native_site = 0x9000;
    py_words[0] = lg_interp_frame("ext_user.py", 30, NULL);
    py_words[1] = lg_interp_frame("main.py", 3, NULL);
    lg_set_interp_frames(py_frames, 0x4000, 0x6000);
    ASSERT_EQ(lg_track(LG_DOMAIN_C, 0x100, 16), 0);
    lg_set_interp_frames(NULL, 0, 0);
    ASSERT_EQ(lg_track(LG_DOMAIN_C, 0x200, 16), 0);
    uintptr_t got[8];
    ASSERT_EQ(lg_get_traceback(LG_DOMAIN_C, 0x100, got, 8), 3);
    ASSERT(got[0] == 0x9000 && got[1] == py_words[0] && got[2] == py_words[1]);
    /* Unregistered: native frames only, the interpreter's included. */
    ASSERT_EQ(lg_get_traceback(LG_DOMAIN_C, 0x200, got, 8), 3);
    ASSERT(got[1] == 0x5000);
}

LGT_TEST(untraced_sections_nest)
{
    ASSERT_EQ(lg_untraced_enter(), 0);
    ASSERT_NE(lg_untraced_enter(), 0);
    lg_untraced_leave(1);
    ASSERT_EQ(lg__in_hook, 1);
    lg_untraced_leave(0);
    ASSERT_EQ(lg__in_hook, 0);
}

LGT_TEST(built_snapshots_keep_user_data_through_a_file)
{
    lg_snapshot_t *s, *back;
    ASSERT_EQ(lg_snapshot_new(LG_FRAMES_MAX + 1, &s), LG_EINVAL);
    ASSERT_EQ(lg_snapshot_new(3, &s), 0);
    lg_frame_t fr[2] = {{.kind = LG_FRAME_PYTHON, .file = "a.py", .line = 2},
                        {.kind = LG_FRAME_NATIVE, .function = "f", .module = "/lib/x.so"}};
    ASSERT_EQ(lg_snapshot_add(s, 0, 10, fr, 2, 3), 0);
    ASSERT_EQ(lg_snapshot_add(s, 2, 66, NULL, 0, 0), 0);
    ASSERT_EQ(lg_snapshot_set_user_data(s, "{\"a\": 1}", 8), 0);
    char path[] = "/tmp/lg-interp-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    close(fd);
    ASSERT_EQ(lg_snapshot_dump(s, path), 0);
    const char *detail = NULL;
    ASSERT_EQ(lg_snapshot_load(path, &back, &detail), 0);
    unlink(path);
    size_t len;
    const char *ud = lg_snapshot_user_data(back, &len);
    ASSERT_EQ(len, 8);
    ASSERT(memcmp(ud, "{\"a\": 1}", 8) == 0);
    ASSERT_EQ(lg_snapshot_traceback_limit(back), 3);
    ASSERT_EQ(lg_snapshot_count(back), 2);
    const lg_trace_t *t = lg_snapshot_trace(back, 0);
    ASSERT_EQ(t->size, 10);
    ASSERT_EQ(t->traceback->total_nframe, 3);
    ASSERT_STR_EQ(t->traceback->frames[1]->function, "f");
    ASSERT_STR_EQ(lg_snapshot_trace(back, 1)->traceback->frames[0]->file, "<unknown>");
    lg_snapshot_free(back);
    lg_snapshot_free(s);
}

static void after_each(void)
{
    lg_stop();
    lg_set_interp_frames(NULL, 0, 0);
    lg__set_backtrace_hook(NULL);
}
LGT_AFTER_EACH(after_each)

LGT_MAIN()
