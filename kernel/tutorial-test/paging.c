/*
 * paging.c: the tutorial's paging (chapter 9) in the test kernel, with two
 * differences said where they are: CR0.WP is set (so a read-only page binds the
 * kernel too, and the kit must make its pages writable), and clone_directory
 * finds tablesPhysical's frame instead of assuming the directory's pages are
 * physically contiguous. free_frame keeps the tutorial's bug on purpose: the
 * kit must not depend on it.
 */
#include "paging.h"

#include "kheap.h"
#include "monitor.h"

page_directory_t *kernel_directory = 0, *current_directory = 0;
u32int *frames, nframes;
u32int clones_made, clones_not_contiguous;

#define INDEX_FROM_BIT(a) ((a) / 32u)
#define OFFSET_FROM_BIT(a) ((a) % 32u)

static void set_frame(u32int frame_addr)
{
    u32int frame = frame_addr / 0x1000u;
    frames[INDEX_FROM_BIT(frame)] |= 1u << OFFSET_FROM_BIT(frame);
}

static void clear_frame(u32int frame_addr)
{
    u32int frame = frame_addr / 0x1000u;
    frames[INDEX_FROM_BIT(frame)] &= ~(1u << OFFSET_FROM_BIT(frame));
}

static u32int first_frame(void)
{
    for (u32int i = 0; i < nframes; i++)
        if (!(frames[INDEX_FROM_BIT(i)] & (1u << OFFSET_FROM_BIT(i))))
            return i;
    return 0xFFFFFFFFu;
}

u32int frames_used(void)
{
    u32int used = 0;
    for (u32int i = 0; i < nframes; i++)
        used += (frames[INDEX_FROM_BIT(i)] >> OFFSET_FROM_BIT(i)) & 1u;
    return used;
}

void alloc_frame(page_t *page, int is_kernel, int is_writeable)
{
    if (page->frame != 0)
        return;
    u32int idx = first_frame();
    if (idx == 0xFFFFFFFFu)
        PANIC("No free frames!");
    set_frame(idx * 0x1000u);
    page->present = 1;
    page->rw = is_writeable ? 1 : 0;
    page->user = is_kernel ? 0 : 1;
    page->frame = idx & 0xFFFFFu;
}

/* The tutorial's bug, kept: page->frame is a frame index, clear_frame wants an
 * address, so this frees frame index/4096 (frame 0, mostly) and leaks the page's. */
void free_frame(page_t *page)
{
    u32int frame = page->frame;
    if (!frame)
        return;
    clear_frame(frame);
    page->frame = 0x0;
}

page_t *get_page(u32int address, int make, page_directory_t *dir)
{
    address /= 0x1000u;
    u32int table_idx = address / 1024u;
    if (dir->tables[table_idx])
        return &dir->tables[table_idx]->pages[address % 1024u];
    if (!make)
        return 0;
    u32int tmp;
    dir->tables[table_idx] = (page_table_t *)kmalloc_ap(sizeof(page_table_t), &tmp);
    memset((u8int *)dir->tables[table_idx], 0, 0x1000);
    dir->tablesPhysical[table_idx] = tmp | 0x7u; /* present, rw, user */
    return &dir->tables[table_idx]->pages[address % 1024u];
}

void switch_page_directory(page_directory_t *dir)
{
    current_directory = dir;
    __asm__ __volatile__("mov %0, %%cr3" : : "r"(dir->physicalAddr));
    u32int cr0;
    __asm__ __volatile__("mov %%cr0, %0" : "=r"(cr0));
    cr0 |= 0x80010000u; /* paging, and write protection (the tutorial sets only paging) */
    __asm__ __volatile__("mov %0, %%cr0" : : "r"(cr0));
}

void initialise_paging(void)
{
    nframes = 0x1000000u / 0x1000u;           /* the tutorial assumes 16 MiB */
    frames = (u32int *)kmalloc(nframes / 8u); /* bytes (the tutorial passes INDEX_FROM_BIT: words) */
    memset((u8int *)frames, 0, nframes / 8u);

    kernel_directory = (page_directory_t *)kmalloc_a(sizeof(page_directory_t));
    memset((u8int *)kernel_directory, 0, sizeof(page_directory_t));
    kernel_directory->physicalAddr = (u32int)kernel_directory->tablesPhysical;

    u32int i;
    for (i = KHEAP_START; i < KHEAP_START + KHEAP_INITIAL_SIZE; i += 0x1000u)
        get_page(i, 1, kernel_directory);
    /* Identity-map the kernel and placement memory: user-accessible (the test's
     * ring-3 code runs from .text) and writable (CR0.WP binds the kernel). */
    for (i = 0; i < placement_address + 0x1000u; i += 0x1000u)
        alloc_frame(get_page(i, 1, kernel_directory), 0, 1);
    /* The initial heap pages with the tutorial's flags: user, read-only. */
    for (i = KHEAP_START; i < KHEAP_START + KHEAP_INITIAL_SIZE; i += 0x1000u)
        alloc_frame(get_page(i, 1, kernel_directory), 0, 0);

    switch_page_directory(kernel_directory);
    kheap = create_heap(KHEAP_START, KHEAP_START + KHEAP_INITIAL_SIZE, 0xCFFFF000u, 0, 0);
    current_directory = clone_directory(kernel_directory);
    switch_page_directory(current_directory);
}

/* The frame of the page holding virt, as a physical address. */
static u32int physical_of(u32int virt)
{
    return (u32int)get_page(virt, 0, kernel_directory)->frame * 0x1000u + (virt & 0xFFFu);
}

/* The tutorial's clone_directory for the kernel's tables (linked, not copied;
 * this test kernel has no user tables to copy), into dir, page-aligned, whose
 * first page is at phys. Fixed: physicalAddr is found through the page tables,
 * not as phys + offset, which assumes the second page of the 8196-byte
 * directory sits in the frame after the first. */
void clone_into(page_directory_t *dir, u32int phys, page_directory_t *src)
{
    memset((u8int *)dir, 0, sizeof(page_directory_t));
    u32int offset = (u32int)dir->tablesPhysical - (u32int)dir;
    dir->physicalAddr = physical_of((u32int)dir->tablesPhysical);
    clones_made++;
    if (dir->physicalAddr != phys + offset)
        clones_not_contiguous++;
    for (int i = 0; i < 1024; i++) {
        if (!src->tables[i])
            continue;
        if (kernel_directory->tables[i] != src->tables[i])
            PANIC("clone_directory: user tables are not copied in this test kernel");
        dir->tables[i] = src->tables[i];
        dir->tablesPhysical[i] = src->tablesPhysical[i];
    }
}

page_directory_t *clone_directory(page_directory_t *src)
{
    u32int phys;
    page_directory_t *dir = (page_directory_t *)kmalloc_ap(sizeof(page_directory_t), &phys);
    if (dir)
        clone_into(dir, phys, src);
    return dir;
}
