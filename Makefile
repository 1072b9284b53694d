# digits - one Makefile, objects in build/ (build-san/ with SAN=1).
#   make            library, the digits program        make test    build and run every test
#   make demo       get MNIST, train, evaluate, report make bench   benchmarks (figures)
#   make data       MNIST into data/mnist              make fuzz    libFuzzer targets (clang)
#   make deps       install missing system packages    make format  clang-format the sources
# PORTABLE=1 builds without -march=native; SAN=1 adds ASan+UBSan.

CC      ?= cc
OPT     ?= -O2
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -D_GNU_SOURCE -pthread -Iinclude -Isrc
ifeq ($(PORTABLE),1)
CFLAGS  += -mtune=generic
B       := build-portable
else
CFLAGS  += -march=native
endif
LDLIBS  := -lpng -ljpeg -lz -lm -ldl -pthread

B ?= build
ifeq ($(FUZZ),1)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif
ifeq ($(SAN),1)
B := build-san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC   := $(sort $(wildcard src/*.c src/layers/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
CLI_SRC   := $(sort $(wildcard cli/*.c))
CLI_OBJ   := $(CLI_SRC:%.c=$(B)/%.o)
TEST_SRC  := $(sort $(wildcard tests/test_*.c)) tests/run_tests.c
TEST_OBJ  := $(TEST_SRC:%.c=$(B)/%.o)
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/replay_%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/%)
TOOL_SRC  := $(sort $(wildcard scripts/*.c))
TOOL_BIN  := $(TOOL_SRC:scripts/%.c=$(B)/%)

.PHONY: all deps data demo test bench fuzz format clean
all: $(B)/digits $(B)/libdigits.a $(TOOL_BIN)

$(B)/%.o: %.c include/digits.h $(wildcard src/*.h src/layers/*.h cli/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libdigits.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/digits: $(CLI_OBJ) $(B)/libdigits.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/%: scripts/%.c $(B)/libdigits.a include/digits.h
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(B)/libdigits.a $(LDLIBS) -o $@

# every DG_TEST(name) in tests/test_*.c, one X(name) line each
$(B)/tests/test_list.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	grep -ho '^DG_TEST([a-z0-9_]*)' $(filter tests/test_%,$^) | sed 's/^DG_TEST(\(.*\))/X(\1)/' > $@.tmp
	mv $@.tmp $@

$(B)/tests/run_tests.o: tests/run_tests.c $(B)/tests/test_list.h tests/test.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(B)/tests -c $< -o $@

$(B)/run_tests: $(TEST_OBJ) $(B)/libdigits.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/replay_%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz_files.h $(B)/libdigits.a
	$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay.c $(B)/libdigits.a $(LDLIBS) -o $@

$(B)/bench_%: bench/bench_%.c $(B)/libdigits.a
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(B)/libdigits.a $(LDLIBS) -o $@

deps:
	@scripts/install-deps.sh

data:
	@scripts/get-mnist.sh data/mnist

test: deps
	@$(MAKE) --no-print-directory all $(B)/run_tests $(FUZZ_BIN)
	@scripts/run-fuzz-corpora.sh $(B)
	DIGITS_BIN=$(B)/digits $(B)/run_tests

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/get-mnist.sh data/mnist
	@scripts/demo.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@scripts/bench.sh $(B)

fuzz:
	$(MAKE) --no-print-directory CC=clang B=build-fuzz FUZZ=1 $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_files.h build-fuzz/libdigits.a
	clang $(CFLAGS) -fsanitize=fuzzer,address,undefined $< build-fuzz/libdigits.a $(LDLIBS) -o $@

format:
	clang-format -i include/*.h src/*.c src/*.h src/layers/*.c cli/*.c cli/*.h tests/*.c tests/*.h \
	  $(wildcard tests/fuzz/*.c bench/*.c scripts/*.c server/*.c)

clean:
	rm -rf build build-san build-fuzz
