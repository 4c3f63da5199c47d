/*
 * The tutorial's kernel allocation interface. Before kheap_init these carve
 * from the placement allocator (and kfree cannot give that back); afterwards
 * they are holeheap calls on the kernel heap. Unlike the tutorial's versions,
 * which return u32int, these return pointers; when the heap cannot grow any
 * more they return NULL instead of panicking.
 */
#ifndef KERNEL_KMALLOC_H
#define KERNEL_KMALLOC_H

#include <stddef.h>
#include <stdint.h>

void *kmalloc(size_t size);                    /* 8-aligned at least */
void *kmalloc_a(size_t size);                  /* page-aligned */
void *kmalloc_p(size_t size, uint32_t *phys);  /* *phys: physical address of the start */
void *kmalloc_ap(size_t size, uint32_t *phys); /* both */
void kfree(void *p);

#endif
