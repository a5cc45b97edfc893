"""Builds leakgate's Python distribution: the binding (leakgate._leakgate),
the runtime library it uses, and the `leakgate` command.

The C runtime is built by the project's Makefile, from runtime/ and plugin/
beside this file in an sdist (`make dist` puts them there) or two levels up
in a checkout, into the package:

    leakgate/lib/libleakgate.so   the runtime with its malloc hooks: what the
                                  binding links (run path $ORIGIN/lib) and
                                  what `leakgate run` preloads (one file)
    leakgate/bin/leakgate         the command, started by the `leakgate`
                                  console script (leakgate/_cli.py)

The C libraries it needs are looked up with pkg-config first, so that a
missing one is named with the Debian package that provides it.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
ROOT = HERE if (HERE / "runtime").is_dir() else HERE.parent.parent
C_DEPS = (("libdw", "libdw-dev"), ("libelf", "libelf-dev"), ("libunwind", "libunwind-dev"))
PTH = ("import os; (os.environ.get('LEAKGATE_PYTHON') or os.environ.get('LEAKGATE_RUN_PID'))"
       " and __import__('leakgate._startup')\n")


def version():
    header = ROOT / "runtime" / "include" / "leakgate" / "runtime.h"
    try:
        return re.search(r'#define LG_VERSION "([^"]+)"', header.read_text()).group(1)
    except (OSError, AttributeError):
        raise SystemExit(f"leakgate: no runtime sources under {ROOT} (runtime/include/leakgate/"
                         "runtime.h): build from an sdist (make dist) or from a checkout") from None


def check_tools():
    """Names every missing tool or C library with its Debian package."""
    missing = [(tool, deb) for tool, deb in (("make", "make"), ("cc", "gcc"),
                                             ("pkg-config", "pkg-config"))
               if not shutil.which(tool)]
    if not missing:
        missing = [(lib, deb) for lib, deb in C_DEPS
                   if subprocess.run(["pkg-config", "--exists", lib]).returncode != 0]
    if missing:
        raise SystemExit("leakgate: cannot build: not found: " +
                         ", ".join(f"{name} (Debian package {deb})" for name, deb in missing) +
                         "; apt-get install " + " ".join(deb for _, deb in missing))


class BuildExt(build_ext):
    def build_extensions(self):
        check_tools()
        out = Path(self.build_temp).resolve() / "runtime"
        lib, cli = out / "lib" / "libleakgate.so", out / "bin" / "leakgate"
        subprocess.run(["make", "-C", str(ROOT), f"BUILD={out}", str(lib), str(cli)], check=True)
        pkg = Path(self.build_lib) / "leakgate"
        for src, dst in ((lib, pkg / "lib"), (cli, pkg / "bin")):
            dst.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        for ext in self.extensions:
            incs = [ROOT / "runtime/include", ROOT / "plugin/include"]
            # The extension is rebuilt when a public header changes (the
            # layout of lg_result_t, say), not only when its own source does.
            ext.depends += [str(h) for d in incs for h in sorted(d.glob("leakgate/*.h"))]
            ext.include_dirs += [str(d) for d in incs]
            ext.extra_compile_args += ["-std=gnu11", "-fvisibility=hidden"]
            ext.extra_link_args += [f"-L{pkg / 'lib'}", "-l:libleakgate.so",
                                    "-Wl,-rpath,$ORIGIN/lib"]
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
    version=version(),
    ext_modules=[Extension("leakgate._leakgate", ["src/leakgate/_leakgate.c"],
                           depends=["src/leakgate/compat.h"])],
    cmdclass={"build_ext": BuildExt, "build_py": BuildPy},
)
