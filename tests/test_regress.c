/*
 * test_regress: one test per failure of the classic tutorial heap
 * (../shared/tutorial-heap-facts.md, "What goes wrong in it", facts 1-13)
 * that can happen through holeheap's API, named after the fact. Facts that
 * cannot happen through the API say why, in a comment where their test would be.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "growbuf.h"
#include "holeheap.h"
#include "index.h" /* idx_storage_bytes: what the table build keeps in the region */
#include "testutil.h"
#include "cmocka_blocks.h"
#include "cmocka_select.h"

#define REGION_BYTES ((size_t)1 << 20)
#define GROW_BUF_BYTES ((size_t)8 << 20)
#define PAGE ((size_t)4096)

static alignas(4096) unsigned char region[GROW_BUF_BYTES];
static alignas(16) unsigned char outside[64];
static problem_log plog;
static growbuf gb;

static hh_heap *heap_plain(size_t size)
{
    problem_log_reset(&plog);
    /* strict: these regressions are about the index and merging, which the
     * front would postpone for small blocks */
    hh_options o = {.on_error = problem_log_record, .ctx = &plog, .flags = HH_STRICT};
    hh_heap *h = hh_init(region, size, &o);
    assert_non_null(h);
    return h;
}

/* A heap of `initial` arena bytes (plus what the index keeps in the region)
 * that may grow to max_size over the growbuf. */
static hh_heap *heap_growing(size_t initial, size_t max_size)
{
    initial += (idx_storage_bytes(max_size) + 4095) & ~(size_t)4095;
    problem_log_reset(&plog);
    growbuf_start(&gb, region, GROW_BUF_BYTES, initial);
    /* No on_error here (ctx is the growbuf): problems are read with hh_problem_count. */
    hh_options o = {
        .grow = growbuf_grow, .shrink = growbuf_shrink, .ctx = &gb, .max_size = max_size, .flags = HH_STRICT};
    hh_heap *h = hh_init(region, initial, &o);
    assert_non_null(h);
    return h;
}

static int teardown_growbuf(void **state)
{
    (void)state;
    growbuf_finish(&gb);
    return 0;
}

static size_t stats_get_holes(hh_heap *h)
{
    hh_stats s;
    hh_stats_get(h, &s);
    return s.holes;
}

/* The payload where the next block would start: just past the live block p. */
static char *payload_after(hh_heap *h, void *p) { return (char *)p + hh_usable_size(h, p) + HH_OVERHEAD; }

/* Allocate a filler block so that the next block's payload lands at
 * `offset` modulo PAGE. Returns the filler. */
static void *filler_to(hh_heap *h, void *last, size_t offset, uint32_t seed)
{
    char *next = payload_after(h, last);
    size_t block = (offset + PAGE - (size_t)((uintptr_t)next % PAGE)) % PAGE;
    if (block < 32)
        block += PAGE;
    void *f = alloc_filled(h, block - HH_OVERHEAD, seed);
    assert_int_equal(hh_usable_size(h, f) + HH_OVERHEAD, block);
    assert_int_equal((uintptr_t)payload_after(h, f) % PAGE, offset);
    return f;
}

/* Live blocks must be disjoint: [p-8, p+usable+8) never overlap. */
static void assert_disjoint(hh_heap *h, void **p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            char *a = p[i], *b = p[j];
            size_t ua = hh_usable_size(h, a), ub = hh_usable_size(h, b);
            assert_true(a + ua + 8 <= b - 8 || b + ub + 8 <= a - 8);
        }
}

/* Exact best fit, computed from the walk: the smallest hole that can hold a
 * block for `size`, the lowest address among equals. */
static hh_span best_fit_by_walk(hh_heap *h, size_t size)
{
    static hh_span spans[16384];
    size_t n = span_list_fill(h, spans, 16384);
    size_t need = block_bytes_for(size);
    hh_span best = {0};
    for (size_t i = 0; i < n; i++)
        if (spans[i].is_hole && spans[i].size >= need && (!best.start || spans[i].size < best.size))
            best = spans[i];
    return best;
}

static void assert_in_span(const void *p, size_t size, const hh_span *s)
{
    const char *hdr = (const char *)p - 8;
    assert_non_null(s->start);
    assert_true(hdr >= (const char *)s->start);
    assert_true(hdr + block_bytes_for(size) <= (const char *)s->start + s->size);
}

/* ---- fact 1: find_smallest_hole ignored the alignment offset for even
 * addresses, so a second page-aligned allocation could overlap a live block. */
static void regress_01_second_page_aligned_alloc_no_overlap(void **state)
{
    (void)state;
    hh_heap *h = heap_plain(REGION_BYTES);
    enum { N = 48 };
    void *p[N];
    size_t size[N];
    size_t n = 0;
    rng r = rng_seeded(1);
    for (int round = 0; round < 400; round++) {
        if (n == N || (n > 0 && rng_below(&r, 3) == 0)) {
            size_t i = rng_below(&r, n);
            assert_pattern(p[i], size[i], (uint32_t)(uintptr_t)p[i]);
            hh_free(h, p[i]);
            p[i] = p[--n], size[i] = size[n];
            continue;
        }
        size[n] = rng_range(&r, 1, 9000);
        bool aligned = rng_below(&r, 2) == 0;
        p[n] = aligned ? hh_alloc_aligned(h, size[n], PAGE) : hh_alloc(h, size[n]);
        assert_non_null(p[n]);
        if (aligned)
            assert_int_equal((uintptr_t)p[n] % PAGE, 0);
        pattern_fill(p[n], size[n], (uint32_t)(uintptr_t)p[n]);
        n++;
        assert_disjoint(h, p, n);
        for (size_t i = 0; i < n; i++)
            assert_pattern(p[i], size[i], (uint32_t)(uintptr_t)p[i]);
        assert_consistent(h);
    }
    assert_int_equal(plog.count, 0);
}

/* ---- fact 2: for an already aligned hole, alloc made a zero-size front hole,
 * left an index entry pointing at the new block and overwrote the previous
 * block's footer. */
static void regress_02_aligned_hole_gets_no_empty_front_hole(void **state)
{
    (void)state;
    hh_heap *h = heap_plain(REGION_BYTES);
    void *first = alloc_filled(h, 16, 1);
    void *filler = filler_to(h, first, 0, 2);
    void *a = hh_alloc(h, 256);
    assert_int_equal((uintptr_t)a % PAGE, 0);
    void *guard = alloc_filled(h, 64, 3);
    hh_free(h, a); /* a hole that starts exactly page-aligned */
    size_t holes = stats_get_holes(h);
    void *q = hh_alloc_aligned(h, 256, PAGE);
    assert_ptr_equal(q, a); /* the aligned hole itself, no gap */
    assert_int_equal(stats_get_holes(h), holes - 1);
    assert_pattern(filler, hh_usable_size(h, filler), 2); /* its footer untouched */
    assert_pattern(first, 16, 1);
    assert_pattern(guard, 64, 3);
    assert_consistent(h);
    /* A larger aligned hole: the block takes its start, the rest stays a hole. */
    hh_free(h, q);
    void *small = hh_alloc_aligned(h, 100, PAGE);
    assert_ptr_equal(small, a);
    assert_int_equal(stats_get_holes(h), holes); /* the rest of a's hole is a hole */
    assert_pattern(filler, hh_usable_size(h, filler), 2);
    assert_consistent(h);
    assert_int_equal(plog.count, 0);
}

/* ---- fact 3: expand rounded only odd sizes to pages and contract masked with
 * 0x1000: the heap's end and size drifted from what was mapped. Through the
 * API: the heap's span moves by exactly what grow gave and shrink released. */
static void regress_03_heap_end_moves_by_exact_amounts(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 << 10, GROW_BUF_BYTES);
    hh_stats s0, s;
    hh_stats_get(h, &s0);
    void *big = hh_alloc(h, 1 << 20); /* needs growth */
    assert_non_null(big);
    hh_stats_get(h, &s);
    assert_true(gb.grow_calls >= 1);
    assert_int_equal(s.region_bytes, s0.region_bytes + gb.granted);
    assert_int_equal((unsigned char *)region + gb.committed, (unsigned char *)region + s.region_bytes);
    hh_free(h, big); /* the trailing hole is far past the trim threshold */
    hh_stats_get(h, &s);
    assert_true(gb.shrink_calls >= 1 && gb.released > 0);
    assert_int_equal(gb.released % PAGE, 0);
    assert_int_equal(s.region_bytes, s0.region_bytes + gb.granted - gb.released);
    assert_int_equal(s.region_bytes, gb.committed);
    assert_true(s.region_bytes >= s0.region_bytes);
    assert_int_equal(gb.bad_calls, 0);
    assert_int_equal(hh_problem_count(h), 0);
    assert_consistent(h);
}

/* ---- fact 4: the physical address for kmalloc_p/kmalloc_ap lost its high bits.
 * Cannot happen through holeheap's API: it has no physical-address variant;
 * every call returns the virtual address inside the caller's region. */

/* ---- fact 5: contract's survival test was always true and the other branch
 * removed the wrong index entry: the index kept a hole outside the heap, and
 * the next free made a block running past the end. */
static void regress_05_shrink_keeps_index_inside_heap(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 << 10, GROW_BUF_BYTES);
    for (int round = 0; round < 4; round++) {
        void *a = alloc_filled(h, 2000, 5);
        void *big = alloc_filled(h, (size_t)(1 + round) << 20, 6);
        void *b = alloc_filled(h, 3000, 7);
        hh_free(h, big);
        hh_free(h, b); /* the end is now one large hole: shrink */
        assert_consistent(h);
        hh_stats s;
        hh_stats_get(h, &s);
        assert_int_equal(s.region_bytes, gb.committed);
        walk_summary w;
        assert_int_equal(walk_summarise(h, &w), 0);
        assert_true((const unsigned char *)w.end <= region + gb.committed);
        /* Every allocation now lies inside the committed memory (ASan poisons past it). */
        void *p[8];
        for (int i = 0; i < 8; i++) {
            p[i] = alloc_filled(h, 7000, (uint32_t)i);
            assert_true((unsigned char *)p[i] + 7000 <= region + gb.committed);
        }
        for (int i = 0; i < 8; i++) {
            assert_pattern(p[i], 7000, (uint32_t)i);
            hh_free(h, p[i]);
        }
        assert_pattern(a, 2000, 5);
        hh_free(h, a);
        assert_consistent(h);
    }
    assert_int_equal(gb.bad_calls, 0);
}

/* ---- fact 6: free read before the heap's start (merging left) and past its
 * end (merging right). Here the region is a malloc block of exactly its size,
 * so AddressSanitizer (and valgrind) see any read outside it. */
static void regress_06_free_at_both_ends_reads_only_the_region(void **state)
{
    (void)state;
    size_t size = 64 << 10;
    unsigned char *mem = aligned_alloc(16, size);
    assert_non_null(mem);
    hh_options strict = {.flags = HH_STRICT};
    hh_heap *h = hh_init(mem, size, &strict);
    assert_non_null(h);
    void *first = hh_alloc(h, 100), *mid = hh_alloc(h, 100);
    hh_stats s;
    hh_stats_get(h, &s);
    void *last = hh_alloc(h, s.largest_hole - HH_OVERHEAD); /* fills up to the epilogue */
    assert_non_null(last);
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, 0);
    hh_free(h, first); /* left neighbour: the prologue */
    hh_free(h, last);  /* right neighbour: the epilogue */
    assert_consistent(h);
    hh_free(h, mid);
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, 1);
    hh_free(h, outside); /* outside the region: refused without reading it */
    hh_free(h, mem + size + 4096);
    assert_int_equal(hh_problem_count(h), 2);
    assert_consistent(h);
    free(mem);
}

/* ---- fact 7: the ordered array read one past its end and never checked its
 * capacity: a full index overflowed into the first block. Thousands of holes,
 * in the table build too; every one is found again, in best-fit order. */
static void regress_07_many_holes_never_lost(void **state)
{
    (void)state;
    enum { N = 12000 };
    static void *p[N];
    hh_heap *h = heap_plain(REGION_BYTES);
    for (size_t i = 0; i < N; i++)
        p[i] = alloc_filled(h, 16, (uint32_t)i);
    for (size_t i = 0; i < N; i += 2)
        hh_free(h, p[i]);
    hh_stats s;
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, N / 2 + 1); /* and the trailing hole */
    assert_consistent(h);
    for (size_t i = 0; i < N; i += 2) /* equal sizes: lowest address first */
        assert_ptr_equal(hh_alloc(h, 16), p[i]);
    for (size_t i = 1; i < N; i += 2)
        assert_pattern(p[i], 16, (uint32_t)i);
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, 1);
    assert_consistent(h);
    assert_int_equal(plog.count, 0);
}

/* ---- fact 8: merging right never pointed the absorbed hole's footer at the
 * new header, so a later left merge went through a stale header. */
static void regress_08_merge_right_then_left(void **state)
{
    (void)state;
    hh_heap *h = heap_plain(REGION_BYTES);
    void *a = alloc_filled(h, 100, 1), *b = alloc_filled(h, 200, 2), *c = alloc_filled(h, 300, 3);
    void *d = alloc_filled(h, 400, 4), *e = alloc_filled(h, 500, 5);
    size_t bcd = block_bytes_for(200) + block_bytes_for(300) + block_bytes_for(400);
    hh_free(h, c);
    hh_free(h, b); /* b absorbs c: merge right */
    assert_consistent(h);
    hh_free(h, d); /* d merges left through c's old footer position */
    assert_consistent(h);
    hh_span sp[8];
    size_t n = span_list_fill(h, sp, 8);
    assert_int_equal(n, 4);
    assert_true(sp[1].is_hole);
    assert_ptr_equal(sp[1].start, (char *)b - 8);
    assert_int_equal(sp[1].size, bcd);
    assert_pattern(a, 100, 1);
    assert_pattern(e, 500, 5);
    /* The merged hole serves one block of its whole size. */
    assert_ptr_equal(hh_alloc(h, bcd - HH_OVERHEAD), b);
    assert_consistent(h);
    assert_int_equal(plog.count, 0);
}

/* ---- fact 9: expand grew the hole with the highest address even when it did
 * not touch the heap's end: the next allocation overlapped a live block. */
static void regress_09_grow_only_extends_hole_touching_end(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 << 10, GROW_BUF_BYTES);
    void *x = alloc_filled(h, 10000, 1);
    void *mid = alloc_filled(h, 20000, 2);
    hh_stats s;
    hh_stats_get(h, &s);
    size_t last_size = s.largest_hole - HH_OVERHEAD;
    void *last = alloc_filled(h, last_size, 3); /* touches the end */
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, 0);
    hh_free(h, mid); /* the highest hole, but not at the end */
    void *p = alloc_filled(h, 30000, 4);
    assert_true(gb.grow_calls >= 1);
    assert_true((char *)p > (char *)last);
    void *live[] = {x, last, p};
    assert_disjoint(h, live, 3);
    assert_pattern(x, 10000, 1);
    assert_pattern(last, last_size, 3);
    assert_int_equal(hh_problem_count(h), 0);
    assert_consistent(h);
    hh_span hole = best_fit_by_walk(h, 19000);
    assert_ptr_equal(hole.payload, mid); /* still there, whole */
    assert_int_equal(gb.bad_calls, 0);
}

/* ---- fact 10: hole sizes changed (merge left, expand, the front hole of an
 * aligned allocation) without re-sorting the index: best fit was lost. After
 * each such change, every request goes to the hole the walk says is best. */
static void assert_best_fit_for_all(hh_heap *h)
{
    static const size_t requests[] = {1, 16, 17, 40, 100, 150, 200, 250, 300, 500, 700, 1000, 1500, 2500, 5000, 9000};
    hh_stats s;
    hh_stats_get(h, &s);
    size_t not_largest = 0; /* requests whose best hole is not simply the largest */
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        hh_span want = best_fit_by_walk(h, requests[i]);
        not_largest += want.start && want.size < s.largest_hole;
        void *p = hh_alloc(h, requests[i]);
        if (!want.start) {
            if (p)
                hh_free(h, p);
            continue;
        }
        assert_non_null(p);
        assert_in_span(p, requests[i], &want);
        hh_free(h, p); /* the hole comes back as it was */
    }
    assert_true(not_largest >= 8);
    assert_consistent(h);
}

static void regress_10_best_fit_after_merge_and_grow(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 << 10, GROW_BUF_BYTES);
    static const size_t sizes[] = {100, 300, 200, 50, 700, 1000, 40, 2400};
    void *hole[8], *guard[8];
    for (size_t i = 0; i < 8; i++) {
        hole[i] = alloc_filled(h, sizes[i], (uint32_t)i);
        guard[i] = alloc_filled(h, 32, 100 + (uint32_t)i);
    }
    for (size_t i = 0; i < 8; i++)
        hh_free(h, hole[i]);
    assert_best_fit_for_all(h);
    hh_free(h, guard[2]); /* holes 2 and 3 merge (3 merges left into 2) */
    hh_free(h, guard[5]);
    assert_best_fit_for_all(h);
    void *huge = alloc_filled(h, 200 << 10, 9); /* grows the heap: the last hole changes */
    assert_true(gb.grow_calls >= 1);
    assert_best_fit_for_all(h);
    void *al = hh_alloc_aligned(h, 100, 16 << 10); /* leaves a front hole */
    assert_non_null(al);
    assert_best_fit_for_all(h);
    hh_free(h, huge);
    hh_free(h, al);
    assert_best_fit_for_all(h);
    assert_int_equal(gb.bad_calls, 0);
}

/* ---- fact 11: a double free was not detected: the index got the same hole twice. */
static void regress_11_double_free_detected(void **state)
{
    (void)state;
    hh_heap *h = heap_plain(REGION_BYTES);
    void *a = alloc_filled(h, 100, 1), *g1 = alloc_filled(h, 100, 2);
    void *b = alloc_filled(h, 100, 3), *g2 = alloc_filled(h, 100, 4);
    hh_free(h, a);
    hh_stats s0, s;
    hh_stats_get(h, &s0);
    hh_free(h, a);
    assert_int_equal(plog.count, 1);
    assert_int_equal(plog.last_code, HH_E_DOUBLE_FREE);
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, s0.holes);
    assert_int_equal(s.free_bytes, s0.free_bytes);
    assert_consistent(h);
    /* Were the hole indexed twice, two allocations could both get it. */
    void *x = hh_alloc(h, 100), *y = hh_alloc(h, 100);
    assert_ptr_equal(x, a);
    assert_ptr_not_equal(y, a);
    /* A double free after the hole merged with a neighbour: still refused. */
    hh_free(h, b);
    hh_free(h, g1); /* g1 merges with b's hole; b's header is now inside a hole */
    hh_stats_get(h, &s0);
    size_t count = plog.count;
    hh_free(h, b);
    assert_int_equal(plog.count, count + 1);
    assert_true(plog.last_code == HH_E_DOUBLE_FREE || plog.last_code == HH_E_BAD_POINTER);
    hh_stats_get(h, &s);
    assert_int_equal(s.holes, s0.holes);
    assert_int_equal(s.used_bytes, s0.used_bytes);
    assert_consistent(h);
    assert_pattern(g2, 100, 4);
}

/* The same after the block merged with holes on both sides: its old header and
 * footer now lie inside one hole, and a second free must still be refused as
 * one problem, with a double-free or bad-pointer code, changing nothing. */
static void regress_11_double_free_after_merging_both_sides(void **state)
{
    (void)state;
    hh_heap *h = heap_plain(REGION_BYTES);
    void *p = alloc_filled(h, 64, 1), *a = alloc_filled(h, 64, 2), *b = alloc_filled(h, 64, 3);
    void *c = alloc_filled(h, 64, 4), *q = alloc_filled(h, 64, 5);
    hh_free(h, a);
    hh_free(h, c);
    hh_free(h, b); /* a, b and c become one hole */
    hh_stats s0, s;
    hh_stats_get(h, &s0);
    size_t count = plog.count;
    hh_free(h, b);
    hh_stats_get(h, &s);
    assert_memory_equal(&s0, &s, sizeof s);
    assert_consistent(h);
    if (plog.count != count + 1 || (plog.last_code != HH_E_DOUBLE_FREE && plog.last_code != HH_E_BAD_POINTER))
        fail_msg("second free of a merged block: %zu problems reported, the last %s (expected one, "
                 "HH_E_DOUBLE_FREE or HH_E_BAD_POINTER)",
                 plog.count - count, hh_code_name(plog.last_code));
    count = plog.count;
    hh_free(h, c); /* the right-hand block of the merge, freed again */
    assert_int_equal(plog.count, count + 1);
    assert_true(plog.last_code == HH_E_DOUBLE_FREE || plog.last_code == HH_E_BAD_POINTER);
    assert_consistent(h);
    assert_pattern(p, 64, 1);
    assert_pattern(q, 64, 5);
}

/* ---- fact 12: page-aligned allocation decided whether to split before
 * adjusting for alignment: a size subtraction could wrap, and the front hole
 * could be smaller than a header and footer. Holes whose payload sits `gap`
 * bytes below a page boundary, each just big enough or a little short. */
static void regress_12_aligned_front_gap_never_below_minimum(void **state)
{
    (void)state;
    static const size_t gaps[] = {16, 32, 48, 64, 256, 4080};
    static const long slack[] = {-16, 0, 16, 48};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
        for (size_t k = 0; k < sizeof slack / sizeof slack[0]; k++) {
            hh_heap *h = heap_plain(REGION_BYTES);
            void *first = alloc_filled(h, 16, 1);
            void *filler = filler_to(h, first, PAGE - gaps[g], 2);
            size_t filler_size = hh_usable_size(h, filler);
            size_t want = block_bytes_for(256);
            size_t hole_block = (size_t)((long)(gaps[g] + want) + slack[k]);
            void *victim = alloc_filled(h, hole_block - HH_OVERHEAD, 3);
            void *guard = alloc_filled(h, 64, 4);
            assert_int_equal((uintptr_t)victim % PAGE, PAGE - gaps[g]);
            hh_free(h, victim);
            void *p = hh_alloc_aligned(h, 256, PAGE);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % PAGE, 0);
            pattern_fill(p, 256, 5);
            void *live[] = {first, filler, guard, p};
            assert_disjoint(h, live, 4);
            assert_pattern(filler, filler_size, 2);
            assert_pattern(guard, 64, 4);
            assert_consistent(h); /* every span at least 32 bytes, all indexed */
            hh_stats s;
            hh_stats_get(h, &s);
            size_t used = 0;
            for (size_t i = 0; i < 4; i++)
                used += hh_usable_size(h, live[i]) + HH_OVERHEAD;
            assert_int_equal(s.used_bytes, used); /* no bytes lost to a gap */
            assert_int_equal(plog.count, 0);
        }
}

/* ---- fact 13: the placement allocator bumped an already aligned address by a
 * whole page. Cannot happen through holeheap's API: holeheap has no placement
 * (bump) allocator; it starts in a region its caller hands it. Aligned
 * requests that are already aligned are covered by regress_02. */

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regress_01_second_page_aligned_alloc_no_overlap),
        cmocka_unit_test(regress_02_aligned_hole_gets_no_empty_front_hole),
        cmocka_unit_test_teardown(regress_03_heap_end_moves_by_exact_amounts, teardown_growbuf),
        cmocka_unit_test_teardown(regress_05_shrink_keeps_index_inside_heap, teardown_growbuf),
        cmocka_unit_test(regress_06_free_at_both_ends_reads_only_the_region),
        cmocka_unit_test(regress_07_many_holes_never_lost),
        cmocka_unit_test(regress_08_merge_right_then_left),
        cmocka_unit_test_teardown(regress_09_grow_only_extends_hole_touching_end, teardown_growbuf),
        cmocka_unit_test_teardown(regress_10_best_fit_after_merge_and_grow, teardown_growbuf),
        cmocka_unit_test(regress_11_double_free_detected),
        cmocka_unit_test(regress_11_double_free_after_merging_both_sides),
        cmocka_unit_test(regress_12_aligned_front_gap_never_below_minimum),
    };
    int status = select_tests(argc, argv, tests, sizeof tests / sizeof tests[0]);
    if (status >= 0)
        return status;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
