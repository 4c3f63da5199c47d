/*
 * test_grow: growth and shrinking at the heap's end through the grow/shrink
 * callbacks, over a larger static buffer (tests/growbuf.h): growth exactly as
 * asked or more, growth that fails or returns too little (NULL, heap as it
 * was), max_size, shrinking back after frees but never below the initial
 * size, shrink callbacks that release nothing or lie, and no grow/shrink
 * thrash when a block at the end is allocated and freed over and over.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h" /* HH_TRIM_THRESHOLD, HH_TRIM_KEEP */
#include "growbuf.h"
#include "holeheap.h"
#include "index.h" /* idx_storage_bytes: what the table build keeps in the region */
#include "testutil.h"
#include "cmocka_blocks.h"
#include "cmocka_select.h"

#define BUF_BYTES ((size_t)16 << 20)
#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static alignas(4096) unsigned char buf[BUF_BYTES];
static growbuf gb;

/* A heap over buf: `initial` arena bytes (plus the index's storage, rounded to
 * a page), growing up to max_size (0: BUF_BYTES). */
static hh_heap *heap_growing(size_t initial, size_t max_size)
{
    if (max_size == 0)
        max_size = BUF_BYTES;
    initial += (idx_storage_bytes(max_size) + 4095) & ~(size_t)4095;
    growbuf_start(&gb, buf, BUF_BYTES, initial);
    hh_options o = {.grow = growbuf_grow, .shrink = growbuf_shrink, .ctx = &gb, .max_size = max_size};
    hh_heap *h = hh_init(buf, initial, &o);
    assert_non_null(h);
    return h;
}

static int teardown(void **state)
{
    (void)state;
    growbuf_finish(&gb);
    return 0;
}

/* The heap spans exactly what the callbacks committed. */
static void assert_span_matches_callbacks(hh_heap *h)
{
    assert_int_equal(stats_of(h).region_bytes, gb.committed);
    assert_int_equal(gb.bad_calls, 0);
}

/* alloc_filled, and the block lies inside what the callbacks committed. */
static void *alloc_filled_committed(hh_heap *h, size_t size, uint32_t seed)
{
    void *p = alloc_filled(h, size, seed);
    assert_true((unsigned char *)p + size <= buf + gb.committed);
    return p;
}

/* The payload of the heap's last span if it is a hole, else NULL. */
static void *last_hole_payload(hh_heap *h)
{
    static hh_span spans[4096];
    size_t n = span_list_fill(h, spans, 4096);
    return n && spans[n - 1].is_hole ? spans[n - 1].payload : NULL;
}

static void grow_exact_extends_the_last_hole(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    hh_stats s0 = stats_of(h);
    assert_int_equal(s0.region_bytes, gb.committed);
    void *tail = last_hole_payload(h);
    assert_non_null(tail);
    void *p = alloc_filled_committed(h, 200 * KiB, 1);
    assert_ptr_equal(p, tail); /* the last hole grew; the block starts where it did */
    assert_true(gb.grow_calls >= 1);
    assert_true(gb.max_min_bytes >= 200 * KiB - s0.free_bytes);
    hh_stats s = stats_of(h);
    assert_int_equal(s.region_bytes, s0.region_bytes + gb.granted);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
    /* Make the heap end in a block: growth then adds a hole after it. */
    void *fill = p;
    if (last_hole_payload(h))
        fill = alloc_filled_committed(h, s.largest_hole - HH_OVERHEAD, 2);
    assert_null(last_hole_payload(h));
    void *q = alloc_filled_committed(h, 100 * KiB, 3);
    assert_ptr_equal(q, (char *)fill + hh_usable_size(h, fill) + HH_OVERHEAD);
    assert_pattern(p, 200 * KiB, 1);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
    assert_int_equal(hh_problem_count(h), 0);
}

static void grow_more_than_asked_is_used(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    gb.mode = GROW_MORE;
    gb.extra = 2 * MiB;
    void *a = alloc_filled_committed(h, 200 * KiB, 1);
    size_t calls = gb.grow_calls;
    assert_int_equal(calls, 1);
    void *b = alloc_filled_committed(h, 1 * MiB, 2); /* served from the extra */
    assert_int_equal(gb.grow_calls, calls);
    assert_span_matches_callbacks(h);
    assert_pattern(a, 200 * KiB, 1);
    assert_pattern(b, 1 * MiB, 2);
    assert_consistent(h);
    assert_int_equal(hh_problem_count(h), 0);
}

static void grow_more_by_odd_bytes_uses_whole_granules(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    gb.mode = GROW_MORE;
    gb.extra = 1000003; /* not a multiple of 16 */
    gb.shrink_enabled = false;
    void *a = alloc_filled_committed(h, 300 * KiB, 1);
    hh_stats s = stats_of(h);
    assert_true(s.region_bytes <= gb.committed && s.region_bytes + 16 > gb.committed);
    assert_int_equal(s.region_bytes % 16, 0);
    assert_pattern(a, 300 * KiB, 1);
    hh_free(h, a);
    assert_consistent(h);
    assert_int_equal(hh_problem_count(h), 0);
}

static void grow_failure_gives_null_and_changes_nothing(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    void *keep = alloc_filled_committed(h, 1000, 1);
    gb.mode = GROW_FAIL;
    hh_stats before = stats_of(h);
    assert_null(hh_alloc(h, 200 * KiB));
    assert_null(hh_alloc_aligned(h, 200 * KiB, 4096));
    assert_null(hh_realloc(h, keep, 300 * KiB));
    assert_null(hh_calloc(h, 1000, 1000));
    hh_stats after = stats_of(h);
    assert_int_equal(after.failed_allocations, before.failed_allocations + 4); /* counted, nothing else */
    after.failed_allocations = before.failed_allocations;
    assert_memory_equal(&before, &after, sizeof before);
    assert_true(gb.grow_calls >= 4);
    assert_int_equal(hh_problem_count(h), 0); /* running out is not a misuse */
    assert_pattern(keep, 1000, 1);
    assert_consistent(h);
    gb.mode = GROW_EXACT; /* the heap goes on once memory comes */
    void *p = alloc_filled_committed(h, 200 * KiB, 2);
    assert_non_null(p);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
}

static void grow_too_little_is_refused(void **state)
{
    (void)state;
    size_t short_by[] = {16, 1, 4096};
    for (size_t i = 0; i < 3; i++) {
        hh_heap *h = heap_growing(64 * KiB, 0);
        void *keep = alloc_filled_committed(h, 1000, 1);
        gb.mode = GROW_SHORT;
        gb.short_by = short_by[i];
        hh_stats before = stats_of(h);
        assert_null(hh_alloc(h, 500 * KiB));
        hh_stats after = stats_of(h);
        assert_memory_equal(&before, &after, sizeof before);
        assert_int_equal(hh_problem_count(h), 1);
        assert_int_equal(hh_last_problem(h, NULL), HH_E_CALLBACK);
        assert_pattern(keep, 1000, 1);
        assert_consistent(h);
        growbuf_finish(&gb);
    }
}

static void max_size_is_respected(void **state)
{
    (void)state;
    grow_mode modes[] = {GROW_EXACT, GROW_MORE};
    for (size_t m = 0; m < 2; m++) {
        size_t max = 1 * MiB;
        hh_heap *h = heap_growing(64 * KiB, max);
        gb.mode = modes[m];
        gb.extra = 3 * MiB; /* more than max_size allows: the heap must not use it */
        gb.shrink_enabled = false;
        size_t n = 0;
        void *p;
        while ((p = hh_alloc(h, 100 * KiB)) != NULL) {
            assert_true((unsigned char *)p + 100 * KiB <= buf + max);
            pattern_fill(p, 100 * KiB, (uint32_t)n);
            n++;
            assert_true(n < 64);
        }
        hh_stats s = stats_of(h);
        assert_true(n >= 8); /* the heap did grow close to max_size */
        assert_true(s.region_bytes <= max);
        assert_true(s.region_bytes + 100 * KiB + 16 * KiB > max);
        assert_null(hh_alloc(h, 2 * MiB)); /* beyond max_size: never asked for */
        if (modes[m] == GROW_EXACT)
            assert_true(gb.committed <= max);
        assert_consistent(h);
        assert_int_equal(hh_problem_count(h), 0);
        growbuf_finish(&gb);
    }
}

static void shrinks_back_after_frees_never_below_initial(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    size_t initial = gb.committed;
    enum { N = 16 };
    void *p[N];
    uint32_t seed[N];
    for (size_t i = 0; i < N; i++)
        p[i] = alloc_filled_committed(h, 256 * KiB, seed[i] = (uint32_t)i);
    size_t grown = stats_of(h).region_bytes;
    assert_true(grown >= initial + (N - 1) * 256 * KiB);
    rng r = rng_seeded(7);
    for (size_t n = N; n > 0; n--) { /* free in random order */
        size_t i = rng_below(&r, n);
        assert_pattern(p[i], 256 * KiB, seed[i]);
        hh_free(h, p[i]);
        p[i] = p[n - 1];
        seed[i] = seed[n - 1];
        assert_consistent(h);
        assert_span_matches_callbacks(h);
        assert_true(stats_of(h).region_bytes >= initial);
    }
    hh_stats s = stats_of(h);
    assert_true(gb.shrink_calls >= 1);
    assert_int_equal(gb.released % 4096, 0);
    assert_true(s.region_bytes >= initial);
    assert_true(s.region_bytes <= initial + HH_TRIM_THRESHOLD + 4096);
    assert_int_equal(s.blocks, 0);
    assert_int_equal(s.holes, 1);
    assert_int_equal(hh_problem_count(h), 0);
}

static void large_initial_heap_never_shrinks_below_itself(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(2 * MiB, 0);
    size_t initial = gb.committed;
    void *a = alloc_filled_committed(h, 1 * MiB, 1);
    void *b = alloc_filled_committed(h, 3 * MiB, 2); /* grows */
    hh_free(h, a);
    hh_free(h, b);
    assert_true(stats_of(h).region_bytes >= initial);
    assert_true(stats_of(h).region_bytes <= initial + HH_TRIM_THRESHOLD + 4096);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
}

static void shrink_that_releases_nothing_or_lies(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    gb.shrink_enabled = false; /* keeps everything: the heap stays as big */
    void *a = alloc_filled_committed(h, 2 * MiB, 1);
    size_t grown = stats_of(h).region_bytes;
    hh_free(h, a);
    assert_int_equal(stats_of(h).region_bytes, grown);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
    assert_int_equal(hh_problem_count(h), 0);
    growbuf_finish(&gb);

    h = heap_growing(64 * KiB, 0);
    gb.shrink_lies = true; /* claims more than offered: reported, ignored */
    a = alloc_filled_committed(h, 2 * MiB, 1);
    grown = stats_of(h).region_bytes;
    hh_free(h, a);
    assert_true(gb.shrink_calls >= 1);
    assert_int_equal(hh_last_problem(h, NULL), HH_E_CALLBACK);
    assert_int_equal(stats_of(h).region_bytes, grown);
    assert_consistent(h);
}

/* Alternate alloc/free of one block at the heap's end; count callbacks. */
static void assert_no_thrash(size_t size)
{
    hh_heap *h = heap_growing(64 * KiB, 0);
    void *base = alloc_filled_committed(h, 1000, 1);
    for (int warm = 0; warm < 2; warm++)
        hh_free(h, alloc_filled_committed(h, size, 2));
    size_t grows = gb.grow_calls, shrinks = gb.shrink_calls;
    for (int i = 0; i < 1000; i++) {
        void *p = hh_alloc(h, size);
        assert_non_null(p);
        hh_free(h, p);
    }
    if (gb.grow_calls - grows > 2 || gb.shrink_calls - shrinks > 2)
        fail_msg("%zu KiB block: 1000 alloc/free pairs made %zu grow and %zu shrink calls", size / KiB,
                 gb.grow_calls - grows, gb.shrink_calls - shrinks);
    assert_pattern(base, 1000, 1);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
    growbuf_finish(&gb);
}

static void no_thrash_at_the_end(void **state)
{
    (void)state;
    size_t sizes[] = {16, 4 * KiB, 60 * KiB, 100 * KiB, 150 * KiB, 200 * KiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        assert_no_thrash(sizes[i]);
}

static void no_thrash_with_a_block_beyond_the_trim_threshold(void **state)
{
    (void)state;
    assert_no_thrash(1 * MiB);
}

static void realloc_of_the_last_block_grows(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    void *a = alloc_filled_committed(h, 1000, 1);
    void *b = alloc_filled_committed(h, 30 * KiB, 2);
    void *c = hh_realloc(h, b, 500 * KiB);
    assert_non_null(c);
    assert_ptr_equal(c, b); /* the last block grows in place with the heap */
    assert_true(gb.grow_calls >= 1);
    assert_pattern(c, 30 * KiB, 2);
    assert_pattern(a, 1000, 1);
    pattern_fill(c, 500 * KiB, 3);
    void *d = hh_realloc(h, c, 10 * KiB); /* shrink: the end may be given back */
    assert_ptr_equal(d, c);
    assert_pattern(d, 10 * KiB, 3);
    assert_span_matches_callbacks(h);
    assert_consistent(h);
    assert_int_equal(hh_problem_count(h), 0);
}

/* A shrink callback that gives nothing back is not asked again on every free:
 * only once the last hole has grown by the trim threshold. */
static void refused_shrink_not_asked_again(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    gb.shrink_enabled = false;
    void *big = alloc_filled_committed(h, 4 * MiB, 1);
    hh_free(h, big); /* the heap now ends in a 4 MiB hole; shrink refuses it */
    size_t asked = gb.shrink_calls;
    assert_true(asked >= 1);
    for (int i = 0; i < 1000; i++)
        hh_free(h, alloc_filled_committed(h, 64, 2));
    assert_int_equal(gb.shrink_calls, asked);
    assert_consistent(h);
}

/* A write past the last block, over its footer, must not send growth or
 * trimming through a wild size: both are refused and reported. */
static void corrupt_last_footer_stops_growth_and_trim(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    void *keep = alloc_filled_committed(h, 300 * KiB, 1); /* grows exactly: no hole left */
    alloc_filled_committed(h, 1 * KiB, 2);                /* grows a chunk: a hole at the end */
    assert_int_equal(stats_of(h).holes, 1);
    void *last = alloc_filled_committed(h, stats_of(h).largest_hole - HH_OVERHEAD, 3);
    size_t grows = gb.grow_calls, shrinks = gb.shrink_calls;
    memset((unsigned char *)last + hh_usable_size(h, last), 0xA5, 8); /* its footer */
    assert_null(hh_alloc(h, 1 * MiB));                                /* would need growth */
    assert_int_equal(hh_last_problem(h, NULL), HH_E_CORRUPT);
    hh_free(h, keep); /* a large hole, but the heap's end cannot be trusted: no trim */
    assert_int_equal(gb.grow_calls, grows);
    assert_int_equal(gb.shrink_calls, shrinks);
    assert_int_equal(hh_check(h, NULL), HH_E_CORRUPT);
}

/* hh_trim always verifies the heap's end (only a free's own trim reads the
 * last footer unverified, to decide that there is nothing to trim): a write
 * over the last block's footer is reported by it (a review: the unverified
 * read made hh_trim return in silence). */
static void trim_reports_a_damaged_last_footer(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    alloc_filled_committed(h, 1 * KiB, 1);
    void *last = alloc_filled_committed(h, stats_of(h).largest_hole - HH_OVERHEAD, 2);
    size_t shrinks = gb.shrink_calls;
    memset((unsigned char *)last + hh_usable_size(h, last), 0, 8); /* its footer */
    hh_trim(h);
    assert_int_equal(hh_last_problem(h, NULL), HH_E_CORRUPT);
    assert_int_equal(gb.shrink_calls, shrinks);
}

/* The heap's tags chain from end to end (the walk reaches the epilogue),
 * and the spans cover exactly the region and the bytes the statistics count. */
static void assert_walk_matches_stats(hh_heap *h)
{
    const char *why = walk_stats_disagree(h, buf, NULL);
    if (why)
        fail_msg("%s", why);
}

#ifndef HH_INDEX_TABLE
/* A write after free over the heap's trailing hole's index node (the fast
 * index keeps its node in the hole) sets the hole's tree aside. Growth
 * extends the last hole, which must leave the index first: it could not, so
 * the heap never grew again, and a free beside it was refused (a review's
 * reproducer). The hole now goes out of service when met, and growth starts
 * a new hole after it; the damage is not reported again. */
static void growth_goes_on_past_a_last_hole_set_aside(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    void *a = alloc_filled_committed(h, 1000, 1);
    void *y = alloc_filled_committed(h, 30000, 2);
    hh_free(h, y);
    assert_ptr_equal(last_hole_payload(h), y); /* y merged into the trailing hole */
    memset(y, 'A', 16);                        /* a write after free over its index node */
    hh_alloc(h, 20000);                        /* meets the damage: reported, the tree set aside */
    size_t problems = hh_problem_count(h), grows = gb.grow_calls;
    assert_true(problems > 0);
    void *big = alloc_filled_committed(h, 100 * KiB, 3); /* needs growth */
    assert_true(gb.grow_calls > grows);
    size_t blocks = stats_of(h).blocks;
    hh_free(h, a); /* a sound block beside the lost hole */
    assert_int_equal(stats_of(h).blocks, blocks - 1);
    hh_free(h, big);
    assert_int_equal(hh_problem_count(h), problems);
    assert_span_matches_callbacks(h);
    assert_walk_matches_stats(h);
    assert_int_equal(hh_check(h, NULL), HH_E_INDEX); /* the tree set aside, the hole out of service */
}

/* Growth that would add a hole of a size whose tree is set aside asks for a
 * size a tree in service takes instead, so that one write after free over a
 * hole's node does not make every request of that size class fail (a
 * review's reproducer, with the trailing hole and the grown one in one
 * class); and when the callback gives more than asked and the hole lands in
 * a tree set aside all the same, it goes out of service and the heap stops
 * growing, rather than grow at every later call for memory nobody can use. */
static void growth_asks_for_a_size_in_service(void **state)
{
    (void)state;
    hh_heap *h = heap_growing(64 * KiB, 0);
    alloc_filled_committed(h, 1 * KiB, 1);
    void *m1 = alloc_filled_committed(h, HH_GROW_CHUNK - HH_OVERHEAD, 2); /* the size growth adds */
    alloc_filled_committed(h, 1 * KiB, 3);
    void *m2 = alloc_filled_committed(h, HH_GROW_CHUNK * 3 / 2 - HH_OVERHEAD, 4); /* two classes above */
    alloc_filled_committed(h, 1 * KiB, 5);
    alloc_filled_committed(h, stats_of(h).largest_hole - HH_OVERHEAD, 6); /* the heap ends in a block */
    hh_free(h, m1);
    hh_free(h, m2);
    memset(m1, 'A', 16); /* their nodes */
    memset(m2, 'A', 16);
    size_t grows = gb.grow_calls;
    void *p = hh_alloc(h, HH_GROW_CHUNK - HH_OVERHEAD); /* both trees met and set aside; growth asks more */
    assert_non_null(p);
    assert_int_equal(gb.grow_calls, grows + 1);
    assert_true(hh_problem_count(h) >= 2);
    assert_walk_matches_stats(h);

    hh_free(h, p); /* merges into the trailing hole: 80 KiB, its class in service */
    hh_trim(h);
    alloc_filled_committed(h, stats_of(h).largest_hole - HH_OVERHEAD, 7); /* ends in a block again */
    gb.mode = GROW_MORE; /* the callback gives 16 KiB more: the hole lands in m2's class, set aside */
    gb.extra = 16 * KiB;
    grows = gb.grow_calls;
    assert_null(hh_alloc(h, HH_GROW_CHUNK - HH_OVERHEAD));
    assert_int_equal(gb.grow_calls, grows + 1);
    assert_null(hh_alloc(h, HH_GROW_CHUNK - HH_OVERHEAD));
    assert_null(hh_alloc(h, 200 * KiB));
    assert_int_equal(gb.grow_calls, grows + 1); /* not asked again */
    assert_span_matches_callbacks(h);
}

/* A growing realloc at the heap's end whose last hole's tree is set aside:
 * growth makes a new hole after that hole, not after the block, so the
 * block must not be extended into it (it was, over the lost span, and the
 * heap's tags no longer chained: a review's reproducer); it moves instead. */
static void realloc_grows_only_into_its_neighbour(void **state)
{
    (void)state;
    growbuf_start(&gb, buf, BUF_BYTES, 32 * KiB + ((idx_storage_bytes(BUF_BYTES) + 4095) & ~(size_t)4095));
    hh_options o = {
        .grow = growbuf_grow, .shrink = growbuf_shrink, .ctx = &gb, .max_size = BUF_BYTES, .flags = HH_STRICT};
    hh_heap *h = hh_init(buf, gb.committed, &o);
    assert_non_null(h);
    unsigned char *b = alloc_filled_committed(h, 1000, 1), *c = alloc_filled_committed(h, 1000, 2);
    hh_free(h, c);      /* merges into the trailing hole */
    memset(c, 'A', 16); /* a write after free over that hole's node */
    unsigned char *q = hh_realloc(h, b, 60000);
    assert_non_null(q);
    assert_ptr_not_equal(q, b); /* moved */
    assert_pattern(q, 1000, 1);
    memset(q, 0x5A, 60000);
    unsigned char *d = alloc_filled_committed(h, 20000, 3);
    assert_true(d + 20000 <= q || q + 60000 <= d);
    assert_walk_matches_stats(h);
    assert_span_matches_callbacks(h);
}
#endif

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(grow_exact_extends_the_last_hole, teardown),
        cmocka_unit_test_teardown(grow_more_than_asked_is_used, teardown),
        cmocka_unit_test_teardown(grow_more_by_odd_bytes_uses_whole_granules, teardown),
        cmocka_unit_test_teardown(grow_failure_gives_null_and_changes_nothing, teardown),
        cmocka_unit_test_teardown(grow_too_little_is_refused, teardown),
        cmocka_unit_test_teardown(max_size_is_respected, teardown),
        cmocka_unit_test_teardown(shrinks_back_after_frees_never_below_initial, teardown),
        cmocka_unit_test_teardown(large_initial_heap_never_shrinks_below_itself, teardown),
        cmocka_unit_test_teardown(shrink_that_releases_nothing_or_lies, teardown),
        cmocka_unit_test_teardown(no_thrash_at_the_end, teardown),
        cmocka_unit_test_teardown(no_thrash_with_a_block_beyond_the_trim_threshold, teardown),
        cmocka_unit_test_teardown(realloc_of_the_last_block_grows, teardown),
        cmocka_unit_test_teardown(corrupt_last_footer_stops_growth_and_trim, teardown),
        cmocka_unit_test_teardown(trim_reports_a_damaged_last_footer, teardown),
        cmocka_unit_test_teardown(refused_shrink_not_asked_again, teardown),
#ifndef HH_INDEX_TABLE
        cmocka_unit_test_teardown(growth_goes_on_past_a_last_hole_set_aside, teardown),
        cmocka_unit_test_teardown(growth_asks_for_a_size_in_service, teardown),
        cmocka_unit_test_teardown(realloc_grows_only_into_its_neighbour, teardown),
#endif
    };
    int status = select_tests(argc, argv, tests, sizeof tests / sizeof tests[0]);
    if (status >= 0)
        return status;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
