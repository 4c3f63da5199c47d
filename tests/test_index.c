/*
 * Unit tests of the hole index (src/index.h), run against whichever
 * implementation is compiled in: the AVL tree by default, the ordered table
 * with -DHH_INDEX_TABLE. Only the index source is linked: the test builds a
 * fake arena by hand (control block, fences, blocks and holes written with
 * tag_write) and compares every answer with a plain array scanned linearly.
 *
 * The fake arena is cut into equal slots; slot i starts at granule i * slot_g
 * and holds either one used block, or a hole of size_g[i] granules at offset
 * off[i] (0, or at least 2 granules after a used block) followed by a used
 * block filling the rest, so no two holes ever touch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "heap.h"
#include "index.h"
#include "tag.h"
#include "cmocka_select.h"

#ifdef HH_INDEX_TABLE
#define IMPL "table"
#else
#define IMPL "fast"
#endif

/* The smallest hole the fast index keeps out of its exact-size bins (holes
 * of 2 .. FIRST_LARGE_G - 1 granules sit in bins). The table has no bins but
 * runs the same cases at the same sizes. */
#ifndef HH_INDEX_TABLE
#define FIRST_LARGE_G (2u + HH_INDEX_BINS)
#else
#define FIRST_LARGE_G 66u
#endif

/* ---- the index reports damage through the heap: here, counted ---- */

static size_t reports;
static int last_report_code;

bool heap_report(hh_heap *h, int code, const void *where, const char *what)
{
    (void)h;
    (void)where;
    (void)what;
    reports++;
    last_report_code = code;
    return true; /* the fake heap's control block is taken as sound */
}

bool heap_damage_sound(hh_heap *h)
{
    (void)h;
    return true;
}

/* ---- a fake arena ---- */

typedef struct fake {
    hh_heap *h;
    uint32_t slot_g, nslots;
    uint32_t *size_g; /* the reference: hole size of each slot, 0 if none */
    uint32_t *off;    /* where in the slot its hole starts, in granules */
} fake;

#define SMALL_SPAN ((size_t)2 << 20)
#define ARENA_BYTES(span) ((span) + (span) / 16 + 4096)
static _Alignas(16) char small_buf[ARENA_BYTES(SMALL_SPAN)];

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* Bytes of buffer a fake arena of span bytes needs. */
static size_t fake_bytes(size_t span)
{
    return round16(sizeof(hh_heap)) + round16(idx_storage_bytes(span)) + 16 + span + 16;
}

static tag *slot_tag(const fake *f, uint32_t i) { return block_at(f->h, i * f->slot_g); }

/* Where slot i's hole starts (its slot when it has none). */
static tag *hole_tag(const fake *f, uint32_t i) { return block_at(f->h, i * f->slot_g + f->off[i]); }

/* Write slot i as a block of off granules (none if off is 0), a hole of size_g
 * granules and a block filling the rest (size_g 0: the whole slot one block). */
static void slot_write_at(fake *f, uint32_t i, uint32_t off, uint32_t size_g)
{
    tag *b = slot_tag(f, i);
    if (size_g == 0) {
        off = 0;
        tag_write(f->h, b, (size_t)f->slot_g * HH_GRANULE, false);
    } else {
        assert_true(off == 0 || off >= 2);
        assert_true(size_g >= 2 && off + size_g + 2 <= f->slot_g); /* a block of 32 bytes or more follows */
        if (off != 0)
            tag_write(f->h, b, (size_t)off * HH_GRANULE, false);
        b = block_at(f->h, i * f->slot_g + off);
        tag_write(f->h, b, (size_t)size_g * HH_GRANULE, true);
        tag_write(f->h, block_next(b), (size_t)(f->slot_g - off - size_g) * HH_GRANULE, false);
    }
    f->size_g[i] = size_g;
    f->off[i] = off;
}

static void slot_write(fake *f, uint32_t i, uint32_t size_g) { slot_write_at(f, i, 0, size_g); }

static fake fake_open(void *buf, size_t buf_bytes, uint32_t slot_g, uint32_t nslots)
{
    size_t span = (size_t)slot_g * nslots * HH_GRANULE;
    size_t storage = idx_storage_bytes(span);
    char *mem = buf;
    fake f = {(hh_heap *)buf, slot_g, nslots, calloc(nslots, sizeof(uint32_t)), calloc(nslots, sizeof(uint32_t))};

    assert_true(fake_bytes(span) <= buf_bytes);
    assert_non_null(f.size_g);
    assert_non_null(f.off);
    memset(mem, 0, sizeof(hh_heap));
    f.h->key = 0x2545F491u;
    tag_keys_derive(f.h);
    f.h->magic = HH_MAGIC ^ f.h->key;
    f.h->mem = mem;
    f.h->base = mem + round16(sizeof(hh_heap)) + round16(storage) + 8;
    f.h->end = f.h->base + span;
    f.h->limit_end = f.h->end;
    heap_pos_fast_update(f.h); /* one region: every position below the span is readable */
    assert_int_equal((uintptr_t)f.h->base % 16, 8);
    fence_write(f.h, heap_prologue(f.h), HH_NIL);
    fence_write(f.h, heap_epilogue(f.h), (uint32_t)(span / HH_GRANULE));
    idx_init(f.h, storage ? mem + round16(sizeof(hh_heap)) : NULL, storage);
    for (uint32_t i = 0; i < nslots; i++)
        slot_write(&f, i, 0);
    return f;
}

static void fake_close(fake *f)
{
    free(f->size_g);
    free(f->off);
}

/* Make slot i a hole of size_g granules and index it. */
static void add_hole(fake *f, uint32_t i, uint32_t size_g)
{
    slot_write(f, i, size_g);
    idx_insert(f->h, hole_tag(f, i));
}

/* Unindex slot i's hole and turn the slot back into a block. */
static void drop_hole(fake *f, uint32_t i)
{
    idx_remove(f->h, hole_tag(f, i));
    slot_write(f, i, 0);
}

/* ---- the reference ---- */

static tag *ref_best_fit(const fake *f, uint32_t want_g)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < f->nslots; i++)
        if (f->size_g[i] != 0 && f->size_g[i] >= want_g && (best == UINT32_MAX || f->size_g[i] < f->size_g[best]))
            best = i;
    return best == UINT32_MAX ? NULL : hole_tag(f, best);
}

static uint32_t ref_largest(const fake *f)
{
    uint32_t largest = 0;
    for (uint32_t i = 0; i < f->nslots; i++)
        largest = f->size_g[i] > largest ? f->size_g[i] : largest;
    return largest;
}

static size_t ref_count(const fake *f)
{
    size_t n = 0;
    for (uint32_t i = 0; i < f->nslots; i++)
        n += f->size_g[i] != 0;
    return n;
}

static void assert_verifies(const fake *f)
{
    hh_problem p = {0, NULL, NULL, NULL};
    int rc = idx_verify(f->h, &p);
    if (rc != 0)
        fail_msg("idx_verify: %d at %p: %s", rc, p.where, p.what ? p.what : "?");
}

/* The index agrees with the reference on count, largest, contains and best fit
 * for every size up to one past the slot. */
static void assert_matches(const fake *f)
{
    assert_verifies(f);
    assert_int_equal(idx_count(f->h), ref_count(f));
    assert_int_equal(idx_largest_g(f->h), ref_largest(f));
    for (uint32_t i = 0; i < f->nslots; i++) {
        assert_int_equal(idx_contains(f->h, hole_tag(f, i)), f->size_g[i] != 0);
        if (f->off[i] != 0)
            assert_false(idx_contains(f->h, slot_tag(f, i))); /* the block before the hole */
    }
    for (uint32_t n = 0; n <= f->slot_g + 1; n++)
        assert_ptr_equal(idx_best_fit(f->h, n), ref_best_fit(f, n));
}

/* ---- hand-made cases ---- */

static void test_empty(void **state)
{
    fake f = fake_open(small_buf, sizeof small_buf, 16, 8);
    (void)state;
    assert_int_equal(idx_count(f.h), 0);
    assert_int_equal(idx_largest_g(f.h), 0);
    assert_null(idx_best_fit(f.h, 0));
    assert_null(idx_best_fit(f.h, 2));
    assert_false(idx_contains(f.h, slot_tag(&f, 3)));
    assert_matches(&f);
    fake_close(&f);
}

static void test_ties_exact_and_no_fit(void **state)
{
    static const uint32_t sizes[] = {5, 3, 5, 8, 3, 0, 14, 2};
    fake f = fake_open(small_buf, sizeof small_buf, 16, 8);
    (void)state;
    for (uint32_t i = 0; i < 8; i++) {
        if (sizes[i] != 0)
            add_hole(&f, i, sizes[i]);
        assert_matches(&f);
    }
    assert_ptr_equal(idx_best_fit(f.h, 0), slot_tag(&f, 7)); /* smallest overall */
    assert_ptr_equal(idx_best_fit(f.h, 3), slot_tag(&f, 1)); /* exact, lowest of a tie */
    assert_ptr_equal(idx_best_fit(f.h, 4), slot_tag(&f, 0)); /* next size up, lowest of a tie */
    assert_ptr_equal(idx_best_fit(f.h, 8), slot_tag(&f, 3)); /* exact */
    assert_ptr_equal(idx_best_fit(f.h, 9), slot_tag(&f, 6));
    assert_null(idx_best_fit(f.h, 15)); /* no fit */
    assert_int_equal(idx_largest_g(f.h), 14);
    assert_false(idx_contains(f.h, slot_tag(&f, 5)));

    drop_hole(&f, 1);
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, 3), slot_tag(&f, 4)); /* the other 3 */
    drop_hole(&f, 0);
    assert_ptr_equal(idx_best_fit(f.h, 4), slot_tag(&f, 2)); /* the other 5 */
    drop_hole(&f, 6);
    assert_int_equal(idx_largest_g(f.h), 8);
    assert_matches(&f);
    for (uint32_t i = 0; i < 8; i++) {
        if (f.size_g[i] != 0)
            drop_hole(&f, i);
        assert_matches(&f);
    }
    assert_int_equal(idx_count(f.h), 0);
    fake_close(&f);
}

/* Inserting a hole that is already there is damage: reported, and the tree
 * (the table) is set aside, so nothing in it is handed out any more. */
static void test_insert_twice_is_reported(void **state)
{
    fake f = fake_open(small_buf, sizeof small_buf, 16, 4);
    (void)state;
    add_hole(&f, 1, 4);
    add_hole(&f, 2, 6);
    size_t before = reports;
    assert_false(idx_insert(f.h, slot_tag(&f, 1)));
    assert_int_equal(reports, before + 1);
    assert_int_equal(last_report_code, HH_E_INDEX);
    assert_int_equal(idx_verify(f.h, NULL), HH_E_INDEX);
    assert_true(idx_best_fit(f.h, 4) != slot_tag(&f, 1));
    fake_close(&f);
}

#ifndef HH_INDEX_TABLE
/* A hole's first 16 bytes are old payload until it is inserted: bytes that
 * look like a node of its tree under a parent whose bytes link back to it
 * (a block's payload, or the hole itself) do not make the insert take it
 * for a hole already in the index (a false report would set its tree
 * aside). */
static void test_insert_over_node_like_bytes(void **state)
{
    fake f = fake_open(small_buf, sizeof small_buf, 16, 4);
    (void)state;
    add_hole(&f, 0, 4); /* bin 2 is not empty: the next insert walks */
    slot_write(&f, 2, 4);
    uint32_t pos = 2 * f.slot_g, block = 3 * f.slot_g, t = 4 - 2;
    idx_node *n = block_payload(block_at(f.h, pos));
    idx_node *b = block_payload(block_at(f.h, block));
    *n = (idx_node){{pos, pos}, block, t};  /* names a live block as its parent */
    *b = (idx_node){{pos, pos}, HH_NIL, t}; /* whose payload links back */
    size_t before = reports;
    assert_true(idx_insert(f.h, slot_tag(&f, 2)));
    assert_true(idx_remove(f.h, slot_tag(&f, 2)));
    *n = (idx_node){{pos, pos}, pos, t}; /* its own parent */
    assert_true(idx_insert(f.h, slot_tag(&f, 2)));
    assert_int_equal(reports, before);
    assert_verifies(&f);
    fake_close(&f);
}
#endif

/* Ascending, descending and zig-zag insertion force every rotation case;
 * removal from the middle out forces the two-children case. Sizes from
 * base_g up (2: in the fast index's bins; FIRST_LARGE_G: in its large tree). */
static void orders_and_rotations(uint32_t base_g)
{
    enum { N = 300 };
    uint32_t up = base_g - 2; /* added to each size */
    fake f = fake_open(small_buf, sizeof small_buf, 9 + up, N);
    for (uint32_t i = 0; i < N; i++) { /* ascending key: size then position */
        add_hole(&f, i, up + 2 + i % 6);
        assert_matches(&f);
    }
    for (uint32_t k = 0; k < N; k++) { /* remove from the middle outwards */
        uint32_t i = k % 2 ? N / 2 + k / 2 + 1 : N / 2 - k / 2 - 1;
        if (i < N && f.size_g[i] != 0)
            drop_hole(&f, i);
        if (k % 7 == 0)
            assert_matches(&f);
    }
    for (uint32_t i = 0; i < N; i++)
        if (f.size_g[i] != 0)
            drop_hole(&f, i);
    assert_matches(&f);
    for (uint32_t k = 0; k < N; k++) { /* descending, then zig-zag */
        uint32_t i = k < N / 2 ? N / 2 - 1 - k : (k % 2 ? k : N - 1 - (k - N / 2));
        if (f.size_g[i] == 0)
            add_hole(&f, i, up + 6 - i % 4);
        if (k % 5 == 0)
            assert_matches(&f);
    }
    assert_matches(&f);
    fake_close(&f);
}

static void test_orders_and_rotations(void **state)
{
    (void)state;
    orders_and_rotations(2);
    orders_and_rotations(FIRST_LARGE_G);
}

/* ---- the fast index's bins at their edges (the table runs the same cases) ---- */

/* The largest bin size beside the first large size, and the two sizes on
 * either side of the bitmap's first word edge (bins 31 and 32). */
static void test_bin_boundaries(void **state)
{
    const uint32_t small_max = FIRST_LARGE_G - 1, word_end = 2 + 31, word_next = 2 + 32;
    fake f = fake_open(small_buf, sizeof small_buf, FIRST_LARGE_G + 4, 16);
    (void)state;
    add_hole(&f, 3, small_max);
    add_hole(&f, 1, FIRST_LARGE_G);
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, small_max), hole_tag(&f, 3));
    assert_ptr_equal(idx_best_fit(f.h, FIRST_LARGE_G), hole_tag(&f, 1));
    assert_ptr_equal(idx_best_fit(f.h, 0), hole_tag(&f, 3));
    assert_int_equal(idx_largest_g(f.h), FIRST_LARGE_G);
    drop_hole(&f, 1); /* no large hole left: the largest comes from the bins */
    assert_matches(&f);
    assert_int_equal(idx_largest_g(f.h), small_max);
    assert_null(idx_best_fit(f.h, FIRST_LARGE_G));
    add_hole(&f, 5, word_next);
    assert_ptr_equal(idx_best_fit(f.h, 2), hole_tag(&f, 5)); /* the search crosses a word */
    assert_ptr_equal(idx_best_fit(f.h, word_end), hole_tag(&f, 5));
    add_hole(&f, 7, word_end);
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, 2), hole_tag(&f, 7));
    assert_ptr_equal(idx_best_fit(f.h, word_end), hole_tag(&f, 7));
    assert_ptr_equal(idx_best_fit(f.h, word_next), hole_tag(&f, 5));
    add_hole(&f, 0, small_max); /* a tie at the largest bin, lower */
    assert_ptr_equal(idx_best_fit(f.h, word_next + 1), hole_tag(&f, 0));
    assert_matches(&f);
    drop_hole(&f, 0);
    drop_hole(&f, 3);
    assert_int_equal(idx_largest_g(f.h), word_next);
    assert_null(idx_best_fit(f.h, word_next + 1));
    add_hole(&f, 9, FIRST_LARGE_G + 1);
    add_hole(&f, 11, FIRST_LARGE_G);
    assert_ptr_equal(idx_best_fit(f.h, word_next + 1), hole_tag(&f, 11)); /* from the large tree */
    assert_matches(&f);
    drop_hole(&f, 7);
    drop_hole(&f, 5);
    assert_ptr_equal(idx_best_fit(f.h, 0), hole_tag(&f, 11)); /* bins empty */
    assert_int_equal(idx_largest_g(f.h), FIRST_LARGE_G + 1);
    assert_matches(&f);
    fake_close(&f);
}

/* Many holes of one size arrive and leave in scrambled order: the lowest
 * position always wins (a bin's cached min), next to a few of other sizes. */
static void test_bin_ties(void **state)
{
    enum { N = 41 };
    fake f = fake_open(small_buf, sizeof small_buf, 16, N);
    (void)state;
    for (uint32_t k = 0; k < N; k++) {
        uint32_t i = k * 17 % N;
        add_hole(&f, i, i % 5 == 0 ? 4 : 5);
        assert_ptr_equal(idx_best_fit(f.h, 5), ref_best_fit(&f, 5));
        assert_matches(&f);
    }
    for (uint32_t k = 0; k < N; k++) {
        uint32_t i = k * 13 % N;
        drop_hole(&f, i);
        assert_matches(&f);
    }
    assert_int_equal(idx_count(f.h), 0);
    fake_close(&f);
}

/* What the heap does on a split or merge: take the hole out of the index,
 * rewrite its tags as the reshaped hole, put it back. */
static void reshape_hole(fake *f, uint32_t i, uint32_t off, uint32_t size_g)
{
    assert_true(idx_remove(f->h, hole_tag(f, i)));
    slot_write_at(f, i, off, size_g);
    assert_true(idx_insert(f->h, hole_tag(f, i)));
}

static void test_replace_between_bins_and_tree(void **state)
{
    const uint32_t L = FIRST_LARGE_G;
    fake f = fake_open(small_buf, sizeof small_buf, L + 24, 8);
    (void)state;
    add_hole(&f, 0, 5);
    add_hole(&f, 1, 5);
    add_hole(&f, 2, 9);
    add_hole(&f, 3, L + 3);
    add_hole(&f, 4, L + 10);
    add_hole(&f, 5, 2);
    add_hole(&f, 6, 5);
    assert_matches(&f);
    reshape_hole(&f, 1, 0, 5); /* unchanged */
    assert_matches(&f);
    reshape_hole(&f, 1, 0, 7); /* bin to bin */
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, 6), hole_tag(&f, 1));
    reshape_hole(&f, 1, 4, 3); /* moves and changes bin: split at the front */
    assert_matches(&f);
    reshape_hole(&f, 0, 2, 5); /* moves within its bin, still its lowest */
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, 5), hole_tag(&f, 0));
    reshape_hole(&f, 2, 0, L + 1); /* bin to tree */
    assert_matches(&f);
    reshape_hole(&f, 3, 0, L - 1); /* tree to the largest bin */
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, L - 1), hole_tag(&f, 3));
    reshape_hole(&f, 4, 2, L + 8); /* tree to tree, still the largest: its order holds */
    assert_matches(&f);
    assert_int_equal(idx_largest_g(f.h), L + 8);
    reshape_hole(&f, 4, 2, L); /* tree to tree, now below slot 2's: reordered */
    assert_matches(&f);
    assert_ptr_equal(idx_best_fit(f.h, L), hole_tag(&f, 4));
    reshape_hole(&f, 5, 0, L + 20); /* the smallest bin to the top of the tree */
    assert_matches(&f);
    assert_int_equal(idx_largest_g(f.h), L + 20);
    reshape_hole(&f, 5, 3, 2); /* and back, moved */
    assert_matches(&f);
    assert_int_equal(idx_largest_g(f.h), L + 1);
    fake_close(&f);
}

/* ---- randomized against the reference ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32);
}

/* Mostly a few small sizes (many ties), sometimes any size that fits a slot. */
static uint32_t random_size(const fake *f)
{
    if (rng() % 2)
        return 2 + rng() % 8;
    return 2 + rng() % (f->slot_g - 3);
}

static void random_step(fake *f)
{
    uint32_t i = rng() % f->nslots;
    uint32_t op = rng() % 100;

    if (op < 40) { /* a hole appears or disappears */
        if (f->size_g[i] != 0)
            drop_hole(f, i);
        else
            add_hole(f, i, random_size(f));
    } else if (op < 55 && f->size_g[i] != 0) { /* a hole changes size */
        drop_hole(f, i);
        add_hole(f, i, random_size(f));
    } else { /* a lookup */
        uint32_t want = rng() % (f->slot_g + 2);
        assert_ptr_equal(idx_best_fit(f->h, want), ref_best_fit(f, want));
        assert_int_equal(idx_contains(f->h, hole_tag(f, i)), f->size_g[i] != 0);
        assert_int_equal(idx_largest_g(f->h), ref_largest(f));
    }
}

static void test_random_against_reference(void **state)
{
    enum { OPS = 100000, SLOTS = 512 };
    fake f = fake_open(small_buf, sizeof small_buf, 256, SLOTS);
    (void)state;
    print_message("random: %d operations, %d slots, seed %llx\n", OPS, SLOTS, (unsigned long long)rng_state);
    for (uint32_t k = 0; k < OPS; k++) {
        random_step(&f);
        if (k % 97 == 0) {
            assert_verifies(&f);
            assert_int_equal(idx_count(f.h), ref_count(&f));
        }
    }
    assert_matches(&f);
    fake_close(&f);
}

/* Sizes concentrated on the bins: small busy sizes (many ties), any bin size,
 * the bins' edge, and now and then anything up to max_g. */
static uint32_t random_small_size(uint32_t max_g)
{
    uint32_t r = rng() % 10, size;
    if (r < 4)
        size = 2 + rng() % 12;
    else if (r < 7)
        size = 2 + rng() % (FIRST_LARGE_G - 1);
    else if (r < 9)
        size = FIRST_LARGE_G - 3 + rng() % 6;
    else
        size = 2 + rng() % (max_g - 1);
    return size < max_g ? size : max_g;
}

static void random_small_step(fake *f)
{
    uint32_t i = rng() % f->nslots;
    uint32_t op = rng() % 100;

    if (op < 30) { /* a hole appears or disappears */
        if (f->size_g[i] != 0)
            drop_hole(f, i);
        else
            add_hole(f, i, random_small_size(f->slot_g - 2));
    } else if (op < 60 && f->size_g[i] != 0) { /* a split or merge reshapes it */
        uint32_t off = rng() % 3 == 0 ? 0 : 2 + rng() % 8;
        reshape_hole(f, i, off, random_small_size(f->slot_g - off - 2));
    } else { /* a lookup, mostly of small sizes */
        uint32_t want = rng() % 4 ? rng() % (FIRST_LARGE_G + 2) : rng() % (f->slot_g + 2);
        assert_ptr_equal(idx_best_fit(f->h, want), ref_best_fit(f, want));
        assert_int_equal(idx_contains(f->h, hole_tag(f, i)), f->size_g[i] != 0);
        assert_int_equal(idx_largest_g(f->h), ref_largest(f));
    }
}

static void test_random_small_sizes_and_replace(void **state)
{
    enum { OPS = 100000, SLOTS = 512 };
    fake f = fake_open(small_buf, sizeof small_buf, FIRST_LARGE_G + 32, SLOTS);
    (void)state;
    print_message("random small: %d operations, %d slots, seed %llx\n", OPS, SLOTS, (unsigned long long)rng_state);
    for (uint32_t k = 0; k < OPS; k++) {
        random_small_step(&f);
        if (k % 97 == 0) {
            assert_verifies(&f);
            assert_int_equal(idx_count(f.h), ref_count(&f));
        }
    }
    assert_matches(&f);
    fake_close(&f);
}

/* ---- scale: a million holes ---- */

#ifndef HH_INDEX_TABLE
/* The real height of the tree under pos (trusting it: run after idx_verify). */
static uint32_t tree_height(const hh_heap *h, uint32_t pos)
{
    const idx_node *n;
    uint32_t l, r;
    if (pos == HH_NIL)
        return 0;
    n = block_payload(block_at(h, pos));
    l = tree_height(h, n->child[0]);
    r = tree_height(h, n->child[1]);
    return 1 + (l > r ? l : r);
}

static void shuffle(uint32_t *v, uint32_t n)
{
    for (uint32_t i = n - 1; i > 0; i--) {
        uint32_t j = rng() % (i + 1), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}
#endif

/* Insertion order: random for the tree, ascending for the table (whose
 * insertion elsewhere costs a shift of the tail: a million of those is the
 * O(n^2) the fast index exists to avoid). */
static uint32_t *insertion_order(uint32_t n)
{
    uint32_t *order = malloc((size_t)n * sizeof *order);
    assert_non_null(order);
    for (uint32_t i = 0; i < n; i++)
        order[i] = i;
#ifndef HH_INDEX_TABLE
    shuffle(order, n);
#endif
    return order;
}

static void test_million_holes(void **state)
{
    enum { N = 1000000 };
    size_t bytes = fake_bytes((size_t)N * 4 * HH_GRANULE);
    void *buf = aligned_alloc(16, round16(bytes));
    uint32_t *order = insertion_order(N);
    fake f;
    (void)state;
    assert_non_null(buf);
    f = fake_open(buf, bytes, 4, N);
    for (uint32_t k = 0; k < N; k++)
        add_hole(&f, order[k], 2);
    assert_verifies(&f);
    assert_int_equal(idx_count(f.h), N);
    assert_ptr_equal(idx_best_fit(f.h, 2), slot_tag(&f, 0));
    assert_null(idx_best_fit(f.h, 3));
    assert_int_equal(idx_largest_g(f.h), 2);
    assert_true(idx_contains(f.h, slot_tag(&f, N - 1)));
#ifndef HH_INDEX_TABLE
    {
        /* A trie's height is bounded by its key's width (the position's
         * bits here), whatever the insertion order: no rebalancing. */
        uint32_t height = tree_height(f.h, f.h->idx.root[0]);
        print_message("1000000 holes: trie height %u, key bits %u\n", height, f.h->idx.pos_bits);
        assert_true(height <= f.h->idx.pos_bits + 1);
        for (uint32_t k = 0; k < N; k += 2) /* remove half, in random order */
            drop_hole(&f, order[k]);
        assert_verifies(&f);
        height = tree_height(f.h, f.h->idx.root[0]);
        print_message("after removing half: height %u\n", height);
        assert_true(height <= f.h->idx.pos_bits + 1);
    }
#endif
    free(order);
    fake_close(&f);
    free(buf);
}

/* ---- deliberate corruption: idx_verify must catch it ---- */

static void assert_corrupt(const fake *f, const char *why)
{
    hh_problem p = {0, NULL, NULL, NULL};
    int rc = idx_verify(f->h, &p);
    if (rc != HH_E_INDEX)
        fail_msg("%s: idx_verify returned %d, not HH_E_INDEX", why, rc);
    assert_int_equal(p.code, HH_E_INDEX);
    assert_non_null(p.where);
    assert_non_null(p.what);
    assert_int_equal(idx_verify(f->h, NULL), HH_E_INDEX);
}

/* Holes in every other slot: small ones (the fast index's bins, some bins
 * with two holes) and large ones (its large tree), interleaved. */
static fake corruption_fixture(void)
{
    fake f = fake_open(small_buf, sizeof small_buf, FIRST_LARGE_G + 16, 64);
    for (uint32_t i = 0; i < 64; i += 2)
        add_hole(&f, i, (i % 4 == 0 ? 2 : FIRST_LARGE_G) + i % 9);
    assert_verifies(&f);
    return f;
}

static void test_corrupt_seal(void **state)
{
    fake f = corruption_fixture();
    tag *t = slot_tag(&f, 10);
    (void)state;
    t->seal ^= 1u << 7;
    assert_corrupt(&f, "seal flipped");
    t->seal ^= 1u << 7;
    assert_verifies(&f);
    t->word &= ~1u; /* the hole, still indexed, marked used (then resealed) */
    t->seal = tag_seal(f.h, t->word, block_pos(f.h, t));
    assert_corrupt(&f, "indexed block is not a hole");
    t->word |= 1u;
    t->seal = tag_seal(f.h, t->word, block_pos(f.h, t));
    assert_verifies(&f);
    fake_close(&f);
}

static void test_corrupt_count(void **state)
{
    fake f = corruption_fixture();
    (void)state;
#ifdef HH_INDEX_TABLE
    /* The table's count says which slots are used: one too many takes in a
     * stale slot (here one naming a used block); one too few is not
     * structural (the heap's walk finds the hole missing from the index). */
    f.h->idx.slots[f.h->idx.count] = 1 * f.slot_g;
    f.h->idx.count++;
    assert_corrupt(&f, "count too high");
    f.h->idx.count--;
#else
    f.h->idx.count++;
    assert_corrupt(&f, "count too high");
    f.h->idx.count -= 2;
    assert_corrupt(&f, "count too low");
    f.h->idx.count++;
#endif
    assert_verifies(&f);
    fake_close(&f);
}

#ifndef HH_INDEX_TABLE
static idx_node *node_at(const fake *f, uint32_t pos) { return block_payload(block_at(f->h, pos)); }

static uint32_t leaf_under(const fake *f, uint32_t pos)
{
    while (node_at(f, pos)->child[0] != HH_NIL || node_at(f, pos)->child[1] != HH_NIL)
        pos = node_at(f, pos)->child[0] != HH_NIL ? node_at(f, pos)->child[0] : node_at(f, pos)->child[1];
    return pos;
}

/* The first size-class tree in use (the fixture's large holes share one). */
static uint32_t class_tree(const fake *f)
{
    for (uint32_t t = HH_INDEX_BINS; t < IDX_TREES; t++)
        if (f->h->idx.root[t] != HH_NIL)
            return t;
    fail_msg("no size-class tree in use");
    return 0;
}

/* Set *link to bad, expect verify to fail, put it back. */
static void corrupt_link(const fake *f, uint32_t *link, uint32_t bad, const char *why)
{
    uint32_t saved = *link;
    *link = bad;
    assert_corrupt(f, why);
    *link = saved;
    assert_verifies(f);
}

static void test_corrupt_links(void **state)
{
    fake f = corruption_fixture();
    uint32_t t = class_tree(&f), root = f.h->idx.root[t], leaf = leaf_under(&f, root);
    uint32_t span_g = (uint32_t)((size_t)(f.h->end - f.h->base) / HH_GRANULE);
    idx_node *rn = node_at(&f, root);
    (void)state;
    assert_true(root != leaf);
    corrupt_link(&f, &rn->child[0], span_g + 5, "link outside the heap");
    corrupt_link(&f, &rn->child[0], HH_NIL - 1, "link far outside the heap");
    corrupt_link(&f, &node_at(&f, leaf)->child[0], root, "cycle back to the root");
    corrupt_link(&f, &node_at(&f, leaf)->child[1], leaf, "node links to itself");
    corrupt_link(&f, &node_at(&f, leaf)->child[0], 1 * f.slot_g + 0, "link to a used block");
    corrupt_link(&f, &node_at(&f, leaf)->child[0], 2 * f.slot_g + 1, "link into a hole's middle");
    corrupt_link(&f, &node_at(&f, leaf)->parent, leaf, "wrong parent");
    corrupt_link(&f, &rn->parent, leaf, "root with a parent");
    corrupt_link(&f, &rn->tree, t + 1, "node claims another tree");
    corrupt_link(&f, &f.h->idx.root[t], leaf, "root is a leaf");
    corrupt_link(&f, &f.h->idx.root[t], span_g, "root outside the heap");
    corrupt_link(&f, &f.h->idx.map[t / 32], f.h->idx.map[t / 32] & ~(1u << t % 32), "map bit cleared");
    if (rn->child[0] != HH_NIL && rn->child[1] != HH_NIL) { /* swapped subtrees: off their paths */
        uint32_t c0 = rn->child[0];
        rn->child[0] = rn->child[1];
        rn->child[1] = c0;
        assert_corrupt(&f, "children swapped");
        rn->child[1] = rn->child[0];
        rn->child[0] = c0;
        assert_verifies(&f);
    }
    fake_close(&f);
}

/* A walk that meets a broken link reports it, sets the tree aside and hands
 * out nothing from it; the other trees go on serving. */
static void test_damage_sets_tree_aside(void **state)
{
    fake f = corruption_fixture();
    uint32_t t = class_tree(&f), root = f.h->idx.root[t];
    (void)state;
    node_at(&f, root)->child[0] = 1 * f.slot_g; /* a used block as a child */
    node_at(&f, root)->child[1] = 1 * f.slot_g;
    size_t before = reports;
    for (uint32_t want = 2; want < FIRST_LARGE_G + 16; want++) {
        tag *got = idx_best_fit(f.h, want);
        assert_true(got == NULL || (tag_is_hole(got) && tag_size_g(got) >= want));
        assert_true(got == NULL || tag_size_g(got) < FIRST_LARGE_G); /* never from the damaged tree */
    }
    assert_true(reports > before);
    assert_int_equal(last_report_code, HH_E_INDEX);
    assert_int_equal(idx_verify(f.h, NULL), HH_E_INDEX);
    assert_false(idx_insert(f.h, hole_tag(&f, 2))); /* nothing is linked into it again */
    fake_close(&f);
}

/* Rewrite the header of the hole at pos with another size (sealed: only the
 * index can tell), expect verify to fail, put it back. */
static void corrupt_size(const fake *f, uint32_t pos, uint32_t size_g, const char *why)
{
    tag *t = block_at(f->h, pos);
    tag saved = *t, saved_footer;
    t->word = size_g << 2 | TAG_HOLE;
    t->seal = tag_seal(f->h, t->word, pos);
    saved_footer = *block_footer(t);
    *block_footer(t) = *t;
    assert_corrupt(f, why);
    *block_footer(t) = saved_footer;
    *t = saved;
    assert_verifies(f);
}

/* The bins: their trees, bitmap bits and sizes. */
static void test_corrupt_bins(void **state)
{
    fake f = corruption_fixture();
    uint32_t *bin = &f.h->idx.root[6 - 2];    /* slots 4 and 40: holes of 6 granules */
    uint32_t *other = &f.h->idx.root[10 - 2]; /* slots 8 and 44: holes of 10 */
    uint32_t *empty = &f.h->idx.root[HH_INDEX_BINS - 1];
    uint32_t root = *bin, leaf = leaf_under(&f, root);
    idx_node *rn = node_at(&f, root);
    uint32_t *child = rn->child[0] != HH_NIL ? &rn->child[0] : &rn->child[1];
    uint32_t *map = f.h->idx.map;
    uint32_t span_g = (uint32_t)((size_t)(f.h->end - f.h->base) / HH_GRANULE);
    (void)state;
    assert_true(root != leaf && *child == leaf);
    assert_int_equal(*empty, HH_NIL);

    corrupt_link(&f, child, span_g + 5, "bin link outside the heap");
    corrupt_link(&f, child, *other, "bin link to another bin's hole");
    corrupt_link(&f, child, f.h->idx.root[class_tree(&f)], "bin link into a class tree");
    corrupt_link(&f, child, HH_NIL, "bin node lost");
    corrupt_link(&f, &node_at(&f, leaf)->child[0], root, "bin cycle back to its root");
    corrupt_link(&f, &node_at(&f, leaf)->parent, leaf, "bin node's wrong parent");
    corrupt_link(&f, bin, leaf, "bin root is its leaf");
    corrupt_link(&f, bin, HH_NIL, "bin emptied, its bit still set");
    corrupt_link(&f, bin, *other, "bin root in another bin");
    corrupt_link(&f, &map[0], map[0] & ~(1u << (6 - 2)), "bin bit cleared");
    corrupt_link(&f, &map[(HH_INDEX_BINS - 1) / 32], map[(HH_INDEX_BINS - 1) / 32] | 1u << 31,
                 "an empty bin's bit set");
    corrupt_link(&f, empty, 4 * f.slot_g, "an empty bin's root set");

    corrupt_size(&f, 4 * f.slot_g, 7, "bin holds a hole of another size");
    corrupt_size(&f, 4 * f.slot_g, FIRST_LARGE_G + 1, "bin holds a large hole");
    corrupt_size(&f, leaf_under(&f, f.h->idx.root[class_tree(&f)]), FIRST_LARGE_G - 1, "class tree holds a bin's size");
    /* The first class in use spans sizes below FIRST_LARGE_G, which are the bins': at its root no key bit
     * shows them (their size bits are the class's), only the size's range does. */
    corrupt_size(&f, f.h->idx.root[class_tree(&f)], FIRST_LARGE_G - 1, "class root holds a bin's size");
    corrupt_size(&f, f.h->idx.root[class_tree(&f)], FIRST_LARGE_G - 2, "class root holds a bin's size");

    /* A bin's root holds the bin's key width in its parent word (its mark:
     * the width, its complement and two top bits). */
    uint32_t mark = rn->parent, width = mark & 63u;
    assert_true(width >= 1 && width <= f.h->idx.pos_bits && (mark >> 30) == 3u);
    corrupt_link(&f, &rn->parent, mark ^ 1u, "bin width changed by one bit");
    corrupt_link(&f, &rn->parent, mark ^ 1u << 8, "bin width's complement changed");
    corrupt_link(&f, &rn->parent, HH_NIL, "bin root with a class's mark");
    corrupt_link(&f, &rn->parent, (mark & ~0x3F3Fu) | 63u << 8, "bin width 0");
    corrupt_link(&f, &rn->parent, (mark & ~0x3F3Fu) | 31u, "bin width past pos_bits");
    corrupt_link(&f, &rn->parent, (mark & ~0x3F3Fu) | (~1u & 63u) << 8 | 1u, "bin width too narrow for its keys");
    corrupt_link(&f, &node_at(&f, root == leaf ? *other : leaf)->parent, mark, "a node that is not a root with a mark");
    fake_close(&f);
}

/* Bins keep narrow key widths: a new bin's trie takes the bits of its first
 * position (and one more), and widens one bit at a time (a leaf moves to the
 * top) when a hole lies beyond them: inserts at ever higher positions, then
 * removals, every step verified and matched against the reference. */
static void test_bin_widths(void **state)
{
    enum { SLOTS = 4096, SLOT_G = 4 };
    fake f = fake_open(small_buf, sizeof small_buf, SLOT_G, SLOTS);
    uint32_t *bin = &f.h->idx.root[0];
    (void)state;
    add_hole(&f, 1, 2);
    uint32_t narrow = node_at(&f, *bin)->parent & 63u;
    assert_true(narrow < f.h->idx.pos_bits);
    for (uint32_t i = 2; i < SLOTS; i *= 2) {
        add_hole(&f, i + 1, 2);
        add_hole(&f, i, 2);
        assert_matches(&f);
    }
    assert_true((node_at(&f, *bin)->parent & 63u) > narrow);
    assert_true((node_at(&f, *bin)->parent & 63u) <= f.h->idx.pos_bits);
    for (uint32_t k = 0; k < 2000; k++) {
        uint32_t i = rng() % SLOTS;
        if (f.size_g[i] != 0)
            drop_hole(&f, i);
        else
            add_hole(&f, i, 2);
        if (k % 50 == 0)
            assert_matches(&f);
    }
    for (uint32_t i = 0; i < SLOTS; i++)
        if (f.size_g[i] != 0)
            drop_hole(&f, i);
    assert_int_equal(*bin, HH_NIL);
    add_hole(&f, SLOTS - 1, 2); /* an empty bin starts again from its first key */
    assert_matches(&f);
    fake_close(&f);
}
#else
static void test_corrupt_slots(void **state)
{
    fake f = corruption_fixture();
    uint32_t *slots = f.h->idx.slots;
    uint32_t span_g = (uint32_t)((size_t)(f.h->end - f.h->base) / HH_GRANULE);
    uint32_t s0 = slots[0], s1 = slots[1];
    (void)state;
    slots[1] = span_g + 3;
    assert_corrupt(&f, "slot outside the heap");
    slots[1] = 1 * f.slot_g;
    assert_corrupt(&f, "slot names a used block");
    slots[1] = s0;
    assert_corrupt(&f, "a hole twice");
    slots[0] = s1;
    assert_corrupt(&f, "out of order");
    slots[0] = s0;
    slots[1] = s1;
    assert_verifies(&f);
    f.h->idx.count = f.h->idx.capacity + 1;
    assert_corrupt(&f, "count over capacity");
    fake_close(&f);
}

/* Full (only possible if storage was undersized): insert writes nothing. */
static void test_full_table_writes_nothing(void **state)
{
    fake f = fake_open(small_buf, sizeof small_buf, 16, 8);
    uint32_t *slots = f.h->idx.slots;
    (void)state;
    add_hole(&f, 0, 3);
    add_hole(&f, 2, 5);
    f.h->idx.capacity = 2;
    slots[2] = 0xA5A5A5A5u;
    slot_write(&f, 4, 2);
    size_t before = reports;
    assert_false(idx_insert(f.h, slot_tag(&f, 4)));
    assert_int_equal(reports, before + 1); /* reported, and the table set aside */
    assert_int_equal(slots[2], 0xA5A5A5A5u);
    assert_int_equal(idx_count(f.h), 2);
    assert_false(idx_contains(f.h, slot_tag(&f, 4)));
    assert_int_equal(idx_verify(f.h, NULL), HH_E_INDEX);
    fake_close(&f);
}
#endif

/* ---- random scribbles: verify stays in bounds and notices every change ---- */

/* A bad value for a link or slot: anything, inside the heap, another hole. */
static uint32_t scribble_value(const fake *f)
{
    uint32_t span_g = f->slot_g * f->nslots;
    switch (rng() % 5) {
    case 0: return rng();
    case 1: return rng() % span_g;
    case 2: return (rng() % f->nslots) * f->slot_g; /* a slot: hole or block */
    case 3: return HH_NIL;
    default: return rng() % 64;
    }
}

#ifndef HH_INDEX_TABLE
/* Any 32-bit word the index's structure lives in: a node's four, a tree's
 * root (used or empty: mostly bins of sizes 2..10, or the class tree), a
 * bitmap word. */
static uint32_t *scribble_target(const fake *f)
{
    uint32_t i = 2 * (rng() % (f->nslots / 2)); /* the fixture's holes */
    idx_node *n = block_payload(slot_tag(f, i));
    switch (rng() % 16) {
    case 0: return &f->h->idx.root[class_tree(f)];
    case 1:
    case 2: return &f->h->idx.root[rng() % 12];
    case 3: return &f->h->idx.map[rng() % IDX_MAP_WORDS];
    default: return &((uint32_t *)(void *)n)[rng() % 4];
    }
}
#else
static uint32_t *scribble_target(const fake *f) { return &f->h->idx.slots[rng() % f->h->idx.count]; }
#endif

/* Every word changed to any other value must be caught (for the table too:
 * its slots hold exactly the indexed holes, so a changed slot either leaves
 * the heap, names no hole, or repeats a key), and verify must stay inside the
 * heap while it looks (ASan watches the sanitizer build). */
static void test_random_scribbles(void **state)
{
    fake f = corruption_fixture();
    uint32_t tried = 0;
    (void)state;
    for (uint32_t k = 0; k < 20000; k++) {
        uint32_t *word = scribble_target(&f);
        uint32_t saved = *word, bad = scribble_value(&f);
        if (bad == saved)
            continue;
        tried++;
        *word = bad;
        if (idx_verify(f.h, NULL) != HH_E_INDEX)
            fail_msg("scribble %u: %#x -> %#x at %p not caught", k, saved, bad, (void *)word);
        *word = saved;
    }
    print_message("scribbles: %u changes, all caught\n", tried);
    assert_true(tried > 15000);
    assert_matches(&f);
    fake_close(&f);
}

/* This file is built with HH_ASSERTS: a broken precondition traps at once
 * instead of being coped with silently. A child process writes a tag of an
 * impossible size (8 bytes: less than a block, not a granule) and must die
 * of SIGILL; a sound tag in the same place must not trap. */
static int exit_of_tag_write(fake *f, size_t size)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGILL, SIG_DFL); /* cmocka's handler would resume the tests in the child */
        tag_write(f->h, slot_tag(f, 0), size, TAG_HOLE);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

static void test_assertions_trap(void **state)
{
    (void)state;
    fake f = corruption_fixture();
    assert_int_equal(exit_of_tag_write(&f, 8), SIGILL);
    assert_int_equal(exit_of_tag_write(&f, (size_t)f.slot_g * HH_GRANULE), 0);
    fake_close(&f);
}

static void test_storage_bound(void **state)
{
    (void)state;
#ifdef HH_INDEX_TABLE
    /* room for max_span/64 + 1 holes, whatever the span */
    for (size_t span = 0; span < 100000; span += 16)
        assert_true(idx_storage_bytes(span) / sizeof(uint32_t) >= span / 64 + 1);
    assert_true(idx_storage_bytes(HH_MAX_SPAN) / sizeof(uint32_t) >= HH_MAX_SPAN / 64 + 1);
#else
    assert_int_equal(idx_storage_bytes(HH_MAX_SPAN), 0);
#endif
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_ties_exact_and_no_fit),
        cmocka_unit_test(test_insert_twice_is_reported),
#ifndef HH_INDEX_TABLE
        cmocka_unit_test(test_insert_over_node_like_bytes),
#endif
        cmocka_unit_test(test_orders_and_rotations),
        cmocka_unit_test(test_bin_boundaries),
        cmocka_unit_test(test_bin_ties),
        cmocka_unit_test(test_replace_between_bins_and_tree),
        cmocka_unit_test(test_random_against_reference),
        cmocka_unit_test(test_random_small_sizes_and_replace),
        cmocka_unit_test(test_million_holes),
        cmocka_unit_test(test_corrupt_seal),
        cmocka_unit_test(test_corrupt_count),
#ifndef HH_INDEX_TABLE
        cmocka_unit_test(test_corrupt_links),
        cmocka_unit_test(test_damage_sets_tree_aside),
        cmocka_unit_test(test_corrupt_bins),
        cmocka_unit_test(test_bin_widths),
#else
        cmocka_unit_test(test_corrupt_slots),
        cmocka_unit_test(test_full_table_writes_nothing),
#endif
        cmocka_unit_test(test_random_scribbles),
        cmocka_unit_test(test_assertions_trap),
        cmocka_unit_test(test_storage_bound),
    };
    int status = select_tests(argc, argv, tests, sizeof tests / sizeof tests[0]);
    if (status >= 0)
        return status;
    return cmocka_run_group_tests_name("index (" IMPL ")", tests, NULL, NULL);
}
