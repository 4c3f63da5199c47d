/*
 * The tutorial's heap interface over holeheap: create_heap puts the heap_t at
 * the start of the region and holeheap right after it; growth and shrinking
 * go through the kernel's tutorial_heap_map_page and tutorial_heap_unmap_page.
 */
#include <stddef.h>

#include "tutorial_heap.h"

#define TH_PAGE 0x1000u
#define TH_HEADER_BYTES 64u /* room for heap_t, keeping holeheap's start 16-aligned */

_Static_assert(sizeof(heap_t) <= TH_HEADER_BYTES, "heap_t fits before the holeheap region");

static uint32_t th_page_up(uint32_t x) { return (x + TH_PAGE - 1u) & ~(TH_PAGE - 1u); }

/* Unmap [from, to), page by page. */
static void th_unmap_range(uint32_t from, uint32_t to)
{
    for (uint32_t v = from; v < to; v += TH_PAGE)
        tutorial_heap_unmap_page(v);
}

/* holeheap's grow: map pages over [end, end + n), n >= min_bytes, all or none. */
static size_t th_grow(void *ctx, void *end, size_t min_bytes)
{
    heap_t *heap = ctx;
    uint32_t from = (uint32_t)(uintptr_t)end;
    if (from != heap->end_address || min_bytes == 0 || min_bytes > heap->max_address - from)
        return 0;
    uint32_t to = from + th_page_up((uint32_t)min_bytes);
    for (uint32_t v = from; v < to; v += TH_PAGE) {
        if (tutorial_heap_map_page(v, heap->supervisor, heap->readonly) != 0) {
            th_unmap_range(from, v);
            return 0;
        }
    }
    heap->end_address = to;
    return to - from;
}

/* holeheap's shrink: unmap the whole pages at the top of [new_end, end). */
static size_t th_shrink(void *ctx, void *new_end, size_t bytes)
{
    heap_t *heap = ctx;
    uint32_t from = th_page_up((uint32_t)(uintptr_t)new_end);
    uint32_t top = (uint32_t)(uintptr_t)new_end + (uint32_t)bytes;
    if (top != heap->end_address || from >= top)
        return 0;
    th_unmap_range(from, top);
    heap->end_address = from;
    return top - from;
}

static void th_report(void *ctx, const hh_problem *problem)
{
    (void)ctx;
    tutorial_heap_problem(hh_code_name(problem->code), problem->where, problem->what);
}

heap_t *create_heap(uint32_t start, uint32_t end, uint32_t max, uint8_t supervisor, uint8_t readonly)
{
    /* readonly: the heap writes its tags into its own pages, so they must be
     * writable by the kernel (this kernel sets CR0.WP, so the R/W bit binds it too). */
    if (readonly || start % TH_PAGE != 0 || end % TH_PAGE != 0 || max % TH_PAGE != 0 || start >= end || end > max ||
        end - start <= TH_HEADER_BYTES)
        return NULL;
    heap_t *heap = (heap_t *)(uintptr_t)start;
    heap->start_address = start;
    heap->end_address = end;
    heap->max_address = max;
    heap->supervisor = supervisor;
    heap->readonly = readonly;

    hh_options opt = {0};
    opt.grow = th_grow;
    opt.shrink = th_shrink;
    opt.on_error = th_report;
    opt.ctx = heap;
    opt.max_size = max - start - TH_HEADER_BYTES;
    uint32_t region = start + TH_HEADER_BYTES;
    heap->core = hh_init((void *)(uintptr_t)region, end - region, &opt);
    return heap->core != NULL ? heap : NULL;
}

void *alloc(uint32_t size, uint8_t page_align, heap_t *heap)
{
    return page_align ? hh_alloc_aligned(heap->core, size, TH_PAGE) : hh_alloc(heap->core, size);
}

void free(void *p, heap_t *heap) { hh_free(heap->core, p); }
