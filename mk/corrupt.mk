# The corruption property test (tests/test_corrupt.c, issue 7): randomized
# trials, each in its own process, that corrupt a heap as real bugs do
# (overflow past a block, underflow before one, write after free) and check
# that the heap never crashes, hangs, or hands out memory outside itself or
# overlapping a live block, and that no live block's bytes change. Public API
# only: compiled against include/holeheap.h, linked with the variant's library.
#
#   check-corrupt   fast, table, m32 and m32-table builds, CORRUPT_TRIALS_<build> trials each
#
# Binaries: build/<variant>/tests/test_corrupt. One trial by hand:
#   build/fast/tests/test_corrupt --seed 1 --trial K --verbose [--no-fork]

CORRUPT_VARS   := fast table m32 m32-table
# trials per build: the table build and the 32-bit ones (under qemu-i386 here) run slower
CORRUPT_TRIALS_fast      ?= 2000
CORRUPT_TRIALS_table     ?= 500
CORRUPT_TRIALS_m32       ?= 100
CORRUPT_TRIALS_m32-table ?= 100
CORRUPT_SEED   ?= 1

define corrupt_rule
$(BUILD)/$(1)/tests/test_corrupt: tests/test_corrupt.c $(TEST_HDRS) $(CORE_HDRS) $(BUILD)/$(1)/libholeheap.a
	@mkdir -p $$(@D)
	$$(VCC_$(1)) $$(CORE_CFLAGS) $$(VFLAGS_$(1)) $$< $(BUILD)/$(1)/libholeheap.a -o $$@
endef
$(foreach v,$(CORRUPT_VARS),$(eval $(call corrupt_rule,$(v))))

# 32-bit builds need gcc-multilib; they run natively or under qemu-i386
# (M32_HOW and M32_RUN, from the Makefile). Under qemu a trial takes about ten
# times its native CPU time, so its hang limit is 10 s of CPU instead of 1 s.

.PHONY: check-corrupt
check-corrupt:
	@st=0; \
	for v in $(CORRUPT_VARS); do \
	  run=; case $$v in m32*) [ "$(M32_HOW)" != none ] || { echo "SKIP: test_corrupt ($$v): this machine cannot build or run 32-bit programs"; continue; }; \
	    run="$(M32_RUN)";; esac; \
	  $(MAKE) --no-print-directory $(BUILD)/$$v/tests/test_corrupt || { echo "FAIL: test_corrupt ($$v) does not build"; st=1; continue; }; \
	  n=$$(case $$v in fast) echo $(CORRUPT_TRIALS_fast);; table) echo $(CORRUPT_TRIALS_table);; \
	    m32) echo $(CORRUPT_TRIALS_m32);; *) echo $(CORRUPT_TRIALS_m32-table);; esac); \
	  $$run $(BUILD)/$$v/tests/test_corrupt --trials $$n --seed $(CORRUPT_SEED) --damaged-fails --label $$v $${run:+--cpu-ms 10000} || \
	    { echo "FAIL: $(BUILD)/$$v/tests/test_corrupt --trials $$n --seed $(CORRUPT_SEED)"; st=1; }; \
	done; exit $$st

## check-corrupt: randomized trials, each in its own process, corrupt a heap as bugs do (fast, table, -m32 both): no crash, hang, overlap or wild block
CHECKS += check-corrupt
