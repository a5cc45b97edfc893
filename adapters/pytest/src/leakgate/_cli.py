"""The `leakgate` console script: runs the command built into this package
(leakgate/bin/leakgate), which preloads leakgate/lib/libleakgate.so, the
runtime this package's binding uses."""
import os
import sys
from pathlib import Path


def main():
    exe = Path(__file__).resolve().parent / "bin" / "leakgate"
    try:
        os.execv(exe, ["leakgate", *sys.argv[1:]])
    except OSError as exc:
        sys.exit(f"leakgate: cannot run {exe}: {exc.strerror}")
