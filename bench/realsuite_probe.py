"""A pytest plugin that checks `pytest --leaks` reports without leakgate: each
test named in $PROBE_IDS (a JSON list of node ids) has its call phase run 40
more times, with a full garbage collection and CPython's type attribute cache
emptied after each run, and the standard library's tracemalloc measures what
is allocated after the 10th and after the 40th.  A leak grows between them; a
cache, however filled, does not.  Writes "growth<TAB>node id" lines to
$PROBE_OUT.  Used by realsuite.py."""
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if item.nodeid in WANT:
        sizes = {}
        for run in range(1, RUNS + 1):
            item.runtest()
            settle()
            if run in (FIRST, RUNS):
                sizes[run] = allocated()
        RESULTS.append((sizes[RUNS] - sizes[FIRST], item.nodeid))
    return result


def pytest_sessionfinish(session):
    with open(os.environ["PROBE_OUT"], "w") as out:
        out.writelines(f"{growth}\t{nodeid}\n" for growth, nodeid in RESULTS)
