"""pytest --leaks: every test is a memory-leak assertion.

What is measured: the bytes a test's call phase allocated and had not freed
when it returned (after a garbage collection of what it created), net of
older blocks it freed, filtered by the suppressions.  Setup and teardown of fixtures are outside
the window, so module- and session-scoped fixtures never count.

To tell caches from leaks, the call phase first runs ``warmup`` times
unmeasured (the first of them is the call pytest reports, so a test's outcome
is what it would be without --leaks); then it is measured, up to ``runs``
times plus one that confirms, and the test leaks only if every measured run
leaks over its limit (a clean run ends the check early, so a clean test costs
warmup + 1 runs).  A test that fails when run again is not judged, and says
so.  Only the confirming run records whole tracebacks, for the report, and
collects the whole heap's garbage (see _begin); the runs before it keep one
frame per block and collect what the test made, which is what costs least.

Verdicts, failure text and the JSON report come from leakgate's C test
session (session.h), the same as for Criterion and TAP; this module decides
when to measure.
"""
from __future__ import annotations

import ast
import gc
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

import leakgate
from leakgate import _leakgate

from .rerun import TIMEOUT, RerunExit, Reruns, TracemallocPause, subtest_blocks

DEFAULTS = {"max_size": "0", "max_count": None, "warmup": 1, "runs": 2, "frames": 10}
# The accepted range of each integer setting (options, ini keys, markers).
RANGES = {"max_count": (0, 2**63 - 1), "warmup": (0, 1000), "runs": (1, 1000),
          "frames": (1, leakgate.MAX_NFRAME)}
MARKER_ARGS = ("max_size", "max_count", "warmup", "runs", "filters")
PYTEST_FILES = "*/_pytest/*:*/pluggy/*"  # tracebacks stop at pytest's own frames
# Growth of the interpreter that every run of some tests shows, whatever
# the test does (measured with the standard library's tracemalloc too):
PYTHON_SUPPRESSIONS = [
    # asyncio (3.11) keeps 62 B of each task repr it builds, and runners
    # such as pytest-asyncio's build one per test run.
    "exclude all file=*/asyncio/base_tasks.py",
    # A thread's state is freed by the thread itself just after join()
    # returns: blocks the threading module allocates itself.
    "exclude file=*/threading.py",
    # Lazy imports, failed ones included (an optional dependency that is
    # missing is looked for again on every call).
    "exclude file=<frozen?importlib._bootstrap*>",  # ? stands for the space
    "exclude all file=*/_distutils_hack/*",
    # This plugin's own bookkeeping inside a window (the subtest reports it
    # holds back from pytest, see _rerun): test code never runs below it.
    "exclude file=*/pytest_leakgate/*",
]
# CPython 3.11 and 3.12 keep a reference to every attribute name looked up on
# a type, interned or not, in a cache slot chosen by the type's version: a
# name built at run time (getattr with a joined string, the C API's
# PyObject_GetAttrString, as io.open does) stays allocated until another
# lookup takes its slot.  The cache is emptied at both ends of a window.
_clear_type_cache = getattr(sys, "_clear_type_cache", lambda: None)


def _collect():
    gc.collect()
    _clear_type_cache()


RERUN_HINT = ("@pytest.mark.leaks(warmup=0, runs=1) measures its first run (caches it fills "
              "then count as leaks)")
# A run after the reported one that raises one of these leaves the test
# unchecked, whatever the runs before it measured.
STOPS = (KeyboardInterrupt, SystemExit, RerunExit)
RUN_HINT = ("C extensions' malloc calls are traced too (native frames after the Python "
            "ones), in the process (LEAKGATE_NATIVE=0: not) or under leakgate's runtime: "
            "leakgate run -- pytest --leaks ...")
NATIVE_HEADER = {
    "patched": "leakgate: native allocations traced (C extensions' imported-symbol tables "
               "patched)",
    "interposed": "leakgate: native allocations traced (libleakgate.so preloaded)",
    "off": "leakgate: native allocations NOT traced ({why}): to trace C extensions, "
           "{how}",
}


def pytest_addoption(parser):
    group = parser.getgroup("leakgate", "memory-leak checks (leakgate)")

    def option(name, ini_type, help, **kw):
        ini = name[2:].replace("-", "_")
        group.addoption(name, dest=ini, help=help + f" (ini: {ini})", **kw)
        parser.addini(ini, help, type=ini_type)

    option("--leaks", "bool", "fail every test whose call phase leaks memory. " + RUN_HINT,
           action="store_true", default=None)
    option("--leaks-max-size", "string",
           "bytes a test may leave allocated: N, '1 KiB', '2 MiB' (default 0)", metavar="SIZE")
    option("--leaks-max-count", "string", "blocks a test may leave allocated (default: no limit)",
           metavar="N")
    option("--leaks-warmup", "string",
           f"unmeasured runs of each test before measuring (default {DEFAULTS['warmup']})",
           metavar="N")
    option("--leaks-runs", "string",
           "measured runs; a test leaks only if every one leaks, and one more run with "
           f"whole-heap collections confirms it (default {DEFAULTS['runs']})",
           metavar="N")
    option("--leaks-frames", "string",
           f"frames kept per traceback (default {DEFAULTS['frames']})", metavar="N")
    option("--leaks-json", "string",
           "write the leakgate/1 JSON report to PATH (default: $LEAKGATE_REPORT)",
           metavar="PATH")
    group.addoption("--leaks-filter", dest="leaks_filter", action="append", default=None,
                    metavar="FILTER",
                    help="a suppressions file, a suppression line ('exclude all "
                         "file=*/cache.py'), or a tracemalloc filter "
                         "(\"Filter(False, '*/cache.py')\"); repeatable (ini: leaks_filter)")
    parser.addini("leaks_filter", "suppressions: files, lines or tracemalloc filters",
                  type="linelist")
    option("--leaks-own-thread", "bool",
           "count only what the test's own thread allocates (suites with busy background "
           "threads; default: every thread's allocations during the test count)",
           action="store_true", default=None)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "leaks(max_size=, max_count=, warmup=, runs=, filters=): this test's "
        "leak limits and measurement (leakgate)")
    config.addinivalue_line(
        "markers", "no_leak_check(reason=...): do not check this test for leaks (leakgate)")
    if _setting(config, "leaks") in (True, "true", "1"):
        config.pluginmanager.register(LeakChecker(config), "leakgate-checker")


def _setting(config, name):
    value = config.getoption(name)
    if value is None or value == []:
        value = config.getini(name)
        if value in ("", [], False):
            value = None if name != "leaks" else config.getini(name)
    return value


def _int(name, value, key):
    lo, hi = RANGES[key]
    try:
        if isinstance(value, (bool, float)):  # int() would round them silently
            raise ValueError
        number = int(value)
        if not lo <= number <= hi:
            raise ValueError
    except (TypeError, ValueError):
        raise pytest.UsageError(f"{name}={value}: expected an integer from {lo} to {hi}") \
            from None
    return number


def _size(name, value):
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    try:
        return _leakgate.parse_size(name, str(value))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def filter_line(spec):
    """A suppression line for a tracemalloc filter expression such as
    ``Filter(False, "*/cache.py", all_frames=True)`` or
    ``DomainFilter(True, 0)``; other text is returned unchanged."""
    if not isinstance(spec, str):
        raise ValueError(f"{spec!r}: expected a suppression line or a tracemalloc filter")
    text = spec.strip()
    if not re.match(r"(Domain)?Filter\s*\(", text):
        return spec
    try:
        call = ast.parse(text, mode="eval").body
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        f = getattr(leakgate, call.func.id)(*args, **kwargs)
    except (ValueError, TypeError, SyntaxError, AttributeError) as exc:
        raise ValueError(f"{spec}: not a tracemalloc filter ({exc})") from None
    verb = "include" if f.inclusive else "exclude"
    if isinstance(f, leakgate.DomainFilter):
        return f"{verb}-domain {f.domain}"
    line = verb + (" all" if f.all_frames else "") + f" file={f.filename_pattern}"
    if f.lineno is not None:
        line += f" line={f.lineno}"
    if f.domain is not None:
        line += f" domain={f.domain}"
    return line


def _check_output(path):
    """The report path is a file in an existing directory, as for
    `leakgate run --json` (checked before any test runs)."""
    name = "--leaks-json" if os.environ.get("LEAKGATE_REPORT") != path else "LEAKGATE_REPORT"
    if os.path.isdir(path):
        raise pytest.UsageError(f"{name}={path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.access(parent, os.W_OK | os.X_OK):
        why = "No such file or directory" if not os.path.isdir(parent) else "Permission denied"
        raise pytest.UsageError(f"{name}={path}: cannot write in {parent}: {why}")


class Settings:
    """What applies to one test: options, then its markers (closest last)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class LeakChecker:
    def __init__(self, config):
        self.config = config
        self.worker = getattr(config, "workerinput", {}).get("workerid")
        try:
            self.defaults = Settings(
                max_size=_size("--leaks-max-size",
                               _setting(config, "leaks_max_size") or DEFAULTS["max_size"]),
                max_count=_int("--leaks-max-count", _setting(config, "leaks_max_count"),
                               "max_count")
                if _setting(config, "leaks_max_count") not in (None, "") else -1,
                warmup=_int("--leaks-warmup",
                            _setting(config, "leaks_warmup") or DEFAULTS["warmup"], "warmup"),
                runs=_int("--leaks-runs", _setting(config, "leaks_runs") or DEFAULTS["runs"],
                          "runs"),
                filters=[])
            frames = _setting(config, "leaks_frames")
            frames = _int("--leaks-frames" if frames else "LEAKGATE_FRAMES",
                          frames or os.environ.get("LEAKGATE_FRAMES") or DEFAULTS["frames"],
                          "frames")
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.filters = list(_setting(config, "leaks_filter") or [])
        self.session = self._new_session([])
        self.own_thread = bool(_setting(config, "leaks_own_thread"))
        # LEAKGATE_REPORT names the report for every adapter.
        self.json = _setting(config, "leaks_json") or os.environ.get("LEAKGATE_REPORT") or None
        if self.json:
            _check_output(self.json)
        self.reruns = Reruns(config)
        self.tracemalloc = TracemallocPause()
        if not leakgate.is_tracing():
            try:
                leakgate.start(frames)
            except ValueError as exc:  # LEAKGATE_NATIVE
                raise pytest.UsageError(str(exc)) from None
        # Between tests, blocks are traced without their Python frames: a
        # test's frees of older blocks still count, at a fraction of the cost.
        _leakgate.capture_frames(0)

    def pytest_report_header(self, config):
        """One line: whether C extensions' allocations are traced."""
        mode = _leakgate.native_hooks()
        off = os.environ.get("LEAKGATE_NATIVE") == "0"
        return NATIVE_HEADER[mode].format(
            why="LEAKGATE_NATIVE=0" if off else "this build cannot patch imported symbols",
            how="unset LEAKGATE_NATIVE" if off else "run leakgate run -- pytest --leaks")

    def _new_session(self, test_filters):
        """A session with the options' limits and filters, and test_filters
        (a marker's) after them."""
        try:
            session = _leakgate.Session()  # LEAKGATE_* settings first
            defaults = [] if os.environ.get("LEAKGATE_NO_DEFAULT_SUPPRESSIONS") == "1" \
                else PYTHON_SUPPRESSIONS
            for name, specs in (("leakgate's defaults", defaults),
                                ("--leaks-filter", self.filters),
                                ("@pytest.mark.leaks(filters=...)", test_filters)):
                for spec in specs:
                    session.add_suppressions(name, filter_line(spec))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
        session.set_defaults(self.defaults.max_size, self.defaults.max_count)
        verbose = self.config.getoption("verbose")
        if not os.environ.get("LEAKGATE_TOP"):  # else the session's
            session.set_top(5 if verbose < 1 else 20 if verbose < 2 else -1)
        session.stop_frames_at(None, PYTEST_FILES)
        return session

    # ---- settings per test ------------------------------------------------

    def settings_for(self, item):
        """The test's Settings, or None when it is not checked."""
        if item.get_closest_marker("no_leak_check") is not None:
            return None
        s = Settings(**vars(self.defaults))
        s.custom_limits = False
        for marker in reversed(list(item.iter_markers("leaks"))):  # closest last
            if marker.args:
                raise pytest.UsageError(
                    f"{item.nodeid}: @pytest.mark.leaks takes keyword arguments only "
                    f"({', '.join(MARKER_ARGS)})")
            for key, value in marker.kwargs.items():
                where = f"{item.nodeid}: @pytest.mark.leaks {key}"
                if key == "max_size":
                    s.max_size, s.custom_limits = _size(where, value), True
                elif key == "max_count":
                    s.max_count = -1 if value is None else _int(where, value, key)
                    s.custom_limits = True
                elif key in ("warmup", "runs"):
                    setattr(s, key, _int(where, value, key))
                elif key == "filters":
                    if isinstance(value, str):
                        value = [value]
                    s.filters = list(value)
                else:
                    raise pytest.UsageError(
                        f"{item.nodeid}: @pytest.mark.leaks: unknown argument {key!r} "
                        f"(expected {', '.join(MARKER_ARGS)})")
        return s

    @pytest.hookimpl(optionalhook=True, tryfirst=True)
    def pytest_timeout_set_timer(self, item, settings):
        """pytest-timeout's settings, kept to set its timer for each run."""
        item.stash[TIMEOUT] = settings

    def pytest_unconfigure(self):
        self.tracemalloc.restore()

    def pytest_collection_modifyitems(self, items):
        checked = set()
        for item in items:  # bad markers stop the run before any test
            s = self.settings_for(item)
            if s is not None and s.filters and repr(s.filters) not in checked:
                checked.add(repr(s.filters))
                try:
                    self._new_session(s.filters)
                except pytest.UsageError as exc:
                    raise pytest.UsageError(f"{item.nodeid}: {exc}") from None

    # ---- the check ----------------------------------------------------------

    def _begin(self, item, s, last):
        # The measured runs freeze the objects older than the test (out of
        # the collector's sight): their collections cost what the test made,
        # and this first one only empties the free lists.  An older object
        # the test drops inside a reference cycle is then not freed, and the
        # run seems to keep its replacement; so the confirming run (`last`)
        # collects the whole heap before and after it (older garbage cannot
        # mask a leak: it is gone first).
        if not last:
            gc.freeze()
        _collect()
        _leakgate.capture_frames(None if last else 1)
        # The confirming run records whole tracebacks, for the report: a
        # block a C extension allocated gets the extension's native frames.
        _leakgate.capture_native(last)
        # ... and its blocks with native frames get their leak kinds (a
        # scan of the heap, when the run leaves some): shown, not counted.
        self.session.set_scan(last)
        self.session.begin(item.nodeid)
        if s.custom_limits:
            self.session.set_limits(s.max_size, s.max_count)
        if self.own_thread:
            _leakgate.trace_only_thread(True)

    def _measure(self, s):
        _collect()
        gc.unfreeze()
        _leakgate.capture_frames(0)
        _leakgate.capture_native(False)
        if self.own_thread:
            _leakgate.trace_only_thread(False)
        outcome, size_diff, count_diff, _ = self.session.measure()
        return outcome, size_diff, count_diff

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        s = self.settings_for(item)
        if s is None or getattr(item, "_leakgate_regions", False) or not hasattr(item, "obj"):
            if s is None or not hasattr(item, "obj"):
                self.session.skip(item.nodeid)
            return (yield)
        with self._with_filters(s):
            return (yield from self._check(item, s))

    @contextmanager
    def _with_filters(self, s):
        """Marker filters apply to this test only: a session of its own."""
        if not s.filters:
            yield
            return
        main, self.session = self.session, self._new_session(s.filters)
        try:
            yield
        finally:
            test_session, self.session = self.session, main
            self._adopt(test_session)

    def _adopt(self, other):
        """Moves the results of a per-test session into the main report."""
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
            tmp.write(other.report_json())
        try:
            self.session.merge_report(tmp.name)
        finally:
            os.unlink(tmp.name)

    def _check(self, item, s):
        """Runs the test's call phase: the call pytest reports first (the
        first warmup run, so that the test's outcome is what it would be
        without --leaks), then the other warmup runs, the measured runs and,
        if every one leaked, the confirming run (rerun.py says what those
        later runs must not change).  With warmup 0 the reported call is
        the first measured run."""
        run, outcome = 0, "leaked"
        if s.warmup == 0:
            self._begin(item, s, last=False)
        try:
            result = yield
        except BaseException:
            self._abandon()
            self.session.skip(item.nodeid)  # failed, skipped or xfailed: not judged
            raise
        if self.tracemalloc.tracing:
            if s.warmup == 0:
                self._abandon()
            return self._not_checked(
                item, result, "the standard library's tracemalloc is tracing",
                "the standard library's tracemalloc is tracing (started by the test or a "
                "fixture), and what is allocated meanwhile is not traced")
        if s.warmup == 0:
            run, (outcome, size_diff, count_diff) = 1, self._measure(s)
        note = ""
        try:
            for _ in range(max(s.warmup - 1, 0)):
                self.reruns.arm(item)
                exc = self.reruns.run(item)
                self.reruns.disarm(item)
                if exc is not None:
                    return self._not_rerunnable(item, result, exc)
            while outcome == "leaked" and run <= s.runs:
                last = run == s.runs
                self.reruns.arm(item)
                self._begin(item, s, last)
                exc = self.reruns.run(item)
                if exc is not None:
                    self._abandon()
                    if run == 0 or isinstance(exc, STOPS):
                        return self._not_rerunnable(item, result, exc)
                    note = (f"  note: measured run {run + 1} raised {type(exc).__name__}: the "
                            f"verdict is run {run}'s (tracebacks of one frame)")
                    break
                run += 1
                outcome, size_diff, count_diff = self._measure(s)
                self.reruns.disarm(item)
        finally:
            self.reruns.disarm(item, after_last=True)
        self.session.record()
        item.user_properties.append(("leakgate_outcome", outcome))
        item.user_properties.append(("leakgate_size_diff", size_diff))
        item.user_properties.append(("leakgate_count_diff", count_diff))
        if outcome == "clean":
            return result
        text = self.session.failure_text().rstrip("\n")
        subtests = subtest_blocks(item, text) if self.reruns.held else []
        if subtests:
            text += "\n  in subtest" + ("s " if len(subtests) > 1 else " ") + ", ".join(subtests)
        measured = min(run, s.runs)
        runs = (f"each of {measured} measured run{'s' if measured > 1 else ''}"
                + (" and the confirming run" if run > s.runs else ""))
        why = (f"  measured: bytes allocated during the call phase and still allocated "
               f"after it, in {runs}, after {s.warmup} warmup run{'' if s.warmup == 1 else 's'}")
        body = "\n".join(part for part in (text, note) if part)
        if outcome == "leaked":
            pytest.fail(f"{body}\n{why}", pytrace=False)
        item.add_report_section("call", "leakgate", body)  # inconclusive: note only
        return result

    def _not_rerunnable(self, item, result, exc):
        """The test passed, then failed when run again: it cannot be
        measured, and keeps its outcome."""
        what = f"called {exc}" if isinstance(exc, RerunExit) else f"raised {type(exc).__name__}"
        return self._not_checked(
            item, result, f"{what} when run again",
            f"the test passed, then {what} when run again ({exc}); it "
            f"may depend on state its first run changed. {RERUN_HINT}")

    def _not_checked(self, item, result, short, why=None):
        """The test keeps its outcome, and says why it was not judged."""
        self.session.skip(item.nodeid)
        item.user_properties.append(("leakgate_outcome", "not-checked"))
        item.user_properties.append(("leakgate_why", short))
        item.add_report_section("call", "leakgate", f"not checked for leaks: {why or short}")
        return result

    def _abandon(self):
        """Ends a measurement window that will not be judged (the result of
        the test's last measured run, if any, stands)."""
        self.session.abandon()
        gc.unfreeze()
        _leakgate.capture_frames(0)
        _leakgate.capture_native(False)
        if self.own_thread:
            _leakgate.trace_only_thread(False)

    # ---- reporting ------------------------------------------------------------

    def pytest_runtest_logreport(self, report):
        # A test skipped at set-up is in the JSON report, as not checked (by
        # the process that ran it: an xdist controller sees workers' too).
        controller = self.worker is None and self.config.pluginmanager.hasplugin("dsession")
        if report.when == "setup" and report.skipped and not controller:
            self.session.skip(report.nodeid)

    def pytest_terminal_summary(self, terminalreporter):
        """The tests that leaked most, and those that could not be run again
        (from the reports: xdist workers' too)."""
        leaked, unchecked = [], []
        for reports in terminalreporter.stats.values():
            for report in reports:
                props = dict(getattr(report, "user_properties", ()))
                if props.get("leakgate_outcome") == "leaked" and report.when == "call":
                    leaked.append((report.nodeid, props["leakgate_size_diff"],
                                   props["leakgate_count_diff"]))
                elif props.get("leakgate_outcome") == "not-checked" and report.when == "call":
                    unchecked.append((report.nodeid, props.get("leakgate_why", "")))
        if unchecked:
            terminalreporter.write_sep("=", "leakgate: tests not checked for leaks")
            for nodeid, why in unchecked[:10]:
                terminalreporter.write_line(f"  {nodeid}: {why}")
            if len(unchecked) > 10:
                terminalreporter.write_line(f"... and {len(unchecked) - 10} more")
        if not leaked:
            return
        terminalreporter.write_sep("=", "leakgate: tests that leaked most")
        for nodeid, size, count in sorted(leaked, key=lambda r: -r[1])[:10]:
            terminalreporter.write_line(
                f"{leakgate._format_size(size, False):>10} in {count} block(s)  {nodeid}")
        if len(leaked) > 10:
            terminalreporter.write_line(f"... and {len(leaked) - 10} more")

    def pytest_sessionfinish(self, session):
        if not self.json:
            return
        path = Path(self.json)
        parts = path.with_name(path.name + ".parts")
        if self.worker is not None:  # xdist worker: one part per worker
            parts.mkdir(parents=True, exist_ok=True)
            self.session.write_report(str(parts / f"{self.worker}.json"))
            return
        if parts.is_dir():  # xdist controller: merge the workers' parts
            for part in sorted(parts.glob("*.json")):
                self.session.merge_report(str(part))
                part.unlink()
            parts.rmdir()
        self.session.write_report(str(path))


@pytest.fixture
def leak_check(request):
    """Checks explicit regions of a test::

        def test_cache(leak_check):
            warm_up()
            with leak_check(max_size="1 KiB"):
                use_it()

    The region fails the test when what it allocated and did not free
    exceeds max_size bytes (default 0) or max_count blocks.  A test that
    uses it is not checked as a whole by --leaks.  The object leak_check()
    returns may be entered again: each ``with`` is a region of its own."""
    request.node._leakgate_regions = True
    checker = request.config.pluginmanager.get_plugin("leakgate-checker")
    count = [0]

    class Region:
        def __init__(self, max_size=0, max_count=None):
            self.max_size = _size("leak_check(max_size)", max_size)
            self.max_count = -1 if max_count is None else _int("leak_check(max_count)", max_count, "max_count")
            self.session = checker.session if checker else _leakgate.Session()
            if checker is None:
                self.session.stop_frames_at(None, PYTEST_FILES)

        def __enter__(self):
            if not leakgate.is_tracing():
                leakgate.start(DEFAULTS["frames"])
            count[0] += 1
            region_id = f"{request.node.nodeid}[region {count[0]}]"
            _collect()  # one window, so whole-heap collections (see _begin)
            _leakgate.capture_frames(None)
            self.session.begin(region_id)
            self.session.set_limits(self.max_size, self.max_count)
            return self

        def __exit__(self, *exc):
            _collect()
            _leakgate.capture_frames(None if checker is None else 0)
            outcome, _, _, _ = self.session.measure()
            self.session.record()
            if outcome == "leaked" and exc[0] is None:
                pytest.fail(self.session.failure_text().rstrip("\n"), pytrace=False)
            return False

    return Region
