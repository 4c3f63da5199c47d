# The core's test suite (tests/, fuzz/): API and corruption tests, the
# model-based random test, regressions of the tutorial heap, growth/shrink,
# the differential test of both indexes, valgrind and a short fuzz run.
# Binaries: build/<variant>/tests/<name>, compiled with that variant's flags
# and linked against build/<variant>/libholeheap.a.
#
#   check-api-{fast,table,asan,m32}       check-model-{fast,asan,m32,table}
#   check-regress-{fast,table,asan}       check-grow-{fast,asan,m32}
#   check-regions-{fast,table,asan,m32}   (issue 10: regions, max_alloc, stats, realloc, hooks)
#   check-diff  check-valgrind  check-fuzz-short        make fuzz (10 minutes)
#
# Model test sizes: MODEL_OPS_<variant> operations, hh_check every
# MODEL_EVERY_<variant> operations (1 = after every step).

TEST_NAMES   := test_api test_invariants test_model test_regress test_grow test_regions diff_replay
TEST_VARS    := fast table asan asan-table m32 m32-table
TEST_HDRS    := $(wildcard tests/*.h)
TEST_CMOCKA  := -lcmocka

MODEL_OPS_fast   := 2000000
MODEL_EVERY_fast := 1000
MODEL_OPS_asan   := 250000
MODEL_EVERY_asan := 1
MODEL_OPS_m32    := 1000000
MODEL_OPS_m32_qemu := 250000
MODEL_EVERY_m32  := 1000
MODEL_OPS_table  := 500000
MODEL_EVERY_table := 100
MODEL_OPS_valgrind := 20000
DIFF_SEEDS := 1 2 3 4 5
DIFF_GROW_SEEDS := 6 7 8
DIFF_OPS   := 200000
FUZZ_SHORT_SECONDS := 25
FUZZ_LONG_SECONDS  := 600

define test_rule
$(BUILD)/$(1)/tests/$(2): tests/$(2).c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/$(1)/libholeheap.a
	@mkdir -p $$(@D)
	$$(VCC_$(1)) $$(CORE_CFLAGS) $$(VFLAGS_$(1)) $$< $(BUILD)/$(1)/libholeheap.a $(TEST_CMOCKA) -o $$@
endef
$(foreach v,$(TEST_VARS),$(foreach t,$(TEST_NAMES),$(eval $(call test_rule,$(v),$(t)))))

# Run a test binary; on failure say which and fail.
run_test = $(1) $(2) || { echo "FAIL: $(1) $(2)"; exit 1; }

# 32-bit builds need gcc-multilib and the i386 cmocka (libcmocka-dev:i386).
TESTS_M32_OK = $(shell printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nint main(void){return 0;}\n' | \
  $(CC) -m32 -x c - -o /dev/null -lcmocka 2>/dev/null && echo yes)
m32_or_skip = $(m32_cannot_run); if [ "$(TESTS_M32_OK)" != yes ]; then \
  echo "SKIP: $(CC) -m32 cannot link cmocka (needs gcc-multilib and libcmocka-dev:i386)"; exit 0; fi

.PHONY: check-api-fast check-api-table check-api-asan check-api-m32
check-api-fast: $(BUILD)/fast/tests/test_api $(BUILD)/fast/tests/test_invariants
	@$(call run_test,$<) && $(call run_test,$(BUILD)/fast/tests/test_invariants)
check-api-table: $(BUILD)/table/tests/test_api $(BUILD)/table/tests/test_invariants
	@$(call run_test,$<) && $(call run_test,$(BUILD)/table/tests/test_invariants)
check-api-asan: $(foreach v,asan asan-table,$(BUILD)/$(v)/tests/test_api $(BUILD)/$(v)/tests/test_invariants)
	@for v in asan asan-table; do for t in test_api test_invariants; do \
	  $(call run_test,$(BUILD)/$$v/tests/$$t) || exit 1; done; done
check-api-m32:
	@$(m32_or_skip); $(MAKE) --no-print-directory $(foreach v,m32 m32-table,$(BUILD)/$(v)/tests/test_api $(BUILD)/$(v)/tests/test_invariants) && \
	  for v in m32 m32-table; do for t in test_api test_invariants; do \
	    $(call run_test,$(M32_RUN) $(BUILD)/$$v/tests/$$t) || exit 1; done; done

.PHONY: check-model-fast check-model-asan check-model-m32 check-model-table
check-model-fast: $(BUILD)/fast/tests/test_model
	@$(call run_test,$<,--seed 1 --ops $(MODEL_OPS_fast) --check-every $(MODEL_EVERY_fast))
check-model-asan: $(BUILD)/asan/tests/test_model
	@$(call run_test,$<,--seed 2 --ops $(MODEL_OPS_asan) --check-every $(MODEL_EVERY_asan))
check-model-m32:
	@$(m32_or_skip); $(MAKE) --no-print-directory $(BUILD)/m32/tests/test_model && \
	  $(call run_test,$(M32_RUN) $(BUILD)/m32/tests/test_model,--seed 3 --ops $(MODEL_OPS_m32$(if $(M32_RUN),_qemu)) --check-every $(MODEL_EVERY_m32))
check-model-table: $(BUILD)/table/tests/test_model
	@$(call run_test,$<,--seed 4 --ops $(MODEL_OPS_table) --check-every $(MODEL_EVERY_table) --poison)

.PHONY: check-regress-fast check-regress-table check-regress-asan
check-regress-fast: $(BUILD)/fast/tests/test_regress
	@$(call run_test,$<)
check-regress-table: $(BUILD)/table/tests/test_regress
	@$(call run_test,$<)
check-regress-asan: $(BUILD)/asan/tests/test_regress $(BUILD)/asan-table/tests/test_regress
	@$(call run_test,$(BUILD)/asan/tests/test_regress) && $(call run_test,$(BUILD)/asan-table/tests/test_regress)

.PHONY: check-grow-fast check-grow-asan check-grow-m32
check-grow-fast: $(BUILD)/fast/tests/test_grow
	@$(call run_test,$<)
check-grow-asan: $(BUILD)/asan/tests/test_grow
	@$(call run_test,$<)
check-grow-m32:
	@$(m32_or_skip); $(MAKE) --no-print-directory $(BUILD)/m32/tests/test_grow && \
	  $(call run_test,$(M32_RUN) $(BUILD)/m32/tests/test_grow)

## check-regions-fast: issue 10's additions (tests/test_regions.c): regions, hh_max_alloc exact against a model (front and strict), statistics, realloc's alignment and slide, hooks, and a random run over several regions with hh_check after every step
## check-regions-table: test_regions against the ordered-table index (its table moves into a new region)
## check-regions-asan: test_regions under ASan+UBSan, both indexes: the memory between regions is poisoned, so any read of it fails
## check-regions-m32: test_regions built -m32, both indexes
.PHONY: check-regions-fast check-regions-table check-regions-asan check-regions-m32
check-regions-fast: $(BUILD)/fast/tests/test_regions
	@$(call run_test,$<) && $(call run_test,$<,--model 21 40000)
check-regions-table: $(BUILD)/table/tests/test_regions
	@$(call run_test,$<) && $(call run_test,$<,--model 22 20000)
check-regions-asan: $(BUILD)/asan/tests/test_regions $(BUILD)/asan-table/tests/test_regions
	@$(call run_test,$(BUILD)/asan/tests/test_regions) && $(call run_test,$(BUILD)/asan-table/tests/test_regions)
check-regions-m32:
	@$(m32_or_skip); $(MAKE) --no-print-directory $(BUILD)/m32/tests/test_regions $(BUILD)/m32-table/tests/test_regions && \
	  $(call run_test,$(M32_RUN) $(BUILD)/m32/tests/test_regions) && $(call run_test,$(M32_RUN) $(BUILD)/m32-table/tests/test_regions)

# The differential test: the same seeded sequences through both indexes must
# give byte-identical traces (every allocation's offset, the final map), on a
# fixed arena and on one that grows and shrinks.
DIFF_RUNS := $(DIFF_SEEDS) $(addsuffix :grow,$(DIFF_GROW_SEEDS))
.PHONY: check-diff
check-diff: $(BUILD)/fast/tests/diff_replay $(BUILD)/table/tests/diff_replay
	@mkdir -p $(BUILD)/diff
	@for run in $(DIFF_RUNS); do \
	  s=$${run%%:*}; mode=$$(echo $$run | sed -n 's/.*://p'); f=$$s$${mode:+-$$mode}; \
	  $(BUILD)/fast/tests/diff_replay $$s $(DIFF_OPS) $$mode > $(BUILD)/diff/fast-$$f.txt || { echo "FAIL: diff_replay (fast) seed $$s $$mode"; exit 1; }; \
	  $(BUILD)/table/tests/diff_replay $$s $(DIFF_OPS) $$mode > $(BUILD)/diff/table-$$f.txt || { echo "FAIL: diff_replay (table) seed $$s $$mode"; exit 1; }; \
	  cmp $(BUILD)/diff/fast-$$f.txt $(BUILD)/diff/table-$$f.txt || \
	    { echo "FAIL: fast and table indexes placed blocks differently (seed $$s $$mode): diff $(BUILD)/diff/fast-$$f.txt $(BUILD)/diff/table-$$f.txt"; exit 1; }; \
	  echo "seed $$s $$mode: $$(wc -l < $(BUILD)/diff/fast-$$f.txt) identical trace lines"; \
	done

.PHONY: check-valgrind
check-valgrind: $(BUILD)/fast/tests/test_api $(BUILD)/fast/tests/test_model $(BUILD)/fast/tests/test_grow
	@if ! command -v valgrind >/dev/null; then echo "SKIP: valgrind not installed"; exit 0; fi; \
	vg="valgrind -q --error-exitcode=1 --leak-check=full"; \
	$$vg $(BUILD)/fast/tests/test_api || { echo "FAIL: valgrind test_api"; exit 1; }; \
	$$vg $(BUILD)/fast/tests/test_model --seed 5 --ops $(MODEL_OPS_valgrind) --check-every 10 || \
	  { echo "FAIL: valgrind test_model"; exit 1; }; \
	$$vg $(BUILD)/fast/tests/test_grow || { echo "FAIL: valgrind test_grow"; exit 1; }

# ---- libFuzzer
FUZZ_BIN := $(BUILD)/fuzz/fuzz_ops
$(FUZZ_BIN): fuzz/fuzz_ops.c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/fuzz/libholeheap.a
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -Itests -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $< $(BUILD)/fuzz/libholeheap.a -o $@

FUZZ_OK = $(shell echo 'int LLVMFuzzerTestOneInput(const char *d, long n){(void)d;(void)n;return 0;}' | \
  $(CLANG) -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null && echo yes)

.PHONY: check-fuzz-short fuzz
check-fuzz-short:
	@if [ "$(FUZZ_OK)" != yes ]; then echo "SKIP: $(CLANG) cannot link -fsanitize=fuzzer (libclang-rt)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(FUZZ_BIN) && mkdir -p $(BUILD)/fuzz/corpus-short $(BUILD)/fuzz/artifacts && \
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SHORT_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/artifacts/ \
	  $(BUILD)/fuzz/corpus-short $(wildcard fuzz/corpus-ops) 2>$(BUILD)/fuzz/short.log; rc=$$?; \
	grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' $(BUILD)/fuzz/short.log; \
	if [ $$rc != 0 ]; then tail -40 $(BUILD)/fuzz/short.log; echo "FAIL: fuzz_ops found a failure (log: $(BUILD)/fuzz/short.log)"; exit 1; fi

# The same target against the ordered table, for a shorter run.
FUZZ_TABLE_BIN := $(BUILD)/fuzz-table/fuzz_ops
$(FUZZ_TABLE_BIN): fuzz/fuzz_ops.c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/fuzz-table/libholeheap.a
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -DHH_INDEX_TABLE -Itests -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $< $(BUILD)/fuzz-table/libholeheap.a -o $@

.PHONY: check-fuzz-table
check-fuzz-table:
	@if [ "$(FUZZ_OK)" != yes ]; then echo "SKIP: $(CLANG) cannot link -fsanitize=fuzzer (libclang-rt)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(FUZZ_TABLE_BIN) && mkdir -p $(BUILD)/fuzz-table/corpus-short $(BUILD)/fuzz-table/artifacts && \
	$(FUZZ_TABLE_BIN) -max_total_time=10 -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz-table/artifacts/ \
	  $(BUILD)/fuzz-table/corpus-short 2>$(BUILD)/fuzz-table/short.log; rc=$$?; \
	grep -E '^(stat::number_of_executed_units|Done)' $(BUILD)/fuzz-table/short.log; \
	if [ $$rc != 0 ]; then tail -40 $(BUILD)/fuzz-table/short.log; echo "FAIL: fuzz_ops (table) found a failure"; exit 1; fi

## check-fuzz-table: libFuzzer on the ordered-table build for 10 s (ASan+UBSan)
CHECKS += check-fuzz-table

# The damage target (fuzz/fuzz_corrupt.c, issue 7): heaps overwritten as buggy
# programs do; no crash, hang, or block handed out outside the heap or over a
# live block; live blocks keep their bytes; the tags chain. Both index builds,
# FUZZ_CORRUPT_SECONDS each.
FUZZ_CORRUPT_SECONDS ?= 20
$(BUILD)/fuzz/fuzz_corrupt: fuzz/fuzz_corrupt.c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/fuzz/libholeheap.a
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -Itests -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $< $(BUILD)/fuzz/libholeheap.a -o $@
$(BUILD)/fuzz-table/fuzz_corrupt: fuzz/fuzz_corrupt.c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/fuzz-table/libholeheap.a
	@mkdir -p $(@D)
	$(CLANG) $(CORE_CFLAGS) -DHH_INDEX_TABLE -Itests -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $< $(BUILD)/fuzz-table/libholeheap.a -o $@

.PHONY: check-fuzz-corrupt
check-fuzz-corrupt:
	@if [ "$(FUZZ_OK)" != yes ]; then echo "SKIP: $(CLANG) cannot link -fsanitize=fuzzer (libclang-rt)"; exit 0; fi; \
	st=0; for v in fuzz fuzz-table; do \
	  bin=$(BUILD)/$$v/fuzz_corrupt; \
	  $(MAKE) --no-print-directory $$bin || { echo "FAIL: $$bin does not build"; st=1; continue; }; \
	  mkdir -p $(BUILD)/$$v/corpus-corrupt $(BUILD)/$$v/artifacts-corrupt; \
	  $$bin -max_total_time=$(FUZZ_CORRUPT_SECONDS) -timeout=10 -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/$$v/artifacts-corrupt/ $(BUILD)/$$v/corpus-corrupt \
	    fuzz/seeds/corrupt 2>$(BUILD)/$$v/corrupt.log; rc=$$?; \
	  grep -E '^(stat::number_of_executed_units|Done)' $(BUILD)/$$v/corrupt.log; \
	  if [ $$rc != 0 ]; then tail -30 $(BUILD)/$$v/corrupt.log; echo "FAIL: fuzz_corrupt ($$v) (log: $(BUILD)/$$v/corrupt.log)"; st=1; fi; \
	done; exit $$st

## check-fuzz-corrupt: libFuzzer overwrites heaps as buggy programs do (both indexes, ASan+UBSan): no crash, hang, block outside the heap or over a live one, live bytes changed, or tags' chain broken
CHECKS += check-fuzz-corrupt

fuzz: $(FUZZ_BIN)
	@mkdir -p fuzz/corpus-ops $(BUILD)/fuzz/artifacts
	$(FUZZ_BIN) -max_total_time=$(FUZZ_LONG_SECONDS) -print_final_stats=1 \
	  -artifact_prefix=$(BUILD)/fuzz/artifacts/ fuzz/corpus-ops

## check-api-fast: every public function and error path (test_api), and each invariant I1-I12 firing with its code (test_invariants), fast build
## check-api-table: test_api and test_invariants against the ordered-table index
## check-api-asan: test_api and test_invariants under ASan+UBSan, both indexes
## check-api-m32: test_api and test_invariants built -m32, both indexes
## check-model-fast: 2 million random operations against a reference model, every live block's bytes verified
## check-model-asan: the model test under ASan+UBSan with hh_check after every step
## check-model-m32: the model test built -m32
## check-model-table: the model test on the ordered table with HH_POISON
## check-diff: the same random sequences through both indexes place every block at the same offset
## check-regress-fast: one test per failure of the classic tutorial heap (docs/design.md)
## check-regress-table: the regression tests on the ordered table
## check-regress-asan: the regression tests under ASan+UBSan, both indexes
## check-grow-fast: growth and shrinking through callbacks: failing and lying callbacks, limits, no thrashing
## check-grow-asan: the growth tests under ASan+UBSan
## check-grow-m32: the growth tests built -m32
## check-valgrind: test_api, test_model and test_grow under valgrind memcheck
## check-fuzz-short: libFuzzer on the fast build (ASan+UBSan) from the seed corpus for 25 s
CHECKS += check-api-fast check-api-table check-api-asan check-api-m32 \
          check-model-fast check-model-asan check-model-m32 check-model-table \
          check-diff check-regress-fast check-regress-table check-regress-asan \
          check-grow-fast check-grow-asan check-grow-m32 check-valgrind check-fuzz-short \
          check-regions-fast check-regions-table check-regions-asan check-regions-m32
