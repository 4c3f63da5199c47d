/*
 * fuzz_ops: libFuzzer target. The input is read as a heap configuration and
 * then a sequence of operations (alloc, aligned alloc, calloc, realloc, free,
 * and misuse: interior pointers, frees of pointers that are no longer live,
 * impossible sizes, bad alignments) on a heap in a fixed buffer, or part of the
 * time on a heap that grows and shrinks over a larger buffer (tests/growbuf.h,
 * which poisons the uncommitted part for AddressSanitizer). Every block is
 * filled with its own pattern and verified; after every operation hh_check
 * must return 0, misuse must be reported and change nothing, valid calls must
 * report nothing. Any failure aborts.
 *
 *   clang -fsanitize=fuzzer,address,undefined fuzz/fuzz_ops.c build/fuzz/libholeheap.a
 */
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "growbuf.h"
#include "holeheap.h"
#include "index.h" /* idx_storage_bytes, for the table build */
#include "testutil.h"

#define BUF_BYTES ((size_t)4 << 20)
#define MAX_LIVE 128
#define MAX_FREED 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static alignas(1 << 16) unsigned char buf[BUF_BYTES];

typedef struct input {
    const uint8_t *d;
    size_t n, pos;
} input;

static uint8_t next_byte(input *in) { return in->pos < in->n ? in->d[in->pos++] : 0; }

typedef struct live_block {
    unsigned char *p;
    size_t size;
    uint32_t seed;
} live_block;

/* One ctx for all callbacks: the growbuf comes first, so that the growbuf
 * callbacks can take the session as their growbuf. */
typedef struct session {
    growbuf gb;
    hh_heap *h;
    bool growing;
    live_block live[MAX_LIVE];
    size_t nlive;
    void *freed[MAX_FREED]; /* recently freed pointers, for double frees */
    size_t nfreed;
    problem_log log;
    size_t expected_problems;
    uint32_t seeds;
    size_t op;
} session;

static session S;

static void die(const char *what)
{
    hh_problem pr = {0};
    int rc = hh_check(S.h, &pr);
    fprintf(stderr, "fuzz_ops: op %zu: %s; hh_check: %s %s\n", S.op, what, hh_code_name(rc), pr.what ? pr.what : "");
    abort();
}

/* ---- input decoding ---- */

static size_t read_size(input *in)
{
    uint8_t kind = next_byte(in), b = next_byte(in);
    /* a table, two kinds a row, kept so by hand */
    /* clang-format off */
    switch (kind & 7) {
    case 0: case 1: return b & 63u;                      /* tiny */
    case 2: case 3: return (size_t)b * 8 + (kind >> 3);  /* small */
    case 4: case 5: return (size_t)b * 256 + kind;       /* medium */
    case 6: return ((size_t)b << 12) + (size_t)(kind >> 3) * 16; /* large, to 1 MiB */
    default: return (size_t)b << 13;                     /* very large, to 2 MiB */
    }
    /* clang-format on */
}

/* ---- byte patterns, kept out of coverage: libFuzzer's comparison tracing
 * on every byte of a megabyte block would slow each run a hundredfold ---- */

#define NO_COVERAGE __attribute__((noinline, no_sanitize("coverage")))

NO_COVERAGE static void fill(void *p, size_t n, uint32_t seed) { pattern_fill(p, n, seed); }
NO_COVERAGE static bool intact(const void *p, size_t n, uint32_t seed) { return pattern_mismatch(p, n, seed) == n; }
NO_COVERAGE static bool zeroed(const void *p, size_t n) { return all_bytes_are(p, n, 0); }
NO_COVERAGE static void extend(unsigned char *p, size_t from, size_t to, uint32_t seed)
{
    for (size_t j = from; j < to; j++)
        p[j] = pattern_byte(seed, j);
}

/* ---- model ---- */

static void verify(const live_block *b)
{
    if (!intact(b->p, b->size, b->seed))
        die("a live block's bytes changed");
}

static void expect_quiet(void)
{
    if (S.log.count != S.expected_problems)
        die("a valid call reported a problem");
}

static void expect_reported(const int *codes, size_t ncodes)
{
    S.expected_problems++;
    if (S.log.count != S.expected_problems)
        die("misuse was not reported exactly once");
    for (size_t i = 0; i < ncodes; i++)
        if (S.log.last_code == codes[i])
            return;
    die("misuse reported with an unexpected code");
}

static void check_block(unsigned char *p, size_t size, size_t align)
{
    if (((uintptr_t)p & 15u) || ((uintptr_t)p & (align - 1)))
        die("misaligned block");
    unsigned char *end = S.growing ? buf + S.gb.committed : buf + BUF_BYTES;
    if (p < buf || p + size > end)
        die("block outside the heap's memory");
    if (hh_usable_size(S.h, p) < size)
        die("usable size below the size asked");
}

static void remember_freed(void *p)
{
    S.freed[S.nfreed % MAX_FREED] = p;
    S.nfreed++;
}

static bool is_live(const void *p)
{
    for (size_t i = 0; i < S.nlive; i++)
        if (S.live[i].p == p)
            return true;
    return false;
}

static void add(unsigned char *p, size_t size)
{
    live_block *b = &S.live[S.nlive++];
    b->p = p;
    b->size = size;
    b->seed = ++S.seeds * 2654435761u;
    fill(p, size, b->seed);
}

static void drop(size_t i)
{
    remember_freed(S.live[i].p);
    S.live[i] = S.live[--S.nlive];
}

/* ---- operations ---- */

static void op_alloc(input *in, bool aligned)
{
    size_t size = read_size(in);
    size_t align = aligned ? (size_t)1 << (next_byte(in) % 21) : 16;
    unsigned char *p = aligned ? hh_alloc_aligned(S.h, size, align) : hh_alloc(S.h, size);
    expect_quiet();
    if (p) {
        check_block(p, size, align);
        add(p, size);
    }
}

static void op_calloc(input *in)
{
    size_t n = 1 + next_byte(in) % 16, size = read_size(in) / n;
    unsigned char *p = hh_calloc(S.h, n, size);
    expect_quiet();
    if (p) {
        check_block(p, n * size, 16);
        if (!zeroed(p, n * size))
            die("calloc memory not zeroed");
        add(p, n * size);
    }
}

static void op_realloc(input *in, size_t i)
{
    live_block *b = &S.live[i];
    verify(b);
    size_t size = read_size(in);
    unsigned char *q = hh_realloc(S.h, b->p, size);
    expect_quiet();
    if (size == 0) {
        if (q)
            die("realloc to 0 returned a block");
        drop(i);
        return;
    }
    if (!q) {
        verify(b);
        return;
    }
    check_block(q, size, 16);
    size_t kept = size < b->size ? size : b->size;
    if (!intact(q, kept, b->seed))
        die("realloc lost the contents");
    if (q != b->p)
        remember_freed(b->p);
    extend(q, kept, size, b->seed);
    b->p = q;
    b->size = size;
}

static void op_free(size_t i)
{
    verify(&S.live[i]);
    hh_free(S.h, S.live[i].p);
    expect_quiet();
    drop(i);
}

/* Misuse: must be reported and change nothing. */
static void op_misuse(input *in)
{
    static const int bad_ptr[] = {HH_E_BAD_POINTER};
    static const int not_live[] = {HH_E_BAD_POINTER, HH_E_DOUBLE_FREE};
    static const int bad_size[] = {HH_E_BAD_SIZE};
    static const int bad_align[] = {HH_E_BAD_ALIGN};
    hh_stats before, after;
    hh_stats_get(S.h, &before);
    uint8_t kind = next_byte(in), b = next_byte(in);
    switch (kind % 5) {
    case 0: { /* interior or misaligned pointer into a block's pattern bytes */
        if (S.nlive == 0)
            return;
        live_block *lb = &S.live[b % S.nlive];
        size_t off = lb->size >= 16 ? 16 * (1 + (size_t)kind % (lb->size / 16)) : 1 + b % 15u;
        hh_free(S.h, lb->p + off);
        expect_reported(bad_ptr, 1);
        break;
    }
    case 1: { /* free of a pointer that is no longer live */
        if (S.nfreed == 0)
            return;
        void *p = S.freed[b % (S.nfreed < MAX_FREED ? S.nfreed : MAX_FREED)];
        if (is_live(p))
            return;
        hh_free(S.h, p);
        expect_reported(not_live, 2);
        break;
    }
    case 2:
        if (hh_alloc(S.h, SIZE_MAX - b))
            die("SIZE_MAX allocation served");
        expect_reported(bad_size, 1);
        break;
    case 3:
        if (hh_calloc(S.h, SIZE_MAX / 2 + 1 + b, 2 + b))
            die("overflowing calloc served");
        expect_reported(bad_size, 1);
        break;
    default:
        if (hh_alloc_aligned(S.h, b, (size_t)b * 2 + 3)) /* never a power of two */
            die("bad alignment served");
        expect_reported(bad_align, 1);
        break;
    }
    hh_stats_get(S.h, &after);
    if (memcmp(&before, &after, sizeof before) != 0)
        die("misuse changed the heap");
}

static void run_op(input *in)
{
    uint8_t k = next_byte(in);
    bool full = S.nlive == MAX_LIVE;
    switch (k % 12) {
    case 0:
    case 1:
    case 2:
        if (!full)
            op_alloc(in, false);
        break;
    case 3:
        if (!full)
            op_alloc(in, true);
        break;
    case 4:
        if (!full)
            op_calloc(in);
        break;
    case 5:
    case 6:
        if (S.nlive)
            op_realloc(in, next_byte(in) % S.nlive);
        break;
    case 7:
    case 8:
    case 9:
        if (S.nlive)
            op_free(next_byte(in) % S.nlive);
        break;
    default: op_misuse(in); break;
    }
}

/* ---- setup ---- */

static void session_on_error(void *ctx, const hh_problem *p) { problem_log_record(&((session *)ctx)->log, p); }

static void start(input *in)
{
    uint8_t cfg = next_byte(in);
    static const size_t fixed_sizes[] = {4096, 16 << 10, 64 << 10, 128 << 10};
    size_t initial = fixed_sizes[(cfg >> 2) & 3];
    memset(&S, 0, sizeof S);
    S.growing = cfg & 1;
    hh_options o = {.on_error = session_on_error, .ctx = &S, .key = (uint32_t)cfg * 0x01000193u};
    o.flags = (cfg & 2) ? HH_POISON : 0;
    if (S.growing) {
#ifdef HH_INDEX_TABLE
        /* The ordered table is sized for the heap's maximum span, in the region. */
        initial += (idx_storage_bytes(BUF_BYTES) + 4095) & ~(size_t)4095;
#endif
        growbuf_start(&S.gb, buf, BUF_BYTES, initial);
        o.grow = growbuf_grow;
        o.shrink = growbuf_shrink;
        /* Poisoned holes are verified at every check: keep those heaps small. */
        o.max_size = (cfg & 2) ? initial + ((size_t)512 << 10) : BUF_BYTES >> ((cfg >> 4) & 1);
    }
    S.h = hh_init(buf, initial, &o);
    if (!S.h)
        die("hh_init refused a valid configuration");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = {data, size, 0};
    start(&in);
    while (in.pos < in.n) {
        S.op++;
        run_op(&in);
        hh_problem pr;
        if (hh_check(S.h, &pr) != 0)
            die(pr.what);
        if (S.op % 32 == 0)
            for (size_t i = 0; i < S.nlive; i++)
                verify(&S.live[i]);
    }
    while (S.nlive)
        op_free(S.nlive - 1);
    hh_trim(S.h); /* the front's blocks merge back */
    hh_stats st;
    hh_stats_get(S.h, &st);
    if (st.blocks != 0 || st.holes != 1 || st.cached_bytes != 0 || hh_check(S.h, NULL) != 0)
        die("the emptied heap is not one hole");
    if (S.growing)
        growbuf_finish(&S.gb);
    return 0;
}
