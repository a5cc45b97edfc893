"""`make realsuite`: `pytest --leaks` over real third-party suites, timed
against plain pytest and checked without leakgate; writes REALSUITE.md.

    python3 bench/realsuite.py [--runs N] [--out PATH] [--only NAME]

The suites come from the package index, into a virtual environment of their
own under build/ (leakgate's plugin is installed there from this checkout):

- networkx 3.4.2 (pure Python, pytest style);
- more-itertools 11.2.1 (unittest style, thousands of subtests; its tests
  come from its source archive);
- simplejson 3.20.2, a C extension built from its source archive, its suite
  run under `leakgate run --` (native frames and malloc hooks).

Plain and --leaks runs alternate, N times each (default 2).  Then every test
the last --leaks run reported is run again under realsuite_probe.py, which
uses the standard library's tracemalloc: a test is a leak there if it still
grows between its 10th and its 40th run.

Last, a known leak of a released C extension: simplejson 3.20.2's dict
encoder (skipped keys with sorted keys; fixed in 4.0) must be reported with a
frame of _speedups.c, and the fixed release (4.0.1, built from source in a
second environment) must not be.
"""
import argparse
import datetime
import json
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
LEAKGATE = os.path.join(BUILD, "bin", "leakgate")
TOOLS = ["pytest", "setuptools", "wheel"]  # the last two build the plugin and simplejson
PIP = ["-m", "pip", "install", "-q", "--disable-pip-version-check"]
SUITES = {
    "networkx": dict(
        packages=["networkx==3.4.2"], where="site",
        args=["--pyargs", "networkx.classes", "networkx.utils", "networkx.readwrite"],
        what="networkx 3.4.2's `networkx.classes`, `networkx.utils`, `networkx.readwrite`"),
    "more-itertools": dict(
        packages=["more-itertools==11.2.1"], sdist="more-itertools==11.2.1", where="sdist",
        args=["tests", "-k", "not test_primes"],
        what="more-itertools 11.2.1's `tests/` from its source archive, unittest classes "
             "with subtests (`test_primes` deselected: it alone sieves for a minute)"),
    "simplejson": dict(
        packages=["--no-binary", "simplejson", "simplejson==3.20.2"], where="site",
        args=["--pyargs", "simplejson.tests"], under_leakgate=True,
        what="simplejson 3.20.2's `simplejson.tests`, its C extension built from source, "
             "under `leakgate run --`"),
}
KNOWN_LEAK = '''import simplejson

DATA = {(1, 2): "skipped", "b": [1, 2], "a": {"x": 1}}


def test_skipkeys_sorted():
    assert simplejson.dumps(DATA, skipkeys=True, sort_keys=True) == '{"a": {"x": 1}, "b": [1, 2]}'


def test_plain():
    assert simplejson.dumps({"a": 1}) == '{"a": 1}'
'''


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def venv(name, packages):
    path = os.path.join(BUILD, name)
    py = os.path.join(path, "bin", "python")
    if not os.path.exists(py):
        sh(sys.executable, "-m", "venv", path)
    sh(py, *PIP, *TOOLS, *packages)
    sh(py, *PIP, "--no-build-isolation", "--no-deps", "--force-reinstall",
       os.path.join(ROOT, "adapters", "pytest"))
    return py


def out(py, code):
    return subprocess.run([py, "-c", code], check=True, capture_output=True,
                          text=True).stdout.strip()


def source_tree(py, spec, into):
    """The unpacked source archive of `spec`, from the package index."""
    sh(py, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
       "--no-binary", ":all:", spec, "-d", into)
    archive = next(f for f in os.listdir(into) if f.endswith(".tar.gz"))
    with tarfile.open(os.path.join(into, archive)) as tar:
        tar.extractall(into, filter="data")
    return os.path.join(into, archive[:-len(".tar.gz")])


def summary(text):
    """pytest's last line (the counts), from output that may end with
    leakgate run's own line."""
    lines = [line.strip("= ") for line in text.strip().splitlines()
             if re.search(r"\d+ (passed|failed)", line)]
    return lines[-1] if lines else "?"


def pytest(py, suite, cwd, *args, env=None):
    """One run of the suite; returns (wall seconds, CPU seconds of the
    processes it ran, summary line)."""
    cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={cwd}",
           *suite["args"], *args]
    if suite.get("under_leakgate") and "--leaks" in args:
        cmd = [LEAKGATE, "run", "--"] + cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=dict(os.environ, **(env or {})),
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit(f"realsuite: {' '.join(cmd)}: exit status {p.returncode}")
    return seconds, cpu, summary(p.stdout)


def measure(name, suite, py, runs, tmp):
    if suite["where"] == "sdist":
        cwd = source_tree(py, suite["sdist"], os.path.join(tmp, name))
    else:
        cwd = out(py, "import site; print(site.getsitepackages()[0])")
    report = os.path.join(tmp, f"{name}.json")
    plain, leaks = [], []
    for _ in range(runs):
        plain.append(pytest(py, suite, cwd))
        leaks.append(pytest(py, suite, cwd, "--leaks", f"--leaks-json={report}"))
    tests = json.load(open(report))["tests"]
    reported = sorted(t["id"] for t in tests if t["outcome"] == "leaked")
    growth = {}
    if reported:
        ids, probe = os.path.join(tmp, f"{name}.ids"), os.path.join(tmp, f"{name}.probe")
        with open(ids, "w") as f:
            json.dump(reported, f)
        pytest(py, suite, cwd, "-p", "realsuite_probe",
               env={"PYTHONPATH": os.path.join(ROOT, "bench"), "PROBE_IDS": ids,
                    "PROBE_OUT": probe})
        for line in open(probe):
            size, nodeid = line.rstrip("\n").split("\t")
            growth[nodeid] = int(size)
    return dict(name=name, what=suite["what"], plain=plain, leaks=leaks, tests=tests,
                reported=reported, growth=growth, leakgate_run=suite.get("under_leakgate"))


def known_leak(py, tmp):
    """simplejson 3.20.2 (the suite's environment) and 4.0.1."""
    fixed = venv("realsuite-venv-fixed", ["--no-binary", "simplejson", "simplejson==4.0.1"])
    path = os.path.join(tmp, "known")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "test_dump.py"), "w") as f:
        f.write(KNOWN_LEAK)
    results = []
    for python in (py, fixed):
        version = out(python, "import simplejson; print(simplejson.__version__)")
        p = subprocess.run([LEAKGATE, "run", "--", python, "-m", "pytest", "-q", "-p",
                            "no:cacheprovider", "--leaks", "test_dump.py"], cwd=path,
                           capture_output=True, text=True)
        text = p.stdout
        failure = text[text.index("leakgate: test "):text.index("  measured:")] \
            if "leakgate: test " in text else ""
        results.append(dict(version=version, summary=summary(text), failure=failure,
                            frame="_speedups.c:" in failure))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "2")))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "REALSUITE.md"))
    ap.add_argument("--only", choices=sorted(SUITES), action="append")
    args = ap.parse_args()
    packages = [p for s in SUITES.values() for p in s["packages"]]
    py = venv("realsuite-venv", packages)
    versions = (out(py, "import pytest, sys; print(pytest.__version__, sys.version.split()[0])")
                .split())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, suite in SUITES.items():
            if not args.only or name in args.only:
                results.append(measure(name, suite, py, args.runs, tmp))
        known = known_leak(py, tmp)
    write(args.out, versions, args.runs, results, known)


def write(path, versions, runs, results, known):
    def span(runs, i=0):
        times = sorted(r[i] for r in runs)
        return f"{times[0]:.1f}–{times[-1]:.1f} s"

    lines = [
        "# `pytest --leaks` on real suites",
        "",
        f"Written by `make realsuite` on {datetime.date.today()} (pytest {versions[0]}, "
        f"Python {versions[1]}); each command run {runs} times, alternating with the plain "
        "run.  Every reported test is checked without leakgate (`realsuite_probe.py`: the "
        "standard library's tracemalloc, 40 more runs, a full collection and the type "
        "cache emptied after each, subtests' reports held back from pytest; growth is the "
        "bytes allocated after run 40 minus after run 10).",
        "",
        "Times are wall time and CPU time (user + system, of every process the "
        "command ran: the steadier figure on a shared machine); the ratio is of CPU "
        "times, summed over the runs.",
        "",
        "| suite | tests | plain: wall, CPU | `--leaks`: wall, CPU | ratio | reported | grow |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = sum(x[1] for x in r["leaks"]) / sum(x[1] for x in r["plain"])
        grow = sum(r["growth"].get(t, 0) > 0 for t in r["reported"])
        lines.append(f"| {r['name']} | {len(r['tests'])} | {span(r['plain'])}, "
                     f"{span(r['plain'], 1)} | {span(r['leaks'])}, {span(r['leaks'], 1)} | "
                     f"{ratio:.1f}x | {len(r['reported'])} | {grow} |")
    for r in results:
        false = [t for t in r["reported"] if r["growth"].get(t, 0) <= 0]
        unchecked = sum(t["outcome"] == "skipped" for t in r["tests"])
        lines += [
            "",
            f"## {r['name']}",
            "",
            f"{r['what']}.  Last lines: plain `{r['plain'][-1][2]}`; --leaks "
            f"`{r['leaks'][-1][2]}`.  {unchecked} tests were not judged (skipped, failing "
            "when run again, or tracing with the standard library's tracemalloc).",
            "",
        ]
        if r["reported"]:
            lines += ["| growth, runs 10 to 40 | test |", "|---|---|",
                      *(f"| {r['growth'].get(t, 'not run')} B | `{t}` |" for t in r["reported"]),
                      ""]
        lines.append(f"**{len(r['reported']) - len(false)} of {len(r['reported'])} reported "
                     f"tests grow; {len(false)} do not (false reports).**")
    lines += ["", "## A known leak of a released C extension", "",
              "simplejson's dict encoder, with `skipkeys=True` and `sort_keys=True`, kept a "
              "reference to each skipped item (\"Fix reference leaks in dict encoder "
              "(skipkeys item, ...)\" in 4.0.0's changes; 4.0.1 is the same code, the "
              "release the index offers).  Both built from source, the same test file "
              "under `leakgate run -- pytest --leaks`:", ""]
    for k in known:
        lines += [f"- simplejson {k['version']}: `{k['summary']}`; "
                  + ("reported with a frame of `_speedups.c`:" if k["frame"] else
                     "reported, without a frame of `_speedups.c`:" if k["failure"] else
                     "nothing reported.")]
        if k["failure"]:
            lines += ["", "```", k["failure"].rstrip("\n"), "```", ""]
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
