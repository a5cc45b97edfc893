"""Shared helpers of the Python tests: where the build is, and a C extension
that leaks on request."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import check_schemas  # noqa: E402  (tests/check_schemas.py)
BUILD = Path(os.environ.get("LEAKGATE_BUILD", ROOT / "build"))
if not BUILD.is_absolute():
    BUILD = ROOT / BUILD
LEAKGATE = BUILD / "bin" / "leakgate"


@pytest.fixture(scope="session")
def leaky_ext(tmp_path_factory):
    """The directory holding the compiled leaky_ext module."""
    out = tmp_path_factory.mktemp("ext")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    subprocess.run(["cc", "-shared", "-fPIC", "-O0", "-g", "-fno-omit-frame-pointer",
                    f"-I{sysconfig.get_paths()['include']}",
                    str(ROOT / "tests/python/data/leaky_ext.c"),
                    "-o", str(out / f"leaky_ext{suffix}")], check=True)
    return out


def run_python(code, *, under_leakgate=False, env=None, cwd=None, timeout=120):
    """Runs `python -c code` (under `leakgate run --` if asked)."""
    cmd = [sys.executable, "-c", code]
    if under_leakgate:
        cmd = [str(LEAKGATE), "run", "--"] + cmd
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=timeout)


@pytest.fixture(autouse=True)
def reports_follow_the_schemas(request):
    """After a test that ran pytest in a pytester directory: every
    leakgate/1 report and baseline written there follows docs/schema/."""
    if "pytester" not in request.fixturenames:
        yield
        return
    path = request.getfixturevalue("pytester").path
    yield
    _, errors = check_schemas.check_paths([path])
    assert not errors, "\n".join(errors)
