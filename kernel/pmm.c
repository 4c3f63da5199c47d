#include "pmm.h"
#include "console.h"
#include "lib.h"
#include "placement.h"

#define LOW_MEMORY_END 0x100000u
#define ADDRESS_LIMIT 0x100000000ull

static uint32_t *used_bits; /* bit set: frame in use or not RAM */
static uint32_t frame_count, free_count, search_from, region_count;

static bool frame_used(uint32_t f) { return (used_bits[f / 32u] >> (f % 32u) & 1u) != 0; }

static void set_used(uint32_t f, bool used)
{
    if (frame_used(f) == used)
        return;
    if (used) {
        used_bits[f / 32u] |= 1u << (f % 32u);
        free_count--;
    } else {
        used_bits[f / 32u] &= ~(1u << (f % 32u));
        free_count++;
    }
}

/* Call visit(start, end) for every available region, clipped below 4 GiB. */
static void each_available(const multiboot_info *mbi, void (*visit)(uint64_t, uint64_t))
{
    if ((mbi->flags & MULTIBOOT_INFO_MMAP) == 0) {
        if ((mbi->flags & MULTIBOOT_INFO_MEMORY) == 0)
            panic("the boot loader gave no memory information");
        visit(LOW_MEMORY_END, LOW_MEMORY_END + (uint64_t)mbi->mem_upper * 1024u);
        return;
    }
    uint32_t at = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;
    while (at < end) {
        multiboot_mmap_entry e;
        memcpy(&e, (const void *)(uintptr_t)at, sizeof e);
        uint64_t top = e.addr + e.len;
        if (e.type == MULTIBOOT_MEMORY_AVAILABLE && e.addr < ADDRESS_LIMIT)
            visit(e.addr, top < ADDRESS_LIMIT ? top : ADDRESS_LIMIT);
        at += e.size + (uint32_t)sizeof e.size;
    }
}

static uint64_t highest_ram;

static void note_highest(uint64_t start, uint64_t end)
{
    (void)start;
    if (end > highest_ram)
        highest_ram = end;
}

/* Free every frame that lies entirely inside [start, end). */
static void free_region(uint64_t start, uint64_t end)
{
    uint64_t first = (start + FRAME_SIZE - 1u) / FRAME_SIZE, stop = end / FRAME_SIZE;
    region_count++;
    for (uint64_t f = first; f < stop && f < frame_count; f++)
        set_used((uint32_t)f, false);
}

void pmm_init(const multiboot_info *mbi)
{
    each_available(mbi, note_highest);
    frame_count = (uint32_t)(highest_ram / FRAME_SIZE);
    uint32_t words = (frame_count + 31u) / 32u;
    used_bits = placement_alloc(words * sizeof *used_bits, false, NULL);
    memset(used_bits, 0xFF, words * sizeof *used_bits);
    free_count = 0;
    each_available(mbi, free_region);
    pmm_reserve(0, LOW_MEMORY_END);
    search_from = 0;
}

void pmm_reserve(uint32_t start, uint32_t end)
{
    for (uint32_t f = start / FRAME_SIZE; f < frame_count && f * FRAME_SIZE < end; f++)
        set_used(f, true);
}

/* Next fit: the search resumes where the last one stopped. */
uint32_t pmm_alloc(void)
{
    for (uint32_t n = 0; n < frame_count; n++) {
        uint32_t f = (search_from + n) % frame_count;
        if (!frame_used(f)) {
            set_used(f, true);
            search_from = f + 1u;
            return f * FRAME_SIZE;
        }
    }
    return 0;
}

void pmm_free(uint32_t phys)
{
    uint32_t f = phys / FRAME_SIZE;
    if (phys % FRAME_SIZE != 0 || f >= frame_count || !frame_used(f) || phys < LOW_MEMORY_END)
        panic("pmm_free: not a frame in use");
    set_used(f, false);
}

uint32_t pmm_free_frames(void) { return free_count; }
uint32_t pmm_total_frames(void) { return frame_count; }
uint32_t pmm_region_count(void) { return region_count; }
