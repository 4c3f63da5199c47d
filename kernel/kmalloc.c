#include "kmalloc.h"
#include "console.h"
#include "kheap.h"
#include "paging.h"
#include "placement.h"

/* The physical address comes from the page tables, so it is right for heap
 * memory too (the tutorial's expression lost its high bits to a precedence
 * slip). Only the first page is meant: later pages need not be contiguous. */
static void *kmalloc_internal(size_t size, bool page_align, uint32_t *phys)
{
    hh_heap *h = kheap();
    if (h == NULL)
        return placement_alloc(size, page_align, phys);
    void *p = page_align ? hh_alloc_aligned(h, size, PAGE_SIZE) : hh_alloc(h, size);
    if (p != NULL && phys != NULL && !paging_translate((uint32_t)(uintptr_t)p, phys))
        panic("kmalloc: the heap returned unmapped memory");
    return p;
}

void *kmalloc(size_t size) { return kmalloc_internal(size, false, NULL); }
void *kmalloc_a(size_t size) { return kmalloc_internal(size, true, NULL); }
void *kmalloc_p(size_t size, uint32_t *phys) { return kmalloc_internal(size, false, phys); }
void *kmalloc_ap(size_t size, uint32_t *phys) { return kmalloc_internal(size, true, phys); }

/* Once the heap exists, holeheap judges every pointer (outside the heap,
 * interior, already freed, corrupted) and reports misuse through on_error. */
void kfree(void *p)
{
    if (kheap() != NULL)
        hh_free(kheap(), p);
    else if (p != NULL)
        kprintf("kfree: %p: placement memory is never freed\n", p);
}
