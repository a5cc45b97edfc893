# leakgate — the one entry point for building, testing and installing.
# `make help` lists the targets.  Quiet unless V=1.

BUILD   ?= build
PREFIX  ?= /usr/local
CC      ?= cc
CLANG   ?= clang
SAN     ?=

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wundef -Wno-unused-parameter
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
BASE    := -std=gnu11 -fno-omit-frame-pointer -D_GNU_SOURCE $(WARN) -MMD -MP
INC     := -Iruntime/include -Iplugin/include -Iruntime -Iplugin
UNWIND_CFLAGS := $(shell pkg-config --cflags libunwind 2>/dev/null)
LIBS    := -ldw -lelf -lunwind -ldl -lpthread

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

LIB_CFLAGS := $(BASE) $(CFLAGS) $(INC) $(UNWIND_CFLAGS) -fPIC \
              -fvisibility=hidden -DLG_BUILDING_LIBRARY
RT_SRCS    := $(sort $(wildcard runtime/*.c))
PLUGIN_SRCS:= $(sort $(wildcard plugin/*.c))
CORE_SRCS  := $(filter-out runtime/hooks%.c,$(RT_SRCS)) $(PLUGIN_SRCS)
CORE_OBJS  := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
HOOK_SRCS  := $(wildcard runtime/hooks*.c)
HOOK_OBJ   := $(HOOK_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS   := $(sort $(wildcard plugin/cli/*.c))
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)

SO         := $(BUILD)/lib/libleakgate.so
CR_SO      := $(BUILD)/lib/libleakgate-criterion.so
CR_CFLAGS  := $(BASE) $(CFLAGS) -Iruntime/include -Iplugin/include \
              -Iadapters/criterion/include -fPIC -fvisibility=hidden
ARCHIVE    := $(BUILD)/lib/libleakgate.a
CORE_AR    := $(BUILD)/lib/libleakgate-core.a
CLI        := $(BUILD)/bin/leakgate

UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_SRCS:= $(sort $(wildcard tests/integration/*/prog_*.c))
HELPER_BINS:= $(HELPER_SRCS:tests/integration/%.c=$(BUILD)/tests/%)
# hook_cost is a plain program, built with and without frame pointers; the
# other benchmark programs link the runtime.
BENCH_SRCS := $(filter-out bench/hook_cost.c,$(sort $(wildcard bench/*.c)))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%) \
              $(BUILD)/bench/hook_cost $(BUILD)/bench/hook_cost_nofp
BENCH_RUNS ?= 5

.PHONY: all check demo unit integration python python-install bench realsuite install asan ubsan \
        valgrind fuzz format help clean
.DEFAULT_GOAL := all

all: $(SO) $(CR_SO) $(ARCHIVE) $(CORE_AR) $(CLI) ## build the library, archives and the leakgate command into build/

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SO): $(CORE_OBJS) $(HOOK_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libleakgate.so $(LDSAN) -o $@ $^ $(LIBS)

# The Criterion adapter uses only the public headers.
$(BUILD)/obj/adapters/criterion/%.o: adapters/criterion/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CR_CFLAGS) -c $< -o $@

$(CR_SO): $(BUILD)/obj/adapters/criterion/criterion.o $(SO)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libleakgate-criterion.so $(LDSAN) -o $@ $< \
	    -L$(BUILD)/lib -lleakgate -Wl,-rpath,'$$ORIGIN'

$(ARCHIVE): $(CORE_OBJS) $(HOOK_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CORE_AR): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CLI): $(CLI_OBJS) $(CORE_AR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDSAN) -o $@ $(CLI_OBJS) $(CORE_AR) $(LIBS)

# Unit tests link the whole runtime statically (hooks included: linked mode).
# -fno-builtin: the compiler must not remove the malloc/free pairs they make.
$(BUILD)/tests/%: tests/unit/%.c $(ARCHIVE) tests/unit/lgtest.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@")
	$(Q)$(CC) $(BASE) $(CFLAGS) -fno-builtin $(INC) -DLG_BUILDING_LIBRARY -o $@ $< \
	    -Wl,--whole-archive $(ARCHIVE) -Wl,--no-whole-archive $(LDSAN) $(LIBS)

# Integration helper programs: plain C programs, built without leakgate.
$(BUILD)/tests/%: tests/integration/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROG    $@")
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -pthread $(LDSAN) -o $@ $<

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

$(BUILD)/bench/hook_cost_nofp: bench/hook_cost.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@")
	$(Q)$(CC) -std=gnu11 $(OPT) -fno-builtin -fomit-frame-pointer -pthread -o $@ $<

# ---- Python: leakgate's package in the virtual environment -----------------
VENV     ?= .venv
PY       := $(VENV)/bin/python
PY_STAMP := $(VENV)/.leakgate-installed
PY_SRCS  := $(shell find adapters/pytest/src adapters/pytest/setup.py adapters/pytest/pyproject.toml \
              -name '*.py' -o -name '*.c' -o -name '*.toml' 2>/dev/null) \
            $(CORE_SRCS) $(wildcard runtime/*.h runtime/include/leakgate/*.h plugin/*.h \
              plugin/include/leakgate/*.h)

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

$(PY_STAMP): $(PY_SRCS)
	@test -x $(PY) || { echo "leakgate: no Python environment in $(VENV): run sh ci/install-deps.sh"; exit 1; }
	@echo "  PIP     adapters/pytest -> $(VENV)"
	$(Q)$(PY) -m pip install -q --disable-pip-version-check --no-build-isolation --no-deps \
	    ./adapters/pytest && touch $@

python-install: $(PY_STAMP) ## install leakgate's Python package into $(VENV)

# Under sanitizers the Python tests are skipped: the interpreter is not built
# with them.
python: all $(PY_STAMP) ## run the Python tests (binding, CPython's test_tracemalloc, pytest plugin)
ifeq ($(SAN),)
	$(Q)cd tests/python && LEAKGATE_BUILD=$(abspath $(BUILD)) ../../$(PY) run_tracemalloc_suite.py
	$(Q)cd tests/python && LEAKGATE_BUILD=$(abspath $(BUILD)) ../../$(PY) -m pytest -q \
	    -p no:cacheprovider -n 2 .
endif

check: unit integration python ## run unit, integration and Python tests (and a smoke run of the benchmarks)

unit: $(UNIT_BINS)
	$(Q)BUILD=$(BUILD) SAN=$(SAN) sh tests/run-unit.sh $(UNIT_BINS)

integration: all $(HELPER_BINS) $(BENCH_BINS)
	$(Q)BUILD=$(BUILD) SAN=$(SAN) sh tests/run-integration.sh

bench: all $(BENCH_BINS) $(EXAMPLE) ## measure leakgate beside heaptrack, valgrind, tracemalloc; writes bench/RESULTS.md
	$(Q)BUILD=$(BUILD) python3 bench/run.py --runs $(BENCH_RUNS)

realsuite: all ## pytest --leaks over networkx's suite, timed and checked; writes bench/REALSUITE.md
	$(Q)BUILD=$(BUILD) python3 bench/realsuite.py

install: all ## install into PREFIX (default /usr/local)
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin \
	    $(DESTDIR)$(PREFIX)/include/leakgate $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(SO) $(CR_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(ARCHIVE) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 runtime/include/leakgate/*.h $(wildcard plugin/include/leakgate/*.h) \
	    adapters/criterion/include/leakgate/criterion.h \
	    $(DESTDIR)$(PREFIX)/include/leakgate/
	sed -e 's|@PREFIX@|$(PREFIX)|g' runtime/leakgate.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakgate.pc
	sed -e 's|@PREFIX@|$(PREFIX)|g' adapters/criterion/leakgate-criterion.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakgate-criterion.pc

asan: ## build and test with AddressSanitizer in build/asan (hooks not interposed)
	$(MAKE) BUILD=build/asan SAN=address check

ubsan: ## build and test with UndefinedBehaviorSanitizer in build/ubsan
	$(MAKE) BUILD=build/ubsan SAN=undefined check

valgrind: $(UNIT_BINS) ## run the unit tests under valgrind memcheck
	$(Q)BUILD=$(BUILD) VALGRIND=1 sh tests/run-unit.sh $(UNIT_BINS)

FUZZ_SRCS := $(filter-out runtime/hooks%.c,$(RT_SRCS))
FUZZ_TIME ?= 60
# UBSan findings abort (no recovery) so that libFuzzer counts them as crashes.
# New inputs go to $(BUILD)/fuzz/corpus and crash files to $(BUILD)/fuzz/;
# tests/fuzz/corpus keeps the seeds.
fuzz: ## fuzz the snapshot-file loader with libFuzzer (FUZZ_TIME seconds, default 60)
	@mkdir -p $(BUILD)/fuzz/corpus
	@$(if $(Q),echo "  FUZZ    $(BUILD)/fuzz/fuzz_snapfile")
	$(Q)$(CLANG) -g -O1 -std=gnu11 -D_GNU_SOURCE -DLG_BUILDING_LIBRARY -DLG_NO_INTERPOSE \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(INC) $(UNWIND_CFLAGS) \
	    -o $(BUILD)/fuzz/fuzz_snapfile tests/fuzz/fuzz_snapfile.c $(FUZZ_SRCS) $(LIBS)
	$(Q)cp tests/fuzz/corpus/* $(BUILD)/fuzz/corpus/
	$(Q)$(BUILD)/fuzz/fuzz_snapfile -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/ \
	    $(BUILD)/fuzz/corpus tests/fuzz/corpus

format: ## reformat the C sources with clang-format
	clang-format -i $$(git ls-files '*.c' '*.h')

clean: ## remove build/
	rm -rf build

help: ## list the targets
	@grep -hE '^[a-z]+:.*## ' Makefile | sed -e 's/:.*## /\t/' | expand -t 12

# ---- the TAP adapter: libleakgate-tap.so (public headers only), its
# pkg-config file, and the integration programs written with its API
# (tests/integration/tap/prog_api_*.c, linked with it).
TAP_SO     := $(BUILD)/lib/libleakgate-tap.so
TAP_CFLAGS := $(BASE) $(CFLAGS) -Iruntime/include -Iplugin/include \
              -Iadapters/tap/include -fPIC -fvisibility=hidden
TAP_PROGS  := $(patsubst tests/integration/%.c,$(BUILD)/tests/%, \
              $(wildcard tests/integration/tap/prog_api_*.c))

all: $(TAP_SO)
integration: $(TAP_PROGS)
install: install-tap

$(BUILD)/obj/adapters/tap/%.o: adapters/tap/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(TAP_CFLAGS) -c $< -o $@

$(TAP_SO): $(BUILD)/obj/adapters/tap/tap.o $(SO)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libleakgate-tap.so $(LDSAN) -o $@ $< \
	    -L$(BUILD)/lib -lleakgate -Wl,-rpath,'$$ORIGIN'

$(TAP_PROGS): $(BUILD)/tests/%: tests/integration/%.c $(TAP_SO)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  PROG    $@")
	$(Q)$(CC) -std=gnu11 -O0 -g -fno-omit-frame-pointer -fno-builtin -Iadapters/tap/include \
	    $(LDSAN) -o $@ $< -L$(BUILD)/lib -Wl,-rpath,'$$ORIGIN/../../lib' -lleakgate-tap \
	    -Wl,--push-state,--no-as-needed -lleakgate -Wl,--pop-state

.PHONY: install-tap
install-tap: $(TAP_SO)
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/leakgate
	install -m 755 $(TAP_SO) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 adapters/tap/include/leakgate/tap.h $(DESTDIR)$(PREFIX)/include/leakgate/
	sed -e 's|@PREFIX@|$(PREFIX)|g' adapters/tap/leakgate-tap.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/leakgate-tap.pc

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
