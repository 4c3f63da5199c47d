/*
 * test_canary: canary mode (HH_CANARY). Every byte between a block's
 * requested size and its footer is damaged in turn, and free, realloc,
 * hh_usable_size and hh_check must each report it with the block and the
 * byte's offset, refuse the call and leave the heap as it was. realloc
 * (shrinking, growing in place, moving), aligned allocation, calloc and the
 * front must keep the canary where the new request ends. Built per core
 * variant (the table build defines HH_INDEX_TABLE for the white-box layout).
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "holeheap.h"
#include "tag.h" /* white box: where a block's payload ends */
#include "testutil.h"
#include "cmocka_blocks.h"

#define REGION ((size_t)256 << 10)
#define MAX_REQUEST 100u /* requests 0..MAX_REQUEST cover every slack the rounding leaves */

static alignas(4096) unsigned char region[REGION];

/* Every problem reported, the last one in full (its block too). */
typedef struct reports {
    size_t count;
    hh_problem last;
} reports;

static reports seen;

static void record(void *ctx, const hh_problem *p)
{
    reports *r = ctx;
    r->count++;
    r->last = *p;
}

static hh_heap *canary_heap(uint32_t more_flags)
{
    hh_options o = {.on_error = record, .ctx = &seen, .flags = HH_CANARY | more_flags, .key = 0x1234567u};
    memset(&seen, 0, sizeof seen);
    hh_heap *h = hh_init(region, REGION, &o);
    assert_non_null(h);
    return h;
}

/* Bytes from the payload's start to the block's footer: the request, the
 * fill and the record all lie before it. */
static size_t payload_room(const void *p) { return tag_size(payload_block(p)) - HH_OVERHEAD; }

static size_t blocks_of(hh_heap *h)
{
    hh_stats s;
    hh_stats_get(h, &s);
    return s.blocks;
}

/* The last report names block p and its byte at `offset`, code HH_E_CORRUPT. */
static void assert_reported(size_t count, const void *p, size_t offset)
{
    assert_int_equal(seen.count, count);
    assert_int_equal(seen.last.code, HH_E_CORRUPT);
    assert_ptr_equal(seen.last.block, p);
    assert_int_equal((const unsigned char *)seen.last.where - (const unsigned char *)p, offset);
}

static void assert_check_finds(hh_heap *h, const void *p, size_t offset)
{
    hh_problem pr;
    assert_int_equal(hh_check(h, &pr), HH_E_CORRUPT);
    assert_ptr_equal(pr.block, p);
    assert_int_equal((const unsigned char *)pr.where - (const unsigned char *)p, offset);
    assert_non_null(strstr(pr.what, "I14"));
}

typedef enum { AT_FREE, AT_REALLOC, AT_USABLE_SIZE, AT_CHECK } call_kind;

/* Damage byte `offset` of block p (of n requested bytes) and make the call:
 * it must report the block and the offset and change nothing; with the byte
 * restored the heap is sound again. */
static void damage_is_caught(hh_heap *h, unsigned char *p, size_t n, size_t offset, call_kind call)
{
    size_t count = seen.count, blocks = blocks_of(h);
    p[offset] ^= 0x5A;
    switch (call) {
    case AT_FREE: hh_free(h, p); break;
    case AT_REALLOC: assert_null(hh_realloc(h, p, n + 64)); break;
    case AT_USABLE_SIZE: assert_int_equal(hh_usable_size(h, p), 0); break;
    case AT_CHECK:
        assert_check_finds(h, p, offset);
        count--; /* hh_check reports through its result, not on_error */
        break;
    }
    if (call != AT_CHECK)
        assert_reported(count + 1, p, offset);
    assert_int_equal(blocks_of(h), blocks); /* the call did nothing */
    p[offset] ^= 0x5A;
    assert_int_equal(hh_check(h, NULL), 0);
    assert_pattern(p, n, (uint32_t)n);
}

/* For every request 0..MAX_REQUEST, every byte from the request to the
 * footer, damaged alone. */
static void every_byte_past_request_caught(call_kind call)
{
    hh_heap *h = canary_heap(0);
    for (size_t n = 0; n <= MAX_REQUEST; n++) {
        unsigned char *p = alloc_filled(h, n, (uint32_t)n);
        void *guard = hh_alloc(h, 16); /* p does not merge into the free space */
        assert_int_equal(hh_usable_size(h, p), n);
        for (size_t offset = n; offset < payload_room(p); offset++)
            damage_is_caught(h, p, n, offset, call);
        size_t count = seen.count;
        hh_free(h, p);
        hh_free(h, guard);
        assert_int_equal(seen.count, count); /* intact: freed without a word */
    }
    assert_int_equal(hh_check(h, NULL), 0);
}

static void every_byte_caught_at_free(void **state)
{
    (void)state;
    every_byte_past_request_caught(AT_FREE);
}

static void every_byte_caught_at_realloc(void **state)
{
    (void)state;
    every_byte_past_request_caught(AT_REALLOC);
}

static void every_byte_caught_at_usable_size(void **state)
{
    (void)state;
    every_byte_past_request_caught(AT_USABLE_SIZE);
}

static void every_byte_caught_by_check(void **state)
{
    (void)state;
    every_byte_past_request_caught(AT_CHECK);
}

/* The first byte past the request and the last before the footer of block p,
 * each caught by hh_check; the request's own last byte is the program's. */
static void canary_guards(hh_heap *h, unsigned char *p, size_t n)
{
    assert_int_equal(hh_usable_size(h, p), n);
    if (n)
        p[n - 1] = (unsigned char)(p[n - 1] ^ 0xFF);
    assert_int_equal(hh_check(h, NULL), 0);
    if (n)
        p[n - 1] = (unsigned char)(p[n - 1] ^ 0xFF);
    assert_int_equal(hh_check(h, NULL), 0);
    size_t last = payload_room(p) - 1;
    p[n] ^= 0x01;
    assert_check_finds(h, p, n);
    p[n] ^= 0x01;
    p[last] ^= 0x80;
    assert_check_finds(h, p, last);
    p[last] ^= 0x80;
    assert_int_equal(hh_check(h, NULL), 0);
}

/* Each pair of sizes in turn: the contents up to the smaller survive, and
 * the canary follows the new request (shrink in place, grow in place into
 * the hole after the block, and a move past a block that stays). */
static void realloc_keeps_canary_at_new_request(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 40, 47, 64, 100, 300, 1000, 5000};
    size_t k = sizeof sizes / sizeof sizes[0];
    for (uint32_t strict = 0; strict < 2; strict++) {
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < k; j++) {
                if (sizes[j] == 0)
                    continue; /* realloc to 0 frees */
                for (int pinned = 0; pinned < 2; pinned++) {
                    hh_heap *h = canary_heap(strict ? HH_STRICT : 0);
                    unsigned char *p = alloc_filled(h, sizes[i], 7);
                    void *pin = pinned ? hh_alloc(h, 8) : NULL; /* forces growth to move */
                    unsigned char *q = hh_realloc(h, p, sizes[j]);
                    assert_non_null(q);
                    size_t kept = sizes[i] < sizes[j] ? sizes[i] : sizes[j];
                    assert_pattern(q, kept, 7);
                    canary_guards(h, q, sizes[j]);
                    hh_free(h, q);
                    hh_free(h, pin);
                    assert_int_equal(seen.count, 0);
                    assert_int_equal(hh_check(h, NULL), 0);
                }
            }
        }
    }
}

static void aligned_blocks_keep_canary(void **state)
{
    (void)state;
    static const size_t aligns[] = {16, 32, 64, 256, 4096};
    hh_heap *h = canary_heap(0);
    void *spacer = hh_alloc(h, 40); /* so that alignment needs a gap */
    for (size_t a = 0; a < sizeof aligns / sizeof aligns[0]; a++) {
        for (size_t n = 0; n <= 70; n += 7) {
            unsigned char *p = hh_alloc_aligned(h, n, aligns[a]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % aligns[a], 0);
            pattern_fill(p, n, (uint32_t)n);
            canary_guards(h, p, n);
            damage_is_caught(h, p, n, n, AT_FREE);
            hh_free(h, p);
        }
    }
    hh_free(h, spacer);
    assert_int_equal(seen.count, 5 * 11);
    assert_int_equal(hh_check(h, NULL), 0);
}

static void calloc_zeroes_request_and_guards_past_it(void **state)
{
    (void)state;
    hh_heap *h = canary_heap(0);
    for (size_t n = 1; n <= 9; n++) {
        for (size_t size = 1; size <= 9; size++) {
            unsigned char *p = hh_calloc(h, n, size);
            assert_non_null(p);
            assert_true(all_bytes_are(p, n * size, 0));
            pattern_fill(p, n * size, (uint32_t)(n * size));
            canary_guards(h, p, n * size);
            damage_is_caught(h, p, n * size, n * size, AT_REALLOC);
            hh_free(h, p);
        }
    }
    assert_int_equal(seen.count, 81);
}

/* Blocks that wait in the front and come back for another request of their
 * size get the new request's canary. */
static void front_reuse_rewrites_canary(void **state)
{
    (void)state;
    hh_heap *h = canary_heap(0);
    void *guard = hh_alloc(h, 16);
    unsigned char *p = hh_alloc(h, 40);
    void *after = hh_alloc(h, 16);
    hh_free(h, p); /* between two blocks: it waits in the front */
    hh_stats s;
    hh_stats_get(h, &s);
    assert_int_equal(s.cached_bytes, tag_size(payload_block(p)));
    unsigned char *q = hh_alloc(h, 35); /* the same block size */
    assert_ptr_equal(q, p);
    pattern_fill(q, 35, 35);
    canary_guards(h, q, 35);
    damage_is_caught(h, q, 35, 35, AT_FREE);
    damage_is_caught(h, q, 35, 39, AT_FREE);
    hh_free(h, q);
    hh_free(h, guard);
    hh_free(h, after);
    assert_int_equal(seen.count, 2);
    assert_int_equal(hh_check(h, NULL), 0);
}

/* A record copied from another block of the same size does not pass: it is
 * keyed by the block's position. */
static void record_copied_from_another_block_is_caught(void **state)
{
    (void)state;
    hh_heap *h = canary_heap(0);
    unsigned char *a = alloc_filled(h, 20, 1);
    unsigned char *b = alloc_filled(h, 20, 2);
    size_t rec = payload_room(a) - 8;
    memcpy(b + rec, a + rec, 8);
    hh_problem pr;
    assert_int_equal(hh_check(h, &pr), HH_E_CORRUPT);
    assert_ptr_equal(pr.block, b);
    hh_free(h, b);
    assert_int_equal(seen.count, 1);
    assert_ptr_equal(seen.last.block, b);
    hh_free(h, a);
}

/* Without the flag the slack is the program's: usable size is the whole
 * payload and nothing there is checked (so the tests above test the mode). */
static void without_flag_slack_is_usable(void **state)
{
    (void)state;
    hh_options o = {.on_error = record, .ctx = &seen};
    memset(&seen, 0, sizeof seen);
    hh_heap *h = hh_init(region, REGION, &o);
    unsigned char *p = hh_alloc(h, 20);
    assert_int_equal(hh_usable_size(h, p), payload_room(p));
    memset(p, 0x77, payload_room(p));
    assert_int_equal(hh_check(h, NULL), 0);
    hh_free(h, p);
    assert_int_equal(seen.count, 0);
}

/* Other problems keep problem.block NULL. */
static void other_problems_name_no_block(void **state)
{
    (void)state;
    hh_heap *h = canary_heap(0);
    void *p = hh_alloc(h, 20);
    hh_free(h, p);
    hh_free(h, p);
    assert_int_equal(seen.last.code, HH_E_DOUBLE_FREE);
    assert_null(seen.last.block);
    hh_problem pr;
    memset(&pr, 0xFF, sizeof pr);
    assert_int_equal(hh_check(h, &pr), 0);
    assert_null(pr.block);
}

/* tag_mix undone: xorshifts and products by odd constants invert. */
static uint32_t odd_inverse(uint32_t c)
{
    uint32_t x = c; /* Newton's iteration doubles the correct low bits */
    for (int i = 0; i < 5; i++)
        x *= 2u - c * x;
    return x;
}
static uint32_t unmix(uint32_t x)
{
    x ^= x >> 16;
    x *= odd_inverse(0x846CA68Bu);
    x ^= x >> 15 ^ x >> 30;
    x *= odd_inverse(0x7FEB352Du);
    x ^= x >> 16;
    return x;
}
static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* A program that knows its request reads the record's mask; that must not
 * undo to a derived secret by one inverted mix, as it did when the record
 * was { slack ^ mix(seal ^ link_key), mix(slack + key2) ^ seal }. */
static void canary_record_gives_no_secret(void **state)
{
    (void)state;
    hh_heap *h = canary_heap(0);
    const struct hh_heap *c = (const struct hh_heap *)h;
    assert_int_equal(unmix(tag_mix(0xDEADBEEFu)), 0xDEADBEEFu);
    for (size_t n = 1; n <= MAX_REQUEST; n++) {
        unsigned char *p = hh_alloc(h, n);
        assert_non_null(p);
        assert_int_equal(hh_usable_size(h, p), n); /* the record holds */
        const unsigned char *rec = p + payload_room(p) - 8;
        uint32_t slack = (uint32_t)(payload_room(p) - 8 - n), seal = payload_block(p)->seal;
        uint32_t pad = le32(rec) ^ slack;
        assert_int_not_equal(unmix(pad), seal ^ c->link_key);
        assert_int_not_equal(unmix(le32(rec + 4) ^ seal) - slack, c->key2);
        assert_int_equal(le32(rec + 4), tag_mix(slack + pad) ^ seal); /* the check word */
    }
    assert_int_equal(seen.count, 0);
}

/* ---- the prune attack on the pad of an earlier version ---- */

/* The pad was mix(mix1(seal ^ L) + K2), so unmix(pad) = mix1(seal ^ L) + K2
 * and differences of two blocks cancel K2. mix1's low t+1 output bits
 * depend only on the low 16 + t input bits (after its xorshift by 16, L's
 * two halves meet as one 16-bit value D), so L is guessed 16 bits at once
 * and then one bit at a time, each guess kept only while every block's
 * difference agrees in the bits it fixes. */
#define PRUNE_BLOCKS 48

typedef struct prune {
    uint32_t seal[PRUNE_BLOCKS], u[PRUNE_BLOCKS];
} prune;

/* mix1(seal ^ L) mod 2^(t+1) agrees with u's differences, L's half-xor
 * being d and its high half's low t bits `high`. */
static bool prune_consistent(const prune *pr, uint32_t d, uint32_t high, unsigned t)
{
    uint32_t out_mask = t >= 31 ? ~0u : (1u << (t + 1)) - 1u, high_mask = t >= 16 ? 0xFFFFu : (1u << t) - 1u;
    uint32_t first = 0;
    for (int i = 0; i < PRUNE_BLOCKS; i++) {
        uint32_t s = pr->seal[i], lo = ((s ^ s >> 16) ^ d) & 0xFFFFu, hi = ((s >> 16) ^ high) & high_mask;
        uint32_t x = (lo | hi << 16) * 0x7FEB352Du;
        x ^= x >> 15;
        if (i == 0)
            first = x;
        else if (((x - first) & out_mask) != ((pr->u[i] - pr->u[0]) & out_mask))
            return false;
    }
    return true;
}

static bool prune_extend(const prune *pr, uint32_t d, uint32_t high, unsigned t, uint32_t *link_key)
{
    if (t == 16) {
        uint32_t l = high << 16 | ((d ^ high) & 0xFFFFu);
        for (int i = 1; i < PRUNE_BLOCKS; i++)
            if (tag_mix1(pr->seal[i] ^ l) - tag_mix1(pr->seal[0] ^ l) != pr->u[i] - pr->u[0])
                return false;
        *link_key = l;
        return true;
    }
    for (uint32_t bit = 0; bit < 2; bit++)
        if (prune_consistent(pr, d, high | bit << t, t + 1) && prune_extend(pr, d, high | bit << t, t + 1, link_key))
            return true;
    return false;
}

/* The attack: does it give back (link_key, key2)? */
static bool prune_recovers(const prune *pr, const struct hh_heap *c)
{
    uint32_t l = 0;
    for (uint32_t d = 0; d <= 0xFFFFu; d++)
        if (prune_consistent(pr, d, 0, 0) && prune_extend(pr, d, 0, 0, &l))
            return l == c->link_key && pr->u[0] - tag_mix1(pr->seal[0] ^ l) == c->key2;
    return false;
}

/* The attack recovers both secrets from the earlier pad (computed here from
 * the heap's own secrets, so the test shows it works), and nothing from the
 * records the heap writes now. */
static void canary_record_resists_prune_attack(void **state)
{
    (void)state;
    hh_heap *h = canary_heap(0);
    const struct hh_heap *c = (const struct hh_heap *)h;
    prune now, before;
    for (int i = 0; i < PRUNE_BLOCKS; i++) {
        size_t n = 1 + (size_t)i * 37 % 200;
        unsigned char *p = hh_alloc(h, n);
        assert_non_null(p);
        const unsigned char *rec = p + payload_room(p) - 8;
        uint32_t slack = (uint32_t)(payload_room(p) - 8 - n), seal = payload_block(p)->seal;
        now.seal[i] = before.seal[i] = seal;
        now.u[i] = unmix(le32(rec) ^ slack); /* what the program reads */
        before.u[i] = unmix(tag_mix(tag_mix1(seal ^ c->link_key) + c->key2));
    }
    assert_true(prune_recovers(&before, c));
    assert_false(prune_recovers(&now, c));
    assert_int_equal(seen.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_byte_caught_at_free),
        cmocka_unit_test(every_byte_caught_at_realloc),
        cmocka_unit_test(every_byte_caught_at_usable_size),
        cmocka_unit_test(every_byte_caught_by_check),
        cmocka_unit_test(realloc_keeps_canary_at_new_request),
        cmocka_unit_test(aligned_blocks_keep_canary),
        cmocka_unit_test(calloc_zeroes_request_and_guards_past_it),
        cmocka_unit_test(front_reuse_rewrites_canary),
        cmocka_unit_test(record_copied_from_another_block_is_caught),
        cmocka_unit_test(without_flag_slack_is_usable),
        cmocka_unit_test(other_problems_name_no_block),
        cmocka_unit_test(canary_record_gives_no_secret),
        cmocka_unit_test(canary_record_resists_prune_attack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
