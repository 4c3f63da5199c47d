/*
 * Two-level i386 paging with 4 KiB pages. Low memory is identity-mapped
 * (except page 0, so that NULL faults); page tables for the heap windows are
 * allocated up front, so mapping a page never needs memory itself.
 */
#ifndef KERNEL_PAGING_H
#define KERNEL_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_SIZE 4096u

enum { PAGE_PRESENT = 1u, PAGE_WRITABLE = 2u, PAGE_USER = 4u, PAGE_NO_CACHE = 0x18u /* PCD | PWT */ };

/* Build the page directory and identity-map [PAGE_SIZE, identity_end). */
void paging_init(uint32_t identity_end);
/* Allocate (placement, zeroed) the page tables that cover [virt, virt+bytes). */
void paging_prepare_window(uint32_t virt, uint32_t bytes);
void paging_enable(void);
/* The page directory's physical address (what CR3 holds). */
uint32_t paging_directory_phys(void);
/* Forget every TLB entry of this CPU (reload CR3). paging_unmap flushes only
 * the CPU it runs on: another CPU must flush before it trusts a page that was
 * unmapped and mapped again. */
void paging_flush_tlb(void);
/* How many times paging_flush_tlb ran on this CPU (by local APIC id). */
uint32_t paging_tlb_flushes(uint32_t cpu);

/* Map one page; false if its page table was not prepared or it is mapped. */
bool paging_map(uint32_t virt, uint32_t phys, uint32_t flags);
/* Unmap one page and flush it from the TLB; returns its frame, 0 if unmapped. */
uint32_t paging_unmap(uint32_t virt);
/* The physical address behind virt, if mapped. */
bool paging_translate(uint32_t virt, uint32_t *phys);

/* virt's page flags (PAGE_PRESENT, PAGE_WRITABLE, PAGE_USER); 0 if unmapped. */
uint32_t paging_flags(uint32_t virt);

/* Map fresh frames over [virt, virt+bytes) (page multiples), all or nothing:
 * returns false, having mapped nothing, when frames or tables run out. */
bool paging_map_fresh(uint32_t virt, uint32_t bytes, uint32_t flags);
/* Unmap [virt, virt+bytes) (page multiples) and free the frames behind it. */
void paging_release(uint32_t virt, uint32_t bytes);

#endif
