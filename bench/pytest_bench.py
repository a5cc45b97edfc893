"""A pytest plugin of the benchmarks (`-p pytest_bench`, with bench/ on
PYTHONPATH), for bench/pysuite and the real suite alike.  With
BENCH_LIMIT_LEAKS set, every test gets pytest-memray's limit_leaks marker
(run with --memray), so that plugin checks every test, as `--leaks` does.
With BENCH_CPU_FILE set, the main thread's CPU time (since the process
began) is written there at the end: a figure that other work on the
machine does not stretch, unlike wall time."""

import os
import time

import pytest


def pytest_collection_modifyitems(config, items):
    limit = os.environ.get("BENCH_LIMIT_LEAKS")
    if limit:
        for item in items:
            item.add_marker(pytest.mark.limit_leaks(limit))


def pytest_unconfigure(config):
    path = os.environ.get("BENCH_CPU_FILE")
    if path:
        with open(path, "w") as f:
            f.write(f"{time.thread_time()}\n")
