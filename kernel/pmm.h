/*
 * Physical frame allocator: one bit per 4 KiB frame below 4 GiB, fed by the
 * multiboot memory map. Frames below 1 MiB are never handed out.
 */
#ifndef KERNEL_PMM_H
#define KERNEL_PMM_H

#include <stdint.h>

#include "multiboot.h"

#define FRAME_SIZE 4096u

/* The bitmap comes from the placement allocator. */
void pmm_init(const multiboot_info *mbi);
/* Mark the frames that overlap [start, end) as used. */
void pmm_reserve(uint32_t start, uint32_t end);
/* A free frame's physical address, or 0 when none is left. */
uint32_t pmm_alloc(void);
/* Give a frame back; freeing a frame that is not in use panics. */
void pmm_free(uint32_t phys);
uint32_t pmm_free_frames(void);
uint32_t pmm_total_frames(void);
/* Available regions the memory map listed. */
uint32_t pmm_region_count(void);

#endif
