/*
 * tutorial_heap.h: the classic kernel tutorial's heap interface (its kheap.h:
 * heap_t, create_heap, alloc, free) on top of holeheap. Swap it in for the
 * tutorial's kheap.c heap code and ordered_array.c; docs/kernel.md says how.
 *
 * You provide three small functions (the tutorial's paging code has
 * everything they need; docs/kernel.md shows them):
 *   tutorial_heap_map_page    map a fresh frame at virt
 *   tutorial_heap_unmap_page  unmap virt and free its frame
 *   tutorial_heap_problem     print a detected misuse (double free, overflow...)
 */
#ifndef TUTORIAL_HEAP_H
#define TUTORIAL_HEAP_H

#include <stdint.h>

#include "holeheap.h"

typedef struct heap_t {
    hh_heap *core;          /* holeheap, in [start_address + 64, end_address) */
    uint32_t start_address; /* the heap_t itself sits here */
    uint32_t end_address;   /* mapped up to here; moves as the heap grows and shrinks */
    uint32_t max_address;   /* the heap never grows past this */
    uint8_t supervisor;     /* map new pages supervisor-only */
    uint8_t readonly;       /* map new pages read-only */
} heap_t;

/* Pages in [start, end) must already be mapped, as the tutorial's
 * initialise_paging does. start, end and max must be page-aligned with
 * start < end <= max. Returns NULL when they are not, when the region is
 * too small, or when readonly is set: the heap writes its headers and footers
 * into its own pages, which a read-only mapping forbids under CR0.WP. Unlike the tutorial's, the index lives in the
 * holes, not in a fixed array at the start of the heap. */
heap_t *create_heap(uint32_t start, uint32_t end, uint32_t max, uint8_t supervisor, uint8_t readonly);

/* size bytes, page-aligned if page_align; NULL (never a panic) when the heap
 * cannot grow to fit it. */
void *alloc(uint32_t size, uint8_t page_align, heap_t *heap);

/* p NULL does nothing; a pointer that is not a live block of this heap, or a
 * block whose header or footer was overwritten, is reported through
 * tutorial_heap_problem and left alone. */
void free(void *p, heap_t *heap);

/* ---- supplied by the kernel ---- */

/* Map a fresh frame at the page-aligned virt; return 0, or -1 if none is left. */
int tutorial_heap_map_page(uint32_t virt, int supervisor, int readonly);
/* Unmap the page at virt (clear its present bit, invlpg) and free its frame. */
void tutorial_heap_unmap_page(uint32_t virt);
/* Print a problem: code_name is like "HH_E_DOUBLE_FREE". */
void tutorial_heap_problem(const char *code_name, const void *where, const char *what);

#endif
