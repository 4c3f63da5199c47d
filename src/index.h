/*
 * The hole index: every hole, ordered by (size, position), for exact best fit.
 * Two implementations behind this interface, chosen at build time:
 *   index_fast.c  (default)          balanced trees in the holes, O(log n)
 *   index_table.c (-DHH_INDEX_TABLE)  the seed's ordered table, O(n) insert/remove
 * Rules for callers: a hole is inserted after its tags are written as a hole,
 * and removed before its tags change. Keys are (size in granules, position).
 */
#ifndef HH_INDEX_H
#define HH_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "holeheap.h"

struct tag;

/* A hole's first 16 payload bytes, for the index's own use. */
typedef struct idx_node {
    uint32_t left, right, parent; /* positions (granules from base), HH_NIL if none */
    uint32_t meta;                /* implementation-defined (balance, height, ...) */
} idx_node;

#ifdef HH_INDEX_TABLE
typedef struct idx_state {
    uint32_t *slots; /* positions of holes, sorted by (size, position) */
    size_t count, capacity;
} idx_state;
#else
/* Exact-size bins for the small holes: bin b holds the holes of 2 + b granules
 * (the default 64 bins: 32 bytes up to 1040). A multiple of 32 (the bitmap's
 * word), at least 32. */
#ifndef HH_INDEX_BINS
#define HH_INDEX_BINS 64u
#endif

typedef struct idx_bin {
    uint32_t root; /* AVL tree of this size's holes, by position; HH_NIL if empty */
    uint32_t min;  /* its lowest position (leftmost node), HH_NIL if empty */
} idx_bin;

typedef struct idx_state {
    uint32_t root;  /* the large holes' tree, by (size, position); HH_NIL if empty */
    uint32_t last;  /* its largest key's hole (rightmost), HH_NIL if empty */
    size_t count;   /* holes in the bins and the large tree */
    uint32_t bin_map[HH_INDEX_BINS / 32]; /* bit b (of word b/32) set iff bins[b] is not empty */
    idx_bin bins[HH_INDEX_BINS];
} idx_state;
#endif

/* Bytes of storage the index needs beside the control block for a heap that
 * may span max_span bytes (the table's slots; 0 for the fast index). */
size_t idx_storage_bytes(size_t max_span);
void idx_init(hh_heap *h, void *storage, size_t storage_bytes);

/* A hole's index entry, saved before its tags or node may be overwritten. */
typedef struct idx_entry {
    uint32_t pos, size_g; /* its key */
    idx_node node;        /* a copy of its node */
} idx_entry;

void idx_insert(hh_heap *h, struct tag *hole);
void idx_remove(hh_heap *h, struct tag *hole);
/* The hole saved in `old` is now `hole` (tags written; a new size, and maybe a
 * new position, as when a split or merge reshapes it): move its entry there.
 * O(1) when the new key keeps its place in the order, else a remove and an
 * insert. The old node's bytes need not be intact any more. */
void idx_replace(hh_heap *h, const idx_entry *old, struct tag *hole);
/* The smallest hole of at least size_g granules, lowest position among equals; NULL if none. */
struct tag *idx_best_fit(hh_heap *h, uint32_t size_g);

size_t idx_count(const hh_heap *h);
uint32_t idx_largest_g(const hh_heap *h); /* granules of the largest hole, 0 if none */
bool idx_contains(const hh_heap *h, const struct tag *hole);
/* Check the index's own structure (order, links, balance, count) without
 * trusting it: every position is bounds-checked before use. 0 or HH_E_INDEX. */
int idx_verify(const hh_heap *h, hh_problem *out);

#endif /* HH_INDEX_H */
