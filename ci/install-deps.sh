#!/bin/sh
# Installs what building and testing leakgate needs, only what is missing:
# Debian packages with apt-get (as root, or through sudo).
set -eu
PKGS="make gcc pkg-config libunwind-dev libdw-dev libelf-dev libcriterion-dev
      clang libclang-rt-14-dev clang-format valgrind chromium
      perl python3-tap python3-yaml python3-more-itertools"
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
