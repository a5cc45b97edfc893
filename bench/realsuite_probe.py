"""A pytest plugin that checks `pytest --leaks` reports without leakgate: each
test named in $PROBE_IDS (a JSON list of node ids) has its call phase run 40
more times, with a full garbage collection and CPython's type attribute cache
emptied after each run, and the standard library's tracemalloc measures what
is allocated after the 10th and after the 40th.  A leak grows between them; a
cache, however filled, does not.  Reports a test logs for its subtests
during those runs are held back from pytest (which keeps every report it
is given).  Writes "growth<TAB>node id" lines to $PROBE_OUT.  Used by
realsuite.py."""
import gc
import json
import os
import sys
import tracemalloc

import pytest

RUNS, FIRST = 40, 10
WANT = set(json.load(open(os.environ["PROBE_IDS"])))
RESULTS = []


def settle():
    gc.collect()
    sys._clear_type_cache()


def allocated():
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    return sum(t.size for t in tracemalloc.take_snapshot().filter_traces(ignore).traces)


def pytest_sessionstart(session):
    tracemalloc.start(1)
    for _ in range(3):  # the probe's own first-time allocations, out of the way
        settle()
        allocated()


def held_back(pm, nodeid):
    """A hook caller that drops the reports of `nodeid` (its subtests')."""
    real = pm._inner_hookexec

    def hookexec(name, impls, kwargs, firstresult):
        if name in ("pytest_runtest_logreport", "pytest_exception_interact") and \
                getattr(kwargs.get("report"), "nodeid", None) == nodeid:
            return None if firstresult else []
        return real(name, impls, kwargs, firstresult)
    return real, hookexec


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if item.nodeid in WANT:
        sizes = {}
        pm = item.config.pluginmanager
        real, hookexec = held_back(pm, item.nodeid)
        for run in range(1, RUNS + 1):
            pm._inner_hookexec = hookexec
            try:
                item.runtest()
            finally:
                pm._inner_hookexec = real
            settle()
            if run in (FIRST, RUNS):
                sizes[run] = allocated()
        RESULTS.append((sizes[RUNS] - sizes[FIRST], item.nodeid))
    return result


def pytest_sessionfinish(session):
    with open(os.environ["PROBE_OUT"], "w") as out:
        out.writelines(f"{growth}\t{nodeid}\n" for growth, nodeid in RESULTS)
