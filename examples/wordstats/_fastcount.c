/* _fastcount: letter counting in C for wordstats.  vowel_ratio() leaks its
 * scratch table on purpose (marked DEMO LEAK), the kind of leak only a
 * native-frame tracer finds: Python's allocators never see it. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <ctype.h>
#include <stdlib.h>

static unsigned *count_letters(const char *s, Py_ssize_t n)
{
    unsigned *table = calloc(26, sizeof *table);
    if (!table)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++)
        if (isalpha((unsigned char)s[i]))
            table[tolower((unsigned char)s[i]) - 'a']++;
    return table;
}

static PyObject *letters(PyObject *self, PyObject *args)
{
    const char *s;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y#", &s, &n))
        return NULL;
    unsigned *table = count_letters(s, n);
    if (!table)
        return PyErr_NoMemory();
    PyObject *d = PyDict_New();
    for (int i = 0; d && i < 26; i++) {
        if (!table[i])
            continue;
        char key[2] = {(char)('a' + i), 0};
        PyObject *v = PyLong_FromUnsignedLong(table[i]);
        if (!v || PyDict_SetItemString(d, key, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    free(table);
    return d;
}

static PyObject *vowel_ratio(PyObject *self, PyObject *args)
{
    const char *s;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "y#", &s, &n))
        return NULL;
    unsigned *table = count_letters(s, n);
    if (!table)
        return PyErr_NoMemory();
    unsigned vowels = table['a' - 'a'] + table['e' - 'a'] + table['i' - 'a'] +
                      table['o' - 'a'] + table['u' - 'a'];
    unsigned all = 0;
    for (int i = 0; i < 26; i++)
        all += table[i];
    return PyFloat_FromDouble(all ? (double)vowels / all : 0.0); /* DEMO LEAK: table */
}

static PyMethodDef methods[] = {
    {"letters", letters, METH_VARARGS, "letter -> count"},
    {"vowel_ratio", vowel_ratio, METH_VARARGS, "vowels / letters"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastcount", NULL, -1, methods};

PyMODINIT_FUNC PyInit__fastcount(void)
{
    return PyModule_Create(&module);
}
