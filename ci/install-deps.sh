#!/bin/sh
# Installs what building and testing leakgate needs, only what is missing:
# Debian packages with apt-get (as root, or through sudo).
set -eu
PKGS="make gcc pkg-config libunwind-dev libdw-dev libelf-dev libcriterion-dev
      clang libclang-rt-14-dev clang-format valgrind chromium libxml2-dev libssl-dev
      perl python3-tap python3-yaml python3-more-itertools libcmocka-dev
      meson cmake ninja-build libjemalloc2"
# Other allocators first in LD_PRELOAD (tests): gperftools' minimal tcmalloc
# is libtcmalloc-minimal4 on Debian 12, libtcmalloc-minimal4t64 on Debian 13.
if apt-cache show libtcmalloc-minimal4t64 >/dev/null 2>&1; then
    PKGS="$PKGS libtcmalloc-minimal4t64"
else
    PKGS="$PKGS libtcmalloc-minimal4"
fi
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "leakgate: installing:$missing"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# Python: a virtual environment in .venv (VENV overrides) with the test
# tools; `make` installs leakgate's own package into it.
VENV=${VENV:-.venv}
if ! python3 -c 'import ensurepip, sysconfig, os, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' 2>/dev/null
then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "leakgate: installing: python3-venv python3-dev"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        python3-venv python3-dev
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# check-jsonschema: validates the reports against docs/schema/ (its
# jsonschema module) and the CI configurations in ci/ against the GitHub
# and GitLab schemas it ships.
PYPKGS="setuptools wheel pytest pytest-xdist pytest-asyncio pytest-timeout tap.py[yaml] check-jsonschema markdown-it-py"
"$VENV/bin/python" -c 'import setuptools, wheel, pytest, xdist, pytest_asyncio, pytest_timeout, tap, yaml, check_jsonschema, markdown_it' 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check $PYPKGS
