/*
 * kheap.h: the classic kernel tutorial's kheap.h, on holeheap.
 *
 * Replaces the tutorial's kheap.h, kheap.c, ordered_array.h and ordered_array.c
 * (copy this directory's four files over them) and keeps every name the
 * tutorial's other files use: heap_t, kheap, placement_address, create_heap,
 * alloc, free, kmalloc_int, kmalloc, kmalloc_a, kmalloc_p, kmalloc_ap, kfree
 * and the KHEAP_ and HEAP_ constants. Add holeheap.h and the files of src/ to the build;
 * nothing else changes. docs/kernel.md is the procedure, tested by
 * kernel/tutorial-test.
 *
 * What the heap takes from the tutorial's paging.c: kernel_directory,
 * get_page, page_t, and the frame bitset (frames, nframes), which the kit reads
 * and writes itself: it never calls alloc_frame (no frame left: an empty panic
 * branch) or free_frame (clears the bit of the wrong frame).
 */
#ifndef KHEAP_H
#define KHEAP_H

#include "common.h"

#define KHEAP_START 0xC0000000
#define KHEAP_INITIAL_SIZE 0x100000
#define HEAP_INDEX_SIZE 0x20000 /* unused: holeheap keeps its index inside the holes */
#define HEAP_MAGIC 0x123890AB   /* mixed into holeheap's key */
#define HEAP_MIN_SIZE 0x70000   /* unused: the heap never shrinks below its initial size */

struct hh_heap;

typedef struct {
    struct hh_heap *core;   /* holeheap, after this heap_t and the window's page tables */
    u32int start_address;   /* this heap_t sits here */
    u32int end_address;     /* mapped up to here; moves as the heap grows and shrinks */
    u32int max_address;     /* growth stops here: create_heap's max, capped to physical memory */
    u8int supervisor;       /* as create_heap was asked; pages are mapped supervisor-only anyway */
    u8int readonly;         /* always 0: create_heap panics on a read-only heap */
    u32int frames_mapped;   /* frames taken by growth, in all */
    u32int frames_returned; /* frames given back by shrinking, in all */
    u32int grow_refusals;   /* growths refused (no frame or no page table left) */
    u32int saved_eflags;    /* the lock: interrupts off while the heap works */
    u32int freeing;         /* the block free() is freeing, to name it in a report */
} heap_t;

extern heap_t *kheap;
extern u32int placement_address;

/* Start a heap in [start, end), already mapped (initialise_paging maps the
 * initial pages), growing up to max; all three page-aligned. Remaps those pages
 * supervisor-only and writable, creates the page tables of the whole window
 * from the region's first pages (so growth never allocates and a later
 * clone_directory shares them) and panics with a message when it cannot. */
heap_t *create_heap(u32int start, u32int end, u32int max, u8int supervisor, u8int readonly);

/* size bytes, page-aligned if page_align; 0 (reported, never a panic) when the
 * heap cannot grow to fit it. */
void *alloc(u32int size, u8int page_align, heap_t *heap);

/* p 0 does nothing; a pointer that is not a live block, or a block whose tags
 * were overwritten, is reported (naming the block) and left alone. */
void free(void *p, heap_t *heap);

u32int kmalloc_int(u32int sz, int align, u32int *phys);
u32int kmalloc_a(u32int sz);                /* page-aligned */
u32int kmalloc_p(u32int sz, u32int *phys);  /* *phys: the physical address of the first byte */
u32int kmalloc_ap(u32int sz, u32int *phys); /* page-aligned, *phys */
u32int kmalloc(u32int sz);
void kfree(void *p);

/* ---- additions of the kit ---- */

/* Walk the heap (hh_check); 0 if consistent, else the problem's HH_E_ code,
 * printed, naming the damaged block and the bytes past its end. */
int kheap_check(heap_t *heap);

/* Give every frame above the heap's initial size back (hh_trim). */
void kheap_trim(heap_t *heap);

/* A kernel stack of size bytes from the heap, page-aligned, followed by a
 * KSTACK_GUARD-byte guard filled with a pattern: esp0 = the result + size. */
#define KSTACK_GUARD 16
u32int kmalloc_stack(u32int size);

/* Bytes of the guard above the stack [stack, stack + size) that no longer
 * hold the pattern (0: intact); reported when not 0. Call it at every task
 * switch: it sees an overrun long before the stack is freed. */
u32int kstack_overrun(u32int stack, u32int size);

#endif
