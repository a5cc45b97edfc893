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

/* A reference leak: a new list of n items whose last reference is dropped
 * on the floor (a Python-domain block allocated by C code). */
__attribute__((noinline)) static PyObject *lost_list(Py_ssize_t n)
{
    PyObject *list = PyList_New(n);
    for (Py_ssize_t i = 0; list && i < n; i++)
        PyList_SET_ITEM(list, i, PyLong_FromSsize_t(i * 1000 + 1000));
    return list;
}

static PyObject *leak_ref(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    if (!lost_list(n)) /* never released: the reference leaks */
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *new_list(PyObject *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n < 0 && PyErr_Occurred())
        return NULL;
    return lost_list(n);
}

static PyMethodDef methods[] = {
    {"leak_ref", leak_ref, METH_O, "build a list of n ints and leak the reference"},
    {"new_list", new_list, METH_O, "build a list of n ints and return it"},
    {"leak", leak, METH_O, "malloc(n) and keep it"},
    {"release", release, METH_NOARGS, "free what leak() kept"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "leaky_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_leaky_ext(void)
{
    return PyModule_Create(&module);
}
