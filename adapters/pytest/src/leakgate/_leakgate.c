/*
 * _leakgate.c — the Python binding's C half: Python-domain allocator hooks,
 * Python frame capture, and thin wrappers over the runtime (runtime.h).
 *
 * leakgate/__init__.py builds the tracemalloc-shaped API on top of this.
 *
 * Hooks.  start() wraps the RAW, MEM and OBJ allocators (PyMem_SetAllocator)
 * as tracemalloc does.  A hook calls the wrapped allocator inside an
 * untraced section (lg_untraced_enter), so that a PyMem block that reaches
 * malloc is traced once, in the Python domain, and allocations nested in it
 * (pymalloc asking the RAW domain for a big block, frame capture interning
 * a new file name) are not traced at all.
 *
 * Frames.  A Python frame becomes a runtime frame word (lg_interp_frame) for
 * (filename, line, the code's qualified name).  The line comes from the
 * frame's last instruction, as in tracemalloc, through a per-code-object line
 * cache (see line_of); the word comes from a cache keyed by (hash of the
 * names, line), so a known
 * position costs two look-ups and no string work.  A thread reads its own
 * frames only: with the GIL, or without it while it runs C code that
 * released the GIL (its frames cannot change then).
 *
 * Mixed tracebacks.  The same capture function is registered with the
 * runtime (lg_set_interp_frames): when libleakgate.so is preloaded
 * (`leakgate run -- python ...`), malloc calls made by C extensions are
 * traced with their native frames followed by the Python frames that led
 * to them, the interpreter's own native frames left out.
 *
 * State.  Allocator hooks are process-wide by nature (one PyMem allocator
 * per process), so their state is one static struct, `hk` (the hooks under
 * the GIL, the frame cache under its own lock: capture may run without the
 * GIL); the module itself keeps no state.
 *
 * Native tracing.  start() also patches the imported-symbol tables of the
 * loaded objects (lg_imports_patch) unless the runtime's malloc hooks are
 * interposed already (`leakgate run`): C extensions' malloc calls are then
 * traced in the C domain; stop() restores the tables.
 *
 * Supported: CPython 3.11, 3.12 and 3.13; what differs between them (frame
 * access uses the internal frame layout, as profilers do) is in compat.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "compat.h"

#include <leakgate/report.h>
#include <leakgate/runtime.h>

#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- frame cache: (filename hash, line) -> frame word ------------------- */

struct slot {
    Py_hash_t hash; /* of the file name and the qualified name */
    int line;
    uintptr_t word; /* 0: empty */
};

static struct {
    PyMemAllocatorEx raw, mem, obj; /* the wrapped allocators, GIL */
    int installed;                  /* hooks in place, GIL */
    int frames_max;                 /* capture_frames(n): Python frames kept, at
                                       most the traceback limit; -1: the limit */
    int paused;                     /* pause_new_blocks(True): new blocks pass
                                       untraced (frees still untrack), GIL */
    int native;                     /* capture_native(True): new blocks get
                                       the native frames of the C extension
                                       that allocated them, GIL */
    uintptr_t own_lo, own_hi;       /* this module's code, set once */
    pthread_mutex_t lock;           /* protects the frame cache */
    struct slot *slots;             /* frame cache, malloc'd (untraced) */
    size_t cap, used;
} hk = {.lock = PTHREAD_MUTEX_INITIALIZER, .frames_max = -1};

static int cache_grow(void)
{
    size_t ncap = hk.cap ? hk.cap * 2 : 1024;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return -1;
    for (size_t i = 0; i < hk.cap; i++) {
        struct slot *s = &hk.slots[i];
        if (!s->word)
            continue;
        size_t j = ((size_t)s->hash ^ (size_t)s->line * 0x9E3779B97F4A7C15u) & (ncap - 1);
        while (ns[j].word)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(hk.slots);
    hk.slots = ns;
    hk.cap = ncap;
    return 0;
}

/* A str's UTF-8 without allocating (compact ASCII: nearly every path and
 * name), or with the GIL by asking Python; NULL if neither. */
static const char *utf8_of(PyObject *s, int gil)
{
    if (PyUnicode_IS_COMPACT_ASCII(s))
        return (const char *)PyUnicode_DATA(s);
    if (!gil)
        return NULL;
    /* May fail or allocate; the program's pending exception is kept. */
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    const char *utf8 = PyUnicode_AsUTF8(s);
    if (!utf8)
        PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return utf8;
}

/* The word of (filename, line, qualified function name), or 0.  Two
 * positions with the same 64-bit hash of names and the same line would
 * share a word; the odds are those of a hash collision.  `gil`: the caller
 * holds the GIL, so a miss may ask Python for the names' UTF-8 (see
 * utf8_of).  Called with hk.lock. */
static uintptr_t frame_word_locked(PyCodeObject *code, int line, int gil)
{
    PyObject *filename = code->co_filename, *name = code->co_qualname;
    if (!PyUnicode_Check(filename) || !PyUnicode_Check(name))
        return 0;
    /* str hashes are cached and never fail */
    Py_hash_t h = PyObject_Hash(filename) ^ (Py_hash_t)((size_t)PyObject_Hash(name) * 31u);
    if (hk.used * 2 >= hk.cap && cache_grow() != 0)
        return 0;
    size_t i = ((size_t)h ^ (size_t)line * 0x9E3779B97F4A7C15u) & (hk.cap - 1);
    for (; hk.slots[i].word; i = (i + 1) & (hk.cap - 1))
        if (hk.slots[i].hash == h && hk.slots[i].line == line)
            return hk.slots[i].word;
    const char *file = utf8_of(filename, gil), *function = utf8_of(name, gil);
    if (!file || !function)
        return 0;
    uintptr_t word = lg_interp_frame(file, line < 0 ? 0 : (unsigned)line, function);
    if (word) {
        hk.slots[i] = (struct slot){h, line, word};
        hk.used++;
    }
    return word;
}

/* ---- line cache: per code object, instruction -> line ------------------- */

/* PyCode_Addr2Line scans a code object's line table from its start: on
 * every traced allocation that was most of the cost of a capture.  So each
 * code object a capture meets gets, in its co_extra slot (PEP 523's
 * per-code scratch space), the lines of its instructions, filled in as they
 * are met and freed with the code object.  The slot is used only under the
 * GIL, in the interpreter that gave the index, and only when the capture
 * is for a new block (malloc or calloc): setting a slot reallocates the
 * code object's co_extra, and a capture nested in that reallocation must
 * not read it. */
static struct {
    Py_ssize_t index; /* -1: no slot; the slot holds an array of Py_SIZE(code)
                         ints, each line + 2 of its instruction, 0 while not
                         known, freed with free() */
    PyInterpreterState *interp;
} lc = {.index = -1};

static int line_of(PyCodeObject *code, int lasti, PyThreadState *ts, int cache)
{
    int addr = lasti * (int)sizeof(_Py_CODEUNIT);
    if (!cache || lc.index < 0 || ts->interp != lc.interp || lasti < 0 ||
        lasti >= Py_SIZE(code))
        return PyCode_Addr2Line(code, addr);
    void *p = NULL;
    if (_PyCode_GetExtra((PyObject *)code, lc.index, &p) != 0) {
        PyErr_Clear(); /* not a code object: cannot happen */
        return PyCode_Addr2Line(code, addr);
    }
    int *lines = p;
    if (!lines) {
        lines = calloc((size_t)Py_SIZE(code), sizeof *lines);
        if (!lines)
            return PyCode_Addr2Line(code, addr);
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        int rc = _PyCode_SetExtra((PyObject *)code, lc.index, lines);
        PyErr_Restore(type, value, tb);
        if (rc != 0) {
            free(lines);
            return PyCode_Addr2Line(code, addr);
        }
    }
    if (!lines[lasti])
        lines[lasti] = PyCode_Addr2Line(code, addr) + 2;
    return lines[lasti] - 2;
}

/* The calling thread's Python frames, most recent first.  Runs inside
 * allocation hooks, always in an untraced section.  A thread that released
 * the GIL (a C extension calling malloc between Py_BEGIN_ALLOW_THREADS and
 * Py_END_ALLOW_THREADS) is inside C code: its frames cannot change
 * meanwhile, and are read without the GIL.  `lines`: the line cache may be
 * used (see line_of). */
static int capture_frames(uintptr_t *out, int max, uint32_t *total, int lines)
{
    if (hk.frames_max >= 0 && hk.frames_max < max)
        max = hk.frames_max;
    if (max == 0)
        return 0;
    int gil;
    PyThreadState *ts = compat_thread_state(&gil);
    if (!ts)
        return 0;
    int saved = errno, n = 0;
    uint32_t t = 0;
    pthread_mutex_lock(&hk.lock);
    for (_PyInterpreterFrame *f = compat_top_frame(ts); f; f = f->previous) {
        PyCodeObject *code = compat_frame_code(f);
        if (!code)
            continue;
        t++;
        if (n < max) {
            int line = line_of(code, _PyInterpreterFrame_LASTI(f), ts, lines && gil);
            uintptr_t w = frame_word_locked(code, line, gil);
            out[n++] = w ? w : lg_interp_frame("<unknown>", 0, NULL);
        }
    }
    pthread_mutex_unlock(&hk.lock);
    *total = t;
    errno = saved;
    return n;
}

/* lg_interp_frames_fn: the runtime's malloc hooks may run inside any
 * reallocation, that of a co_extra too, so they do not use the line cache. */
static int capture(uintptr_t *out, int max, uint32_t *total)
{
    return capture_frames(out, max, total, 0);
}

/* A fork while another thread captures (without the GIL) must not leave
 * the child a locked cache. */
static void before_fork(void)
{
    pthread_mutex_lock(&hk.lock);
}

static void after_fork(void)
{
    pthread_mutex_unlock(&hk.lock);
}

/* ---- allocator hooks ---------------------------------------------------- */

/* `lines`: see line_of. */
static void trace_new(void *p, size_t size, int lines)
{
    uintptr_t words[LG_FRAMES_MAX];
    uint32_t total = 0;
    int limit = lg_get_traceback_limit(), k = 0;
    if (hk.native && hk.frames_max != 0)
        k = lg_interp_native_frames(words, limit, hk.own_lo, hk.own_hi);
    int n = capture_frames(words + k, limit - k, &total, lines);
    lg_track_frames(LG_DOMAIN_PYTHON, (uintptr_t)p, size, words, k + n, total + (uint32_t)k);
}

static void *hook_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    int nested = lg_untraced_enter();
    void *p = a->malloc(a->ctx, size);
    if (p && !nested && !hk.paused)
        trace_new(p, size, 1);
    lg_untraced_leave(nested);
    return p;
}

static void *hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *a = ctx;
    int nested = lg_untraced_enter();
    void *p = a->calloc(a->ctx, nelem, elsize);
    if (p && !nested && !hk.paused)
        trace_new(p, nelem * elsize, 1);
    lg_untraced_leave(nested);
    return p;
}

/* A moved block's old trace goes after the wrapped realloc: the MEM and
 * OBJ domains run under the GIL, so no other thread reuses the address
 * meanwhile (RAW callers without the GIL may race, as in tracemalloc). */
static void *hook_realloc(void *ctx, void *old, size_t size)
{
    PyMemAllocatorEx *a = ctx;
    int nested = lg_untraced_enter();
    void *p = a->realloc(a->ctx, old, size);
    if (p && !nested) {
        if (old && (p != old || hk.paused))
            lg_untrack(LG_DOMAIN_PYTHON, (uintptr_t)old);
        if (!hk.paused)
            trace_new(p, size, 0);
    }
    lg_untraced_leave(nested);
    return p;
}

static void hook_free(void *ctx, void *p)
{
    PyMemAllocatorEx *a = ctx;
    if (p)
        lg_untrack(LG_DOMAIN_PYTHON, (uintptr_t)p);
    a->free(a->ctx, p);
}

/* The interpreter's own code: the executable segment holding the eval
 * loop, whose native frames the Python frames replace. */
static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
    uintptr_t *range = arg, pc = range[0];
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && pc >= lo && pc < hi) {
            range[0] = lo, range[1] = hi;
            return 1;
        }
    }
    return 0;
}

static void hooks_install(void)
{
    if (hk.installed)
        return;
    PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &hk.raw);
    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &hk.mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &hk.obj);
    PyMemAllocatorEx a = {NULL, hook_malloc, hook_calloc, hook_realloc, hook_free};
    a.ctx = &hk.raw;
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &a);
    a.ctx = &hk.mem;
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &a);
    a.ctx = &hk.obj;
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &a);
    hk.installed = 1;
}

static void hooks_remove(void)
{
    if (!hk.installed)
        return;
    PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &hk.raw);
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &hk.mem);
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &hk.obj);
    hk.installed = 0;
}

/* ---- errors ------------------------------------------------------------- */

static PyObject *raise_lg(int rc)
{
    if (rc == LG_ENOMEM)
        return PyErr_NoMemory();
    if (rc == LG_ENOTTRACING)
        PyErr_SetString(PyExc_RuntimeError, "leakgate is not tracing memory allocations");
    else
        PyErr_SetString(PyExc_RuntimeError, lg_strerror(rc));
    return NULL;
}

/* ---- frames as Python tuples -------------------------------------------- */

/* A Python frame is (filename, lineno), as tracemalloc's; a native frame
 * is (filename, lineno, function, module, offset), filename falling back
 * to the module's path when there is no debug information. */
static PyObject *frame_tuple(const lg_frame_t *f)
{
    if (f->kind == LG_FRAME_PYTHON)
        return Py_BuildValue("(sI)", f->file ? f->file : "<unknown>", f->line);
    const char *file = f->file ? f->file : f->module ? f->module : "<unknown>";
    return Py_BuildValue("(sIzzK)", file, f->line, f->function, f->module,
                         (unsigned long long)f->offset);
}

static PyObject *traceback_tuple(const lg_traceback_t *tb)
{
    PyObject *t = PyTuple_New(tb->nframes);
    for (uint32_t i = 0; t && i < tb->nframes; i++) {
        PyObject *f = frame_tuple(tb->frames[i]);
        if (!f) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, f);
    }
    return t;
}

/* The same traceback (pointer) gives the same tuple object, as
 * tracemalloc's interned tracebacks do. */
static PyObject *traceback_cached(PyObject *cache, const lg_traceback_t *tb)
{
    PyObject *key = PyLong_FromVoidPtr((void *)tb);
    if (!key)
        return NULL;
    PyObject *t = PyDict_GetItemWithError(cache, key);
    if (t) {
        Py_DECREF(key);
        return Py_NewRef(t);
    }
    if (PyErr_Occurred() || !(t = traceback_tuple(tb)) || PyDict_SetItem(cache, key, t) < 0) {
        Py_DECREF(key);
        Py_XDECREF(t);
        return NULL;
    }
    Py_DECREF(key);
    return t;
}

/* ---- module functions --------------------------------------------------- */

static PyObject *m_start(PyObject *self, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 1 || n > LG_FRAMES_MAX)
        return PyErr_Format(PyExc_ValueError, "the number of frames must be in range [1; %d]",
                            LG_FRAMES_MAX);
    const char *native = getenv("LEAKGATE_NATIVE");
    if (native && *native && strcmp(native, "0") != 0 && strcmp(native, "1") != 0)
        return PyErr_Format(PyExc_ValueError, "LEAKGATE_NATIVE=%s: expected 0 (trace only "
                            "Python allocations) or 1 (C extensions' too, the default)", native);
    int rc = lg_start((int)n);
    if (rc)
        return raise_lg(rc);
    hooks_install();
    if (!native || strcmp(native, "0") != 0)
        lg_imports_patch(); /* LG_ENOTSUP: native_hooks() tells */
    Py_RETURN_NONE;
}

static PyObject *m_stop(PyObject *self, PyObject *unused)
{
    lg_imports_restore();
    hooks_remove();
    lg_stop();
    Py_RETURN_NONE;
}

/* How C extensions' malloc calls reach the tracer: "interposed" (the
 * runtime preloaded: `leakgate run`), "patched" (their imported-symbol
 * tables, by start()) or "off". */
static PyObject *m_native_hooks(PyObject *self, PyObject *unused)
{
    int mode = lg_native_hooks();
    return PyUnicode_FromString(mode == LG_HOOKS_INTERPOSED ? "interposed"
                                : mode == LG_HOOKS_PATCHED  ? "patched"
                                                            : "off");
}

static PyObject *m_is_tracing(PyObject *self, PyObject *unused)
{
    return PyBool_FromLong(hk.installed && lg_is_tracing());
}

static PyObject *m_clear_traces(PyObject *self, PyObject *unused)
{
    lg_clear_traces();
    Py_RETURN_NONE;
}

static PyObject *m_get_traceback_limit(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(lg_get_traceback_limit());
}

static PyObject *m_get_traced_memory(PyObject *self, PyObject *unused)
{
    size_t cur = 0, peak = 0;
    if (lg_is_tracing())
        lg_get_traced_memory(&cur, &peak);
    return Py_BuildValue("(nn)", (Py_ssize_t)cur, (Py_ssize_t)peak);
}

static PyObject *m_reset_peak(PyObject *self, PyObject *unused)
{
    lg_reset_peak();
    Py_RETURN_NONE;
}

static PyObject *m_get_tracemalloc_memory(PyObject *self, PyObject *unused)
{
    return PyLong_FromSize_t(lg_get_tracer_memory() + hk.cap * sizeof(struct slot));
}

static PyObject *m_lost_traces(PyObject *self, PyObject *unused)
{
    return PyLong_FromUnsignedLongLong(lg_get_lost_traces());
}

static PyObject *m_get_object_traceback(PyObject *self, PyObject *obj)
{
    uintptr_t words[LG_FRAMES_MAX];
    uintptr_t p = (uintptr_t)obj - compat_pre_header(Py_TYPE(obj));
    int n = lg_get_traceback(LG_DOMAIN_PYTHON, p, words, LG_FRAMES_MAX);
    if (n < 0)
        Py_RETURN_NONE;
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        lg_frame_t f;
        lg_symbolize(words[i], &f);
        PyObject *ft = frame_tuple(&f);
        if (!ft) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, ft);
    }
    return t;
}

/* [(domain, size, frames, total_nframe), ...] of a snapshot. */
static PyObject *traces_list(const lg_snapshot_t *snap)
{
    size_t n = lg_snapshot_count(snap);
    PyObject *cache = PyDict_New(), *list = cache ? PyList_New((Py_ssize_t)n) : NULL;
    for (size_t i = 0; list && i < n; i++) {
        const lg_trace_t *t = lg_snapshot_trace(snap, i);
        PyObject *tb = traceback_cached(cache, t->traceback);
        PyObject *item = tb ? Py_BuildValue("(InNI)", t->domain,
                                            (Py_ssize_t)t->size, tb, t->traceback->total_nframe)
                            : NULL;
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    Py_XDECREF(cache);
    return list;
}

static PyObject *m_get_traces(PyObject *self, PyObject *unused)
{
    if (!hk.installed || !lg_is_tracing())
        return PyList_New(0);
    lg_snapshot_t *snap;
    int rc = lg_snapshot_take(&snap);
    if (rc)
        return raise_lg(rc);
    PyObject *list = traces_list(snap);
    lg_snapshot_free(snap);
    return list;
}

/* Fills *f from a frame tuple (2 or 5 items); strings stay borrowed from
 * the tuple.  Returns 0 or -1 with TypeError. */
static int frame_from_tuple(PyObject *t, lg_frame_t *f)
{
    memset(f, 0, sizeof *f);
    Py_ssize_t n = PyTuple_Check(t) ? PyTuple_GET_SIZE(t) : 0;
    unsigned long long line = 0, offset = 0;
    if (n == 2) {
        f->kind = LG_FRAME_PYTHON;
        if (PyArg_ParseTuple(t, "sK", &f->file, &line))
            goto ok;
    } else if (n == 5) {
        f->kind = LG_FRAME_NATIVE;
        if (PyArg_ParseTuple(t, "sKzzK", &f->file, &line, &f->function, &f->module, &offset))
            goto ok;
    }
    PyErr_Clear();
    PyErr_SetString(PyExc_TypeError, "a frame must be (filename, lineno) or "
                                     "(filename, lineno, function, module, offset)");
    return -1;
ok:
    f->line = (unsigned)line;
    f->offset = offset;
    return 0;
}

static PyObject *m_dump(PyObject *self, PyObject *args)
{
    PyObject *path, *traces;
    int limit;
    Py_buffer user;
    if (!PyArg_ParseTuple(args, "O&Oiy*", PyUnicode_FSConverter, &path, &traces, &limit, &user))
        return NULL;
    PyObject *seq = PySequence_Fast(traces, "traces must be a sequence");
    lg_snapshot_t *snap = NULL;
    int rc = seq ? lg_snapshot_new(limit < 0 ? 0 : limit > LG_FRAMES_MAX ? LG_FRAMES_MAX : limit,
                                   &snap)
                 : 0;
    PyObject *result = NULL;
    if (!seq || rc) {
        if (rc)
            raise_lg(rc);
        goto out;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        unsigned int domain, total;
        Py_ssize_t size;
        PyObject *frames;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "InO!I", &domain, &size,
                              &PyTuple_Type, &frames, &total))
            goto out;
        lg_frame_t fr[LG_FRAMES_MAX + 16];
        Py_ssize_t n = PyTuple_GET_SIZE(frames);
        if (n > (Py_ssize_t)(sizeof fr / sizeof fr[0])) {
            PyErr_SetString(PyExc_ValueError, "traceback too long for a snapshot file");
            goto out;
        }
        for (Py_ssize_t j = 0; j < n; j++)
            if (frame_from_tuple(PyTuple_GET_ITEM(frames, j), &fr[j]) < 0)
                goto out;
        rc = lg_snapshot_add(snap, domain, (size_t)size, fr, (uint32_t)n, total);
        if (rc) {
            raise_lg(rc);
            goto out;
        }
    }
    if ((rc = lg_snapshot_set_user_data(snap, user.buf, (size_t)user.len))) {
        raise_lg(rc);
        goto out;
    }
    if ((rc = lg_snapshot_dump(snap, PyBytes_AS_STRING(path)))) {
        if (rc == LG_EIO)
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        else
            raise_lg(rc);
        goto out;
    }
    result = Py_NewRef(Py_None);
out:
    lg_snapshot_free(snap);
    Py_XDECREF(seq);
    PyBuffer_Release(&user);
    Py_DECREF(path);
    return result;
}

/* (traces, traceback_limit, user_data) of a snapshot file. */
static PyObject *m_load(PyObject *self, PyObject *arg)
{
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    lg_snapshot_t *snap;
    const char *detail = NULL;
    int rc = lg_snapshot_load(PyBytes_AS_STRING(path), &snap, &detail);
    if (rc) {
        if (rc == LG_EIO)
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        else if (rc == LG_ENOMEM)
            PyErr_NoMemory();
        else
            PyErr_Format(PyExc_ValueError, "%s: %s%s%s", PyBytes_AS_STRING(path), lg_strerror(rc),
                         detail ? ": " : "", detail ? detail : "");
        Py_DECREF(path);
        return NULL;
    }
    Py_DECREF(path);
    size_t ulen;
    const char *user = lg_snapshot_user_data(snap, &ulen);
    PyObject *list = traces_list(snap);
    PyObject *r = list ? Py_BuildValue("(Niy#)", list, lg_snapshot_traceback_limit(snap),
                                       user ? user : "", (Py_ssize_t)ulen)
                       : NULL;
    lg_snapshot_free(snap);
    return r;
}

/* ---- marks -------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    lg_mark_t *mark;
} MarkObject;

static PyObject *mark_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!PyArg_ParseTuple(args, ":_Mark"))
        return NULL;
    if (!lg_is_tracing())
        return raise_lg(LG_ENOTTRACING);
    MarkObject *self = (MarkObject *)type->tp_alloc(type, 0);
    if (!self)
        return NULL;
    int rc = lg_mark_begin(&self->mark);
    if (rc) {
        Py_DECREF(self);
        return raise_lg(rc);
    }
    return (PyObject *)self;
}

static void mark_dealloc(MarkObject *self)
{
    lg_mark_free(self->mark);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* [(domain, frames, size, size_diff, count, count_diff), ...], and the
 * traces lost since the mark. */
static PyObject *mark_diff(MarkObject *self, PyObject *unused)
{
    if (!self->mark) {
        PyErr_SetString(PyExc_RuntimeError, "the mark is closed");
        return NULL;
    }
    lg_stats_t *st;
    uint64_t lost = 0;
    int rc = lg_mark_diff(self->mark, &st, &lost);
    if (rc == LG_ESTALE) {
        PyErr_SetString(PyExc_RuntimeError, "the mark is stale: a newer mark began, or traces "
                                            "were cleared or tracing stopped since");
        return NULL;
    }
    if (rc)
        return raise_lg(rc);
    size_t n = lg_stats_count(st);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        const lg_stat_t *s = lg_stats_get(st, i);
        PyObject *tb = traceback_tuple(&s->traceback);
        PyObject *item = tb ? Py_BuildValue("(INnLnL)", s->domain, tb,
                                            (Py_ssize_t)s->size, (long long)s->size_diff,
                                            (Py_ssize_t)s->count, (long long)s->count_diff)
                            : NULL;
        if (!item)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    lg_stats_free(st);
    return list ? Py_BuildValue("(NK)", list, (unsigned long long)lost) : NULL;
}

static PyObject *mark_close(MarkObject *self, PyObject *unused)
{
    lg_mark_free(self->mark);
    self->mark = NULL;
    Py_RETURN_NONE;
}

static PyMethodDef mark_methods[] = {
    {"diff", (PyCFunction)mark_diff, METH_NOARGS, NULL},
    {"close", (PyCFunction)mark_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot mark_slots[] = {
    {Py_tp_new, mark_new},
    {Py_tp_dealloc, mark_dealloc},
    {Py_tp_methods, mark_methods},
    {Py_tp_doc, "A runtime mark: what was allocated and not freed since it began."},
    {0, NULL},
};

static PyType_Spec mark_spec = {
    "leakgate._leakgate._Mark", sizeof(MarkObject), 0, Py_TPFLAGS_DEFAULT, mark_slots,
};

/* ---- the test session (session.h, report.h): verdicts, failure text, JSON ---------- */

typedef struct {
    PyObject_HEAD
    lg_session_t *s;
    PyObject *patterns; /* keeps the stop patterns the session borrows */
} SessionObject;

static PyObject *session_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (!PyArg_ParseTuple(args, ":Session"))
        return NULL;
    SessionObject *self = (SessionObject *)type->tp_alloc(type, 0);
    if (!self || !(self->patterns = PyList_New(0))) {
        Py_XDECREF(self);
        return NULL;
    }
    char err[512];
    int rc = lg_session_new(&self->s, err, sizeof err);
    if (rc) {
        Py_DECREF(self);
        if (rc == LG_ENOMEM)
            return PyErr_NoMemory();
        PyErr_SetString(PyExc_ValueError, err[0] ? err : lg_strerror(rc));
        return NULL;
    }
    /* pytest --leaks: what a test leaves on every measured run counts,
     * whatever its kind (a leaked Python object is reachable by nature). */
    lg_session_set_leak_kinds(self->s, LG_LEAK_KINDS_ALL);
    lg_session_set_scan(self->s, LG_SCAN_OFF);
    lg_session_set_repeat(self->s, 0); /* its runs are --leaks-warmup and --leaks-runs */
    return (PyObject *)self;
}

static void session_dealloc(SessionObject *self)
{
    lg_session_free(self->s);
    Py_XDECREF(self->patterns);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int parse_limits(PyObject *args, lg_limits_t *l)
{
    long long size, count;
    if (!PyArg_ParseTuple(args, "LL", &size, &count))
        return -1;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "max_size must be >= 0");
        return -1;
    }
    l->max_size = size;
    l->max_count = count < 0 ? -1 : count;
    return 0;
}

static PyObject *session_set_defaults(SessionObject *self, PyObject *args)
{
    lg_limits_t l;
    if (parse_limits(args, &l) < 0)
        return NULL;
    lg_session_set_defaults(self->s, &l);
    Py_RETURN_NONE;
}

static PyObject *session_set_limits(SessionObject *self, PyObject *args)
{
    lg_limits_t l;
    if (parse_limits(args, &l) < 0)
        return NULL;
    lg_session_set_limits(self->s, &l);
    Py_RETURN_NONE;
}

static PyObject *session_limits(SessionObject *self, PyObject *unused)
{
    lg_limits_t l = lg_session_limits(self->s);
    return Py_BuildValue("(LL)", (long long)l.max_size, (long long)l.max_count);
}

static PyObject *session_set_top(SessionObject *self, PyObject *arg)
{
    int top = PyLong_AsLong(arg);
    if (top == -1 && PyErr_Occurred())
        return NULL;
    lg_session_set_top(self->s, top);
    Py_RETURN_NONE;
}

static PyObject *session_add_suppressions(SessionObject *self, PyObject *args)
{
    const char *name, *spec;
    if (!PyArg_ParseTuple(args, "ss", &name, &spec))
        return NULL;
    char err[512] = "";
    int rc = lg_session_add_suppressions(self->s, name, spec, err, sizeof err);
    if (rc == LG_ENOMEM)
        return PyErr_NoMemory();
    if (rc) {
        PyErr_SetString(PyExc_ValueError, err[0] ? err : lg_strerror(rc));
        return NULL;
    }
    Py_RETURN_NONE;
}

/* stop_frames_at(module_pattern, file_pattern): either may be None. */
static PyObject *session_stop_frames_at(SessionObject *self, PyObject *args)
{
    PyObject *module, *file;
    if (!PyArg_ParseTuple(args, "OO", &module, &file))
        return NULL;
    const char *m = NULL, *f = NULL;
    if (module != Py_None && (!(m = PyUnicode_AsUTF8(module)) ||
                              PyList_Append(self->patterns, module) < 0))
        return NULL;
    if (file != Py_None && (!(f = PyUnicode_AsUTF8(file)) ||
                            PyList_Append(self->patterns, file) < 0))
        return NULL;
    lg_session_stop_frames_at(self->s, m);
    lg_session_stop_python_frames_at(self->s, f);
    Py_RETURN_NONE;
}

static PyObject *session_begin(SessionObject *self, PyObject *arg)
{
    const char *id = PyUnicode_AsUTF8(arg);
    if (!id)
        return NULL;
    int rc = lg_session_begin_test(self->s, id);
    return rc ? raise_lg(rc) : Py_NewRef(Py_None);
}

/* (outcome, size_diff, count_diff, lost_traces) of the running test. */
static PyObject *session_measure(SessionObject *self, PyObject *unused)
{
    lg_result_t r;
    int rc = lg_session_measure(self->s, &r);
    if (rc == LG_ESTALE) {
        PyErr_SetString(PyExc_RuntimeError, "no test is running, or its mark went stale "
                                            "(another mark began, or traces were cleared)");
        return NULL;
    }
    if (rc)
        return raise_lg(rc);
    return Py_BuildValue("(sLLK)", lg_outcome_name(r.outcome), (long long)r.size_diff,
                         (long long)r.count_diff, (unsigned long long)r.lost_traces);
}

static PyObject *session_record(SessionObject *self, PyObject *unused)
{
    int rc = lg_session_record(self->s);
    return rc ? raise_lg(rc) : Py_NewRef(Py_None);
}

/* set_scan(native): whether the running test, if it left blocks with
 * native frames (a C extension's), gets a reachability scan when measured,
 * giving those blocks their kinds.  The confirming run asks for it. */
static PyObject *session_set_scan(SessionObject *self, PyObject *arg)
{
    int native = PyObject_IsTrue(arg);
    if (native < 0)
        return NULL;
    lg_session_set_scan(self->s, native ? LG_SCAN_NATIVE : LG_SCAN_OFF);
    Py_RETURN_NONE;
}

/* Drops the running test's window: its last measured result stands. */
static PyObject *session_abandon(SessionObject *self, PyObject *unused)
{
    lg_session_abandon(self->s);
    Py_RETURN_NONE;
}

static PyObject *session_skip(SessionObject *self, PyObject *arg)
{
    const char *id = PyUnicode_AsUTF8(arg);
    if (!id)
        return NULL;
    int rc = lg_session_skip_test(self->s, id);
    return rc ? raise_lg(rc) : Py_NewRef(Py_None);
}

static PyObject *string_result(char *text)
{
    if (!text)
        return PyErr_NoMemory();
    PyObject *r = PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
    lg_string_free(text);
    return r;
}

static PyObject *session_failure_text(SessionObject *self, PyObject *unused)
{
    return string_result(lg_session_failure_text(self->s));
}

static PyObject *session_report_json(SessionObject *self, PyObject *unused)
{
    return string_result(lg_json_report_string(lg_session_report(self->s)));
}

static PyObject *session_merge_report(SessionObject *self, PyObject *arg)
{
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    char err[512] = "";
    int rc = lg_json_report_merge_file(lg_session_report(self->s), PyBytes_AS_STRING(path), err,
                                       sizeof err);
    if (rc == LG_EIO)
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    else if (rc)
        PyErr_Format(PyExc_ValueError, "%s: %s", PyBytes_AS_STRING(path),
                     err[0] ? err : lg_strerror(rc));
    Py_DECREF(path);
    return rc ? NULL : Py_NewRef(Py_None);
}

static PyObject *session_write_report(SessionObject *self, PyObject *arg)
{
    PyObject *path;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    int rc = lg_json_report_write(lg_session_report(self->s), PyBytes_AS_STRING(path));
    if (rc == LG_EIO)
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    else if (rc)
        raise_lg(rc);
    Py_DECREF(path);
    return rc ? NULL : Py_NewRef(Py_None);
}

static PyMethodDef session_methods[] = {
    {"set_defaults", (PyCFunction)session_set_defaults, METH_VARARGS, NULL},
    {"set_limits", (PyCFunction)session_set_limits, METH_VARARGS, NULL},
    {"limits", (PyCFunction)session_limits, METH_NOARGS, NULL},
    {"set_top", (PyCFunction)session_set_top, METH_O, NULL},
    {"add_suppressions", (PyCFunction)session_add_suppressions, METH_VARARGS, NULL},
    {"stop_frames_at", (PyCFunction)session_stop_frames_at, METH_VARARGS, NULL},
    {"begin", (PyCFunction)session_begin, METH_O, NULL},
    {"measure", (PyCFunction)session_measure, METH_NOARGS, NULL},
    {"set_scan", (PyCFunction)session_set_scan, METH_O, NULL},
    {"record", (PyCFunction)session_record, METH_NOARGS, NULL},
    {"abandon", (PyCFunction)session_abandon, METH_NOARGS, NULL},
    {"skip", (PyCFunction)session_skip, METH_O, NULL},
    {"failure_text", (PyCFunction)session_failure_text, METH_NOARGS, NULL},
    {"report_json", (PyCFunction)session_report_json, METH_NOARGS, NULL},
    {"merge_report", (PyCFunction)session_merge_report, METH_O, NULL},
    {"write_report", (PyCFunction)session_write_report, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot session_slots[] = {
    {Py_tp_new, session_new},
    {Py_tp_dealloc, session_dealloc},
    {Py_tp_methods, session_methods},
    {Py_tp_doc, "The plugin's test session: limits, filters, verdicts, failure text and "
                "the leakgate/1 JSON report (settings from LEAKGATE_* first)."},
    {0, NULL},
};

static PyType_Spec session_spec = {
    "leakgate._leakgate.Session", sizeof(SessionObject), 0, Py_TPFLAGS_DEFAULT, session_slots,
};

/* capture_frames(n): new traces keep at most n Python frames (None: the
 * traceback limit).  A test runner takes none between tests (blocks are
 * still traced, so that their frees during a test are seen, at a fraction
 * of the cost) and one where the traceback is not needed yet. */
static PyObject *m_capture_frames(PyObject *self, PyObject *arg)
{
    long n = arg == Py_None ? -1 : PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    hk.frames_max = n < 0 ? -1 : n > LG_FRAMES_MAX ? LG_FRAMES_MAX : (int)n;
    Py_RETURN_NONE;
}

/* pause_new_blocks(flag): while set, Python-domain blocks allocated are
 * not traced (another tracer, the standard library's tracemalloc, sits
 * above the hooks and its own memory is not the program's); frees still
 * untrack, so no trace goes stale. */
static PyObject *m_pause_new_blocks(PyObject *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    hk.paused = on;
    Py_RETURN_NONE;
}

/* capture_native(flag): while set, a Python block allocated by a C
 * extension gets the extension's native frames before its Python ones
 * (lg_interp_native_frames: a native backtrace per allocation). */
static PyObject *m_capture_native(PyObject *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    hk.native = on;
    Py_RETURN_NONE;
}

/* parse_size(name, text) -> bytes; ValueError naming the setting. */
static PyObject *m_parse_size(PyObject *self, PyObject *args)
{
    const char *name, *text;
    if (!PyArg_ParseTuple(args, "ss", &name, &text))
        return NULL;
    int64_t n;
    char err[256];
    if (lg_parse_size_setting(name, text, &n, err, sizeof err) != 0) {
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    return PyLong_FromLongLong(n);
}

static PyObject *m_trace_only_thread(PyObject *self, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    lg_trace_only_thread(on);
    Py_RETURN_NONE;
}

/* ---- module ------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"start", m_start, METH_O, NULL},
    {"stop", m_stop, METH_NOARGS, NULL},
    {"native_hooks", m_native_hooks, METH_NOARGS, NULL},
    {"is_tracing", m_is_tracing, METH_NOARGS, NULL},
    {"clear_traces", m_clear_traces, METH_NOARGS, NULL},
    {"get_traceback_limit", m_get_traceback_limit, METH_NOARGS, NULL},
    {"get_traced_memory", m_get_traced_memory, METH_NOARGS, NULL},
    {"reset_peak", m_reset_peak, METH_NOARGS, NULL},
    {"get_tracemalloc_memory", m_get_tracemalloc_memory, METH_NOARGS, NULL},
    {"lost_traces", m_lost_traces, METH_NOARGS, NULL},
    {"get_object_traceback", m_get_object_traceback, METH_O, NULL},
    {"get_traces", m_get_traces, METH_NOARGS, NULL},
    {"dump", m_dump, METH_VARARGS, NULL},
    {"load", m_load, METH_O, NULL},
    {"trace_only_thread", m_trace_only_thread, METH_O, NULL},
    {"pause_new_blocks", m_pause_new_blocks, METH_O, NULL},
    {"capture_native", m_capture_native, METH_O, NULL},
    {"parse_size", m_parse_size, METH_VARARGS, NULL},
    {"capture_frames", m_capture_frames, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *m)
{
    /* The loader gives this module the libleakgate.so already in the
     * process when there is one (preloaded by another installation's
     * `leakgate run`): refuse a runtime of another release. */
    if (strcmp(lg_version(), LG_VERSION) != 0) {
        PyErr_Format(PyExc_ImportError,
                     "leakgate: the loaded runtime (libleakgate.so) is version %s, this binding "
                     "%s: run Python with the leakgate command of the binding's installation",
                     lg_version(), LG_VERSION);
        return -1;
    }
    PyObject *mark_type = PyType_FromSpec(&mark_spec);
    if (!mark_type || PyModule_AddObject(m, "_Mark", mark_type) < 0) {
        Py_XDECREF(mark_type);
        return -1;
    }
    PyObject *session_type = PyType_FromSpec(&session_spec);
    if (!session_type || PyModule_AddObject(m, "Session", session_type) < 0) {
        Py_XDECREF(session_type);
        return -1;
    }
    if (PyModule_AddIntConstant(m, "MAX_NFRAME", LG_FRAMES_MAX) < 0 ||
        PyModule_AddIntConstant(m, "NATIVE_DOMAIN", LG_DOMAIN_C) < 0 ||
        PyModule_AddIntConstant(m, "PYTHON_DOMAIN", LG_DOMAIN_PYTHON) < 0)
        return -1;
    /* When the runtime's malloc hooks are in place (libleakgate.so
     * preloaded), C-heap tracebacks get their Python frames from now on. */
    static int once;
    if (!once++) {
        pthread_atfork(before_fork, after_fork, after_fork);
        lc.index = _PyEval_RequestCodeExtraIndex(free);
        lc.interp = PyInterpreterState_Get();
    }
    uintptr_t range[2] = {(uintptr_t)&PyEval_EvalCode, 0};
    if (dl_iterate_phdr(find_text, range) == 1)
        lg_set_interp_frames(capture, range[0], range[1]);
    uintptr_t own[2] = {(uintptr_t)&hook_malloc, 0};
    if (dl_iterate_phdr(find_text, own) == 1)
        hk.own_lo = own[0], hk.own_hi = own[1];
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "leakgate._leakgate", "leakgate's C half: hooks and runtime calls.",
    0, methods, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__leakgate(void)
{
    return PyModuleDef_Init(&module);
}
