"""In-process native tracing: start() patches the imported-symbol tables of
the loaded objects, so that C extensions' malloc calls are traced without
`leakgate run`; stop() restores them.  Every case runs in its own Python
process (the patch is process-wide)."""
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from conftest import LEAKGATE, ROOT, run_python

pytest_plugins = ["pytester"]

DEP_C = """
#include <stdlib.h>
__attribute__((noinline)) void *dep_alloc(size_t n) { return malloc(n); }
"""


@pytest.fixture(scope="module")
def native_ext(tmp_path_factory):
    """The directory holding native_ext (run path: dep/, which holds
    liblgdep.so, a library it can dlopen by bare name)."""
    out = tmp_path_factory.mktemp("native")
    dep = out / "dep"
    dep.mkdir()
    (dep / "dep.c").write_text(DEP_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-O0", "-g", "-fno-omit-frame-pointer",
                    str(dep / "dep.c"), "-Wl,-soname,liblgdep.so", "-o", str(dep / "liblgdep.so")],
                   check=True)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    subprocess.run(["cc", "-shared", "-fPIC", "-O0", "-g", "-fno-omit-frame-pointer",
                    f"-I{sysconfig.get_paths()['include']}",
                    str(ROOT / "tests/python/data/native_ext.c"), f"-Wl,-rpath,{dep}",
                    "-Wl,--enable-new-dtags", "-o", str(out / f"native_ext{suffix}")],
                   check=True)
    return out


def python(native_ext, code, **kw):
    r = run_python(f"import sys; sys.path.insert(0, {str(native_ext)!r})\n" +
                   textwrap.dedent(code), **kw)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_extension_slots_are_patched_and_restored(native_ext):
    out = python(native_ext, """
        import ctypes, leakgate, native_ext
        libc = ctypes.cast(ctypes.CDLL(None).malloc, ctypes.c_void_p).value
        before = native_ext.malloc_slot()
        leakgate.start(5)
        print(before == libc, native_ext.malloc_slot() != libc, leakgate._leakgate.native_hooks())
        leakgate.stop()
        print(native_ext.malloc_slot() == libc, leakgate._leakgate.native_hooks())
    """)
    assert out.split() == ["True", "True", "patched", "True", "off"]


def test_leaks_of_extensions_are_traced_with_their_c_frames(native_ext):
    out = python(native_ext, """
        import leakgate, native_ext
        native_ext.keep(1111)          # before start: the real allocator's block
        leakgate.start(5)
        native_ext.release()           # freed through the patched free: passes through
        native_ext.keep(2222)
        stats = [s for s in leakgate.take_snapshot().statistics("traceback")
                 if s.size in (1111, 2222)]
        print([s.size for s in stats])
        print(*stats[0].traceback.format(), sep="\\n")
        native_ext.release()
        print([s.size for s in leakgate.take_snapshot().statistics("lineno")
               if s.size in (1111, 2222)])
    """)
    lines = out.splitlines()
    assert lines[0] == "[2222]"
    assert "native_alloc" in out and "native_ext.c:15" in out
    assert lines[-1] == "[]"


def test_objects_loaded_later_are_patched_and_found_along_the_callers_run_path(native_ext):
    out = python(native_ext, """
        import ctypes, leakgate
        leakgate.start(5)
        import native_ext              # loaded after start: patched when dlopen returns
        native_ext.keep(3333)
        print(native_ext.open_bare("liblgdep.so"))   # its RUNPATH, not the hook's
        dep = ctypes.CDLL("liblgdep.so", mode=0x4)  # RTLD_NOLOAD: the one it loaded
        dep.dep_alloc(4444)
        sizes = {s.size: s.traceback.format() for s in
                 leakgate.take_snapshot().statistics("traceback") if s.size in (3333, 4444)}
        print(sorted(sizes))
        print("dep_alloc" in " ".join(sizes[4444]))
    """)
    assert out.splitlines() == ["None", "[3333, 4444]", "True"]


def test_leakgate_native_0_opts_out_and_bad_values_are_named(native_ext):
    out = python(native_ext, """
        import leakgate
        leakgate.start(5)
        print(leakgate._leakgate.native_hooks())
    """, env={"LEAKGATE_NATIVE": "0"})
    assert out.split() == ["off"]
    r = run_python("import leakgate; leakgate.start(5)", env={"LEAKGATE_NATIVE": "yes"})
    assert r.returncode == 1
    assert "ValueError: LEAKGATE_NATIVE=yes: expected 0" in r.stderr


def test_under_leakgate_run_the_hooks_are_interposed_not_patched():
    r = run_python("import leakgate; leakgate.start(5); print(leakgate._leakgate.native_hooks())",
                   under_leakgate=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["interposed"]


SUITE = """
    import sys
    sys.path.insert(0, {ext!r})
    import native_ext

    def test_native_leak():
        native_ext.keep(5555)

    def test_native_clean():
        native_ext.keep(100)
        native_ext.release()
"""


def test_pytest_leaks_fails_a_c_extension_leak_without_leakgate_run(pytester, native_ext):
    pytester.makepyfile(SUITE.format(ext=str(native_ext)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--leaks")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "leakgate: native allocations traced (C extensions' imported-symbol tables patched)",
        "*test_native_leak leaked 5555 B in 1 block*",
        "*#0 native_alloc*native_ext.c:15*"])
    assert "test_native_clean leaked" not in result.stdout.str()


def test_the_header_says_how_to_trace_native_allocations_when_off(pytester, native_ext,
                                                                  monkeypatch):
    monkeypatch.setenv("LEAKGATE_NATIVE", "0")
    pytester.makepyfile(SUITE.format(ext=str(native_ext)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--leaks")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["leakgate: native allocations NOT traced (LEAKGATE_NATIVE=0): "
                                 "to trace C extensions, unset LEAKGATE_NATIVE"])
