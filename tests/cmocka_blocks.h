/*
 * Block helpers for the cmocka test programs: allocate a block and fill it
 * with a seeded pattern, and assert that the pattern survived. Include after
 * <cmocka.h> and "testutil.h".
 */
#ifndef HH_CMOCKA_BLOCKS_H
#define HH_CMOCKA_BLOCKS_H

/* The heap's totals, all zero if the call is refused. */
static inline hh_stats stats_of(hh_heap *h)
{
    hh_stats s;
    memset(&s, 0, sizeof s);
    hh_stats_get(h, &s);
    return s;
}

static inline void *alloc_filled(hh_heap *h, size_t size, uint32_t seed)
{
    void *p = hh_alloc(h, size);
    assert_non_null(p);
    pattern_fill(p, size, seed);
    return p;
}

static inline void assert_pattern(const void *p, size_t size, uint32_t seed)
{
    assert_int_equal(pattern_mismatch(p, size, seed), size);
}

#endif /* HH_CMOCKA_BLOCKS_H */
