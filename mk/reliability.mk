# Reliability (issue 9): fault injection, the corruption matrix, static
# analysis and the long fuzzing run. docs/reliability.md reports their results.
#
#   make fuzz-long     every libFuzzer target at once for FUZZ_LONG_TIME seconds each
#                      (default 1800) from the seeds in the repository, then the
#                      llvm-cov coverage of src/ by the seeds and by the grown corpora

# scan-build (clang-tools-14), cppcheck, llvm-cov and llvm-profdata (llvm-14)
DEPS_PACKAGES += clang-tools-14 cppcheck llvm-14

# ---- the long fuzzing run
FUZZ_LONG_TIME ?= 1800
FUZZ_LONG_DIR     := $(BUILD)/fuzz-long
FUZZ_OPS_SEEDS    := fuzz/seeds/ops
FUZZ_TRACE_SEEDS  := tests/tools/corpus
COV_FLAGS         := -O1 -g -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping

# Coverage builds: the target and the core's sources in one program, no sanitizer.
$(FUZZ_LONG_DIR)/cov-ops-fast: fuzz/fuzz_ops.c $(TEST_HDRS) $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -Itests $(COV_FLAGS) fuzz/fuzz_ops.c $(CORE_SRCS) -o $@
$(FUZZ_LONG_DIR)/cov-ops-table: fuzz/fuzz_ops.c $(TEST_HDRS) $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -Itests -DHH_INDEX_TABLE $(COV_FLAGS) fuzz/fuzz_ops.c $(CORE_SRCS) -o $@
$(FUZZ_LONG_DIR)/cov-corrupt-fast: fuzz/fuzz_corrupt.c $(TEST_HDRS) $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -Itests $(COV_FLAGS) fuzz/fuzz_corrupt.c $(CORE_SRCS) -o $@
$(FUZZ_LONG_DIR)/cov-corrupt-table: fuzz/fuzz_corrupt.c $(TEST_HDRS) $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -Itests -DHH_INDEX_TABLE $(COV_FLAGS) fuzz/fuzz_corrupt.c $(CORE_SRCS) -o $@
$(FUZZ_LONG_DIR)/cov-trace: tools/fuzz_trace.c tools/trace.c tools/replay.c tools/core_fast.c $(TOOLS_HDRS) $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CLANG) $(TOOLS_CFLAGS) -Isrc -fno-strict-aliasing $(COV_FLAGS) tools/fuzz_trace.c tools/trace.c tools/replay.c \
	  tools/core_fast.c $(CORE_SRCS) -o $@

FUZZ_CORRUPT_SEEDS := fuzz/seeds/corrupt
FUZZ_LONG_BINS := $(FUZZ_BIN) $(FUZZ_TABLE_BIN) $(TOOLS_FUZZ_BIN) $(BUILD)/fuzz/fuzz_corrupt $(BUILD)/fuzz-table/fuzz_corrupt \
                  $(FUZZ_LONG_DIR)/cov-ops-fast $(FUZZ_LONG_DIR)/cov-ops-table $(FUZZ_LONG_DIR)/cov-trace \
                  $(FUZZ_LONG_DIR)/cov-corrupt-fast $(FUZZ_LONG_DIR)/cov-corrupt-table

.PHONY: fuzz-long
fuzz-long:
	@if [ "$(FUZZ_OK)" != yes ]; then echo "SKIP: $(CLANG) cannot link -fsanitize=fuzzer (libclang-rt)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(FUZZ_LONG_BINS) >/dev/null || exit 1; \
	sh fuzz/fuzz_long.sh $(FUZZ_LONG_TIME) $(FUZZ_LONG_DIR) \
	  ops-fast:$(FUZZ_BIN):$(FUZZ_LONG_DIR)/cov-ops-fast:$(FUZZ_OPS_SEEDS) \
	  ops-table:$(FUZZ_TABLE_BIN):$(FUZZ_LONG_DIR)/cov-ops-table:$(FUZZ_OPS_SEEDS) \
	  trace:$(TOOLS_FUZZ_BIN):$(FUZZ_LONG_DIR)/cov-trace:$(FUZZ_TRACE_SEEDS) \
	  corrupt-fast:$(BUILD)/fuzz/fuzz_corrupt:$(FUZZ_LONG_DIR)/cov-corrupt-fast:$(FUZZ_CORRUPT_SEEDS) \
	  corrupt-table:$(BUILD)/fuzz-table/fuzz_corrupt:$(FUZZ_LONG_DIR)/cov-corrupt-table:$(FUZZ_CORRUPT_SEEDS)

# ---- static analysis of src/, port/ and tools/hh-replay.c: no finding, or one suppressed with its reason
#   check-static  clang's analyzer (scan-build), cppcheck and gcc -fanalyzer; each SKIPs
#                 when its tool is missing (.ci/run installs clang-tools-14 and cppcheck)
# The core is analysed in both index builds, the port (and the replayer of its
# traces, tools/hh-replay.c) with the port's flags.
STATIC_PORT_SRCS := $(wildcard port/*.c) tools/hh-replay.c
STATIC_CORE_FLAGS := $(CORE_CFLAGS) -O1
STATIC_PORT_FLAGS := $(WARN) -D_DEFAULT_SOURCE -Iinclude -O1 -fno-strict-aliasing -mcx16
CPPCHECK_FLAGS := --std=c11 --enable=warning,style,performance,portability --quiet --error-exitcode=1 \
  -UHH_CONFIG_HEADER -Iinclude -Isrc -Iport --suppressions-list=tests/static/cppcheck.supp \
  --template='{file}:{line}: {severity} ({id}): {message}'
SCAN_BUILD := $(shell command -v scan-build || command -v scan-build-14)
# security's DeprecatedOrUnsafeBufferHandling is off: it asks for memset_s (C11
# Annex K), which neither glibc nor a freestanding core has.
SCAN_CHECKERS := -enable-checker security,unix,nullability,optin.portability \
  -disable-checker security.insecureAPI.DeprecatedOrUnsafeBufferHandling

# Compile every file once per configuration with $(1) as the compiler (scan-build wraps it).
static_compile = for f in $(CORE_SRCS); do \
    $(1) $(STATIC_CORE_FLAGS) -c $$f -o /dev/null && $(1) $(STATIC_CORE_FLAGS) -DHH_INDEX_TABLE -c $$f -o /dev/null || exit 1; \
  done; for f in $(STATIC_PORT_SRCS); do $(1) $(STATIC_PORT_FLAGS) -c $$f -o /dev/null || exit 1; done

.PHONY: check-static check-static-scan check-static-cppcheck check-static-gcc
## check-static: scan-build, cppcheck and gcc -fanalyzer over src/ (both indexes), port/ and tools/hh-replay.c: no finding unless suppressed with its reason
check-static: check-static-scan check-static-cppcheck check-static-gcc

check-static-scan:
	@if [ -z "$(SCAN_BUILD)" ]; then echo "SKIP: scan-build not installed (clang-tools-14)"; exit 0; fi; \
	rm -rf $(BUILD)/scan-build; \
	$(SCAN_BUILD) -o $(BUILD)/scan-build --status-bugs $(SCAN_CHECKERS) --use-cc=$(CLANG) \
	  sh -c '$(call static_compile,$$CC)' > $(BUILD)/scan-build.log 2>&1 || \
	  { cat $(BUILD)/scan-build.log; echo "FAIL: scan-build found bugs (report in $(BUILD)/scan-build)"; exit 1; }; \
	grep -E 'No bugs found' $(BUILD)/scan-build.log

check-static-cppcheck:
	@command -v cppcheck >/dev/null || { echo "SKIP: cppcheck not installed"; exit 0; }; \
	cppcheck $(CPPCHECK_FLAGS) src/ port/ tools/hh-replay.c || { echo "FAIL: cppcheck (suppress only with a reason, tests/static/cppcheck.supp)"; exit 1; }; \
	echo "cppcheck: no findings in src/, port/ and tools/hh-replay.c ($$(grep -c '^[a-zA-Z]' tests/static/cppcheck.supp) suppressed with reasons)"

check-static-gcc:
	@printf 'int main(void){return 0;}\n' | $(CC) -fanalyzer -x c - -o /dev/null 2>/dev/null || \
	  { echo "SKIP: $(CC) has no -fanalyzer (gcc 10 or later)"; exit 0; }; \
	$(call static_compile,$(CC) -fanalyzer) || { echo "FAIL: gcc -fanalyzer"; exit 1; }; \
	echo "gcc -fanalyzer: no findings in src/ (both indexes), port/ and tools/hh-replay.c"

CHECKS += check-static

# ---- fault injection and the lock checker (tests/test_faults.c)
#   check-faults   in the fast, table and ASan+UBSan builds
REL_VARS := fast table asan
define rel_test_rule
$(BUILD)/$(1)/tests/$(2): tests/$(2).c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/$(1)/libholeheap.a
	@mkdir -p $$(@D)
	$$(VCC_$(1)) $$(CORE_CFLAGS) $$(VFLAGS_$(1)) $$< $(BUILD)/$(1)/libholeheap.a -lcmocka -o $$@
endef
$(foreach v,$(REL_VARS),$(eval $(call rel_test_rule,$(v),test_faults)))

.PHONY: check-faults
## check-faults: each grow and shrink call of a workload failing, short, refusing, partial or lying in turn (heap consistent after every call); every public call path locks in pairs, on_error as documented
check-faults: $(foreach v,$(REL_VARS),$(BUILD)/$(v)/tests/test_faults)
	@for v in $(REL_VARS); do echo "-- $$v"; $(BUILD)/$$v/tests/test_faults | grep -E '^\[ (faults|locks|  PASSED|  FAILED)' || \
	  { echo "FAIL: $(BUILD)/$$v/tests/test_faults"; exit 1; }; done

CHECKS += check-faults

# ---- the corruption matrix (tests/corrupt_matrix.c): every bit of the tags,
# index links, fences and control block flipped, and writes after free of 1-64
# bytes at every offset of freed blocks; rows not caught must be named, with
# their reason, in tests/corrupt_matrix.allow. The table: docs/reliability.md.
#   check-corrupt-matrix   fast and table builds
#   build/<variant>/tests/corrupt_matrix [--part flips|uaf]   prints the table
$(foreach v,fast table,$(eval $(call rel_test_rule,$(v),corrupt_matrix)))

.PHONY: check-corrupt-matrix
## check-corrupt-matrix: every bit of tags, index links, fences and control block flipped, writes after free at every offset: caught as tests/corrupt_matrix.allow documents, nothing unsafe (fast, table)
check-corrupt-matrix: $(BUILD)/fast/tests/corrupt_matrix $(BUILD)/table/tests/corrupt_matrix
	@for v in fast table; do \
	  $(BUILD)/$$v/tests/corrupt_matrix > $(BUILD)/$$v/corrupt_matrix.md; rc=$$?; \
	  grep -E '^(UNSAFE|WRONG|.*NOT ALLOWED)' $(BUILD)/$$v/corrupt_matrix.md | head -20; \
	  echo "$$v: $$(tail -2 $(BUILD)/$$v/corrupt_matrix.md | head -1)"; \
	  [ $$rc = 0 ] || { echo "FAIL: corrupt_matrix ($$v): table in $(BUILD)/$$v/corrupt_matrix.md"; exit 1; }; \
	done

CHECKS += check-corrupt-matrix
