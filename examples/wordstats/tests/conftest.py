import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
# `make demo` builds the C extension into build/examples/wordstats.
sys.path.insert(0, os.environ.get("WORDSTATS_EXT", str(HERE.parents[2] / "build/examples/wordstats")))
