# Parrot - top-level build. GNU make (on macOS `make`, on the BSDs `gmake`).
#
#   make final && ./final/parrot -port 1512     run the production server
#   make test                                   build everything, run every test suite
#   make help                                   every target, one line each
#
# Each step directory also builds by itself: cd steps/04-multi-client && make

CC      ?= cc
CFLAGS  ?= -std=c11 -Wall -Wextra -Werror -O2 -g
LDFLAGS ?=

# TARGET_OS, KQUEUE_LAYER, NATIVE_BACKEND and BACKENDS: what $(CC) builds for.
include mk/platform.mk

# make test SANITIZE=1: the same build and tests under AddressSanitizer and
# UndefinedBehaviorSanitizer. Any report fails the run. Leaks are looked for
# on Linux only: LeakSanitizer exists nowhere else, and macOS's ASan aborts
# every process that asks for it ("detect_leaks is not supported"). ASan keeps
# freed memory in quarantine before reusing it (256 MiB by default), which
# makes a server's resident memory grow with every buffer it frees; 8 MiB still
# catches a use after a recent free, and keeps the tests' memory bounds true
# (tests/support/metrics.h: H_RSS_SLACK_KB).
ifeq ($(SANITIZE),1)
CFLAGS  := -std=c11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
           -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS := -fsanitize=address,undefined
ifeq ($(TARGET_OS),Linux)
export ASAN_OPTIONS  ?= abort_on_error=0:detect_leaks=1:quarantine_size_mb=8
else
export ASAN_OPTIONS  ?= abort_on_error=0:quarantine_size_mb=8
endif
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
endif

# PARROT_TRACE=1 makes a program built with the kqueue microscope (tools/kqueue-trace) print
# every kevent() on stderr, which the suites compare exactly: keep it from every recipe here.
# (tests/trace sets it itself where it wants it.)
unexport PARROT_TRACE

STEP_DIRS   := $(sort $(patsubst %/,%,$(dir $(wildcard steps/[0-9][0-9]-*/Makefile))))
STEP_NUMS   := $(foreach d,$(STEP_DIRS),$(firstword $(subst -, ,$(notdir $(d)))))
# Suites run in this order; a suite whose directory has no Makefile yet is left out.
TEST_SUITES := $(foreach s,kqueue trace steps exercises final bench install,$(if $(wildcard tests/$(s)/Makefile),$(s)))
SUB         := --no-print-directory CC="$(CC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)"
BACKEND     ?=

.PHONY: all steps final test test-kqueue test-trace test-steps test-exercises test-final test-bench test-deps install \
        uninstall bench bench-deps check-macos fuzz fuzz-short chaos soak memcheck \
        format format-check lint pictures clean help flags \
        $(addprefix step-,$(STEP_NUMS)) $(addprefix diff-,$(STEP_NUMS))

all: steps final ## build every step and the final server

# --- rebuild everything when the compiler or its flags change ---------------
# Sub-makes only compare timestamps, so a switch between a normal and a
# SANITIZE=1 build would otherwise reuse stale binaries.
BUILD_ID := $(CC) | $(CFLAGS) | $(LDFLAGS)
flags:
	@mkdir -p .build
	@if [ "$$(cat .build/flags 2>/dev/null)" != '$(BUILD_ID)' ]; then \
	    $(MAKE) --no-print-directory clean-products >/dev/null; \
	    echo '$(BUILD_ID)' > .build/flags; \
	fi

# --- building ---------------------------------------------------------------
steps: flags ## build every workshop step (steps/NN-*)
	@for d in $(STEP_DIRS); do $(MAKE) $(SUB) -C $$d || exit 1; done

$(addprefix step-,$(STEP_NUMS)): step-%: flags ## build one step: make step-04
	@$(MAKE) $(SUB) -C $(wildcard steps/$*-*)

final: flags ## build the production server: ./final/parrot (BACKEND=kqueue for kqueue on Linux)
	@$(MAKE) $(SUB) -C final $(if $(BACKEND),BACKEND=$(BACKEND))

# --- testing ----------------------------------------------------------------
test-deps: ## install Criterion and pkg-config if missing (and ps, lsof for PARROT_PORTABLE_METRICS=1)
	@tools/ensure-criterion
	@tools/ensure-metrics-tools

test: test-deps flags ## build every stage and run every test suite (SANITIZE=1: under ASan+UBSan)
	@fail=0; for s in $(TEST_SUITES); do \
	    case $$s in steps|exercises) $(MAKE) --no-print-directory steps || { fail=1; continue; };; esac; \
	    echo "==== tests/$$s"; \
	    $(MAKE) $(SUB) -C tests/$$s check || fail=1; \
	done; exit $$fail

test-kqueue: test-deps flags ## the kqueue conformance suite (against the Linux layer here)
	@$(MAKE) $(SUB) -C tests/kqueue check

test-trace: test-deps flags ## the kqueue microscope's test: what PARROT_TRACE=1 prints (tools/kqueue-trace)
	@$(MAKE) $(SUB) -C tests/trace check

test-steps: test-deps steps ## the workshop suite, run against every step
	@$(MAKE) $(SUB) -C tests/steps check

test-exercises: test-deps steps ## the lessons' answers: each exercise's outcome, checked (tests/exercises)
	@$(MAKE) $(SUB) -C tests/exercises check

test-final: test-deps flags ## final/'s unit and integration tests, every backend (BACKENDS)
	@$(MAKE) $(SUB) -C tests/final check

test-bench: test-deps flags ## the benchmark tools' tests (percentiles, arguments, a smoke run)
	@$(MAKE) $(SUB) -C tests/bench check

# --- benchmark and portability ----------------------------------------------
bench: final ## side-by-side benchmark into docs/benchmarks.md (QUICK=1: a one-minute smoke)
	@$(MAKE) --no-print-directory -C tools/bench run $(if $(QUICK),QUICK=$(QUICK))

bench-deps: ## install the benchmark peers' toolchains (Debian/Ubuntu) or name the command
	@$(MAKE) --no-print-directory -C tools/bench deps

check-macos: ## compile and link every C program (steps, final, tests, tools) for x86_64 and arm64 macOS
	@tools/check-macos

# --- hardening -----------------------------------------------------------------
FUZZ_SECONDS ?= 60
DURATION     ?= 600

fuzz: ## run every libFuzzer target FUZZ_SECONDS (default 60) from its seed corpus
	@$(MAKE) --no-print-directory -C tests/fuzz fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

fuzz-short: ## the CI version of make fuzz: each target about 20 s
	@$(MAKE) --no-print-directory -C tests/fuzz fuzz-short

chaos: flags ## parrot-chaos against final/ (every backend) for 30 s each: every byte checked
	@$(MAKE) $(SUB) -C final backends
	@$(MAKE) $(SUB) -C tools/chaos
	@for b in $(BACKENDS); do \
	    tools/chaos/chaos-run -d 30s -- final/build/$$b/parrot -port 0 -log /dev/null || exit 1; \
	done

soak: ## final/ under parrot-chaos for DURATION seconds (default 600), RSS and descriptors watched
	@tools/soak $(DURATION)

memcheck: ## final/ (both backends) under valgrind memcheck through a short real workload
	@tools/memcheck

# --- reading the workshop -----------------------------------------------------
$(addprefix diff-,$(STEP_NUMS)): diff-%: ## what step NN changed: make diff-05
	@tools/stepdiff $$(printf '%02d' $$(( 1$* - 101 ))) $*

# --- style --------------------------------------------------------------------
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format: ## reformat every C file with clang-format
	@clang-format -i $(C_FILES)

format-check: ## fail if any C file is not clang-formatted
	@clang-format --dry-run --Werror $(C_FILES) && echo "format: clean"

# clang-tidy with .clang-tidy: one file per process (clang-tidy 14 carries
# analyzer state from file to file), two at a time; a file's report is
# printed whole, and only if it has findings. Where kqueue comes from the
# layer, the layer is checked too, and its <sys/event.h> is the one seen;
# parrot-bench's poller.c is checked with the native backend.
TIDY_LAYER := $(filter yes,$(KQUEUE_LAYER))
TIDY_FILES  = $(wildcard final/src/*.c steps/*/main.c tools/bench/*.c tools/chaos/*.c tools/common/*.c \
                        tools/kqueue-trace/*.c) \
              $(if $(TIDY_LAYER),tools/kqueue-linux/kqueue.c)
TIDY_FLAGS  = -std=c11 -I tools/common -I final/src -DPOLLER_$(NATIVE_BACKEND) \
              $(if $(TIDY_LAYER),-I tools/kqueue-linux/include)

# varFuncNullUB: POSIX defines NULL as (void *)0, so NULL ends a variadic
# argument list safely (execl does the same). toomanyconfigs: a note, not a
# finding; tools/kqueue-trace/kqtrace.c has a table row under #ifdef for each
# flag a system may lack, and cppcheck says it checks only 12 of the combinations.
lint: format-check ## format check, cppcheck, clang-tidy and mandoc on the man page
	@cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability,performance \
	    --library=tests/criterion.cfg --suppress=missingIncludeSystem --suppress=varFuncNullUB \
	    --suppress=toomanyconfigs \
	    --inline-suppr -I tests/support -I tools/common -I final/src -I tools/kqueue-linux/include \
	    $(filter %.c,$(C_FILES)) && echo "cppcheck: clean"
	@printf '%s\n' $(TIDY_FILES) | xargs -n 1 -P 2 sh -c \
	    'out=$$(clang-tidy --quiet "$$1" -- $(TIDY_FLAGS) 2>&1) || { echo "$$out" | grep -v "warnings* generated\.$$"; exit 1; }' sh \
	    && echo "clang-tidy: clean"
	@# At WARNING level: the STYLE notes below it ("referenced manual not found") say which other
	@# manuals this machine happens to have installed, not what is wrong with the page.
	@command -v mandoc >/dev/null || { echo "lint: mandoc is missing (Debian: apt-get install mandoc)"; exit 1; }
	@mandoc -Tlint -Wwarning man/parrot.1 && echo "mandoc: clean"

# --- pictures -----------------------------------------------------------------
# docs/pictures/NAME.svg is drawn by Graphviz's dot from NAME.dot. The .svg files are committed,
# so that a reader needs nothing installed; this redraws every one (a second's work, and a fresh
# checkout's timestamps cannot tell which is older than its source), each through a temporary
# file, so that a source dot refuses never leaves half a picture behind.
PICTURE_SOURCES = $(sort $(wildcard docs/pictures/*.dot))

pictures: ## redraw docs/pictures/*.svg from their .dot sources (Graphviz: apt-get install graphviz)
	@command -v dot >/dev/null 2>&1 || { echo "pictures: dot is missing (Debian: apt-get install graphviz; macOS: brew install graphviz)"; exit 1; }
	@for f in $(PICTURE_SOURCES); do \
	    svg=$${f%.dot}.svg; \
	    dot -Tsvg -o "$$svg.tmp" "$$f" && mv "$$svg.tmp" "$$svg" || { rm -f "$$svg.tmp"; exit 1; }; \
	    echo "pictures: $$svg"; \
	done

# --- installing ---------------------------------------------------------------
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

install: final ## install parrot and its man page (PREFIX=/usr/local, BINDIR, MANDIR, DESTDIR)
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)/man1"
	install -m 755 final/parrot "$(DESTDIR)$(BINDIR)/parrot"
	install -m 644 man/parrot.1 "$(DESTDIR)$(MANDIR)/man1/parrot.1"

uninstall: ## remove what make install put there (the same variables)
	rm -f "$(DESTDIR)$(BINDIR)/parrot" "$(DESTDIR)$(MANDIR)/man1/parrot.1"

# --- cleaning -----------------------------------------------------------------
clean-products:
	@for d in $(STEP_DIRS) final $(addprefix tests/,$(TEST_SUITES)) $(wildcard tests/fuzz tools/bench tools/chaos); do \
	    [ -f $$d/Makefile ] && $(MAKE) --no-print-directory -C $$d clean >/dev/null; \
	done; true

clean: clean-products ## remove everything the build made
	@rm -rf .build

help: ## this list
	@# One shell for the whole list, deaf to SIGPIPE: a reader that stops early (make help | head)
	@# is no error.
	@trap "" PIPE; { echo "Parrot: make TARGET (GNU make; gmake on the BSDs)"; \
	  awk '/^[a-z$$][^:]*:.*## / { \
	    name = $$0; sub(/:.*/, "", name); \
	    if (sub(/^\$$\(addprefix /, "", name)) sub(/,.*/, "NN", name); \
	    text = $$0; sub(/^.*## /, "", text); \
	    printf "  %-15s %s\n", name, text }' $(MAKEFILE_LIST); \
	  echo "Variables: SANITIZE=1 (ASan+UBSan), BACKEND=epoll|kqueue (final), QUICK=1 (bench), CC=clang"; \
	  echo "Environment: PARROT_PORTABLE_METRICS=1 make test: the tests read memory, descriptors and CPU"; \
	  echo "  time with ps and lsof, as on systems without /proc, libproc or kinfo_proc"; \
	} 2>/dev/null || true
