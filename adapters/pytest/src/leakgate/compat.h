/*
 * compat.h — what differs between the CPython versions the binding
 * supports (3.11, 3.12, 3.13): the interpreter's frame layout, read as
 * profilers do, and the bytes in front of an object in its block.  Every
 * version test of the binding is here.
 */
#ifndef LEAKGATE_COMPAT_H
#define LEAKGATE_COMPAT_H

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030E0000
#error "leakgate's Python binding supports CPython 3.11, 3.12 and 3.13"
#endif
#ifdef Py_GIL_DISABLED
#error "leakgate's Python binding does not support the free-threaded build"
#endif

#define Py_BUILD_CORE 1
#include <internal/pycore_frame.h>
#undef Py_BUILD_CORE

/* The thread state of the calling thread, and whether it holds the GIL. */
static inline PyThreadState *compat_thread_state(int *gil)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyThreadState *attached = PyThreadState_GetUnchecked();
#elif PY_VERSION_HEX >= 0x030C0000
    PyThreadState *attached = _PyThreadState_UncheckedGet();
#endif
#if PY_VERSION_HEX >= 0x030C0000
    PyThreadState *ts = attached ? attached : PyGILState_GetThisThreadState();
    *gil = attached != NULL;
#else
    PyThreadState *ts = PyGILState_GetThisThreadState();
    *gil = ts && ts == _PyThreadState_UncheckedGet(); /* the GIL's holder */
#endif
    return ts;
}

/* The innermost interpreter frame of `ts`, or NULL. */
static inline _PyInterpreterFrame *compat_top_frame(PyThreadState *ts)
{
#if PY_VERSION_HEX >= 0x030D0000
    return ts->current_frame;
#else
    return ts->cframe ? ts->cframe->current_frame : NULL;
#endif
}

/* The code object a frame runs, or NULL for frames that are not a Python
 * function's (the C stack's entry frames, frames still being set up). */
static inline PyCodeObject *compat_frame_code(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return NULL;
#endif
#if PY_VERSION_HEX >= 0x030D0000
    if (!PyCode_Check(f->f_executable))
        return NULL;
#endif
    if (_PyFrame_IsIncomplete(f))
        return NULL;
#if PY_VERSION_HEX >= 0x030D0000
    return (PyCodeObject *)f->f_executable;
#else
    return f->f_code;
#endif
}

/* Bytes before an object in its block: the GC header, and the managed
 * dict and weak reference pointers (CPython's _PyType_PreHeaderSize). */
static inline size_t compat_pre_header(PyTypeObject *tp)
{
    size_t n = PyType_IS_GC(tp) ? 2 * sizeof(uintptr_t) : 0;
#ifdef Py_TPFLAGS_MANAGED_WEAKREF
    if (PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT | Py_TPFLAGS_MANAGED_WEAKREF))
#else
    if (PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT))
#endif
        n += 2 * sizeof(PyObject *);
    return n;
}

#endif /* LEAKGATE_COMPAT_H */
