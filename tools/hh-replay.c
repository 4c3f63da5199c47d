/*
 * hh-replay: read a HOLEHEAP_TRACE file (docs/trace-format.md) and replay
 * every call on one holeheap, mapping the traced addresses to new blocks.
 * Each replayed block is stamped with its record number and the stamp is
 * checked when the block is freed or moved; the heap is checked with hh_check
 * every 4096 calls and at the end (a failed check stops the replay). Aligned
 * requests above HH_MAX_ALIGN, which the port serves by mappings of their
 * own, are skipped (with their frees), as the port keeps them outside its heaps.
 *   usage: hh-replay TRACE_FILE     prints "replayed N calls, E errors" + stats
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "holeheap.h"

#define REPLAY_SPAN ((size_t)8 << 30)

typedef struct record {
    uint8_t op;
    uint8_t reserved[3];
    uint32_t thread;
    uint64_t ptr, a, b, result;
} record;

enum { OP_MALLOC = 1, OP_FREE, OP_CALLOC, OP_REALLOC, OP_ALIGNED };

typedef struct live {
    uint64_t traced; /* 0 empty, 1 deleted */
    void *block;
    uint64_t stamp;
} live;

static live *table;
static size_t capacity, used;
static hh_heap *heap;
static size_t errors, skipped;
/* The replayed "block" of a traced block the port kept outside its heaps. */
static char outside_heap;
#define OUTSIDE ((void *)&outside_heap)

static size_t slot_of(uint64_t key) { return (size_t)((key >> 4) * 0x9E3779B97F4A7C15u >> 20) & (capacity - 1); }

static live *live_find(uint64_t traced)
{
    for (size_t i = slot_of(traced);; i = (i + 1) & (capacity - 1)) {
        if (table[i].traced == traced)
            return &table[i];
        if (table[i].traced == 0)
            return NULL;
    }
}

static void live_insert(uint64_t traced, void *block, uint64_t stamp);

static void live_grow(void)
{
    live *old = table;
    size_t old_capacity = capacity;
    capacity = capacity == 0 ? 4096 : capacity * 2;
    table = calloc(capacity, sizeof *table);
    if (table == NULL) {
        fprintf(stderr, "hh-replay: out of memory\n");
        exit(2);
    }
    used = 0;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].traced > 1)
            live_insert(old[i].traced, old[i].block, old[i].stamp);
    free(old);
}

static void live_insert(uint64_t traced, void *block, uint64_t stamp)
{
    if ((used + 1) * 2 > capacity)
        live_grow();
    size_t i = slot_of(traced);
    while (table[i].traced > 1)
        i = (i + 1) & (capacity - 1);
    table[i] = (live){traced, block, stamp};
    used++;
}

static void error(size_t n, const char *what, uint64_t address)
{
    if (errors++ < 10)
        fprintf(stderr, "hh-replay: record %zu: %s 0x%llx\n", n, what, (unsigned long long)address);
}

static void stamp_write(void *block, uint64_t stamp)
{
    size_t usable = hh_usable_size(heap, block);
    memcpy(block, &stamp, usable < sizeof stamp ? usable : sizeof stamp);
}

static bool stamp_holds(const void *block, uint64_t stamp)
{
    size_t usable = hh_usable_size(heap, block);
    return memcmp(block, &stamp, usable < sizeof stamp ? usable : sizeof stamp) == 0;
}

/* Forget a traced block; returns it, or NULL (an error) if unknown. */
static void *live_take(size_t n, uint64_t traced)
{
    live *e = live_find(traced);
    if (e == NULL) {
        error(n, "unknown block", traced);
        return NULL;
    }
    e->traced = 1;
    if (e->block == OUTSIDE) {
        skipped++;
        return OUTSIDE;
    }
    if (!stamp_holds(e->block, e->stamp))
        error(n, "block contents changed", traced);
    return e->block;
}

static void born(size_t n, uint64_t traced, void *block)
{
    if (traced == 0)
        return;
    if (block == NULL) {
        error(n, "replay could not allocate for", traced);
        return;
    }
    if (live_find(traced) != NULL)
        error(n, "address handed out twice", traced);
    if (block != OUTSIDE)
        stamp_write(block, n);
    live_insert(traced, block, n);
}

/* posix_memalign and friends; past HH_MAX_ALIGN the port maps the block
 * itself, outside any heap: noted, not replayed. */
static void replay_aligned(size_t n, const record *r)
{
    if (r->result == 0) {
        born(n, 0, NULL);
    } else if (r->a > HH_MAX_ALIGN) {
        skipped++;
        born(n, r->result, OUTSIDE);
    } else {
        born(n, r->result, r->a <= 16 ? hh_alloc(heap, r->b) : hh_alloc_aligned(heap, r->b, r->a));
    }
}

static void replay_realloc(size_t n, const record *r)
{
    if (r->ptr == 0) {
        born(n, r->result, hh_alloc(heap, r->a));
        return;
    }
    if (r->result == 0 && r->a != 0)
        return; /* failed in the program: nothing changed */
    void *old = live_take(n, r->ptr);
    if (old == OUTSIDE) { /* the port moves it (or keeps it mapped): a fresh block here */
        if (r->a != 0)
            born(n, r->result, hh_alloc(heap, r->a));
        return;
    }
    if (old == NULL)
        return;
    if (r->a == 0) {
        hh_free(heap, old);
        return;
    }
    void *moved = hh_realloc_aligned(heap, old, r->a, 16); /* as port/malloc.c: malloc's alignment only */
    born(n, r->result, moved);
}

static void replay(size_t n, const record *r)
{
    switch (r->op) {
    case OP_MALLOC: born(n, r->result, r->result != 0 ? hh_alloc(heap, r->a) : NULL); break;
    case OP_CALLOC: born(n, r->result, r->result != 0 ? hh_calloc(heap, r->a, r->b) : NULL); break;
    case OP_ALIGNED: replay_aligned(n, r); break;
    case OP_FREE: {
        void *block = live_take(n, r->ptr);
        if (block != NULL && block != OUTSIDE)
            hh_free(heap, block);
        break;
    }
    case OP_REALLOC: replay_realloc(n, r); break;
    default: error(n, "unknown operation for", r->ptr);
    }
}

/* The region is mapped read/write up front; growth just hands it out. */
static size_t replay_grow(void *ctx, void *end, size_t min_bytes)
{
    (void)ctx;
    (void)end;
    return (min_bytes + 65535) & ~(size_t)65535;
}

/* false: hh_check found a problem (counted as an error). */
static bool heap_verify(size_t n)
{
    hh_problem p;
    if (hh_check(heap, &p) == 0)
        return true;
    error(n, hh_code_name(p.code), (uint64_t)(uintptr_t)p.where);
    return false;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s TRACE_FILE\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    unsigned char header[16];
    if (f == NULL || fread(header, 1, sizeof header, f) != sizeof header || memcmp(header, "HHTRACE1", 8) != 0 ||
        header[8] != 1 || header[12] != sizeof(record)) {
        fprintf(stderr, "hh-replay: %s is not a holeheap trace (version 1)\n", argv[1]);
        return 2;
    }
    void *mem = mmap(NULL, REPLAY_SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    hh_options opt = {.grow = replay_grow, .max_size = REPLAY_SPAN};
    heap = mem != MAP_FAILED ? hh_init(mem, (size_t)1 << 20, &opt) : NULL;
    if (heap == NULL) {
        fprintf(stderr, "hh-replay: cannot start a heap\n");
        return 2;
    }
    live_grow();
    record r;
    size_t n = 0;
    bool sound = true;
    while (sound && fread(&r, sizeof r, 1, f) == 1) {
        replay(++n, &r);
        if (n % 4096 == 0)
            sound = heap_verify(n);
    }
    if (sound)
        (void)heap_verify(n); /* a failure is counted in errors, which sets the exit status */
    else
        fprintf(stderr, "hh-replay: stopped at record %zu: the heap failed hh_check\n", n);
    hh_stats s;
    hh_stats_get(heap, &s);
    printf("replayed %zu calls, %zu errors\n", n, errors + hh_problem_count(heap));
    if (skipped != 0)
        printf("skipped %zu calls on blocks aligned above HH_MAX_ALIGN (the port maps those itself)\n", skipped);
    printf("live blocks %zu, used %zu bytes, peak used %zu bytes, holes %zu, region %zu bytes\n", s.blocks,
           s.used_bytes, s.peak_used_bytes, s.holes, s.region_bytes);
    return errors + hh_problem_count(heap) == 0 ? 0 : 1;
}
