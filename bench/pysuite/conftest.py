"""The benchmark suite's configuration: with BENCH_LIMIT_LEAKS set, every
test gets pytest-memray's limit_leaks marker (run with --memray), so the
suite measures that plugin checking every test, as `--leaks` does."""

import os

import pytest


def pytest_collection_modifyitems(config, items):
    limit = os.environ.get("BENCH_LIMIT_LEAKS")
    if limit:
        for item in items:
            item.add_marker(pytest.mark.limit_leaks(limit))
