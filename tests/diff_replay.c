/*
 * diff_replay: the differential test of the two hole indexes.
 *
 * One program, linked once against the fast index and once against the
 * ordered table (-DHH_INDEX_TABLE). It replays a seeded random sequence of
 * alloc / aligned alloc / realloc / free and prints every result as an offset
 * from the heap's first block, then the final map (every span's offset, size
 * and kind). Both indexes implement exact best fit (smallest hole, lowest
 * address among equals), so the two outputs must be byte-identical: mk/tests.mk
 * compares them with cmp.
 *
 * Both builds must see the same arena: the table build keeps its slots in the
 * region, so the region is sized until the arena has exactly the bytes asked
 * for, and placed so that the first payload is aligned to MAX_ALIGN (aligned
 * allocations then fall at the same offsets). With "grow", the heap starts at
 * GROW_START bytes and grows and shrinks through tests/growbuf.h up to
 * ARENA_BYTES past its first block, in both builds alike; the trace then also
 * ends with the callbacks' totals.
 *
 *   diff_replay SEED OPS [grow]   (hh_check == 0 is asserted every CHECK_EVERY ops)
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "growbuf.h"
#include "holeheap.h"
#include "testutil.h"

#define ARENA_BYTES ((size_t)4 << 20)
#define MAX_ALIGN ((size_t)1 << 16)
#define GROW_START ((size_t)256 << 10)
#define POOL_BYTES (ARENA_BYTES + ((size_t)2 << 20))
#define MAX_LIVE 400
#define CHECK_EVERY 1000

static alignas(1 << 17) unsigned char pool[POOL_BYTES];
static growbuf gb;

typedef struct replay {
    hh_heap *h;
    const char *base; /* the first block's header: offsets are measured from here */
    rng r;
    void *live[MAX_LIVE];
    size_t nlive;
} replay;

static void fail(const char *what, unsigned long long op)
{
    fprintf(stderr, "FAIL diff_replay op %llu: %s\n", op, what);
    exit(1);
}

typedef struct placement {
    size_t shift, size, max_size; /* region at pool + shift, its size, max_size (0: none) */
} placement;

static hh_heap *heap_start(const placement *pl, bool grow)
{
    hh_options o = {.flags = HH_STRICT}; /* no front: every request goes through the index compared */
    if (grow) {
        growbuf_start(&gb, pool + pl->shift, pl->max_size, pl->size);
        o.grow = growbuf_grow, o.shrink = growbuf_shrink, o.ctx = &gb, o.max_size = pl->max_size;
    }
    return hh_init(pool + pl->shift, pl->size, &o);
}

/* Start a heap in the pool whose arena is exactly `arena` bytes, whose first
 * payload is MAX_ALIGN-aligned and (growing) whose arena may reach exactly
 * ARENA_BYTES, whatever the build keeps beside the arena. */
static hh_heap *heap_place(size_t arena_wanted, bool grow, const char **base)
{
    placement pl = {0, arena_wanted + 4096, grow ? ARENA_BYTES + 8192 : 0};
    for (int tries = 0; tries < 32; tries++) {
        hh_heap *h = heap_start(&pl, grow);
        if (!h)
            fail("hh_init refused the region", 0);
        walk_summary w;
        walk_summarise(h, &w);
        size_t arena = w.hole_bytes + w.block_bytes;
        size_t lead = (size_t)(w.first_start - (const char *)(pool + pl.shift));
        size_t payload = pl.shift + lead + 8;
        size_t max_size = grow ? lead + ARENA_BYTES + 8 : 0;
        if (arena == arena_wanted && payload % MAX_ALIGN == 0 && max_size == pl.max_size) {
            *base = w.first_start;
            return h;
        }
        pl.size = pl.size + arena_wanted - arena;
        pl.shift = (pl.shift + MAX_ALIGN - payload % MAX_ALIGN) % MAX_ALIGN;
        pl.max_size = max_size;
        if (pl.shift + pl.size + pl.max_size > POOL_BYTES)
            fail("cannot place the heap in the pool", 0);
    }
    fail("no region size gives the arena asked for", 0);
    return NULL;
}

static size_t size_of_some_kind(rng *r)
{
    size_t k = rng_below(r, 64);
    if (k < 12)
        return rng_below(r, 33); /* tiny, 0 included */
    if (k < 20)
        return 16 * rng_range(r, 1, 8); /* exact granules */
    if (k < 34)
        return rng_range(r, 33, 512); /* small */
    if (k < 46)
        return rng_range(r, 513, 8192); /* medium */
    if (k < 54)
        return 4096 * rng_range(r, 1, 8) - 16; /* page-sized blocks */
    if (k < 61)
        return rng_range(r, 8193, 64 << 10); /* large */
    if (k < 63)
        return (size_t)1 << rng_below(r, 19); /* powers of two */
    return rng_range(r, 64 << 10, 1 << 20);   /* very large */
}

static long long offset_of(const replay *R, const void *p) { return p ? (long long)((const char *)p - R->base) : -1; }

static void keep(replay *R, void *p)
{
    if (p)
        R->live[R->nlive++] = p;
}

static void drop(replay *R, size_t i) { R->live[i] = R->live[--R->nlive]; }

static void step(replay *R, unsigned long long op)
{
    size_t k = rng_below(&R->r, 100);
    bool full = R->nlive == MAX_LIVE;
    if (op % 10000 < 600) /* now and then, mostly frees: the heap empties and can shrink */
        k = k < 10 ? k : 80 + k % 20;
    if (R->nlive == 0 || (!full && k < 40)) {
        size_t size = size_of_some_kind(&R->r);
        void *p = hh_alloc(R->h, size);
        printf("%llu alloc %zu -> %lld\n", op, size, offset_of(R, p));
        keep(R, p);
    } else if (!full && k < 55) {
        size_t size = size_of_some_kind(&R->r);
        size_t align = (size_t)1 << rng_range(&R->r, 4, 16);
        void *p = hh_alloc_aligned(R->h, size, align);
        printf("%llu aligned %zu %zu -> %lld\n", op, size, align, offset_of(R, p));
        keep(R, p);
    } else if (k < 75) {
        size_t i = rng_below(&R->r, R->nlive);
        size_t size = size_of_some_kind(&R->r);
        void *q = hh_realloc(R->h, R->live[i], size);
        printf("%llu realloc %lld %zu -> %lld\n", op, offset_of(R, R->live[i]), size, offset_of(R, q));
        if (q)
            R->live[i] = q;
        else if (size == 0)
            drop(R, i);
    } else {
        size_t i = rng_below(&R->r, R->nlive);
        printf("%llu free %lld\n", op, offset_of(R, R->live[i]));
        hh_free(R->h, R->live[i]);
        drop(R, i);
    }
}

static const char *map_base;

static int print_span(void *ctx, const hh_span *s)
{
    (void)ctx;
    printf("span %lld %zu %s\n", (long long)((const char *)s->start - map_base), s->size,
           s->is_hole ? "hole" : "block");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "grow"))) {
        fprintf(stderr, "usage: %s SEED OPS [grow]\n", argv[0]);
        return 2;
    }
    bool grow = argc == 4;
    replay R = {0};
    R.r = rng_seeded(strtoull(argv[1], NULL, 0));
    unsigned long long ops = strtoull(argv[2], NULL, 0);
    R.h = heap_place(grow ? GROW_START : ARENA_BYTES, grow, &R.base);
    printf("arena %zu%s\n", grow ? GROW_START : ARENA_BYTES, grow ? " growing" : "");
    for (unsigned long long op = 1; op <= ops; op++) {
        step(&R, op);
        hh_problem pr;
        if (op % CHECK_EVERY == 0 && hh_check(R.h, &pr) != 0)
            fail(pr.what, op);
        if (hh_problem_count(R.h) != 0)
            fail("a valid call reported a problem", op);
    }
    hh_problem pr;
    if (hh_check(R.h, &pr) != 0)
        fail(pr.what, ops);
    map_base = R.base;
    if (hh_walk(R.h, print_span, NULL) != 0)
        fail("the final walk stopped", ops);
    hh_stats s;
    hh_stats_get(R.h, &s);
    printf("stats used %zu free %zu blocks %zu holes %zu largest %zu peak %zu\n", s.used_bytes, s.free_bytes, s.blocks,
           s.holes, s.largest_hole, s.peak_used_bytes);
    if (grow) {
        printf("grow calls %zu granted %zu largest ask %zu; shrink calls %zu released %zu\n", gb.grow_calls, gb.granted,
               gb.max_min_bytes, gb.shrink_calls, gb.released);
        if (gb.bad_calls)
            fail("a callback was called away from the heap's end", ops);
        growbuf_finish(&gb);
    }
    return 0;
}
