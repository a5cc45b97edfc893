"""Python allocation-heavy loops, untraced or under a tracer (benchmark 4).

    python_loops.py TRACER NFRAMES WORKLOAD [SCALE [DEPTH]]

TRACER is `none`, `tracemalloc` (the standard library) or `leakgate` (the
leakgate Python binding, which mirrors tracemalloc's API); the tracer is
started with NFRAMES frames before the loop and stopped after it.
WORKLOAD is `dictstr` (dicts keyed by formatted strings, lists, joins) or
`smallobj` (many small objects: tuples, instances, floats, big ints).
SCALE is the number of rounds of the loop (default 20).  DEPTH (default 0)
runs the loop that many Python frames deeper than the script's own 3, so
that a tracer keeping NFRAMES frames has that many to walk.  Prints one row:
tracer nframes workload seconds, the loop's wall time.
"""

import importlib
import sys
import time


def dictstr(scale):
    total = 0
    for rep in range(scale):
        table = {}
        for i in range(5000):
            key = f"key-{rep}-{i}"
            table[key] = [key.upper(), str(i), key[::-1]]
        words = [v[1] for v in table.values() if len(v[0]) % 2 == 0]
        total += len(" ".join(words))
    return total


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


def smallobj(scale):
    total = 0
    for rep in range(scale):
        points = [Point(i * 0.5, (i << 70) + rep) for i in range(5000)]
        pairs = [(p.x, p.y, rep) for p in points]
        total += len(pairs) + sum(1 for p in points if p.x > 10.0)
    return total


WORKLOADS = {"dictstr": dictstr, "smallobj": smallobj}


def at_depth(depth, fn, *args):
    """fn(*args), called `depth` frames below this one."""
    if depth == 0:
        return fn(*args)
    result = at_depth(depth - 1, fn, *args)
    return result


def main(argv):
    if len(argv) not in (4, 5, 6) or argv[3] not in WORKLOADS or \
            argv[1] not in ("none", "tracemalloc", "leakgate"):
        sys.exit("usage: python_loops.py none|tracemalloc|leakgate NFRAMES "
                 "dictstr|smallobj [SCALE [DEPTH]]")
    tracer_name, nframes, workload = argv[1], int(argv[2]), argv[3]
    scale = int(argv[4]) if len(argv) >= 5 else 20
    depth = int(argv[5]) if len(argv) == 6 else 0
    tracer = None if tracer_name == "none" else importlib.import_module(tracer_name)
    WORKLOADS[workload](1)  # warms up outside the timed loop
    if tracer:
        tracer.start(nframes)
    t0 = time.perf_counter()
    at_depth(depth, WORKLOADS[workload], scale)
    elapsed = time.perf_counter() - t0
    if tracer:
        tracer.stop()
    print(f"{tracer_name} {nframes} {workload} {elapsed:.4f}")


if __name__ == "__main__":
    main(sys.argv)
