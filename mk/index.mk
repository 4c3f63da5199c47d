# The hole index's unit tests: tests/test_index.c compiled against each index
# (src/index_fast.c, or src/index_table.c with -DHH_INDEX_TABLE) and nothing
# else of the core, in plain, sanitizer and 32-bit builds.
#   check-index-fast   check-index-table   check-index-asan   check-index-m32

# A corrupted tree can send a broken build into a loop: cap each run.
IDXT_RUN := $(shell command -v timeout >/dev/null 2>&1 && echo timeout 300)
IDXT_DEPS := tests/test_index.c tests/cmocka_select.h src/index_fast.c src/index_table.c $(CORE_HDRS)
IDXT_DEF_fast  :=
IDXT_DEF_table := -DHH_INDEX_TABLE
IDXT_CC_plain  := $(CC)
IDXT_FLAGS_plain := -O2 -g $(ASSERTS)
IDXT_CC_asan   := $(CLANG)
IDXT_FLAGS_asan := -O1 -g $(SAN) $(ASSERTS)
IDXT_CC_m32    := $(CC)
IDXT_FLAGS_m32 := -m32 -O2 -g $(ASSERTS)

define idxt_rule
$(BUILD)/test/index-$(1)-$(2): $(IDXT_DEPS)
	@mkdir -p $$(@D)
	$$(IDXT_CC_$(2)) $$(CORE_CFLAGS) $$(IDXT_FLAGS_$(2)) $$(IDXT_DEF_$(1)) \
	  tests/test_index.c src/index_$(1).c -o $$@ -lcmocka
endef
$(foreach i,fast table,$(foreach k,plain asan m32,$(eval $(call idxt_rule,$(i),$(k)))))

.PHONY: check-index-fast check-index-table check-index-asan check-index-m32
check-index-fast: $(BUILD)/test/index-fast-plain
	$(IDXT_RUN) $(abspath $<)
check-index-table: $(BUILD)/test/index-table-plain
	$(IDXT_RUN) $(abspath $<)
check-index-asan: $(BUILD)/test/index-fast-asan $(BUILD)/test/index-table-asan
	$(IDXT_RUN) ./$(BUILD)/test/index-fast-asan && $(IDXT_RUN) ./$(BUILD)/test/index-table-asan

# 32-bit needs gcc-multilib and the i386 cmocka: SKIP when they cannot link.
IDXT_M32_OK = $(shell printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nint main(void){return 0;}\n' | \
  $(CC) -m32 -x c - -o /dev/null -lcmocka 2>/dev/null && echo yes)
check-index-m32:
	@$(m32_cannot_run); if [ "$(IDXT_M32_OK)" != yes ]; then echo "SKIP: $(CC) -m32 cannot link cmocka (gcc-multilib, libcmocka-dev:i386)"; \
	else $(MAKE) --no-print-directory $(BUILD)/test/index-fast-m32 $(BUILD)/test/index-table-m32 && \
	  $(IDXT_RUN) $(M32_RUN) ./$(BUILD)/test/index-fast-m32 && $(IDXT_RUN) $(M32_RUN) ./$(BUILD)/test/index-table-m32; fi

## check-index-fast: the tree index alone against a linear reference, and corruption of its links, bins and seals
## check-index-table: the ordered table index alone against a linear reference, and corruption of its slots
## check-index-asan: both indexes' unit tests under ASan+UBSan
## check-index-m32: both indexes' unit tests built -m32 (natively or under qemu-i386)
CHECKS += check-index-fast check-index-table check-index-asan check-index-m32
