/*
 * holeheap core benchmark (`make bench-core`, `make bench-callgrind`).
 *
 * One source, five programs: linked with build/fast/libholeheap.a ("fast"),
 * with build/table/libholeheap.a and -DHH_INDEX_TABLE ("table"), with
 * -DBENCH_GLIBC against glibc malloc ("glibc"), the fast index with
 * -DBENCH_STRICT (HH_STRICT: no front, "strict"), and the fast index with
 * -DBENCH_LOCKED ("locked"): a heap given lock/unlock callbacks, as the demo
 * kernel's heap and the drop-in malloc's arenas are. Its lock is a C11
 * atomic_flag spin lock, a kernel spinlock's work without its interrupt
 * masking: test-and-set (an atomic exchange) to take it, clear (a release
 * store) to give it back. One thread runs, so it is never contended; what the
 * column adds to "fast" is the lock's own price on every call. The workload
 * code is the same in all five; only the impl_* shim below differs.
 *
 *   bench_core_X run <workload>             one workload, one RESULT line
 *   bench_core_X callgrind <workload>       a short fixed run for callgrind
 *   bench_core_X compare F T G S L          run every workload in the five
 *                                           programs (interleaved), one table
 *   bench_core_X callgrind-compare DIR F T G S L
 *                                           the same under valgrind --tool=callgrind,
 *                                           printing instructions per call
 *   bench_core_X latency-compare F T G S L  every call timed on its own
 *
 * Every workload is a deterministic trace (a seeded PRNG of our own) made
 * before anything is timed. A run has two passes over the same trace:
 *   pass 1 (untimed): measures peak span, peak live bytes, touches the pages
 *                     and, for the N-holes loops, picks the steps per rep
 *                     (capped by time, for the ordered table at many holes);
 *   pass 2 (timed):   a fresh heap, the setup part untimed, then REPS timed
 *                     repetitions, each one whole loop between two
 *                     clock_gettime(CLOCK_MONOTONIC) calls.
 * An "op" is one call: alloc, aligned alloc or free. ns/op = loop time / calls.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifdef BENCH_GLIBC
#include <malloc.h>
#else
#include "holeheap.h"
#endif
#ifdef BENCH_LOCKED
#include <stdatomic.h>
#endif

#define REPS 5
#define RING 8u                 /* live blocks in the N-holes steady loop */
#define RING_STEPS 100000u      /* steps per timed rep of that loop (2 calls each) */
#define RING_SIZES (1u << 16)   /* pre-drawn sizes for that loop, reused cyclically */
#define ALIGNED_BIT 0x80000000u /* in bench_op.size: hh_alloc_aligned(size, 4096) */
#define ALIGNMENT 4096u
#define STEP_CAP_NS 250e6 /* a timed rep of the N-holes loop is cut to about this long */
#define WARM_UP_NS 1e9    /* the untimed warm-up of that loop runs at most this long */
#define CHUNK_STEPS 64u   /* calibration checks the clock every this many steps */
#define TOUCH_MARGIN ((size_t)16 << 20)

/* ---- a small deterministic PRNG (splitmix64) ---- */

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t rng_below(rng *r, uint32_t n) { return (uint32_t)(((rng_next(r) >> 32) * n) >> 32); }

/* Uniform in [lo, hi]. */
static uint32_t rng_range(rng *r, uint32_t lo, uint32_t hi) { return lo + rng_below(r, hi - lo + 1); }

/* Log-uniform in [lo, lo << octaves): a random octave, uniform inside it. */
static uint32_t rng_log_uniform(rng *r, uint32_t lo, uint32_t octaves)
{
    uint32_t base = lo << rng_below(r, octaves);
    return base + rng_below(r, base);
}

/* Power law: P(size > x) = 16 / x for x in [16, 65536]; larger draws are redrawn. */
static uint32_t rng_power_law(rng *r)
{
    for (;;) {
        double u = (double)((rng_next(r) >> 11) + 1) * 0x1p-53; /* (0, 1] */
        double s = 16.0 / u;
        if (s <= 65536.0)
            return (uint32_t)s;
    }
}

/* ---- clock and memory ---- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_core: %s\n", what);
    exit(2);
}

/* Bookkeeping memory comes from mmap, so glibc's heap holds only workload blocks. */
static void *map_bytes(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        die("mmap failed");
    return p;
}

/* ---- the allocator shim: the only part that differs between the programs ---- */

#ifdef BENCH_GLIBC

#define IMPL_NAME "glibc"

static char *glibc_brk_start; /* the program break before any workload block */
static size_t glibc_peak_brk; /* highest break seen, minus glibc_brk_start */

static void *impl_alloc(size_t n) { return malloc(n); }
static void *impl_alloc_aligned(size_t n, size_t align) { return aligned_alloc(align, n); }
static void impl_free(void *p) { free(p); }

/* Keep every page glibc takes (no trim, no per-block mmap), as the holeheap
 * region stays mapped: then no page fault lands in a timed rep, and the main
 * arena's span is the program break's climb. */
static void impl_start(void)
{
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 0);
    free(malloc(1)); /* let glibc set up its arena before the break is read */
    glibc_brk_start = sbrk(0);
}
static void impl_reset(bool timed_pass) { (void)timed_pass; }
static void impl_note_block(void *p, size_t n)
{
    size_t span = (size_t)((char *)sbrk(0) - glibc_brk_start); /* O(1): glibc caches the break */
    (void)p;
    (void)n;
    glibc_peak_brk = span > glibc_peak_brk ? span : glibc_peak_brk;
}
/* Peak break climb, plus whatever glibc mmapped (nothing, unless it had to). */
static size_t impl_peak_span(void) { return glibc_peak_brk + mallinfo2().hblkhd; }
static size_t impl_control_bytes(void) { return 0; }
static int impl_check(void) { return 0; }

#else /* holeheap */

#if defined(BENCH_STRICT)
#define IMPL_NAME "strict"
#elif defined(BENCH_LOCKED)
#define IMPL_NAME "locked"
#elif defined(HH_INDEX_TABLE)
#define IMPL_NAME "table"
#else
#define IMPL_NAME "fast"
#endif

#define REGION_BYTES ((size_t)2 << 30)

static char *region;
static hh_heap *heap;
static char *heap_base; /* header of the first block: spans are measured from here */
static char *peak_end;  /* highest end of any block seen in pass 1 */

static void *impl_alloc(size_t n) { return hh_alloc(heap, n); }
static void *impl_alloc_aligned(size_t n, size_t align) { return hh_alloc_aligned(heap, n, align); }
static void impl_free(void *p) { hh_free(heap, p); }

static int first_span(void *ctx, const hh_span *span)
{
    *(const void **)ctx = span->start;
    return 1;
}

static void impl_start(void) { region = map_bytes(REGION_BYTES); }

#ifdef BENCH_LOCKED
#define SPIN_LIMIT 100000000u /* one thread: a lock still held after this many tries was taken twice */

static atomic_flag heap_spin = ATOMIC_FLAG_INIT;

/* The uncontended path is one test-and-set; the loop runs only if the heap
 * took its lock twice (a core bug), which here would spin for ever. */
static void spin_acquire(void *spin)
{
    unsigned tries = 0;
    while (atomic_flag_test_and_set_explicit((atomic_flag *)spin, memory_order_acquire))
        if (++tries == SPIN_LIMIT)
            die("the heap took its lock twice");
}

static void spin_release(void *spin) { atomic_flag_clear_explicit((atomic_flag *)spin, memory_order_release); }

/* After a run: every call gave the lock back (one that kept it would leave
 * the flag set). */
static void spin_verify_released(void)
{
    if (atomic_flag_test_and_set_explicit(&heap_spin, memory_order_acquire))
        die("a call returned holding the heap's lock");
    atomic_flag_clear_explicit(&heap_spin, memory_order_release);
}
#else
static void spin_verify_released(void) {}
#endif

/* The program's heap options: none for fast and table. */
static hh_options heap_options(void)
{
    hh_options opt = {0};
#ifdef BENCH_STRICT
    opt.flags = HH_STRICT; /* no front: exact best fit for every request */
#endif
#ifdef BENCH_LOCKED
    opt.lock = spin_acquire;
    opt.unlock = spin_release;
    opt.ctx = &heap_spin;
#endif
    return opt;
}

/* A fresh heap on the region. Before the timed pass, the region up to the
 * highest end pass 1 reached (plus a margin) is written, so that its pages are
 * mapped before any timing. */
static void impl_reset(bool timed_pass)
{
    const void *first = NULL;
    if (timed_pass) {
        size_t touch = (size_t)(peak_end - region) + TOUCH_MARGIN;
        memset(region, 0, touch < REGION_BYTES ? touch : REGION_BYTES);
    }
    hh_options opt = heap_options();
    heap = hh_init(region, REGION_BYTES, &opt);
    if (heap == NULL)
        die("hh_init refused the region");
    hh_walk(heap, first_span, &first);
    heap_base = (char *)(uintptr_t)first;
    if (peak_end == NULL)
        peak_end = heap_base;
}

static void impl_note_block(void *p, size_t n)
{
    char *end = (char *)p + hh_usable_size(heap, p) + HH_OVERHEAD / 2; /* past its footer */
    (void)n;
    if (end > peak_end)
        peak_end = end;
}
static size_t impl_peak_span(void) { return (size_t)(peak_end - heap_base); }
static size_t impl_control_bytes(void) { return (size_t)(heap_base - region); }
static int impl_check(void)
{
    int code = hh_check(heap, NULL);
    spin_verify_released();
    return code;
}

#endif

/* ---- traces ---- */

/* One call: size 0 frees slots[slot]; otherwise allocates size bytes into it
 * (aligned to 4096 when ALIGNED_BIT is set). */
typedef struct bench_op {
    uint32_t slot;
    uint32_t size;
} bench_op;

typedef struct trace {
    bench_op *setup; /* run untimed before the reps */
    size_t setup_n;
    bench_op *steady; /* slot workloads: REPS segments of segment_n ops */
    size_t segment_n;
    uint32_t *ring_sizes; /* ring workloads: sizes for the steady loop */
    size_t ring_steps;    /* ring workloads: target steps per rep (2 calls each) */
    size_t slot_count;    /* slots the trace uses (ring slots are the last RING) */
} trace;

typedef struct workload {
    const char *name;
    void (*make)(trace *t, size_t param, bool short_run);
    size_t param;
    const char *what;
} workload;

/* Builds a trace of ops one at a time, keeping which slots are live. */
typedef struct trace_builder {
    bench_op *ops;
    size_t n;
    uint32_t *live_size; /* per slot: the size allocated there, 0 when empty */
} trace_builder;

static void tb_start(trace_builder *b, size_t max_ops, size_t slots)
{
    b->ops = map_bytes(max_ops * sizeof(bench_op) + 1);
    b->n = 0;
    b->live_size = map_bytes(slots * sizeof(uint32_t));
}

static void tb_alloc(trace_builder *b, uint32_t slot, uint32_t size, bool aligned)
{
    b->ops[b->n++] = (bench_op){slot, size | (aligned ? ALIGNED_BIT : 0u)};
    b->live_size[slot] = size;
}

static void tb_free(trace_builder *b, uint32_t slot)
{
    b->ops[b->n++] = (bench_op){slot, 0};
    b->live_size[slot] = 0;
}

/* A random slot: free it if live, else allocate into it. */
static void tb_random_step(trace_builder *b, rng *r, uint32_t slots, uint32_t (*size_of)(rng *), bool aligned)
{
    uint32_t slot = rng_below(r, slots);
    if (b->live_size[slot])
        tb_free(b, slot);
    else
        tb_alloc(b, slot, size_of(r), aligned);
}

static uint32_t size_small(rng *r) { return rng_range(r, 16, 256); }
static uint32_t size_large(rng *r) { return rng_range(r, 64u << 10, 1u << 20); }
static uint32_t size_plain_mix(rng *r) { return rng_range(r, 16, 1024); }
static uint32_t size_aligned_mix(rng *r) { return rng_range(r, 512, 16384); }
static uint32_t size_hole(rng *r) { return rng_log_uniform(r, 16, 8); } /* 16 .. 4095 */
static uint32_t size_fence(rng *r) { return rng_range(r, 16, 64); }

/* Random alloc/free over `slots` slots: a warm-up part that fills the working
 * set (setup), then REPS segments of segment_n ops. */
static void make_random_slots(trace *t, uint32_t slots, size_t segment_n, uint32_t seed, uint32_t (*size_of)(rng *),
                              uint32_t aligned_one_in)
{
    rng r = {seed};
    trace_builder b;
    size_t warm_n = 4u * slots, total = warm_n + REPS * segment_n;
    tb_start(&b, total, slots);
    for (size_t i = 0; i < total; i++) {
        bool aligned = aligned_one_in && rng_below(&r, aligned_one_in) == 0;
        tb_random_step(&b, &r, slots, aligned ? size_aligned_mix : size_of, aligned);
    }
    t->setup = b.ops;
    t->setup_n = warm_n;
    t->steady = b.ops + warm_n;
    t->segment_n = segment_n;
    t->slot_count = slots;
}

static void make_small_random(trace *t, size_t param, bool short_run)
{
    (void)param;
    make_random_slots(t, 8192, short_run ? 50000 : 1000000, 1, size_small, 0);
}

static void make_power_law(trace *t, size_t param, bool short_run)
{
    (void)param;
    make_random_slots(t, 8192, short_run ? 50000 : 1000000, 2, rng_power_law, 0);
}

static void make_aligned_mix(trace *t, size_t param, bool short_run)
{
    (void)param;
    make_random_slots(t, 4096, short_run ? 20000 : 400000, 3, size_plain_mix, 4);
}

/* A FIFO of `depth` large blocks: each step frees the oldest and allocates. */
static void make_fifo_large(trace *t, size_t param, bool short_run)
{
    const uint32_t depth = 32;
    rng r = {4};
    trace_builder b;
    size_t segment_steps = short_run ? 5000 : 100000, total = REPS * 2 * segment_steps;
    (void)param;
    tb_start(&b, depth + total, depth);
    for (uint32_t s = 0; s < depth; s++)
        tb_alloc(&b, s, size_large(&r), false);
    for (size_t i = 0; i < REPS * segment_steps; i++) {
        uint32_t slot = (uint32_t)(i % depth);
        tb_free(&b, slot);
        tb_alloc(&b, slot, size_large(&r), false);
    }
    t->setup = b.ops;
    t->setup_n = depth;
    t->steady = b.ops + depth;
    t->segment_n = 2 * segment_steps;
    t->slot_count = depth;
}

/* Stable counting sort of the hole slots 1, 3, ..., 2n-1 by granules of their
 * size, so the setup frees them smallest first (each lands at the table's end;
 * the order changes nothing in the resulting heap). */
static uint32_t *holes_by_size(const uint32_t *size, size_t n)
{
    enum { CLASSES = 4096 / 16 + 2 };
    size_t start[CLASSES + 1] = {0};
    uint32_t *order = map_bytes(n * sizeof(uint32_t));
    for (size_t i = 0; i < n; i++)
        start[(size[2 * i + 1] + 15) / 16 + 1]++;
    for (size_t c = 1; c <= CLASSES; c++)
        start[c] += start[c - 1];
    for (size_t i = 0; i < n; i++)
        order[start[(size[2 * i + 1] + 15) / 16]++] = (uint32_t)(2 * i + 1);
    return order;
}

/* N holes: 2N+1 blocks of varied sizes (holes-to-be 16..4095 bytes, fences
 * 16..64), every other one freed, then RING blocks for the steady loop. */
static void make_holes(trace *t, size_t holes, bool short_run)
{
    rng r = {5 + holes};
    trace_builder b;
    uint32_t blocks = (uint32_t)(2 * holes + 1);
    uint32_t *order;
    tb_start(&b, blocks + holes + RING, blocks + RING);
    for (uint32_t s = 0; s < blocks; s++)
        tb_alloc(&b, s, (s & 1u) ? size_hole(&r) : size_fence(&r), false);
    order = holes_by_size(b.live_size, holes);
    for (size_t i = 0; i < holes; i++)
        tb_free(&b, order[i]);
    for (uint32_t k = 0; k < RING; k++)
        tb_alloc(&b, blocks + k, size_hole(&r), false);
    t->ring_sizes = map_bytes(RING_SIZES * sizeof(uint32_t));
    for (size_t i = 0; i < RING_SIZES; i++)
        t->ring_sizes[i] = size_hole(&r);
    t->setup = b.ops;
    t->setup_n = b.n;
    t->ring_steps = !short_run ? RING_STEPS : holes < 1000000 ? 4000 : 512; /* the table at 1M: ~0.5 M instr/call */
    t->slot_count = blocks + RING;
}

static const workload workloads[] = {
    {"small-random", make_small_random, 0, "random alloc/free of 16..256 B over 8192 slots"},
    {"power-law", make_power_law, 0, "random alloc/free, P(size>x)=16/x up to 64 KiB, 8192 slots"},
    {"fifo-large", make_fifo_large, 0, "FIFO of 32 blocks of 64 KiB..1 MiB"},
    {"aligned-mix", make_aligned_mix, 0, "random alloc/free, 1 in 4 aligned to 4096 (512..16384 B), else 16..1024 B"},
    {"holes-10", make_holes, 10, "2N+1 blocks, every other one freed; loop: free, alloc 16..4095 B"},
    {"holes-100", make_holes, 100, "2N+1 blocks, every other one freed; loop: free, alloc 16..4095 B"},
    {"holes-1k", make_holes, 1000, "2N+1 blocks, every other one freed; loop: free, alloc 16..4095 B"},
    {"holes-10k", make_holes, 10000, "2N+1 blocks, every other one freed; loop: free, alloc 16..4095 B"},
    {"holes-100k", make_holes, 100000, "2N+1 blocks, every other one freed; loop: free, alloc 16..4095 B"},
    {"holes-1M", make_holes, 1000000, "2N+1 blocks, every other one freed; loop: free, alloc 16..4095 B"},
};
#define WORKLOADS (sizeof workloads / sizeof workloads[0])

static const workload *find_workload(const char *name)
{
    for (size_t i = 0; i < WORKLOADS; i++)
        if (strcmp(workloads[i].name, name) == 0)
            return &workloads[i];
    return NULL;
}

/* ---- replaying traces ---- */

static void *impl_alloc_or_aligned(uint32_t size_field)
{
    uint32_t size = size_field & ~ALIGNED_BIT;
    void *p = (size_field & ALIGNED_BIT) ? impl_alloc_aligned(size, ALIGNMENT) : impl_alloc(size);
    if (p == NULL)
        die("an allocation failed: the benchmark is invalid");
    return p;
}

static void *alloc_for(uint32_t size_field)
{
    uint32_t size = size_field & ~ALIGNED_BIT;
    void *p = (size_field & ALIGNED_BIT) ? impl_alloc_aligned(size, ALIGNMENT) : impl_alloc(size);
    if (p == NULL)
        die("an allocation failed: the benchmark is invalid");
    memset(p, 0xA5, 16); /* the caller writes its block */
    return p;
}

/* Pass-1 bookkeeping: live bytes asked for, and the allocator's span. */
typedef struct tracker {
    uint32_t *size; /* per slot */
    size_t live, peak_live;
} tracker;

static void tracked_op(tracker *k, void **slots, bench_op op)
{
    if (op.size == 0) {
        impl_free(slots[op.slot]);
        k->live -= k->size[op.slot];
        k->size[op.slot] = 0;
        return;
    }
    slots[op.slot] = alloc_for(op.size);
    k->size[op.slot] = op.size & ~ALIGNED_BIT;
    k->live += k->size[op.slot];
    k->peak_live = k->live > k->peak_live ? k->live : k->peak_live;
    impl_note_block(slots[op.slot], k->size[op.slot]);
}

static void replay_tracked(tracker *k, void **slots, const bench_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tracked_op(k, slots, ops[i]);
}

/* Untimed setup of the timed pass (kept apart from the measured functions so
 * callgrind's --toggle-collect=bench_measured_* counts only the timed loops). */
__attribute__((noinline)) static void replay_setup(void **slots, const bench_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].size == 0)
            impl_free(slots[ops[i].slot]);
        else
            slots[ops[i].slot] = alloc_for(ops[i].size);
    }
}

__attribute__((noinline)) void bench_measured_slots(void **slots, const bench_op *ops, size_t n);
__attribute__((noinline)) void bench_measured_slots(void **slots, const bench_op *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bench_op op = ops[i];
        if (op.size == 0)
            impl_free(slots[op.slot]);
        else
            slots[op.slot] = alloc_for(op.size);
    }
}

/* The N-holes steady loop: free the block allocated RING steps ago, allocate. */
__attribute__((noinline)) void bench_measured_ring(void **ring, const uint32_t *sizes, size_t first, size_t steps);
__attribute__((noinline)) void bench_measured_ring(void **ring, const uint32_t *sizes, size_t first, size_t steps)
{
    for (size_t i = first; i < first + steps; i++) {
        impl_free(ring[i % RING]);
        ring[i % RING] = alloc_for(sizes[i % RING_SIZES]);
    }
}

/* Step i of the steady loop; the ring is the trace's last RING slots. */
static void tracked_ring_step(tracker *k, void **slots, const trace *t, size_t i)
{
    uint32_t slot = (uint32_t)(t->slot_count - RING + i % RING);
    tracked_op(k, slots, (bench_op){slot, 0});
    tracked_op(k, slots, (bench_op){slot, t->ring_sizes[i % RING_SIZES]});
}

/* ---- one workload in one program ---- */

typedef struct result {
    double ns[REPS];
    double median, worst;
    size_t ops_per_rep, peak_span, peak_live, control_bytes;
    bool capped;
    int check;
} result;

static void free_all_live(void **slots, const uint32_t *live_size, size_t count)
{
    for (size_t s = 0; s < count; s++)
        if (live_size[s])
            impl_free(slots[s]);
}

/* Pass 1: setup, then the steady part, all tracked. Ring workloads run their
 * steady loop up to the step target or the time cap. */
static void pass_measure(const trace *t, void **slots, tracker *k)
{
    double t0 = now_ns();
    replay_tracked(k, slots, t->setup, t->setup_n);
    if (t->ring_sizes == NULL) {
        replay_tracked(k, slots, t->steady, REPS * t->segment_n);
        return;
    }
    t0 = now_ns();
    for (size_t steps = 0; steps < t->ring_steps && now_ns() - t0 < STEP_CAP_NS; steps += CHUNK_STEPS)
        for (size_t j = 0; j < CHUNK_STEPS; j++)
            tracked_ring_step(k, slots, t, steps + j);
}

/* Pass 2's untimed warm-up of a ring workload, where one-time costs land (glibc
 * sorting the blocks the setup freed, for one). It runs up to the step target
 * or WARM_UP_NS; each timed rep then runs the target, or fewer steps if at the
 * speed of the warm-up's last chunk the target would take over STEP_CAP_NS. */
static size_t ring_warm_up(const trace *t, void **slots, bool *capped)
{
    size_t steps = 0, fit;
    double start = now_ns(), chunk_ns = 0;
    while (steps < t->ring_steps && now_ns() - start < WARM_UP_NS) {
        double t0 = now_ns();
        bench_measured_ring(slots + t->slot_count - RING, t->ring_sizes, steps, CHUNK_STEPS);
        chunk_ns = now_ns() - t0;
        steps += CHUNK_STEPS;
    }
    fit = (size_t)(STEP_CAP_NS / (chunk_ns / CHUNK_STEPS)) / CHUNK_STEPS * CHUNK_STEPS;
    *capped = fit < t->ring_steps;
    if (!*capped)
        return t->ring_steps;
    return fit > CHUNK_STEPS ? fit : CHUNK_STEPS;
}

static double time_segment(const trace *t, void **slots, size_t rep, size_t steps)
{
    double t0 = now_ns();
    if (t->ring_sizes == NULL)
        bench_measured_slots(slots, t->steady + rep * t->segment_n, t->segment_n);
    else
        bench_measured_ring(slots + t->slot_count - RING, t->ring_sizes, (rep + 1) * steps, steps);
    return now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run_workload(const workload *w, result *res)
{
    trace t = {0};
    tracker k = {0};
    void **slots;
    size_t steps;
    double sorted[REPS];

    w->make(&t, w->param, false);
    slots = map_bytes(t.slot_count * sizeof(void *));
    k.size = map_bytes(t.slot_count * sizeof(uint32_t));

    impl_reset(false);
    pass_measure(&t, slots, &k);
    res->peak_span = impl_peak_span();
    res->peak_live = k.peak_live;
    free_all_live(slots, k.size, t.slot_count);

    impl_reset(true);
    replay_setup(slots, t.setup, t.setup_n);
    steps = t.ring_sizes ? ring_warm_up(&t, slots, &res->capped) : 0;
    for (size_t rep = 0; rep < REPS; rep++)
        res->ns[rep] = time_segment(&t, slots, rep, steps);
    res->ops_per_rep = t.ring_sizes ? 2 * steps : t.segment_n;
    for (size_t rep = 0; rep < REPS; rep++)
        res->ns[rep] /= (double)res->ops_per_rep;
    memcpy(sorted, res->ns, sizeof sorted);
    qsort(sorted, REPS, sizeof sorted[0], cmp_double);
    res->median = sorted[REPS / 2];
    res->worst = sorted[REPS - 1];
    res->control_bytes = impl_control_bytes();
    res->check = impl_check();
}

static int cmd_run(const char *name)
{
    const workload *w = find_workload(name);
    result res = {0};
    if (w == NULL)
        die("unknown workload");
    impl_start();
    run_workload(w, &res);
    printf("RESULT %s %s %.2f %.2f %zu %d %zu %zu %zu %d\n", w->name, IMPL_NAME, res.median, res.worst, res.ops_per_rep,
           res.capped ? 1 : 0, res.peak_span, res.peak_live, res.control_bytes, res.check);
    return res.check != 0;
}

/* ---- latency: every call timed on its own ---- */

#define LATENCY_CALLS 1000000u

/* One call of a trace, timed: clock before and after (the clock's own cost,
 * about the same for every allocator, is included and printed apart). */
static double timed_op(void **slots, bench_op op)
{
    double t0 = now_ns();
    if (op.size == 0)
        impl_free(slots[op.slot]);
    else
        slots[op.slot] = impl_alloc_or_aligned(op.size);
    double t1 = now_ns();
    if (op.size != 0)
        memset(slots[op.slot], 0xA5, 16);
    return t1 - t0;
}

static double clock_pair_ns(void)
{
    double sum = 0;
    for (int i = 0; i < 1000; i++) {
        double t0 = now_ns();
        sum += now_ns() - t0;
    }
    return sum / 1000;
}

/* The slot workloads' second segment timed call by call after the first ran
 * untimed: p50, p99, p99.9 and the worst call. */
static int cmd_latency(const char *name)
{
    const workload *w = find_workload(name);
    trace t = {0};
    if (w == NULL || w->make == make_holes)
        die("latency: a slot workload (small-random, power-law, fifo-large, aligned-mix)");
    impl_start();
    w->make(&t, w->param, false);
    void **slots = map_bytes(t.slot_count * sizeof(void *));
    size_t n = t.segment_n < LATENCY_CALLS ? t.segment_n : LATENCY_CALLS;
    double *ns = map_bytes(n * sizeof(double));
    impl_reset(false);
    replay_setup(slots, t.setup, t.setup_n);
    replay_setup(slots, t.steady, t.segment_n); /* warm: pages touched, caches filled */
    for (size_t i = 0; i < n; i++)
        ns[i] = timed_op(slots, t.steady[t.segment_n + i]);
    qsort(ns, n, sizeof ns[0], cmp_double);
    printf("LATENCY %s %s %.1f %.1f %.1f %.1f %.1f %zu\n", w->name, IMPL_NAME, ns[n / 2], ns[n * 99 / 100],
           ns[n * 999 / 1000], ns[n - 1], clock_pair_ns(), n);
    return impl_check() != 0;
}

/* The steady ring loop outside bench_measured_*, so callgrind does not count it. */
__attribute__((noinline)) static void ring_warm_up_uncounted(const trace *t, void **slots, size_t steps)
{
    void **ring = slots + t->slot_count - RING;
    for (size_t i = 0; i < steps; i++) {
        impl_free(ring[i % RING]);
        ring[i % RING] = alloc_for(t->ring_sizes[i % RING_SIZES]);
    }
}

/* A short fixed run for callgrind: setup and, for the N-holes loops, a
 * warm-up of as many steps as then measured (both uncounted), then one
 * measured segment. */
static int cmd_callgrind(const char *name)
{
    const workload *w = find_workload(name);
    trace t = {0};
    void **slots;
    size_t ops;
    if (w == NULL)
        die("unknown workload");
    impl_start();
    w->make(&t, w->param, true);
    slots = map_bytes(t.slot_count * sizeof(void *));
    impl_reset(false);
    replay_setup(slots, t.setup, t.setup_n);
    ops = t.ring_sizes ? 2 * t.ring_steps : t.segment_n;
    if (t.ring_sizes) {
        ring_warm_up_uncounted(&t, slots, t.ring_steps);
        bench_measured_ring(slots + t.slot_count - RING, t.ring_sizes, t.ring_steps, t.ring_steps);
    } else
        bench_measured_slots(slots, t.steady, t.segment_n);
    printf("CGOPS %s %s %zu %d\n", w->name, IMPL_NAME, ops, impl_check());
    return 0;
}

/* ---- the drivers: run the five programs and print one table ---- */

enum { IMPLS = 5 };
static const char *const impl_label[IMPLS] = {"fast", "table", "glibc", "strict", "locked"};

typedef struct row {
    bool ok;
    double median, worst;
    size_t ops, span, live, control;
    int capped, check;
} row;

static bool read_result(const char *bin, const char *wl, row *out)
{
    char cmd[4096], line[512], name[64], impl[16];
    FILE *f;
    snprintf(cmd, sizeof cmd, "%s run %s", bin, wl);
    f = popen(cmd, "r");
    out->ok = false;
    if (f == NULL)
        return false;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "RESULT %63s %15s %lf %lf %zu %d %zu %zu %zu %d", name, impl, &out->median, &out->worst,
                   &out->ops, &out->capped, &out->span, &out->live, &out->control, &out->check) == 10)
            out->ok = true;
    return pclose(f) == 0 && out->ok;
}

static void print_cell(const row *r)
{
    if (!r->ok)
        printf(" | %-25s", "FAILED");
    else
        printf(" | %7.1f %7.1f%c %5.2f", r->median, r->worst, r->capped ? '*' : ' ', (double)r->span / (double)r->live);
}

static void print_header(void)
{
    static const char *const title[IMPLS] = {"holeheap fast index", "holeheap ordered table", "glibc malloc",
                                             "holeheap fast, HH_STRICT", "holeheap fast, locked"};
    printf("%-13s %9s", "", "");
    for (int i = 0; i < IMPLS; i++)
        printf(" | %-25s", title[i]);
    printf(" | median ratio\n%-13s %9s", "workload", "calls/rep");
    for (int i = 0; i < IMPLS; i++)
        printf(" | %7s %8s %5s", "ns/op", "worst", "frag");
    printf(" | table/fast glibc/fast locked/fast\n");
}

static void print_notes(const row rows[][IMPLS], size_t nrows)
{
    bool any_capped = false;
    for (size_t w = 0; w < nrows; w++)
        for (int i = 0; i < IMPLS; i++)
            if (rows[w][i].ok && rows[w][i].capped) {
                if (!any_capped)
                    printf("\n* capped: each timed rep of the N-holes loop runs the steps that fit in about %.0f ms at "
                           "the\n"
                           "  speed of the untimed warm-up's last %u steps; ns/op is time / calls run:\n",
                           STEP_CAP_NS / 1e6, CHUNK_STEPS);
                any_capped = true;
                printf("  %s %s: %zu calls per rep instead of %u\n", workloads[w].name, impl_label[i], rows[w][i].ops,
                       2 * RING_STEPS);
            }
    printf("\nns/op: median of %d timed reps, and the worst rep; one op = one alloc, aligned alloc or free\n"
           "  (the loop also writes 16 bytes into each new block and reads a precomputed trace).\n",
           REPS);
    printf("frag: peak span / peak live bytes requested.\n"
           "  fast, table: span = highest end of any block (header to footer) minus the heap's first block;\n"
           "  control data and the table's slots are excluded (the table reserves %zu bytes of slots\n"
           "  for its 2 GiB region).\n"
           "  glibc: span = peak climb of the program break, plus mallinfo2().hblkhd: what glibc took from the\n"
           "  OS. Trim and per-block mmap are off (mallopt) so that no page fault lands in a timed rep; the\n"
           "  holeheap region is written before the timed pass for the same reason.\n",
           rows[nrows - 1][1].control);
    printf("locked: the fast index with lock/unlock callbacks, an atomic_flag spin lock (one thread: never\n"
           "  contended); locked/fast is the lock's price in time.\n");
    printf("N holes: an untimed setup allocates 2N+1 blocks (holes-to-be 16..4095 B, log-uniform; others\n"
           "  16..64 B) and frees every other one, smallest first; then an untimed warm-up of the steady loop\n"
           "  (free the block allocated %u steps ago, allocate 16..4095 B) precedes the timed reps.\n",
           RING);
}

static double fast_over(const row *r, int impl) { return r[impl].ok && r[0].ok ? r[impl].median / r[0].median : 0.0; }

static bool print_targets(const row rows[][IMPLS], size_t nrows)
{
    bool all = true, ok;
    double lo = 1e300, hi = 0;
    printf("\ntargets (from the medians above):\n");
    for (size_t w = 0; w < nrows; w++) {
        if (workloads[w].make != make_holes)
            continue;
        if (rows[w][0].ok) {
            lo = rows[w][0].median < lo ? rows[w][0].median : lo;
            hi = rows[w][0].median > hi ? rows[w][0].median : hi;
        }
        if (workloads[w].param < 10000)
            continue;
        ok = fast_over(rows[w], 1) >= 10.0;
        all = all && ok;
        printf("  fast >= 10x faster than table at %-10s %5.1fx  %s\n", workloads[w].name, fast_over(rows[w], 1),
               ok ? "MET" : "MISSED");
    }
    ok = hi > 0 && hi <= 2.0 * lo;
    all = all && ok;
    printf("  fast ns/op within 2x over 10..1M holes:    %.1f..%.1f ns (%.2fx)  %s\n", lo, hi, hi / lo,
           ok ? "MET" : "MISSED");
    ok = rows[0][0].ok && rows[0][2].ok && rows[0][0].median <= rows[0][2].median;
    all = all && ok;
    printf("  small-random fast at least as fast as glibc: %.1f vs %.1f ns  %s\n", rows[0][0].median, rows[0][2].median,
           ok ? "MET" : "MISSED");
    return all;
}

static int cmd_compare(char *const bins[IMPLS])
{
    static row rows[WORKLOADS][IMPLS];
    bool failed = false;
    print_header();
    fflush(stdout);
    for (size_t w = 0; w < WORKLOADS; w++) {
        for (int i = 0; i < IMPLS; i++)
            if (!read_result(bins[i], workloads[w].name, &rows[w][i]))
                failed = true;
        printf("%-13s %9zu", workloads[w].name, rows[w][0].ops);
        for (int i = 0; i < IMPLS; i++)
            print_cell(&rows[w][i]);
        printf(" | %9.1fx %9.2fx %10.2fx\n", fast_over(rows[w], 1), fast_over(rows[w], 2), fast_over(rows[w], 4));
        fflush(stdout);
    }
    print_notes((const row(*)[IMPLS])rows, WORKLOADS);
    print_targets((const row(*)[IMPLS])rows, WORKLOADS);
    for (size_t w = 0; w < WORKLOADS; w++)
        for (int i = 0; i < IMPLS; i++)
            if (rows[w][i].ok && rows[w][i].check != 0)
                printf("hh_check failed after %s in %s: code %d\n", workloads[w].name, impl_label[i], rows[w][i].check);
    return failed ? 1 : 0;
}

/* Instructions executed inside bench_measured_* (callees included), from a callgrind out file. */
static bool callgrind_ir(const char *file, double *ir)
{
    char line[512];
    FILE *f = fopen(file, "r");
    bool found = false;
    if (f == NULL)
        return false;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "summary: %lf", ir) == 1 || sscanf(line, "totals: %lf", ir) == 1)
            found = true;
    fclose(f);
    return found;
}

static double callgrind_one(const char *dir, const char *bin, const char *impl, const char *wl)
{
    char cmd[4096], out[2048], line[512];
    double ir = 0;
    size_t ops = 0;
    FILE *f;
    snprintf(out, sizeof out, "%s/callgrind.%s.%s.out", dir, impl, wl);
    snprintf(cmd, sizeof cmd,
             "valgrind --tool=callgrind --collect-atstart=no --toggle-collect='bench_measured_*' "
             "--callgrind-out-file=%s %s callgrind %s 2>/dev/null",
             out, bin, wl);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "CGOPS %*s %*s %zu", &ops) == 1)
            break;
    while (fgets(line, sizeof line, f))
        ;
    if (pclose(f) != 0 || ops == 0 || !callgrind_ir(out, &ir))
        return -1;
    return ir / (double)ops;
}

static bool is_holes(const char *name) { return strncmp(name, "holes-", 6) == 0; }

/* One target line: got against the limit, MET or MISSED. */
static void print_target(const char *what, double got, double limit)
{
    printf("  %-52s %7.0f vs %7.0f  %s\n", what, got, limit, got > 0 && got <= limit ? "MET" : "MISSED");
}

/* The targets, judged by instructions instead of time. */
static void print_callgrind_targets(const char *const names[], const double ir[][IMPLS], size_t n)
{
    double lo = 1e300, hi = 0;
    printf("\ntargets by instructions per call (not time: no cache misses in these counts):\n");
    for (size_t w = 0; w < n; w++) {
        const workload *wl = find_workload(names[w]);
        if (!is_holes(names[w]) || ir[w][0] <= 0)
            continue;
        lo = ir[w][0] < lo ? ir[w][0] : lo;
        hi = ir[w][0] > hi ? ir[w][0] : hi;
        if (wl->param >= 10000)
            printf("  fast >= 10x fewer than table at %-10s %7.1fx  %s\n", names[w], ir[w][1] / ir[w][0],
                   ir[w][1] >= 10 * ir[w][0] ? "MET" : "MISSED");
    }
    printf("  fast within 1.5x over the holes rows:        %.0f..%.0f (%.2fx)  %s\n", lo, hi, hi / lo,
           hi <= 1.5 * lo ? "MET" : "MISSED");
    print_target("small-random fast <= 0.75x glibc", ir[0][0], 0.75 * ir[0][2]);
    print_target("power-law fast <= 0.75x glibc", ir[1][0], 0.75 * ir[1][2]);
    print_target("fifo-large fast <= 1.0x glibc", ir[2][0], ir[2][2]);
    print_target("aligned-mix fast <= 1.0x glibc", ir[3][0], ir[3][2]);
    print_target("small-random strict <= 250", ir[0][3], 250);
}

static int cmd_callgrind_compare(const char *dir, char *const bins[IMPLS])
{
    static const char *const names[] = {"small-random", "power-law", "fifo-large", "aligned-mix", "holes-10",
                                        "holes-100",    "holes-1k",  "holes-10k",  "holes-100k",  "holes-1M"};
    enum { NAMES = sizeof names / sizeof names[0] };
    static double ir[NAMES][IMPLS];
    bool failed = false;
    printf("instructions per call inside the measured loop (callgrind; short fixed runs; callees included)\n");
    printf("%-13s %10s %10s %10s %10s %10s %11s %12s\n", "workload", "fast", "table", "glibc", "strict", "locked",
           "table/fast", "locked-fast");
    for (size_t w = 0; w < NAMES; w++) {
        printf("%-13s", names[w]);
        for (int i = 0; i < IMPLS; i++) {
            ir[w][i] = callgrind_one(dir, bins[i], impl_label[i], names[w]);
            if (ir[w][i] < 0)
                failed = true;
            if (ir[w][i] < 0)
                printf(" %10s", "FAILED");
            else
                printf(" %10.0f", ir[w][i]);
        }
        printf(" %10.1fx %12.0f\n", ir[w][0] > 0 ? ir[w][1] / ir[w][0] : 0.0,
               ir[w][0] > 0 && ir[w][4] > 0 ? ir[w][4] - ir[w][0] : 0.0);
        fflush(stdout);
    }
    printf("(included in every column: the loop's own work, a 16-byte write per new block and the trace reads;\n"
           " locked-fast: what the lock costs a call, its callbacks' own instructions included)\n");
    print_callgrind_targets(names, (const double(*)[IMPLS])ir, NAMES);
    return failed ? 1 : 0;
}

/* One `latency` run of bins[i] on a workload: p50, p99, p99.9, worst and the
 * clock pair's cost in v[0..4]; false when the program printed none. */
static bool latency_run(const char *bin, const char *name, double v[5])
{
    char cmd[4096], line[512];
    bool got = false;
    snprintf(cmd, sizeof cmd, "%s latency %s", bin, name);
    FILE *f = popen(cmd, "r");
    while (f && fgets(line, sizeof line, f))
        got = got || sscanf(line, "LATENCY %*s %*s %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5;
    if (f)
        pclose(f);
    return got;
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Rounds of `latency` for every slot workload, the programs interleaved in
 * each round (so that a burst of load on the shared machine falls on all of
 * them alike); one line per round and program, then the median p99.9 of the
 * rounds against glibc's. LATENCY_ROUNDS in the environment: 1 to 15. */
#define LATENCY_ROUNDS_MAX 15
static int cmd_latency_compare(char *const bins[IMPLS])
{
    static const char *const names[] = {"small-random", "power-law", "fifo-large", "aligned-mix"};
    const char *env = getenv("LATENCY_ROUNDS");
    int rounds = env ? atoi(env) : 5;
    rounds = rounds < 1 ? 1 : rounds > LATENCY_ROUNDS_MAX ? LATENCY_ROUNDS_MAX : rounds;
    printf("ns per call, each call timed on its own (%u calls; the clock pair's own cost is in each figure); %d "
           "rounds, the programs interleaved in each\n",
           LATENCY_CALLS, rounds);
    printf("%-13s %-7s %5s %8s %8s %8s %10s\n", "workload", "impl", "round", "p50", "p99", "p99.9", "worst");
    for (size_t w = 0; w < sizeof names / sizeof names[0]; w++) {
        double p999[IMPLS][LATENCY_ROUNDS_MAX];
        int got[IMPLS] = {0};
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < IMPLS; i++) {
                double v[5];
                if (!latency_run(bins[i], names[w], v))
                    continue;
                p999[i][got[i]++] = v[2];
                printf("%-13s %-7s %5d %8.1f %8.1f %8.1f %10.1f   (clock pair %.1f)\n", names[w], impl_label[i], r + 1,
                       v[0], v[1], v[2], v[3], v[4]);
            }
        if (got[0] != rounds || got[2] != rounds) {
            printf("  target p99.9 fast <= glibc: a run printed nothing (fast %d, glibc %d of %d rounds)\n", got[0],
                   got[2], rounds);
            continue;
        }
        double fast = median_of(p999[0], rounds), glibc = median_of(p999[2], rounds);
        printf("  target p99.9 fast <= glibc, median of %d rounds: %.1f vs %.1f  %s\n", rounds, fast, glibc,
               fast <= glibc ? "MET" : "MISSED");
        if (got[4] == rounds)
            printf("  p99.9 locked, median of %d rounds: %.1f (no target)\n", rounds, median_of(p999[4], rounds));
    }
    return 0; /* a benchmark: the verdicts are read, not a test */
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_core run|callgrind WORKLOAD\n"
                    "       bench_core latency WORKLOAD\n"
                    "       bench_core latency-compare FAST TABLE GLIBC STRICT LOCKED\n"
                    "       bench_core compare FAST TABLE GLIBC STRICT LOCKED\n"
                    "       bench_core callgrind-compare OUTDIR FAST TABLE GLIBC STRICT LOCKED\nworkloads:\n");
    for (size_t i = 0; i < WORKLOADS; i++)
        fprintf(stderr, "  %-13s %s\n", workloads[i].name, workloads[i].what);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "run") == 0)
        return cmd_run(argv[2]);
    if (argc == 3 && strcmp(argv[1], "callgrind") == 0)
        return cmd_callgrind(argv[2]);
    if (argc == 3 && strcmp(argv[1], "latency") == 0)
        return cmd_latency(argv[2]);
    if (argc == 2 + IMPLS && strcmp(argv[1], "latency-compare") == 0)
        return cmd_latency_compare(argv + 2);
    if (argc == 2 + IMPLS && strcmp(argv[1], "compare") == 0)
        return cmd_compare(argv + 2);
    if (argc == 3 + IMPLS && strcmp(argv[1], "callgrind-compare") == 0)
        return cmd_callgrind_compare(argv[2], argv + 3);
    return usage();
}
