# Style kept by tools (issue 8 item 4). `make lint` runs all three; `make test` runs it as one check.
#
#   lint-format    clang-format 14 --dry-run with .clang-format over every C file of src/ include/
#                  port/ kernel/ tools/ tests/ fuzz/ bench/ demo/ except LINT_FORMAT_PENDING
#   lint-tidy      clang-tidy's function-complexity ceiling (.clang-tidy) over src/, port/,
#                  kernel/*.c and tools/, each with the flags its build uses
#   lint-warnings  the build's warning flags (WARN, -Werror) with gcc and with clang over the
#                  same code (-fsyntax-only): the regular builds compile most of it with one only
#
# Reformat a file: clang-format -i FILE.

CLANG_FORMAT ?= clang-format
CLANG_TIDY   ?= clang-tidy

LINT_DIRS    := src include port kernel tools tests fuzz bench demo
# Tracked files (every file in a tree that is not a git clone).
LINT_C_FILES = $(shell { git ls-files -- $(LINT_DIRS) 2>/dev/null || find $(LINT_DIRS) -type f; } | \
                 grep -E '\.[ch]$$' | sort)

# Files not yet in .clang-format's layout, which lint-format skips: none. Issue 8
# formatted the last of those written by hand before .clang-format existed;
# where its layout was worse, a `/* clang-format off */` region keeps the one
# made by hand. lint-format names any listed file that has come to fit.
LINT_FORMAT_PENDING :=

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
