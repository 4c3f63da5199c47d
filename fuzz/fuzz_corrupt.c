/*
 * fuzz_corrupt: libFuzzer target for the heap's promise under damage (issue
 * 7): whatever a buggy program writes over the heap's own bytes, no call
 * crashes or hangs inside the allocator, and nothing handed out lies outside
 * the heap or overlaps a block the program still holds.
 *
 * The input configures a heap (fixed or growing; default, strict or with
 * HH_POISON) with an inaccessible page right after it (a fixed heap ends
 * at the page; a growing one's uncommitted bytes are poisoned for ASan) and
 * one before the region, so that a read or write past the heap faults, and
 * then drives calls on it. The region is cleared before each input, so
 * that a run depends on its input alone. Some
 * calls damage the heap as ordinary bugs do: a write of 1-64 bytes past the
 * end of what a block's owner asked for, a write into the 8 bytes before a
 * block, a write of 1-16 bytes into the first 48 bytes of a freed block. The
 * bytes written are the input's own, 'A's, zeros, 0xFF, a copy of the 8
 * bytes before another block (a valid tag), or a value that looks like a
 * position or an address in the heap. Writes stay inside the committed heap.
 *
 * After every call: each pointer handed out is aligned, inside the heap and
 * clear of every block the program holds (requested bytes); before the first
 * damage, no call reports anything.
 *
 * Contents, by test_corrupt's rules (tests/test_corrupt.c): every block
 * handed out is filled with a pattern of its own (tests/pattern64.h); a
 * block the damage lands in is tainted, not checked, until the program
 * rewrites it (after a realloc). Every other block must hold its pattern:
 * all of it before its free or realloc and every CONTENTS_EVERY calls, its
 * first and last EDGE_BYTES after every call; a realloc must keep the first
 * min(old, new) bytes, calloc's bytes must be zero. So a heap that writes a
 * tag, link, node or split into a live block, or moves one wrong, is caught.
 *
 * The tags' chain, every LAYOUT_EVERY calls and at the end: the walk
 * (hh_walk) must reach the heap's end unless some damage reached a tag or
 * fence (damage to payloads, index nodes and list links is met by losing
 * the hole or cached block, never by breaking the chain); where it does,
 * its spans must run from the first span to the epilogue fence at the
 * region's end and agree with hh_stats_get (walk_stats_disagree,
 * tests/testutil.h), and every block the program holds must be one of its
 * blocks (exactly those, before any report).
 *
 * A run that faults, trips ASan or UBSan, or outlasts libFuzzer's -timeout
 * is a failure.
 *
 *   clang -fsanitize=fuzzer,address,undefined fuzz/fuzz_corrupt.c build/fuzz/libholeheap.a
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "growbuf.h"
#include "holeheap.h"
#include "index.h" /* idx_storage_bytes, for the table build */
#include "pattern64.h"
#include "testutil.h"

#define REGION_BYTES ((size_t)2 << 20)
#define GUARD_BYTES ((size_t)4096)
#define MAX_LIVE 96
#define MAX_FREED 32
/* After every call the first and last EDGE_BYTES of every live block are
 * checked (where a misplaced tag, node or split lands first), every
 * LAYOUT_EVERY calls the walk, every CONTENTS_EVERY calls all of every live
 * block: both after every call cost 4.7 times the instructions of the
 * target without them on the seeds, these 1.4 times (docs/reliability.md). */
#define EDGE_BYTES 64
#ifndef LAYOUT_EVERY
#define LAYOUT_EVERY 8
#endif
#ifndef CONTENTS_EVERY
#define CONTENTS_EVERY 32
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const uint8_t *d;
    size_t n, pos;
} input;

static uint8_t next_byte(input *in) { return in->pos < in->n ? in->d[in->pos++] : 0; }

typedef struct live_block {
    unsigned char *p;
    size_t size;
    uint64_t seed; /* its pattern (pattern64_fill) */
    bool tainted;  /* the damage landed in [p, p+size): not checked until rewritten */
} live_block;

/* The growbuf comes first, so that its callbacks can take the session as ctx. */
typedef struct session {
    growbuf gb;
    hh_heap *h;
    bool growing, damaged;
    bool tags_hit;       /* some damage met a tag or fence (or landed when the walk could not say) */
    unsigned char *base; /* the heap's memory: [base, committed_end()) */
    live_block live[MAX_LIVE];
    size_t nlive;
    unsigned char *freed[MAX_FREED];
    size_t nfreed;
    uint32_t next_id;       /* blocks handed out: each one's pattern is seeded by its number */
    const void *first_span; /* the walk's first span, fixed for the heap's life */
    problem_log log;
    size_t op;
} session;

static session S;
static unsigned char *region; /* REGION_BYTES between two guard pages */

static void die(const char *what, const void *p)
{
    fprintf(stderr, "fuzz_corrupt: op %zu%s: %s (%p)\n", S.op, S.damaged ? " (after damage)" : "", what, p);
    abort();
}

/* ---- the model: what the program holds ---- */

static unsigned char *committed_end(void) { return S.growing ? region + S.gb.committed : region + REGION_BYTES; }

static bool spans_overlap(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    return a < b + (bn ? bn : 1) && b < a + (an ? an : 1);
}

/* A block just handed out for n bytes: aligned, inside, clear of the rest. */
static void check_new(const unsigned char *p, size_t n, size_t align, const unsigned char *except)
{
    if (((uintptr_t)p & 15u) || ((uintptr_t)p & (align - 1)))
        die("misaligned block handed out", p);
    if (p < S.base || p > committed_end() || n > (size_t)(committed_end() - p))
        die("block handed out outside the heap", p);
    for (size_t i = 0; i < S.nlive; i++)
        if (S.live[i].p != except && spans_overlap(p, n, S.live[i].p, S.live[i].size))
            die("block handed out overlaps a live block", p);
}

static void expect_quiet(void)
{
    if (!S.damaged && S.log.count != 0)
        die(S.log.last_what ? S.log.last_what : "a report", S.log.last_where);
}

static void remember_freed(unsigned char *p) { S.freed[S.nfreed++ % MAX_FREED] = p; }

/* The program writes its pattern over all of a block it was handed (or one
 * a realloc resized): every byte of it is the program's again. */
static void fill(live_block *b)
{
    pattern64_fill(b->p, b->size, b->seed);
    b->tainted = false;
}

static void add(unsigned char *p, size_t size)
{
    live_block *b = &S.live[S.nlive++];
    *b = (live_block){p, size, mix64(++S.next_id), false};
    fill(b);
}

/* The heap wrote nothing into bytes [from, from+n) of a block the program
 * holds; from is a multiple of 8 (the pattern's word k is its seed plus k
 * steps). */
static void verify_span(const live_block *b, size_t from, size_t n)
{
    size_t d = pattern64_diff(b->p + from, n, b->seed + from / 8 * PATTERN64_STEP);
    if (d < n)
        die("a live block's bytes changed", b->p + from + d);
}

/* All of a live block, unless the damage landed there first. */
static void verify_block(const live_block *b)
{
    if (!b->tainted)
        verify_span(b, 0, b->size);
}

/* Its first and last EDGE_BYTES (or so: the tail starts on a word). */
static void verify_edges(const live_block *b)
{
    if (b->tainted || b->size <= 2 * EDGE_BYTES) {
        verify_block(b);
        return;
    }
    size_t tail = (b->size - EDGE_BYTES) & ~(size_t)7;
    verify_span(b, 0, EDGE_BYTES);
    verify_span(b, tail, b->size - tail);
}

/* Damage written over [at, at+n) taints every live block it lands in. */
static void taint(const unsigned char *at, size_t n)
{
    for (size_t i = 0; i < S.nlive; i++)
        if (S.live[i].size && spans_overlap(at, n, S.live[i].p, S.live[i].size))
            S.live[i].tainted = true;
}

/* Gone from the program's hands, whether the heap took it or refused it
 * (a refused free leaves it allocated: not checking overlap with it only
 * makes the test weaker, never wrong). */
static void drop(size_t i)
{
    remember_freed(S.live[i].p);
    S.live[i] = S.live[--S.nlive];
}

/* ---- ordinary calls ---- */

static size_t read_size(input *in)
{
    uint8_t kind = next_byte(in), b = next_byte(in);
    switch (kind & 3) {
    case 0: return b & 63u;                          /* tiny: the front's sizes */
    case 1: return (size_t)b * 2 + (kind >> 2);      /* small, up to 574 */
    case 2: return (size_t)b * 32 + (kind >> 2);     /* medium, up to 8 KiB */
    default: return ((size_t)b << 10) + (kind >> 2); /* large, up to 256 KiB */
    }
}

static void op_alloc(input *in, int how)
{
    size_t size = read_size(in), align = 16;
    unsigned char *p;
    if (how == 0)
        p = hh_alloc(S.h, size);
    else if (how == 1) {
        align = (size_t)1 << (next_byte(in) % 13);
        p = hh_alloc_aligned(S.h, size, align);
    } else {
        size_t n = 1 + next_byte(in) % 8;
        size /= n;
        p = hh_calloc(S.h, n, size);
        size *= n;
    }
    expect_quiet();
    if (!p)
        return;
    check_new(p, size, align, NULL);
    if (how == 2 && !all_bytes_are(p, size, 0))
        die("calloc's block is not all zeros", p);
    add(p, size);
}

static void op_realloc(input *in, size_t i)
{
    size_t size = read_size(in);
    live_block *b = &S.live[i];
    verify_block(b);
    unsigned char *old = b->p, *q = hh_realloc(S.h, old, size);
    expect_quiet();
    if (size == 0) {
        drop(i); /* freed, or refused (then left to the heap) */
        return;
    }
    if (!q)
        return; /* the block stays the program's, untouched */
    check_new(q, size, 16, old);
    size_t keep = size < b->size ? size : b->size;
    if (!b->tainted && pattern64_diff(q, keep, b->seed) < keep)
        die("realloc did not keep the block's bytes", q + pattern64_diff(q, keep, b->seed));
    if (q != old)
        remember_freed(old);
    b->p = q;
    b->size = size;
    fill(b);
}

static void op_free(size_t i)
{
    verify_block(&S.live[i]);
    hh_free(S.h, S.live[i].p);
    expect_quiet();
    drop(i);
}

/* Calls that read the heap and hand nothing out: they must not crash either. */
static void op_inspect(input *in)
{
    hh_stats st;
    switch (next_byte(in) % 5) {
    case 0: hh_check(S.h, NULL); break;
    case 1: hh_stats_get(S.h, &st); break;
    case 2: hh_max_alloc(S.h); break;
    case 3: hh_trim(S.h); break;
    default:
        if (S.nlive)
            hh_usable_size(S.h, S.live[next_byte(in) % S.nlive].p);
        break;
    }
    expect_quiet();
}

/* ---- damage, as buggy programs do it ---- */

/* The bytes a bug writes: n of them into out. */
static void damage_bytes(input *in, unsigned char *out, size_t n)
{
    uint8_t kind = next_byte(in);
    switch (kind % 7) {
    case 0: memset(out, 'A', n); break;
    case 1: memset(out, 0, n); break;
    case 2: memset(out, 0xFF, n); break;
    case 3: /* a copy of a valid tag: the 8 bytes before a live block, over and over */
        if (S.nlive) {
            const unsigned char *tag = S.live[next_byte(in) % S.nlive].p - 8;
            for (size_t j = 0; j < n; j++)
                out[j] = tag[j % 8];
            break;
        }
        /* fall through */
    case 4: { /* a position in the heap, 4 bytes, repeated */
        uint32_t pos = (uint32_t)(next_byte(in) | (size_t)next_byte(in) << 8) % (uint32_t)(REGION_BYTES / 16);
        for (size_t j = 0; j < n; j++)
            out[j] = (unsigned char)(pos >> (8 * (j % 4)));
        break;
    }
    case 5: { /* an address in the heap, repeated */
        uintptr_t a = (uintptr_t)(S.nlive ? S.live[next_byte(in) % S.nlive].p : S.base) - 8u * (kind >> 3 & 1);
        for (size_t j = 0; j < n; j++)
            out[j] = (unsigned char)(a >> (8 * (j % sizeof a)));
        break;
    }
    default:
        for (size_t j = 0; j < n; j++)
            out[j] = next_byte(in);
        break;
    }
}

/* The span [at, at+n) of a damaging write, and whether it meets a tag. */
typedef struct damage_span {
    const unsigned char *at;
    size_t n;
    bool meets_tag;
} damage_span;

static int meets_tag(void *ctx, const hh_span *s)
{
    damage_span *d = ctx;
    const unsigned char *start = s->start;
    if (spans_overlap(d->at, d->n, start - 8, 16) || spans_overlap(d->at, d->n, start + s->size - 8, 16))
        d->meets_tag = true; /* the header (or the footer or fence before it), the footer (or what follows) */
    return d->meets_tag;
}

/* Damage over [at, at+n) about to be written: does it reach a tag or a
 * fence? (A walk that cannot reach the heap's end cannot say: yes.) */
static bool damage_meets_tag(const unsigned char *at, size_t n)
{
    damage_span d = {at, n, false};
    return hh_walk(S.h, meets_tag, &d) != 0;
}

/* Write n damaging bytes at at, as far as the committed heap goes. */
static void damage_at(input *in, unsigned char *at, size_t n)
{
    unsigned char bytes[64];
    if (at < S.base || at >= committed_end())
        return;
    if (n > (size_t)(committed_end() - at))
        n = (size_t)(committed_end() - at);
    damage_bytes(in, bytes, n);
    if (!S.tags_hit && memcmp(at, bytes, n) != 0)
        S.tags_hit = damage_meets_tag(at, n);
    memcpy(at, bytes, n);
    taint(at, n);
    S.damaged = true;
}

static void op_damage(input *in)
{
    uint8_t kind = next_byte(in), b = next_byte(in);
    switch (kind % 3) {
    case 0: /* overflow: 1-64 bytes past what the owner asked for */
        if (S.nlive) {
            live_block *lb = &S.live[b % S.nlive];
            damage_at(in, lb->p + lb->size, 1 + (size_t)(kind >> 2) % 64);
        }
        break;
    case 1: /* underflow: into the 8 bytes before a block */
        if (S.nlive) {
            unsigned n = 1 + (kind >> 2) % 8;
            damage_at(in, S.live[b % S.nlive].p - n, n);
        }
        break;
    default: /* write after free: 1-16 bytes at 0..47 into a freed block */
        if (S.nfreed) {
            unsigned char *q = S.freed[b % (S.nfreed < MAX_FREED ? S.nfreed : MAX_FREED)];
            size_t n = 1 + (kind >> 2) % 16, off = next_byte(in) % 48;
            for (size_t i = 0; i < S.nlive; i++)
                if (spans_overlap(q + off, n, S.live[i].p, S.live[i].size))
                    return; /* reused: that would be a write into a live block */
            damage_at(in, q + off, n);
        }
        break;
    }
}

static void run_op(input *in)
{
    uint8_t k = next_byte(in);
    bool full = S.nlive == MAX_LIVE;
    switch (k % 16) {
    case 0:
    case 1:
    case 2:
    case 3:
        if (!full)
            op_alloc(in, 0);
        break;
    case 4:
        if (!full)
            op_alloc(in, 1);
        break;
    case 5:
        if (!full)
            op_alloc(in, 2);
        break;
    case 6:
    case 7:
        if (S.nlive)
            op_realloc(in, next_byte(in) % S.nlive);
        break;
    case 8:
    case 9:
    case 10:
    case 11:
        if (S.nlive)
            op_free(next_byte(in) % S.nlive);
        break;
    case 12: op_inspect(in); break;
    default: op_damage(in); break;
    }
}

/* ---- the whole heap: contents and the tags' chain ---- */

typedef struct held_count {
    size_t found; /* block spans that are blocks the program holds */
} held_count;

static int count_held(void *ctx, const hh_span *s)
{
    for (size_t i = 0; !s->is_hole && i < S.nlive; i++)
        if (S.live[i].p == s->payload && S.live[i].size + HH_OVERHEAD <= s->size)
            ((held_count *)ctx)->found++;
    return 0;
}

/* The walk reaches the heap's end unless damage reached a tag (a heap that
 * loses a damaged hole or cached block keeps their tags whole). Where it
 * does, it covers the region and agrees with the statistics, and every block the
 * program holds is one of its blocks (one it could not give back, refused
 * after damage, may be there too; before any report, none is). */
static void verify_layout(void)
{
    walk_summary w;
    if (walk_summarise(S.h, &w) != 0) {
        if (!S.tags_hit) /* only payloads, index nodes and links were damaged */
            die("the tags' chain broke, though no damage reached a tag", S.first_span);
        return; /* a damaged tag on the way: hh_check's to report */
    }
    const char *why = walk_stats_disagree(S.h, S.base, S.first_span);
    if (why)
        die(why, S.first_span);
    held_count held = {0};
    hh_walk(S.h, count_held, &held);
    if (held.found != S.nlive || (S.log.count == 0 && w.blocks != S.nlive))
        die("the walk's blocks are not the blocks the program holds", S.base);
}

/* Every live block, whole and still inside the committed heap (a shrink
 * must not give back a block the program holds). */
static void verify_all(void)
{
    for (size_t i = 0; i < S.nlive; i++) {
        if (S.live[i].size > (size_t)(committed_end() - S.live[i].p))
            die("a live block reaches past the heap's end", S.live[i].p);
        verify_block(&S.live[i]);
    }
    verify_layout();
}

/* The checks after call number S.op. */
static void verify_after_call(void)
{
    if (S.op % CONTENTS_EVERY == 0) {
        verify_all();
        return;
    }
    for (size_t i = 0; i < S.nlive; i++)
        verify_edges(&S.live[i]);
    if (S.op % LAYOUT_EVERY == 0)
        verify_layout();
}

/* ---- setup ---- */

static void session_on_error(void *ctx, const hh_problem *p) { problem_log_record(&((session *)ctx)->log, p); }

static void region_map(void)
{
    if (region)
        return;
    unsigned char *m =
        mmap(NULL, REGION_BYTES + 2 * GUARD_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m, GUARD_BYTES, PROT_NONE) != 0 ||
        mprotect(m + GUARD_BYTES + REGION_BYTES, GUARD_BYTES, PROT_NONE) != 0)
        die("cannot map the region", NULL);
    region = m + GUARD_BYTES;
}

static void start(input *in)
{
    uint8_t cfg = next_byte(in);
    static const size_t sizes[] = {8 << 10, 32 << 10, 128 << 10, 1 << 20};
    size_t initial = sizes[(cfg >> 3) & 3];
    region_map();
    memset(region, 0, REGION_BYTES); /* nothing of an earlier input's heap stays */
    memset(&S, 0, sizeof S);
    S.growing = cfg & 1;
    hh_options o = {.on_error = session_on_error, .ctx = &S, .key = (uint32_t)cfg * 0x01000193u + 7u};
    o.flags = (cfg & 2) ? HH_POISON : 0;
    if (cfg & 4)
        o.flags |= HH_STRICT;
    if (S.growing) {
#ifdef HH_INDEX_TABLE
        initial += (idx_storage_bytes(REGION_BYTES) + 4095) & ~(size_t)4095;
#endif
        growbuf_start(&S.gb, region, REGION_BYTES, initial);
        S.base = region;
        o.grow = growbuf_grow;
        o.shrink = growbuf_shrink;
        o.max_size = REGION_BYTES;
    } else
        S.base = region + REGION_BYTES - initial; /* ends at the guard page */
    S.h = hh_init(S.base, initial, &o);
    if (!S.h)
        die("hh_init refused a valid configuration", S.base);
    walk_summary w;
    walk_summarise(S.h, &w);
    S.first_span = w.first_start;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size, 0};
    start(&in);
    while (in.pos < in.n) {
        S.op++;
        run_op(&in);
        verify_after_call();
    }
    verify_layout();
    /* Give everything back (each block's contents checked before its free):
     * still no crash, nothing handed out. */
    while (S.nlive)
        op_free(S.nlive - 1);
    hh_trim(S.h);
    hh_check(S.h, NULL);
    expect_quiet();
    verify_layout();
    if (S.growing)
        growbuf_finish(&S.gb);
    return 0;
}
