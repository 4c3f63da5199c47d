/*
 * test_regions: the additions of issue 10. More than one region
 * (hh_add_region: allocation, hh_check, hh_walk, stats and growth over all
 * regions, a block never across two, refusals that write nothing, wild
 * pointers between regions), hh_max_alloc (exact, front and strict), the
 * statistics (counts, peak and its reset, low-water mark, fragmentation),
 * hh_realloc_aligned and realloc keeping alignment and sliding into the hole
 * before the block, and the out-of-memory and trace hooks. Ends with a
 * model-based random run over several regions added while it runs, hh_check
 * after every step.
 *
 * The memory between two regions is poisoned under AddressSanitizer, so any
 * read of it by the heap fails the test.
 *
 *   test_regions [PATTERN | --list]  the cmocka tests (tests/cmocka_select.h)
 *   test_regions --model SEED OPS    only the random run (also run by the tests)
 */
#define _DEFAULT_SOURCE /* mmap's MAP_ANONYMOUS */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>

#include "growbuf.h"
#include "holeheap.h"
#include "index.h" /* idx_storage_bytes: what the table build keeps in the region */
#include "heap.h"  /* struct hh_heap: pos_fast, for the gate test */
#include "testutil.h"
#include "cmocka_blocks.h"
#include "cmocka_select.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define ARENA_BYTES (8 * MiB)

static alignas(4096) unsigned char arena[ARENA_BYTES];
static problem_log plog;

/* ---- regions carved from the arena, the memory between them poisoned ---- */

static void forbid(unsigned char *from, unsigned char *to)
{
    if (to > from)
        GROWBUF_FORBID(from, (size_t)(to - from));
}

static void allow_all(void) { GROWBUF_ALLOW(arena, ARENA_BYTES); }

static hh_heap *heap_at(size_t off, size_t size, uint32_t flags)
{
    allow_all();
    problem_log_reset(&plog);
    hh_options o = {.on_error = problem_log_record, .ctx = &plog, .key = 0x1234567u, .flags = flags};
    hh_heap *h = hh_init(arena + off, size, &o);
    assert_non_null(h);
    return h;
}

/* Add [off, off+size) of the arena, poisoning what lies between it and the
 * end of the previous region (prev_stop). */
static void add_region_ok(hh_heap *h, size_t prev_stop, size_t off, size_t size)
{
    assert_int_equal(hh_add_region(h, arena + off, size), HH_OK);
    forbid(arena + prev_stop, arena + off);
    assert_int_equal(hh_check(h, NULL), HH_OK);
}

static int teardown(void **state)
{
    (void)state;
    allow_all();
    return 0;
}

/* Is [p, p+n) inside [arena+off, arena+off+size)? */
static bool inside(const void *p, size_t n, size_t off, size_t size)
{
    const unsigned char *c = p;
    return c >= arena + off && c + n <= arena + off + size;
}

/* ---- hh_add_region ---- */

/* Blocks come from both regions, the walk covers both and skips the memory
 * between them, the stats count both, and freeing all leaves one hole in
 * each region. */
static void two_regions_serve_and_walk(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 256 * KiB, HH_STRICT);
    add_region_ok(h, 256 * KiB, 1 * MiB, 256 * KiB);
    void *p[64];
    size_t in_first = 0, in_second = 0;
    for (int i = 0; i < 64; i++) {
        p[i] = alloc_filled(h, 7000, (uint32_t)i);
        in_first += inside(p[i], 7000, 0, 256 * KiB);
        in_second += inside(p[i], 7000, 1 * MiB, 256 * KiB);
    }
    assert_int_equal(in_first + in_second, 64);
    assert_true(in_first > 0 && in_second > 0);
    assert_consistent(h);
    walk_summary w;
    assert_int_equal(walk_summarise(h, &w), 0);
    assert_false(w.contiguous);
    assert_int_equal(w.blocks, 64);
    hh_stats s = stats_of(h);
    assert_true(s.region_bytes <= 512 * KiB && s.region_bytes > 500 * KiB);
    assert_int_equal(s.used_bytes + s.free_bytes, w.block_bytes + w.hole_bytes);
    char map[81];
    assert_int_equal(hh_map_text(h, map, sizeof map, 80), 80);
    assert_non_null(strchr(map, ' ')); /* the memory between the regions */
    for (int i = 0; i < 64; i++) {
        assert_pattern(p[i], 7000, (uint32_t)i);
        hh_free(h, p[i]);
    }
    assert_consistent(h);
    s = stats_of(h);
    assert_int_equal(s.holes, 2);
    assert_int_equal(s.blocks, 0);
    assert_int_equal(plog.count, 0);
}

/* Two regions of 128 KiB, both empty: a request larger than either but
 * smaller than both together fails; one that fits the larger succeeds. */
static void block_never_spans_two_regions(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 128 * KiB, HH_STRICT);
    add_region_ok(h, 128 * KiB, 128 * KiB + 64, 128 * KiB); /* right after it: still two regions */
    assert_null(hh_alloc(h, 160 * KiB));
    size_t m = hh_max_alloc(h);
    void *p = hh_alloc(h, m);
    assert_non_null(p); /* in the larger: the table build keeps its moved table in the second */
    assert_true(inside(p, m, 128 * KiB + 64, 128 * KiB) || inside(p, m, 0, 128 * KiB));
    hh_free(h, p);
    assert_consistent(h);
    assert_int_equal(plog.count, 0);
}

/* A refused region leaves every byte of the heap and of the region as it
 * was, and returns the code the header names. */
static void assert_refused(hh_heap *h, void *mem, size_t size, int code)
{
    static unsigned char before[ARENA_BYTES];
    allow_all();
    memcpy(before, arena, ARENA_BYTES);
    hh_stats s0 = stats_of(h);
    assert_int_equal(hh_add_region(h, mem, size), code);
    assert_memory_equal(before, arena, ARENA_BYTES);
    hh_stats s1 = stats_of(h);
    assert_int_equal(s0.region_bytes, s1.region_bytes);
    assert_int_equal(plog.count, 0);
}

static void refused_regions_write_nothing(void **state)
{
    (void)state;
    hh_heap *h = heap_at(1 * MiB, 256 * KiB, 0);
    assert_refused(h, NULL, 64 * KiB, HH_E_REGION);
    assert_refused(h, arena, 64 * KiB, HH_E_REGION);                           /* below the heap */
    assert_refused(h, arena + 1 * MiB + 100 * KiB, 64 * KiB, HH_E_REGION);     /* overlaps it */
    assert_refused(h, arena + 1 * MiB + 256 * KiB - 8, 64 * KiB, HH_E_REGION); /* its last bytes */
    assert_refused(h, arena + 2 * MiB, 40, HH_E_REGION);                       /* too small for a hole */
    assert_refused(h, arena + 2 * MiB, SIZE_MAX - 8, HH_E_REGION);             /* wraps */
#if SIZE_MAX > 0xFFFFFFFFu
    uintptr_t far = (uintptr_t)arena + 2 * MiB + HH_MAX_SPAN; /* too far: never touched */
    assert_refused(h, (void *)far, 64 * KiB, HH_E_REGION);
#endif
    assert_int_equal(hh_add_region(NULL, arena + 2 * MiB, 64 * KiB), HH_E_BAD_POINTER);
    assert_consistent(h);
    /* now one that fits, and then one below it */
    add_region_ok(h, 1 * MiB + 256 * KiB, 3 * MiB, 64 * KiB);
    assert_refused(h, arena + 2 * MiB, 64 * KiB, HH_E_REGION);
}

/* HH_MAX_REGIONS regions and no more. */
static void region_count_is_bounded(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, 0);
    size_t stop = 64 * KiB, off = 128 * KiB;
    for (int k = 1; k < 8; k++) { /* HH_MAX_REGIONS (config.h) is 8 by default */
        add_region_ok(h, stop, off, 64 * KiB);
        stop = off + 64 * KiB;
        off += 128 * KiB;
    }
    assert_refused(h, arena + off, 64 * KiB, HH_E_REGION);
}

/* A heap found damaged is refused with hh_check's code, nothing written. */
static void damaged_heap_refuses_a_region(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 256 * KiB, 0);
    unsigned char *p = hh_alloc(h, 1000);
    assert_non_null(p);
    p[1000 + 8] ^= 0x40; /* the footer */
    assert_refused(h, arena + 1 * MiB, 64 * KiB, HH_E_CORRUPT);
    p[1000 + 8] ^= 0x40;
    assert_consistent(h);
}

/* Pointers into the memory between regions are refused without reading it
 * (ASan: poisoned), and so is the gap's own payload. */
static void pointers_between_regions_are_refused(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, 0);
    add_region_ok(h, 64 * KiB, 1 * MiB, 64 * KiB);
    size_t wild[] = {64 * KiB + 16, 512 * KiB + 8, 1 * MiB - 8 - 16, 64 * KiB - 8 + 16};
    for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
        unsigned char *p = arena + wild[i];
        size_t before = plog.count;
        hh_free(h, p);
        assert_int_equal(plog.count, before + 1);
        assert_int_equal(plog.last_code, HH_E_BAD_POINTER);
        assert_null(hh_realloc(h, p, 10));
        assert_int_equal(hh_usable_size(h, p), 0);
    }
    assert_consistent(h);
}

/* pos_fast says which positions need no lookup among the gaps: a stray write
 * that raises it would let a damaged link be followed between regions, so
 * the gate covers it and the call is refused. */
static void pos_fast_is_in_the_gate(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, 0);
    add_region_ok(h, 64 * KiB, 1 * MiB, 64 * KiB);
    size_t problems = hh_problem_count(h);
    h->pos_fast += 1u << 12;
    assert_null(hh_alloc(h, 100));
    assert_int_equal(hh_problem_count(h), problems + 1);
    assert_int_equal(hh_last_problem(h, NULL), HH_E_CORRUPT);
    h->pos_fast -= 1u << 12;
    void *p = hh_alloc(h, 100);
    assert_non_null(p);
    hh_free(h, p);
    assert_consistent(h);
}

/* Growth happens at the last region's end, up to its start + max_size, and
 * trimming gives back only what growth added there. */
static size_t grow_second(void *ctx, void *end, size_t min_bytes) { return growbuf_grow(ctx, end, min_bytes); }
static size_t shrink_second(void *ctx, void *new_end, size_t bytes) { return growbuf_shrink(ctx, new_end, bytes); }

/* ---- damage next to the memory between regions ---- */

/* 64 pages: regions at pages 0 and 32, pages 16-31 between them unreadable
 * (PROT_NONE in every build: a read there is a crash, not a poisoned byte). */
#define PAGE ((size_t)4096)
static unsigned char *map_with_unreadable_middle(void)
{
    unsigned char *m = mmap(NULL, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(mprotect(m + 16 * PAGE, 16 * PAGE, PROT_NONE), 0);
    return m;
}

static size_t grow_anything(void *ctx, void *end, size_t min_bytes)
{
    (void)ctx;
    (void)end;
    return min_bytes;
}

/* A heap over m's two regions whose first region is full; the second is
 * full too when it grows, else empty: the next blocks start it. */
static hh_heap *heap_over_two_regions(unsigned char *m, size_t first, size_t second, bool grows)
{
    problem_log_reset(&plog);
    hh_options o = {.on_error = problem_log_record, .ctx = &plog, .flags = HH_STRICT};
    if (grows) {
        o.grow = grow_anything;
        o.max_size = first;
    }
    hh_heap *h = hh_init(m, first, &o);
    assert_non_null(h);
    assert_int_equal(hh_add_region(h, m + 32 * PAGE, second), HH_OK);
    void *second_block = hh_alloc(h, hh_max_alloc(h)); /* the largest hole: region 2's */
    assert_true((unsigned char *)second_block >= m + 32 * PAGE);
    assert_non_null(hh_alloc(h, hh_max_alloc(h))); /* region 1's */
    if (!grows)
        hh_free(h, second_block); /* region 2 empty again: the next blocks start it */
    return h;
}

static int last_span(void *ctx, const hh_span *s)
{
    *(hh_span *)ctx = *s;
    return 0;
}

/* I15: a stray write makes the footer before a region's first block look
 * like a small hole, or an overflow makes a footer claim more than its
 * region holds: free refuses the block (reported) and reads nothing between
 * the regions (before, it crashed there). */
static void free_never_reads_between_regions(void **state)
{
    (void)state;
    for (int mode = 0; mode < 2; mode++) {
        unsigned char *m = map_with_unreadable_middle();
        hh_heap *h = heap_over_two_regions(m, 16 * PAGE, 32 * PAGE, false);
        unsigned char *a = hh_alloc(h, 100), *b = hh_alloc(h, 100);
        assert_true(a >= m + 32 * PAGE && b > a);
        uint32_t *footer = (uint32_t *)(void *)((mode == 0 ? a : b) - 16);
        footer[0] = mode == 0 ? (2u << 2 | 1u) : (4096u << 2 | 1u); /* a 32-byte hole; a 64 KiB one */
        size_t before = plog.count;
        hh_free(h, mode == 0 ? a : b);
        assert_int_equal(plog.count, before + 1);
        assert_int_equal(plog.last_code, HH_E_CORRUPT);
        assert_int_equal(hh_check(h, NULL), HH_E_CORRUPT);
        assert_int_equal(munmap(m, 64 * PAGE), 0);
    }
}

/* I15: an overflow that makes the last block's footer claim more than the
 * last region holds: growth reports it and reads nothing between regions. */
static void growth_never_reads_between_regions(void **state)
{
    (void)state;
    unsigned char *m = map_with_unreadable_middle();
    hh_heap *h = heap_over_two_regions(m, 6 * PAGE, 8 * PAGE, true);
    hh_span last = {0};
    assert_int_equal(hh_walk(h, last_span, &last), 0);
    uint32_t claim = (uint32_t)((16 * PAGE / 16) << 2);
    memcpy((unsigned char *)last.start + last.size - 8, &claim, sizeof claim); /* the last footer's word */
    size_t before = plog.count;
    assert_null(hh_alloc(h, 100)); /* needs growth */
    assert_int_equal(plog.count, before + 1);
    assert_int_equal(plog.last_code, HH_E_CORRUPT);
    assert_int_equal(munmap(m, 64 * PAGE), 0);
}

static void growth_applies_to_the_last_region(void **state)
{
    (void)state;
    allow_all();
    growbuf gb;
    size_t table = (idx_storage_bytes(1 * MiB) + 4095) & ~(size_t)4095;
    growbuf_start(&gb, arena + 4 * MiB, 2 * MiB, 64 * KiB + 2 * table); /* the table build moves its table there */
    hh_options o = {.grow = grow_second, .shrink = shrink_second, .ctx = &gb, .max_size = 1 * MiB};
    hh_heap *h = hh_init(arena, 64 * KiB + table, &o); /* may grow to 1 MiB: its growth range is its own */
    assert_non_null(h);
    assert_int_equal(hh_add_region(h, arena + 512 * KiB, 64 * KiB), HH_E_REGION); /* inside that range */
    assert_int_equal(hh_add_region(h, arena + 4 * MiB, 64 * KiB + 2 * table), HH_OK);
    void *p = hh_alloc(h, 600 * KiB);
    assert_non_null(p);
    assert_true(inside(p, 600 * KiB, 4 * MiB, 1 * MiB));
    assert_true(gb.grow_calls > 0);
    assert_int_equal(gb.bad_calls, 0);
    assert_null(hh_alloc(h, 2 * MiB)); /* past start + max_size */
    assert_consistent(h);
    hh_free(h, p);
    hh_trim(h);
    assert_consistent(h);
    assert_true(gb.released > 0);
    assert_true(gb.committed >= 64 * KiB);
    assert_int_equal(gb.bad_calls, 0);
    growbuf_finish(&gb);
}

/* ---- hh_max_alloc ---- */

/* The largest run of free spans (holes and cached blocks, which hh_walk
 * shows as holes) that touch: what the model says hh_max_alloc must be. */
typedef struct run_walk {
    const char *run_end;
    size_t run, best;
} run_walk;

static int run_visit(void *ctx, const hh_span *s)
{
    run_walk *w = ctx;
    if (!s->is_hole) {
        w->run = 0;
    } else {
        w->run = (const char *)s->start == w->run_end ? w->run + s->size : s->size;
        w->run_end = (const char *)s->start + s->size;
        w->best = w->best > w->run ? w->best : w->run;
    }
    return 0;
}

/* With HH_CANARY every request carries an 8-byte size record (docs/design.md). */
static size_t model_max_alloc(hh_heap *h, uint32_t flags)
{
    run_walk w = {NULL, 0, 0};
    assert_int_equal(hh_walk(h, run_visit, &w), 0);
    size_t record = (flags & HH_CANARY) ? 8 : 0;
    return w.best >= 32 + record ? w.best - HH_OVERHEAD - record : 0;
}

/* m = hh_max_alloc: m + 1 fails, m succeeds (on a heap that cannot grow). */
static void assert_max_alloc_exact(hh_heap *h, uint32_t flags)
{
    size_t m = hh_max_alloc(h);
    assert_int_equal(m, model_max_alloc(h, flags));
    if (m == 0)
        return;
    size_t fails = stats_of(h).failed_allocations;
    assert_null(hh_alloc(h, m + 1));
    assert_int_equal(stats_of(h).failed_allocations, fails + 1);
    void *p = hh_alloc(h, m);
    assert_non_null(p);
    hh_free(h, p);
}

static void max_alloc_exact(uint32_t flags)
{
    hh_heap *h = heap_at(0, 1 * MiB, flags);
    add_region_ok(h, 1 * MiB, 2 * MiB, 512 * KiB);
    rng r = rng_seeded(flags + 7);
    void *live[300] = {0};
    for (int step = 0; step < 3000; step++) {
        size_t i = rng_below(&r, 300);
        if (live[i]) {
            hh_free(h, live[i]);
            live[i] = NULL;
        } else {
            live[i] = hh_alloc(h, rng_below(&r, 4) ? rng_range(&r, 0, 500) : rng_range(&r, 500, 20000));
        }
        if (step % 50 == 0) {
            assert_max_alloc_exact(h, flags);
            assert_consistent(h);
        }
    }
    assert_int_equal(plog.count, 0);
    hh_stats s = stats_of(h);
    assert_int_equal(s.frees, s.allocations - s.blocks);
}

static void max_alloc_exact_front(void **state)
{
    (void)state;
    max_alloc_exact(0);
}

static void max_alloc_exact_strict(void **state)
{
    (void)state;
    max_alloc_exact(HH_STRICT);
}

static void max_alloc_exact_canary(void **state)
{
    (void)state;
    max_alloc_exact(HH_CANARY);
}

static void max_alloc_of_a_full_heap_is_zero(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, HH_STRICT);
    while (hh_alloc(h, 0))
        ;
    assert_int_equal(hh_max_alloc(h), 0);
    assert_int_equal(stats_of(h).failed_allocations, 1); /* size 0 runs out of memory too */
    assert_int_equal(hh_max_alloc(NULL), 0);
}

/* ---- statistics ---- */

/* Counts, peak with its reset, and the low-water mark of free bytes. */
static void stats_counts_peak_and_low_water(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 512 * KiB, 0);
    hh_stats s0 = stats_of(h);
    assert_int_equal(s0.free_low_bytes, s0.free_bytes);
    void *a = hh_alloc(h, 100), *b = hh_alloc(h, 50000), *c = hh_calloc(h, 10, 10);
    void *d = hh_alloc_aligned(h, 64, 4096);
    hh_free(h, a);
    a = hh_alloc(h, 100); /* from the front: counted on the fast path */
    assert_null(hh_alloc(h, 1 * MiB));
    hh_stats s = stats_of(h);
    assert_int_equal(s.allocations, 5);
    assert_int_equal(s.frees, 1);
    assert_int_equal(s.failed_allocations, 1);
    assert_int_equal(s.peak_used_bytes, s.used_bytes);
    assert_int_equal(s.free_low_bytes, s.free_bytes);
    size_t peak = s.used_bytes, low = s.free_bytes;
    hh_free(h, b);
    s = stats_of(h);
    assert_int_equal(s.peak_used_bytes, peak);
    assert_int_equal(s.free_low_bytes, low);
    assert_true(s.free_bytes > low);
    hh_stats_reset_peak(h);
    s = stats_of(h);
    assert_int_equal(s.peak_used_bytes, s.used_bytes);
    assert_int_equal(s.free_low_bytes, s.free_bytes);
    assert_null(hh_calloc(h, SIZE_MAX, 2)); /* reported, not out of memory */
    assert_int_equal(stats_of(h).failed_allocations, 1);
    hh_free(h, a);
    hh_free(h, c);
    hh_free(h, d);
    s = stats_of(h);
    assert_int_equal(s.frees, 5);
    assert_int_equal(s.allocations, 5);
}

/* A region added keeps the low-water mark of the time before it. */
static void stats_low_water_across_a_new_region(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 256 * KiB, 0);
    void *p = hh_alloc(h, 200 * KiB);
    assert_non_null(p);
    size_t low = stats_of(h).free_bytes;
    hh_free(h, p);
    add_region_ok(h, 256 * KiB, 1 * MiB, 256 * KiB);
    hh_stats s = stats_of(h);
    assert_int_equal(s.free_low_bytes, low);
    assert_true(s.free_bytes > 400 * KiB);
    hh_stats_reset_peak(h);
    assert_int_equal(stats_of(h).free_low_bytes, stats_of(h).free_bytes);
}

typedef struct frag_walk {
    size_t holes, sum_g, largest;
    uint64_t squares;
} frag_walk;

static int frag_visit(void *ctx, const hh_span *s)
{
    frag_walk *f = ctx;
    if (s->is_hole) {
        uint64_t g = s->size / 16;
        f->holes++;
        f->sum_g += (size_t)g;
        f->squares += g * g;
        f->largest = s->size > f->largest ? s->size : f->largest;
    }
    return 0;
}

static size_t floor_sqrt(uint64_t x)
{
    uint64_t r = 0;
    while ((r + 1) * (r + 1) <= x)
        r++;
    return (size_t)r;
}

/* The two fragmentation figures, recomputed from the walk (strict: no cached
 * blocks, so every span the walk calls a hole is one). */
static void stats_fragmentation_figures(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 256 * KiB, HH_STRICT);
    void *p[40];
    for (int i = 0; i < 40; i++)
        p[i] = alloc_filled(h, 1000 + 100 * (size_t)i, (uint32_t)i);
    for (int i = 0; i < 40; i += 2)
        hh_free(h, p[i]);
    frag_walk f = {0};
    assert_int_equal(hh_walk(h, frag_visit, &f), 0);
    hh_stats s = stats_of(h);
    assert_int_equal(s.holes, f.holes);
    assert_int_equal(s.frag_permille, 1000 - 1000 * f.largest / s.free_bytes);
    assert_int_equal(s.frag_umm_percent, 100 - 100 * floor_sqrt(f.squares) / f.sum_g);
    assert_true(s.frag_permille > 0 && s.frag_umm_percent > 0);
    for (int i = 1; i < 40; i += 2)
        hh_free(h, p[i]);
    s = stats_of(h);
    assert_int_equal(s.frag_permille, 0);
    assert_int_equal(s.frag_umm_percent, 0);
}

/* ---- realloc and alignment ---- */

/* A block with a free hole before it and a block after it grows into the
 * hole: the same bytes, at the hole's address, no third block needed. */
static void realloc_slides_into_the_hole_before(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, HH_STRICT);
    void *a = alloc_filled(h, 3000, 1), *b = alloc_filled(h, 2000, 2), *c = alloc_filled(h, 100, 3);
    void *rest = hh_alloc(h, hh_max_alloc(h)); /* nothing else is free */
    assert_non_null(rest);
    hh_free(h, a);
    unsigned char *q = hh_realloc_aligned(h, b, 4500, 16); /* no alignment past 16 to keep */
    assert_ptr_equal(q, a);
    assert_pattern(q, 2000, 2);
    assert_pattern(c, 100, 3);
    assert_consistent(h);
    hh_stats s = stats_of(h);
    assert_int_equal(s.blocks, 3);
    q = hh_realloc(h, q, 5200); /* too big even for that: NULL, untouched */
    assert_null(q);
    assert_pattern(a, 2000, 2);
    assert_consistent(h);
    assert_int_equal(plog.count, 0);
}

/* A write after free into the index node of the hole before a block: the
 * realloc that would slide into it reports the damage once, at the search,
 * and does nothing (before the fix, the slide's unlink of that hole reported
 * it a second time). The ordered table keeps no node in the hole. */
static void realloc_reports_damage_before_it_once(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, HH_STRICT);
    unsigned char *a = hh_alloc(h, 3000);
    void *b = alloc_filled(h, 1000, 2), *c = hh_alloc(h, 100);
    void *rest = hh_alloc(h, hh_max_alloc(h));
    assert_true(a && c && rest);
    hh_free(h, a);
    memset(a, 0x41, 16); /* the hole's index node (the table build keeps none there) */
#ifdef HH_INDEX_TABLE
    void *q = hh_realloc_aligned(h, b, 2000, 16);
    assert_ptr_equal(q, a); /* nothing damaged: it slides */
    assert_int_equal(plog.count, 0);
    assert_pattern(q, 1000, 2);
#else
    assert_null(hh_realloc_aligned(h, b, 2000, 16));
    assert_int_equal(plog.count, 1);
    assert_pattern(b, 1000, 2);
#endif
}

/* ...but only when no hole holds the block: with a hole elsewhere that does,
 * the block moves there and its place merges with the hole before it, one
 * hole for any later request instead of slack that only this block's growth
 * could use. */
static void realloc_moves_before_sliding(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, HH_STRICT);
    void *a = alloc_filled(h, 3000, 1), *b = alloc_filled(h, 2000, 2), *c = alloc_filled(h, 100, 3);
    void *d = alloc_filled(h, 6000, 4), *e = alloc_filled(h, 100, 5);
    void *rest = hh_alloc(h, hh_max_alloc(h));
    assert_non_null(rest);
    hh_free(h, a);
    hh_free(h, d);
    unsigned char *q = hh_realloc_aligned(h, b, 4500, 16);
    assert_ptr_equal(q, d);
    assert_pattern(q, 2000, 2);
    assert_pattern(c, 100, 3);
    assert_pattern(e, 100, 5);
    assert_consistent(h);
    hh_stats s = stats_of(h);
    assert_int_equal(s.blocks, 4);
    assert_true(s.largest_hole >= 3000 + 2000); /* a's hole and b's place, merged */
    assert_int_equal(plog.count, 0);
}

/* hh_realloc slides when the best fit is the hole before the block (no copy
 * to a new block, no allocation counted), and keeps the alignment the block
 * has: a block at a 256-aligned address after a hole of 20 KB lands on a spot
 * of the hole as aligned as it was. */
static void realloc_slides_keeping_alignment(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 64 * KiB, HH_STRICT);
    void *a = hh_alloc(h, 20000);
    void *b = hh_alloc_aligned(h, 600, 256);
    void *c = hh_alloc(h, 400); /* too big for the gap b's alignment may leave before it */
    void *rest = hh_alloc(h, hh_max_alloc(h));
    assert_true(a && b && c && rest);
    pattern_fill(b, 600, 5);
    hh_free(h, a);
    hh_stats before = stats_of(h);
    size_t holes = before.holes;
    unsigned char *q = hh_realloc(h, b, 900);
    assert_non_null(q);
    assert_int_equal(stats_of(h).allocations, before.allocations); /* slid: a move would count one */
    uintptr_t had = (uintptr_t)b & -(uintptr_t)b;                  /* at least 256, more by chance */
    assert_true((unsigned char *)q < (unsigned char *)b && ((uintptr_t)q & (had - 1)) == 0);
    assert_pattern(q, 600, 5);
    assert_true(stats_of(h).holes <= holes + 1);
    assert_consistent(h);
    assert_int_equal(plog.count, 0);
}

/* hh_realloc moves a 4096-aligned block to a 4096-aligned address. */
static void realloc_keeps_the_alignment_it_had(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 1 * MiB, 0);
    for (size_t align = 32; align <= 64 * KiB; align *= 4) {
        void *p = hh_alloc_aligned(h, 200, align);
        assert_non_null(p);
        pattern_fill(p, 200, 9);
        void *blocker = hh_alloc(h, 10); /* no growing in place */
        void *q = hh_realloc(h, p, 30000);
        assert_non_null(q);
        assert_true(((uintptr_t)q & (align - 1)) == 0);
        assert_pattern(q, 200, 9);
        hh_free(h, blocker);
        hh_free(h, q);
        assert_consistent(h);
    }
    assert_int_equal(plog.count, 0);
}

static void realloc_aligned_aligns(void **state)
{
    (void)state;
    hh_heap *h = heap_at(0, 1 * MiB, 0);
    void *p = alloc_filled(h, 500, 4);
    for (size_t align = 16; align <= 128 * KiB; align *= 2) {
        void *q = hh_realloc_aligned(h, p, 500 + align / 8, align);
        assert_non_null(q);
        assert_true(((uintptr_t)q & (align - 1)) == 0);
        assert_pattern(q, 500, 4);
        p = q;
        assert_consistent(h);
    }
    assert_int_equal(plog.count, 0);
    assert_null(hh_realloc_aligned(h, p, 100, 48));
    assert_int_equal(plog.last_code, HH_E_BAD_ALIGN);
    assert_pattern(p, 500, 4);
    void *n = hh_realloc_aligned(h, NULL, 100, 256);
    assert_true(((uintptr_t)n & 255) == 0);
    assert_null(hh_realloc_aligned(h, n, 0, 256)); /* frees */
    /* 0 is no power of two: refused, p untouched, also for size 0 */
    size_t problems = plog.count;
    assert_null(hh_realloc_aligned(h, p, 700, 0));
    assert_null(hh_realloc_aligned(h, p, 0, 24));
    assert_int_equal(plog.count, problems + 2);
    assert_int_equal(plog.last_code, HH_E_BAD_ALIGN);
    assert_pattern(p, 500, 4);
    hh_free(h, p);
    assert_int_equal(stats_of(h).blocks, 0);
    assert_consistent(h);
}

/* ---- hooks ---- */

typedef struct hook_state {
    int depth; /* lock depth, through the lock callbacks */
    int oom_calls, oom_depth_seen, oom_answer;
    size_t oom_size;
    hh_heap *heap;
    void *cache; /* freed by the oom hook */
    char lines[16][96];
    int nlines, trace_depth_seen;
} hook_state;

static void hook_lock(void *ctx) { ((hook_state *)ctx)->depth++; }
static void hook_unlock(void *ctx) { ((hook_state *)ctx)->depth--; }

static int hook_oom(void *ctx, size_t size)
{
    hook_state *hs = ctx;
    hs->oom_calls++;
    hs->oom_size = size;
    hs->oom_depth_seen = hs->depth;
    if (hs->cache) {
        hh_free(hs->heap, hs->cache); /* allowed: the lock is not held */
        hs->cache = NULL;
    }
    return hs->oom_answer;
}

static void hook_trace(void *ctx, const hh_trace_event *ev)
{
    hook_state *hs = ctx;
    hs->trace_depth_seen = hs->depth;
    if (hs->nlines < 16)
        hh_trace_format(ev, hs->lines[hs->nlines++], sizeof hs->lines[0]);
}

static hh_heap *hooked_heap(hook_state *hs, bool oom, bool trace)
{
    allow_all();
    memset(hs, 0, sizeof *hs);
    hh_options o = {.lock = hook_lock,
                    .unlock = hook_unlock,
                    .ctx = hs,
                    .on_oom = oom ? hook_oom : NULL,
                    .on_trace = trace ? hook_trace : NULL};
    hs->heap = hh_init(arena, 64 * KiB, &o);
    assert_non_null(hs->heap);
    return hs->heap;
}

static void oom_hook_frees_and_retries(void **state)
{
    (void)state;
    hook_state hs;
    hh_heap *h = hooked_heap(&hs, true, false);
    hs.cache = hh_alloc(h, 40 * KiB);
    assert_non_null(hs.cache);
    hs.oom_answer = 1;
    void *p = hh_alloc(h, 30 * KiB);
    assert_non_null(p);
    assert_int_equal(hs.oom_calls, 1);
    assert_int_equal(hs.oom_size, 30 * KiB);
    assert_int_equal(hs.oom_depth_seen, 0);
    assert_int_equal(stats_of(h).failed_allocations, 0);
    /* no cache left: one call, one retry, NULL */
    assert_null(hh_alloc_aligned(h, 60 * KiB, 64));
    assert_int_equal(hs.oom_calls, 2);
    assert_int_equal(stats_of(h).failed_allocations, 1);
    hs.oom_answer = 0;
    assert_null(hh_realloc(h, p, 63 * KiB));
    assert_int_equal(hs.oom_calls, 3);
    assert_null(hh_alloc(h, SIZE_MAX)); /* a bad size is no out-of-memory */
    assert_int_equal(hs.oom_calls, 3);
    assert_null(hh_calloc(h, 1000, 100)); /* the hook is told the bytes asked */
    assert_int_equal(hs.oom_calls, 4);
    assert_int_equal(hs.oom_size, 100000);
    assert_int_equal(stats_of(h).failed_allocations, 3);
    assert_int_equal(hs.depth, 0);
    assert_consistent(h);
}

static void trace_hook_sees_every_call(void **state)
{
    (void)state;
    hook_state hs;
    hh_heap *h = hooked_heap(&hs, false, true);
    char expect[8][96];
    void *a = hh_alloc(h, 100);
    snprintf(expect[0], sizeof expect[0], "malloc 100 = %#lx\n", (unsigned long)(uintptr_t)a);
    void *c = hh_calloc(h, 3, 10);
    snprintf(expect[1], sizeof expect[1], "calloc 3 10 = %#lx\n", (unsigned long)(uintptr_t)c);
    void *d = hh_alloc_aligned(h, 50, 256);
    snprintf(expect[2], sizeof expect[2], "aligned 256 50 = %#lx\n", (unsigned long)(uintptr_t)d);
    void *e = hh_realloc(h, a, 300);
    snprintf(expect[3], sizeof expect[3], "realloc %#lx 300 = %#lx\n", (unsigned long)(uintptr_t)a,
             (unsigned long)(uintptr_t)e);
    hh_free(h, c);
    snprintf(expect[4], sizeof expect[4], "free %#lx\n", (unsigned long)(uintptr_t)c);
    assert_null(hh_alloc(h, 1 * MiB));
    snprintf(expect[5], sizeof expect[5], "malloc %zu = 0\n", (size_t)1 * MiB);
    hh_free(h, NULL); /* not a call the heap sees */
    assert_null(hh_realloc(h, d, 0));
    snprintf(expect[6], sizeof expect[6], "realloc %#lx 0 = 0\n", (unsigned long)(uintptr_t)d);
    assert_int_equal(hs.nlines, 7);
    for (int i = 0; i < 7; i++)
        assert_string_equal(hs.lines[i], expect[i]);
    assert_int_equal(hs.trace_depth_seen, 1);
    hh_free(h, e);
    assert_consistent(h);
}

static void trace_format_cuts_and_counts(void **state)
{
    (void)state;
    hh_trace_event ev = {HH_TRACE_FREE, (void *)(uintptr_t)0xabc0, 0, 0, NULL};
    char buf[8];
    assert_int_equal(hh_trace_format(&ev, buf, sizeof buf), strlen("free 0xabc0\n"));
    assert_string_equal(buf, "free 0x");
    assert_int_equal(hh_trace_format(&ev, NULL, 0), 12);
}

/* ---- the model-based random run over several regions ---- */

#define MODEL_LIVE 512

typedef struct model_block {
    unsigned char *p;
    size_t size, align;
    uint32_t seed;
} model_block;

typedef struct region_model {
    hh_heap *h;
    rng r;
    model_block live[MODEL_LIVE];
    size_t nlive, regions, stop;
    size_t offs[8], sizes[8];
} region_model;

static void model_fail(const region_model *m, unsigned long long op, const char *what)
{
    fail_msg("test_regions model op %llu: %s", op, what);
    (void)m;
}

/* A block lies wholly inside one region. */
static bool model_in_one_region(const region_model *m, const void *p, size_t n)
{
    for (size_t k = 0; k < m->regions; k++)
        if (inside(p, n, m->offs[k], m->sizes[k]))
            return true;
    return false;
}

static void model_add_region(region_model *m)
{
    size_t off = m->stop + 4096 + 16 * rng_below(&m->r, 4096) + rng_below(&m->r, 3) * 3;
    size_t size = rng_range(&m->r, 32 * KiB, 768 * KiB);
    if (m->regions == 8 || off + size > ARENA_BYTES)
        return;
    assert_int_equal(hh_add_region(m->h, arena + off, size), HH_OK);
    forbid(arena + m->stop, arena + off);
    m->offs[m->regions] = off;
    m->sizes[m->regions++] = size;
    m->stop = off + size;
}

static void model_check_block(const region_model *m, unsigned long long op, const model_block *b)
{
    if (!model_in_one_region(m, b->p, b->size))
        model_fail(m, op, "a block outside the regions or across two");
    if (((uintptr_t)b->p & (b->align - 1)) != 0)
        model_fail(m, op, "a block lost its alignment");
    if (pattern_mismatch(b->p, b->size, b->seed) != b->size)
        model_fail(m, op, "a block's bytes changed");
}

static void model_new_block(region_model *m, unsigned char *p, size_t size, size_t align)
{
    model_block *b = &m->live[m->nlive++];
    *b = (model_block){p, size, align, (uint32_t)rng_next(&m->r)};
    pattern_fill(p, size, b->seed);
}

static size_t model_size(region_model *m)
{
    return rng_below(&m->r, 8) ? rng_range(&m->r, 0, 600) : rng_range(&m->r, 600, 60000);
}

static void model_step(region_model *m, unsigned long long op)
{
    size_t k = rng_below(&m->r, 100), i = m->nlive ? rng_below(&m->r, m->nlive) : 0;
    if (k < 1) {
        model_add_region(m);
    } else if (m->nlive < MODEL_LIVE && (m->nlive == 0 || k < 40)) {
        size_t align = k < 10 ? (size_t)16 << rng_below(&m->r, 10) : 16;
        size_t size = model_size(m);
        unsigned char *p = align > 16 ? hh_alloc_aligned(m->h, size, align) : hh_alloc(m->h, size);
        if (p)
            model_new_block(m, p, size, align);
    } else if (k < 65) {
        model_block *b = &m->live[i];
        model_check_block(m, op, b);
        size_t size = model_size(m) + 1, align = k < 50 ? b->align : (size_t)16 << rng_below(&m->r, 8);
        unsigned char *q =
            align == b->align && k < 50 ? hh_realloc(m->h, b->p, size) : hh_realloc_aligned(m->h, b->p, size, align);
        if (!q) {
            model_check_block(m, op, b); /* untouched */
            return;
        }
        size_t kept = size < b->size ? size : b->size;
        if (pattern_mismatch(q, kept, b->seed) != kept)
            model_fail(m, op, "realloc lost the block's bytes");
        *b = (model_block){q, size, align, b->seed};
        pattern_fill(q, size, b->seed);
    } else if (m->nlive) {
        model_check_block(m, op, &m->live[i]);
        hh_free(m->h, m->live[i].p);
        m->live[i] = m->live[--m->nlive];
    }
}

static void model_verify(region_model *m, unsigned long long op, bool exact_max)
{
    hh_problem pr;
    if (hh_check(m->h, &pr) != HH_OK)
        fail_msg("test_regions model op %llu: hh_check: %s", op, pr.what);
    hh_stats s = stats_of(m->h);
    if (s.blocks != m->nlive || s.frees != s.allocations - s.blocks || s.peak_used_bytes < s.used_bytes ||
        s.free_low_bytes > s.free_bytes)
        model_fail(m, op, "stats differ from the model");
    if (exact_max) {
        size_t want = model_max_alloc(m->h, 0);
        if (hh_max_alloc(m->h) != want)
            model_fail(m, op, "hh_max_alloc differs from the model's largest free run");
    }
    if (plog.count != 0)
        model_fail(m, op, plog.last_what);
}

static void model_run(uint64_t seed, unsigned long long ops, uint32_t flags)
{
    static region_model m;
    memset(&m, 0, sizeof m);
    m.r = rng_seeded(seed);
    m.sizes[0] = 512 * KiB + rng_below(&m.r, 100);
    m.h = heap_at(0, m.sizes[0], flags);
    m.regions = 1;
    m.stop = m.sizes[0];
    for (unsigned long long op = 1; op <= ops; op++) {
        model_step(&m, op);
        model_verify(&m, op, op % 16 == 0);
    }
    while (m.nlive) {
        model_check_block(&m, ops, &m.live[m.nlive - 1]);
        hh_free(m.h, m.live[--m.nlive].p);
    }
    hh_trim(m.h);
    model_verify(&m, ops, true);
    if (stats_of(m.h).holes != m.regions)
        model_fail(&m, ops, "an empty heap is not one hole per region");
    allow_all();
}

static void model_front(void **state)
{
    (void)state;
    model_run(11, 6000, 0);
}

static void model_strict(void **state)
{
    (void)state;
    model_run(12, 6000, HH_STRICT);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--model")) {
        model_run(strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0), 0);
        model_run(strtoull(argv[2], NULL, 0) + 1, strtoull(argv[3], NULL, 0), HH_STRICT);
        printf("test_regions model seed %s: %s ops, front and strict, passed\n", argv[2], argv[3]);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(two_regions_serve_and_walk, teardown),
        cmocka_unit_test_teardown(block_never_spans_two_regions, teardown),
        cmocka_unit_test_teardown(refused_regions_write_nothing, teardown),
        cmocka_unit_test_teardown(region_count_is_bounded, teardown),
        cmocka_unit_test_teardown(damaged_heap_refuses_a_region, teardown),
        cmocka_unit_test_teardown(pointers_between_regions_are_refused, teardown),
        cmocka_unit_test_teardown(pos_fast_is_in_the_gate, teardown),
        cmocka_unit_test_teardown(growth_applies_to_the_last_region, teardown),
        cmocka_unit_test_teardown(free_never_reads_between_regions, teardown),
        cmocka_unit_test_teardown(growth_never_reads_between_regions, teardown),
        cmocka_unit_test_teardown(max_alloc_exact_front, teardown),
        cmocka_unit_test_teardown(max_alloc_exact_strict, teardown),
        cmocka_unit_test_teardown(max_alloc_exact_canary, teardown),
        cmocka_unit_test_teardown(max_alloc_of_a_full_heap_is_zero, teardown),
        cmocka_unit_test_teardown(stats_counts_peak_and_low_water, teardown),
        cmocka_unit_test_teardown(stats_low_water_across_a_new_region, teardown),
        cmocka_unit_test_teardown(stats_fragmentation_figures, teardown),
        cmocka_unit_test_teardown(realloc_slides_into_the_hole_before, teardown),
        cmocka_unit_test_teardown(realloc_moves_before_sliding, teardown),
        cmocka_unit_test_teardown(realloc_reports_damage_before_it_once, teardown),
        cmocka_unit_test_teardown(realloc_slides_keeping_alignment, teardown),
        cmocka_unit_test_teardown(realloc_keeps_the_alignment_it_had, teardown),
        cmocka_unit_test_teardown(realloc_aligned_aligns, teardown),
        cmocka_unit_test_teardown(oom_hook_frees_and_retries, teardown),
        cmocka_unit_test_teardown(trace_hook_sees_every_call, teardown),
        cmocka_unit_test_teardown(trace_format_cuts_and_counts, teardown),
        cmocka_unit_test_teardown(model_front, teardown),
        cmocka_unit_test_teardown(model_strict, teardown),
    };
    int status = select_tests(argc, argv, tests, sizeof tests / sizeof tests[0]);
    if (status >= 0)
        return status;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
