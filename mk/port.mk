# The hosted port: holeheap as the C library's malloc (port/, docs/trace-format.md).
#   make malloc        build/port/libholeheap-malloc.so and .a, and the replayer of their traces
#                      (build/tools/hh-replay, mk/tools.mk)
#   make check-port-unit check-port-threads check-port-race check-port-tsan check-port-programs check-port-corrupt check-port-checkmode
#   make bench-port    the side-by-side tables: holeheap, glibc, jemalloc, mimalloc
#   make bench-port-server  only the server-like workloads on 1, 2 and 4 threads
#   make bench-check   what HOLEHEAP_CHECK=N costs python3, sqlite3 and git log (ratios to glibc)

PORT_DIR    := $(BUILD)/port
PORT_SO     := $(PORT_DIR)/libholeheap-malloc.so
PORT_A      := $(PORT_DIR)/libholeheap-malloc.a
PORT_SRCS   := port/glue.c port/arena.c port/large.c port/tcache.c port/trace.c port/malloc.c
PORT_OBJS   := $(patsubst port/%.c,$(PORT_DIR)/obj/%.o,$(PORT_SRCS))
# Link-time optimisation across the port's files (the cache, arena lookup and
# entry points inline into each other: -5 % instructions on bench `small`); the
# objects are fat, so the archive links without -flto too.
PORT_LTO    := -flto=auto -ffat-lto-objects
# -mcx16: the cache claims a block by a 16-byte compare-and-swap (port/tcache.c).
PORT_ARCH   := -mcx16
PORT_CFLAGS := $(WARN) -Iinclude -O2 -g -fPIC -fvisibility=hidden -fno-strict-aliasing $(PORT_LTO) $(PORT_ARCH) \
               -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
PORT_TEST_CFLAGS := $(WARN) -D_GNU_SOURCE -Iinclude -O2 -g

.PHONY: malloc check-port-unit check-port-threads check-port-race check-port-tsan check-port-programs check-port-corrupt check-port-checkmode bench-port \
        bench-port-server bench-check
malloc: $(PORT_SO) $(PORT_A) hh-replay

$(PORT_DIR)/obj/%.o: port/%.c port/port.h include/holeheap.h mk/port.mk
	@mkdir -p $(@D)
	$(CC) $(PORT_CFLAGS) -c $< -o $@

$(PORT_SO): $(PORT_OBJS) $(LIB_A) port/exports.map
	$(CC) $(PORT_LTO) -O2 -shared -Wl,-soname,libholeheap-malloc.so -Wl,--version-script=port/exports.map \
	  -Wl,-z,nodelete -o $@ $(PORT_OBJS) $(LIB_A) -lpthread

# The archive holds the core's objects too, so linking it alone is enough.
$(PORT_A): $(PORT_OBJS) $(LIB_A)
	@rm -f $@ && rm -rf $(PORT_DIR)/ar && mkdir -p $(PORT_DIR)/ar
	cd $(PORT_DIR)/ar && $(AR) x $(abspath $(LIB_A))
	$(AR) rcs $@ $(PORT_OBJS) $(PORT_DIR)/ar/*.o

# ---- tests

$(PORT_DIR)/test-unit-static: tests/port/unit.c tests/port/rss.h $(PORT_A)
	$(CC) $(PORT_TEST_CFLAGS) $< $(PORT_A) -lpthread -o $@
$(PORT_DIR)/test-unit: tests/port/unit.c tests/port/rss.h
	@mkdir -p $(@D)
	$(CC) $(PORT_TEST_CFLAGS) $< -lpthread -o $@
$(PORT_DIR)/test-threads: tests/port/threads.c tests/port/rss.h $(PORT_A)
	$(CC) $(PORT_TEST_CFLAGS) $< $(PORT_A) -lpthread -o $@
$(PORT_DIR)/test-race: tests/port/race.c $(PORT_A)
	$(CC) $(PORT_TEST_CFLAGS) $< $(PORT_A) -lpthread -o $@
$(PORT_DIR)/test-remap: tests/port/remap.c $(PORT_A)
	$(CC) $(PORT_TEST_CFLAGS) $< $(PORT_A) -lpthread -o $@
$(PORT_DIR)/test-threads-plain: tests/port/threads.c tests/port/rss.h
	@mkdir -p $(@D)
	$(CC) $(PORT_TEST_CFLAGS) $< -lpthread -o $@

# The corruption test: not PIE, so that addr2line reads its crash addresses as they are.
$(PORT_DIR)/test-corrupt: tests/port/corrupt.c $(PORT_A)
	$(CC) $(PORT_TEST_CFLAGS) -no-pie $< $(PORT_A) -lpthread -o $@

## check-port-unit: the drop-in malloc's unit test, linked with the archive and preloaded over glibc
## check-port-threads: the drop-in malloc under threads: archive, preloaded, without the cache, checking every call and every 64 calls
## check-port-race: two threads free the same block at the same instant, by every free path (cache, remote chain, core), a stale free races a shrinking realloc, a free races the realloc of a large mapping (cache on and off, and grown by mremap outside the registry's lock; a block mapped at the old start meanwhile keeps its own length), a free and malloc race a realloc that moves a small block (out of its arena, and within it), and a stale free races a block's move from a pending list into a bin (a build that pauses the move): one call is accepted, the other aborts naming its call, never both, never a signal
## check-port-tsan: the thread stress (no RSS bounds, no forks) on the core and the port built with ThreadSanitizer, entry points renamed: no data race reported
## check-port-programs: real programs (python3, perl, sqlite3, sort, ...) under LD_PRELOAD, and their traces replayed; perl, python3 and sqlite3 under HOLEHEAP_CHECK=1, 64 and 1000
## check-port-corrupt: forked trials corrupt the drop-in malloc as bugs do; each exits cleanly or aborts with a holeheap: line
## check-port-checkmode: HOLEHEAP_CHECK=N: damage (overflow onto a live or freed block's tags, a write after free into a hole's index node) aborts with one line within N calls, damage beside a recently touched block within 32 (quick check); none without it; a bad value is said and means 1000
CHECKS += check-port-unit check-port-threads check-port-race check-port-tsan check-port-programs check-port-corrupt check-port-checkmode

# The unit test twice: linked with the archive, and preloaded over glibc.
check-port-unit: $(PORT_DIR)/test-unit-static $(PORT_DIR)/test-unit $(PORT_SO) hh-replay
	$(PORT_DIR)/test-unit-static $(HH_REPLAY)
	LD_PRELOAD=$(abspath $(PORT_SO)) $(PORT_DIR)/test-unit $(HH_REPLAY)

# Linked with the archive; then the plain build preloaded; no cache; checking.
check-port-threads: $(PORT_DIR)/test-threads $(PORT_DIR)/test-threads-plain $(PORT_SO)
	$(PORT_DIR)/test-threads 12 25000
	HOLEHEAP_STATS=1 LD_PRELOAD=$(abspath $(PORT_SO)) $(PORT_DIR)/test-threads-plain 9 15000 \
	  2>$(PORT_DIR)/threads.err || { cat $(PORT_DIR)/threads.err; exit 1; }
	@grep -q '^holeheap: stats: ' $(PORT_DIR)/threads.err || { echo "FAIL: not run on holeheap"; exit 1; }
	HOLEHEAP_TCACHE=0 $(PORT_DIR)/test-threads 8 10000
	HOLEHEAP_CHECK=1 $(PORT_DIR)/test-threads 8 600
	HOLEHEAP_CHECK=64 $(PORT_DIR)/test-threads 8 3000

# Each scenario's rounds in forked children (tests/port/race.c). The mover
# scenario's window is a few instructions: test-race-paused links the port
# built with TC_RACE_PAUSE, a spin inside each claim that moves a block from a
# pending list into a bin (a preemption there), and runs only that scenario.
RACE_ROUNDS ?= 150
RACE_PAUSE  := 3000000
PORT_PAUSED_OBJS := $(patsubst port/%.c,$(PORT_DIR)/paused/%.o,$(PORT_SRCS))
$(PORT_DIR)/paused/%.o: port/%.c port/port.h include/holeheap.h mk/port.mk
	@mkdir -p $(@D)
	$(CC) $(PORT_CFLAGS) -DTC_RACE_PAUSE=$(RACE_PAUSE) -c $< -o $@
$(PORT_DIR)/test-race-paused: tests/port/race.c $(PORT_PAUSED_OBJS) $(LIB_A)
	$(CC) $(PORT_TEST_CFLAGS) -DRACE_PAUSED $< $(PORT_PAUSED_OBJS) $(LIB_A) -lpthread -o $@
check-port-race: $(PORT_DIR)/test-race $(PORT_DIR)/test-race-paused $(PORT_DIR)/test-remap
	$(PORT_DIR)/test-race $(RACE_ROUNDS)
	$(PORT_DIR)/test-race-paused $(RACE_ROUNDS)
	HOLEHEAP_LARGE_CACHE=0 $(PORT_DIR)/test-remap

# ThreadSanitizer over the thread stress (tests/port/threads.c without its RSS
# bounds and forks, which TSan's shadow memory and runtime do not allow): the
# core and the port built with -fsanitize=thread, the port's entry points
# renamed (tests/port/tsan_names.h) since TSan's runtime is the process's
# malloc. The test's blocks all come from the port; what the C library
# allocates comes from TSan.
TSAN_DIR    := $(BUILD)/tsan
TSAN_CFLAGS := $(WARN) -Iinclude -O1 -g -fsanitize=thread -fno-strict-aliasing -include tests/port/tsan_names.h
TSAN_OBJS   := $(patsubst src/%.c,$(TSAN_DIR)/core/%.o,$(CORE_SRCS)) $(patsubst port/%.c,$(TSAN_DIR)/port/%.o,$(PORT_SRCS))
$(TSAN_DIR)/core/%.o: src/%.c $(wildcard src/*.h) include/holeheap.h tests/port/tsan_names.h
	@mkdir -p $(@D)
	$(CC) $(TSAN_CFLAGS) -Isrc -c $< -o $@
$(TSAN_DIR)/port/%.o: port/%.c port/port.h include/holeheap.h tests/port/tsan_names.h
	@mkdir -p $(@D)
	$(CC) $(TSAN_CFLAGS) $(PORT_ARCH) -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc -c $< -o $@
$(TSAN_DIR)/test-threads: tests/port/threads.c tests/port/rss.h $(TSAN_OBJS)
	$(CC) $(TSAN_CFLAGS) -D_GNU_SOURCE $< $(TSAN_OBJS) -lpthread -o $@
TSAN_THREADS ?= 6 2000
check-port-tsan: $(TSAN_DIR)/test-threads
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" $(TSAN_DIR)/test-threads $(TSAN_THREADS) tsan

# Randomized corruption (overflows, tags, writes after free, stale pointers),
# each trial in a process of its own: an abort with a holeheap: line or a
# clean exit passes; a crash, a hang, an overlap or changed contents fails.
CORRUPT_TRIALS ?= 2500
CORRUPT_SEED   ?= 1
check-port-corrupt: $(PORT_DIR)/test-corrupt
	$(PORT_DIR)/test-corrupt --trials $(CORRUPT_TRIALS) --seed $(CORRUPT_SEED) --budget 50

# Preloaded, as a program would run it; -fno-builtin keeps every call and
# every write after free the test makes (the compiler may drop them otherwise).
$(PORT_DIR)/checkmode: tests/port/checkmode.c
	@mkdir -p $(@D)
	$(CC) $(PORT_TEST_CFLAGS) -fno-builtin $< -o $@
check-port-checkmode: $(PORT_SO) $(PORT_DIR)/checkmode
	sh tests/port/checkmode.sh $(abspath $(PORT_SO)) $(abspath $(PORT_DIR)/checkmode)

check-port-programs: $(PORT_SO) hh-replay
	sh tests/port/programs.sh $(abspath $(PORT_SO)) $(abspath $(HH_REPLAY))

# ---- benchmarks

PORT_BENCHES := $(patsubst bench/port/%.c,$(PORT_DIR)/bench-%,$(wildcard bench/port/*.c))
$(PORT_DIR)/bench-%: bench/port/%.c
	@mkdir -p $(@D)
	$(CC) $(PORT_TEST_CFLAGS) $< -lpthread -o $@
bench-port: $(PORT_SO) $(PORT_BENCHES)
	sh bench/port/bench.sh $(abspath $(PORT_SO)) $(PORT_DIR)
	sh bench/port/server.sh $(abspath $(PORT_SO)) $(PORT_DIR)
# Only the server-like workloads of issue 12 (threads, remote frees, large blocks).
bench-port-server: $(PORT_SO) $(PORT_BENCHES)
	sh bench/port/server.sh $(abspath $(PORT_SO)) $(PORT_DIR)
# HOLEHEAP_CHECK=N against no check and glibc (docs/performance.md): the
# documented setting by default; e.g. CHECK_SETTINGS="1 10 100 1000 10000"
# CHECK_HEAVY=1 RUNS=3 for the whole table.
CHECK_SETTINGS ?= 1000
bench-check: $(PORT_SO) $(PORT_DIR)/bench-timer
	CHECK_SETTINGS="$(CHECK_SETTINGS)" sh bench/port/check.sh $(abspath $(PORT_SO)) $(PORT_DIR)
