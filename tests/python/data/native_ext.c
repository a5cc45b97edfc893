/* A C extension for the tests of in-process native tracing (the binding
 * patching imported-symbol tables): it allocates with the C library, shows
 * what its own malloc slot holds, and dlopens by bare name. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

static void *kept[64];
static int nkept;

__attribute__((noinline)) static void *native_alloc(size_t n)
{
    void *p = malloc(n); /* native_ext.c:15, the line tests look for */
    if (p)
        memset(p, 1, n);
    return p;
}

static PyObject *keep(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    if (nkept < 64)
        kept[nkept++] = native_alloc((size_t)n);
    Py_RETURN_NONE;
}

static PyObject *release(PyObject *self, PyObject *unused)
{
    while (nkept)
        free(kept[--nkept]);
    Py_RETURN_NONE;
}

/* The address this object calls for malloc (its GOT slot's content). */
static PyObject *malloc_slot(PyObject *self, PyObject *unused)
{
    void *(*volatile fn)(size_t) = malloc;
    return PyLong_FromVoidPtr((void *)fn);
}

/* dlopen(name) from this object: found along its own run path. */
static PyObject *open_bare(PyObject *self, PyObject *arg)
{
    const char *name = PyUnicode_AsUTF8(arg);
    if (!name)
        return NULL;
    void *h = dlopen(name, RTLD_NOW);
    if (!h)
        return PyUnicode_FromString(dlerror());
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"keep", keep, METH_O, "malloc(n) and keep it"},
    {"release", release, METH_NOARGS, "free what keep() kept"},
    {"malloc_slot", malloc_slot, METH_NOARGS, "what this object calls as malloc"},
    {"open_bare", open_bare, METH_O, "dlopen(name): None, or dlerror()"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "native_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_native_ext(void)
{
    return PyModule_Create(&module);
}
