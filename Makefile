# Strata — build, test, benchmark, install.
#
#   make            libstrata.a, libstrata.so and the CLI in build/
#   make demo       install missing Debian packages, generate a fleet, ingest,
#                   inspect and dump it
#   make test       install missing Debian packages, run the check suite, then
#                   the same suite under AddressSanitizer + UBSan
#   make bench      micro and macro benchmarks (Google Benchmark format)
#   make compare    side by side with InfluxDB, VictoriaMetrics, Prometheus and
#                   SQLite (installs them when missing); COMPARE_ARGS=--scale small
#   make install PREFIX=/usr/local DESTDIR=
#
# Warnings are errors.  Sources are picked up by directory; a test file
# tests/check_<name>.c exports `Suite *<name>_suite(void)` and is found by
# the runner automatically.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
BUILD ?= build
SAN ?= 0

VERSION := $(shell sed -n 's/^\#define STRATA_VERSION_STRING "\(.*\)"/\1/p' include/strata.h)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-format-truncation
BASE_CFLAGS := -std=gnu11 -g -pthread -fPIC -fvisibility=hidden -ffp-contract=off -Iinclude -I. $(WARN)
ifeq ($(SAN),1)
OPT ?= -O1 -fno-omit-frame-pointer -fsanitize=address,undefined,float-cast-overflow \
    -fno-sanitize-recover=all
MALLOC_LIB :=
CLI_MALLOC_LIB :=
else
OPT ?= -O2
MALLOC_LIB := -ljemalloc
# The CLI takes jemalloc from its static archive: the shared one loads
# libstdc++, whose relocations cost every `strata` process about 1.5 ms.
CLI_MALLOC_LIB := -Wl,-Bstatic -ljemalloc -Wl,-Bdynamic -ldl
endif
CFLAGS ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(OPT) $(CFLAGS)
DEP_LIBS := -llz4 -lxxhash -lm -pthread
LDFLAGS ?=
ALL_LDFLAGS := $(OPT) $(LDFLAGS)

LIB_SRC := $(sort $(wildcard engine/*.c wal/*.c compaction/*.c query/*.c))
TOOL_SRC := $(sort $(wildcard tools/*.c))
TEST_SRC := $(sort $(wildcard tests/check_*.c))
BENCH_LIB_SRC := $(sort $(filter-out bench/bench_%.c,$(wildcard bench/*.c)))
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TOOL_OBJ := $(TOOL_SRC:%.c=$(BUILD)/%.o)
TOOL_LIB_OBJ := $(filter-out $(BUILD)/tools/strata.o,$(TOOL_OBJ))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o) $(BUILD)/tests/run_tests.o $(BUILD)/tests/testutil.o
BENCH_LIB_OBJ := $(BENCH_LIB_SRC:%.c=$(BUILD)/%.o)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

STATIC := $(BUILD)/libstrata.a
SHARED := $(BUILD)/libstrata.so.$(VERSION)
CLI := $(BUILD)/strata
TESTS := $(BUILD)/run_tests

.PHONY: all deps demo test check check-san fuzz bench compare install uninstall clean format

all: $(STATIC) $(SHARED) $(CLI)

deps:
	@./tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libstrata.so.0 $(ALL_LDFLAGS) -o $@ $^ $(DEP_LIBS) $(MALLOC_LIB)
	ln -sf libstrata.so.$(VERSION) $(BUILD)/libstrata.so.0
	ln -sf libstrata.so.$(VERSION) $(BUILD)/libstrata.so

$(CLI): $(TOOL_OBJ) $(STATIC)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TOOL_OBJ) $(STATIC) $(DEP_LIBS) $(CLI_MALLOC_LIB)

# The runner includes a generated list of the suites in tests/check_*.c.
$(BUILD)/tests/suites.h: $(TEST_SRC) Makefile
	@mkdir -p $(dir $@)
	@{ for f in $(TEST_SRC); do n=$$(basename $$f .c); n=$${n#check_}; \
	   echo "SUITE($${n})"; done; } > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/run_tests.o: tests/run_tests.c $(BUILD)/tests/suites.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(BUILD)/tests -MMD -MP -c $< -o $@

$(TESTS): $(TEST_OBJ) $(TOOL_LIB_OBJ) $(STATIC)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(TOOL_LIB_OBJ) $(STATIC) \
	    $$(pkg-config --libs check) $(DEP_LIBS) $(MALLOC_LIB)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BENCH_LIB_OBJ) $(TOOL_LIB_OBJ) $(STATIC)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(BENCH_LIB_OBJ) $(TOOL_LIB_OBJ) $(STATIC) $(DEP_LIBS) $(MALLOC_LIB)

# One pass of the suite in this build configuration.  Test files fork
# through tu_fork() only (testutil.h says why a bare fork() followed by
# ck_assert can derail the runner).
check: $(TESTS) $(CLI)
	@! grep -nE '(^|[^_[:alnum:]])fork\(' $(TEST_SRC) || { echo 'tests: use tu_fork() (tests/testutil.h)'; exit 1; }
	STRATA_BIN=$(abspath $(CLI)) ./$(TESTS)

check-san:
	$(MAKE) --no-print-directory BUILD=build-san SAN=1 check

# Builds use every core; the suites themselves run one test at a time.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

test: deps
	$(MAKE) --no-print-directory -j$(JOBS) $(TESTS) $(CLI)
	$(MAKE) --no-print-directory check
	$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-san SAN=1 build-san/run_tests build-san/strata
	$(MAKE) --no-print-directory check-san

demo: deps
	$(MAKE) --no-print-directory all
	./tools/demo.sh $(abspath $(CLI))

bench: deps
	$(MAKE) --no-print-directory all $(filter-out %/bench_selftest,$(BENCH_BIN))
	./bench/run.sh $(abspath $(BUILD))

# bench/compare's helpers: in-process query latency (links the library) and
# a launcher that measures a command's own peak RSS.
$(BUILD)/bench/compare/qtime: $(BUILD)/bench/compare/qtime.o $(STATIC)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(STATIC) $(DEP_LIBS) $(MALLOC_LIB)

$(BUILD)/bench/compare/runrss: $(BUILD)/bench/compare/runrss.o
	$(CC) $(ALL_LDFLAGS) -o $@ $<

# Fuzzing: the libFuzzer targets of tests/fuzz, built with clang, ASan and
# UBSan into build-fuzz/, each run FUZZ_SECONDS from its seeds
# (tests/fuzz/run.sh).  Not part of `make test`.
FUZZ_BUILD := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=gnu11 -g -O1 -pthread -ffp-contract=off -Iinclude -I. \
    $(filter-out -Wno-format-truncation,$(WARN)) -fno-omit-frame-pointer \
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -MMD -MP
FUZZ_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRC) $(filter-out tools/strata.c,$(wildcard tools/*.c)))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/tests/fuzz/common.o $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/tests/fuzz/common.o $(FUZZ_OBJ) \
	    $(DEP_LIBS)

fuzz:
	@EXTRA_PKGS="clang libclang-rt-14-dev" ./tools/install-deps.sh
	$(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_BIN)
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

COMPARE_ARGS ?=
compare: deps
	$(MAKE) --no-print-directory all $(BUILD)/bench/compare/qtime $(BUILD)/bench/compare/runrss
	./bench/compare/run.sh --build $(abspath $(BUILD)) $(COMPARE_ARGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/strata.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libstrata.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libstrata.so.0
	ln -sf libstrata.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libstrata.so
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' strata.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/strata.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/strata.h $(DESTDIR)$(PREFIX)/lib/libstrata.* \
	    $(DESTDIR)$(PREFIX)/bin/strata $(DESTDIR)$(PREFIX)/lib/pkgconfig/strata.pc

format:
	clang-format -i $(LIB_SRC) $(TOOL_SRC) $(TEST_SRC) $(wildcard */*.h) include/strata.h

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include $(shell find $(FUZZ_BUILD) -name "*.d" 2>/dev/null)
.SECONDARY:
