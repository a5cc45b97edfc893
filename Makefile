# leakgate — the one entry point for building, testing and installing.
# `make help` lists the targets.  Quiet unless V=1.
#
# One section per layer, in the order data flows (DESIGN.md):
#   runtime    runtime/            mechanism: hooks, traces, marks, snapshots
#   plugin     plugin/*.c          policy inside the traced process
#              -> libleakgate.so (preloaded), libleakgate.a, libleakgate-core.a
#   gate       plugin/gate/        the CI gate, its renderers, the JSON parse
#              -> libleakgate-gate.a, linked into the command only
#   cli        plugin/cli/         -> bin/leakgate
#   adapters   criterion, tap, pytest (the Python package), examples
#   tests, bench, sanitizers and fuzz, install, housekeeping

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
CLANG   ?= clang
SAN     ?=

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wundef
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
BASE    := -std=gnu11 -fno-omit-frame-pointer -D_GNU_SOURCE $(WARN) -MMD -MP
INC     := -Iruntime/include -Iplugin/include -Iruntime -Iplugin
UNWIND_CFLAGS := $(shell pkg-config --cflags libunwind 2>/dev/null)
# libleakgate.so opens libdw (and with it libelf) when it first symbolizes
# (runtime/symbolize.c): a traced process that never does does not load
# them.  What links the archive links them as well.
SO_LIBS := -lunwind -ldl -lpthread
LIBS    := -ldw -lelf $(SO_LIBS)

ifeq ($(SAN),address)
  BASE += -fsanitize=address -DLG_NO_INTERPOSE
  LDSAN := -fsanitize=address
endif
ifeq ($(SAN),undefined)
  BASE += -fsanitize=undefined -fno-sanitize-recover=all
  LDSAN := -fsanitize=undefined
endif

ifeq ($(V),1)
  Q :=
else
  Q := @
endif

# What `make` builds (each made in its layer's section below).
SO         := $(BUILD)/lib/libleakgate.so
ARCHIVE    := $(BUILD)/lib/libleakgate.a
CORE_AR    := $(BUILD)/lib/libleakgate-core.a
GATE_AR    := $(BUILD)/lib/libleakgate-gate.a
CLI        := $(BUILD)/bin/leakgate
CR_SO      := $(BUILD)/lib/libleakgate-criterion.so
TAP_SO     := $(BUILD)/lib/libleakgate-tap.so

.PHONY: all check demo unit integration python python-install sdist dist python-versions bench realsuite \
        install install-tap asan ubsan valgrind fuzz format help clean
.DEFAULT_GOAL := all

all: $(SO) $(ARCHIVE) $(CORE_AR) $(GATE_AR) $(CLI) $(CR_SO) $(TAP_SO) ## build the libraries, archives, adapters and the leakgate command into build/

# Library objects: hidden by default, exported with LG_API.
LIB_CFLAGS := $(BASE) $(CFLAGS) $(INC) $(UNWIND_CFLAGS) -fPIC \
              -fvisibility=hidden -DLG_BUILDING_LIBRARY

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@

# ---- runtime: runtime/ ------------------------------------------------------
# The allocation hooks (hooks*.c) go into the preloaded library (the Python
# package's too) and the linked-mode archive only: the command does not
# interpose malloc.
RT_SRCS    := $(filter-out runtime/hooks%.c,$(sort $(wildcard runtime/*.c)))
HOOK_SRCS  := $(sort $(wildcard runtime/hooks*.c))
HOOK_OBJS  := $(HOOK_SRCS:%.c=$(BUILD)/obj/%.o)

# ---- plugin: plugin/*.c, what runs in the traced process --------------------
# Session, verdicts, settings, suppressions, failure text, TAP YAML, JSON
# report writing and merging.  With the runtime they make the preloaded
# library (hooks included), its linked-mode archive, and the core archive
# the command links (hooks left out).
PLUGIN_SRCS:= $(sort $(wildcard plugin/*.c))
CORE_SRCS  := $(RT_SRCS) $(PLUGIN_SRCS)
CORE_OBJS  := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)

$(SO): $(CORE_OBJS) $(HOOK_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libleakgate.so $(LDSAN) -o $@ $^ $(SO_LIBS)

$(ARCHIVE): $(CORE_OBJS) $(HOOK_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CORE_AR): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- gate: plugin/gate/, never loaded into a traced process -----------------
# The CI gate, its Markdown/JUnit/HTML renderers and the JSON parse tree: a
# static library for the command (and the unit tests).
GATE_INC   := -Iplugin/gate/include -Iplugin/gate
GATE_SRCS  := $(sort $(wildcard plugin/gate/*.c))
GATE_OBJS  := $(GATE_SRCS:%.c=$(BUILD)/obj/%.o)

$(GATE_OBJS): LIB_CFLAGS += $(GATE_INC)

$(GATE_AR): $(GATE_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

# ---- cli: plugin/cli/, the leakgate command ---------------------------------
CLI_SRCS   := $(sort $(wildcard plugin/cli/*.c))
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)

$(CLI_OBJS): LIB_CFLAGS += $(GATE_INC)

$(CLI): $(CLI_OBJS) $(GATE_AR) $(CORE_AR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDSAN) -o $@ $(CLI_OBJS) $(GATE_AR) $(CORE_AR) $(LIBS)

# ---- adapters: Criterion (public headers only) ------------------------------
CR_CFLAGS  := $(BASE) $(CFLAGS) -Iruntime/include -Iplugin/include \
              -Iadapters/criterion/include -fPIC -fvisibility=hidden

$(BUILD)/obj/adapters/criterion/%.o: adapters/criterion/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CR_CFLAGS) -c $< -o $@

$(CR_SO): $(BUILD)/obj/adapters/criterion/criterion.o $(SO)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libleakgate-criterion.so $(LDSAN) -o $@ $< \
	    -L$(BUILD)/lib -lleakgate -Wl,-rpath,'$$ORIGIN'

# ---- adapters: TAP (public headers only) ------------------------------------
TAP_CFLAGS := $(BASE) $(CFLAGS) -Iruntime/include -Iplugin/include \
              -Iadapters/tap/include -fPIC -fvisibility=hidden

$(BUILD)/obj/adapters/tap/%.o: adapters/tap/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(TAP_CFLAGS) -c $< -o $@

$(TAP_SO): $(BUILD)/obj/adapters/tap/tap.o $(SO)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libleakgate-tap.so $(LDSAN) -o $@ $< \
	    -L$(BUILD)/lib -lleakgate -Wl,-rpath,'$$ORIGIN'

# ---- adapters: pytest, leakgate's Python package in the virtual environment -
# adapters/pytest/setup.py builds $(SO) and $(CLI) with this Makefile into the
# package (leakgate/lib/, leakgate/bin/), and compiles the binding itself.
VENV     ?= .venv
PY       := $(VENV)/bin/python
PY_STAMP := $(VENV)/.leakgate-installed
PY_SRCS  := $(shell find adapters/pytest/src adapters/pytest/setup.py adapters/pytest/pyproject.toml \
              -name '*.py' -o -name '*.c' -o -name '*.h' -o -name '*.toml' 2>/dev/null) \
            $(CORE_SRCS) $(HOOK_SRCS) $(CLI_SRCS) $(wildcard runtime/*.h runtime/include/leakgate/*.h \
              plugin/*.h plugin/include/leakgate/*.h)

$(PY_STAMP): $(PY_SRCS)
	@test -x $(PY) || { echo "leakgate: no Python environment in $(VENV): run sh ci/install-deps.sh"; exit 1; }
	@echo "  PIP     adapters/pytest -> $(VENV)"
	$(Q)$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
	    ./adapters/pytest && touch $@

python-install: $(PY_STAMP) ## install leakgate's Python package into $(VENV)

# The Python distribution.  Its sdist is adapters/pytest/ with the C sources
# and this Makefile staged beside it (MANIFEST.in takes them), so that it
# builds outside a checkout; the wheel is built from the sdist.
LG_VERSION = $(shell sed -n 's/^\#define LG_VERSION "\(.*\)"/\1/p' runtime/include/leakgate/runtime.h)
DIST       := $(BUILD)/dist
SDIST      := $(DIST)/leakgate-$(LG_VERSION).tar.gz
$(SDIST): $(PY_SRCS) Makefile adapters/pytest/MANIFEST.in adapters/pytest/README.md
	@test -x $(PY) || { echo "leakgate: no Python environment in $(VENV): run sh ci/install-deps.sh"; exit 1; }
	@echo "  SDIST   $@"
	$(Q)rm -rf $(DIST)/stage && mkdir -p $(DIST)/stage
	$(Q)cp -R adapters/pytest/pyproject.toml adapters/pytest/setup.py adapters/pytest/MANIFEST.in \
	    adapters/pytest/README.md adapters/pytest/src runtime plugin Makefile $(DIST)/stage/
	$(Q)cd $(DIST)/stage && $(abspath $(PY)) -c 'import sys; from setuptools import build_meta as b; \
	    b.build_sdist(sys.argv[1])' $(abspath $(DIST)) >/dev/null 2>&1 || \
	    { echo "leakgate: building the sdist failed (cd $(DIST)/stage && python -m build --sdist)"; exit 1; }
	$(Q)rm -rf $(DIST)/stage

sdist: $(SDIST) ## write the Python sdist into build/dist/

dist: $(SDIST) ## write the Python sdist and a wheel built from it into build/dist/
	@echo "  WHEEL   $(DIST)"
	$(Q)$(PY) -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation \
	    -w $(DIST) $(SDIST)

# Every supported CPython found (pyenv's, else on PATH): the test tools of
# ci/install-deps.sh and the sdist installed into build/py<version>/, and the
# Python tests run there (but the docs' examples, whose output names the
# interpreter of `make check`).
PY_VERSIONS := 3.11 3.12 3.13
PYTHONS ?= $(foreach v,$(PY_VERSIONS),$(firstword $(wildcard $(HOME)/.pyenv/versions/$(v).*/bin/python$(v)) \
             $(shell command -v python$(v) 2>/dev/null)))

python-versions: all $(SDIST) ## run the Python tests on every supported CPython found (3.11 to 3.13)
	@echo "leakgate: CPython interpreters: $(or $(PYTHONS),none found)"
	$(Q)for py in $(PYTHONS); do \
	    v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])') && env=$(BUILD)/py$$v && \
	    echo "== CPython $$v: $$py" && { test -x $$env/bin/python || $$py -m venv $$env; } && \
	    VENV=$$env sh ci/install-deps.sh && \
	    $$env/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
	        --force-reinstall $(abspath $(SDIST)) && \
	    (cd tests/python && LEAKGATE_BUILD=$(abspath $(BUILD)) LEAKGATE_SDIST=$(abspath $(SDIST)) \
	        $(abspath $(BUILD))/py$$v/bin/python run_tracemalloc_suite.py && \
	     LEAKGATE_BUILD=$(abspath $(BUILD)) LEAKGATE_SDIST=$(abspath $(SDIST)) \
	        $(abspath $(BUILD))/py$$v/bin/python -m pytest -q -p no:cacheprovider -n 2 \
	        --ignore=test_docs.py .) || exit 1; \
	done

# ---- examples: the demo suites (examples/) ----------------------------------
EXAMPLE := $(BUILD)/examples/test_kvconf
$(EXAMPLE): examples/kvconf/kvconf.c examples/kvconf/kvconf.h examples/kvconf/tests/test_kvconf.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=gnu11 -g -O0 -fno-omit-frame-pointer -Iexamples/kvconf \
	    examples/kvconf/kvconf.c examples/kvconf/tests/test_kvconf.c -lcriterion -o $@

PYEXT_SUFFIX = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))' 2>/dev/null)
PYEXT_INC    = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
EXAMPLE_EXT := $(BUILD)/examples/wordstats/_fastcount$(PYEXT_SUFFIX)
$(EXAMPLE_EXT): examples/wordstats/_fastcount.c $(PY_STAMP)
	@mkdir -p $(dir $@)
	$(Q)$(CC) -shared -fPIC -g -O0 -fno-omit-frame-pointer -I$(PYEXT_INC) $< -o $@

demo: all $(EXAMPLE) $(EXAMPLE_EXT) ## run the example suites (examples/) under leakgate: Criterion and pytest
	@echo "== leakgate run -- $(EXAMPLE)    (three tests leak on purpose)"
	@$(CLI) run -- $(EXAMPLE); rc=$$?; \
	    echo "== the runner exited $$rc: the leaking tests failed, the clean ones passed"; \
	    test $$rc -ne 0
	@echo "== leakgate run -- pytest --leaks examples/wordstats    (a Python and a C leak)"
	@WORDSTATS_EXT=$(abspath $(dir $(EXAMPLE_EXT))) $(CLI) run -- $(PY) -m pytest --leaks \
	    -p no:cacheprovider examples/wordstats; rc=$$?; \
	    echo "== pytest exited $$rc: the leaking tests failed, the clean ones passed"; \
	    test $$rc -eq 1

# ---- bench: bench/ ----------------------------------------------------------
# hook_cost is a plain program, built with and without frame pointers; the
# other benchmark programs link the runtime.
BENCH_SRCS := $(filter-out bench/hook_cost.c bench/criterion_suite.c,$(sort $(wildcard bench/*.c)))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%) \
              $(BUILD)/bench/hook_cost $(BUILD)/bench/hook_cost_nofp \
              $(if $(shell command -v $(CLANG)),$(BUILD)/bench/scan_cost_lsan) \
              $(BUILD)/bench/lib/hook_cost_module.so \
              $(BUILD)/bench/criterion_suite $(BUILD)/bench/criterion_suite_linked
BENCH_RUNS ?= 5

bench: all $(BENCH_BINS) $(EXAMPLE) ## measure leakgate beside heaptrack, valgrind, tracemalloc; writes bench/RESULTS.md
	$(Q)BUILD=$(BUILD) python3 bench/run.py --runs $(BENCH_RUNS)

realsuite: all ## pytest --leaks over networkx, more-itertools and simplejson (C), timed and checked; writes bench/REALSUITE.md
	$(Q)BUILD=$(BUILD) python3 bench/realsuite.py

$(BUILD)/bench/%: bench/%.c $(ARCHIVE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) $(BASE) $(CFLAGS) $(INC) -DLG_BUILDING_LIBRARY -o $@ $< \
	    -Wl,--whole-archive $(ARCHIVE) -Wl,--no-whole-archive $(LDSAN) $(LIBS)

# -fno-builtin: the compiler must not remove the malloc/free pairs it times.
$(BUILD)/bench/hook_cost: bench/hook_cost.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=gnu11 $(OPT) -fno-builtin -fno-omit-frame-pointer -pthread -o $@ $<

# The same loop in an object that `hook_cost --module` loads after start.
$(BUILD)/bench/lib/hook_cost_module.so: bench/hook_cost.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=gnu11 $(OPT) -fno-builtin -fno-omit-frame-pointer -fPIC -shared \
	    -DHOOK_COST_MODULE -o $@ $<

# The scan's benchmark again, built with AddressSanitizer: LeakSanitizer's
# leak check on the same heap.
$(BUILD)/bench/scan_cost_lsan: bench/scan_cost.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CLANG) -std=gnu11 $(OPT) -fsanitize=address -o $@ $<

# A Criterion suite, plain and with the adapter linked before -lcriterion.
$(BUILD)/bench/criterion_suite: bench/criterion_suite.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -o $@ $< -lcriterion

$(BUILD)/bench/criterion_suite_linked: bench/criterion_suite.c $(CR_SO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -o $@ $< -L$(BUILD)/lib \
	    -Wl,-rpath,'$$ORIGIN/../lib' -lleakgate-criterion -lleakgate -lcriterion

$(BUILD)/bench/hook_cost_nofp: bench/hook_cost.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=gnu11 $(OPT) -fno-builtin -fomit-frame-pointer -pthread -o $@ $<

# ---- tests: unit, integration, Python ---------------------------------------
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Integration helper programs: plain C programs, built without leakgate;
# those of the TAP API (tap/prog_api_*.c) link the TAP adapter.
TAP_PROGS  := $(patsubst tests/integration/%.c,$(BUILD)/tests/%, \
              $(wildcard tests/integration/tap/prog_api_*.c))
HELPER_SRCS:= $(filter-out tests/integration/tap/prog_api_%.c, \
              $(sort $(wildcard tests/integration/*/prog_*.c)))
HELPER_BINS:= $(HELPER_SRCS:tests/integration/%.c=$(BUILD)/tests/%)
# The fuzz targets without libFuzzer: tests/fuzz/replay.c feeds them the seed
# corpus and tests/fuzz/regress/ (inputs of fixed issues) in every check.
FUZZ_TARGETS := snapfile json suppressions
REPLAY_BINS  := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)

check: unit integration python ## run unit, integration and Python tests (and a smoke run of the benchmarks)

unit: $(UNIT_BINS) $(REPLAY_BINS) ## build and run the unit tests (tests/unit/) and replay the fuzz corpora
	$(Q)BUILD=$(BUILD) SAN=$(SAN) sh tests/run-unit.sh $(UNIT_BINS)
	$(Q)for t in $(FUZZ_TARGETS); do \
	    $(BUILD)/tests/replay_$$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t || exit 1; done

# The benchmark smoke run uses the Python package of $(VENV): installed
# first, so that it is never older than the runtime it is run with.
integration: all $(HELPER_BINS) $(TAP_PROGS) $(BENCH_BINS) $(PY_STAMP) ## run the integration tests (tests/integration/*/test_*.sh; benchmark smoke run)
	$(Q)BUILD=$(BUILD) SAN=$(SAN) sh tests/run-integration.sh

# Under sanitizers the Python tests are skipped: the interpreter is not built
# with them.
python: all $(PY_STAMP) $(SDIST) ## run the Python tests (binding, CPython's test_tracemalloc, pytest plugin, the sdist)
ifeq ($(SAN),)
	$(Q)cd tests/python && LEAKGATE_BUILD=$(abspath $(BUILD)) ../../$(PY) run_tracemalloc_suite.py
	$(Q)cd tests/python && LEAKGATE_BUILD=$(abspath $(BUILD)) LEAKGATE_SDIST=$(abspath $(SDIST)) \
	    ../../$(PY) -m pytest -q \
	    -p no:cacheprovider -n 2 .
endif

# Unit tests link the whole runtime statically (hooks included: linked
# mode) in a debug build that checks the lock order on every lock taken
# (LG_DEBUG_LOCKS, lg_internal.h), and the gate library for what they use
# of it.  -fno-builtin: the compiler must not remove the malloc/free pairs
# they make.
DEBUG_AR   := $(BUILD)/lib/libleakgate-debug.a
DEBUG_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj-debug/%.o) $(HOOK_SRCS:%.c=$(BUILD)/obj-debug/%.o)

$(BUILD)/obj-debug/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (debug)")
	$(Q)$(CC) $(LIB_CFLAGS) -DLG_DEBUG_LOCKS -c $< -o $@

$(DEBUG_AR): $(DEBUG_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(DEBUG_AR) $(GATE_AR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  REPLAY  $@")
	$(Q)$(CC) $(BASE) $(CFLAGS) $(INC) $(GATE_INC) -DLG_BUILDING_LIBRARY -DLG_DEBUG_LOCKS \
	    -o $@ $< tests/fuzz/replay.c $(GATE_AR) -Wl,--whole-archive $(DEBUG_AR) \
	    -Wl,--no-whole-archive $(LDSAN) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(DEBUG_AR) $(GATE_AR) tests/unit/lgtest.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(BASE) $(CFLAGS) -fno-builtin $(INC) $(GATE_INC) -DLG_BUILDING_LIBRARY \
	    -DLG_DEBUG_LOCKS -o $@ $< \
	    $(GATE_AR) -Wl,--whole-archive $(DEBUG_AR) -Wl,--no-whole-archive $(LDSAN) $(LIBS)

$(BUILD)/tests/%: tests/integration/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROG    $@")
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -pthread $(LDSAN) -o $@ $<

$(TAP_PROGS): $(BUILD)/tests/%: tests/integration/%.c $(TAP_SO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROG    $@")
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -fno-builtin -Iadapters/tap/include \
	    $(LDSAN) -o $@ $< -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../../lib' -lleakgate-tap \
	    -Wl,--push-state,--no-as-needed -lleakgate -Wl,--pop-state

# ---- sanitizers, valgrind, fuzz ---------------------------------------------
asan: ## build and test with AddressSanitizer in build/asan (hooks not interposed)
	$(MAKE) BUILD=build/asan SAN=address check

ubsan: ## build and test with UndefinedBehaviorSanitizer in build/ubsan
	$(MAKE) BUILD=build/ubsan SAN=undefined check

valgrind: $(UNIT_BINS) ## run the unit tests under valgrind memcheck
	$(Q)BUILD=$(BUILD) VALGRIND=1 sh tests/run-unit.sh $(UNIT_BINS)

FUZZ_TIME ?= 60
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -DLG_BUILDING_LIBRARY -DLG_NO_INTERPOSE \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(INC) $(GATE_INC) \
               $(UNWIND_CFLAGS)
# Three targets, each for FUZZ_TIME seconds: the snapshot-file loader, the
# JSON report and baseline reader (with every gate output), the
# suppressions parser.  UBSan findings abort (no recovery) so that libFuzzer
# counts them as crashes.  New inputs go to $(BUILD)/fuzz/corpus/TARGET and
# crash files to $(BUILD)/fuzz/; tests/fuzz/corpus/TARGET keeps the seeds.
fuzz: ## fuzz the snapshot loader, the JSON reader and the suppressions parser (FUZZ_TIME s each, default 60)
	$(Q)for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/fuzz/corpus/$$t && \
	    echo "  FUZZ    $(BUILD)/fuzz/fuzz_$$t" && \
	    $(CLANG) $(FUZZ_CFLAGS) -o $(BUILD)/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c \
	        $(RT_SRCS) $(PLUGIN_SRCS) $(GATE_SRCS) $(LIBS) && \
	    cp tests/fuzz/corpus/$$t/* tests/fuzz/regress/$$t/* $(BUILD)/fuzz/corpus/$$t/ && \
	    $(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	        -artifact_prefix=$(BUILD)/fuzz/$$t- $(BUILD)/fuzz/corpus/$$t || exit 1; \
	done

# ---- install ----------------------------------------------------------------
# The gate (libleakgate-gate.a, gate.h) is installed for programs that gate
# reports themselves; it links with libleakgate.a.
install: all install-tap ## install into PREFIX (default /usr/local)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/include/leakgate $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(SO) $(CR_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(ARCHIVE) $(GATE_AR) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 runtime/include/leakgate/*.h plugin/include/leakgate/*.h \
	    plugin/gate/include/leakgate/gate.h adapters/criterion/include/leakgate/criterion.h \
	    $(DESTDIR)$(PREFIX)/include/leakgate/
	sed -e 's|@PREFIX@|$(PREFIX)|g' runtime/leakgate.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakgate.pc
	sed -e 's|@PREFIX@|$(PREFIX)|g' adapters/criterion/leakgate-criterion.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakgate-criterion.pc

install-tap: $(TAP_SO) ## install the TAP adapter (libleakgate-tap.so, tap.h, leakgate-tap.pc) into PREFIX
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/leakgate
	install -m 755 $(TAP_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 adapters/tap/include/leakgate/tap.h $(DESTDIR)$(PREFIX)/include/leakgate/
	sed -e 's|@PREFIX@|$(PREFIX)|g' adapters/tap/leakgate-tap.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakgate-tap.pc

# ---- housekeeping -----------------------------------------------------------
format: ## reformat the C sources with clang-format
	clang-format -i $$(git ls-files '*.c' '*.h')

clean: ## remove build/
	rm -rf build

help: ## list the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' Makefile | sed -e 's/:.*## /\t/' | expand -t 16

-include $(shell find $(BUILD)/obj $(BUILD)/obj-debug -name '*.d' 2>/dev/null)
