/*
 * Helpers for the cmocka test programs: a strict heap, its totals, hh_check
 * asserted to pass, and blocks filled with a seeded pattern that is asserted
 * to survive. Include after <cmocka.h> and "testutil.h".
 */
#ifndef HH_CMOCKA_BLOCKS_H
#define HH_CMOCKA_BLOCKS_H

/* A heap in strict mode (no front) over [region, region+size), its problems
 * logged into log (reset), consistent from the start. */
static inline hh_heap *strict_heap(void *region, size_t size, uint32_t flags, problem_log *log)
{
    hh_options o = {.on_error = problem_log_record, .ctx = log, .flags = flags | HH_STRICT};
    problem_log_reset(log);
    hh_heap *h = hh_init(region, size, &o);
    assert_non_null(h);
    assert_int_equal(hh_check(h, NULL), 0);
    return h;
}

/* hh_check finds the heap consistent; else the test fails, naming the problem. */
static inline void assert_consistent(hh_heap *h)
{
    hh_problem pr = {0};
    int rc = hh_check(h, &pr);
    if (rc != HH_OK)
        fail_msg("hh_check: %s: %s", hh_code_name(rc), pr.what ? pr.what : "-");
}

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
