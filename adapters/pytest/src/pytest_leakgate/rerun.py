"""What running a test's call phase again must not change (pytest --leaks).

pytest reports a test's first call; the runs after it are leakgate's, and
only the first call's outcome may reach the user.  While a later run goes
(Reruns.run):

- Reports a test logs by itself, those of its subtests (unittest's
  ``subTest``, pytest's ``subtests`` fixture, the pytest-subtests plugin),
  are held back from pytest's hooks: pytest keeps every report it is given,
  so they would be the test's leak, and the summary would count each
  subtest once per run.  A held-back failure fails the run.
- ``os._exit()`` does not end the session: in the test's thread it raises
  RerunExit; in another thread (pytest-timeout's thread method) it
  interrupts the test's thread and returns; a forked child still exits.
- pytest-timeout's timer is set again for each run, with the test's own
  settings, so a limit applies to each run as it does without --leaks.

The standard library's tracemalloc, started by a test, sits above
leakgate's allocator hooks; what it allocates for itself is not the test's
memory, so new Python blocks go untraced while it traces (TracemallocPause).
"""
from __future__ import annotations

import ast
import os
import re
import signal
import threading

import pytest

from leakgate import _leakgate

TIMEOUT = pytest.StashKey()  # pytest-timeout's settings of an item
try:  # pytest >= 9 counts failed subtests per test, and fails a test that has any
    from _pytest.subtests import failed_subtests_key as FAILED_SUBTESTS
except ImportError:
    FAILED_SUBTESTS = pytest.StashKey()
HELD_HOOKS = ("pytest_runtest_logreport", "pytest_exception_interact")


class RerunExit(BaseException):
    """os._exit() was called while leakgate ran a test again."""

    def __init__(self, status):
        super().__init__(f"os._exit({status})")


class SubtestFailed(Exception):
    """A subtest failed when the test ran again (its report was held back)."""


def subtest_name(report):
    """How pytest names a subtest: "[msg] (key=value, ...)"."""
    context = getattr(report, "context", None)
    msg, kwargs = getattr(context, "msg", None), getattr(context, "kwargs", None) or {}
    parts = [f"[{msg}]"] if msg is not None else []
    if kwargs:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")")
    return " ".join(parts) or "(<subtest>)"


class Reruns:
    def __init__(self, config):
        self.config = config
        self.pm = config.pluginmanager
        self.pid = os.getpid()
        self.main = threading.main_thread().ident
        self.real_exit = os._exit
        self.real_hookexec = None  # pluggy's, set for each run
        # Made once: what a run swaps in must not allocate in its window.
        self.exit_in_rerun = self._exit_in_rerun
        self.hookexec = self._hookexec
        self.nodeid = None
        self.failed = None  # the first held-back subtest failure of the run
        self.held = 0  # subtest reports held back in the last run

    def _hookexec(self, name, impls, kwargs, firstresult):
        report = kwargs.get("report")
        if name in HELD_HOOKS and getattr(report, "nodeid", None) == self.nodeid:
            if name == HELD_HOOKS[0]:
                self.held += 1
                if report.failed and self.failed is None:
                    self.failed = subtest_name(report)
            return None if firstresult else []
        return self.real_hookexec(name, impls, kwargs, firstresult)

    def _exit_in_rerun(self, status):
        if os.getpid() != self.pid:  # a forked child
            self.real_exit(status)
        if threading.get_ident() == self.main:
            raise RerunExit(status)
        # Another thread (pytest-timeout's): the test's thread stops with
        # KeyboardInterrupt, and this call returns, as the end of the thread.
        signal.pthread_kill(self.main, signal.SIGINT)

    def arm(self, item):
        """Sets pytest-timeout's timer for one run (outside its window)."""
        settings = item.stash.get(TIMEOUT, None)
        if settings is not None:
            self.config.hook.pytest_timeout_cancel_timer(item=item)
            self.config.hook.pytest_timeout_set_timer(item=item, settings=settings)

    def disarm(self, item, after_last=False):
        """Cancels the run's timer; after the last run, a test whose limit
        covers its teardown gets a fresh one."""
        settings = item.stash.get(TIMEOUT, None)
        if settings is not None:
            self.config.hook.pytest_timeout_cancel_timer(item=item)
            if after_last and not settings.func_only:
                self.config.hook.pytest_timeout_set_timer(item=item, settings=settings)

    def run(self, item):
        """Runs the test's call phase again; returns what it raised (or
        SubtestFailed), None when it passed."""
        self.nodeid, self.failed, self.held = item.nodeid, None, 0
        self.real_hookexec, self.pm._inner_hookexec = self.pm._inner_hookexec, self.hookexec
        os._exit = self.exit_in_rerun
        failures = self.config.stash.get(FAILED_SUBTESTS, None)
        counted = dict(failures) if failures else None
        try:
            item.runtest()
        except BaseException as exc:  # noqa: B036 -- every outcome stays the first call's
            return exc
        finally:
            os._exit = self.real_exit
            self.pm._inner_hookexec = self.real_hookexec
            self.nodeid = None
            if failures is not None and failures != (counted or {}):
                failures.clear()  # the first call's count of failed subtests
                failures.update(counted or {})
        if self.failed is not None:
            return SubtestFailed(f"subtest {self.failed} failed")
        return None


class TracemallocPause:
    """Wraps the standard library's tracemalloc.start() and stop(): new
    Python blocks are not traced while it traces (see the module's text)."""

    def __init__(self):
        import _tracemalloc
        import tracemalloc
        self.modules = (tracemalloc, _tracemalloc)
        self.start, self.stop = _tracemalloc.start, _tracemalloc.stop
        self.is_tracing = _tracemalloc.is_tracing
        # Tracing since start-up (python -X tracemalloc): its hooks are below
        # leakgate's, and it allocates through the allocator it found.
        self.paused = False

        def start(*args, **kwargs):
            was = self.paused
            self._pause(True)
            try:
                return self.start(*args, **kwargs)
            except BaseException:
                self._pause(was)
                raise

        def stop():
            self.stop()
            self._pause(False)

        for module in self.modules:
            module.start, module.stop = start, stop

    def _pause(self, on):
        self.paused = on
        _leakgate.pause_new_blocks(on)

    @property
    def tracing(self):
        """The standard library's tracemalloc was started by the program and
        still traces (what is allocated meanwhile is not traced)."""
        return self.paused and self.is_tracing()

    def restore(self):
        for module in self.modules:
            module.start, module.stop = self.start, self.stop



def subtest_blocks(item, failure_text):
    """The subtests (``with ...subTest(...)`` or ``with subtests.test(...)``
    blocks of the test's source) holding a line of the test's file that a
    leak's traceback shows, as "`self.subTest(i=i)` (line 12)"."""
    name = item.path.name
    lines = {int(n) for f, n in re.findall(r'File "([^"]*)", line (\d+)', failure_text)
             if os.path.basename(f) == name}
    if not lines:
        return []
    try:
        tree = ast.parse(item.path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            continue
        body = range(node.lineno, node.end_lineno + 1)
        for w in node.items:
            call = w.context_expr
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in ("subTest", "test") and lines.intersection(body)):
                found.append((node.lineno, f"`{ast.unparse(call)}` (line {node.lineno})"))
    return [text for _, text in sorted(set(found))]
