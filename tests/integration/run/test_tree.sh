#!/bin/sh
# test_tree.sh — `leakgate run` follows the process tree: wrappers (make,
# sh -c, ctest, meson test) are not judged, the programs they start are
# (Criterion suites test by test, others when --children names them), one
# JSON report holds every verdict, and the exit status is CMD's, 23 on a
# leak, 24 when nothing could be judged.  Interpreters: one behaviour with
# and without the Python binding.  Exits 1 if any check failed.
. "$(dirname "$0")/../lib.sh"
skip_under_asan "libleakgate.so cannot be preloaded into other programs"
PROG=$BUILD/tests/run/prog_leaky
# run NAME EXPECTED_STATUS CMD...: output in $WORK/NAME.err (both streams)
run() {
    name=$1 want=$2
    shift 2
    env -u LEAKGATE_JSON -u LEAKGATE_ERROR_EXITCODE "$@" >"$WORK/$name.err" 2>&1
    rc=$?
    [ "$rc" = "$want" ] || fail "$name: exit status $rc, expected $want: $(tail -5 "$WORK/$name.err")"
}
expect() { # NAME PATTERN
    grep -Eq -- "$2" "$WORK/$1.err" || fail "$1: no line matching '$2': $(tail -8 "$WORK/$1.err")"
}
ids() { # JSON -> "id:outcome:size_diff" sorted, one per line
    python3 -c 'import json,sys
for t in sorted(json.load(open(sys.argv[1]))["tests"], key=lambda t: t["id"]):
    print("%s:%s:%s" % (t["id"], t["outcome"], t["size_diff"]))' "$1"
}

cd "$WORK" || exit 1
cp "$PROG" ./prog_leaky
cat >crit.c <<'C'
#include <criterion/criterion.h>
#include <stdlib.h>
Test(tree, leaks) { void *volatile p = malloc(77); (void)p; }
Test(tree, clean) { free(malloc(5)); }
C
cc -g -O0 crit.c -lcriterion -o crit_tests || { echo "FAIL: cannot build crit.c"; exit 1; }
printf 'test:\n\t./prog_leaky leak\n\t-./crit_tests\nclean:\n\t./prog_leaky clean\n' >Makefile

# make: the Criterion suite is judged test by test, prog_leaky is named as
# not judged; make's status (0: the suite's failure is ignored by '-').
run make_plain 23 "$LG" run --json make_plain.json -- make -s test
expect make_plain "leakgate: test tree::leaks leaked 77 B"
expect make_plain "not judged: make, prog_leaky \(judge programs with --children=GLOB\)"
[ "$(ids make_plain.json)" = "tree::clean:clean:0
tree::leaks:leaked:77" ] || fail "make_plain: JSON $(ids make_plain.json)"

# --children: prog_leaky judged too, one report; make not judged.
run make_children 23 "$LG" run --children='*/prog_leaky' --json make_children.json -- make -s test
expect make_children "^leakgate: test \./prog_leaky leak leaked 10\.2 KiB in 10 blocks"
[ "$(ids make_children.json)" = "./prog_leaky leak:leaked:10417
tree::clean:clean:0
tree::leaks:leaked:77" ] || fail "make_children: JSON $(ids make_children.json)"

# Nothing judged at all: not a pass.
run make_nothing 24 "$LG" run -- make -s clean
expect make_nothing "judged: 0 programs, 0 Criterion tests; not judged: make, prog_leaky"
# A clean judged program under a wrapper: a pass.
run make_clean 0 "$LG" run --children='*/prog_leaky' -- make -s clean

# sh -c, and a judged program that ends by _exit (no verdict: 24).
run sh_c 23 "$LG" run --children='*/prog_leaky' -- sh -c './prog_leaky leak; true'
expect sh_c "leaked 10\.2 KiB in 10 blocks"
run sh_exit 24 "$LG" run --children='*/prog_leaky' -- sh -c './prog_leaky _exit 0'
expect sh_exit "prog_leaky _exit 0 \(pid [0-9]+\) left no exit snapshot"
run bad_glob 2 "$LG" run --children= -- true
expect bad_glob "^leakgate: --children=: expected a glob"

# Program names are untrusted: the closing line and the no-snapshot line
# show an escape byte and a newline escaped (a wrapper reached through a
# directory named so, a program named so; a command line's newlines are
# spaces).
esc=$(printf '\033')
evil="evil${esc}[31m
x"
mkdir "d$esc" && ln -s "$(command -v sh)" "d$esc/sh" && cp prog_leaky "$evil" ||
    fail "cannot make the oddly named programs"
run names 24 "$LG" run -- "./d$esc/sh" -c "./'$evil' clean"
expect names '^leakgate: judged: 0 programs, 0 Criterion tests; not judged: \./d\\x1b/sh, evil\\x1b\[31m\\nx \(judge'
run names_exit 24 "$LG" run --children='*/evil*' -- sh -c "./'$evil' _exit 0"
expect names_exit '^leakgate: \./evil\\x1b\[31m x _exit 0 \(pid [0-9]+\) left no exit snapshot'
if grep -q "$esc" "$WORK/names.err" "$WORK/names_exit.err"; then
    fail "names: an escape byte reached the terminal"
fi

# ctest and meson test run prog_leaky as a test.
cat >CMakeLists.txt <<M
cmake_minimum_required(VERSION 3.13)
project(t NONE)
enable_testing()
add_test(NAME leaky COMMAND $WORK/prog_leaky leak)
M
cat >meson.build <<M
project('t')
test('leaky', find_program('$WORK/prog_leaky'), args: ['leak'])
M
if cmake -S . -B cb >cmake.log 2>&1; then
    run ctest 23 "$LG" run --children='*/prog_leaky' -- ctest --test-dir cb
    expect ctest "leaked 10\.2 KiB in 10 blocks"
else
    fail "cmake: $(tail -3 cmake.log)"
fi
if meson setup mb >meson.log 2>&1; then
    run meson_test 23 "$LG" run --children='*/prog_leaky' -- meson test -C mb
    expect meson_test "leaked 10\.2 KiB in 10 blocks"
else
    fail "meson: $(tail -3 meson.log)"
fi

# An interpreter: the same behaviour with and without the binding (the
# virtual environment's python has it installed, the system's does not).
VPY=$ROOT/.venv/bin/python
for py in /usr/bin/python3 "$VPY"; do
    [ -x "$py" ] || { fail "no $py"; continue; }
    run python 0 "$LG" run -- "$py" -c 'import sys'
    expect python "judged: 0 programs, 0 Criterion tests; not judged: .*python.* \(an interpreter"
    if grep -q "leaked" "$WORK/python.err"; then fail "python ($py): a verdict on the interpreter"; fi
done
# Every leakgate/1 report written here follows docs/schema/.
"$VENV/bin/python" "$ROOT/tests/check_schemas.py" --min 2 "$WORK" ||
    fail "documents that do not follow docs/schema/ (above)"
finish
