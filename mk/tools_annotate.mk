# valgrind and ASan see holeheap's blocks (src/annotate.h, issue 9 item 1).
#
#   make HH_VALGRIND=1 ...   builds the core with valgrind client requests (-DHH_VALGRIND)
#   check-tools-valgrind     each one-bug program of tests/annotate/ on a heap built with
#                            -DHH_VALGRIND, under memcheck: the report's kind and the bug's line,
#                            the same kind as on the system malloc; clean_use.c reports nothing
#   check-tools-asan         the same under clang's ASan (the core announces blocks by itself)
#
# Core builds: build/tools-valgrind (gcc, -DHH_VALGRIND), build/tools-asan (clang, ASan, annotated).

ifeq ($(HH_VALGRIND),1)
CORE_CFLAGS += -DHH_VALGRIND
endif

VCC_tools-valgrind    := $(CC)
VFLAGS_tools-valgrind := -O1 -g -DHH_VALGRIND
VCC_tools-asan        := $(CLANG)
VFLAGS_tools-asan     := -O1 -g -fsanitize=address -fno-omit-frame-pointer
$(foreach v,tools-valgrind tools-asan,$(eval $(call variant_rules,$(v))))

ANNOTATE_BUGS := bug_use_after_free bug_overflow bug_hole_read bug_leak bug_canary_overflow
ANNOTATE_DIR  := $(BUILD)/annotate
ANNOTATE_SRCS := $(wildcard tests/annotate/*.c tests/annotate/*.h)

# <prog>-vg (holeheap, valgrind build), <prog>-asan (holeheap, ASan), <prog>-sys (system malloc)
$(ANNOTATE_DIR)/%-vg: tests/annotate/%.c $(ANNOTATE_SRCS) $(BUILD)/tools-valgrind/libholeheap.a
	@mkdir -p $(@D)
	$(CC) $(WARN) -Iinclude -O0 -g $< $(BUILD)/tools-valgrind/libholeheap.a -o $@
$(ANNOTATE_DIR)/%-sys: tests/annotate/%.c $(ANNOTATE_SRCS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -Iinclude -O0 -g -DON_SYSTEM_MALLOC $< -o $@
$(ANNOTATE_DIR)/%-asan: tests/annotate/%.c $(ANNOTATE_SRCS) $(BUILD)/tools-asan/libholeheap.a
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -Iinclude -O0 -g -fsanitize=address -fno-omit-frame-pointer $< $(BUILD)/tools-asan/libholeheap.a -o $@

.PHONY: check-tools-valgrind check-tools-asan
## check-tools-valgrind: one-bug programs on a -DHH_VALGRIND heap under memcheck (use after free, write onto a footer, read of a hole, leak, canary overflow): kind and line as on the system malloc; a clean program draws no report
## check-tools-asan: the same programs under clang's ASan on a heap that poisons its tags and holes: use-after-poison at the bug's line; the clean program draws no report
check-tools-valgrind: $(foreach p,$(ANNOTATE_BUGS),$(ANNOTATE_DIR)/$(p)-vg $(ANNOTATE_DIR)/$(p)-sys) $(ANNOTATE_DIR)/clean_use-vg
	@if ! command -v valgrind >/dev/null; then echo "SKIP: valgrind not installed"; exit 0; fi; \
	sh tests/annotate/expect.sh valgrind $(ANNOTATE_DIR) $(ANNOTATE_BUGS)

check-tools-asan: $(foreach p,$(ANNOTATE_BUGS),$(ANNOTATE_DIR)/$(p)-asan) $(ANNOTATE_DIR)/clean_use-asan
	@sh tests/annotate/expect.sh asan $(ANNOTATE_DIR) $(filter-out bug_leak,$(ANNOTATE_BUGS))

CHECKS += check-tools-valgrind check-tools-asan
