#include "paging.h"
#include "console.h"
#include "lib.h"
#include "placement.h"
#include "pmm.h"
#include "ports.h"
#include "smp.h"

#define ENTRIES 1024u
#define FRAME_MASK 0xFFFFF000u
#define CR0_PAGING (1u << 31)
#define CR0_WRITE_PROTECT (1u << 16)

static uint32_t *directory;
static uint32_t directory_phys;

static uint32_t dir_index(uint32_t virt) { return virt >> 22; }
static uint32_t table_index(uint32_t virt) { return (virt >> 12) & (ENTRIES - 1u); }

/* Page tables live in identity-mapped memory, so their physical address is
 * also where the kernel reads them. */
static uint32_t *table_of(uint32_t virt)
{
    uint32_t pde = directory[dir_index(virt)];
    return (pde & PAGE_PRESENT) ? (uint32_t *)(uintptr_t)(pde & FRAME_MASK) : NULL;
}

static void prepare_table(uint32_t virt)
{
    if (table_of(virt) != NULL)
        return;
    uint32_t phys;
    uint32_t *table = placement_alloc(PAGE_SIZE, true, &phys);
    memset(table, 0, PAGE_SIZE);
    directory[dir_index(virt)] = phys | PAGE_PRESENT | PAGE_WRITABLE;
}

void paging_prepare_window(uint32_t virt, uint32_t bytes)
{
    if (bytes == 0)
        return;
    for (uint32_t i = dir_index(virt); i <= dir_index(virt + (bytes - 1u)); i++)
        prepare_table(i << 22);
}

void paging_init(uint32_t identity_end)
{
    directory = placement_alloc(PAGE_SIZE, true, &directory_phys);
    memset(directory, 0, PAGE_SIZE);
    paging_prepare_window(0, identity_end);
    for (uint32_t v = PAGE_SIZE; v < identity_end; v += PAGE_SIZE)
        paging_map(v, v, PAGE_PRESENT | PAGE_WRITABLE);
}

void paging_enable(void)
{
    uint32_t cr0;
    __asm__ __volatile__("mov %0, %%cr3" : : "r"(directory_phys) : "memory");
    __asm__ __volatile__("mov %%cr0, %0" : "=r"(cr0));
    cr0 |= CR0_PAGING | CR0_WRITE_PROTECT;
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0) : "memory");
}

uint32_t paging_directory_phys(void) { return directory_phys; }

static volatile uint32_t tlb_flushes[SMP_MAX_CPUS];

void paging_flush_tlb(void)
{
    __asm__ __volatile__("mov %0, %%cr3" : : "r"(directory_phys) : "memory");
    uint32_t cpu = cpu_id();
    if (cpu < SMP_MAX_CPUS)
        tlb_flushes[cpu]++; /* only this CPU writes its count */
}

uint32_t paging_tlb_flushes(uint32_t cpu) { return cpu < SMP_MAX_CPUS ? tlb_flushes[cpu] : 0u; }

bool paging_map(uint32_t virt, uint32_t phys, uint32_t flags)
{
    uint32_t *table = table_of(virt);
    if (table == NULL || (table[table_index(virt)] & PAGE_PRESENT))
        return false;
    table[table_index(virt)] = (phys & FRAME_MASK) | flags | PAGE_PRESENT;
    invlpg(virt);
    return true;
}

uint32_t paging_unmap(uint32_t virt)
{
    uint32_t *table = table_of(virt);
    if (table == NULL || !(table[table_index(virt)] & PAGE_PRESENT))
        return 0;
    uint32_t frame = table[table_index(virt)] & FRAME_MASK;
    table[table_index(virt)] = 0;
    invlpg(virt);
    return frame;
}

bool paging_translate(uint32_t virt, uint32_t *phys)
{
    uint32_t *table = table_of(virt);
    if (table == NULL || !(table[table_index(virt)] & PAGE_PRESENT))
        return false;
    *phys = (table[table_index(virt)] & FRAME_MASK) | (virt & (PAGE_SIZE - 1u));
    return true;
}

uint32_t paging_flags(uint32_t virt)
{
    uint32_t *table = table_of(virt);
    return table == NULL ? 0 : table[table_index(virt)] & (PAGE_PRESENT | PAGE_WRITABLE | PAGE_USER);
}

bool paging_map_fresh(uint32_t virt, uint32_t bytes, uint32_t flags)
{
    for (uint32_t done = 0; done < bytes; done += PAGE_SIZE) {
        uint32_t frame = pmm_alloc();
        if (frame != 0 && paging_map(virt + done, frame, flags))
            continue;
        if (frame != 0)
            pmm_free(frame);
        paging_release(virt, done);
        return false;
    }
    return true;
}

void paging_release(uint32_t virt, uint32_t bytes)
{
    for (uint32_t done = 0; done < bytes; done += PAGE_SIZE) {
        uint32_t frame = paging_unmap(virt + done);
        if (frame == 0)
            panic("paging_release: page not mapped");
        pmm_free(frame);
    }
}
