/* A C extension that leaks on request, for tests of mixed tracebacks. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

static void *kept[64];
static int nkept;

__attribute__((noinline)) static void *leaky_alloc(size_t n)
{
    void *p = malloc(n);
    if (p)
        memset(p, 1, n);
    return p;
}

static PyObject *leak(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    void *p = leaky_alloc((size_t)n);
    if (nkept < 64)
        kept[nkept++] = p;
    Py_RETURN_NONE;
}

static PyObject *release(PyObject *self, PyObject *unused)
{
    while (nkept)
        free(kept[--nkept]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"leak", leak, METH_O, "malloc(n) and keep it"},
    {"release", release, METH_NOARGS, "free what leak() kept"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "leaky_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_leaky_ext(void)
{
    return PyModule_Create(&module);
}
