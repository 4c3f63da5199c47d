/*
 * The early-boot placement allocator: a bump pointer above the kernel image,
 * in identity-mapped memory, that never frees. kmalloc uses it until the
 * kernel heap exists; sealing it hands everything below its end to the frame
 * allocator as used.
 */
#ifndef KERNEL_PLACEMENT_H
#define KERNEL_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void placement_init(uint32_t start, uint32_t limit);
/* size bytes, 16-aligned, or page-aligned if asked; *phys (if not NULL) gets
 * the physical address (the same: this memory is identity-mapped). Panics
 * when the identity-mapped limit is reached or after placement_seal. */
void *placement_alloc(size_t size, bool page_align, uint32_t *phys);
uint32_t placement_end(void);
/* No more placement allocations; returns the final end. */
uint32_t placement_seal(void);
bool placement_sealed(void);

#endif
