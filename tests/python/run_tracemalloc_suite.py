"""Runs CPython's own Lib/test/test_tracemalloc.py against leakgate.

The test module of the Python in use is read, every reference to the
tracemalloc module is pointed at leakgate, and its test classes run, except
those of interpreter start-up flags (TestCommandLine: PYTHONTRACEMALLOC,
-X tracemalloc) and of the _testcapi C API (TestCAPI), whose leakgate
equivalents are in tests/python/test_binding.py.  Prints the pass count;
exits 1 if a test fails, except the known failures listed below with why.

Usage: python tests/python/run_tracemalloc_suite.py [-v] [--stdlib]
(--stdlib runs the same selection against tracemalloc itself, to compare.)
"""
import importlib.util
import re
import sys
import types
import unittest

EXCLUDED_CLASSES = {"TestCommandLine", "TestCAPI"}

# Tests that cannot pass without hooks inside the interpreter itself.
KNOWN_FAILURES = {
    # A list reused from the interpreter's free list is not a new
    # allocation; CPython tells tracemalloc about it through an internal
    # call (_PyTraceMalloc_NewReference) that no extension can receive.
    "test_new_reference",
}


def load_module():
    spec = importlib.util.find_spec("test.test_tracemalloc")
    if spec is None:
        sys.exit("run_tracemalloc_suite: this Python has no test.test_tracemalloc "
                 "(install its test package)")
    source = spec.loader.get_source(spec.name)
    if "--stdlib" not in sys.argv[1:]:
        source = re.sub(r"(?<![\w.])tracemalloc\b", "leakgate", source)
    module = types.ModuleType("test_tracemalloc_leakgate")
    module.__file__ = spec.origin
    exec(compile(source, spec.origin, "exec"), module.__dict__)
    return module


def main():
    module = load_module()
    sys.modules[module.__name__] = module
    names = [name for name in sorted(dir(module))
             if isinstance(getattr(module, name), type)
             and issubclass(getattr(module, name), unittest.TestCase)
             and name not in EXCLUDED_CLASSES]
    # As `python -m unittest` runs it: some tests look at stack depths
    # (test_snapshot wants a traceback of more than 10 frames).
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    program = unittest.main(module=module, defaultTest=names, argv=[sys.argv[0]], exit=False,
                            verbosity=verbosity)
    result = program.result
    failed = {t.id().rsplit(".", 1)[-1] for t, _ in result.failures + result.errors}
    unexpected = failed - KNOWN_FAILURES
    passed = result.testsRun - len(failed) - len(result.skipped)
    print(f"test_tracemalloc with {'tracemalloc' if '--stdlib' in sys.argv else 'leakgate'}: "
          f"{passed} of {result.testsRun} passed, {len(result.skipped)} skipped, "
          f"{len(failed)} failed (known: {', '.join(sorted(failed & KNOWN_FAILURES)) or 'none'}); "
          f"excluded classes: {', '.join(sorted(EXCLUDED_CLASSES))}")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
