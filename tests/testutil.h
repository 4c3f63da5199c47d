/*
 * Helpers shared by holeheap's tests: a problem recorder for on_error, a
 * seeded random generator, per-block byte patterns, and heap walks.
 * Everything is static so that each test program includes it once.
 */
#ifndef HH_TESTUTIL_H
#define HH_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "holeheap.h"

/* ---- problems reported through on_error ---- */

typedef struct problem_log {
    size_t count;
    int last_code;
    const void *last_where;
    const char *last_what;
    int lock_depth_seen; /* lock depth when on_error last ran (see lock_probe) */
} problem_log;

static inline void problem_log_record(void *ctx, const hh_problem *p)
{
    problem_log *log = ctx;
    log->count++;
    log->last_code = p->code;
    log->last_where = p->where;
    log->last_what = p->what;
}

static inline void problem_log_reset(problem_log *log) { memset(log, 0, sizeof *log); }

/* ---- a small deterministic generator (xorshift64*) ---- */

typedef struct rng {
    uint64_t s;
} rng;

static inline rng rng_seeded(uint64_t seed)
{
    rng r = {seed * 0x9E3779B97F4A7C15u + 0x2545F4914F6CDD1Du};
    if (r.s == 0)
        r.s = 1;
    return r;
}

static inline uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Du;
}

/* Uniform in [0, n), n > 0. */
static inline size_t rng_below(rng *r, size_t n) { return (size_t)(rng_next(r) % n); }

static inline size_t rng_range(rng *r, size_t lo, size_t hi) { return lo + rng_below(r, hi - lo + 1); }

/* ---- per-block byte patterns ---- */

static inline unsigned char pattern_byte(uint32_t seed, size_t i)
{
    return (unsigned char)(seed + (uint32_t)i * 7u + (uint32_t)(i >> 8) * 13u);
}

static inline void pattern_fill(void *p, size_t n, uint32_t seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(seed, i);
}

/* Index of the first byte that differs from the pattern, or n if none. */
static inline size_t pattern_mismatch(const void *p, size_t n, uint32_t seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(seed, i))
            return i;
    return n;
}

static inline bool all_bytes_are(const void *p, size_t n, unsigned char v)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != v)
            return false;
    return true;
}

/* ---- the block size the layout gives a request (src/tag.h) ---- */

/* Header and footer included, a multiple of 16, at least 32. */
static inline size_t block_bytes_for(size_t request)
{
    size_t b = (request + HH_OVERHEAD + 15) & ~(size_t)15;
    return b < 32 ? 32 : b;
}

/* ---- heap walks ---- */

typedef struct walk_summary {
    size_t spans, blocks, holes;
    size_t block_bytes, hole_bytes, largest_hole;
    const char *first_start; /* first span's header: the arena's start */
    const char *end;         /* end of the last span */
    bool contiguous;         /* every span starts where the previous one ended */
} walk_summary;

static inline int walk_summary_visit(void *ctx, const hh_span *s)
{
    walk_summary *w = ctx;
    const char *start = s->start;
    if (w->spans == 0)
        w->first_start = start;
    else if (start != w->end)
        w->contiguous = false;
    w->end = start + s->size;
    w->spans++;
    if (s->is_hole) {
        w->holes++;
        w->hole_bytes += s->size;
        if (s->size > w->largest_hole)
            w->largest_hole = s->size;
    } else {
        w->blocks++;
        w->block_bytes += s->size;
    }
    return 0;
}

/* Summarise the heap; returns hh_walk's result (0 when the walk completed). */
static inline int walk_summarise(hh_heap *h, walk_summary *w)
{
    memset(w, 0, sizeof *w);
    w->contiguous = true;
    return hh_walk(h, walk_summary_visit, w);
}

/* Up to `cap` spans of the heap, in address order. */
typedef struct span_list {
    hh_span *spans;
    size_t count, cap;
} span_list;

static inline int span_list_visit(void *ctx, const hh_span *s)
{
    span_list *l = ctx;
    if (l->count == l->cap)
        return 1;
    l->spans[l->count++] = *s;
    return 0;
}

static inline size_t span_list_fill(hh_heap *h, hh_span *spans, size_t cap)
{
    span_list l = {spans, 0, cap};
    hh_walk(h, span_list_visit, &l);
    return l.count;
}

/* The arena's first block header (what offsets are measured from). */
static inline const char *heap_first_span(hh_heap *h)
{
    walk_summary w;
    walk_summarise(h, &w);
    return w.first_start;
}

/* ---- the walk against the statistics ---- */

/* Why a walk of h and hh_stats_get disagree, or NULL when they agree: the
 * walk reaches the heap's end (every tag sound, the tags' chain unbroken);
 * its spans follow each other from `first` (NULL: not checked) to the
 * epilogue fence, whose 8 bytes end the region [mem, mem + region_bytes)
 * (mem NULL: not checked; one region only); its blocks are the heap's
 * blocks and used bytes; its holes (the front's cached blocks among them)
 * hold the free bytes, and are at least the heap's holes. */
static inline const char *walk_stats_disagree(hh_heap *h, const void *mem, const void *first)
{
    walk_summary w;
    hh_stats st;
    if (walk_summarise(h, &w) != 0)
        return "the walk stopped before the heap's end";
    hh_stats_get(h, &st);
    if (!w.contiguous || w.spans == 0)
        return "the walk's spans do not follow each other";
    if (first && w.first_start != first)
        return "the walk does not start at the heap's first span";
    if (mem && w.end + HH_OVERHEAD / 2 != (const char *)mem + st.region_bytes)
        return "the walk does not end at the epilogue fence, 8 bytes before the region's end";
    if (w.blocks != st.blocks || w.block_bytes != st.used_bytes)
        return "the walk's blocks are not the statistics' blocks and used bytes";
    if (w.hole_bytes != st.free_bytes || w.holes < st.holes || w.largest_hole < st.largest_hole)
        return "the walk's holes are not the statistics' free bytes and holes";
    return NULL;
}

#endif /* HH_TESTUTIL_H */
