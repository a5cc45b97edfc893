"""The Python distribution as a new user gets it: the sdist (`make sdist`,
LEAKGATE_SDIST) installed into a fresh virtual environment outside the
checkout, and used from there: the `leakgate` command, `pytest --leaks` on
a C extension that leaks with malloc (no `leakgate run`), and
`leakgate run -- python`."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import BUILD, ROOT

EXT_C = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

static void *kept;

__attribute__((noinline)) static void *grow_table(size_t n)
{
    return malloc(n); /* ext.c:10 */
}

static PyObject *fill(PyObject *self, PyObject *unused)
{
    kept = grow_table(7777);
#ifdef FREES
    free(kept);
#endif
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {{"fill", fill, METH_NOARGS, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "ext", NULL, -1, methods};
PyMODINIT_FUNC PyInit_ext(void) { return PyModule_Create(&module); }
"""

TEST_PY = """
import ext

def test_fill():
    ext.fill()
"""


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    return r


def ok(cmd, **kw):
    r = run(cmd, **kw)
    assert r.returncode == 0, f"{cmd}: {r.stdout}{r.stderr}"
    return r


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtual environment with the sdist installed, outside the
    checkout; pytest comes from the package index (or pip's cache)."""
    sdist = os.environ.get("LEAKGATE_SDIST")
    if not sdist:
        ok(["make", "-C", ROOT, f"BUILD={BUILD}", "sdist"])
        sdist = next((BUILD / "dist").glob("leakgate-*.tar.gz"))
    where = tmp_path_factory.mktemp("dist")
    assert ROOT not in where.parents
    env = where / "venv"
    ok([sys.executable, "-m", "venv", env])
    pip = [env / "bin/python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    ok(pip + ["pytest", "setuptools>=61", "wheel"], cwd=where)
    ok(pip + ["--no-build-isolation", "--no-deps", sdist], cwd=where)
    return env


def test_the_command_is_in_the_venv(venv):
    r = ok([venv / "bin/leakgate", "--help"])
    assert r.stdout.startswith("usage: leakgate COMMAND")
    site = Path(ok([venv / "bin/python", "-c", "import leakgate, os; "
                    "print(os.path.dirname(leakgate.__file__))"]).stdout.strip())
    assert venv in site.parents
    assert (site / "lib/libleakgate.so").is_file() and (site / "bin/leakgate").is_file()


def build_ext(venv, where, frees):
    where.mkdir()
    (where / "ext.c").write_text(EXT_C)
    (where / "test_ext.py").write_text(TEST_PY)
    paths = ok([venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()"
                "['include'], sysconfig.get_config_var('EXT_SUFFIX'))"]).stdout.split()
    ok(["cc", "-shared", "-fPIC", "-O0", "-g", "-fno-omit-frame-pointer", f"-I{paths[0]}",
        *(["-DFREES"] if frees else []), "ext.c", "-o", f"ext{paths[1]}"], cwd=where)


def test_pytest_leaks_fails_a_leaking_c_extension_and_passes_it_fixed(venv, tmp_path):
    build_ext(venv, tmp_path / "leaks", frees=False)
    r = run([venv / "bin/python", "-m", "pytest", "-p", "no:cacheprovider", "--leaks"],
            cwd=tmp_path / "leaks")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "leakgate: native allocations traced (C extensions' imported-symbol tables " \
           "patched)" in r.stdout
    assert "test_fill leaked 7777 B in 1 block" in r.stdout
    text = r.stdout[r.stdout.index("test_fill leaked"):]
    assert "#0 grow_table" in text and "ext.c:10" in text, text
    assert 'File "test_ext.py", line 5' in text

    build_ext(venv, tmp_path / "frees", frees=True)
    r = run([venv / "bin/python", "-m", "pytest", "-p", "no:cacheprovider", "--leaks"],
            cwd=tmp_path / "frees")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout


def test_leakgate_run_preloads_the_packages_own_runtime(venv, tmp_path):
    r = ok([venv / "bin/leakgate", "run", "--", venv / "bin/python", "-c",
            "import leakgate; print(leakgate._leakgate.native_hooks())"], cwd=tmp_path)
    assert r.stdout.split() == ["interposed"]
    # The binding and the preload are one file: what the process mapped.
    r = ok([venv / "bin/leakgate", "run", "--", venv / "bin/python", "-c",
            "import leakgate\nfor l in open('/proc/self/maps'):\n"
            "    'libleakgate' in l and print(l.split()[-1])"], cwd=tmp_path)
    assert len(set(r.stdout.split())) == 1 and str(venv) in r.stdout
