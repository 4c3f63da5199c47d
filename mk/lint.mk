# Style kept by tools (issue 8 item 4). `make lint` runs all three; `make test` runs it as one check.
#
#   lint-format    clang-format 14 --dry-run with .clang-format over every C file of src/ include/
#                  port/ kernel/ tools/ tests/ fuzz/ bench/ demo/ except LINT_FORMAT_PENDING
#   lint-tidy      clang-tidy's function-complexity ceiling (.clang-tidy) over src/, port/,
#                  kernel/*.c and tools/, each with the flags its build uses
#   lint-warnings  the build's warning flags (WARN, -Werror) with gcc and with clang over the
#                  same code (-fsyntax-only): the regular builds compile most of it with one only
#
# Reformat a file: clang-format -i FILE (then drop it from LINT_FORMAT_PENDING).

CLANG_FORMAT ?= clang-format
CLANG_TIDY   ?= clang-tidy

LINT_DIRS    := src include port kernel tools tests fuzz bench demo
# Tracked files (every file in a tree that is not a git clone).
LINT_C_FILES = $(shell { git ls-files -- $(LINT_DIRS) 2>/dev/null || find $(LINT_DIRS) -type f; } | \
                 grep -E '\.[ch]$$' | sort)

# Files written by hand before .clang-format existed that it would still change:
# trailing comments aligned by hand in groups other than clang-format's, lines
# broken short of column 120 that it would join (and a few past 120 it would
# break), several case labels on one line, brace initialisers in macros. They
# are left alone while other work edits them; formatting one is
# `clang-format -i FILE` and removing it here (lint-format names the listed
# files that have come to fit, so that the list can only shrink).
LINT_FORMAT_PENDING := \
  include/holeheap.h \
  src/check.c src/heap.c src/index.h src/index_fast.c src/index_table.c src/tag.h \
  port/arena.c port/glue.c port/malloc.c port/port.h port/tcache.c port/trace.c \
  kernel/console.c kernel/console.h kernel/cpu.c kernel/entropy.h kernel/interrupts.c kernel/kheap.c \
  kernel/kheap.h kernel/klock.h kernel/kmalloc.h kernel/main.c kernel/ports.h kernel/sched.c \
  kernel/selftest.c kernel/selftest_threads.c kernel/timer.c kernel/tutorial_heap.c kernel/tutorial_heap.h \
  kernel/tutorial_hooks.c \
  tools/commands.c tools/core_fast.c tools/core_table.c tools/heapmap.h tools/hh-replay.c tools/holeheap.c \
  tools/html.c tools/output.c tools/output.h tools/replay.c tools/replay.h tools/svg.c tools/trace.c \
  tests/diff_replay.c tests/port/corrupt.c tests/port/threads.c tests/port/unit.c \
  tests/test_api.c tests/test_corrupt.c tests/test_index.c tests/testutil.h \
  fuzz/fuzz_ops.c bench/bench_core.c bench/port/timer.c bench/port/server.c

# The version the style was tuned with: other versions lay out some code differently.
LINT_FORMAT_VERSION := 14

# clang-tidy: each group of files with the flags of its build.
LINT_TIDY_GROUPS := core port kernel tools
LINT_TIDY_FILES_core   = $(CORE_SRCS)
LINT_TIDY_FLAGS_core   = $(CORE_CFLAGS)
LINT_TIDY_FILES_port   = $(PORT_SRCS)
LINT_TIDY_FLAGS_port   = $(filter-out -flto% -ffat-lto-objects,$(PORT_CFLAGS))
LINT_TIDY_FILES_kernel = $(wildcard kernel/*.c)
LINT_TIDY_FLAGS_kernel = $(filter-out -march=% -mno-%,$(KERNEL_CFLAGS))
LINT_TIDY_FILES_tools  = $(filter-out tools/fuzz_trace.c,$(wildcard tools/*.c))
LINT_TIDY_FLAGS_tools  = $(TOOLS_CFLAGS) -I$(TOOLS_DIR)

.PHONY: lint lint-format lint-tidy lint-warnings
## lint: clang-format (.clang-format), clang-tidy's complexity ceiling (.clang-tidy) and the warning flags with gcc and clang
CHECKS += lint
lint: lint-format lint-tidy lint-warnings

lint-format:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "SKIP: $(CLANG_FORMAT) is not installed (make deps)"; exit 0; }; \
	v=$$($(CLANG_FORMAT) --version | sed -n 's/.*version \([0-9]*\).*/\1/p'); \
	if [ "$$v" != $(LINT_FORMAT_VERSION) ]; then \
	  echo "SKIP: .clang-format is tuned for clang-format $(LINT_FORMAT_VERSION), this is $$v"; exit 0; fi; \
	files="$(filter-out $(LINT_FORMAT_PENDING),$(LINT_C_FILES))"; \
	bad=$$($(CLANG_FORMAT) --style=file --dry-run -Werror $$files 2>&1 | \
	  sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u); \
	pending="$(filter $(LINT_C_FILES),$(LINT_FORMAT_PENDING))"; \
	differ=" $$([ -z "$$pending" ] || $(CLANG_FORMAT) --style=file --dry-run -Werror $$pending 2>&1 | \
	  sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u | tr '\n' ' ')"; \
	fits=; for f in $$pending; do case "$$differ" in *" $$f "*) ;; *) fits="$$fits $$f";; esac; done; \
	echo "lint-format: $$(echo $$files | wc -w) files checked, $(words $(LINT_FORMAT_PENDING)) pending (mk/lint.mk)"; \
	if [ -n "$$bad" ]; then echo "FAIL: not formatted as .clang-format says (fix: clang-format -i FILE):"; \
	  for f in $$bad; do echo "  $$f"; done; fi; \
	if [ -n "$$fits" ]; then echo "note: formatted now, to drop from LINT_FORMAT_PENDING in mk/lint.mk:$$fits"; fi; \
	[ -z "$$bad" ]

# Each group: clang-tidy over its files with its build's flags (WARN: a compiler
# warning is an error here too); the ceiling's findings are errors (.clang-tidy).
lint_tidy_group = out=$$($(CLANG_TIDY) --quiet $(LINT_TIDY_FILES_$(1)) -- $(LINT_TIDY_FLAGS_$(1)) 2>&1) || \
  { echo "$$out" | grep -v 'warnings\? generated\.$$'; echo "FAIL: clang-tidy ($(1)): see above"; st=1; };

lint-tidy: $(BUILD)/tools/map_assets.h
	@command -v $(CLANG_TIDY) >/dev/null || { echo "SKIP: $(CLANG_TIDY) is not installed (make deps)"; exit 0; }; \
	st=0; $(foreach g,$(LINT_TIDY_GROUPS),$(call lint_tidy_group,$(g))) \
	[ $$st = 0 ] && echo "lint-tidy: $(words $(foreach g,$(LINT_TIDY_GROUPS),$(LINT_TIDY_FILES_$(g)))) files within .clang-tidy's ceiling"; \
	exit $$st

# Both compilers, syntax only, each group with its build's flags.
lint_warn_group = $(2) $(LINT_TIDY_FLAGS_$(1)) -fsyntax-only $(LINT_TIDY_FILES_$(1)) || \
  { echo "FAIL: $(2) warns about $(1) (flags: WARN)"; st=1; };

lint-warnings: $(BUILD)/tools/map_assets.h
	@st=0; for cc in $(CC) $(CLANG); do command -v $$cc >/dev/null || { echo "SKIP: $$cc is not installed"; continue; }; \
	  $(foreach g,$(LINT_TIDY_GROUPS),$(call lint_warn_group,$(g),$$cc)) \
	done; [ $$st = 0 ] && echo "lint-warnings: no warning from $(CC) or $(CLANG)"; exit $$st
