/*
 * The hole index: every hole, ordered by (size, position), for exact best fit.
 * Two implementations behind this interface, chosen at build time:
 *   index_fast.c  (default)          binary tries in the holes, O(key bits)
 *   index_table.c (-DHH_INDEX_TABLE)  the seed's ordered table, O(n) insert/remove
 * Rules for callers: a hole is inserted after its tags are written as a hole,
 * and removed before its tags change; the caller has verified the hole's own
 * tags (span_sound). Keys are (size in granules, position).
 *
 * Neither index trusts what it reads in the holes: a link is bounds-checked
 * and its node's tree checked before it is followed, and every node the index
 * writes into is first verified to be a sealed hole of the tree it belongs to
 * (I10). A failure is reported (HH_E_INDEX), the damaged tree is set aside
 * (no hole in it is handed out or linked again) and the call fails.
 */
#ifndef HH_INDEX_H
#define HH_INDEX_H

#include "holeheap.h" /* size_t, uint32_t, bool: from the compiler's headers or HH_NO_STDINC */
#include "config.h"

struct tag;

/* A hole's first 16 payload bytes, for the index's own use. */
typedef struct idx_node {
    uint32_t child[2]; /* positions (granules from base), HH_NIL if none */
    uint32_t parent;   /* HH_NIL for a root */
    uint32_t tree;     /* the tree that holds it */
} idx_node;

#ifdef HH_INDEX_TABLE
/* The table's set-aside record: a word holding one of two values keyed from
 * the heap's keys (in service, set aside), and a mark apart from it that
 * damage sets to a third (index_table.c), so that no stray write of a common
 * value (0, 0xFF bytes, a bit) brings a table set aside back into service,
 * nor one over either word sets a table in service aside (I10f). */
typedef struct idx_state {
    uint32_t aside_mark; /* its set-aside value once a slot failed validation, else 0 */
    uint32_t *slots;     /* positions of holes, sorted by (size, position) */
    size_t count, capacity;
    uint32_t broken; /* the set-aside word: in service or set aside (no more best fits), keyed */
} idx_state;
#else
/* HH_INDEX_BINS exact-size bins (src/config.h), then: */
/* Larger holes: four size classes per power of two, 2^5 up to 2^30 granules. */
#define IDX_CLASSES 100u
#define IDX_TREES (HH_INDEX_BINS + IDX_CLASSES)
#define IDX_MAP_WORDS ((IDX_TREES + 31u) / 32u)

typedef struct idx_state {
    uint32_t root[IDX_TREES];       /* each tree's root, HH_NIL if empty */
    uint32_t map[IDX_MAP_WORDS];    /* bit t set iff tree t is in use and not empty */
    uint32_t broken[IDX_MAP_WORDS]; /* bit t set iff tree t failed validation (its root is then IDX_ASIDE) */
    uint32_t pos_bits;              /* bits of the highest position growth can reach */
    size_t count;                   /* holes in the index */
} idx_state;
#endif

/* Bytes of storage the index needs beside the control block for a heap that
 * may span max_span bytes (the table's slots; 0 for the fast index). */
size_t idx_storage_bytes(size_t max_span);
void idx_init(hh_heap *h, void *storage, size_t storage_bytes);
/* A region is being added (hh_add_region): the bytes of new storage the index
 * needs so that an arena of arena_bytes in `regions` regions fits (0: what it
 * has will do; the fast index never needs any). */
size_t idx_storage_more(const hh_heap *h, size_t arena_bytes, uint32_t regions);
/* The heap's limit_end moved up (a region was added): move the table to the
 * new storage when one is given (storage_bytes of it), and give the fast
 * index's keys the position bits the new limit needs (every hole is taken
 * out and put back when that changes: O(holes * key bits)). Called only on a
 * heap that passed hh_check. */
void idx_extend(hh_heap *h, void *storage, size_t storage_bytes);

/* false (reported, tree set aside) when the index is found damaged: the
 * caller then leaves the heap as it is. */
bool idx_insert(hh_heap *h, struct tag *hole);
bool idx_remove(hh_heap *h, struct tag *hole);
/* The smallest hole of at least size_g granules, lowest position among
 * equals; NULL if none. The hole returned is not yet verified: the caller
 * checks its tags before using it. */
struct tag *idx_best_fit(hh_heap *h, uint32_t size_g);

/* The least size, at least size_g granules, that a hole could be indexed
 * with now (its tree not set aside after damage; a stray set-aside mark met
 * on the way is reported and repaired, I10f); 0 when none. Growth asks for
 * that much, so that the hole it adds is not lost at once. */
uint32_t idx_size_in_service(hh_heap *h, uint32_t size_g);
size_t idx_count(const hh_heap *h);
uint32_t idx_largest_g(const hh_heap *h); /* granules of the largest hole, 0 if none */
bool idx_contains(const hh_heap *h, const struct tag *hole);
/* Check the index's own structure (order, links, count) without trusting it:
 * every position is bounds-checked before use. 0 or HH_E_INDEX. */
int idx_verify(const hh_heap *h, hh_problem *out);

#endif /* HH_INDEX_H */
