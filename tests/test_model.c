/*
 * test_model: model-based random test of holeheap.
 *
 * A reference model (every live block: pointer, size asked, byte-pattern seed)
 * runs beside a heap in a static region. Random alloc / aligned alloc / calloc
 * / realloc / free with a mix of sizes (tiny, medium, large, and now and then
 * huge ones that must fail), plus a little misuse (interior pointers) that must
 * be reported and change nothing. Every block is filled with its pattern; the
 * pattern is verified when the block is reallocated or freed, and for every
 * live block at each full check, so every byte must survive all other
 * operations. Every --check-every operations: hh_check == 0, blocks disjoint
 * and inside the region, stats equal to the model. After every operation:
 * hh_check_near == 0 over the last RECENT pointers the operations handed out,
 * moved, freed or misused (most of them stale: it must skip those).
 *
 *   test_model [--seed N] [--ops N] [--check-every N] [--poison]
 * --poison turns HH_POISON on (slower: frees fill holes). Exit status 0 on success; on failure it
 * prints the seed and operation number to reproduce.
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "holeheap.h"
#include "testutil.h"

#define REGION_BYTES ((size_t)16 << 20)
#define LIVE_BYTES_CAP ((size_t)8 << 20)
#define MAX_LIVE 2048
#define FULL_VERIFY_EVERY 20000u
#define RECENT 64u

/* Aligned beyond every alignment asked, so that a seed replays exactly. */
static alignas(1 << 17) unsigned char region[REGION_BYTES];

typedef struct live_block {
    unsigned char *p;
    size_t size;
    uint32_t seed;
} live_block;

typedef struct model {
    hh_heap *h;
    rng r;
    live_block live[MAX_LIVE];
    size_t nlive, live_bytes;
    size_t expected_problems;
    problem_log log;
    unsigned long long op;
    const char *op_name; /* the operation in progress, for failure messages */
    const void *op_ptr;
    size_t op_size;
    uint64_t seed;
    /* what happened, for the summary */
    unsigned long long allocs, frees, reallocs, fails, huge, misuses, checks;
    size_t peak_live;
    const void *recent[RECENT]; /* pointers the operations touched, for hh_check_near */
    unsigned long long touched;
} model;

static model M;

static void die(const char *what, const void *where)
{
    hh_problem pr = {0};
    int rc = hh_check(M.h, &pr);
    fprintf(stderr, "FAIL test_model seed %llu op %llu (%s %p size %zu): %s (address %p); hh_check: %s %s\n",
            (unsigned long long)M.seed, M.op, M.op_name, M.op_ptr, M.op_size, what, where, hh_code_name(rc),
            pr.what ? pr.what : "");
    exit(1);
}

/* ---- sizes ---- */

static size_t size_tiny(void) { return rng_range(&M.r, 0, 64); }
static size_t size_medium(void) { return rng_range(&M.r, 65, 2048); }
static size_t size_large(void) { return rng_range(&M.r, 2049, 64 << 10); }
static size_t size_very_large(void) { return rng_range(&M.r, 64 << 10, 512 << 10); }

static size_t size_any(void)
{
    size_t k = rng_below(&M.r, 1000);
    if (k < 500)
        return size_tiny();
    if (k < 850)
        return size_medium();
    if (k < 975)
        return size_large();
    return size_very_large();
}

/* A size that can never be served by this heap; *reported: HH_E_BAD_SIZE expected. */
static size_t size_huge(bool *reported)
{
    size_t k = rng_below(&M.r, 3);
    *reported = k == 0;
    if (k == 0)
        return SIZE_MAX - rng_below(&M.r, 64);
    return REGION_BYTES + rng_below(&M.r, REGION_BYTES);
}

/* ---- model bookkeeping ---- */

static void expect_no_new_problem(void)
{
    if (M.log.count != M.expected_problems)
        die(hh_code_name(M.log.last_code), M.log.last_where);
}

static void expect_one_problem(int code)
{
    M.expected_problems++;
    if (M.log.count != M.expected_problems || M.log.last_code != code)
        die(M.log.count != M.expected_problems ? "expected a reported problem that did not come"
                                               : hh_code_name(M.log.last_code),
            M.log.last_where);
}

static void verify_block(const live_block *b)
{
    size_t bad = pattern_mismatch(b->p, b->size, b->seed);
    if (bad != b->size)
        die("a live block's bytes changed", b->p + bad);
}

static void check_new_block(unsigned char *p, size_t size, size_t align)
{
    if (((uintptr_t)p & 15u) != 0 || ((uintptr_t)p & (align - 1)) != 0)
        die("misaligned block", p);
    if (p < region || p + size > region + REGION_BYTES)
        die("block outside the region", p);
    if (hh_usable_size(M.h, p) < size)
        die("usable size below the size asked", p);
}

static void add_live(unsigned char *p, size_t size)
{
    live_block *b = &M.live[M.nlive++];
    b->p = p;
    b->size = size;
    b->seed = (uint32_t)rng_next(&M.r);
    pattern_fill(p, size, b->seed);
    M.live_bytes += size;
    if (M.nlive > M.peak_live)
        M.peak_live = M.nlive;
}

static void touch(const void *p) { M.recent[M.touched++ % RECENT] = p; }

static void drop_live(size_t i)
{
    touch(M.live[i].p);
    M.live_bytes -= M.live[i].size;
    M.live[i] = M.live[--M.nlive];
}

/* ---- operations ---- */

static void op_alloc(size_t size, size_t align)
{
    M.op_name = align ? "alloc_aligned" : "alloc", M.op_ptr = (void *)align, M.op_size = size;
    unsigned char *p = align ? hh_alloc_aligned(M.h, size, align) : hh_alloc(M.h, size);
    expect_no_new_problem();
    M.allocs++;
    if (!p) {
        M.fails++;
        return;
    }
    check_new_block(p, size, align ? align : 16);
    add_live(p, size);
    touch(p);
}

static void op_calloc(void)
{
    size_t size = size_any();
    size_t n = 1 + rng_below(&M.r, 8);
    size /= n;
    M.op_name = "calloc", M.op_ptr = NULL, M.op_size = n * size;
    unsigned char *p = hh_calloc(M.h, n, size);
    expect_no_new_problem();
    M.allocs++;
    if (!p) {
        M.fails++;
        return;
    }
    check_new_block(p, n * size, 16);
    if (!all_bytes_are(p, n * size, 0))
        die("calloc memory not zeroed", p);
    add_live(p, n * size);
    touch(p);
}

static void op_huge(void)
{
    bool reported;
    size_t size = size_huge(&reported);
    M.op_name = "huge", M.op_ptr = NULL, M.op_size = size;
    void *p = rng_below(&M.r, 2) ? hh_alloc(M.h, size) : hh_alloc_aligned(M.h, size, 64);
    if (p)
        die("an impossible size was served", p);
    if (reported)
        expect_one_problem(HH_E_BAD_SIZE);
    else
        expect_no_new_problem();
    M.huge++;
}

static void op_free(size_t i)
{
    M.op_name = "free", M.op_ptr = M.live[i].p, M.op_size = M.live[i].size;
    verify_block(&M.live[i]);
    hh_free(M.h, M.live[i].p);
    expect_no_new_problem();
    drop_live(i);
    M.frees++;
}

static void op_realloc(size_t i)
{
    live_block *b = &M.live[i];
    verify_block(b);
    size_t size = rng_below(&M.r, 4) == 0 ? b->size / 2 : size_any();
    M.op_name = "realloc", M.op_ptr = b->p, M.op_size = size;
    unsigned char *q = hh_realloc(M.h, b->p, size);
    expect_no_new_problem();
    M.reallocs++;
    if (size == 0) { /* realloc(p, 0) frees p */
        if (q)
            die("realloc to 0 returned a block", q);
        drop_live(i);
        return;
    }
    if (!q) {
        M.fails++;
        verify_block(b); /* untouched on failure */
        return;
    }
    check_new_block(q, size, 16);
    size_t kept = size < b->size ? size : b->size;
    size_t bad = pattern_mismatch(q, kept, b->seed);
    if (bad != kept)
        die("realloc lost the block's contents", q + bad);
    for (size_t j = kept; j < size; j++) /* extend the same pattern */
        q[j] = pattern_byte(b->seed, j);
    M.live_bytes += size - b->size;
    touch(b->p);
    touch(q);
    b->p = q;
    b->size = size;
}

/* An interior or misaligned pointer into a live block's pattern bytes:
 * reported as a bad pointer, nothing changes. (Past the size asked, the slack
 * may hold a stale tag, so offsets stay inside the pattern.) */
static void op_misuse(size_t i)
{
    live_block *b = &M.live[i];
    size_t off = b->size >= 16 ? 16 * (1 + rng_below(&M.r, b->size / 16)) : 1 + rng_below(&M.r, 15);
    M.op_name = "free(interior)", M.op_ptr = b->p + off, M.op_size = b->size;
    hh_free(M.h, b->p + off);
    expect_one_problem(HH_E_BAD_POINTER);
    touch(b->p + off);
    M.misuses++;
}

static void step(void)
{
    size_t k = rng_below(&M.r, 1000);
    bool must_free = M.nlive == MAX_LIVE || M.live_bytes > LIVE_BYTES_CAP;
    if (M.nlive == 0 || (!must_free && k < 300)) {
        op_alloc(size_any(), 0);
    } else if (!must_free && k < 380) {
        op_alloc(size_any(), (size_t)1 << rng_below(&M.r, 17));
    } else if (!must_free && k < 430) {
        op_calloc();
    } else if (!must_free && k < 434) {
        op_huge();
    } else if (k < 630) {
        op_realloc(rng_below(&M.r, M.nlive));
    } else if (k < 638) {
        op_misuse(rng_below(&M.r, M.nlive));
    } else {
        op_free(rng_below(&M.r, M.nlive));
    }
}

/* ---- full checks ---- */

static int by_address(const void *a, const void *b)
{
    const unsigned char *x = ((const live_block *)a)->p, *y = ((const live_block *)b)->p;
    return x < y ? -1 : x > y;
}

static void check_disjoint_and_stats(void)
{
    static live_block sorted[MAX_LIVE];
    memcpy(sorted, M.live, M.nlive * sizeof *sorted);
    qsort(sorted, M.nlive, sizeof *sorted, by_address);
    size_t used = 0, asked = 0;
    for (size_t i = 0; i < M.nlive; i++) {
        size_t usable = hh_usable_size(M.h, sorted[i].p);
        used += usable + HH_OVERHEAD;
        asked += sorted[i].size;
        if (i + 1 < M.nlive && sorted[i].p + usable + HH_OVERHEAD > sorted[i + 1].p)
            die("two live blocks overlap", sorted[i + 1].p);
    }
    hh_stats s;
    hh_stats_get(M.h, &s);
    if (s.blocks != M.nlive)
        die("stats: block count differs from the model", NULL);
    if (s.used_bytes != used || s.used_bytes < asked + M.nlive * HH_OVERHEAD)
        die("stats: used bytes differ from the model's blocks", NULL);
    if (s.peak_used_bytes < s.used_bytes || s.used_bytes + s.free_bytes > s.region_bytes)
        die("stats: peak or totals inconsistent", NULL);
}

static void full_check(bool verify_all)
{
    hh_problem pr;
    M.op_name = "full check", M.op_ptr = NULL, M.op_size = 0;
    if (hh_check(M.h, &pr) != 0)
        die(pr.what, pr.where);
    check_disjoint_and_stats();
    if (verify_all)
        for (size_t i = 0; i < M.nlive; i++)
            verify_block(&M.live[i]);
    M.checks++;
}

/* The quick check finds nothing in a sound heap, whatever became of the
 * pointers it is given. */
static void near_check(void)
{
    hh_problem pr;
    size_t n = M.touched < RECENT ? (size_t)M.touched : RECENT;
    if (hh_check_near(M.h, M.recent, n, &pr) != 0) {
        M.op_name = "hh_check_near", M.op_ptr = NULL, M.op_size = n;
        die(pr.what, pr.where);
    }
}

/* ---- driver ---- */

typedef struct args {
    uint64_t seed;
    unsigned long long ops, check_every;
    bool poison;
} args;

static args parse_args(int argc, char **argv)
{
    args a = {1, 2000000, 1000, false};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--poison")) {
            a.poison = true;
        } else if (i + 1 < argc && !strcmp(argv[i], "--seed")) {
            a.seed = strtoull(argv[++i], NULL, 0);
        } else if (i + 1 < argc && !strcmp(argv[i], "--ops")) {
            a.ops = strtoull(argv[++i], NULL, 0);
        } else if (i + 1 < argc && !strcmp(argv[i], "--check-every")) {
            a.check_every = strtoull(argv[++i], NULL, 0);
        } else {
            fprintf(stderr, "usage: %s [--seed N] [--ops N] [--check-every N] [--poison]\n", argv[0]);
            exit(2);
        }
    }
    if (a.check_every == 0)
        a.check_every = 1;
    return a;
}

int main(int argc, char **argv)
{
    args a = parse_args(argc, argv);
    M.seed = a.seed;
    M.r = rng_seeded(a.seed);
    hh_options o = {
        .on_error = problem_log_record,
        .ctx = &M.log,
        .key = (uint32_t)rng_next(&M.r),
        .flags = a.poison ? HH_POISON : 0,
    };
    M.h = hh_init(region, REGION_BYTES, &o);
    if (!M.h)
        die("hh_init failed", region);
    clock_t t0 = clock();
    for (M.op = 1; M.op <= a.ops; M.op++) {
        step();
        near_check();
        if (M.op % a.check_every == 0)
            full_check(M.op % FULL_VERIFY_EVERY == 0);
    }
    full_check(true);
    while (M.nlive > 0)
        op_free(M.nlive - 1);
    full_check(true);
    hh_stats s;
    hh_stats_get(M.h, &s);
    if (s.blocks != 0 || s.used_bytes != 0)
        die("an empty heap still holds blocks", NULL);
    hh_trim(M.h); /* the front's blocks merge back */
    full_check(true);
    hh_stats_get(M.h, &s);
    if (s.blocks != 0 || s.holes != 1 || s.used_bytes != 0 || s.cached_bytes != 0)
        die("an empty heap is not one hole after hh_trim", NULL);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("test_model seed %llu%s: %llu ops (%llu allocs of which %llu found no room, %llu impossible sizes refused, "
           "%llu reallocs, %llu frees, %llu misuses reported), %llu full checks, peak %zu live blocks, "
           "peak used %zu bytes, %.1f s\n",
           (unsigned long long)a.seed, o.flags ? " poison" : "", a.ops, M.allocs, M.fails, M.huge, M.reallocs, M.frees,
           M.misuses, M.checks, M.peak_live, s.peak_used_bytes, secs);
    return 0;
}
