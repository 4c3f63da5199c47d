# The holeheap command (tools/, issue 11): replay, size, map and plot a trace.
#   make tools            build/tools/holeheap (also built by `make`)
#   make hh-replay        build/tools/hh-replay: the drop-in malloc's traces (HOLEHEAP_TRACE) replayed
#                         on one heap, every block's stamp and hh_check verified (tools/hh-replay.c;
#                         the port's checks run it, mk/port.mk)
#   make install-tools    $(PREFIX)/bin/holeheap (also done by `make install`)
#   make check-tools      its tests (tests/tools/); also check-tools-fuzz, check-tools-html
#                         (headless Chromium) and check-tools-kernel (the kernel's trace, in QEMU)
#
# One binary replays on either hole index: the ordered-table build of the core
# is compiled here and its global symbols renamed hht_* (tools/core_table.c).

TOOLS_DIR    := $(BUILD)/tools
TOOLS_BIN    := $(TOOLS_DIR)/holeheap
TOOLS_CFLAGS := $(WARN) -D_DEFAULT_SOURCE -Iinclude -O2 -g
TOOLS_SRCS   := tools/holeheap.c tools/commands.c tools/trace.c tools/replay.c tools/heapmap.c \
                tools/output.c tools/svg.c tools/html.c tools/core_fast.c tools/core_table.c
TOOLS_HDRS   := $(wildcard tools/*.h) include/holeheap.h
TOOLS_OBJS   := $(patsubst tools/%.c,$(TOOLS_DIR)/obj/%.o,$(TOOLS_SRCS))
TOOLS_TABLE_OBJS := $(patsubst src/%.c,$(TOOLS_DIR)/core-table/%.o,$(CORE_SRCS))

.PHONY: tools install-tools check-tools check-tools-fuzz check-tools-html check-tools-kernel
all: tools
install: install-tools
tools: $(TOOLS_BIN)

$(TOOLS_DIR)/obj/%.o: tools/%.c $(TOOLS_HDRS)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -c $< -o $@

# The page's script and style, embedded in the binary (tools/embed.sh).
$(TOOLS_DIR)/obj/html.o: $(TOOLS_DIR)/map_assets.h
$(TOOLS_DIR)/obj/html.o: TOOLS_CFLAGS += -I$(TOOLS_DIR)
$(TOOLS_DIR)/map_assets.h: tools/map.js tools/map.css tools/embed.sh
	@mkdir -p $(@D)
	sh tools/embed.sh page tools/map.js tools/map.css > $@

$(TOOLS_DIR)/core-table/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CORE_CFLAGS) -O2 -g -fPIC -DHH_INDEX_TABLE -c $< -o $@

$(TOOLS_DIR)/core-table.o: $(TOOLS_TABLE_OBJS)
	$(LD) -r -o $@.all $^
	nm -g --defined-only $@.all | awk '{ print $$3 " hht_" $$3 }' > $@.syms
	objcopy --redefine-syms=$@.syms $@.all $@

$(TOOLS_BIN): $(TOOLS_OBJS) $(TOOLS_DIR)/core-table.o $(LIB_A)
	$(CC) -o $@ $(TOOLS_OBJS) $(TOOLS_DIR)/core-table.o $(LIB_A) -lm

# Its own program: one file and the library. A phony name, so that mk/port.mk,
# read before this file, can depend on it.
HH_REPLAY := $(TOOLS_DIR)/hh-replay
.PHONY: hh-replay
hh-replay: $(HH_REPLAY)
$(HH_REPLAY): tools/hh-replay.c include/holeheap.h $(LIB_A)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) $< $(LIB_A) -o $@

install-tools: $(TOOLS_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(TOOLS_BIN) $(DESTDIR)$(PREFIX)/bin/holeheap

# ---- tests

## check-tools: the holeheap command on known traces (its SVGs parsed as XML) and every bad input
## check-tools-fuzz: libFuzzer on both trace readers for 8 s
## check-tools-html: the map page in headless Chromium
## check-tools-kernel: the demo kernel's traced self-test replayed and mapped from its serial log
CHECKS += check-tools check-tools-fuzz check-tools-html check-tools-kernel

check-tools: $(TOOLS_BIN)
	@command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 0; }; \
	python3 tests/tools/test_tool.py $(abspath $(TOOLS_BIN))

TOOLS_FUZZ_BIN     := $(TOOLS_DIR)/fuzz_trace
TOOLS_FUZZ_SECONDS := 8
$(TOOLS_FUZZ_BIN): tools/fuzz_trace.c tools/trace.c tools/replay.c tools/core_fast.c $(TOOLS_HDRS) $(BUILD)/fuzz/libholeheap.a
	@mkdir -p $(@D)
	$(CLANG) $(TOOLS_CFLAGS) -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  tools/fuzz_trace.c tools/trace.c tools/replay.c tools/core_fast.c $(BUILD)/fuzz/libholeheap.a -o $@

# A short run from a seed corpus of valid and broken traces (tests/tools/corpus).
check-tools-fuzz:
	@if [ "$(FUZZ_OK)" != yes ]; then echo "SKIP: $(CLANG) cannot build libFuzzer targets"; exit 0; fi; \
	$(MAKE) --no-print-directory $(TOOLS_FUZZ_BIN) >/dev/null || exit 1; \
	rm -rf $(TOOLS_DIR)/fuzz-corpus && mkdir -p $(TOOLS_DIR)/fuzz-corpus && \
	$(TOOLS_FUZZ_BIN) -max_total_time=$(TOOLS_FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  -print_final_stats=0 $(TOOLS_DIR)/fuzz-corpus tests/tools/corpus 2>$(TOOLS_DIR)/fuzz.log || \
	  { tail -40 $(TOOLS_DIR)/fuzz.log; echo "FAIL: check-tools-fuzz"; exit 1; }; \
	grep -E '^Done' $(TOOLS_DIR)/fuzz.log

# The HTML page in headless Chromium (Debian's chromium; SKIP: without it).
check-tools-html: $(TOOLS_BIN)
	@command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 0; }; \
	python3 tests/tools/test_html.py $(abspath $(TOOLS_BIN))

# The demo kernel's self-test traced on its serial console, replayed and mapped.
check-tools-kernel: $(TOOLS_BIN)
	@if command -v $(QEMU_I386) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory kernel >/dev/null || exit 1; \
	  QEMU_I386=$(QEMU_I386) sh tests/tools/kernel.sh $(abspath $(TOOLS_BIN)) $(KERNEL_ELF) $(TOOLS_DIR); \
	else echo "SKIP: $(QEMU_I386) not installed"; fi
