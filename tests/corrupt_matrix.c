/*
 * The corruption matrix (issue 9, item 4).
 *
 * Part 1, bit flips. A small heap is laid out the same way for every trial:
 *
 *   | B0 | V | B1 | H0 | B2 | C (cached; a hole under HH_STRICT) | B3 | H1 | B4 | H2 | B5 | tail |
 *
 * (H0-H2 holes of one size, one index tree; H is the one with the most links)
 * and one bit is flipped in one byte of: V's header or footer (a live
 * block), H's header or footer, H's index links (the fast index keeps a
 * 16-byte node at the start of the hole; the ordered table a 4-byte slot
 * per hole after the control block), C's header, footer and 4-byte list
 * link (the front), the prologue and epilogue fences, or the control block.
 * Then the calls that touch that place run in order (for V: usable size,
 * free; for H: the allocation its size best fits, the frees of both
 * neighbours; for C: the allocation of its size and the frees of its
 * neighbours; for the fences and the control block a round of every kind
 * of call), then hh_check, then allocations of every size until the heap is
 * full. The trial records the first call that reported (on_error, or the
 * heap's own record when the control block is too damaged to trust
 * on_error) and its code, and hh_check's code; it fails when anything handed
 * out overlaps a live block or leaves the heap, when a live block's bytes
 * change, or when the heap crashes or hangs.
 *
 * Part 2, writes after free: a block of several sizes is freed (a cached
 * block in the front, or a hole) and 1 to 64 of its bytes, at every offset,
 * are overwritten (each byte changed); then the allocation of its size, the
 * frees of its neighbours, hh_check, and the same safety checks.
 *
 * Each (region, byte) row prints how its bits were caught. A bit not caught
 * is allowed only where tests/corrupt_matrix.allow names the row, with the
 * reason (docs/reliability.md holds the table); a code outside the region's
 * expected codes, or any unsafe trial, fails the run. Trials run in batches
 * in child processes (tests/forkrun.h); a crash or hang is that trial's
 * verdict and the batch resumes after it.
 *
 *   corrupt_matrix [--allow FILE] [--mode default|strict|poison] [--part flips|uaf|all] [--rows]
 */
#define _DEFAULT_SOURCE

#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "forkrun.h"
#include "holeheap.h"
#include "heap.h" /* white box: the control block's fields, to name its bytes; the table's slots */
#include "tag.h"  /* HH_NIL, HOLE_NODE_BYTES: a hole's index node */
#include "testutil.h"

#define REGION ((size_t)64 << 10)
#define UAF_REGION ((size_t)16 << 10)
#define MAX_LIVE 160
#define KEY 0x2F6E1A93u

/* ---- verdicts ---- */

enum { S_SAFE, S_OVERLAP, S_OUTSIDE, S_CONTENTS, S_CRASH, S_HANG, S_KINDS };
static const char *const safety_name[S_KINDS] = {"safe", "overlap", "outside", "contents", "crash", "hang"};

typedef struct outcome {
    int8_t op;    /* the first call that reported, -1 none */
    int8_t code;  /* its code */
    int8_t check; /* hh_check's code after the calls */
    int8_t safety;
    int8_t inv; /* the invariant hh_check named (I1..I13), 0 if none */
} outcome;

/* ---- the calls ---- */

enum {
    OP_USABLE_V,
    OP_FREE_V,
    OP_ALLOC_H,
    OP_FREE_B1,
    OP_FREE_B2,
    OP_ALLOC_C,
    OP_FREE_B3,
    OP_FREE_B0,
    OP_ALLOC_100,
    OP_REALLOC_B3,
    OP_ALIGNED,
    OP_STATS,
    OP_TRIM,
    OP_WALK,
    OP_COUNT
};
static const char *const op_name[OP_COUNT] = {"usable_size(block)",
                                              "free(block)",
                                              "alloc(hole's size)",
                                              "free(left of hole)",
                                              "free(right of hole)",
                                              "alloc(cached size)",
                                              "free(right of cached)",
                                              "free(first block)",
                                              "alloc(100)",
                                              "realloc",
                                              "alloc_aligned",
                                              "stats_get",
                                              "trim",
                                              "walk"};

/* ---- one heap and what the program holds ---- */

typedef struct live {
    unsigned char *p;
    size_t n;
    uint32_t seed;
} live;

typedef struct world {
    unsigned char *mem; /* the region, between PROT_NONE pages */
    size_t size;
    hh_heap *h;
    uint32_t flags;
    const char *lo, *hi; /* what may be handed out: [first span, epilogue) */
    live blocks[MAX_LIVE];
    size_t nlive;
    int safety;
    size_t reports;
    int last_code;
    /* the layout */
    unsigned char *b0, *v, *b1, *hole, *b2, *cached, *b3;
    size_t hole_req, cached_req;
} world;

static world W;

static void on_error(void *ctx, const hh_problem *p)
{
    (void)ctx;
    W.reports++;
    W.last_code = p->code;
}

static void unsafe(int kind)
{
    if (W.safety == S_SAFE)
        W.safety = kind;
}

static bool is_live(const unsigned char *p, size_t *at)
{
    for (size_t i = 0; i < W.nlive; i++)
        if (W.blocks[i].p == p) {
            *at = i;
            return true;
        }
    return false;
}

/* Something handed out: inside the heap, clear of every live block. */
static void take(unsigned char *p, size_t n)
{
    if (!p)
        return;
    if ((const char *)p < W.lo || n > (size_t)(W.hi - (const char *)p))
        unsafe(S_OUTSIDE);
    for (size_t i = 0; i < W.nlive; i++)
        if (spans_meet((uintptr_t)p, n, (uintptr_t)W.blocks[i].p, W.blocks[i].n))
            unsafe(S_OVERLAP);
    if (W.nlive == MAX_LIVE || W.safety != S_SAFE)
        return;
    live *b = &W.blocks[W.nlive++];
    *b = (live){p, n, (uint32_t)W.nlive * 2654435761u};
    pattern_fill(p, n, b->seed);
}

static void give_back(unsigned char *p)
{
    size_t i;
    if (is_live(p, &i))
        W.blocks[i] = W.blocks[--W.nlive];
    hh_free(W.h, p);
}

static void verify_contents(void)
{
    for (size_t i = 0; i < W.nlive; i++)
        if (pattern_mismatch(W.blocks[i].p, W.blocks[i].n, W.blocks[i].seed) != W.blocks[i].n)
            unsafe(S_CONTENTS);
}

static void run_op(int op)
{
    switch (op) {
    case OP_USABLE_V: (void)hh_usable_size(W.h, W.v); break;
    case OP_FREE_V: give_back(W.v); break;
    case OP_ALLOC_H: take(hh_alloc(W.h, W.hole_req), W.hole_req); break;
    case OP_FREE_B1: give_back(W.b1); break;
    case OP_FREE_B2: give_back(W.b2); break;
    case OP_ALLOC_C: take(hh_alloc(W.h, W.cached_req), W.cached_req); break;
    case OP_FREE_B3: give_back(W.b3); break;
    case OP_FREE_B0: give_back(W.b0); break;
    case OP_ALLOC_100: take(hh_alloc(W.h, 100), 100); break;
    case OP_REALLOC_B3: {
        size_t i;
        unsigned char *q = is_live(W.b3, &i) ? hh_realloc(W.h, W.b3, 3000) : NULL;
        if (q) {
            W.blocks[i] = W.blocks[--W.nlive];
            take(q, 3000);
        }
        break;
    }
    case OP_ALIGNED: take(hh_alloc_aligned(W.h, 100, 256), 100); break;
    case OP_STATS: {
        hh_stats s;
        hh_stats_get(W.h, &s);
        break;
    }
    case OP_TRIM: hh_trim(W.h); break;
    default: {
        walk_summary w;
        (void)walk_summarise(W.h, &w);
        break;
    }
    }
}

/* Has the heap reported something since `count`/`code`? on_error, or its
 * own record (a damaged control block is not trusted to call on_error), or
 * a heap no longer alive (hh_last_problem says HH_E_CORRUPT). */
static int reported_since(size_t reports, size_t count, int code)
{
    if (W.reports > reports)
        return W.last_code;
    hh_problem pr;
    int now = hh_last_problem(W.h, &pr);
    if (hh_problem_count(W.h) > count || now != code)
        return now != HH_OK ? now : HH_E_CORRUPT;
    return HH_OK;
}

/* What the heap has reported so far: taken before the corruption, so that
 * a heap the corruption killed outright (its first call refused, and
 * hh_last_problem saying HH_E_CORRUPT from then on) counts as caught by that
 * first call. */
typedef struct record {
    size_t reports, count;
    int code;
} record;

static record record_now(void) { return (record){W.reports, hh_problem_count(W.h), hh_last_problem(W.h, NULL)}; }

/* Run the calls in order until one reports; then hh_check and a fill. */
static outcome touch_and_check(const int *ops, size_t nops, record before)
{
    outcome o = {-1, 0, 0, S_SAFE, 0};
    for (size_t i = 0; i < nops && o.op < 0; i++) {
        size_t reports = before.reports, count = before.count;
        int code = before.code;
        run_op(ops[i]);
        before = record_now();
        int got = reported_since(reports, count, code);
        if (got != HH_OK)
            o = (outcome){(int8_t)ops[i], (int8_t)got, 0, S_SAFE, 0};
    }
    hh_problem pr = {0};
    o.check = (int8_t)hh_check(W.h, &pr);
    if (o.check != HH_OK && pr.what && pr.what[0] == 'I')
        o.inv = (int8_t)atoi(pr.what + 1);
    static const size_t sizes[] = {16, 100, 200, 500, 1000, 3000, 8000};
    for (size_t i = 0, misses = 0; misses < 7 && i < 400; i++) {
        size_t n = sizes[i % 7];
        unsigned char *p = hh_alloc(W.h, n);
        misses = p ? 0 : misses + 1;
        take(p, n);
    }
    verify_contents();
    o.safety = (int8_t)W.safety;
    return o;
}

/* ---- the heap and its layout ---- */

static unsigned char *region_map(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, size + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + page, size, PROT_READ | PROT_WRITE) != 0) {
        perror("mmap");
        exit(2);
    }
    return m + page;
}

static int walk_last(void *ctx, const hh_span *s)
{
    *(const char **)ctx = (const char *)s->start + s->size;
    return 0;
}

static void heap_start(size_t size)
{
    memset(W.blocks, 0, sizeof W.blocks);
    W.nlive = 0;
    W.safety = S_SAFE;
    W.reports = 0;
    W.size = size;
    hh_options o = {.on_error = on_error, .key = KEY, .flags = W.flags};
    W.h = hh_init(W.mem, size, &o);
    if (!W.h) {
        fprintf(stderr, "corrupt_matrix: hh_init failed\n");
        exit(2);
    }
    W.lo = heap_first_span(W.h);
    (void)hh_walk(W.h, walk_last, &W.hi);
}

static unsigned char *keep_alloc(size_t n)
{
    unsigned char *p = hh_alloc(W.h, n);
    if (!p) {
        fprintf(stderr, "corrupt_matrix: the layout's allocation of %zu failed\n", n);
        exit(2);
    }
    take(p, n);
    return p;
}

/* The number of a hole's index links that name another hole (fast index). */
static int links_of(const unsigned char *hole)
{
#ifdef HH_INDEX_TABLE
    (void)hole;
    return 0;
#else
    const idx_node *n = (const idx_node *)(const void *)hole;
    return (n->child[0] != HH_NIL) + (n->child[1] != HH_NIL) + (n->parent != HH_NIL);
#endif
}

/*
 *   | B0 | V | B1 | H0 | B2 | C | B3 | H1 | B4 | H2 | B5 | tail |
 *
 * H0, H1, H2 holes of one size (one tree of the fast index, so that their
 * nodes link to each other), C cached (a hole of its own size under
 * HH_STRICT). The hole under test is the one with the most links; W.b1 and
 * W.b2 are its neighbours.
 */
static void layout(void)
{
    heap_start(REGION);
    unsigned char *b[6], *hs[3];
    b[0] = W.b0 = keep_alloc(100);
    W.v = keep_alloc(100);
    b[1] = keep_alloc(100);
    hs[0] = keep_alloc(1000);
    b[2] = keep_alloc(100);
    W.cached = keep_alloc(200);
    b[3] = W.b3 = keep_alloc(100);
    hs[1] = keep_alloc(1000);
    b[4] = keep_alloc(100);
    hs[2] = keep_alloc(1000);
    b[5] = keep_alloc(100);
    W.hole_req = 1000;
    W.cached_req = 200;
    give_back(hs[1]);
    give_back(hs[0]);
    give_back(hs[2]);
    give_back(W.cached);
    static const int left[3] = {1, 3, 4}, right[3] = {2, 4, 5};
    int k = 0;
    for (int i = 1; i < 3; i++)
        if (links_of(hs[i]) > links_of(hs[k]))
            k = i;
    W.hole = hs[k];
    W.b1 = b[left[k]];
    W.b2 = b[right[k]];
#ifndef HH_INDEX_TABLE
    if (links_of(W.hole) < 2) { /* its node's links must name other holes, not only HH_NIL */
        fprintf(stderr, "corrupt_matrix: no hole of the layout links to two others (%d)\n", links_of(W.hole));
        exit(2);
    }
#endif
    if (hh_check(W.h, NULL) != HH_OK || W.reports) {
        fprintf(stderr, "corrupt_matrix: the layout is not sound before any corruption\n");
        exit(2);
    }
}

/* ---- the places to corrupt ---- */

typedef struct place {
    const char *region, *field; /* a row of the table: region and field */
    size_t byte;                /* the byte within the field */
} place;

enum {
    R_BLOCK_HEAD,
    R_BLOCK_FOOT,
    R_HOLE_HEAD,
    R_HOLE_FOOT,
    R_HOLE_LINKS,
    R_CACHED_HEAD,
    R_CACHED_FOOT,
    R_CACHED_LINK,
    R_PROLOGUE,
    R_EPILOGUE,
    R_CONTROL,
    R_KINDS
};
static const char *const region_name[R_KINDS] = {"block header",     "block footer",   "hole header",   "hole footer",
                                                 "hole index links", "cached header",  "cached footer", "cached link",
                                                 "prologue fence",   "epilogue fence", "control block"};

static const int ops_block[] = {OP_USABLE_V, OP_FREE_V};
static const int ops_hole[] = {OP_ALLOC_H, OP_FREE_B1, OP_FREE_B2};
static const int ops_cached[] = {OP_ALLOC_C, OP_FREE_B2, OP_FREE_B3};
static const int ops_all[] = {OP_ALLOC_100, OP_ALLOC_C,    OP_ALLOC_H, OP_USABLE_V, OP_FREE_V, OP_FREE_B1,
                              OP_FREE_B0,   OP_REALLOC_B3, OP_ALIGNED, OP_STATS,    OP_WALK,   OP_TRIM};

/* The codes a report of damage to a region may carry. */
static bool code_expected(int region, int code)
{
    switch (region) {
    case R_BLOCK_HEAD: return code == HH_E_BAD_POINTER || code == HH_E_CORRUPT;
    case R_BLOCK_FOOT:
    case R_PROLOGUE:
    case R_EPILOGUE: return code == HH_E_CORRUPT;
    case R_HOLE_HEAD:
    case R_HOLE_FOOT:
    case R_CACHED_HEAD:
    case R_CACHED_FOOT: return code == HH_E_CORRUPT || code == HH_E_INDEX;
    case R_HOLE_LINKS:
    case R_CACHED_LINK: return code == HH_E_INDEX;
    default: return code == HH_E_CORRUPT || code == HH_E_INDEX || code == HH_E_STATS;
    }
}

/* Where a region's bytes are in the fresh layout; its length in *n. */
static unsigned char *region_at(int region, size_t *n)
{
    size_t hole_bytes = block_bytes_for(W.hole_req), cached_bytes = block_bytes_for(W.cached_req);
    *n = HH_OVERHEAD / 2;
    switch (region) {
    case R_BLOCK_HEAD: return W.v - *n;
    case R_BLOCK_FOOT: return W.v + block_bytes_for(100) - HH_OVERHEAD;
    case R_HOLE_HEAD: return W.hole - *n;
    case R_HOLE_FOOT: return W.hole + hole_bytes - HH_OVERHEAD;
    case R_CACHED_HEAD: return W.cached - *n;
    case R_CACHED_FOOT: return W.cached + cached_bytes - HH_OVERHEAD;
    case R_CACHED_LINK: *n = 4; return W.cached;
    case R_PROLOGUE: return (unsigned char *)(uintptr_t)W.lo - *n;
    case R_EPILOGUE: return (unsigned char *)(uintptr_t)W.hi;
#ifdef HH_INDEX_TABLE
    case R_HOLE_LINKS: *n = W.h->idx.count * sizeof(uint32_t); return (unsigned char *)W.h->idx.slots;
#else
    case R_HOLE_LINKS: *n = sizeof(idx_node); return W.hole;
#endif
    default: *n = sizeof(hh_heap); return (unsigned char *)W.h;
    }
}

/* ---- the control block's fields, to name its rows ---- */

typedef struct field {
    const char *name;
    size_t off, size;
} field;

#define FIELD(f) \
    { \
#f, offsetof(hh_heap, f), sizeof(((hh_heap *)0)->f) \
    }
/* Four a line, as formatted before idx.aside_mark, whose length would make it three. */
/* clang-format off */
static const field control_fields[] = {
    FIELD(gate),        FIELD(magic),       FIELD(key),          FIELD(key1),
    FIELD(key2),        FIELD(key3),        FIELD(link_key),     FIELD(state_mask),
    FIELD(flags),       FIELD(front_max_g), FIELD(base),         FIELD(end),
    FIELD(floor_end),   FIELD(limit_end),   FIELD(mem),          FIELD(grow),
    FIELD(shrink),      FIELD(lock),        FIELD(unlock),       FIELD(on_error),
    FIELD(ctx),         FIELD(front_limit), FIELD(lock_seal),    FIELD(control_seal),
    FIELD(front_head),  FIELD(front_count), FIELD(front_bytes),  FIELD(lost_bytes),
    FIELD(lost_blocks), FIELD(trim_keep),   FIELD(last_trim),    FIELD(used_bytes),
    FIELD(free_bytes),  FIELD(blocks),      FIELD(holes),        FIELD(peak_used_bytes),
    FIELD(problems),    FIELD(last),
#ifdef HH_INDEX_TABLE
    FIELD(idx.slots),   FIELD(idx.count),   FIELD(idx.capacity), FIELD(idx.broken),
    FIELD(idx.aside_mark),
#else
    FIELD(idx.root),    FIELD(idx.map),     FIELD(idx.broken),  FIELD(idx.pos_bits),
    FIELD(idx.count),
#endif
};
/* clang-format on */
#define NFIELDS (sizeof control_fields / sizeof control_fields[0])

/* The row of control block byte `off`: its field, or "(padding)". */
static place control_place(size_t off)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (off >= control_fields[i].off && off < control_fields[i].off + control_fields[i].size)
            return (place){region_name[R_CONTROL], control_fields[i].name, off - control_fields[i].off};
    return (place){region_name[R_CONTROL], "(padding)", off};
}

/* ---- tallies: one row per (region, field) ---- */

#define MAX_ROWS 160
typedef struct row {
    char region[72], field[40];
    size_t bits, caught_op, caught_check, missed, unsafe, wrong_code;
    size_t by_op[OP_COUNT];
    int codes; /* bit i: code i seen */
    int invs;  /* bit i: hh_check named invariant Ii */
    size_t first_missed_byte, last_missed_byte;
    bool allowed;
} row;

static row rows[MAX_ROWS];
static size_t nrows;

static row *row_for(const char *region, const char *fieldname)
{
    for (size_t i = 0; i < nrows; i++)
        if (!strcmp(rows[i].region, region) && !strcmp(rows[i].field, fieldname))
            return &rows[i];
    if (nrows == MAX_ROWS) {
        fprintf(stderr, "corrupt_matrix: too many rows\n");
        exit(2);
    }
    row *r = &rows[nrows++];
    snprintf(r->region, sizeof r->region, "%s", region);
    snprintf(r->field, sizeof r->field, "%s", fieldname);
    return r;
}

static void tally(row *r, int region, size_t byte, const outcome *o)
{
    r->bits++;
    if (o->safety != S_SAFE) {
        r->unsafe++;
        printf("UNSAFE: %s %s byte %zu: %s\n", r->region, r->field, byte, safety_name[o->safety]);
    }
    int code = o->op >= 0 ? o->code : o->check;
    if (o->inv > 0 && o->inv < 16)
        r->invs |= 1 << o->inv;
    if (o->op >= 0) {
        r->caught_op++;
        r->by_op[o->op]++;
    } else if (o->check != HH_OK) {
        r->caught_check++;
    } else {
        if (r->missed++ == 0)
            r->first_missed_byte = byte;
        r->last_missed_byte = byte;
        return;
    }
    r->codes |= 1 << code;
    if (region >= 0 && !code_expected(region, code)) {
        r->wrong_code++;
        printf("WRONG CODE: %s %s byte %zu: %s\n", r->region, r->field, byte, hh_code_name(code));
    }
}

/* ---- running trials in children ---- */

typedef outcome (*trial_fn)(size_t i, void *arg);

/* Run trials [0, n) in children; their outcomes land in out[] (shared). A
 * crash or hang is the verdict of the trial it happened in; the next child
 * goes on after it. */
static void run_trials(size_t n, trial_fn fn, void *arg, outcome *out)
{
    volatile size_t *cur = shared_pages(sizeof *cur);
    for (size_t from = 0; from < n;) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(2);
        }
        if (pid == 0) {
            for (size_t i = from; i < n; i++) {
                *cur = i;
                if (i == from || i % 256 == 0)
                    child_limits(20000);
                out[i] = fn(i, arg);
            }
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            break;
        size_t at = *cur;
        out[at] = (outcome){-1, 0, 0, WIFSIGNALED(st) && died_of_limit(WTERMSIG(st)) ? S_HANG : S_CRASH, 0};
        from = at + 1;
    }
    munmap((void *)(uintptr_t)cur, sizeof *cur);
}

/* ---- part 1: bit flips ---- */

typedef struct flip_set {
    int region;
    size_t bytes;
} flip_set;

/* Is control block byte `off` part of the heap's record of problems? */
static bool is_problem_record(size_t off)
{
    const char *f = control_place(off).field;
    return !strcmp(f, "problems") || !strcmp(f, "last");
}

static outcome flip_trial(size_t i, void *arg)
{
    const flip_set *fs = arg;
    layout();
    size_t n;
    unsigned char *at = region_at(fs->region, &n);
    record before = record_now();
    at[i / 8] ^= (unsigned char)(1u << (i % 8));
    if (fs->region == R_CONTROL && is_problem_record(i / 8))
        before = record_now(); /* the record itself changed: that is not a report */
    if (fs->region == R_BLOCK_HEAD || fs->region == R_BLOCK_FOOT)
        return touch_and_check(ops_block, sizeof ops_block / sizeof ops_block[0], before);
    if (fs->region == R_HOLE_HEAD || fs->region == R_HOLE_FOOT || fs->region == R_HOLE_LINKS)
        return touch_and_check(ops_hole, sizeof ops_hole / sizeof ops_hole[0], before);
    if (fs->region == R_CACHED_HEAD || fs->region == R_CACHED_FOOT || fs->region == R_CACHED_LINK)
        return touch_and_check(ops_cached, sizeof ops_cached / sizeof ops_cached[0], before);
    return touch_and_check(ops_all, sizeof ops_all / sizeof ops_all[0], before);
}

static bool front_on(void) { return W.flags == 0; }

static const char *mode_label(void)
{
    return W.flags & HH_POISON ? "poison" : W.flags & HH_STRICT ? "strict" : "default";
}

/* The row of byte `byte` of a region: the part of it the byte belongs to. */
static const char *part_of(int region, size_t byte)
{
    switch (region) {
    case R_CONTROL: return control_place(byte).field;
    case R_CACHED_LINK: return "link (next position, keyed)";
#ifdef HH_INDEX_TABLE
    case R_HOLE_LINKS: {
        static char slot[40];
        snprintf(slot, sizeof slot, "table slot %u", (unsigned)(byte / 4));
        return slot;
    }
#else
    case R_HOLE_LINKS: {
        static const char *const node[] = {"child[0]", "child[1]", "parent", "tree"};
        return node[byte / 4 % 4];
    }
#endif
    default: return byte < 4 ? "word (size, state)" : "seal";
    }
}

static void flip_region(int region)
{
    if (!front_on() && region >= R_CACHED_HEAD && region <= R_CACHED_LINK)
        return; /* no front: C is a hole like H */
    layout();
    flip_set fs = {region, 0};
    (void)region_at(region, &fs.bytes);
    size_t n = fs.bytes * 8;
    outcome *out = shared_pages(n * sizeof *out);
    run_trials(n, flip_trial, &fs, out);
    char name[64];
    snprintf(name, sizeof name, "%s, %s", region_name[region], mode_label());
    for (size_t i = 0; i < n; i++)
        tally(row_for(name, part_of(region, i / 8)), region, i / 8, &out[i]);
    munmap(out, n * sizeof *out);
}

/* ---- part 2: writes after free ---- */

typedef struct uaf_set {
    size_t req, usable;
} uaf_set;

static unsigned char *uaf_l, *uaf_f, *uaf_r;

/* | L | F (freed) | R | tail |, F cached (front) or a hole. */
static void uaf_layout(size_t req)
{
    heap_start(UAF_REGION);
    uaf_l = keep_alloc(100);
    uaf_f = keep_alloc(req);
    uaf_r = keep_alloc(100);
    give_back(uaf_f);
}

/* Trial i: offset i / 64, length i % 64 + 1 (clamped to the block). */
static outcome uaf_trial(size_t i, void *arg)
{
    const uaf_set *u = arg;
    size_t off = i / 64, len = i % 64 + 1;
    uaf_layout(u->req);
    if (off + len > u->usable)
        return (outcome){-2, 0, 0, S_SAFE, 0}; /* past the block: not a write after free of it */
    record before = record_now();
    for (size_t k = 0; k < len; k++)
        uaf_f[off + k] ^= 0xA5;
    W.v = uaf_f; /* the calls below: the allocation of its size, the frees of its neighbours */
    W.hole_req = W.cached_req = u->req;
    W.b1 = uaf_l;
    W.b2 = uaf_r;
    static const int ops[] = {OP_ALLOC_H, OP_FREE_B1, OP_FREE_B2};
    return touch_and_check(ops, 3, before);
}

/* Is a freed block of `req` bytes kept in the front (cached) in this mode? */
static bool uaf_is_cached(size_t req)
{
    uaf_layout(req);
    hh_stats st;
    hh_stats_get(W.h, &st);
    return st.cached_bytes > 0;
}

/* The row of a write that starts at `off` of the freed block. */
static const char *uaf_zone(bool cached, size_t off)
{
    if (cached)
        return off < 4 ? "over the link" : "over old contents";
    return off + 1 <= HOLE_NODE_BYTES ? "over the index node" : "over the hole's body";
}

static void uaf_size(size_t req)
{
    uaf_set u = {req, block_bytes_for(req) - HH_OVERHEAD};
    bool cached = uaf_is_cached(req);
    size_t n = u.usable * 64;
    outcome *out = shared_pages(n * sizeof *out);
    run_trials(n, uaf_trial, &u, out);
    char name[64];
    snprintf(name, sizeof name, "write after free, %zu-byte block (%s), %s", u.usable + HH_OVERHEAD,
             cached ? "cached" : "a hole", mode_label());
    for (size_t i = 0; i < n; i++)
        if (out[i].op != -2)
            tally(row_for(name, uaf_zone(cached, i / 64)), -1, i / 64, &out[i]);
    munmap(out, n * sizeof *out);
}

/* ---- the allowed misses and the report ---- */

static char allow_text[16384];

/* Lines "region | part | reason": a row whose bits may go uncaught. */
static void load_allow(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "corrupt_matrix: cannot read %s\n", path);
        exit(2);
    }
    size_t n = fread(allow_text, 1, sizeof allow_text - 1, f);
    allow_text[n] = '\0';
    fclose(f);
}

/* Does a line "REGION | PART | reason" of the allow file name row r? REGION
 * and PART are shell patterns (fnmatch); # starts a comment line. */
static bool row_allowed(const row *r)
{
    char key[sizeof r->region + sizeof r->field + 8];
    snprintf(key, sizeof key, "%.71s | %.39s", r->region, r->field);
    for (const char *line = allow_text; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
        const char *bar = strchr(line, '|'), *bar2 = bar ? strchr(bar + 1, '|') : NULL, *eol = strchr(line, '\n');
        if (*line == '#' || !bar2 || (eol && bar2 > eol) || (size_t)(bar2 - line) >= 160)
            continue;
        char pattern[160];
        size_t n = (size_t)(bar2 - line);
        memcpy(pattern, line, n);
        while (n && pattern[n - 1] == ' ')
            n--;
        pattern[n] = '\0';
        if (fnmatch(pattern, key, 0) == 0)
            return true;
    }
    return false;
}

static void print_ops(const row *r)
{
    const char *sep = "";
    for (int k = 0; k < OP_COUNT; k++)
        if (r->by_op[k]) {
            printf("%s%s %zu", sep, op_name[k], r->by_op[k]);
            sep = ", ";
        }
}

static void print_codes(const row *r)
{
    const char *sep = "";
    for (int c = 1; c < HH_E_COUNT; c++)
        if (r->codes & (1 << c)) {
            printf("%s%s", sep, hh_code_name(c) + 5);
            sep = ", ";
        }
    sep = "; hh_check ";
    for (int i = 1; i < 16; i++)
        if (r->invs & (1 << i)) {
            printf("%sI%d", sep, i);
            sep = ", ";
        }
}

/* The table, one line per row; returns the number of failures. */
static size_t report(void)
{
    size_t failures = 0, bits = 0, caught = 0, missed = 0, unsafe_n = 0;
    printf(
        "| region | part | bits | caught by a call | by hh_check only | not caught | codes; hh_check's invariant |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nrows; i++) {
        row *r = &rows[i];
        r->allowed = row_allowed(r);
        printf("| %s | %s | %zu | %zu (", r->region, r->field, r->bits, r->caught_op);
        print_ops(r);
        printf(") | %zu | %zu", r->caught_check, r->missed);
        if (r->missed)
            printf(" (bytes %zu-%zu)%s", r->first_missed_byte, r->last_missed_byte, r->allowed ? "" : " NOT ALLOWED");
        printf(" | ");
        print_codes(r);
        printf(" |\n");
        failures += r->unsafe + r->wrong_code + (r->missed && !r->allowed);
        bits += r->bits, caught += r->caught_op + r->caught_check, missed += r->missed, unsafe_n += r->unsafe;
    }
    printf("\n%zu trials: %zu caught, %zu not caught (in rows documented as such), %zu unsafe; %zu failures\n", bits,
           caught, missed, unsafe_n, failures);
    return failures;
}

static void run_mode(uint32_t flags, bool flips, bool uaf)
{
    W.flags = flags;
    if (flips)
        for (int r = 0; r < R_KINDS; r++)
            flip_region(r);
    static const size_t sizes[] = {24, 100, 500, 1000, 1100};
    if (uaf)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            uaf_size(sizes[i]);
}

int main(int argc, char **argv)
{
    const char *allow = "tests/corrupt_matrix.allow", *part = "all";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--allow"))
            allow = argv[i + 1];
        else if (!strcmp(argv[i], "--part"))
            part = argv[i + 1];
        else {
            fprintf(stderr, "usage: %s [--allow FILE] [--part flips|uaf|all]\n", argv[0]);
            return 2;
        }
    }
    load_allow(allow);
    setvbuf(stdout, NULL, _IOLBF, 0);
    W.mem = region_map(REGION);
    bool flips = strcmp(part, "uaf") != 0, uaf = strcmp(part, "flips") != 0;
    run_mode(0, flips, uaf);
    run_mode(HH_STRICT, flips, uaf);
    run_mode(HH_POISON, false, uaf);
    size_t failures = report();
    printf("%s\n", failures ? "FAIL: corrupt_matrix" : "corrupt_matrix: every row as documented");
    return failures ? 1 : 0;
}
