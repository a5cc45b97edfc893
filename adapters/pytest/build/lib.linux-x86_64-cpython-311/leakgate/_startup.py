"""Run at interpreter start-up by leakgate.pth, only when LEAKGATE_PYTHON or
LEAKGATE_RUN_PID is set.

LEAKGATE_PYTHON=N starts tracing with N frames, as PYTHONTRACEMALLOC=N does
for tracemalloc (0 or empty: off).  Importing leakgate is enough for a
process run by ``leakgate run``: C-heap tracebacks then get Python frames.
"""
import os
import sys


def _start_from_env():
    value = os.environ.get("LEAKGATE_PYTHON", "").strip()
    if not value:
        return
    import leakgate

    try:
        nframe = int(value)
        if not 0 <= nframe <= leakgate.MAX_NFRAME:
            raise ValueError
    except ValueError:
        sys.stderr.write(f"leakgate: LEAKGATE_PYTHON={value}: expected an integer from 0 to "
                         f"{leakgate.MAX_NFRAME} (frames per traceback); not tracing\n")
        return
    if nframe:
        leakgate.start(nframe)


try:
    import leakgate  # noqa: F401  (registers Python frames with the runtime)

    _start_from_env()
except ImportError:
    pass
