"""pytest --leaks, tested with pytester: every run is a separate pytest
process (tracing is process-wide), and each test asserts outcomes and what
the report says."""
import json
import os
import subprocess
import sys

import pytest

from conftest import LEAKGATE

pytest_plugins = ["pytester"]

LEAKY = """
    import pytest
    CACHE = []

    def test_clean():
        data = [bytearray(100) for _ in range(10)]
        assert len(data) == 10

    def test_leaks():
        CACHE.append(bytearray(5000))
"""


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def outcomes(result):
    return result.parseoutcomes()


def failures(text):
    """The FAILURES section of pytest's output: the short summary after it
    repeats whole failure messages when pytest runs on CI."""
    return text.split("short test summary info")[0]


def test_off_unless_asked(pytester):
    pytester.makepyfile(LEAKY)
    assert outcomes(run(pytester)) == {"passed": 2}


def test_a_leaking_test_fails_with_the_traceback_that_leaked(pytester):
    pytester.makepyfile(LEAKY)
    result = run(pytester, "--leaks")
    assert outcomes(result) == {"passed": 1, "failed": 1}
    result.stdout.fnmatch_lines([
        "*_ test_leaks _*",
        "leakgate: test test_a_leaking_test_fails_with_the_traceback_that_leaked.py::test_leaks "
        "leaked * B in 2 blocks (limit 0 B)",
        "  * B in 2 blocks (+2) allocated at",
        '    File "*test_a_leaking_test_fails_with_the_traceback_that_leaked.py", line 9',
        "      CACHE.append(bytearray(5000))",
        "  measured: bytes allocated during the call phase and still allocated after it, "
        "in each of 2 measured runs and the confirming run, after 1 warmup run",
        "*= leakgate: tests that leaked most =*",
        "*B in 2 block(s)  *::test_leaks",
    ])
    # The traceback stops at the test: none of pytest's own frames.
    assert "_pytest" not in result.stdout.str()


def test_ini_option_turns_it_on(pytester):
    pytester.makepyfile(LEAKY)
    pytester.makeini("[pytest]\nleaks = true\nleaks_max_size = 10 KiB\n")
    assert outcomes(run(pytester)) == {"passed": 2}
    pytester.makeini("[pytest]\nleaks = true\n")
    assert outcomes(run(pytester)) == {"passed": 1, "failed": 1}


def test_caches_are_not_leaks_thanks_to_warmup(pytester):
    pytester.makepyfile("""
        import functools

        @functools.lru_cache(maxsize=None)
        def table(n):
            return [bytearray(64) for _ in range(n)]

        MEMO = {}

        def test_memoizes():
            MEMO.setdefault("key", bytearray(4096))
            assert len(table(50)) == 50
    """)
    assert outcomes(run(pytester, "--leaks")) == {"passed": 1}
    # Without warmup, the run that fills the caches looks like a leak; the
    # confirming run does not.
    assert outcomes(run(pytester, "--leaks", "--leaks-warmup=0", "--leaks-runs=1")) == {
        "passed": 1}


def test_a_test_leaks_only_if_every_measured_run_leaks(pytester):
    pytester.makepyfile("""
        CALLS = []
        KEPT = []

        def test_first_two_calls_only():
            CALLS.append(1)
            if len(CALLS) <= 2:
                KEPT.append(bytearray(3000))
    """)
    # Two measured runs, then the confirming one: the third call keeps nothing.
    assert outcomes(run(pytester, "--leaks", "--leaks-warmup=0", "--leaks-runs=2")) == {
        "passed": 1}
    # One measured run, then the confirming one: both calls keep 3000 B.
    assert outcomes(run(pytester, "--leaks", "--leaks-warmup=0", "--leaks-runs=1")) == {
        "failed": 1}


def test_limits_per_test_and_per_parametrized_case(pytester):
    pytester.makepyfile("""
        import pytest
        KEPT = []

        @pytest.mark.leaks(max_size="10 KiB")
        def test_allowed():
            KEPT.append(bytearray(5000))

        @pytest.mark.leaks(max_count=5)
        def test_few_blocks():
            KEPT.append(bytearray(50000))

        @pytest.mark.parametrize("n", [
            100,
            pytest.param(8000, marks=pytest.mark.leaks(max_size="16 KiB")),
            pytest.param(20000, id="too-big"),
        ])
        def test_case(n):
            KEPT.append(bytearray(n))
    """)
    result = run(pytester, "--leaks", "--leaks-max-size=1 KiB", "-rf")
    assert outcomes(result) == {"passed": 3, "failed": 2}
    result.stdout.fnmatch_lines(["FAILED *::test_few_blocks*", "FAILED *::test_case[[]too-big[]]*"])
    assert "(limit 50000 B" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*test_few_blocks leaked * (limits 1024 B, 5 blocks)*"])


def test_no_leak_check_opts_out(pytester):
    pytester.makepyfile("""
        import pytest
        KEPT = []

        @pytest.mark.no_leak_check(reason="keeps a cache on purpose")
        def test_cache():
            KEPT.append(bytearray(5000))
    """)
    assert outcomes(run(pytester, "--leaks")) == {"passed": 1}


@pytest.mark.parametrize("args, message", [
    (["--leaks-max-size=lots"],
     "*--leaks-max-size=lots: expected a size in bytes: N, N B, N KiB*"),
    (["--leaks-runs=0"], "ERROR: --leaks-runs=0: expected an integer from 1 to 1000"),
    (["--leaks-runs=1001"], "ERROR: --leaks-runs=1001: expected an integer from 1 to 1000"),
    (["--leaks-warmup=1000000000"],
     "ERROR: --leaks-warmup=1000000000: expected an integer from 0 to 1000"),
    (["--leaks-warmup=-1"], "ERROR: --leaks-warmup=-1: expected an integer from 0 to 1000"),
    (["--leaks-max-count=99999999999999999999"],
     "ERROR: --leaks-max-count=99999999999999999999: expected an integer from 0 to "
     "9223372036854775807"),
    (["--leaks-frames=500"], "ERROR: --leaks-frames=500: expected an integer from 1 to 128"),
    (["--leaks-filter=exclude bogus=1"], "*--leaks-filter=exclude bogus=1: *"),
    (["--leaks-json=."], "ERROR: --leaks-json=.: is a directory"),
    (["--leaks-json=/missing/dir/x.json"],
     "ERROR: --leaks-json=/missing/dir/x.json: cannot write in /missing/dir: No such file or "
     "directory"),
])
def test_bad_options_are_named(pytester, args, message):
    pytester.makepyfile(LEAKY)
    result = run(pytester, "--leaks", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.parametrize("marker, message", [
    ("warmup=1000000000", "warmup=1000000000: expected an integer from 0 to 1000"),
    ("runs=2.5", "runs=2.5: expected an integer from 1 to 1000"),
    ("max_count=-1", "max_count=-1: expected an integer from 0 to 9223372036854775807"),
])
def test_bad_marker_values_are_named(pytester, marker, message):
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.leaks({marker})
        def test_marked():
            pass
    """)
    result = run(pytester, "--leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: *::test_marked: @pytest.mark.leaks {message}"])


def test_bad_markers_are_named(pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.leaks(max_sise=10)
        def test_typo():
            pass
    """)
    result = run(pytester, "--leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "*test_typo: @pytest.mark.leaks: unknown argument 'max_sise' (expected max_size, "
        "max_count, warmup, runs, filters)*"])


def test_a_bad_filters_marker_is_one_line_before_any_test(pytester):
    pytester.makepyfile("""
        import pytest

        def test_first():
            pass

        @pytest.mark.leaks(filters=["exclude nowhere=1"])
        def test_bad_filter():
            pass
    """)
    result = run(pytester, "--leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: *::test_bad_filter: "
                                 "@pytest.mark.leaks(filters=...)*exclude nowhere=1*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "passed" not in result.stdout.str()


@pytest.mark.parametrize("var, value, message", [
    ("LEAKGATE_MAX_SIZE", "huge", "*LEAKGATE_MAX_SIZE=huge: expected a size in bytes*"),
    ("LEAKGATE_NATIVE", "2", "ERROR: LEAKGATE_NATIVE=2: expected 0 *"),
])
def test_bad_environment_is_named(pytester, monkeypatch, var, value, message):
    pytester.makepyfile(LEAKY)
    monkeypatch.setenv(var, value)
    result = run(pytester, "--leaks")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "INTERNALERROR" not in result.stderr.str()


def test_fixtures_of_wider_scope_are_not_leaks(pytester):
    pytester.makeconftest("""
        import pytest

        @pytest.fixture(scope="session")
        def big():
            return [bytearray(10000) for _ in range(10)]
    """)
    pytester.makepyfile("""
        import pytest

        @pytest.fixture(scope="module")
        def table():
            return {i: bytearray(100) for i in range(100)}

        @pytest.fixture
        def scratch():
            return bytearray(7000)

        def test_uses_them(big, table, scratch):
            assert len(big) == 10 and len(table) == 100 and scratch
    """)
    assert outcomes(run(pytester, "--leaks")) == {"passed": 1}


def test_other_threads_count_unless_own_thread_only(pytester):
    pytester.makepyfile("""
        import threading
        KEPT = []

        def test_thread_leaks():
            t = threading.Thread(target=lambda: KEPT.append(bytearray(6000)))
            t.start()
            t.join()
    """)
    assert outcomes(run(pytester, "--leaks")) == {"failed": 1}
    assert outcomes(run(pytester, "--leaks", "--leaks-own-thread")) == {"passed": 1}


def test_more_tracebacks_with_verbose(pytester):
    pytester.makepyfile("""
        KEPT = []

        def test_many_sites():
            KEPT.append(bytearray(1001))
            KEPT.append(bytearray(1002))
            KEPT.append(bytearray(1003))
            KEPT.append(bytearray(1004))
            KEPT.append(bytearray(1005))
            KEPT.append(bytearray(1006))
            KEPT.append(bytearray(1007))
    """)
    quiet = failures(run(pytester, "--leaks").stdout.str())
    assert quiet.count("allocated at") == 5
    assert "... and 2 more tracebacks" in quiet
    verbose = failures(run(pytester, "--leaks", "-v").stdout.str())
    assert verbose.count("allocated at") == 7


def test_filters_from_options_markers_and_files(pytester):
    pytester.makepyfile(LEAKY)
    name = "test_filters_from_options_markers_and_files.py"
    assert outcomes(run(pytester, "--leaks", f"--leaks-filter=exclude file=*/{name}")) == {
        "passed": 2}
    assert outcomes(run(pytester, "--leaks",
                        f"--leaks-filter=Filter(False, '*/{name}')")) == {"passed": 2}
    pytester.path.joinpath("supp.txt").write_text(f"# known\nexclude all file=*{name}\n")
    assert outcomes(run(pytester, "--leaks", "--leaks-filter=supp.txt")) == {"passed": 2}
    pytester.makepyfile(**{name[:-3]: LEAKY.replace(
        "def test_leaks", f"@pytest.mark.leaks(filters=['exclude file=*/{name}'])\n    "
                          "def test_leaks")})
    assert outcomes(run(pytester, "--leaks")) == {"passed": 2}


def test_json_report(pytester, monkeypatch):
    pytester.makepyfile(LEAKY)
    monkeypatch.setenv("LEAKGATE_REPORT", "from-env.json")  # as for every adapter
    run(pytester, "--leaks")
    assert json.loads(pytester.path.joinpath("from-env.json").read_text())["tests"]
    pytester.mkdir("out")
    run(pytester, "--leaks", "--leaks-json=out/report.json")
    report = json.loads(pytester.path.joinpath("out/report.json").read_text())
    assert report["schema"] == "leakgate/1"
    by_id = {t["id"].split("::")[1]: t for t in report["tests"]}
    assert by_id["test_clean"]["outcome"] == "clean"
    assert by_id["test_leaks"]["outcome"] == "leaked"
    assert by_id["test_leaks"]["size_diff"] >= 5000
    frame = by_id["test_leaks"]["leaks"][0]["traceback"][0]
    assert (frame["kind"], frame["line"]) == ("python", 9)


def test_xdist_workers_and_one_merged_report(pytester):
    skipped = "\n    @pytest.mark.skip\n    def test_skipped():\n        pass\n"
    pytester.makepyfile(**{f"test_part{i}": LEAKY + skipped for i in range(3)})
    result = run(pytester, "--leaks", "-n", "2", "--leaks-json=r.json")
    assert outcomes(result) == {"passed": 3, "failed": 3, "skipped": 3}
    report = json.loads(pytester.path.joinpath("r.json").read_text())
    assert sorted(t["outcome"] for t in report["tests"]) == \
        ["clean"] * 3 + ["leaked"] * 3 + ["skipped"] * 3
    assert len({t["id"] for t in report["tests"]}) == 9
    assert not pytester.path.joinpath("r.json.parts").exists()
    result.stdout.fnmatch_lines(["*= leakgate: tests that leaked most =*"])


def test_junitxml_gets_the_failure_text(pytester):
    pytester.makepyfile(LEAKY)
    run(pytester, "--leaks", "--junitxml=j.xml")
    xml = pytester.path.joinpath("j.xml").read_text()
    assert "leakgate: test " in xml and "leaked" in xml and "CACHE.append" in xml


def test_exitfirst_lastfailed_skips_and_xfail(pytester):
    pytester.makepyfile("""
        import pytest
        KEPT = []

        def test_a_leaks():
            KEPT.append(bytearray(5000))

        def test_b_clean():
            pass

        @pytest.mark.skip(reason="not today")
        def test_c_skipped():
            KEPT.append(bytearray(5000))

        @pytest.mark.xfail(reason="known")
        def test_d_xfail_that_leaks():
            KEPT.append(bytearray(5000))

        @pytest.mark.xfail(reason="known")
        def test_e_xfail_that_fails():
            assert False
    """)
    assert outcomes(run(pytester, "--leaks", "-x")) == {"failed": 1}
    result = pytester.runpytest_subprocess("--leaks")  # with the cache: records the failure
    assert outcomes(result) == {"failed": 1, "passed": 1, "skipped": 1, "xfailed": 2}
    rerun = pytester.runpytest_subprocess("--leaks", "--lf")
    assert outcomes(rerun)["failed"] == 1 and "passed" not in outcomes(rerun)
    rerun.stdout.fnmatch_lines(["*test_a_leaks leaked*"])


def test_async_tests(pytester):
    pytester.makeini("[pytest]\nasyncio_mode = auto\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("""
        import asyncio
        KEPT = []

        async def test_async_leaks():
            await asyncio.sleep(0)
            KEPT.append(bytearray(5000))

        async def test_async_clean():
            await asyncio.sleep(0)
    """)
    result = run(pytester, "--leaks")
    assert outcomes(result) == {"passed": 1, "failed": 1}
    result.stdout.fnmatch_lines(["*test_async_leaks leaked*"])


def test_leak_check_fixture_checks_regions(pytester):
    pytester.makepyfile("""
        KEPT = []

        def test_region_clean(leak_check):
            KEPT.append(bytearray(5000))  # outside the region
            with leak_check():
                x = bytearray(100)
                del x

        def test_region_leaks(leak_check):
            with leak_check(max_size="1 KiB"):
                KEPT.append(bytearray(5000))

        def test_one_region_entered_twice(leak_check):
            region = leak_check()
            for _ in range(2):
                with region:
                    x = bytearray(100)
                    del x
            with region:
                KEPT.append(bytearray(300))
    """)
    for args in ([], ["--leaks"]):
        result = run(pytester, *args)
        assert outcomes(result) == {"passed": 1, "failed": 2}
        result.stdout.fnmatch_lines(["*test_region_leaks[[]region 1[]] leaked*(limit 1024 B)*"])
        result.stdout.fnmatch_lines(["*test_one_region_entered_twice[[]region 3[]] leaked*"])


def test_the_help_says_how_to_find_native_leaks(pytester):
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*memory-leak checks (leakgate)*", "*--leaks*",
                                 "*leakgate run -- pytest --leaks*"])


def test_native_leaks_under_leakgate_run(pytester, leaky_ext):
    pytester.makepyfile(f"""
        import sys
        sys.path.insert(0, {str(leaky_ext)!r})
        import leaky_ext

        def test_native_leak():
            leaky_ext.leak(4444)

        def test_native_clean():
            leaky_ext.leak(100)
            leaky_ext.release()

        def test_reference_leak():
            leaky_ext.leak_ref(5)

        KEPT = []

        def test_objects_made_by_c_code_and_kept_once():
            KEPT[:] = [leaky_ext.new_list(5)]
    """)
    r = subprocess.run([str(LEAKGATE), "run", "--", sys.executable, "-m", "pytest", "-p",
                        "no:cacheprovider", "--leaks"], cwd=pytester.path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    assert "2 failed, 2 passed" in out
    # A Python object a C extension made and never released: its blocks are
    # in the Python heap, and the report shows the extension's functions
    # after the Python frames that called it.
    ref = out[out.index("test_reference_leak leaked"):]
    ref = ref[:ref.index("measured:")]
    assert 'test_native_leaks_under_leakgate_run.py", line 13' in ref
    assert "#0 lost_list" in ref and "#1 leak_ref" in ref and "leaky_ext.c:" in ref
    assert ref.index("line 13") < ref.index("#0 lost_list")
    out = out[:out.index("test_reference_leak leaked")]
    assert "test_native_leak leaked" in out
    text = out[out.index("test_native_leak leaked"):]
    assert "#0 leaky_alloc" in text and "leaky_ext.c" in text
    assert 'test_native_leaks_under_leakgate_run.py", line 6' in text
    # Python frames first, then the native ones.
    assert text.index("line 6") < text.index("#0 leaky_alloc")


def test_the_demo_suite_fails_its_python_and_c_leaks(tmp_path):
    """examples/wordstats, as `make demo` runs it."""
    import sysconfig
    from conftest import ROOT
    ext = tmp_path / f"_fastcount{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["cc", "-shared", "-fPIC", "-g", "-O0", "-fno-omit-frame-pointer",
                    f"-I{sysconfig.get_paths()['include']}",
                    str(ROOT / "examples/wordstats/_fastcount.c"), "-o", str(ext)], check=True)
    r = subprocess.run([str(LEAKGATE), "run", "--", sys.executable, "-m", "pytest", "--leaks",
                        "-p", "no:cacheprovider", "examples/wordstats"], cwd=ROOT,
                       env=dict(os.environ, WORDSTATS_EXT=str(tmp_path)), capture_output=True,
                       text=True, timeout=300)
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    assert "3 failed, 3 passed" in out
    assert failures(out).count("DEMO LEAK") == 2  # the Python leak's source line, in both cases
    assert "#0 count_letters  examples/wordstats/_fastcount.c:11" in out
    assert 'File "examples/wordstats/wordstats.py", line 35' in out


def test_native_blocks_show_their_kind(tmp_path):
    """pytest --leaks counts every kind, and names the kind of the blocks a
    C extension left (the demo's lost scratch table: definitely lost), in
    the failure text and the JSON report; Python's blocks have none."""
    import sysconfig
    from conftest import ROOT
    ext = tmp_path / f"_fastcount{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["cc", "-shared", "-fPIC", "-g", "-O0", "-fno-omit-frame-pointer",
                    f"-I{sysconfig.get_paths()['include']}",
                    str(ROOT / "examples/wordstats/_fastcount.c"), "-o", str(ext)], check=True)
    report = tmp_path / "leaks.json"
    r = subprocess.run([sys.executable, "-m", "pytest", "--leaks", "-p", "no:cacheprovider",
                        f"--leaks-json={report}", "examples/wordstats"], cwd=ROOT,
                       env=dict(os.environ, WORDSTATS_EXT=str(tmp_path)), capture_output=True,
                       text=True, timeout=300)
    out = r.stdout
    assert r.returncode == 1, out + r.stderr
    text = out[out.index("test_vowel_ratio"):]
    assert "  definitely lost: 104 B in 1 block" in text, text
    assert "#0 count_letters" in text
    tests = {t["id"]: t for t in json.loads(report.read_text())["tests"]}
    native = [leak for t in tests.values() for leak in t["leaks"]
              if any(f["kind"] == "native" and f["function"] == "count_letters"
                     for f in leak["traceback"])]
    assert native and all(leak["kind"] == "definite" for leak in native), native
    assert not any("counted" in leak for t in tests.values() for leak in t["leaks"])
    python_only = [leak for t in tests.values() for leak in t["leaks"]
                   if all(f["kind"] == "python" for f in leak["traceback"])]
    assert python_only and not any("kind" in leak for leak in python_only), python_only


def test_the_gate_over_pytest_reports(pytester):
    """A suite that already leaks adopts the gate: a baseline, then a new
    leak fails the gate, then fixing the old leak shows as fixed."""
    def gate(*args):
        return subprocess.run([str(LEAKGATE), "gate", *args], cwd=pytester.path,
                              capture_output=True, text=True)

    pytester.makepyfile(test_suite=LEAKY)
    run(pytester, "--leaks", "-n", "2", "--leaks-json=day1.json")
    assert gate("--update-baseline", "day1.json").returncode == 0
    baseline = pytester.path.joinpath("leakgate-baseline.json").read_text()
    assert "test_suite.py::test_leaks" in baseline and "0x" not in baseline
    assert gate("day1.json").returncode == 0

    pytester.makepyfile(test_suite=LEAKY + "\n    def test_new():\n        CACHE.append([1] * 900)\n")
    run(pytester, "--leaks", "--leaks-json=day2.json")
    r = gate("day2.json")
    assert r.returncode == 1
    assert "1 new" in r.stdout and "test_suite.py::test_new" in r.stdout
    # Signatures name the Python function: two sites of one file stay apart.
    assert "test_leaks@test_suite.py" in baseline
    assert pytester.path.joinpath("leakgate-baseline.json").read_text() == baseline

    pytester.makepyfile(test_suite=LEAKY.replace("CACHE.append(bytearray(5000))", "pass"))
    run(pytester, "--leaks", "--leaks-json=day3.json")
    r = gate("day3.json")
    assert r.returncode == 0
    assert "1 fixed" in r.stdout


def test_cyclic_garbage_is_collected_before_measuring(pytester):
    pytester.makepyfile("""
        KEPT = []

        class Node:
            def __init__(self):
                self.me = self
                self.payload = bytearray(3000)

        def test_cycles_become_garbage():
            for _ in range(10):
                Node()

        def test_a_cycle_is_kept():
            KEPT.append(Node())

        CURRENT = [Node()]

        def test_an_older_cycle_is_replaced():
            CURRENT[0] = Node()
    """)
    for runs in ("1", "2", "3"):
        result = run(pytester, "--leaks", "-rf", "--leaks-runs", runs)
        assert outcomes(result) == {"passed": 2, "failed": 1}
        result.stdout.fnmatch_lines(["FAILED *::test_a_cycle_is_kept*"])


def test_a_test_that_cannot_run_twice_keeps_its_outcome(pytester):
    pytester.makepyfile("""
        import pytest

        class TestOnce:
            @classmethod
            def setup_class(cls):
                cls.items = [1, 2, 3]

            def test_pops(self):
                assert self.items.pop() == 3
    """)
    result = run(pytester, "--leaks")
    assert outcomes(result) == {"passed": 1}
    result.stdout.fnmatch_lines(["*= leakgate: tests not checked for leaks =*",
                                 "*::TestOnce::test_pops: raised AssertionError when run again"])
    # Measured in its one run, when asked (first-run caches count then).
    result = run(pytester, "--leaks", "--leaks-warmup=0", "--leaks-runs=1")
    assert "not checked" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*test_pops leaked * (limit 0 B)"])


def test_names_held_by_the_type_attribute_cache_are_not_leaks(pytester):
    # CPython 3.11 and 3.12 keep a reference to any attribute name looked up
    # on a type, interned or not, in a slot chosen by the type's version: a
    # type changed by every run puts each run's name in a new slot.
    pytester.makepyfile("""
        class Box:
            pass

        def test_lookup_by_a_built_name():
            Box.version = object()
            getattr(Box(), "".join(["an_attribute_", "name_built_at_run_time"]), None)
    """)
    assert outcomes(run(pytester, "--leaks", "--leaks-runs=5")) == {"passed": 1}


SUBTESTS = """
    import unittest
    KEPT = []

    class TestCase(unittest.TestCase):
        def test_clean(self):
            for i in range(4):
                with self.subTest(i=i):
                    self.assertEqual(len([bytearray(50)] * i), i)

        def test_leaks_in_one_subtest(self):
            for i in range(3):
                with self.subTest(i=i):
                    if i == 1:
                        KEPT.append(bytearray(3000))

    def test_fixture_clean(subtests):
        for i in range(4):
            with subtests.test(msg="case", i=i):
                assert [0] * i == [0] * i

    def test_fixture_leaks(subtests):
        for i in range(3):
            with subtests.test(msg="case", i=i):
                pass
        with subtests.test(msg="last"):
            KEPT.append(bytearray(2000))
"""


def test_subtests_are_not_leaks_but_a_leak_inside_one_is(pytester):
    pytester.makepyfile(SUBTESTS)
    plain = run(pytester, "-q").stdout.lines[-1]
    assert "4 passed, 15 subtests passed" in plain
    result = run(pytester, "--leaks", "-rf", "-q")
    assert "2 failed, 2 passed, 15 subtests passed" in result.stdout.lines[-1]
    result.stdout.fnmatch_lines([
        "*::TestCase::test_leaks_in_one_subtest leaked 30?? B in * (limit 0 B)",
        "*KEPT.append(bytearray(3000))",
        "  in subtest `self.subTest(i=i)` (line 12)",
    ])
    result.stdout.fnmatch_lines([
        "*::test_fixture_leaks leaked 20?? B in *",
        "*KEPT.append(bytearray(2000))",
        "  in subtest `subtests.test(msg='last')` (line 25)",
    ])
    assert "FAILED *::test_fixture_clean" not in result.stdout.str()
    assert "_pytest" not in failures(result.stdout.str())


def test_a_subtest_failing_when_run_again_leaves_the_test_unchecked(pytester):
    pytester.makepyfile("""
        RUNS = []

        def test_second_run_differs(subtests):
            RUNS.append(1)
            with subtests.test(msg="first run only"):
                assert len(RUNS) == 1
    """)
    result = run(pytester, "--leaks", "-q")
    assert "1 passed, 1 subtests passed" in result.stdout.lines[-1]
    result.stdout.fnmatch_lines([
        "*::test_second_run_differs: raised SubtestFailed when run again"])


def test_the_standard_librarys_tracemalloc_is_not_the_tests_leak(pytester):
    pytester.makepyfile("""
        import tracemalloc
        import pytest
        KEPT = []

        def test_uses_tracemalloc():
            tracemalloc.start(5)
            data = [bytearray(10) for _ in range(10)]
            tracemalloc.take_snapshot().statistics("lineno")
            tracemalloc.stop()

        def test_uses_tracemalloc_and_leaks():
            tracemalloc.start()
            tracemalloc.stop()
            KEPT.append(bytearray(4000))

        @pytest.fixture
        def traced():
            tracemalloc.start()
            yield
            tracemalloc.stop()

        def test_traced_by_a_fixture(traced):
            KEPT.append(bytearray(10))
    """)
    result = run(pytester, "--leaks", "-rf")
    assert outcomes(result) == {"passed": 2, "failed": 1}
    result.stdout.fnmatch_lines([
        "*::test_uses_tracemalloc_and_leaks leaked 40?? B in *",
        "*= leakgate: tests not checked for leaks =*",
        "*::test_traced_by_a_fixture: the standard library's tracemalloc is tracing",
        "FAILED *::test_uses_tracemalloc_and_leaks*",
    ])


def test_a_run_after_the_first_never_ends_the_session(pytester):
    pytester.makepyfile("""
        import os
        import time
        import pytest
        CALLS = {}

        def nth(name):
            CALLS[name] = CALLS.get(name, 0) + 1
            return CALLS[name]

        def test_interrupted():
            if nth("kbd") == 2:
                raise KeyboardInterrupt

        def test_exits():
            if nth("exit") == 2:
                raise SystemExit(5)

        def test_os_exit():
            if nth("os_exit") == 2:
                os._exit(3)

        def test_a_forked_child_still_exits():
            pid = os.fork()
            if pid == 0:
                os._exit(7)
            assert os.waitpid(pid, 0)[1] >> 8 == 7

        @pytest.mark.timeout(0.8)
        def test_each_run_has_its_limit():
            time.sleep(0.3)

        @pytest.mark.timeout(0.8, method="thread")
        def test_each_run_has_its_limit_thread():
            time.sleep(0.3)

        @pytest.mark.timeout(0.5, method="thread")
        def test_times_out_when_run_again():
            if nth("hang") == 2:
                time.sleep(5)
    """)
    result = run(pytester, "--leaks")
    assert outcomes(result) == {"passed": 7}
    result.stdout.fnmatch_lines([
        "*= leakgate: tests not checked for leaks =*",
        "*::test_interrupted: raised KeyboardInterrupt when run again",
        "*::test_exits: raised SystemExit when run again",
        "*::test_os_exit: called os._exit(3) when run again",
        "*::test_times_out_when_run_again: raised KeyboardInterrupt when run again",
    ])
    assert "test_each_run_has_its_limit" not in result.stdout.str().split("not checked")[1]
