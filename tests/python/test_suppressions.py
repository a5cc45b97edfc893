"""`leakgate suppressions` over a pytest --leaks report: the rules it
prints make the same run clean (the round trip of test_suppressions.sh,
for Python frames)."""
import subprocess

from conftest import LEAKGATE

pytest_plugins = ["pytester"]

SUITE = """
    HISTORY = []

    def remember(text):
        HISTORY.append(text.upper())

    def test_clean():
        assert "a".upper() == "A"

    def test_remembers():
        remember("x" * 300)
"""


def test_rules_from_a_pytest_report_make_the_run_clean(pytester, monkeypatch):
    pytester.makepyfile(test_suite=SUITE)
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--leaks",
                                          "--leaks-json=first.json")
    assert first.parseoutcomes() == {"passed": 1, "failed": 1}
    out = subprocess.run([str(LEAKGATE), "suppressions", "first.json"], cwd=pytester.path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rules = [line for line in out.stdout.splitlines() if line.startswith("leak:")]
    # The first frame with a symbol: the function that appended.
    assert rules == ["leak:^remember$"], out.stdout
    assert "# test_suite.py::test_remembers: " in out.stdout
    assert '#     HISTORY.append(text.upper())' in out.stdout  # the traceback, in a comment
    pytester.path.joinpath("leaks.supp").write_text(out.stdout)
    monkeypatch.setenv("LEAKGATE_SUPPRESSIONS", str(pytester.path / "leaks.supp"))
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--leaks",
                                          "--leaks-json=again.json")
    assert again.parseoutcomes() == {"passed": 2}
