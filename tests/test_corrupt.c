/*
 * The corruption property test (issue 7, item 2), through the public API only.
 *
 * Claim: a heap that a program corrupts as real bugs do never crashes, hangs,
 * or hands out memory outside the heap or overlapping a live block; the
 * damaged memory is reported, never handed out.
 *
 * Each trial runs in a process of its own. It starts a heap (fixed, or growing
 * through callbacks inside a larger reserve; with or without HH_POISON and
 * HH_CHECK_ALWAYS; a random key), builds blocks and holes of many sizes, and
 * keeps a model of every live block: its pointer, its size and a byte pattern
 * drawn from (trial, block id). Then the test makes ONE corruption a real bug
 * makes (an overflow past a block, an underflow before one, a write after
 * free) and runs hundreds of random calls. Every pointer handed out must be
 * aligned, inside the heap and clear of every live block; every live block's
 * bytes must stay as the test wrote them (except bytes the test corrupted
 * itself); the memory around the heap (guard pages and sentinel bytes, and the
 * reserve not committed to the heap) must stay untouched.
 *
 * The child's verdict is its exit status (V_* below); a signal is a crash, the
 * CPU or wall-clock timer a hang. The parent counts verdicts and how the
 * corruption was seen (a report through on_error or hh_problem_count, only by
 * hh_check, or not at all), and ends with "N passed, N failed". Damaged bytes
 * handed out again are counted too (before and after a report); with
 * --damaged-fails, handing them out after a report fails the trial.
 *
 *   test_corrupt [--trials N] [--seed S] [--label NAME] [--max-print N] [--max-hangs N] [--cpu-ms MS]
 *   test_corrupt --seed S --trial K --verbose [--no-fork] [--damaged-fails]
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, strsignal */

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkrun.h"
#include "holeheap.h"
#include "pattern64.h"

/* ---- verdicts: the child's exit status ---- */

enum {
    V_PASS = 0,
    V_SETUP = 2,       /* the test could not set the trial up: not the heap's failure */
    V_OVERLAP = 10,    /* memory handed out overlaps a live block */
    V_OUTSIDE = 11,    /* memory handed out is not inside the heap */
    V_MISALIGNED = 12, /* a block is not aligned as asked */
    V_CONTENTS = 13,   /* a live block's bytes changed, or calloc's are not zero */
    V_USABLE = 14,     /* hh_usable_size promised bytes below the request, outside, or of a live block */
    V_STRAY = 15,      /* the heap wrote outside the memory it was given */
    V_HEALTHY = 16,    /* a problem was reported before the test corrupted anything */
    V_DAMAGED = 17,    /* with --damaged-fails: damaged bytes handed out after a report */
    V_LOCK = 18        /* a heap with a lock: a call left it taken, or took or gave it twice */
};

/* Failure classes the parent counts: the verdicts above plus crash and hang. */
enum {
    F_CRASH,
    F_HANG,
    F_OVERLAP,
    F_OUTSIDE,
    F_MISALIGNED,
    F_CONTENTS,
    F_USABLE,
    F_STRAY,
    F_HEALTHY,
    F_DAMAGED,
    F_LOCK_PAIRS,
    F_SETUP,
    F_OTHER,
    F_COUNT
};
static const char *const fail_name[F_COUNT] = {
    "crash",    "hang",        "overlap",     "out-of-heap",         "misaligned",
    "contents", "usable-size", "stray-write", "healthy-heap-report", "damaged-handed-out",
    "lock",     "setup",       "other"};

/* ---- the corruptions ---- */

enum {
    K_OVER_RANDOM,
    K_OVER_A,
    K_OVER_TAG,
    K_UNDER_RANDOM,
    K_UNDER_ZERO,
    K_UAF_RANDOM,
    K_UAF_ZERO,
    K_UAF_FF,
    K_UAF_INT,
    K_UAF_PTR,
    K_UAF_POS,
    K_COUNT
};
static const char *const kind_name[K_COUNT] = {"overflow-random", "overflow-A",  "overflow-tag", "underflow-random",
                                               "underflow-zero",  "uaf-random",  "uaf-zero",     "uaf-0xff",
                                               "uaf-int",         "uaf-pointer", "uaf-position"};

/* What a child tells its parent besides its exit status (a shared page, so it
 * survives a crash): the corruption made and how it was seen, the last call. */
typedef struct outcome {
    int kind;              /* -1 until the corruption is made */
    int reported;          /* problems reported after the corruption */
    int check_failed;      /* hh_check returned non-zero after the corruption */
    int noop;              /* the corruption changed no byte */
    int handed_unreported; /* damaged bytes outside any block were handed out, nothing reported yet */
    int handed_reported;   /* ... handed out after a report */
    char corruption[256];
    char op[200];
} outcome;

/* ---- settings of the whole run ---- */

typedef struct config {
    uint64_t seed;
    unsigned long trials;
    long only_trial; /* -1: all */
    bool verbose, fork_each, damaged_fails;
    unsigned long max_print, max_hangs;
    unsigned cpu_ms;
    const char *label, *argv0;
} config;

static const config *g_cfg;
static bool g_print_failure = true;

/* ---- a seeded generator (splitmix64) ---- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r)
{
    r->s += 0x9E3779B97F4A7C15u;
    return mix64(r->s);
}

static size_t rbelow(rng *r, size_t n) { return n ? (size_t)(rnext(r) % n) : 0; }
static size_t rrange(rng *r, size_t lo, size_t hi) { return lo + rbelow(r, hi - lo + 1); }
static bool rpct(rng *r, unsigned pct) { return rbelow(r, 100) < pct; }
static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* ---- one trial's state ---- */

typedef struct blk {
    unsigned char *p;
    size_t req; /* bytes asked for */
    size_t n;   /* bytes in use: req, or the usable size once hh_usable_size gave it */
    uint64_t seed;
    uint32_t id;
    bool tainted; /* the test itself wrote into [p, p+n): not content-checked */
} blk;

enum { EV_NONE, EV_FREE, EV_REALLOC, EV_USABLE, EV_ALLOC };
typedef struct event {
    unsigned long at;
    int what;
    uint32_t id;
    size_t size;
} event;
#define MAX_EVENTS 6

#define FENCE ((size_t)256) /* sentinel bytes before the region */
#define SENTINEL 0xE5
#define PLACE_ALIGN ((size_t)1 << 20)
#define MAX_LIVE 600
#define VERIFY_EVERY 50

typedef struct trial {
    const unsigned char *releasing; /* the block a free or realloc may give back (not live for shrink) */
    unsigned long index;
    uint64_t seed;
    rng r;
    outcome *out;
    bool verbose;
    /* memory: [mem, mem+committed) is the heap's; before it FENCE bytes (and a
     * few) of SENTINEL after a PROT_NONE page; after it SENTINEL to the end of
     * its page, then PROT_NONE pages */
    unsigned char *map;
    size_t map_len;
    unsigned char *mem; /* what hh_init got */
    unsigned char *lo;  /* the heap's first span at hh_init: nothing is handed out below */
    size_t size, reserve, committed;
    bool growable;
    uint32_t flags, key;
    bool locked;    /* with lock callbacks (every third trial): the locked entry's fast paths */
    int lock_depth; /* taken minus given */
    size_t grow_calls, shrink_calls, odd_callbacks;
    hh_heap *h;
    /* the model */
    blk *live;
    size_t nlive;
    uint32_t next_id;
    /* the corruption */
    bool corrupted;
    int kind;
    uintptr_t cs, ce; /* the bytes the test corrupted */
    uintptr_t ds, de; /* those of them outside every block (not a block's own slack) */
    unsigned long opno;
    event ev[MAX_EVENTS];
    size_t nev;
} trial;

static trial *g_trial; /* for fail(): one trial per process */

static const char *phase_of(const trial *t) { return t->corrupted ? "" : " (before the corruption)"; }

/* Say what failed, how to reproduce it, and end the trial with `verdict`. */
_Noreturn static void fail(int verdict, const char *fmt, ...)
{
    trial *t = g_trial;
    if (g_print_failure || t->verbose) {
        char msg[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        printf(
            "FAIL [%s] trial %lu: %s: %s%s | at %s | corruption: %s | repro: %s --seed %llu --trial %lu --verbose%s\n",
            g_cfg->label, t->index, fail_name[verdict == V_SETUP ? F_SETUP : verdict - V_OVERLAP + F_OVERLAP], msg,
            phase_of(t), t->out->op[0] ? t->out->op : "setup", t->out->corruption[0] ? t->out->corruption : "none yet",
            g_cfg->argv0, (unsigned long long)g_cfg->seed, t->index, g_cfg->damaged_fails ? " --damaged-fails" : "");
    }
    exit(verdict);
}

static void note_op(trial *t, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(t->out->op, sizeof t->out->op, "op #%lu %s", t->opno, what);
    if (t->verbose)
        printf("  %s\n", t->out->op);
}

static uintptr_t addr(const void *p) { return (uintptr_t)p; }
static uintptr_t heap_hi(const trial *t) { return addr(t->mem) + t->committed; }

/* ---- the memory the heap lives in ---- */

/* The first byte in [p, p+n) that is not SENTINEL, or NULL. */
static const unsigned char *sentinel_broken(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != SENTINEL)
            return p + i;
    return NULL;
}

static size_t page_size(void)
{
    static size_t page;
    if (!page) {
        long v = sysconf(_SC_PAGESIZE);
        page = v > 0 ? (size_t)v : 4096;
    }
    return page;
}

static uintptr_t page_up(uintptr_t a) { return (a + page_size() - 1) / page_size() * page_size(); }

/* Nothing outside [mem, mem+committed) may change: the fence before it and the
 * rest of the top page hold SENTINEL; the pages above are PROT_NONE. */
static void verify_outside(trial *t)
{
    unsigned char *start = t->map + page_size(), *top = t->mem + t->committed;
    const unsigned char *bad = sentinel_broken(start, (size_t)(t->mem - start));
    if (bad)
        fail(V_STRAY, "byte %p, %zu bytes before the region, changed", (const void *)bad, (size_t)(t->mem - bad));
    bad = sentinel_broken(top, (size_t)(page_up(addr(top)) - addr(top)));
    if (bad)
        fail(V_STRAY, "byte %p, %zu bytes past the committed end %p, changed", (const void *)bad, (size_t)(bad - top),
             (void *)top);
}

/* Move the committed end to mem + committed: pages wholly above it become
 * PROT_NONE (and fresh), the rest of its page SENTINEL. */
static void set_committed(trial *t, size_t committed)
{
    uintptr_t old_top = heap_hi(t), new_top = addr(t->mem) + committed;
    uintptr_t op = page_up(old_top), np = page_up(new_top);
    if (new_top > old_top) {
        verify_outside(t);
        if (np > op && mprotect((void *)op, (size_t)(np - op), PROT_READ | PROT_WRITE))
            fail(V_SETUP, "mprotect: %s", strerror(errno));
#ifdef MADV_POPULATE_WRITE
        if (np > op) /* one call instead of a fault a page: much cheaper on a busy VM */
            (void)madvise((void *)op, (size_t)(np - op), MADV_POPULATE_WRITE);
#endif
    } else if (np < op) {
        void *m = mmap((void *)np, (size_t)(op - np), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (m == MAP_FAILED)
            fail(V_SETUP, "mmap: %s", strerror(errno));
    }
    memset((void *)new_top, SENTINEL, (size_t)(np - new_top));
    t->committed = committed;
}

static void memory_setup(trial *t)
{
    size_t page = page_size(), off = rpct(&t->r, 50) ? 0 : rbelow(&t->r, 16);
    t->growable = rpct(&t->r, 50);
    if (t->growable) {
        t->reserve = (size_t)4 << 20;
        t->size = rrange(&t->r, 64 << 10, 256 << 10);
    } else {
        t->size = rrange(&t->r, 128 << 10, 1024 << 10);
        t->reserve = t->size;
    }
    size_t inner = (FENCE + off + t->reserve + page - 1) / page * page;
    t->map_len = page + inner + page;
    /* The region's place modulo PLACE_ALIGN is fixed, so that a trial replays
     * exactly (an aligned allocation's layout depends on the address). */
    size_t raw_len = t->map_len + PLACE_ALIGN;
    void *m = mmap(NULL, raw_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        fail(V_SETUP, "mmap of %zu bytes: %s", raw_len, strerror(errno));
    unsigned char *raw = m;
    t->map = raw + (PLACE_ALIGN - (addr(raw) + page) % PLACE_ALIGN) % PLACE_ALIGN;
    t->mem = t->map + page + FENCE + off;
    if (mprotect(t->map + page, (size_t)(page_up(addr(t->mem)) - addr(t->map + page)), PROT_READ | PROT_WRITE))
        fail(V_SETUP, "mprotect: %s", strerror(errno));
    memset(t->map + page, SENTINEL, FENCE + off);
    t->committed = 0;
    memset(t->mem, SENTINEL, (size_t)(page_up(addr(t->mem)) - addr(t->mem)));
    set_committed(t, t->size);
}

/* ---- the model ---- */

static blk *model_find(trial *t, uint32_t id)
{
    for (size_t i = 0; i < t->nlive; i++)
        if (t->live[i].id == id)
            return &t->live[i];
    return NULL;
}

static void model_remove(trial *t, const blk *b)
{
    size_t i = (size_t)(b - t->live);
    t->live[i] = t->live[--t->nlive];
}

static void release_damaged_payload(trial *t, const blk *b);

/* A block handed out: the program writes its pattern over all of it, so the
 * bytes in it the test damaged are the program's from now on (handed out
 * before any report they were not a failure; after one, check_new has
 * judged them already): seed 5150 trial 1475 counted a byte of a cached
 * block's link, handed out, rewritten, freed and handed out again, as
 * damaged memory handed out. */
static blk *model_add(trial *t, unsigned char *p, size_t req)
{
    blk *b = &t->live[t->nlive++];
    b->p = p;
    b->req = b->n = req;
    b->id = t->next_id++;
    b->seed = mix64(t->seed ^ (0xD1B54A32D192ED03u * (b->id + 1u)));
    b->tainted = false;
    pattern64_fill(p, req, b->seed);
    release_damaged_payload(t, b);
    if (t->verbose)
        printf("    -> b%u [%p, +%zu)\n", b->id, (void *)p, req);
    return b;
}

static void verify_block(const blk *b, const char *when)
{
    if (b->tainted)
        return;
    size_t d = pattern64_diff(b->p, b->n, b->seed);
    if (d < b->n)
        fail(V_CONTENTS, "live block b%u [%p, +%zu): byte %zu changed (seen %s)", b->id, (void *)b->p, b->n, d, when);
}

static void verify_all(trial *t, const char *when)
{
    for (size_t i = 0; i < t->nlive; i++)
        verify_block(&t->live[i], when);
}

/* Every pointer handed out: aligned, inside the heap, clear of every live block
 * but `except` (the block a realloc replaces). */
static void check_new(trial *t, const unsigned char *q, size_t n, size_t align, const blk *except, const char *call)
{
    uintptr_t a = addr(q);
    if (a % align)
        fail(V_MISALIGNED, "%s returned %p, not %zu-aligned", call, (const void *)q, align);
    if (a < addr(t->lo) || a > heap_hi(t) || n > heap_hi(t) - a)
        fail(V_OUTSIDE, "%s returned [%p, +%zu), outside the heap [%p, %p)", call, (const void *)q, n, (void *)t->lo,
             (void *)(t->mem + t->committed));
    for (size_t i = 0; i < t->nlive; i++) {
        const blk *b = &t->live[i];
        if (b != except && spans_meet(a, n, addr(b->p), b->n))
            fail(V_OVERLAP, "%s returned [%p, +%zu), overlapping live block b%u [%p, +%zu)%s", call, (const void *)q, n,
                 b->id, (void *)b->p, b->n, b->tainted ? " (one the test damaged)" : "");
    }
    if (t->corrupted && t->ds < t->de && a < t->de && t->ds < a + (n ? n : 1)) {
        if (t->out->reported)
            t->out->handed_reported = 1;
        else
            t->out->handed_unreported = 1;
        if (t->verbose)
            printf("    (hands out damaged bytes [%p, %p)%s)\n", (void *)t->ds, (void *)t->de,
                   t->out->reported ? " after a report" : "");
        if (t->out->reported && g_cfg->damaged_fails)
            fail(V_DAMAGED, "%s returned [%p, +%zu), holding bytes [%p, %p) damaged by the test and already reported",
                 call, (const void *)q, n, (void *)t->ds, (void *)t->de);
    }
}

/* ---- callbacks ---- */

static void on_error(void *ctx, const hh_problem *pr)
{
    trial *t = ctx;
    if (t->corrupted)
        t->out->reported++;
    if (t->verbose)
        printf("  report: %s at %p: %s\n", hh_code_name(pr->code), pr->where, pr->what ? pr->what : "");
    if (!t->corrupted)
        fail(V_HEALTHY, "%s at %p: %s", hh_code_name(pr->code), pr->where, pr->what ? pr->what : "");
}

/* The lock of a locked trial: taken once, given once, never held between calls. */
static void cb_lock(void *ctx)
{
    trial *t = ctx;
    if (t->lock_depth++ != 0)
        fail(V_LOCK, "the lock was taken while held");
}

static void cb_unlock(void *ctx)
{
    trial *t = ctx;
    if (--t->lock_depth != 0)
        fail(V_LOCK, "the lock was given while not held");
}

/* Grow: commit [end, end+n) from the reserve; the bytes must still be untouched. */
static size_t cb_grow(void *ctx, void *end, size_t min_bytes)
{
    trial *t = ctx;
    uintptr_t e = addr(end), top = heap_hi(t), limit = addr(t->mem) + t->reserve;
    t->grow_calls++;
    if (e < addr(t->lo) || e > top) {
        t->odd_callbacks++;
        return 0;
    }
    size_t n = (min_bytes + 15) / 16 * 16;
    if (rpct(&t->r, 50))
        n += page_size() * rbelow(&t->r, 8);
    if (n < min_bytes || n > limit - e)
        return 0;
    if (e + n > top)
        set_committed(t, (size_t)(e + n - addr(t->mem)));
    return n;
}

/* Shrink: give back whole pages from the top; they must hold no live block. */
static size_t cb_shrink(void *ctx, void *new_end, size_t bytes)
{
    trial *t = ctx;
    uintptr_t e = addr(new_end), top = heap_hi(t);
    t->shrink_calls++;
    if (e < addr(t->lo) || e > top || bytes > top - e) {
        t->odd_callbacks++;
        return 0;
    }
    size_t released = bytes / page_size() * page_size();
    uintptr_t new_top = e + bytes - released;
    for (size_t i = 0; i < t->nlive && top > new_top; i++)
        if (t->live[i].p != t->releasing &&
            spans_meet(new_top, (size_t)(top - new_top), addr(t->live[i].p), t->live[i].n))
            fail(V_OVERLAP, "shrink gave back [%p, %p), holding live block b%u [%p, +%zu)", (void *)new_top,
                 (void *)top, t->live[i].id, (void *)t->live[i].p, t->live[i].n);
    set_committed(t, (size_t)(new_top - addr(t->mem)));
    return released;
}

static int walk_first(void *ctx, const hh_span *s)
{
    const unsigned char **lo = ctx;
    if (!*lo || (const unsigned char *)s->start < *lo)
        *lo = s->start;
    return 0;
}

static void heap_setup(trial *t)
{
    hh_options o;
    memset(&o, 0, sizeof o);
    o.on_error = on_error;
    o.ctx = t;
    t->key = rpct(&t->r, 80) ? (uint32_t)rnext(&t->r) : 0;
    o.key = t->key;
    t->flags = (rpct(&t->r, 50) ? (uint32_t)HH_POISON : 0u) | (rpct(&t->r, 5) ? (uint32_t)HH_CHECK_ALWAYS : 0u);
    if (!t->flags && rpct(&t->r, 30))
        t->flags = HH_STRICT; /* no front: every call through the index */
    o.flags = t->flags;
    t->locked = t->index % 3 == 2; /* not from the trial's random stream: the other trials stay as they were */
    if (t->locked) {
        o.lock = cb_lock;
        o.unlock = cb_unlock;
    }
    if (t->growable) {
        o.grow = cb_grow;
        o.shrink = cb_shrink;
        o.max_size = t->reserve;
    }
    t->h = hh_init(t->mem, t->size, &o);
    while (!t->h && t->growable && t->size < t->reserve / 2) { /* the table build needs more */
        t->size *= 2;
        set_committed(t, t->size);
        t->h = hh_init(t->mem, t->size, &o);
    }
    if (!t->h)
        fail(V_SETUP, "hh_init(%p, %zu) failed", (void *)t->mem, t->size);
    const unsigned char *first = NULL;
    if (hh_walk(t->h, walk_first, &first) != 0 || !first)
        fail(V_SETUP, "hh_walk of a new heap failed");
    t->lo = (unsigned char *)(uintptr_t)first;
    if (t->verbose)
        printf("  heap: mem %p size %zu%s reserve %zu, first span %p, key %08x%s%s%s%s\n", (void *)t->mem, t->size,
               t->growable ? " growable" : "", t->reserve, (void *)t->lo, t->key,
               t->flags & HH_POISON ? " HH_POISON" : "", t->flags & HH_CHECK_ALWAYS ? " HH_CHECK_ALWAYS" : "",
               t->flags & HH_STRICT ? " HH_STRICT" : "", t->locked ? " locked" : "");
}

/* ---- the calls ---- */

static size_t rand_size(rng *r)
{
    size_t k = rbelow(r, 100);
    if (k < 3)
        return 0;
    return k < 95 ? rrange(r, 1, 2000) : rrange(r, 2001, 65536);
}

static size_t rand_align(rng *r, unsigned lo_shift, unsigned hi_shift)
{
    return (size_t)1 << rrange(r, lo_shift, hi_shift);
}

static void op_alloc(trial *t, size_t n)
{
    note_op(t, "hh_alloc(%zu)", n);
    unsigned char *q = hh_alloc(t->h, n);
    if (!q)
        return;
    check_new(t, q, n, 16, NULL, "hh_alloc");
    model_add(t, q, n);
}

static void op_aligned(trial *t, size_t n, size_t align)
{
    note_op(t, "hh_alloc_aligned(%zu, %zu)", n, align);
    unsigned char *q = hh_alloc_aligned(t->h, n, align);
    if (!q)
        return;
    check_new(t, q, n, align < 16 ? 16 : align, NULL, "hh_alloc_aligned");
    model_add(t, q, n);
}

static void op_calloc(trial *t, size_t nmemb, size_t size)
{
    note_op(t, "hh_calloc(%zu, %zu)", nmemb, size);
    unsigned char *q = hh_calloc(t->h, nmemb, size);
    if (!q)
        return;
    size_t n = nmemb * size;
    check_new(t, q, n, 16, NULL, "hh_calloc");
    for (size_t i = 0; i < n; i++)
        if (q[i])
            fail(V_CONTENTS, "hh_calloc(%zu, %zu) returned %p with byte %zu not zero", nmemb, size, (void *)q, i);
    model_add(t, q, n);
}

/* A damaged block the program freed (or a realloc moved), and the heap took without a report:
 * the damaged bytes in its payload were the program's, now given back, and
 * may be handed out again (as the overflowed block's own slack never counts
 * as damage). The range only shrinks from an end; a middle part stays. */
static void release_damaged_payload(trial *t, const blk *b)
{
    uintptr_t p = addr(b->p), e = p + b->n;
    if (!t->corrupted || t->ds >= t->de || e <= t->ds || p >= t->de)
        return;
    if (p <= t->ds && e >= t->de)
        t->ds = t->de;
    else if (p <= t->ds)
        t->ds = e;
    else if (e >= t->de)
        t->de = p;
}

static void op_free(trial *t, blk *b)
{
    note_op(t, "hh_free(b%u %p, size %zu%s)", b->id, (void *)b->p, b->n, b->tainted ? ", damaged" : "");
    verify_block(b, "before its free");
    size_t problems = hh_problem_count(t->h);
    t->releasing = b->p; /* its own memory may go back to shrink */
    hh_free(t->h, b->p);
    t->releasing = NULL;
    if (b->tainted && hh_problem_count(t->h) == problems)
        release_damaged_payload(t, b);
    model_remove(t, b); /* a refused free leaves it allocated: treating it as gone is conservative */
}

static void op_realloc(trial *t, blk *b, size_t n)
{
    note_op(t, "hh_realloc(b%u %p, size %zu%s, %zu)", b->id, (void *)b->p, b->n, b->tainted ? ", damaged" : "", n);
    verify_block(b, "before its realloc");
    size_t problems = hh_problem_count(t->h);
    t->releasing = b->p; /* a move frees it, and may give its memory back */
    unsigned char *q = hh_realloc(t->h, b->p, n);
    t->releasing = NULL;
    if (q && q != b->p && b->tainted && hh_problem_count(t->h) == problems)
        release_damaged_payload(t, b); /* moved: its old payload went back, as by a free */
    if (q == b->p && b->tainted)
        release_damaged_payload(t, b); /* kept in place: its payload is still the program's (model_add rewrites it) */
    if (!q) {
        if (n == 0)
            model_remove(t, b);                  /* freed (or refused: conservative, as for hh_free) */
        else if (b->n > heap_hi(t) - addr(b->p)) /* it stays live: none of it may have gone to shrink */
            fail(V_OVERLAP, "hh_realloc(b%u %p, %zu) failed but gave its memory back: the heap now ends at %p", b->id,
                 (void *)b->p, n, (void *)(t->mem + t->committed));
        return;
    }
    check_new(t, q, n, 16, b, "hh_realloc");
    size_t keep = min_sz(b->req, n);
    size_t d = b->tainted ? keep : pattern64_diff(q, keep, b->seed);
    if (d < keep)
        fail(V_CONTENTS, "hh_realloc(b%u %p, %zu) moved it to %p but byte %zu of %zu kept bytes differs", b->id,
             (void *)b->p, n, (void *)q, d, keep);
    model_remove(t, b);
    model_add(t, q, n);
}

static void op_realloc_null(trial *t, size_t n)
{
    note_op(t, "hh_realloc(NULL, %zu)", n);
    unsigned char *q = hh_realloc(t->h, NULL, n);
    if (!q)
        return;
    check_new(t, q, n, 16, NULL, "hh_realloc(NULL)");
    model_add(t, q, n);
}

/* hh_usable_size promises [p, p+u): it must cover the request and be ours. */
static void op_usable(trial *t, blk *b)
{
    note_op(t, "hh_usable_size(b%u %p, size %zu%s)", b->id, (void *)b->p, b->n, b->tainted ? ", damaged" : "");
    size_t u = hh_usable_size(t->h, b->p);
    if (u == 0)
        return; /* refused (reported) */
    if (u < b->req)
        fail(V_USABLE, "hh_usable_size(b%u %p) = %zu, below the %zu bytes asked for", b->id, (void *)b->p, u, b->req);
    uintptr_t a = addr(b->p);
    if (u > heap_hi(t) - a)
        fail(V_USABLE, "hh_usable_size(b%u %p) = %zu reaches past the heap's end %p", b->id, (void *)b->p, u,
             (void *)(t->mem + t->committed));
    for (size_t i = 0; i < t->nlive; i++) {
        const blk *o = &t->live[i];
        if (o != b && spans_meet(a, u, addr(o->p), o->n))
            fail(V_USABLE, "hh_usable_size(b%u %p) = %zu reaches into live block b%u [%p, +%zu)", b->id, (void *)b->p,
                 u, o->id, (void *)o->p, o->n);
    }
    if (u > b->n && rpct(&t->r, 50)) { /* the program now uses all of it */
        b->n = u;
        b->tainted = false;
        pattern64_fill(b->p, u, b->seed);
    }
}

static int walk_count(void *ctx, const hh_span *s)
{
    (void)s;
    ++*(size_t *)ctx;
    return 0;
}

static void op_inspect(trial *t)
{
    size_t k = rbelow(&t->r, 4);
    if (k == 0) {
        note_op(t, "hh_check");
        hh_problem pr;
        int rc = hh_check(t->h, &pr);
        if (rc != HH_OK && t->corrupted)
            t->out->check_failed = 1;
        if (rc != HH_OK && t->verbose)
            printf("  hh_check: %s at %p: %s\n", hh_code_name(rc), pr.where, pr.what ? pr.what : "");
    } else if (k == 1) {
        note_op(t, "hh_stats_get");
        hh_stats s;
        hh_stats_get(t->h, &s);
    } else if (k == 2) {
        note_op(t, "hh_walk");
        size_t spans = 0;
        (void)hh_walk(t->h, walk_count, &spans);
    } else {
        note_op(t, "hh_map_text");
        char map[96];
        (void)hh_map_text(t->h, map, sizeof map, 64);
    }
}

static blk *random_block(trial *t) { return &t->live[rbelow(&t->r, t->nlive)]; }

static void random_realloc(trial *t)
{
    size_t k = rbelow(&t->r, 100);
    if (k < 10) {
        op_realloc_null(t, rand_size(&t->r));
        return;
    }
    blk *b = random_block(t);
    size_t n;
    if (k < 40)
        n = b->req + rrange(&t->r, 1, 4000);
    else if (k < 50)
        n = rrange(&t->r, 1, 65536);
    else if (k < 80)
        n = b->req ? rrange(&t->r, 1, b->req) : 0;
    else if (k < 90)
        n = b->req;
    else
        n = 0;
    op_realloc(t, b, n);
}

static void random_op(trial *t)
{
    size_t k = rbelow(&t->r, 100);
    bool full = t->nlive >= MAX_LIVE, empty = t->nlive == 0;
    if ((k < 37 && full) || (k >= 37 && k < 95 && empty))
        k = full ? 60 : 0;
    if (k < 22)
        op_alloc(t, rand_size(&t->r));
    else if (k < 32)
        op_aligned(t, rpct(&t->r, 90) ? rrange(&t->r, 0, 4000) : rrange(&t->r, 4001, 65536), rand_align(&t->r, 4, 13));
    else if (k < 37)
        op_calloc(t, rrange(&t->r, 1, 64), rrange(&t->r, 1, 64));
    else if (k < 52)
        random_realloc(t);
    else if (k < 87)
        op_free(t, random_block(t));
    else if (k < 95)
        op_usable(t, random_block(t));
    else
        op_inspect(t);
}

/* ---- building a heap with blocks and holes of many sizes ---- */

static void build_alloc(trial *t)
{
    size_t k = rbelow(&t->r, 100);
    if (k < 75)
        op_alloc(t, rrange(&t->r, 1, 2000));
    else if (k < 80)
        op_alloc(t, rrange(&t->r, 2001, 65536));
    else if (k < 95)
        op_aligned(t, rrange(&t->r, 1, 3000), rand_align(&t->r, 5, 12));
    else
        op_calloc(t, rrange(&t->r, 1, 40), rrange(&t->r, 1, 50));
}

static void build_heap(trial *t)
{
    size_t allocs = rrange(&t->r, 40, 300);
    for (size_t i = 0; i < allocs && t->nlive < MAX_LIVE; i++, t->opno++)
        build_alloc(t);
    for (size_t frees = t->nlive / 2; frees > 0 && t->nlive > 0; frees--, t->opno++)
        op_free(t, random_block(t)); /* random order: some holes merge, some do not */
    for (size_t i = rbelow(&t->r, 40); i > 0; i--, t->opno++)
        op_alloc(t, rrange(&t->r, 1, 600)); /* fill some holes partly */
    verify_all(t, "after building the heap");
    hh_problem pr;
    int rc = hh_check(t->h, &pr);
    if (rc != HH_OK)
        fail(V_HEALTHY, "hh_check: %s at %p: %s", hh_code_name(rc), pr.where, pr.what ? pr.what : "");
    if (hh_problem_count(t->h) != 0)
        fail(V_HEALTHY, "hh_problem_count is %zu", hh_problem_count(t->h));
}

/* ---- the corruption ---- */

/* Write len bytes at `at`, clamped to the heap's memory; note the span and
 * exclude live blocks it touches from the contents check. */
static void corrupt_write(trial *t, unsigned char *at, const unsigned char *bytes, size_t len)
{
    uintptr_t a = addr(at), lo = addr(t->mem), hi = heap_hi(t);
    size_t skip = a < lo ? (size_t)(lo - a) : 0;
    if (skip >= len || a + skip >= hi) {
        len = 0;
    } else {
        at += skip, bytes += skip, len -= skip;
        len = min_sz(len, (size_t)(hi - addr(at)));
    }
    t->cs = t->ds = addr(at);
    t->ce = t->de = addr(at) + len;
    t->out->noop = len == 0 || memcmp(at, bytes, len) == 0;
    if (len)
        memcpy(at, bytes, len);
    for (size_t i = 0; i < t->nlive; i++) {
        blk *b = &t->live[i];
        if (len && b->n && addr(b->p) < t->ce && t->cs < addr(b->p) + b->n)
            b->tainted = true;
    }
    if (t->verbose) {
        printf("  corrupted [%p, +%zu):", (void *)at, len);
        for (size_t i = 0; i < len; i++)
            printf(" %02x", at[i]);
        printf("%s\n", t->out->noop ? " (no byte changed)" : "");
    }
}

/* The live blocks just below and just above b's address, or NULL. */
static void address_neighbours(trial *t, const unsigned char *p, blk **below, blk **above)
{
    *below = *above = NULL;
    for (size_t i = 0; i < t->nlive; i++) {
        blk *o = &t->live[i];
        if (o->p < p && (!*below || o->p > (*below)->p))
            *below = o;
        if (o->p > p && (!*above || o->p < (*above)->p))
            *above = o;
    }
}

static void schedule(trial *t, unsigned long at, int what, const blk *b, size_t size)
{
    if (t->nev < MAX_EVENTS && (b || what == EV_ALLOC))
        t->ev[t->nev++] = (event){at, what, b ? b->id : 0, size};
}

/* The victim's own call and frees of its neighbours, early in the run. */
static void schedule_around(trial *t, const blk *victim, const unsigned char *p, unsigned long ops)
{
    blk *below, *above;
    address_neighbours(t, p, &below, &above);
    if (victim) {
        schedule(t, rbelow(&t->r, ops / 4), EV_USABLE, victim, 0);
        schedule(t, rbelow(&t->r, ops / 3), rpct(&t->r, 60) ? EV_FREE : EV_REALLOC, victim, rand_size(&t->r));
    }
    schedule(t, rbelow(&t->r, ops / 3), EV_FREE, below, 0);
    schedule(t, rbelow(&t->r, ops / 3), EV_FREE, above, 0);
}

static void describe(trial *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->out->corruption, sizeof t->out->corruption, fmt, ap);
    va_end(ap);
    if (t->verbose)
        printf("  corruption: %s\n", t->out->corruption);
}

static void corrupt_overflow(trial *t, unsigned long ops)
{
    blk *v = random_block(t);
    unsigned char *at = v->p + v->n, buf[64];
    size_t len = rrange(&t->r, 1, 64);
    char src[80] = "";
    if (t->kind == K_OVER_RANDOM) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rnext(&t->r);
    } else if (t->kind == K_OVER_A) {
        memset(buf, 0x41, len);
    } else { /* a copy of a valid tag: another block's 8 bytes before its payload, or v's own */
        const blk *o = t->nlive > 1 && rpct(&t->r, 50) ? random_block(t) : v;
        const unsigned char *tag = o->p - 8;
        snprintf(src, sizeof src, " of the 8 bytes before block b%u%s", o->id, o == v ? " (itself)" : "");
        for (size_t i = 0; i < len; i++)
            buf[i] = tag[(addr(at) + i - addr(tag)) & 7];
    }
    size_t usable = hh_usable_size(t->h, v->p); /* its slack is its own, not damage elsewhere */
    describe(t, "%s: %zu bytes%s past block b%u [%p, +%zu) (usable %zu)", kind_name[t->kind], len, src, v->id,
             (void *)v->p, v->n, usable);
    corrupt_write(t, at, buf, len);
    if (t->ds < addr(v->p) + usable)
        t->ds = min_sz(addr(v->p) + usable, t->de);
    schedule_around(t, v, v->p, ops);
}

static void corrupt_underflow(trial *t, unsigned long ops)
{
    blk *v = random_block(t);
    size_t start = rbelow(&t->r, 8), len = rrange(&t->r, 1, 8 - start);
    unsigned char buf[8];
    for (size_t i = 0; i < len; i++)
        buf[i] = t->kind == K_UNDER_ZERO ? 0 : (unsigned char)rnext(&t->r);
    describe(t, "%s: %zu bytes at %zu before block b%u [%p, +%zu)", kind_name[t->kind], len, 8 - start, v->id,
             (void *)v->p, v->n);
    corrupt_write(t, v->p - 8 + start, buf, len);
    schedule_around(t, v, v->p, ops);
}

/* A pointer a program might leave in freed memory. */
static uintptr_t uaf_pointer(trial *t, const unsigned char *freed)
{
    switch (rbelow(&t->r, 6)) {
    case 0: return t->nlive ? addr(random_block(t)->p) : addr(freed);
    case 1: return addr(freed);
    case 2: return addr(t->mem);
    case 3: return addr(t->lo);
    case 4: return addr(freed) - 8 + 16 * rbelow(&t->r, 4);
    default: return addr(t->lo) + 16 * rbelow(&t->r, (heap_hi(t) - addr(t->lo)) / 16);
    }
}

/* A 32-bit value that looks like a position: an address's offset in 16-byte units. */
static uint32_t uaf_position(trial *t, const unsigned char *freed)
{
    uintptr_t a = uaf_pointer(t, freed), origin = rpct(&t->r, 50) ? addr(t->lo) : addr(t->mem);
    uint32_t pos = (uint32_t)((a - origin) / 16);
    return pos + (uint32_t)rbelow(&t->r, 3) - 1u; /* one granule either way, or exact */
}

/* Fill buf with `count` values of `unit` bytes each, as the kind says. */
static void uaf_values(trial *t, const unsigned char *freed, unsigned char *buf, size_t unit, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (t->kind == K_UAF_INT) {
            uint32_t v = (uint32_t)rbelow(&t->r, 100001);
            memcpy(buf + i * unit, &v, unit);
        } else if (t->kind == K_UAF_POS) {
            uint32_t v = uaf_position(t, freed);
            memcpy(buf + i * unit, &v, unit);
        } else {
            void *v = (void *)uaf_pointer(t, freed);
            memcpy(buf + i * unit, &v, unit);
        }
    }
}

static void corrupt_uaf(trial *t, unsigned long ops)
{
    blk *v = random_block(t);
    unsigned char *p = v->p;
    uint32_t id = v->id;
    size_t req = v->req;
    note_op(t, "hh_usable_size(b%u %p) and hh_free before a write after free", id, (void *)p);
    size_t usable = hh_usable_size(t->h, p);
    op_free(t, v);
    size_t window = min_sz(48, usable), len = 0, off = 0;
    unsigned char buf[16];
    size_t unit = t->kind == K_UAF_PTR ? sizeof(void *) : t->kind >= K_UAF_INT ? 4 : 1;
    if (window >= unit) {
        size_t count = rrange(&t->r, 1, min_sz(16, window) / unit);
        len = count * unit;
        off = unit * rbelow(&t->r, (window - len) / unit + 1);
        if (unit > 1) {
            uaf_values(t, p, buf, unit, count);
        } else {
            for (size_t i = 0; i < len; i++)
                buf[i] = t->kind == K_UAF_ZERO ? 0 : t->kind == K_UAF_FF ? 0xFF : (unsigned char)rnext(&t->r);
        }
    } else if (window > 0) { /* a value wider than the block: its first bytes */
        unsigned char wide[8];
        uaf_values(t, p, wide, unit, 1);
        len = window;
        memcpy(buf, wide, len);
    }
    describe(t, "%s: %zu bytes at offset %zu of freed block b%u [%p, +%zu) (usable %zu)", kind_name[t->kind], len, off,
             id, (void *)p, req, usable);
    corrupt_write(t, p + off, buf, len);
    schedule(t, rbelow(&t->r, 10), EV_ALLOC, NULL, req); /* the same size: likely that hole */
    schedule(t, rbelow(&t->r, ops / 4), EV_ALLOC, NULL, req);
    schedule_around(t, NULL, p, ops);
}

static void corrupt(trial *t, unsigned long ops)
{
    size_t k = rbelow(&t->r, 100);
    if (k < 40)
        t->kind = K_OVER_RANDOM + (int)rbelow(&t->r, 3);
    else if (k < 60)
        t->kind = K_UNDER_RANDOM + (int)rbelow(&t->r, 2);
    else
        t->kind = K_UAF_RANDOM + (int)rbelow(&t->r, 6);
    if (t->nlive == 0)
        op_alloc(t, 100);
    if (t->nlive == 0)
        fail(V_SETUP, "no live block to corrupt");
    if (t->kind >= K_UAF_RANDOM)
        corrupt_uaf(t, ops);
    else if (t->kind >= K_UNDER_RANDOM)
        corrupt_underflow(t, ops);
    else
        corrupt_overflow(t, ops);
    t->out->kind = t->kind;
    t->corrupted = true;
}

/* ---- the run after the corruption ---- */

static void run_events(trial *t, unsigned long i)
{
    for (size_t e = 0; e < t->nev; e++) {
        const event *ev = &t->ev[e];
        if (ev->at != i)
            continue;
        blk *b = ev->what == EV_ALLOC ? NULL : model_find(t, ev->id);
        if (ev->what == EV_ALLOC)
            op_alloc(t, ev->size);
        else if (b && ev->what == EV_FREE)
            op_free(t, b);
        else if (b && ev->what == EV_REALLOC)
            op_realloc(t, b, ev->size);
        else if (b && ev->what == EV_USABLE)
            op_usable(t, b);
    }
}

static void run_after(trial *t, unsigned long ops)
{
    for (unsigned long i = 0; i < ops; i++, t->opno++) {
        run_events(t, i);
        random_op(t);
        if (t->lock_depth != 0)
            fail(V_LOCK, "a call returned with the lock taken");
        if (i % VERIFY_EVERY == VERIFY_EVERY - 1) {
            verify_all(t, "in a periodic check");
            verify_outside(t);
        }
    }
    note_op(t, "final checks");
    verify_all(t, "at the end");
    verify_outside(t);
    hh_problem pr;
    int rc = hh_check(t->h, &pr);
    if (rc != HH_OK) {
        t->out->check_failed = 1;
        if (t->verbose)
            printf("  final hh_check: %s at %p: %s\n", hh_code_name(rc), pr.where, pr.what ? pr.what : "");
    }
    if (hh_problem_count(t->h) > 0 && t->out->reported == 0)
        t->out->reported = (int)hh_problem_count(t->h);
}

static void trial_run(unsigned long index, outcome *out)
{
    static trial t;
    memset(&t, 0, sizeof t);
    g_trial = &t;
    t.index = index;
    t.seed = mix64(mix64(g_cfg->seed) ^ (0x9E3779B97F4A7C15u * (index + 1u)));
    t.r.s = t.seed;
    t.out = out;
    t.verbose = g_cfg->verbose;
    t.live = calloc(MAX_LIVE + 8, sizeof *t.live);
    if (!t.live)
        fail(V_SETUP, "out of memory for the model");
    memory_setup(&t);
    heap_setup(&t);
    build_heap(&t);
    unsigned long ops = (unsigned long)rrange(&t.r, 300, 600);
    corrupt(&t, ops);
    run_after(&t, ops);
    if (t.verbose)
        printf("  passed: %zu live blocks, %zu grow and %zu shrink calls (%zu odd), %d reports, hh_check %s\n", t.nlive,
               t.grow_calls, t.shrink_calls, t.odd_callbacks, out->reported, out->check_failed ? "failed" : "clean");
    free(t.live);
}

/* ---- the parent ---- */

typedef struct tally {
    unsigned long trials, passed, failed;
    unsigned long fails[F_COUNT];
    unsigned long reported, check_only, undetected, noop, handed_unreported, handed_reported;
    unsigned long kt[K_COUNT], kfail[K_COUNT], krep[K_COUNT], kcheck[K_COUNT], kund[K_COUNT];
} tally;

/* Run trial `index` in a child; return its wait status (or -1). */
static int run_child(unsigned long index, outcome *out)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        child_limits(g_cfg->cpu_ms);
        trial_run(index, out);
        exit(V_PASS);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("waitpid");
            return -1;
        }
    return st;
}

/* The failure class of a wait status, or -1 for a pass. */
static int classify(int st)
{
    if (st == -1)
        return F_OTHER;
    if (WIFSIGNALED(st))
        return died_of_limit(WTERMSIG(st)) ? F_HANG : F_CRASH;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == V_PASS)
        return -1;
    if (code == V_SETUP)
        return F_SETUP;
    if (code >= V_OVERLAP && code <= V_LOCK)
        return code - V_OVERLAP + F_OVERLAP;
    return F_OTHER;
}

static void count(tally *ty, const outcome *out, int cls)
{
    ty->trials++;
    if (cls < 0)
        ty->passed++;
    else {
        ty->failed++;
        ty->fails[cls]++;
    }
    int k = out->kind;
    bool rep = out->reported > 0, chk = !rep && out->check_failed;
    if (k < 0 || k >= K_COUNT)
        return;
    ty->kt[k]++;
    ty->kfail[k] += cls >= 0;
    ty->krep[k] += rep;
    ty->kcheck[k] += chk;
    ty->kund[k] += !rep && !chk;
    ty->reported += rep;
    ty->check_only += chk;
    ty->undetected += !rep && !chk;
    ty->noop += !rep && !chk && out->noop;
    ty->handed_unreported += out->handed_unreported != 0;
    ty->handed_reported += out->handed_reported != 0;
}

/* The parent's line for a child that died or hung (a child that exits prints its own). */
static void print_death(unsigned long index, int st, int cls, const outcome *out)
{
    char why[64];
    if (st != -1 && WIFSIGNALED(st))
        snprintf(why, sizeof why, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(why, sizeof why, "wait status %d", st);
    printf("FAIL [%s] trial %lu: %s: %s%s | at %s | corruption: %s | repro: %s --seed %llu --trial %lu --verbose%s\n",
           g_cfg->label, index, fail_name[cls], why, cls == F_HANG ? " (CPU or wall-clock limit)" : "",
           out->op[0] ? out->op : "setup", out->kind >= 0 ? out->corruption : "none yet", g_cfg->argv0,
           (unsigned long long)g_cfg->seed, index, g_cfg->damaged_fails ? " --damaged-fails" : "");
}

static void print_summary(const tally *ty)
{
    const char *l = g_cfg->label;
    printf("[%s] %lu trials (seed %llu): %lu passed, %lu failed", l, ty->trials, (unsigned long long)g_cfg->seed,
           ty->passed, ty->failed);
    const char *sep = ": ";
    for (int f = 0; f < F_COUNT; f++)
        if (ty->fails[f]) {
            printf("%s%s %lu", sep, fail_name[f], ty->fails[f]);
            sep = ", ";
        }
    printf("\n[%s] corruption detected by a report %lu, by hh_check only %lu, not detected %lu "
           "(%lu changed no byte)\n",
           l, ty->reported, ty->check_only, ty->undetected, ty->noop);
    printf("[%s] damaged bytes outside any block handed out (%s): before any report %lu, "
           "after a report %lu\n",
           l, g_cfg->damaged_fails ? "after a report fails" : "not a failure", ty->handed_unreported,
           ty->handed_reported);
    printf("[%s]   %-17s %6s %6s %8s %10s %10s\n", l, "corruption", "trials", "failed", "reported", "check-only",
           "undetected");
    for (int k = 0; k < K_COUNT; k++)
        printf("[%s]   %-17s %6lu %6lu %8lu %10lu %10lu\n", l, kind_name[k], ty->kt[k], ty->kfail[k], ty->krep[k],
               ty->kcheck[k], ty->kund[k]);
}

static outcome *shared_outcome(void) { return shared_pages(sizeof(outcome)); }

static int run_all(void)
{
    outcome *out = shared_outcome();
    tally ty;
    memset(&ty, 0, sizeof ty);
    unsigned long first = g_cfg->only_trial >= 0 ? (unsigned long)g_cfg->only_trial : 0;
    unsigned long last = g_cfg->only_trial >= 0 ? first + 1 : g_cfg->trials;
    unsigned long printed = 0;
    for (unsigned long i = first; i < last; i++) {
        memset(out, 0, sizeof *out);
        out->kind = -1;
        g_print_failure = printed < g_cfg->max_print;
        int st = 0;
        if (g_cfg->fork_each) {
            st = run_child(i, out);
        } else {
            trial_run(i, out); /* a failure exits from fail() */
        }
        int cls = classify(st);
        if (cls >= 0) {
            if (g_print_failure && (cls == F_CRASH || cls == F_HANG || st == -1))
                print_death(i, st, cls, out);
            printed++;
        }
        count(&ty, out, cls);
        if (ty.fails[F_HANG] >= g_cfg->max_hangs && i + 1 < last) {
            printf("[%s] stopped after %lu hangs (--max-hangs N): %lu trials not run\n", g_cfg->label, ty.fails[F_HANG],
                   last - i - 1);
            break;
        }
    }
    if (printed > g_cfg->max_print)
        printf("[%s] (%lu more failures not shown; --max-print N)\n", g_cfg->label, printed - g_cfg->max_print);
    print_summary(&ty);
    printf("%lu passed, %lu failed\n", ty.passed, ty.failed);
    return ty.failed ? 1 : 0;
}

static unsigned long long parse_num(const char *s, const char *opt)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s ? s : "", &end, 0);
    if (!s || !*s || *end || errno) {
        fprintf(stderr, "test_corrupt: %s needs a number\n", opt);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static config c = {1, 3000, -1, false, true, false, 20, 20, 1000, "test_corrupt", "test_corrupt"};
    c.argv0 = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--verbose"))
            c.verbose = true;
        else if (!strcmp(a, "--damaged-fails"))
            c.damaged_fails = true;
        else if (!strcmp(a, "--no-fork"))
            c.fork_each = false;
        else if (!strcmp(a, "--trials") && ++i)
            c.trials = (unsigned long)parse_num(v, a);
        else if (!strcmp(a, "--seed") && ++i)
            c.seed = parse_num(v, a);
        else if (!strcmp(a, "--trial") && ++i)
            c.only_trial = (long)parse_num(v, a);
        else if (!strcmp(a, "--max-print") && ++i)
            c.max_print = (unsigned long)parse_num(v, a);
        else if (!strcmp(a, "--max-hangs") && ++i)
            c.max_hangs = (unsigned long)parse_num(v, a);
        else if (!strcmp(a, "--cpu-ms") && ++i)
            c.cpu_ms = (unsigned)parse_num(v, a);
        else if (!strcmp(a, "--label") && ++i && v)
            c.label = v;
        else {
            fprintf(stderr,
                    "usage: %s [--trials N] [--seed S] [--trial K] [--verbose] [--no-fork] "
                    "[--max-print N] [--max-hangs N] [--cpu-ms MS] [--label NAME] [--damaged-fails]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!c.fork_each && c.only_trial < 0) {
        fprintf(stderr, "test_corrupt: --no-fork needs --trial K\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_cfg = &c;
    return run_all();
}
