"""Tests of `import leakgate` beyond CPython's own test_tracemalloc (which
tests/python/run_tracemalloc_suite.py runs): the start-up switch, the C
tracking API, mixed native+Python tracebacks, marks, threads, fork, and
snapshot files."""
import ctypes
import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import leakgate
from conftest import LEAKGATE, run_python


@pytest.fixture
def tracing():
    leakgate.start(10)
    yield
    leakgate.stop()


def runtime_library():
    """The runtime the extension uses (ctypes handle), for its C API."""
    return Path(leakgate._leakgate.__file__).parent / "lib" / "libleakgate.so"


# ---- start-up switch (PYTHONTRACEMALLOC's equivalent) ----------------------

STATE = "import leakgate; print(leakgate.is_tracing(), leakgate.get_traceback_limit())"


@pytest.mark.parametrize("value, expected", [("5", "True 5"), ("1", "True 1"), ("0", "False")])
def test_leakgate_python_starts_tracing_at_startup(value, expected):
    r = run_python(STATE, env={"LEAKGATE_PYTHON": value})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(expected)
    assert r.stderr == ""


def test_tracing_is_off_by_default():
    env = dict(os.environ)
    env.pop("LEAKGATE_PYTHON", None)
    r = subprocess.run([sys.executable, "-c", STATE], capture_output=True, text=True, env=env)
    assert r.stdout.startswith("False")


@pytest.mark.parametrize("value", ["abc", "-1", "129", "2.5"])
def test_bad_leakgate_python_is_named_and_the_program_runs(value):
    r = run_python(STATE + "; print('ran')", env={"LEAKGATE_PYTHON": value})
    assert r.returncode == 0
    assert r.stdout.split() == ["False", "16", "ran"] or r.stdout.split()[0] == "False"
    lines = r.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0] == (f"leakgate: LEAKGATE_PYTHON={value}: expected an integer from 0 to 128 "
                        "(frames per traceback); not tracing")


def test_startup_traces_the_first_allocations():
    code = textwrap.dedent("""
        data = bytearray(70000)
        import leakgate
        tb = leakgate.get_object_traceback(data)
        print(tb[-1].lineno if tb else None)
    """)
    r = run_python(code, env={"LEAKGATE_PYTHON": "3"})
    assert r.stdout.strip() == "2"


# ---- the C tracking API (what tracemalloc's _testcapi tests exercise) --------

def test_track_and_untrack_with_and_without_the_gil(tracing):
    with_gil = ctypes.PyDLL(str(runtime_library()))
    without_gil = ctypes.CDLL(str(runtime_library()))
    for lib in (with_gil, without_gil):
        lib.lg_track.argtypes = [ctypes.c_uint32, ctypes.c_size_t, ctypes.c_size_t]
        lib.lg_untrack.argtypes = [ctypes.c_uint32, ctypes.c_size_t]
    domain, ptr = 7, 0x10000
    for lib in (with_gil, without_gil):
        assert lib.lg_track(domain, ptr, 100) == 0; line = sys._getframe().f_lineno  # noqa
        traces = [t for t in leakgate.take_snapshot().traces if t.domain == domain]
        assert [t.size for t in traces] == [100]
        # The Python frames of the caller, even with the GIL released: a
        # thread's own frames do not change while it runs C code.
        frames = [f for f in traces[0].traceback if not f.is_native]
        assert (frames[-1].filename, frames[-1].lineno) == (__file__, line)
        # Tracking again replaces; untracking removes.
        assert lib.lg_track(domain, ptr, 200) == 0
        assert [t.size for t in leakgate.take_snapshot().traces if t.domain == domain] == [200]
        assert lib.lg_untrack(domain, ptr) == 0
        assert lib.lg_untrack(domain, ptr) == -10  # LG_ENOTFOUND
        assert not [t for t in leakgate.take_snapshot().traces if t.domain == domain]
    leakgate.stop()
    assert with_gil.lg_track(domain, ptr, 100) == -2  # LG_ENOTTRACING


# ---- mixed native + Python tracebacks ---------------------------------------

MIXED = textwrap.dedent("""
    import ctypes, json, sys
    sys.path.insert(0, {ext!r})
    import leakgate, leaky_ext
    from leakgate import _leakgate
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    leakgate.start(8)
    session = _leakgate.Session()

    def from_extension():
        leaky_ext.leak(777)

    def from_ctypes():
        return libc.malloc(555)

    session.begin("mixed")
    from_extension()
    kept = from_ctypes()
    print(json.dumps(session.measure()))
    session.record()
    print(session.failure_text().replace("\\n", "|"))
    print(session.report_json().replace("\\n", " "))
    with leakgate.mark() as m:
        from_extension()
        for stat in m.diff():
            if stat.size == 777:
                print("FORMAT " + "|".join(stat.traceback.format()))
""")


def test_an_abandoned_run_leaves_the_last_measured_result_of_the_test():
    r = run_python(textwrap.dedent("""
        import json, leakgate
        from leakgate import _leakgate
        leakgate.start(4)
        session, kept = _leakgate.Session(), []
        session.begin("t")
        kept.append(bytearray(5000))
        print(session.measure()[0])
        session.begin("t")          # runs again, raises: not measured
        kept.append(bytearray(50))
        session.abandon()
        session.record()
        print(json.loads(session.report_json())["tests"][0]["size_diff"])
        print(session.failure_text().split(" leaked ")[1].split()[0])
        session.begin("u")          # another test: nothing to go back to
        session.abandon()
        try:
            session.record()
        except Exception as exc:
            print(type(exc).__name__)
    """))
    assert r.returncode == 0, r.stderr
    outcome, size_diff, text_size, error = r.stdout.split()
    assert (outcome, error) == ("leaked", "RuntimeError")
    assert 5000 < int(size_diff) < 5200 and text_size == size_diff  # run 1's, not 50 B


def test_native_leaks_of_c_extensions_have_mixed_tracebacks(leaky_ext):
    r = run_python(MIXED.format(ext=str(leaky_ext)), under_leakgate=True)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    outcome, size_diff, count_diff, lost = json.loads(lines[0])
    assert (outcome, lost) == ("leaked", 0)
    assert size_diff >= 777 + 555
    # The report: native frames first (most recent), then the Python frames
    # that led to them; the interpreter's own native frames are left out.
    report = json.loads(lines[2])
    leaks = report["tests"][0]["leaks"]
    ext = next(leak for leak in leaks if leak["size"] == 777)
    kinds = [f["kind"] for f in ext["traceback"]]
    assert kinds[0] == "native" and "python" in kinds
    assert kinds == sorted(kinds)  # native..., python...
    assert ext["traceback"][0]["function"] == "leaky_alloc"
    assert ext["traceback"][0]["file"].endswith("leaky_ext.c")
    python = [f for f in ext["traceback"] if f["kind"] == "python"]
    assert python[0]["line"] == 12 and python[1]["line"] == 18  # leak(), then the caller
    assert python[0]["function"] == "from_extension"  # the code's qualified name
    assert ext["domain"] == leakgate.NATIVE_DOMAIN == 1
    assert not any("libpython" in (f["module"] or "") for f in ext["traceback"])
    via_ctypes = next(leak for leak in leaks if leak["size"] == 555)
    assert [f["line"] for f in via_ctypes["traceback"] if f["kind"] == "python"][:2] == [15, 19]
    # The failure text reads the same.
    assert "leaky_alloc" in lines[1] and "line 12" in lines[1]
    # Traceback.format(): oldest first, Python frames then native ones.
    fmt = next(line for line in lines if line.startswith("FORMAT ")).split("|")
    py_at = [i for i, line in enumerate(fmt) if line.startswith("  File ")]
    native_at = [i for i, line in enumerate(fmt) if line.lstrip().startswith("#")]
    assert py_at and native_at and max(py_at) < min(native_at)
    assert fmt[native_at[-1]].startswith("  #0 leaky_alloc  ")
    assert fmt[py_at[-1]] == '  File "<string>", line 12'  # leaky_ext.leak(777)


def test_an_interpreter_under_leakgate_run_gets_no_whole_process_verdict():
    r = subprocess.run([str(LEAKGATE), "run", "--", sys.executable, "-c", "x = [bytearray(10)]"],
                       capture_output=True, text=True)
    assert r.returncode == 0
    assert "leaked" not in r.stderr


# ---- marks ---------------------------------------------------------------------

def test_mark_diff_sees_what_is_kept_and_not_what_is_freed(tracing):
    with leakgate.mark() as m:
        kept = [bytearray(1000) for _ in range(3)]  # line A
        temp = bytearray(5000)
        del temp
        diff = m.diff()
    big = [s for s in diff if s.size_diff >= 3000]
    assert len(big) == 1
    assert big[0].count_diff >= 3
    assert big[0].traceback[-1].lineno == sys._getframe().f_lineno - 7
    assert not any(s.size_diff >= 5000 for s in diff)
    assert kept


def test_a_stale_mark_says_so(tracing):
    m = leakgate.mark()
    leakgate.clear_traces()
    with pytest.raises(RuntimeError, match="stale"):
        m.diff()
    m.close()
    with pytest.raises(RuntimeError, match="closed"):
        m.diff()


def test_mark_filters(tracing):
    with leakgate.mark() as m:
        kept = bytearray(4000)
        rows = m.diff([leakgate.Filter(False, __file__)])
    assert not any(s.size_diff >= 4000 for s in rows)
    assert kept


# ---- line numbers ----------------------------------------------------------------

def test_lines_of_one_code_object_at_many_places(tracing):
    """The per-code-object line cache answers each instruction's own line."""
    def allocate():
        a = bytearray(1001)
        b = bytearray(1002)
        c = [bytearray(1003) for _ in range(2)]
        return a, b, c
    first = allocate.__code__.co_firstlineno
    for _ in range(3):  # the first call fills the cache, the others read it
        a, b, c = allocate()
        assert leakgate.get_object_traceback(a)[-1].lineno == first + 1
        assert leakgate.get_object_traceback(b)[-1].lineno == first + 2
        assert leakgate.get_object_traceback(c[1])[-1].lineno == first + 3


def test_lines_of_code_objects_made_and_freed_in_a_loop(tracing):
    """A new code object at a freed one's address gets its own lines."""
    for i in range(40):
        namespace = {}
        exec(compile("\n" * i + "def f():\n    return bytearray(77)\n", "<gen>", "exec"),
             namespace)
        frame = leakgate.get_object_traceback(namespace["f"]())[-1]
        assert (frame.filename, frame.lineno) == ("<gen>", i + 2)
        del namespace
        gc.collect()


# ---- threads and fork ----------------------------------------------------------

def test_threads_allocating_at_once(tracing):
    kept, errors = {}, []

    def worker(n):
        try:
            kept[n] = [bytearray(100 + n) for _ in range(300)]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    snapshots = [leakgate.take_snapshot() for _ in range(3)]  # while they run
    for t in threads:
        t.join()
    assert not errors
    stats = leakgate.take_snapshot().statistics("traceback")
    line = worker.__code__.co_firstlineno + 2
    rows = [s for s in stats if s.traceback[-1].lineno == line]
    assert sum(s.count for s in rows) >= 4 * 300 * 2  # object and buffer of each
    assert all(isinstance(s, leakgate.Snapshot) for s in snapshots)


def test_fork_keeps_tracing_in_both_processes(tracing):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            data = bytearray(12345)
            tb = leakgate.get_object_traceback(data)
            code = 0 if tb and tb[-1].lineno == sys._getframe().f_lineno - 2 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    data = bytearray(100)
    assert leakgate.get_object_traceback(data) is not None


# ---- snapshot files ------------------------------------------------------------

def test_snapshot_files_are_leakgate_snapshot_files(tracing, tmp_path):
    kept = [bytearray(3333)]
    path = tmp_path / "s.lgsnap"
    snap = leakgate.take_snapshot()
    snap.note = {"run": 1}
    snap.dump(path)
    back = leakgate.Snapshot.load(path)
    assert back.traces == snap.traces and back.note == {"run": 1}
    shown = subprocess.run([str(LEAKGATE), "show", str(path)], capture_output=True, text=True)
    assert shown.returncode == 0
    assert "test_binding.py" in shown.stdout
    assert kept


def test_bad_snapshot_files_are_named(tmp_path):
    bad = tmp_path / "bad.lgsnap"
    bad.write_bytes(b"not a snapshot at all")
    with pytest.raises(ValueError, match=r"bad\.lgsnap: not a leakgate snapshot file"):
        leakgate.Snapshot.load(bad)
    with pytest.raises(FileNotFoundError):
        leakgate.Snapshot.load(tmp_path / "missing")
    with pytest.raises(OSError):
        leakgate.Snapshot([], 1).dump(tmp_path / "no" / "such" / "dir")
    with pytest.raises(TypeError):
        leakgate.Snapshot([(0, 1, (("a.py", "x"),), 1)], 1).dump(tmp_path / "t")


def test_bad_arguments_raise_what_tracemalloc_raises():
    for bad in (0, -1, leakgate.MAX_NFRAME + 1):
        with pytest.raises(ValueError):
            leakgate.start(bad)
    with pytest.raises(TypeError):
        leakgate.start("3")
    assert not leakgate.is_tracing()
    with pytest.raises(RuntimeError, match="must be tracing"):
        leakgate.take_snapshot()
    with pytest.raises(RuntimeError):
        leakgate.mark()
    with pytest.raises(ValueError):
        leakgate.Snapshot([], 1).statistics("nope")


def test_one_domain_numbering_python_0_c_1(tracing):
    """The runtime's numbers, as tracemalloc's: Python heap 0, C heap 1."""
    from pytest_leakgate.plugin import filter_line
    assert (leakgate.PYTHON_DOMAIN, leakgate.NATIVE_DOMAIN) == (0, 1)
    kept = [bytearray(1000) for _ in range(3)]
    snapshot = leakgate.take_snapshot()
    assert {t.domain for t in snapshot.traces} == {0}
    python = snapshot.filter_traces([leakgate.DomainFilter(True, leakgate.PYTHON_DOMAIN)])
    assert len(python.traces) == len(snapshot.traces)
    assert not snapshot.filter_traces([leakgate.DomainFilter(True, 1)]).traces
    # Filters given to pytest --leaks become suppression lines, same numbers.
    assert filter_line("DomainFilter(False, 0)") == "exclude-domain 0"
    assert filter_line("Filter(True, '*/a.py', domain=1)") == "include file=*/a.py domain=1"
    del kept


def test_python_frames_carry_their_function(tracing):
    class Box:
        def fill(self):
            return [bytearray(500) for _ in range(2)]

    with leakgate.mark() as mark:
        kept = Box().fill()
        rows = mark.diff()
    session = leakgate._leakgate.Session()
    session.begin("t")
    kept2 = Box().fill()
    session.measure()
    session.record()
    report = json.loads(session.report_json())["tests"][0]
    functions = {f["function"] for leak in report["leaks"] for f in leak["traceback"]}
    assert any(fn.endswith("Box.fill.<locals>.<listcomp>") or fn.endswith("Box.fill")
               for fn in functions), functions
    assert any(fn.endswith("test_python_frames_carry_their_function") for fn in functions)
    assert rows and kept and kept2
