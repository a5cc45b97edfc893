"""The benchmark driver of `make bench`: runs leakgate and the tools users
would otherwise pick side by side, in the same run, and writes RESULTS.md.

    python3 bench/run.py [--small] [--runs N] [--out PATH] [--only 6|pytest|criterion]

Builds what it needs with make first (a no-op under `make bench`).  Every figure is the median of N runs (default 5, env
BENCH_RUNS).  --small runs tiny sizes once each and skips what needs the
network: the smoke run of `make check`, which only proves that everything
still builds and runs.

Items (see RESULTS.md): 1 hook cost, 2 per-test verdict cost, 3 tracer
memory, 4 Python loops, 5 whole suites, 6 reachability scan.
--only 6 runs item 6 alone and replaces its section (and its commands) in
an existing report; --only pytest and --only criterion do the same for
the pytest and the Criterion half of item 5 (criterion also refreshes the
profiling notes from bench/PROFILING.md).  Items 4 and the pytest half of 5
need leakgate's Python binding in .venv/bin/python (or BENCH_PYTHON);
without it their leakgate rows say so and the rest is still measured.
"""

import datetime
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build")
LIB = os.path.join(BUILD, "lib", "libleakgate.so")
CLI = os.path.join(BUILD, "bin", "leakgate")
BENCH = os.path.join(BUILD, "bench")
EXAMPLE = os.path.join(BUILD, "examples", "test_kvconf")
# The interpreter that has leakgate's Python binding and pytest plugin.
VENV_PY = os.environ.get("BENCH_PYTHON", os.path.join(".venv", "bin", "python"))
MEMRAY_VENV = os.path.join(BUILD, "bench", "memray-venv")
NOT_INSTALLED = "leakgate Python binding not installed"
ROW = re.compile(r"^\d")


class Bench:
    def __init__(self, small, runs):
        self.small = small
        self.runs = 1 if small else runs
        self.commands = []  # (item, command line) in the order first run
        self.out = []

    # ---- running ----------------------------------------------------------

    def note(self, item, env, cmd):
        shown = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        line = (shown + " " if shown else "") + " ".join(shlex.quote(c) for c in cmd)
        if (item, line) not in self.commands:
            self.commands.append((item, line))

    def run(self, item, cmd, env=None, ok=(0,), timeout=3600):
        """Runs cmd; returns (stdout, seconds).  Fails loudly on an exit
        status not in ok."""
        env = env or {}
        self.note(item, env, cmd)
        full = dict(os.environ, **env)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - t0
        if ok is not None and p.returncode not in ok:
            sys.stderr.write(p.stdout[-2000:] + p.stderr[-2000:])
            raise SystemExit(f"bench: {' '.join(cmd)}: exit status {p.returncode}")
        return p.stdout, seconds

    def rows(self, item, cmd, env=None, ok=(0,)):
        out, _ = self.run(item, cmd, env, ok)
        return [line.split() for line in out.splitlines() if ROW.match(line)]

    def median_rows(self, item, cmd, env=None, ok=(0,)):
        """Runs cmd self.runs times; returns its rows with each numeric
        column replaced by its median over the runs."""
        runs = [self.rows(item, cmd, env, ok) for _ in range(self.runs)]

        def cell(i, j):
            try:
                return statistics.median(float(r[i][j]) for r in runs)
            except ValueError:
                return runs[0][i][j]
        return [[cell(i, j) for j in range(len(row))] for i, row in enumerate(runs[0])]

    def cpu_run(self, item, cmd, env=None, ok=(0,)):
        """Runs cmd; returns (wall s, CPU s of the whole process tree:
        user + system time of every process waited for)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        _, wall = self.run(item, cmd, env, ok)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return wall, cpu

    def median_time(self, item, cmd, env=None, ok=(0,)):
        return statistics.median(self.run(item, cmd, env, ok)[1] for _ in range(self.runs))

    # ---- writing ----------------------------------------------------------

    def w(self, text=""):
        self.out.append(text)

    def table(self, header, rows):
        self.w("| " + " | ".join(header) + " |")
        self.w("|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.w("| " + " | ".join(str(c) for c in r) + " |")
        self.w()


def fmt(x, digits=1):
    return "n/a" if x is None else f"{x:.{digits}f}"


def met(value, target):
    return "met" if value <= target else "**missed**"


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus (nproc)": str(os.cpu_count()),
        "cpu model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def tool_version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def binding_available():
    if not os.path.exists(VENV_PY):
        return False
    p = subprocess.run([VENV_PY, "-c", "import leakgate"], capture_output=True)
    return p.returncode == 0


# ---- 1. hook cost -----------------------------------------------------------

def hook_cost(b):
    item = "1"
    live_sizes = [100, 1000] if b.small else [10000, 1000000]
    pairs = 2000 if b.small else 1000000
    slow_pairs = 500 if b.small else 20000  # under heaptrack and valgrind
    window = 100 if b.small else 65536  # cold frees: a FIFO of this many blocks
    fp = os.path.join(BENCH, "hook_cost")
    nofp = os.path.join(BENCH, "hook_cost_nofp")
    lg = {"LD_PRELOAD": LIB, "LEAKGATE_FRAMES": "16"}
    heaptrack_dir = os.path.join(BENCH, "heaptrack")
    os.makedirs(heaptrack_dir, exist_ok=True)
    have_heaptrack = tool_version(["heaptrack", "--version"]) is not None
    have_valgrind = tool_version(["valgrind", "--version"]) is not None

    def ns(cmd, env=None):
        """(wall, CPU of each thread) nanoseconds per pair, medians."""
        row = b.median_rows(item, cmd, env)[0]
        return float(row[3]), float(row[4])

    cases = [(live, threads, 0) for live in live_sizes for threads in (1, 2)]
    cases.append((live_sizes[-1], 1, window))
    results = []
    for live, threads, win in cases:
        args = [str(live), str(threads)]
        tail = [str(win)] if win else []
        r = {"live": live, "threads": threads, "window": win}
        r["plain"] = ns([fp] + args + [str(pairs)] + tail)
        r["plain_nofp"] = ns([nofp] + args + [str(pairs)] + tail)
        r["lg_fp"] = ns([fp] + args + [str(pairs)] + tail, dict(lg, LEAKGATE_UNWIND="fp"))
        r["lg_unw"] = ns([nofp] + args + [str(pairs)] + tail,
                         dict(lg, LEAKGATE_UNWIND="libunwind"))
        r["heaptrack"] = ns(["heaptrack", "-o", os.path.join(heaptrack_dir, "hook_cost"),
                             fp] + args + [str(slow_pairs)] + tail) if have_heaptrack else None
        r["memcheck"] = ns(["valgrind", "--tool=memcheck", "-q", "--num-callers=16",
                            "--leak-check=full", fp] + args + [str(slow_pairs)] + tail) \
            if have_valgrind else None
        results.append(r)

    b.w("## 1. Hook cost: added nanoseconds per malloc+free pair, 16-frame tracebacks")
    b.w()
    b.w(f"`hook_cost LIVE THREADS PAIRS [WINDOW]`: LIVE blocks stay allocated, then each "
        f"thread times PAIRS malloc+free pairs made 16 frames deep ({pairs} pairs natively, "
        f"{slow_pairs} under heaptrack and valgrind).  Hot: each block is freed at once.  "
        f"Cold (*FIFO* {window:,}): each pair frees the block allocated {window:,} pairs "
        f"before, so that the free meets a trace written long ago.  Figures are "
        f"nanoseconds of each thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which other "
        f"work on this shared machine does not stretch; wall time beside it in brackets.  "
        f"*Added* is the traced figure minus the untraced one of the same binary.  "
        f"leakgate fp: the frame-pointer build (`hook_cost`, LEAKGATE_UNWIND=fp); leakgate "
        f"libunwind: the build without frame pointers (`hook_cost_nofp`, "
        f"LEAKGATE_UNWIND=libunwind).  heaptrack and memcheck walk without frame pointers "
        f"too, so their ratio is to leakgate's libunwind figure; their figures are the "
        f"traced thread's only (heaptrack's interpreter works in another process).  With 2 "
        f"threads the figure is each thread's time per pair: both threads allocate at once, "
        f"from one call site.")
    b.w()
    rows = []

    def added(r, key, plain="plain"):
        return None if r[key] is None else (r[key][1] - r[plain][1], r[key][0] - r[plain][0])

    def cell(a):
        return "n/a" if a is None else f"{a[0]:.1f} ({a[1]:.0f})"

    for r in results:
        fp_add = added(r, "lg_fp")
        unw_add = added(r, "lg_unw", "plain_nofp")
        ht_add = added(r, "heaptrack")
        mc_add = added(r, "memcheck")
        r.update(fp_add=fp_add[0], unw_add=unw_add[0])
        cold = r["window"] > 0
        rows.append([f"{r['live']:,}", r["threads"], f"{r['window']:,}" if cold else "hot",
                     cell((r["plain"][1], r["plain"][0])), cell(fp_add),
                     met(fp_add[0], 150 if cold else 40) + (" (≤ 150)" if cold else ""),
                     cell(unw_add), "" if cold else met(unw_add[0], 100), cell(ht_add),
                     "n/a" if ht_add is None else f"{ht_add[0] / unw_add[0]:.1f}x",
                     cell(mc_add), "n/a" if mc_add is None else f"{mc_add[0] / unw_add[0]:.0f}x"])
    b.table(["live blocks", "threads", "frees", "untraced ns/pair", "leakgate fp added ns",
             "target ≤ 40", "leakgate libunwind added ns", "target ≤ 100",
             "heaptrack added ns", "heaptrack / leakgate libunwind", "memcheck added ns",
             "memcheck / leakgate libunwind"], rows)
    hot = [r for r in results if not r["window"]]
    pairs_of = [(one, two) for one in hot for two in hot
                if one["live"] == two["live"] and one["threads"] == 1 and two["threads"] == 2]
    b.w("Two threads allocating from one call site against one (leakgate fp, added CPU ns "
        "per pair and thread): " + "; ".join(
            f"{one['live']:,} live blocks {one['fp_add']:.1f} and {two['fp_add']:.1f} "
            f"({two['fp_add'] / one['fp_add']:.2f}x)" for one, two in pairs_of) +
        ".  Target: no worse per thread than one (within 10 %, this machine's noise): " +
        ("met" if all(two["fp_add"] <= one["fp_add"] * 1.1 for one, two in pairs_of)
         else "**missed**") + ".")
    b.w()
    return results


# ---- 2. per-test verdict cost -------------------------------------------------

def verdict_cost(b):
    item = "2"
    sizes = [100, 1000, 2000] if b.small else [10000, 100000, 1000000]
    env = {"LG_BENCH_SMALL": "1"} if b.small else {}
    lg = b.median_rows(item, [os.path.join(BENCH, "mark_diff")], env)
    tm_runs = "1" if b.small else "3"
    tm = b.rows(item, [sys.executable, "bench/tracemalloc_cost.py", "verdict", tm_runs]
                + [str(s) for s in sizes])
    b.w("## 2. Per-test verdict cost against heap size (100 allocations in the test)")
    b.w()
    b.w("leakgate: `lg_mark_begin` + `lg_mark_diff` + `lg_mark_free` "
        "(bench/mark_diff.c; the median of 21 tests in each run, then the median over "
        "the runs).  tracemalloc (16 frames): `take_snapshot()` before and after the "
        "test, then `compare_to(old, 'lineno')`, its cheapest grouping "
        f"(bench/tracemalloc_cost.py; median of {tm_runs} tests: it takes seconds).  "
        "Live blocks are 32-byte blocks (bytes objects for tracemalloc).")
    b.w()
    rows = []
    results = []
    for (l_row, t_row) in zip(lg, tm):
        l_ms, t_ms = float(l_row[3]), float(t_row[4])
        results.append((int(l_row[0]), l_ms, t_ms))
        rows.append([f"{int(l_row[0]):,}", f"{float(l_row[2]):.4f}", f"{l_ms:.4f}",
                     f"{float(t_row[2]):.1f}", f"{float(t_row[3]):.1f}", f"{t_ms:.1f}",
                     f"{t_ms / l_ms:,.0f}x"])
    b.table(["live blocks", "leakgate diff ms", "leakgate verdict ms",
             "tracemalloc snapshots ms", "tracemalloc compare_to ms",
             "tracemalloc verdict ms", "tracemalloc / leakgate"], rows)
    last = results[-1]
    b.w(f"Target ≤ 0.1 ms at 1,000,000 live blocks: leakgate {last[1]:.4f} ms, "
        f"{met(last[1], 0.1)}." if not b.small else "Target: not judged in a small run.")
    b.w()
    return results


# ---- 3. tracer memory -----------------------------------------------------------

def tracer_memory(b):
    item = "3"
    sizes = [100, 1000, 2000] if b.small else [10000, 100000, 1000000]
    env = {"LG_BENCH_SMALL": "1"} if b.small else {}
    lg = b.median_rows(item, [os.path.join(BENCH, "tracer_memory")], env)
    tm = b.rows(item, [sys.executable, "bench/tracemalloc_cost.py", "memory"]
                + [str(s) for s in sizes])
    b.w("## 3. Tracer memory per live traced block (16 frames)")
    b.w()
    b.w("leakgate: growth of `lg_get_tracer_memory()` / blocks (bench/tracer_memory.c); "
        "tracemalloc: growth of `get_tracemalloc_memory()` / blocks "
        "(bench/tracemalloc_cost.py).  *shared*: all blocks from one call site (one "
        "traceback); *distinct*: every block its own traceback (2^15 blocks through 15 "
        "levels of two call sites: the worst case).  The figure depends on how full the "
        "hash tables happen to be at that count.")
    b.w()
    rows = []
    results = []
    for l_row, t_row in zip(lg, tm):
        l_b, t_b = float(l_row[2]), float(t_row[2])
        shape = "shared" if int(l_row[1]) == 1 else "distinct"
        results.append((shape, int(l_row[0]), l_b, t_b))
        rows.append([shape, f"{int(l_row[0]):,}", f"{l_b:.1f}", f"{t_b:.1f}",
                     f"{l_b / t_b:.2f}", met(l_b, 32) if shape == "shared" else "(worst case)"])
    b.table(["tracebacks", "live blocks", "leakgate B/block", "tracemalloc B/block",
             "leakgate / tracemalloc", "target ≤ 32 B"], rows)
    return results


# ---- 4. Python loops ---------------------------------------------------------------

def python_loops(b, binding):
    item = "4"
    py = VENV_PY if binding else sys.executable
    scale = "1" if b.small else "60"
    b.w("## 4. Python allocation-heavy loops")
    b.w()
    b.w(f"`bench/python_loops.py TRACER FRAMES WORKLOAD {scale} [DEPTH]`: the loop's wall "
        "time untraced and under each tracer; slowdown = traced / untraced.  The loop runs "
        "3 Python frames deep, or DEPTH frames deeper (the *stack* column): 25 frames kept "
        "of a 3-deep stack are 3 frames, 30 kept of a 33-deep stack are 30.  Target: "
        "leakgate's slowdown at most half of tracemalloc's at the same frames.")
    b.w()
    rows, results = [], []
    for workload in ("dictstr", "smallobj"):
        def secs(tracer, nframes, depth):
            cmd = [py, "bench/python_loops.py", tracer, str(nframes), workload, scale]
            cmd += [str(depth)] if depth else []
            return statistics.median(float(b.run(item, cmd)[0].split()[3])
                                     for _ in range(b.runs))
        for nframes, depth in ((1, 0), (25, 0), (30, 30)):
            base = secs("none", 1, depth)
            tm = secs("tracemalloc", nframes, depth)
            tm_slow = tm / base
            if binding:
                lgs = secs("leakgate", nframes, depth) / base
                lg_cell, verdict = f"{lgs:.2f}x", met(lgs - 1, (tm_slow - 1) / 2)
                results.append((lgs, tm_slow))
            else:
                lg_cell, verdict = NOT_INSTALLED, "n/a"
            rows.append([workload, nframes, depth + 3, f"{base:.3f}", f"{tm_slow:.2f}x", lg_cell,
                         verdict])
    b.table(["workload", "frames", "stack", "untraced s", "tracemalloc slowdown",
             "leakgate slowdown", "target (≤ half of tracemalloc's added time)"], rows)
    return results


# ---- 5. whole suites -------------------------------------------------------------------

def criterion_suite(b):
    item = "5"
    have_valgrind = tool_version(["valgrind", "--version"]) is not None
    suite = [EXAMPLE, "--jobs=1"]
    # The example has three tests that leak on purpose: leakgate fails them.
    ways = [("plain", suite, (0,)), ("leakgate run", [CLI, "run", "--"] + suite, (0, 1))]
    if have_valgrind:
        ways.append(("valgrind memcheck", ["valgrind", "-q", "--leak-check=full"] + suite, (0,)))
    got = {name: [] for name, _, _ in ways}
    for _ in range(b.runs if b.small else max(b.runs, 3)):
        for name, cmd, ok in ways:
            got[name].append(b.cpu_run(item, cmd, ok=ok))
    med = {name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for name, v in got.items()}
    b.w("## 5. Whole suites")
    b.w()
    b.w("### Criterion: the example suite (examples/kvconf, 11 tests, one worker)")
    b.w()
    b.w("The suite has three tests that leak on purpose: under leakgate they fail, as they "
        "should, and their reports are symbolized (the C library's frames with its separate "
        "debug information, where installed).  Medians of alternating runs: wall time, and "
        "CPU time of the whole process tree (user + system).  Target for leakgate: within "
        "1.3x plain.")
    b.w()
    wall0, cpu0 = med["plain"]
    b.table(["run", "wall s", "CPU s", "CPU / plain"],
            [[name, f"{w:.3f}", f"{c:.3f}", "" if name == "plain" else f"{c / cpu0:.2f}x"]
             for name, (w, c) in med.items()])
    criterion_startup(b)
    return med


SUITE = os.path.join(BENCH, "criterion_suite")
SUITE_TESTS = 200


def criterion_startup(b):
    """The 200-test suite plain, under `leakgate run` and with the adapter
    linked, in turn, each b.runs times (at least 3): CPU time of the whole
    process tree (the runner and its 200 workers) and wall time."""
    item = "5"
    ways = [("plain", [SUITE, "--jobs=1"]),
            ("leakgate run", [CLI, "run", "--", SUITE, "--jobs=1"]),
            ("adapter linked", [SUITE + "_linked", "--jobs=1"]),
            ("leakgate run --repeat 2", [CLI, "run", "--repeat", "2", "--", SUITE, "--jobs=1"])]
    got = {name: [] for name, _ in ways}
    for _ in range(b.runs if b.small else max(b.runs, 3)):
        for name, cmd in ways:
            got[name].append(b.cpu_run(item, cmd))
    med = {name: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for name, v in got.items()}
    wall0, cpu0 = med["plain"]
    b.w(f"### Criterion: {SUITE_TESTS} tests that allocate a little each "
        "(bench/criterion_suite.c, one worker)")
    b.w()
    b.w("Each test runs in a new worker process, so what leakgate costs a worker before "
        "its test (loading, start-up allocations of Criterion itself) is paid per test.  "
        "CPU time is that of the whole process tree (user + system), medians; the "
        "added start-up per test is the CPU time added over the plain run divided by "
        f"{SUITE_TESTS}.  Target: within 1.3x plain, ≤ 1 ms added per test.  With "
        "`--repeat 2` each test runs three times in its worker (docs/criterion.md, "
        "Repeats): no target, its cost over `leakgate run` is what repeats add.")
    b.w()
    rows = []
    for name, _ in ways:
        wall, cpu = med[name]
        rows.append([name, f"{wall:.2f}", f"{cpu:.2f}", f"{cpu / cpu0:.2f}x",
                     "" if name == "plain" else f"{(cpu - cpu0) / SUITE_TESTS * 1000:.2f}",
                     "" if name == "plain" else "n/a" if "repeat" in name else
                     met(cpu / cpu0, 1.3) + " / " + met((cpu - cpu0) / SUITE_TESTS * 1000, 1)])
    b.table(["run", "wall s", "CPU s", "CPU / plain", "added ms per test", "target"], rows)
    return med


def memray_python(b):
    """A throwaway venv under build/ with pytest-memray; None if it cannot
    be made (no network) or in a small run."""
    py = os.path.join(MEMRAY_VENV, "bin", "python")
    check = [py, "-c", "import pytest_memray"]
    if os.path.exists(py) and subprocess.run(check, capture_output=True).returncode == 0:
        return py
    if b.small:
        return None
    try:
        subprocess.run([sys.executable, "-m", "venv", MEMRAY_VENV], check=True,
                       capture_output=True)
        subprocess.run([py, "-m", "pip", "install", "-q", "pytest", "pytest-memray"],
                       check=True, capture_output=True, timeout=900)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        sys.stderr.write(f"bench: cannot install pytest-memray: {e}\n")
        return None
    return py


def suite_times(b, item, cmd, env=None, ok=(0,)):
    """Median wall time and main-thread CPU time (bench/pytest_bench.py
    writes it) of cmd over b.runs runs, in seconds."""
    cpu_file = os.path.join(BENCH, "pysuite-cpu")
    walls, cpus = [], []
    for _ in range(b.runs):
        if os.path.exists(cpu_file):
            os.remove(cpu_file)
        env = dict(env or {}, BENCH_CPU_FILE=cpu_file, PYTHONPATH=os.path.join(ROOT, "bench"))
        walls.append(b.run(item, cmd, env, ok)[1])
        with open(cpu_file) as f:
            cpus.append(float(f.read()))
    return statistics.median(walls), statistics.median(cpus)


REAL_SUITE = ["--pyargs", "networkx.utils", "networkx.readwrite"]


def real_suite_python(b):
    """A venv under build/ with networkx 3.4.2, pytest-memray and leakgate's
    plugin from this checkout (made by bench/realsuite.py's venv()); None in
    a small run or when it cannot be made (no package index)."""
    if b.small:
        return None
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import realsuite
    try:
        return realsuite.venv(os.path.join("bench", "real-venv"),
                              ["networkx==3.4.2", "pytest-memray"])
    except (subprocess.CalledProcessError, OSError) as e:
        sys.stderr.write(f"bench: cannot make the real suite's venv: {e}\n")
        return None


def pytest_suite(b, binding):
    item = "5"
    b.w("### pytest: bench/pysuite (120 tests)")
    b.w()
    b.w("Median of the whole run: wall time, and the CPU time of pytest's main thread "
        "(time.thread_time() at the end, written by bench/pytest_bench.py: other work "
        "on the shared machine does not stretch it).  leakgate: `pytest --leaks` in .venv, "
        "C extensions traced in the process (imported-symbol tables patched, the default), "
        "Python allocations only (LEAKGATE_NATIVE=0), and under `leakgate run --` (the "
        "runtime preloaded: every malloc of the process traced).  pytest-memray: "
        "`pytest --memray` with `limit_leaks` put on every test by bench/pytest_bench.py "
        "(BENCH_LIMIT_LEAKS), in a venv under build/, without and with `--native` (its "
        "native tracking: it patches the same tables).  Each ratio is against the plain run "
        "of the same interpreter.")
    b.w()
    base = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_bench", "bench/pysuite"]
    rows = []

    def row(name, plain, checked):
        rows.append([name, f"{plain[0]:.3f}", f"{checked[0]:.3f}", f"{checked[0] / plain[0]:.2f}x",
                     f"{plain[1]:.3f}", f"{checked[1]:.3f}", f"{checked[1] / plain[1]:.2f}x"])

    if binding:
        plain = suite_times(b, item, [VENV_PY] + base)
        row("leakgate `--leaks`, C extensions traced in the process", plain,
            suite_times(b, item, [VENV_PY] + base + ["--leaks"]))
        row("leakgate `--leaks`, Python only (`LEAKGATE_NATIVE=0`)", plain,
            suite_times(b, item, [VENV_PY] + base + ["--leaks"], {"LEAKGATE_NATIVE": "0"}))
        row("`leakgate run -- pytest --leaks` (preloaded)", plain,
            suite_times(b, item, [CLI, "run", "--", VENV_PY] + base + ["--leaks"]))
    else:
        rows.append(["leakgate `--leaks`"] + ["n/a", NOT_INSTALLED] + ["n/a"] * 4)
    mpy = memray_python(b)
    if mpy:
        plain = suite_times(b, item, [mpy] + base)
        limit = {"BENCH_LIMIT_LEAKS": "1 MB"}
        row("pytest-memray `limit_leaks`", plain,
            suite_times(b, item, [mpy] + base + ["--memray"], limit))
        row("pytest-memray `limit_leaks`, `--native`", plain,
            suite_times(b, item, [mpy] + base + ["--memray", "--native"], limit))
    else:
        rows.append(["pytest-memray `limit_leaks`"] + ["n/a", "not installed"] + ["n/a"] * 4)
    header = ["checker", "plain wall s", "checked wall s", "ratio", "plain CPU s",
              "checked CPU s", "CPU ratio"]
    b.table(header, rows)

    b.w("**A real suite**: networkx 3.4.2's `networkx.utils` and `networkx.readwrite` (413 "
        "tests, pure Python), every checker in one venv under build/bench/real-venv "
        "(networkx and pytest-memray from the package index, leakgate's plugin from this "
        "checkout), so that every ratio is against the same plain run.  Tests that a "
        "checker fails still count in the time.")
    b.w()
    rows = []
    rpy = real_suite_python(b)
    if rpy:
        real = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_bench"] + REAL_SUITE
        either = (0, 1)  # a checker may fail tests
        plain = suite_times(b, item, [rpy] + real)
        row("leakgate `--leaks`", plain, suite_times(b, item, [rpy] + real + ["--leaks"],
                                                     ok=either))
        limit = {"BENCH_LIMIT_LEAKS": "1 MB"}
        row("pytest-memray `limit_leaks`", plain,
            suite_times(b, item, [rpy] + real + ["--memray"], limit, either))
        row("pytest-memray `limit_leaks`, `--native`", plain,
            suite_times(b, item, [rpy] + real + ["--memray", "--native"], limit, either))
    else:
        rows.append(["all"] + ["n/a", "not measured (small run or no package index)"] +
                    ["n/a"] * 4)
    b.table(header, rows)


def splice_criterion(path, body):
    """Replaces the Criterion half of item 5 (from its heading to the pytest
    section, and its commands), and the profiling notes, in the report at
    `path`, keeping the rest."""
    with open(path) as f:
        lines = f.read().split("\n")
    start = lines.index(body.out[0])
    stop = next(i for i in range(start + 1, len(lines))
                if lines[i].startswith("### pytest") or lines[i].startswith("## 6."))
    lines[start:stop] = body.out
    if "## What profiling showed" in lines and os.path.exists("bench/PROFILING.md"):
        at, end = lines.index("## What profiling showed"), lines.index("## Commands")
        with open("bench/PROFILING.md") as f:
            lines[at:end] = f.read().rstrip("\n").split("\n") + [""]
    ours = [i for i, l in enumerate(lines) if l.startswith("[5] ") and "bench/pysuite" not in l]
    keep = [l for i, l in enumerate(lines) if i not in ours]
    first = ours[0] if ours else len(keep) - 1 - keep[::-1].index("```")
    keep[first:first] = [f"[{it}] {line}" for it, line in body.commands]
    with open(path, "w") as f:
        f.write("\n".join(keep))


def splice_pytest(path, body):
    """Replaces the pytest half of item 5 (its ### section, and its commands)
    in the report at `path`, keeping the rest."""
    with open(path) as f:
        lines = f.read().split("\n")
    start = lines.index(body.out[0])
    stop = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(("## ", "### ")))
    lines[start:stop] = body.out
    keep = [l for l in lines if not (l.startswith("[5] ") and "bench/pysuite" in l)]
    close = len(keep) - 1 - keep[::-1].index("```")
    keep[close:close] = [f"[{it}] {line}" for it, line in body.commands]
    with open(path, "w") as f:
        f.write("\n".join(keep))


# ---- main ---------------------------------------------------------------------------------

# ---- 6. reachability scan ----------------------------------------------------

def scan_cost(b):
    item = "6"
    env = {"LG_BENCH_SMALL": "1"} if b.small else {}
    lg = b.median_rows(item, [os.path.join(BENCH, "scan_cost")], env)
    lsan_bin = os.path.join(BENCH, "scan_cost_lsan")
    lsan = b.median_rows(item, [lsan_bin], dict(env, ASAN_OPTIONS="detect_leaks=1")) \
        if os.path.exists(lsan_bin) else None
    b.w("## 6. Reachability scan (leak kinds) against heap size, beside LeakSanitizer")
    b.w()
    b.w("`scan_cost`: one `lg_scan_take()` (stop the other threads, copy and sort the "
        "traces, scan the roots, mark, classify), median of 7 scans in each run; "
        "`scan_cost_lsan`: the same program built with clang -fsanitize=address, timing "
        "`__lsan_do_recoverable_leak_check()` on the same heap (LeakSanitizer's exit "
        "check).  Live blocks are 32-byte blocks, each pointed to by a global array and "
        "by another block.  Wall-clock milliseconds; *cpu* is the scanning thread's CPU "
        "time (LeakSanitizer works in a task of its own, so only its wall time is "
        "comparable).")
    b.w()
    rows = []
    for i, row in enumerate(lg):
        other = float(lsan[i][1]) if lsan else None
        rows.append([f"{int(row[0]):,}", fmt(float(row[1]), 2), fmt(float(row[2]), 2),
                     fmt(other, 2), "n/a" if other is None else
                     f"{float(row[1]) / other:.2f}"])
    b.table(["live blocks", "leakgate scan ms", "leakgate scan cpu ms",
             "LeakSanitizer check ms", "leakgate / LeakSanitizer"], rows)
    return rows


def splice(path, body, commands):
    """Replaces the sections of `body` (and their items' commands) in the
    report at `path`, keeping the rest."""
    with open(path) as f:
        lines = f.read().split("\n")
    head = body.out[0]
    start = next((i for i, l in enumerate(lines) if l.split(".")[0] == head.split(".")[0]),
                 None)
    end_at = next(i for i, l in enumerate(lines)
                  if l in ("## What profiling showed", "## Commands"))
    if start is None:
        start = end_at
        stop = end_at
    else:
        stop = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    lines[start:stop] = body.out
    item = head.split(".")[0][3:]
    keep = [l for l in lines if not l.startswith(f"[{item}] ")]
    close = len(keep) - 1 - keep[::-1].index("```")
    keep[close:close] = [f"[{it}] {line}" for it, line in commands]
    with open(path, "w") as f:
        f.write("\n".join(keep))


def main(argv):
    small, runs = False, int(os.environ.get("BENCH_RUNS", "5"))
    out = "bench/RESULTS.md"
    only = None
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--small":
            small = True
        elif a == "--runs" and args:
            runs = int(args.pop(0))
        elif a == "--out" and args:
            out = args.pop(0)
        elif a == "--only" and args and args[0] in ("6", "pytest", "criterion"):
            only = args.pop(0)
        else:
            sys.exit("usage: run.py [--small] [--runs N] [--out PATH] [--only 6|pytest|criterion]")
    os.chdir(ROOT)
    targets = ["all", EXAMPLE, os.path.join(BENCH, "hook_cost_nofp")] + sorted(
        os.path.join(BENCH, f[:-2]) for f in os.listdir("bench") if f.endswith(".c"))
    if tool_version(["clang", "--version"]):
        targets.append(os.path.join(BENCH, "scan_cost_lsan"))
    subprocess.run(["make", "-s", f"BUILD={BUILD}"] + targets, check=True)
    if only == "6":
        part = Bench(small, runs)
        print("bench: 6. reachability scan", flush=True)
        scan_cost(part)
        splice(out, part, part.commands)
        print(f"bench: replaced item 6 in {out}")
        return
    if only == "criterion":
        part = Bench(small, runs)
        print("bench: 5. whole suites, Criterion", flush=True)
        criterion_suite(part)
        splice_criterion(out, part)
        print(f"bench: replaced the Criterion half of item 5 in {out}")
        return
    if only == "pytest":
        part = Bench(small, runs)
        print("bench: 5. whole suites, pytest", flush=True)
        pytest_suite(part, binding_available())
        splice_pytest(out, part)
        print(f"bench: replaced the pytest half of item 5 in {out}")
        return
    b = Bench(small, runs)
    binding = binding_available()
    m = machine()
    body = Bench(small, runs)  # collects the sections; header written last
    body.commands = b.commands
    print("bench: 1. hook cost", flush=True)
    hooks = hook_cost(body)
    print("bench: 2. verdict cost", flush=True)
    verdicts = verdict_cost(body)
    print("bench: 3. tracer memory", flush=True)
    memory = tracer_memory(body)
    print("bench: 4. Python loops", flush=True)
    loops = python_loops(body, binding)
    print("bench: 5. whole suites", flush=True)
    criterion_suite(body)
    pytest_suite(body, binding)
    print("bench: 6. reachability scan", flush=True)
    scans = scan_cost(body)

    b.w("# leakgate benchmarks")
    b.w()
    b.w("Written by `make bench` (bench/run.py)" + (" — a small smoke run: the figures "
        "mean nothing" if small else "") + f".  Every figure is the median of {b.runs} "
        "run(s) unless said otherwise; leakgate and each comparison are measured in the "
        "same run.")
    b.w()
    b.table(["machine", ""], [[k, v] for k, v in m.items()] +
            [["heaptrack", tool_version(["heaptrack", "--version"]) or "not installed"],
             ["valgrind", tool_version(["valgrind", "--version"]) or "not installed"],
             ["leakgate Python binding", "installed" if binding else "not installed"]])
    b.w("## Summary")
    b.w()
    def span(values, unit, digits=0):
        values = [v for v in values if v is not None]
        if not values:
            return "n/a"
        lo, hi = min(values), max(values)
        return f"+{lo:.{digits}f} to +{hi:.{digits}f} {unit}"

    def added(r, key, plain):
        return None if r[key] is None else r[key][1] - r[plain][1]

    shared = [r for r in memory if r[0] == "shared"]
    hot = [r for r in hooks if not r["window"]]
    cold = [r for r in hooks if r["window"]]
    b.w("Ranges are over the heap sizes and thread counts of item 1 (CPU time per thread) "
        "and the heap sizes of item 3.")
    b.w()
    b.table(["item", "leakgate", "comparison", "target", ""], [
        ["1. hook cost, frame pointers, hot", span([r["fp_add"] for r in hot], "ns"),
         "heaptrack " + span([added(r, "heaptrack", "plain") for r in hot], "ns"),
         "≤ 40 ns", met(max(r["fp_add"] for r in hot), 40)],
        ["1. hook cost, libunwind, hot", span([r["unw_add"] for r in hot], "ns"),
         "heaptrack " + span([added(r, "heaptrack", "plain") for r in hot], "ns") +
         ", valgrind memcheck " + span([added(r, "memcheck", "plain") for r in hot], "ns"),
         "≤ 100 ns", met(max(r["unw_add"] for r in hot), 100)],
        ["1. hook cost, frame pointers, cold frees", span([r["fp_add"] for r in cold], "ns"),
         "heaptrack " + span([added(r, "heaptrack", "plain") for r in cold], "ns"),
         "≤ 150 ns", met(max(r["fp_add"] for r in cold), 150)],
        [f"2. verdict at {verdicts[-1][0]:,} live blocks", f"{verdicts[-1][1]:.4f} ms",
         f"tracemalloc {verdicts[-1][2]:,.0f} ms", "≤ 0.1 ms", met(verdicts[-1][1], 0.1)],
        ["3. tracer memory per block, shared traceback",
         f"{min(r[2] for r in shared):.1f} to {max(r[2] for r in shared):.1f} B",
         f"tracemalloc {min(r[3] for r in shared):.1f} to {max(r[3] for r in shared):.1f} B",
         "≤ 32 B", met(max(r[2] for r in shared), 32)],
        ["4. Python loops, slowdown",
         f"{min(r[0] for r in loops):.2f}x to {max(r[0] for r in loops):.2f}x"
         if loops else NOT_INSTALLED,
         f"tracemalloc {min(r[1] for r in loops):.2f}x to {max(r[1] for r in loops):.2f}x"
         if loops else "tracemalloc (item 4)",
         "≤ half its added time",
         ("met" if all(lg - 1 <= (tm - 1) / 2 for lg, tm in loops) else "**missed**")
         if loops else "n/a"],
        [f"6. reachability scan at {scans[-1][0]} live blocks", f"{scans[-1][1]} ms",
         f"LeakSanitizer {scans[-1][3]} ms", "", ""],
    ])
    b.out.extend(body.out)
    if os.path.exists("bench/PROFILING.md"):
        with open("bench/PROFILING.md") as f:
            b.out.extend(f.read().rstrip("\n").split("\n"))
        b.w()
    b.w("## Commands")
    b.w()
    b.w("Run from the repository root, each as many times as said above:")
    b.w()
    b.w("```")
    for item, line in b.commands:
        b.w(f"[{item}] {line}")
    b.w("```")
    b.w()
    with open(out, "w") as f:
        f.write("\n".join(b.out))
    print(f"bench: wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
