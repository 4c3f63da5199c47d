# Canary mode (HH_CANARY, tests/test_canary.c): every byte past a request
# damaged in turn and caught at free, realloc, usable_size and hh_check;
# realloc, aligned allocation, calloc and the front keep the canary right.
# Both indexes, ASan, and 32-bit (natively or under qemu-i386, see Makefile).
#
#   check-canary      build/<variant>/tests/test_canary for fast, table, asan, m32, m32-table

CANARY_VARS := fast table asan m32 m32-table
$(foreach v,$(CANARY_VARS),$(eval $(call test_rule,$(v),test_canary)))

## check-canary: canary mode (HH_CANARY): every byte past requests 0..100 caught at free, realloc, usable_size and hh_check with block and offset; realloc, aligned, calloc and the front keep it (fast, table, asan, -m32 both)
.PHONY: check-canary
check-canary: $(foreach v,fast table asan,$(BUILD)/$(v)/tests/test_canary)
	@for v in fast table asan; do $(call run_test,$(BUILD)/$$v/tests/test_canary) || exit 1; done; \
	$(m32_or_skip); $(MAKE) --no-print-directory $(BUILD)/m32/tests/test_canary $(BUILD)/m32-table/tests/test_canary && \
	  $(call run_test,$(M32_RUN) $(BUILD)/m32/tests/test_canary) && $(call run_test,$(M32_RUN) $(BUILD)/m32-table/tests/test_canary)

CHECKS += check-canary
