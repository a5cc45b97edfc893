"""Every command shown in README.md and docs/*.md runs, as shown.

The fenced blocks of each Markdown file are taken in order; the info string
(the words after the opening ```) says what the test does with a block:

  ```sh                 run with `sh -e` in a scratch checkout; it must exit 0
  ```sh exit=N          ... it must exit N (with -e, the last command's status)
  ```sh checkout        run in the checkout itself (for `make` targets)
  ```sh ci              not run here: CI's own command, so it must be a line
                        of .ci/run, which CI runs on a fresh clone
  ```output             the output of the sh block before it: every line must
                        appear in that block's stdout or stderr (below)
  ```LANG file=PATH     written to PATH in the scratch checkout before the
                        next sh block runs (a C file, a test, a config)

Any other block (```text, ```json, ```python, ```c, ```yaml) is an
illustration and is not run; a command a reader is meant to type goes into
an sh block.  Output lines are compared after normalising both sides:
hexadecimal numbers (offsets) and times in seconds match any value, runs of
blanks are one space, rules of _, = or - any width, and "..." inside a line matches any text; a line that
is only "..." is skipped.

The scratch checkout is what the docs assume, a checkout after `make demo`
and `make install`: a copy of examples/, links to adapters/, ci/ and docs/
(not tests/: a documented `pytest` must not collect this file), build/bin
and build/lib of this build, build/examples/test_kvconf and the wordstats
extension compiled as `make demo` does, the same Criterion suite as
`./tests` (the name the docs give "your suite"), a `make install` prefix on
PKG_CONFIG_PATH, build/bin and the Python environment first on PATH, and
no LEAKGATE_* or PYTEST_* variables.  The blocks of one file share it, in
order; each file gets its own.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

from conftest import BUILD, ROOT

DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
LINKED = ["adapters", "ci", "docs"]
FENCE = re.compile(r"^(`{3,})(.*)$")


class Block:
    def __init__(self, path, line, info, text):
        self.path, self.line, self.text = path, line, text
        words = info.split()
        self.lang = words[0] if words else ""
        self.attrs = dict(w.split("=", 1) if "=" in w else (w, "") for w in words[1:])

    def where(self):
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path):
    """The fenced blocks of a Markdown file, in order."""
    out, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].startswith(m.group(1)):
            body.append(lines[i])
            i += 1
        out.append(Block(path, start, m.group(2).strip(), "\n".join(body) + "\n"))
        i += 1
    return out


def normalise(line):
    line = re.sub(r"0x[0-9a-fA-F]+", "0x?", line)
    line = re.sub(r"\b\d+\.\d+ ?s\b", "?s", line)
    line = re.sub(r"([_=-])\1{3,}", r"\1\1\1", line)  # rules as wide as the terminal
    return " ".join(line.split())


def missing_lines(shown, output):
    """The shown lines that do not appear in output."""
    got = [normalise(ln) for ln in output.splitlines()]
    missing = []
    for want in shown.splitlines():
        want = normalise(want)
        if not want or want == "...":
            continue
        if "..." in want:
            pattern = re.compile(".*".join(re.escape(p) for p in want.split("...")))
            found = any(pattern.fullmatch(g) for g in got)
        else:
            found = want in got
        if not found:
            missing.append(want)
    return missing


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    """A scratch checkout to copy: see the module's docstring."""
    top = tmp_path_factory.mktemp("docs")
    co = top / "checkout"
    co.mkdir()
    shutil.copytree(ROOT / "examples", co / "examples")
    for name in LINKED:
        (co / name).symlink_to(ROOT / name)
    (co / "build").mkdir()
    for name in ("bin", "lib"):
        (co / "build" / name).symlink_to(BUILD / name)
    ex = co / "build" / "examples"
    (ex / "wordstats").mkdir(parents=True)
    cc = ["cc", "-std=gnu11", "-g", "-O0", "-fno-omit-frame-pointer"]
    subprocess.run(cc + ["-Iexamples/kvconf", "examples/kvconf/kvconf.c",
                         "examples/kvconf/tests/test_kvconf.c", "-lcriterion",
                         "-o", "build/examples/test_kvconf"], cwd=co, check=True)
    shutil.copy(ex / "test_kvconf", co / "tests")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    subprocess.run(cc + ["-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}",
                         "examples/wordstats/_fastcount.c",
                         "-o", f"build/examples/wordstats/_fastcount{suffix}"],
                   cwd=co, check=True)
    prefix = top / "usr"
    subprocess.run(["make", "-s", "install", f"BUILD={BUILD}", f"PREFIX={prefix}"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    # CI and BUILD_NUMBER make pytest print whole failure messages in its
    # summary; the docs show what a terminal shows.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LEAKGATE_", "PYTEST_", "MAKE", "MFLAGS"))
           and k not in ("CI", "BUILD_NUMBER")}
    env["PATH"] = os.pathsep.join([str(co / "build/bin"), str(Path(sys.executable).parent),
                                   env.get("PATH", "")])
    env["PKG_CONFIG_PATH"] = str(prefix / "lib/pkgconfig")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return co, env


def ci_commands():
    lines = (ROOT / ".ci/run").read_text().splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}


def strip_comment(line):
    """The command of a shell line without its trailing comment."""
    return " ".join(shlex.split(line, comments=True))


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_run_as_shown(path, template, tmp_path):
    co, env = template
    scratch = tmp_path / "checkout"
    shutil.copytree(co, scratch, symlinks=True)
    last = None  # (block, output) of the last sh block run
    failures, ran = [], 0
    for b in blocks(path):
        if "file" in b.attrs:
            dest = scratch / b.attrs["file"]
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(b.text)
        elif b.lang == "output":
            if last is None:
                failures.append(f"{b.where()}: an output block without an sh block before it")
                continue
            for want in missing_lines(b.text, last[1]):
                failures.append(f"{b.where()}: not in the output of {last[0].where()}: {want!r}")
        elif b.lang == "sh" and "ci" in b.attrs:
            for ln in b.text.splitlines():
                if strip_comment(ln) and strip_comment(ln) not in ci_commands():
                    failures.append(f"{b.where()}: {strip_comment(ln)!r} is not in .ci/run")
        elif b.lang == "sh":
            ran += 1
            t0 = time.monotonic()
            cwd = ROOT if "checkout" in b.attrs else scratch
            p = subprocess.run(["sh", "-e", "-c", b.text], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
            want = int(b.attrs.get("exit") or 0)
            if p.returncode != want:
                tail = "\n    ".join(p.stdout.splitlines()[-15:])
                failures.append(f"{b.where()}: exit status {p.returncode}, documented {want}:"
                                f"\n    {tail}")
            last = (b, p.stdout)
            print(f"{b.where()}: exit {p.returncode} in {time.monotonic() - t0:.1f} s")
        elif b.lang in ("sh", "shell", "bash", "console"):
            failures.append(f"{b.where()}: a {b.lang!r} block: use sh (run) or text (shown)")
    print(f"{path.name}: {ran} sh blocks run")
    assert not failures, "\n".join(failures)


def test_reader_finds_blocks_and_missing_output():
    """The parser and the output check themselves: a failure must show."""
    doc = ROOT / "README.md"
    assert any(b.lang == "sh" for b in blocks(doc))
    assert missing_lines("a  b (x+0x12)\n...\nc ... e\n", "a b (x+0xff)\nc d e\n") == []
    assert missing_lines("took 0.05s\n", "took 1.20s\n") == []
    assert missing_lines("a b\nz\n", "a b\n") == ["z"]
    assert missing_lines("c ... e\n", "c d f\n") == ["c ... e"]


def test_every_setting_is_in_the_reference():
    """Each LEAKGATE_* name the sources read or set is in docs/reference.md."""
    names = set()
    for top in ("runtime", "plugin", "adapters"):
        for src in (ROOT / top).rglob("*"):
            if src.suffix in (".c", ".h", ".py") and "build" not in src.parts:
                names |= set(re.findall(r"[\"'](LEAKGATE_[A-Z_]+)", src.read_text(errors="replace")))
    assert "LEAKGATE_FRAMES" in names
    reference = (ROOT / "docs/reference.md").read_text()
    missing = sorted(n for n in names if f"`{n}" not in reference)
    assert not missing, f"not in docs/reference.md: {missing}"
