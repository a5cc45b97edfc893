"""The tracemalloc side of benchmarks 2 and 3, with the same shapes of heap
as bench/mark_diff.c and bench/tracer_memory.c.

    tracemalloc_cost.py verdict RUNS N...   per-test verdict cost
    tracemalloc_cost.py memory N...         tracer memory per live block

verdict: with N live traced blocks (bytes objects of 32 bytes), a test
takes a snapshot, makes 100 allocations, takes a snapshot and calls
compare_to(old, "lineno"); prints the medians over RUNS runs of each
part and of the whole, in milliseconds.

memory: tracemalloc.get_tracemalloc_memory() growth divided by the number
of blocks, for N blocks allocated on one line (one traceback shared by all)
and for 2**15 blocks reached through 15 levels of two call sites each (every
block its own traceback).

Tracing uses 16 frames, like the native benchmarks.
"""

import statistics
import sys
import time
import tracemalloc

NFRAMES = 16
LEVELS = 15


def verdict(runs, sizes):
    print(f"{'live_blocks':<12} {'new':<6} {'snapshot_ms':<12} {'compare_ms':<11} verdict_ms")
    tracemalloc.start(NFRAMES)
    for n in sizes:
        heap = [bytes(32) for _ in range(n)]
        snap_ms, cmp_ms, whole_ms = [], [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            old = tracemalloc.take_snapshot()
            t1 = time.perf_counter()
            fresh = [bytes(24) for _ in range(100)]
            t2 = time.perf_counter()
            new = tracemalloc.take_snapshot()
            t3 = time.perf_counter()
            stats = new.compare_to(old, "lineno")
            t4 = time.perf_counter()
            if not stats:
                sys.exit("tracemalloc_cost: compare_to found nothing")
            snap_ms.append((t1 - t0 + t3 - t2) * 1e3)
            cmp_ms.append((t4 - t3) * 1e3)
            whole_ms.append((t1 - t0 + t4 - t2) * 1e3)
            del old, new, stats, fresh
        print(f"{n:<12} {100:<6} {statistics.median(snap_ms):<12.3f} "
              f"{statistics.median(cmp_ms):<11.3f} {statistics.median(whole_ms):.3f}",
              flush=True)
        del heap
    tracemalloc.stop()


def branch(level, path):
    """Allocates through one of two call sites per level (two lines)."""
    if level == 0:
        return bytes(32)
    if (path >> (level - 1)) & 1:
        return branch(level - 1, path)
    return branch(level - 1, path)


def memory(sizes):
    print(f"{'live_blocks':<12} {'tracebacks':<11} bytes_per_block")
    tracemalloc.start(NFRAMES)
    cases = [(n, False) for n in sizes] + [(2 ** LEVELS, True)]
    for n, distinct in cases:
        tracemalloc.clear_traces()
        heap = [None] * n
        before = tracemalloc.get_tracemalloc_memory()
        if distinct:
            for i in range(n):
                heap[i] = branch(LEVELS, i)
        else:
            for i in range(n):
                heap[i] = bytes(32)
        after = tracemalloc.get_tracemalloc_memory()
        tracebacks = n if distinct else 1
        print(f"{n:<12} {tracebacks:<11} {(after - before) / n:.1f}", flush=True)
        del heap
    tracemalloc.stop()


def main(argv):
    if len(argv) >= 3 and argv[1] == "verdict":
        verdict(int(argv[2]), [int(a) for a in argv[3:]])
    elif len(argv) >= 3 and argv[1] == "memory":
        memory([int(a) for a in argv[2:]])
    else:
        sys.exit("usage: tracemalloc_cost.py verdict RUNS N... | memory N...")


if __name__ == "__main__":
    main(sys.argv)
