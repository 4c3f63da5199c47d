/*
 * test_faults (issue 9, item 3): fault injection and a lock checker.
 *
 * Fault injection: one deterministic workload (allocations, aligned ones,
 * reallocs that grow at the end, frees that trim, hh_trim) on a heap that
 * grows and shrinks over tests/growbuf.h. A reference run counts its grow and
 * shrink calls; then, for every call k in turn, the workload runs again with
 * call k misbehaving: grow fails, grow gives 16 bytes less than asked, shrink
 * refuses, shrink gives back only part, shrink claims more than offered.
 * After every operation the heap must pass hh_check, every live block keep
 * its bytes, a failed call return NULL (realloc: its block untouched), the
 * heap span no byte the callbacks did not give it, and exactly the broken
 * contracts (short grow, lying shrink) be reported, as HH_E_CALLBACK.
 *
 * The lock checker: lock and unlock callbacks that count and track depth.
 * Every public call, on its normal path and each of its error paths, must
 * lock and unlock in pairs (once, or not at all for the calls documented to
 * read without the lock), never nest, run grow, shrink and on_error with the
 * lock held, and call on_error exactly as include/holeheap.h says: once per
 * detected problem, never for a plain out-of-memory, never from hh_check,
 * and not at all when the control block itself is found overwritten.
 */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "growbuf.h"
#include "holeheap.h"
#include "index.h" /* idx_storage_bytes: the table build keeps its slots in the region */
#include "heap.h"  /* white box: the control block's gate and lock seal, for two lock cases */
#include "tag.h"   /* HH_GRANULE */
#include "testutil.h"
#include "cmocka_select.h"

#define BUF_BYTES ((size_t)4 << 20)
#define INITIAL ((size_t)32 << 10)
#define MAX_LIVE 48
#define WORKLOAD_OPS 80

static alignas(4096) unsigned char buf[BUF_BYTES];

/* ================================================================ fault injection */

typedef enum fault {
    FAULT_NONE,
    FAULT_GROW_FAIL,     /* grow returns 0 */
    FAULT_GROW_SHORT,    /* grow returns 16 bytes less than asked: a broken contract */
    FAULT_SHRINK_REFUSE, /* shrink returns 0 */
    FAULT_SHRINK_PART,   /* shrink gives back about half, whole pages */
    FAULT_SHRINK_LIE,    /* shrink claims 16 bytes more than offered: a broken contract */
    FAULT_KINDS
} fault;

static const char *const fault_name[FAULT_KINDS] = {"none",           "grow fails",        "grow gives less",
                                                    "shrink refuses", "shrink gives part", "shrink claims more"};

typedef struct fault_env {
    growbuf gb; /* first: the growbuf callbacks take the env as their growbuf */
    fault kind;
    size_t at; /* the call of the kind's callback that misbehaves (1-based) */
    size_t grows, shrinks;
    bool fired;
    problem_log log;
} fault_env;

static bool is_grow_fault(fault k) { return k == FAULT_GROW_FAIL || k == FAULT_GROW_SHORT; }

static size_t fault_grow(void *ctx, void *end, size_t min_bytes)
{
    fault_env *e = ctx;
    e->grows++;
    if (!is_grow_fault(e->kind) || e->grows != e->at)
        return growbuf_grow(&e->gb, end, min_bytes);
    e->fired = true;
    if (e->kind == FAULT_GROW_FAIL)
        return 0;
    e->gb.mode = GROW_SHORT;
    e->gb.short_by = 16;
    size_t n = growbuf_grow(&e->gb, end, min_bytes);
    e->gb.mode = GROW_EXACT;
    return n;
}

static size_t fault_shrink(void *ctx, void *new_end, size_t bytes)
{
    fault_env *e = ctx;
    e->shrinks++;
    if (is_grow_fault(e->kind) || e->kind == FAULT_NONE || e->shrinks != e->at)
        return growbuf_shrink(&e->gb, new_end, bytes);
    e->fired = true;
    if (e->kind == FAULT_SHRINK_REFUSE)
        return 0;
    if (e->kind == FAULT_SHRINK_LIE)
        return bytes + 16;
    size_t half = bytes / 2 / HH_GRANULE * HH_GRANULE; /* the top half: growbuf gives whole pages of it */
    return growbuf_shrink(&e->gb, (unsigned char *)new_end + bytes - half, half);
}

static void env_on_error(void *ctx, const hh_problem *p) { problem_log_record(&((fault_env *)ctx)->log, p); }

typedef struct live {
    unsigned char *p;
    size_t n;
    uint32_t seed;
} live;

typedef struct run {
    fault_env env;
    hh_heap *h;
    rng r;
    live blocks[MAX_LIVE];
    size_t nlive;
    uint32_t seeds;
    size_t nulls; /* calls that returned NULL */
} run;

static run R; /* large: static, one run at a time */

static void run_start(fault kind, size_t at, uint32_t flags)
{
    memset(&R, 0, sizeof R);
    size_t initial = INITIAL + ((idx_storage_bytes(BUF_BYTES) + 4095) & ~(size_t)4095);
    growbuf_start(&R.env.gb, buf, BUF_BYTES, initial);
    R.env.kind = kind;
    R.env.at = at;
    hh_options o = {.grow = fault_grow,
                    .shrink = fault_shrink,
                    .on_error = env_on_error,
                    .ctx = &R.env,
                    .max_size = BUF_BYTES,
                    .key = 0x5EEDu,
                    .flags = flags};
    R.h = hh_init(buf, initial, &o);
    assert_non_null(R.h);
    R.r = rng_seeded(91);
}

/* ---- what must hold after every operation ---- */

static void assert_blocks_intact(void)
{
    for (size_t i = 0; i < R.nlive; i++)
        assert_int_equal(pattern_mismatch(R.blocks[i].p, R.blocks[i].n, R.blocks[i].seed), R.blocks[i].n);
}

/* The heap spans only bytes grow gave it: [buf, buf + committed). */
static void assert_within_committed(void)
{
    hh_stats s;
    hh_stats_get(R.h, &s);
    assert_true(s.region_bytes <= R.env.gb.committed);
}

/* Only the broken contracts are reported, once each, as HH_E_CALLBACK. */
static void assert_reports(void)
{
    bool broken = R.env.fired && (R.env.kind == FAULT_GROW_SHORT || R.env.kind == FAULT_SHRINK_LIE);
    assert_int_equal(R.env.log.count, broken ? 1 : 0);
    if (broken)
        assert_int_equal(R.env.log.last_code, HH_E_CALLBACK);
}

static void assert_sound(const char *op)
{
    hh_problem pr;
    int rc = hh_check(R.h, &pr);
    if (rc != HH_OK)
        fail_msg("%s (k=%zu) after %s: hh_check %s: %s", fault_name[R.env.kind], R.env.at, op, hh_code_name(rc),
                 pr.what);
    assert_blocks_intact();
    assert_within_committed();
    assert_reports();
}

/* ---- the workload ---- */

static void keep(unsigned char *p, size_t n)
{
    live *b = &R.blocks[R.nlive++];
    b->p = p;
    b->n = n;
    b->seed = ++R.seeds;
    pattern_fill(p, n, b->seed);
}

static void drop(size_t i) { R.blocks[i] = R.blocks[--R.nlive]; }

static size_t workload_size(void)
{
    size_t k = rng_below(&R.r, 10);
    return k < 4   ? rng_range(&R.r, 1, 600)
           : k < 8 ? rng_range(&R.r, 4 << 10, 96 << 10)
                   : rng_range(&R.r, 200 << 10, 700 << 10);
}

static void op_alloc(bool aligned)
{
    size_t n = workload_size();
    size_t align = (size_t)1 << rng_range(&R.r, 5, 16);
    unsigned char *p = aligned ? hh_alloc_aligned(R.h, n, align) : hh_alloc(R.h, n);
    if (!p) {
        R.nulls++;
        return;
    }
    assert_int_equal((uintptr_t)p % (aligned ? align : 16), 0);
    keep(p, n);
}

/* Realloc a block to a new size: NULL leaves it as it was. */
static void op_realloc(size_t i)
{
    live *b = &R.blocks[i];
    size_t n = rng_below(&R.r, 3) ? b->n + workload_size() : rng_range(&R.r, 1, b->n);
    unsigned char *q = hh_realloc(R.h, b->p, n);
    if (!q) {
        R.nulls++;
        return; /* assert_sound verifies its bytes */
    }
    size_t kept = n < b->n ? n : b->n;
    assert_int_equal(pattern_mismatch(q, kept, b->seed), kept);
    b->p = q;
    b->n = n;
    pattern_fill(q, n, b->seed);
}

static void workload_step(void)
{
    size_t k = rng_below(&R.r, 100);
    if (R.nlive && (k < 35 || R.nlive == MAX_LIVE)) {
        size_t i = rng_below(&R.r, R.nlive);
        hh_free(R.h, R.blocks[i].p);
        drop(i);
    } else if (k < 45 && R.nlive) {
        op_realloc(rng_below(&R.r, R.nlive));
    } else if (k < 55) {
        hh_trim(R.h);
    } else {
        op_alloc(k < 65);
    }
}

static void workload(fault kind, size_t at, uint32_t flags)
{
    run_start(kind, at, flags);
    for (int i = 0; i < WORKLOAD_OPS; i++) {
        workload_step();
        assert_sound("a call");
    }
    while (R.nlive) {
        hh_free(R.h, R.blocks[R.nlive - 1].p);
        drop(R.nlive - 1);
    }
    hh_trim(R.h);
    assert_sound("freeing everything and hh_trim");
    growbuf_finish(&R.env.gb);
}

/* Run the workload once with each call of the kind's callback failing in
 * turn; returns the calls that gave NULL over all those runs. */
static size_t each_call_fails(fault kind, size_t calls, uint32_t flags)
{
    size_t nulls = 0;
    for (size_t k = 1; k <= calls; k++) {
        workload(kind, k, flags);
        if (!R.env.fired)
            fail_msg("%s at call %zu: the call never came", fault_name[kind], k);
        nulls += R.nulls;
    }
    return nulls;
}

static void faults_with_flags(uint32_t flags, const char *label)
{
    workload(FAULT_NONE, 0, flags);
    size_t grows = R.env.grows, shrinks = R.env.shrinks, nulls = R.nulls;
    assert_true(grows >= 8); /* the workload must exercise both callbacks */
    assert_true(shrinks >= 4);
    size_t runs = 0, fault_nulls = 0;
    for (int f = FAULT_GROW_FAIL; f < FAULT_KINDS; f++) {
        size_t calls = is_grow_fault((fault)f) ? grows : shrinks;
        fault_nulls += each_call_fails((fault)f, calls, flags);
        runs += calls;
    }
    assert_true(fault_nulls > nulls); /* failed growth must have failed some calls */
    printf("[ faults  ] %s: %zu grow and %zu shrink calls a run; %zu runs with one call misbehaving, each "
           "consistent after every step; %zu calls returned NULL (%zu without faults)\n",
           label, grows, shrinks, runs, fault_nulls, nulls);
}

static void faults_default(void **state)
{
    (void)state;
    faults_with_flags(0, "default");
}
static void faults_strict(void **state)
{
    (void)state;
    faults_with_flags(HH_STRICT, "HH_STRICT");
}
static void faults_poison(void **state)
{
    (void)state;
    faults_with_flags(HH_POISON, "HH_POISON");
}

/* ================================================================ the lock checker */

typedef struct lock_check {
    growbuf gb; /* first, for the growbuf callbacks */
    int depth;
    size_t locks, unlocks, nested, stray_unlocks;
    size_t errors, errors_unlocked, callbacks_unlocked;
    int last_code;
    size_t count_in_on_error; /* hh_problem_count read inside on_error */
} lock_check;

static lock_check L;

static void lc_lock(void *ctx)
{
    lock_check *c = ctx;
    c->locks++;
    if (++c->depth > 1)
        c->nested++;
}

static void lc_unlock(void *ctx)
{
    lock_check *c = ctx;
    c->unlocks++;
    if (c->depth-- != 1)
        c->stray_unlocks++;
}

static hh_heap *lc_heap; /* the heap under test, for on_error's own reads */

static void lc_on_error(void *ctx, const hh_problem *p)
{
    lock_check *c = ctx;
    c->errors++;
    c->errors_unlocked += c->depth != 1;
    c->last_code = p->code;
    c->count_in_on_error = hh_problem_count(lc_heap); /* reads without the lock: must not deadlock or nest */
}

static size_t lc_grow(void *ctx, void *end, size_t min_bytes)
{
    L.callbacks_unlocked += L.depth != 1;
    return growbuf_grow(ctx, end, min_bytes);
}

static size_t lc_shrink(void *ctx, void *new_end, size_t bytes)
{
    L.callbacks_unlocked += L.depth != 1;
    return growbuf_shrink(ctx, new_end, bytes);
}

/* A fresh locked heap that can grow, with `flags`. */
static hh_heap *lc_start(uint32_t flags)
{
    memset(&L, 0, sizeof L);
    memset(buf, 0, sizeof buf); /* no tag of an earlier heap with the same key stays behind */
    size_t initial = INITIAL + ((idx_storage_bytes(BUF_BYTES) + 4095) & ~(size_t)4095);
    growbuf_start(&L.gb, buf, BUF_BYTES, initial);
    hh_options o = {.grow = lc_grow,
                    .shrink = lc_shrink,
                    .lock = lc_lock,
                    .unlock = lc_unlock,
                    .on_error = lc_on_error,
                    .ctx = &L,
                    .max_size = BUF_BYTES,
                    .flags = flags};
    lc_heap = hh_init(buf, initial, &o);
    assert_non_null(lc_heap);
    return lc_heap;
}

/* One case: a call on a prepared heap, the locks it takes (0 or 1), the
 * problems it reports through on_error (0 or 1) and their code. */
typedef struct lock_case {
    const char *name;
    void (*call)(hh_heap *h, unsigned char *a, unsigned char *b);
    size_t locks, errors;
    int code;
    uint32_t flags;
} lock_case;

static void call_alloc(hh_heap *h, unsigned char *a, unsigned char *b) { (void)a, (void)b, (void)hh_alloc(h, 100); }
static void call_alloc_grows(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_alloc(h, 200 << 10);
}
static void call_alloc_huge(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_alloc(h, SIZE_MAX);
}
static void call_alloc_oom(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_alloc(h, BUF_BYTES);
}
static void call_aligned(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_alloc_aligned(h, 100, 4096);
}
static void call_aligned_bad(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_alloc_aligned(h, 100, 48);
}
static void call_aligned_huge(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_alloc_aligned(h, SIZE_MAX, 64);
}
static void call_calloc(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_calloc(h, 10, 10);
}
static void call_calloc_overflow(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_calloc(h, SIZE_MAX / 2, 3);
}
static void call_realloc_grow(hh_heap *h, unsigned char *a, unsigned char *b) { (void)b, (void)hh_realloc(h, a, 5000); }
static void call_realloc_shrink(hh_heap *h, unsigned char *a, unsigned char *b) { (void)b, (void)hh_realloc(h, a, 10); }
static void call_realloc_null(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_realloc(h, NULL, 10);
}
static void call_realloc_zero(hh_heap *h, unsigned char *a, unsigned char *b) { (void)b, (void)hh_realloc(h, a, 0); }
static void call_realloc_interior(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b, (void)hh_realloc(h, a + 16, 10);
}
static void call_realloc_huge(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b, (void)hh_realloc(h, a, SIZE_MAX);
}
static void call_realloc_freed(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b;
    hh_free(h, a);
    L.locks--, L.unlocks--; /* the free is the setup, not the call under test */
    (void)hh_realloc(h, a, 10);
}
static void call_free(hh_heap *h, unsigned char *a, unsigned char *b) { (void)b, hh_free(h, a); }
static void call_free_null(hh_heap *h, unsigned char *a, unsigned char *b) { (void)a, (void)b, hh_free(h, NULL); }
static void call_free_outside(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, hh_free(h, buf + BUF_BYTES - 64);
}
static void call_free_twice(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b;
    hh_free(h, a);
    L.locks--, L.unlocks--;
    hh_free(h, a);
}
static void call_free_overflowed(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b;
    a[hh_usable_size(h, a) + 4] ^= 1; /* the footer: a write past the end */
    L.locks--, L.unlocks--;
    hh_free(h, a);
}
/* a's right neighbour b is a hole (freed; no front in HH_STRICT) whose
 * header was then overwritten: the merge that would trust it is refused. */
static void call_free_bad_neighbour(hh_heap *h, unsigned char *a, unsigned char *b)
{
    hh_free(h, b);
    L.locks--, L.unlocks--;
    b[-4] ^= 1; /* b's header seal */
    hh_free(h, a);
}
static void call_usable(hh_heap *h, unsigned char *a, unsigned char *b) { (void)b, (void)hh_usable_size(h, a); }
static void call_usable_interior(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b, (void)hh_usable_size(h, a + 32);
}
static void call_check(hh_heap *h, unsigned char *a, unsigned char *b) { (void)a, (void)b, (void)hh_check(h, NULL); }
static void call_check_corrupt(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b;
    a[-4] ^= 1;
    assert_int_equal(hh_check(h, NULL), HH_E_CORRUPT); /* reported by its result, not on_error */
}
static void call_check_near(hh_heap *h, unsigned char *a, unsigned char *b)
{
    const void *near[] = {a, b};
    assert_int_equal(hh_check_near(h, near, 2, NULL), HH_OK);
}
static void call_check_near_corrupt(hh_heap *h, unsigned char *a, unsigned char *b)
{
    const void *near[] = {b};
    a[-4] ^= 1;
    assert_int_equal(hh_check_near(h, near, 1, NULL), HH_E_CORRUPT); /* a's header, b's neighbour's */
}
static void call_stats(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    hh_stats s;
    hh_stats_get(h, &s);
}
/* Setup for the trims: the heap grows by a large block that is then freed
 * (its own free gives most of it back through shrink, keeping some). */
static void grow_and_free(hh_heap *h)
{
    hh_free(h, hh_alloc(h, 900 << 10));
    L.locks -= 2, L.unlocks -= 2;
}
static void call_trim(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    grow_and_free(h);
    size_t shrinks = L.gb.shrink_calls;
    hh_trim(h); /* what the free kept goes back through shrink, under the lock */
    assert_int_equal(L.gb.shrink_calls, shrinks + 1);
}
static void call_trim_lie(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    grow_and_free(h);
    L.gb.shrink_lies = true;
    hh_trim(h);
}
static int visit_stop(void *ctx, const hh_span *s) { return (void)ctx, (void)s, 7; }
static void call_walk(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    walk_summary w;
    (void)walk_summarise(h, &w);
}
static void call_walk_stops(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, assert_int_equal(hh_walk(h, visit_stop, NULL), 7);
}
static void call_map(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    char map[40];
    (void)hh_map_text(h, map, sizeof map, 32);
}
static void call_last_problem(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_last_problem(h, NULL);
}
static void call_problem_count(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b, (void)hh_problem_count(h);
}
/* HH_CHECK_ALWAYS finds a corrupt tag before the call: refused, reported once. */
static void call_alloc_checked_corrupt(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)b;
    a[-4] ^= 1;
    assert_null(hh_alloc(h, 10));
}
/* A stray write over the gate: the lock is taken, the call refused, no callback trusted. */
static void call_gate_overwritten(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    size_t before = hh_problem_count(h);
    h->gate ^= 0x100;
    assert_null(hh_alloc(h, 10));
    assert_int_equal(hh_problem_count(h), before + 1);
    assert_int_equal(hh_last_problem(h, NULL), HH_E_CORRUPT);
    h->gate ^= 0x100;
}
/* A stray write over the lock's own check value: the lock is not trusted, not taken, the call refused. */
static void call_lock_seal_overwritten(hh_heap *h, unsigned char *a, unsigned char *b)
{
    (void)a, (void)b;
    h->lock_seal ^= 1;
    assert_null(hh_alloc(h, 10));
    hh_free(h, a);
    assert_int_equal(hh_check(h, NULL), HH_E_CORRUPT);
    h->lock_seal ^= 1;
}

static const lock_case lock_cases[] = {
    {"hh_alloc", call_alloc, 1, 0, 0, 0},
    {"hh_alloc growing the heap", call_alloc_grows, 1, 0, 0, 0},
    {"hh_alloc(SIZE_MAX)", call_alloc_huge, 1, 1, HH_E_BAD_SIZE, 0},
    {"hh_alloc out of memory", call_alloc_oom, 1, 0, 0, 0},
    {"hh_alloc_aligned", call_aligned, 1, 0, 0, 0},
    {"hh_alloc_aligned bad alignment", call_aligned_bad, 1, 1, HH_E_BAD_ALIGN, 0},
    {"hh_alloc_aligned(SIZE_MAX)", call_aligned_huge, 1, 1, HH_E_BAD_SIZE, 0},
    {"hh_calloc", call_calloc, 1, 0, 0, 0},
    {"hh_calloc overflow", call_calloc_overflow, 1, 1, HH_E_BAD_SIZE, 0},
    {"hh_realloc growing", call_realloc_grow, 1, 0, 0, 0},
    {"hh_realloc shrinking", call_realloc_shrink, 1, 0, 0, 0},
    {"hh_realloc(NULL)", call_realloc_null, 1, 0, 0, 0},
    {"hh_realloc(p, 0)", call_realloc_zero, 1, 0, 0, 0},
    {"hh_realloc interior pointer", call_realloc_interior, 1, 1, HH_E_BAD_POINTER, 0},
    {"hh_realloc(SIZE_MAX)", call_realloc_huge, 1, 1, HH_E_BAD_SIZE, 0},
    {"hh_realloc of a freed block", call_realloc_freed, 1, 1, HH_E_DOUBLE_FREE, 0},
    {"hh_free", call_free, 1, 0, 0, 0},
    {"hh_free(NULL)", call_free_null, 0, 0, 0, 0},
    {"hh_free outside the heap", call_free_outside, 1, 1, HH_E_BAD_POINTER, 0},
    {"hh_free twice", call_free_twice, 1, 1, HH_E_DOUBLE_FREE, 0},
    {"hh_free of an overflowed block", call_free_overflowed, 1, 1, HH_E_CORRUPT, 0},
    {"hh_free next to a damaged header", call_free_bad_neighbour, 1, 1, HH_E_CORRUPT, HH_STRICT},
    {"hh_usable_size", call_usable, 1, 0, 0, 0},
    {"hh_usable_size interior pointer", call_usable_interior, 1, 1, HH_E_BAD_POINTER, 0},
    {"hh_check", call_check, 1, 0, 0, 0},
    {"hh_check of a damaged heap", call_check_corrupt, 1, 0, 0, 0},
    {"hh_check_near", call_check_near, 1, 0, 0, 0},
    {"hh_check_near beside damage", call_check_near_corrupt, 1, 0, 0, 0},
    {"hh_stats_get", call_stats, 1, 0, 0, 0},
    {"hh_trim", call_trim, 1, 0, 0, 0},
    {"hh_trim, shrink lying", call_trim_lie, 1, 1, HH_E_CALLBACK, 0},
    {"hh_walk", call_walk, 1, 0, 0, 0},
    {"hh_walk stopped by its visitor", call_walk_stops, 1, 0, 0, 0},
    {"hh_map_text", call_map, 1, 0, 0, 0},
    {"hh_last_problem", call_last_problem, 0, 0, 0, 0},
    {"hh_problem_count", call_problem_count, 0, 0, 0, 0},
    {"hh_alloc, HH_CHECK_ALWAYS, damaged heap", call_alloc_checked_corrupt, 1, 1, HH_E_CORRUPT, HH_CHECK_ALWAYS},
    {"hh_alloc, gate overwritten", call_gate_overwritten, 1, 0, 0, 0},
    {"calls with the lock's check value overwritten", call_lock_seal_overwritten, 0, 0, 0, 0},
};

static void run_lock_case(const lock_case *c)
{
    hh_heap *h = lc_start(c->flags);
    unsigned char *a = hh_alloc(h, 100), *b = hh_alloc(h, 100);
    assert_non_null(a);
    assert_non_null(b);
    L.locks = L.unlocks = 0;
    c->call(h, a, b);
    if (L.locks != c->locks || L.unlocks != c->locks || L.depth != 0 || L.nested || L.stray_unlocks)
        fail_msg("%s: %zu locks, %zu unlocks (expected %zu each), depth %d, %zu nested, %zu stray unlocks", c->name,
                 L.locks, L.unlocks, c->locks, L.depth, L.nested, L.stray_unlocks);
    if (L.errors != c->errors || (c->errors && L.last_code != c->code))
        fail_msg("%s: on_error ran %zu times (last %s), expected %zu (%s)", c->name, L.errors,
                 hh_code_name(L.last_code), c->errors, hh_code_name(c->code));
    assert_int_equal(L.errors_unlocked, 0);
    assert_int_equal(L.callbacks_unlocked, 0);
    if (c->errors) /* what on_error saw is the heap's record, counted before the callback */
        assert_int_equal(L.count_in_on_error, hh_problem_count(h));
    growbuf_finish(&L.gb);
}

static void every_call_locks_in_pairs(void **state)
{
    (void)state;
    size_t n = sizeof lock_cases / sizeof lock_cases[0], errors = 0;
    for (size_t i = 0; i < n; i++) {
        run_lock_case(&lock_cases[i]);
        errors += lock_cases[i].errors;
    }
    printf("[ locks   ] %zu call paths (%zu error paths reported through on_error): every one locked and "
           "unlocked in pairs, callbacks under the lock\n",
           n, errors);
}

/* hh_init and the calls that take no heap never lock. */
static void calls_without_a_heap_never_lock(void **state)
{
    (void)state;
    hh_heap *h = lc_start(0);
    assert_int_equal(L.locks, 0); /* hh_init */
    (void)hh_code_name(HH_E_INDEX);
    (void)hh_min_region();
    assert_null(hh_alloc(NULL, 10));
    hh_free(NULL, buf);
    assert_int_equal(hh_check(NULL, NULL), HH_E_BAD_POINTER);
    assert_int_equal(L.locks, 0);
    assert_int_equal(hh_check(h, NULL), HH_OK);
    assert_int_equal(L.locks, 1);
    growbuf_finish(&L.gb);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(faults_default),
        cmocka_unit_test(faults_strict),
        cmocka_unit_test(faults_poison),
        cmocka_unit_test(every_call_locks_in_pairs),
        cmocka_unit_test(calls_without_a_heap_never_lock),
    };
    int status = select_tests(argc, argv, tests, sizeof tests / sizeof tests[0]);
    if (status >= 0)
        return status;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
