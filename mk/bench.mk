# The core benchmark (bench/bench_core.c): one source built five ways, against
# the fast index, against the ordered table (-DHH_INDEX_TABLE), against glibc
# malloc (-DBENCH_GLIBC), the fast index in strict mode (-DBENCH_STRICT:
# HH_STRICT, no front), and the fast index with lock/unlock callbacks
# (-DBENCH_LOCKED: an uncontended spin lock), then run side by side into one table.
#   make bench-core        wall-clock ns/op and fragmentation, all workloads
#   make bench-callgrind   instructions per call under valgrind --tool=callgrind
#   make bench-latency     every call timed on its own: p50, p99, p99.9, worst; LATENCY_ROUNDS
#                          rounds (default 5), the programs interleaved, p99.9 judged by the median
# A program, not a test: nothing here is added to CHECKS.

BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS := $(WARN) -Iinclude -O2 -g
BENCH_CORE_BINS := $(BENCH_DIR)/bench_core_fast $(BENCH_DIR)/bench_core_table $(BENCH_DIR)/bench_core_glibc \
                   $(BENCH_DIR)/bench_core_strict $(BENCH_DIR)/bench_core_locked

# The programs linked with the fast index: their one difference is a flag.
BENCH_FLAGS_fast   :=
BENCH_FLAGS_strict := -DBENCH_STRICT
BENCH_FLAGS_locked := -DBENCH_LOCKED
$(BENCH_DIR)/bench_core_fast $(BENCH_DIR)/bench_core_strict $(BENCH_DIR)/bench_core_locked: \
  $(BENCH_DIR)/bench_core_%: bench/bench_core.c include/holeheap.h $(BUILD)/fast/libholeheap.a
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) $(BENCH_FLAGS_$*) $< $(BUILD)/fast/libholeheap.a -o $@

$(BENCH_DIR)/bench_core_table: bench/bench_core.c include/holeheap.h $(BUILD)/table/libholeheap.a
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DHH_INDEX_TABLE $< $(BUILD)/table/libholeheap.a -o $@

$(BENCH_DIR)/bench_core_glibc: bench/bench_core.c include/holeheap.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DBENCH_GLIBC $< -o $@

.PHONY: bench-core bench-callgrind bench-latency
bench: bench-core bench-latency

bench-core: $(BENCH_CORE_BINS)
	@echo "holeheap core benchmark: $$(date -u '+%Y-%m-%d %H:%M UTC'), $$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $$(nproc) CPUs"
	$(BENCH_DIR)/bench_core_glibc compare $(BENCH_CORE_BINS)

bench-latency: $(BENCH_CORE_BINS)
	@echo "holeheap latency: $$(date -u '+%Y-%m-%d %H:%M UTC'), $$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $$(nproc) CPUs, load $$(cut -d' ' -f1-3 /proc/loadavg)"
	$(BENCH_DIR)/bench_core_glibc latency-compare $(BENCH_CORE_BINS)

bench-callgrind: $(BENCH_CORE_BINS)
	@if ! command -v valgrind >/dev/null 2>&1; then echo "SKIP: valgrind is not installed"; exit 0; fi; \
	mkdir -p $(BENCH_DIR)/callgrind && \
	$(BENCH_DIR)/bench_core_glibc callgrind-compare $(BENCH_DIR)/callgrind $(BENCH_CORE_BINS)
