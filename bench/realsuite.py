"""`make realsuite`: `pytest --leaks` over a real third-party suite, timed
against plain pytest and checked without leakgate; writes REALSUITE.md.

    python3 bench/realsuite.py [--runs N] [--out PATH]

The suite is networkx's (from the package index, into a virtual environment
of its own under build/); leakgate's plugin is installed there from this
checkout.  Plain and --leaks runs alternate, N times each (default 2).  Then
every test the last --leaks run reported is run again under
realsuite_probe.py, which uses the standard library's tracemalloc: a test is
a leak there if it still grows between its 10th and its 40th run.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, os.environ.get("BUILD", "build"), "realsuite-venv")
PY = os.path.join(VENV, "bin", "python")
PACKAGES = ["networkx==3.4.2", "pytest", "setuptools", "wheel"]  # the last two build the plugin
SUITE = ["networkx.classes", "networkx.utils", "networkx.readwrite"]


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def setup():
    if not os.path.exists(PY):
        sh(sys.executable, "-m", "venv", VENV)
    sh(PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", *PACKAGES)
    sh(PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-build-isolation",
       "--no-deps", "--force-reinstall", os.path.join(ROOT, "adapters", "pytest"))
    site = subprocess.run([PY, "-c", "import networkx, os; print(os.path.dirname("
                           "os.path.dirname(networkx.__file__)))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    version = subprocess.run([PY, "-m", "pytest", "--version"], check=True,
                             capture_output=True, text=True).stdout.strip()
    return site, version


def pytest(site, cwd, *args, env=None):
    """One run of the suite; returns (seconds, last line of its output)."""
    cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rootdir={site}",
           "--pyargs", *SUITE, *args]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=dict(os.environ, **(env or {})),
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stdout[-3000:] + p.stderr[-3000:])
        raise SystemExit(f"realsuite: {' '.join(cmd)}: exit status {p.returncode}")
    return seconds, p.stdout.strip().splitlines()[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "2")))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "REALSUITE.md"))
    args = ap.parse_args()
    site, version = setup()
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "leaks.json")
        plain, leaks = [], []
        for _ in range(args.runs):
            plain.append(pytest(site, tmp))
            leaks.append(pytest(site, tmp, "--leaks", f"--leaks-json={report}"))
        tests = json.load(open(report))["tests"]
        reported = sorted(t["id"] for t in tests if t["outcome"] == "leaked")
        ids, out = os.path.join(tmp, "ids.json"), os.path.join(tmp, "probe.txt")
        with open(ids, "w") as f:
            json.dump(reported, f)
        pytest(site, tmp, "-p", "realsuite_probe",
               env={"PYTHONPATH": os.path.join(ROOT, "bench"), "PROBE_IDS": ids,
                    "PROBE_OUT": out})
        growth = {}
        for line in open(out):
            size, nodeid = line.rstrip("\n").split("\t")
            growth[nodeid] = int(size)
    write(args.out, version, plain, leaks, tests, reported, growth)


def write(path, version, plain, leaks, tests, reported, growth):
    def span(runs):
        times = sorted(s for s, _ in runs)
        return f"{times[0]:.1f}–{times[-1]:.1f} s"

    ratio = sum(s for s, _ in leaks) / sum(s for s, _ in plain)
    false = [t for t in reported if growth.get(t, 0) <= 0]
    unchecked = sum(t["outcome"] == "skipped" for t in tests)
    lines = [
        "# `pytest --leaks` on a real suite",
        "",
        f"Written by `make realsuite` on {datetime.date.today()} ({version}, Python "
        f"{sys.version.split()[0]}): networkx 3.4.2's `{'`, `'.join(SUITE)}`, "
        f"{len(tests)} tests, each command run {len(plain)} times, alternating.",
        "",
        "| run | wall time | ratio | tests reported leaking |",
        "|---|---|---|---|",
        f"| `pytest --pyargs ...` | {span(plain)} | 1x | |",
        f"| `pytest --pyargs ... --leaks` | {span(leaks)} | {ratio:.1f}x | {len(reported)} |",
        "",
        f"Last lines: plain `{plain[-1][1]}`; --leaks `{leaks[-1][1]}`.  {unchecked} tests "
        "were not judged (skipped, or failing when run again).",
        "",
        "Each reported test checked without leakgate (`realsuite_probe.py`: the "
        "standard library's tracemalloc, 40 more runs, a full collection and the type "
        "cache emptied after each; bytes allocated after run 40 minus after run 10):",
        "",
        "| growth, runs 10 to 40 | test |",
        "|---|---|",
        *(f"| {growth.get(t, 'not run')} B | `{t}` |" for t in reported),
        "",
        f"**{len(reported) - len(false)} of {len(reported)} reported tests grow; "
        f"{len(false)} do not (false reports).**",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
