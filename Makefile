# digits - one Makefile, objects in build/ (build-san/ with SAN=1, build-portable/ with PORTABLE=1).
#   make            library, the digits program        make test    build and run every test
#   make demo       get MNIST, train, evaluate, report make bench   benchmarks (figures)
#   make data       MNIST into data/mnist              make fuzz    build, run libFuzzer targets
#   make deps       install missing system packages    make format  clang-format the sources
#   make format-check  fail when a source is not formatted
#   make bench-serve   digits serve under wrk beside a Python + PyTorch server (figures)
#   make fuzz-corpus   minimise what make fuzz found into tests/fuzz/corpus (docs/fuzzing.md)
#   make check-clang   build everything (tests, fuzz replays, bench) with clang -Werror
#   make browser-deps  chromium, node and puppeteer-core for the browser tests of the
#                      report and of serve (skipped by make test, with a message, until then)
#   make lib        libdigits.a and libdigits.so (objects built -fPIC in BUILD/pic/)
#   make install    PREFIX=/usr/local DESTDIR=: the program, both libraries, digits.h,
#                   digits.pc, the man page; make uninstall removes them
#   make check-install  install into a temporary prefix, check the exported symbols, build
#                   examples/ with pkg-config alone and run them
# PORTABLE=1 builds without -march=native; SAN=1 adds ASan+UBSan; WERROR=1 adds -Werror.
#   make TSAN=1 test-threads   threads sharing one net, under ThreadSanitizer (build-tsan/)
#
# Layout: src/<module>/ is libdigits (docs/architecture.md), synth/ the synthetic
# handwriting archive for tests and tools, cli/ the program, tests/ bench/ scripts/ users.

CC      ?= cc
OPT     ?= -O2
CFLAGS  := -std=c11 $(OPT) -g -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -D_GNU_SOURCE -pthread -Iinclude -Isrc -I. -MMD -MP
ifeq ($(PORTABLE),1)
CFLAGS  += -mtune=generic
B       := build-portable
else
CFLAGS  += -march=native
endif
ifeq ($(WERROR),1)
CFLAGS  += -Werror
endif
LDLIBS  := -lmicrohttpd -lpng -ljpeg -ldeflate -lz -lm -ldl -pthread
# src/vision's passes over every pixel: GCC's -O2 vectorises only loops that need no
# run-time checks, and these need a few (row lengths, buffers that might overlap), so its
# -O3 cost model is asked for there. Element-wise float arithmetic gives the same bits
# vectorised (no contraction under -std=c11, no reassociation); clang vectorises them at -O2.
VISION_CFLAGS := $(if $(shell $(CC) --version 2>/dev/null | grep -i 'free software'),\
                   -fvect-cost-model=dynamic)

B ?= build
ifeq ($(FUZZ),1)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
endif
# make fuzz: seconds per target, targets run at once, which targets (all when empty)
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_TARGETS ?=
ifeq ($(TSAN),1)
B := build-tsan
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif
ifeq ($(SAN),1)
B := build-san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC   := $(sort $(wildcard src/*/*.c src/*/*/*.c))
# the served page's files, compiled into the library as C arrays (scripts/embed-assets.sh)
WEB_FILES := $(sort $(wildcard web/*.html web/*.js web/*.css web/*.svg))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o) $(B)/gen/serve_assets.o
SYNTH_SRC := $(sort $(wildcard synth/*.c))
SYNTH_OBJ := $(SYNTH_SRC:%.c=$(B)/%.o)
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
# every C source and header of the project, for make format
FORMAT_SRC := $(sort $(wildcard include/*.h src/*/*.[ch] src/*/*/*.[ch] synth/*.[ch] cli/*.[ch] \
                tests/*.[ch] tests/fuzz/*.[ch] bench/*.[ch] scripts/*.c examples/*.c))
LIBS      := $(B)/libdigits_synth.a $(B)/libdigits.a
# the shared library: objects built -fPIC, soname libdigits.so.MAJOR
VERSION   := $(shell sed -n 's/^\#define DG_VERSION_STRING "\(.*\)"/\1/p' include/digits.h)
SO_MAJOR  := $(firstword $(subst ., ,$(VERSION)))
SO_NAME   := libdigits.so.$(SO_MAJOR)
SO_FILE   := libdigits.so.$(VERSION)
PIC_OBJ   := $(LIB_SRC:%.c=$(B)/pic/%.o) $(B)/pic/gen/serve_assets.o
PREFIX    ?= /usr/local
DESTDIR   ?=

.PHONY: all programs lib install uninstall check-install deps data demo test test-threads bench fuzz \
        fuzz-build fuzz-corpus format format-check check-clang clean browser-deps bench-serve
all: $(B)/digits $(B)/libdigits.a $(TOOL_BIN)

# everything that compiles: what make test builds, and the bench programs
programs: all $(B)/run_tests $(FUZZ_BIN) $(BENCH_BIN)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/src/vision/%.o $(B)/pic/src/vision/%.o: CFLAGS += $(VISION_CFLAGS)

$(B)/gen/serve_assets.c: scripts/embed-assets.sh $(WEB_FILES)
	@mkdir -p $(dir $@)
	scripts/embed-assets.sh $@ $(WEB_FILES)

$(B)/gen/serve_assets.o: $(B)/gen/serve_assets.c
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libdigits.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(B)/pic/gen/serve_assets.o: $(B)/gen/serve_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

# the shared library exports the functions include/digits.h declares and nothing else
$(B)/libdigits.map: include/digits.h
	@mkdir -p $(dir $@)
	{ printf '{\n    global:\n'; grep -o 'dg_[a-z0-9_]*(' $< | tr -d '(' | sort -u | \
	  sed 's/.*/        &;/'; printf '    local:\n        *;\n};\n'; } > $@.tmp
	mv $@.tmp $@

$(B)/$(SO_FILE): $(PIC_OBJ) $(B)/libdigits.map
	$(CC) -shared -Wl,-soname,$(SO_NAME) -Wl,--version-script=$(B)/libdigits.map $(LDFLAGS) \
	  $(PIC_OBJ) $(LDLIBS) -o $@

lib: $(B)/libdigits.a $(B)/$(SO_FILE)

# what make install puts where, under $(DESTDIR)$(PREFIX)
INSTALL_FILES := bin/digits lib/$(SO_FILE) lib/$(SO_NAME) lib/libdigits.so lib/libdigits.a \
                 include/digits.h lib/pkgconfig/digits.pc share/man/man1/digits.1 \
                 share/bash-completion/completions/digits

install: $(B)/digits $(B)/libdigits.a $(B)/$(SO_FILE)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(B)/digits $(DESTDIR)$(PREFIX)/bin/digits
	install -m 755 $(B)/$(SO_FILE) $(DESTDIR)$(PREFIX)/lib/$(SO_FILE)
	ln -sf $(SO_FILE) $(DESTDIR)$(PREFIX)/lib/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(PREFIX)/lib/libdigits.so
	install -m 644 $(B)/libdigits.a $(DESTDIR)$(PREFIX)/lib/libdigits.a
	install -m 644 include/digits.h $(DESTDIR)$(PREFIX)/include/digits.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' digits.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/digits.pc
	install -m 644 docs/digits.1 $(DESTDIR)$(PREFIX)/share/man/man1/digits.1
	if [ -f completion/digits.bash ]; then \
	  install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions && \
	  install -m 644 completion/digits.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/digits; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALL_FILES))

check-install:
	@scripts/check-install.sh $(B)

$(B)/libdigits_synth.a: $(SYNTH_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/digits: $(CLI_OBJ) $(B)/libdigits.a
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/%: scripts/%.c $(LIBS)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIBS) $(LDLIBS) -o $@

# every DG_TEST(name) in tests/test_*.c, one X(name) line each
$(B)/tests/test_list.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	grep -ho '^DG_TEST([a-z0-9_]*)' $(filter tests/test_%,$^) | sed 's/^DG_TEST(\(.*\))/X(\1)/' > $@.tmp
	mv $@.tmp $@

$(B)/tests/run_tests.o: tests/run_tests.c $(B)/tests/test_list.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(B)/tests -c $< -o $@

# every layer file in src/nn/layers/ but the registry, one X(file) line each; the folder
# itself is a prerequisite so that adding or removing a file regenerates the list
LAYER_FILES := $(filter-out registry,$(basename $(notdir $(wildcard src/nn/layers/*.c))))
$(B)/tests/layer_files.h: src/nn/layers $(wildcard src/nn/layers/*.c)
	@mkdir -p $(dir $@)
	printf 'X(%s)\n' $(LAYER_FILES) > $@.tmp
	mv $@.tmp $@

$(B)/tests/test_layers.o: tests/test_layers.c $(B)/tests/layer_files.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I$(B)/tests -c $< -o $@

$(B)/run_tests: $(TEST_OBJ) $(LIBS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(LIBS)
	$(CC) $(CFLAGS) $(LDFLAGS) $< tests/fuzz/replay.c $(LIBS) $(LDLIBS) -o $@

$(B)/bench_%: bench/bench_%.c $(LIBS)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIBS) $(LDLIBS) -o $@

-include $(LIB_OBJ:.o=.d) $(PIC_OBJ:.o=.d) $(SYNTH_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) \
         $(FUZZ_BIN:=.d) $(BENCH_BIN:=.d) $(TOOL_BIN:=.d) $(FUZZ_SRC:tests/fuzz/%.c=$(B)/%.d)

deps:
	@scripts/install-deps.sh

browser-deps:
	@scripts/browser-deps.sh

data:
	@scripts/get-mnist.sh data/mnist

test: deps
	@$(MAKE) --no-print-directory all $(B)/run_tests $(FUZZ_BIN) $(BENCH_BIN)
	@scripts/run-fuzz-corpora.sh $(B)
	DIGITS_BIN=$(B)/digits $(B)/run_tests

# the tests of threads sharing one net; with TSAN=1, under ThreadSanitizer
test-threads:
	@$(MAKE) --no-print-directory $(B)/run_tests
	$(B)/run_tests threads_predict_shared_net

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/get-mnist.sh data/mnist
	@scripts/demo.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BIN)
	@scripts/bench.sh $(B)

bench-serve: deps
	@$(MAKE) --no-print-directory all
	@bench/serve_bench.sh $(B)

fuzz: fuzz-build
	@scripts/fuzz.sh run -t $(FUZZ_SECONDS) -j $(FUZZ_JOBS) $(FUZZ_TARGETS)

fuzz-corpus: fuzz-build
	@scripts/fuzz.sh merge $(FUZZ_TARGETS)

fuzz-build:
	$(MAKE) --no-print-directory CC=clang B=build-fuzz FUZZ=1 $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c build-fuzz/libdigits.a build-fuzz/libdigits_synth.a
	clang $(CFLAGS) -fsanitize=fuzzer,address,undefined $< build-fuzz/libdigits_synth.a \
	  build-fuzz/libdigits.a $(LDLIBS) -o $@

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

# a second compiler's warnings, as errors, over every program
check-clang:
	@$(MAKE) --no-print-directory CC=clang WERROR=1 B=build-clang programs

clean:
	rm -rf build build-san build-fuzz build-portable build-clang build-tsan
