"""Builds leakgate's Python binding.

The runtime and plugin C sources (../../runtime, ../../plugin) are compiled
into ``leakgate/libleakgate.so`` beside the extension, which loads it through
its run path.  The library keeps the name (soname) of the one ``make``
builds, so when that one is preloaded (``leakgate run -- python ...``) the
dynamic loader gives the extension the preloaded library: one runtime, one
trace table for Python and C allocations.  The malloc hooks themselves are
left out of the packaged copy: without the preload, only the Python domain
is traced.
"""
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
INCLUDES = [str(ROOT / d) for d in ("runtime/include", "plugin/include", "runtime", "plugin")]
CFLAGS = ["-std=gnu11", "-O2", "-g", "-fno-omit-frame-pointer", "-fvisibility=hidden"]
PTH = ("import os; (os.environ.get('LEAKGATE_PYTHON') or os.environ.get('LEAKGATE_RUN_PID'))"
       " and __import__('leakgate._startup')\n")


def runtime_sources():
    srcs = sorted((ROOT / "runtime").glob("*.c")) + sorted((ROOT / "plugin").glob("*.c"))
    return [str(p) for p in srcs if not p.name.startswith("hooks")]


class BuildExt(build_ext):
    def build_extensions(self):
        if not (ROOT / "runtime" / "include" / "leakgate" / "runtime.h").exists():
            raise SystemExit(f"leakgate: the runtime sources are missing under {ROOT}; "
                             "install from a checkout: pip install ./adapters/pytest")
        libdir = Path(self.build_lib) / "leakgate"
        libdir.mkdir(parents=True, exist_ok=True)
        objs = self.compiler.compile(
            runtime_sources(), output_dir=self.build_temp,
            macros=[("_GNU_SOURCE", None), ("LG_BUILDING_LIBRARY", None)],
            include_dirs=INCLUDES, extra_postargs=CFLAGS + ["-fPIC"])
        self.compiler.link_shared_object(
            objs, str(libdir / "libleakgate.so"),
            libraries=["dw", "elf", "unwind", "dl", "pthread"],
            extra_postargs=["-Wl,-soname,libleakgate.so"])
        for ext in self.extensions:
            ext.include_dirs += INCLUDES[:2]
            ext.extra_compile_args += ["-std=gnu11", "-fvisibility=hidden"]
            ext.extra_link_args += [f"-L{libdir}", "-l:libleakgate.so", "-Wl,-rpath,$ORIGIN"]
        super().build_extensions()


class BuildPy(build_py):
    """Adds leakgate.pth: LEAKGATE_PYTHON=N starts tracing at start-up, and
    a process run by `leakgate run` gets Python frames in its tracebacks."""

    def run(self):
        super().run()
        Path(self.build_lib, "leakgate.pth").write_text(PTH)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, "leakgate.pth")]


setup(
    ext_modules=[Extension("leakgate._leakgate", ["src/leakgate/_leakgate.c"])],
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
)
