/*
 * kmain: descriptor tables, the placement allocator, the frame allocator fed
 * by the multiboot memory map, paging, interrupts (PIC, PIT) and the
 * scheduler, then the self-test (which starts the kernel heap).
 */
#include "console.h"
#include "cpu.h"
#include "interrupts.h"
#include "lib.h"
#include "multiboot.h"
#include "paging.h"
#include "placement.h"
#include "pmm.h"
#include "ports.h"
#include "sched.h"
#include "selftest.h"
#include "smp.h"
#include "timer.h"

#define IDENTITY_END 0x00800000u /* identity-map the low 8 MiB */
#define CMDLINE_MAX 256u

void kmain(uint32_t magic, const multiboot_info *mbi);

extern char kernel_start[], kernel_end[];
static char cmdline[CMDLINE_MAX];

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* Copy the command line (the boot information may lie where placement will write). */
static void save_cmdline(const multiboot_info *mbi)
{
    if ((mbi->flags & MULTIBOOT_INFO_CMDLINE) == 0)
        return;
    const char *s = (const char *)(uintptr_t)mbi->cmdline;
    for (uint32_t i = 0; i + 1u < CMDLINE_MAX && s[i] != '\0'; i++)
        cmdline[i] = s[i];
}

/* Placement memory starts above the kernel and above the boot information. */
static uint32_t first_free_address(const multiboot_info *mbi)
{
    uint32_t end = (uint32_t)(uintptr_t)kernel_end;
    end = max_u32(end, (uint32_t)(uintptr_t)mbi + (uint32_t)sizeof *mbi);
    if (mbi->flags & MULTIBOOT_INFO_MMAP)
        end = max_u32(end, mbi->mmap_addr + mbi->mmap_length);
    return align_up(end, PAGE_SIZE);
}

void kmain(uint32_t magic, const multiboot_info *mbi)
{
    console_init();
    kprintf("holeheap demo kernel, i386, multiboot\n");
    if (magic != MULTIBOOT_BOOT_MAGIC)
        panic("not started by a multiboot boot loader");
    save_cmdline(mbi);
    gdt_init();
    idt_init();
    placement_init(first_free_address(mbi), IDENTITY_END);
    pmm_init(mbi);
    paging_init(IDENTITY_END);
    selftest_prepare();
    smp_prepare();
    paging_enable();
    kprintf("kernel 0x%08x-0x%08x, placement up to 0x%08x, %u KiB identity-mapped, paging on\n",
            (uint32_t)(uintptr_t)kernel_start, (uint32_t)(uintptr_t)kernel_end, placement_end(), IDENTITY_END / 1024u);
    kprintf("frames: %u free of %u (%u available regions in the memory map, %u MiB)\n", pmm_free_frames(),
            pmm_total_frames(), pmm_region_count(), pmm_total_frames() / 256u);
    if (cmdline[0] != '\0')
        kprintf("command line: %s\n", cmdline);
    interrupts_init();
    timer_init();
    sched_init();
    irq_enable();
    kprintf("interrupts on: PIC remapped to vectors %u-%u, PIT at %u Hz, round-robin scheduler\n", IRQ_BASE,
            IRQ_BASE + 15u, TIMER_HZ);
    selftest_run(cmdline);
}
