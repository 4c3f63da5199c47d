/*
 * Starting an application processor, as the Intel SDM's MP initialisation
 * describes it: copy a real-mode trampoline below 1 MiB, on a page boundary;
 * send INIT, wait 10 ms, send STARTUP with the trampoline's page number, wait,
 * and send STARTUP once more if the AP has not said it runs.
 */
#include "smp.h"
#include "console.h"
#include "cpu.h"
#include "lib.h"
#include "paging.h"
#include "ports.h"
#include "timer.h"

#define LAPIC_BASE 0xFEE00000u /* where every PC puts it; the MSR must agree */
#define MSR_APIC_BASE 0x1Bu
#define MSR_APIC_GLOBAL_ENABLE (1u << 11)
#define CPUID_EDX_APIC (1u << 9)
#define LAPIC_ID 0x020u
#define LAPIC_ICR_LOW 0x300u
#define LAPIC_ICR_HIGH 0x310u
#define ICR_INIT_ASSERT 0x00004500u /* INIT, level assert */
#define ICR_STARTUP 0x00004600u     /* STARTUP; the low byte is the start page */
#define ICR_PENDING 0x00001000u     /* delivery status: the IPI is not sent yet */
#define AP_BASE 0x8000u             /* ap_boot.s says the same */

extern char ap_trampoline_start[], ap_trampoline_end[];
extern char ap_gdt_pointer[], ap_cr3[], ap_stack[], ap_entry[];

static volatile uint32_t *lapic;
static void (*volatile ap_function)(void);
static volatile uint32_t ap_running;

static uint32_t lapic_read(uint32_t reg) { return lapic[reg / 4u]; }
static void lapic_write(uint32_t reg, uint32_t v) { lapic[reg / 4u] = v; }

static bool cpu_has_apic(void)
{
    uint32_t a = 1, b, c = 0, d;
    __asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (d & CPUID_EDX_APIC) != 0;
}

static uint32_t apic_base_msr(void)
{
    uint32_t low, high;
    __asm__ __volatile__("rdmsr" : "=a"(low), "=d"(high) : "c"(MSR_APIC_BASE));
    (void)high;
    return low;
}

void smp_prepare(void) { paging_prepare_window(LAPIC_BASE, PAGE_SIZE); }

bool smp_init(void)
{
    if (lapic != NULL)
        return true;
    if (!cpu_has_apic()) {
        kprintf("smp: this CPU has no local APIC\n");
        return false;
    }
    uint32_t msr = apic_base_msr();
    if ((msr & 0xFFFFF000u) != LAPIC_BASE || (msr & MSR_APIC_GLOBAL_ENABLE) == 0) {
        kprintf("smp: the local APIC is at 0x%08x%s, not 0x%08x\n", msr & 0xFFFFF000u,
                (msr & MSR_APIC_GLOBAL_ENABLE) ? "" : " (disabled)", LAPIC_BASE);
        return false;
    }
    if (!paging_map(LAPIC_BASE, LAPIC_BASE, PAGE_WRITABLE | PAGE_NO_CACHE))
        return false;
    lapic = (volatile uint32_t *)(uintptr_t)LAPIC_BASE;
    return true;
}

uint32_t cpu_id(void) { return lapic != NULL ? lapic_read(LAPIC_ID) >> 24 : 0u; }

static void send_ipi(uint32_t apic_id, uint32_t command)
{
    lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    lapic_write(LAPIC_ICR_LOW, command);
    while (lapic_read(LAPIC_ICR_LOW) & ICR_PENDING)
        cpu_relax();
}

/* Interrupts are on on the boot CPU: hlt waits for the next tick. */
static void wait_ms(uint32_t ms)
{
    uint32_t start = timer_ms();
    while (timer_ms() - start < ms)
        cpu_halt();
}

/* Where the trampoline lands: the AP's first C code. When the function
 * returns, the AP says so and halts in the same instructions, touching its
 * stack no more: from then on the stack may be freed. */
__attribute__((noreturn)) static void ap_main(void)
{
    idt_load();
    ap_running = 1;
    ap_function();
    __asm__ __volatile__("movl $0, %0\n1: cli\n hlt\n jmp 1b" : "=m"(ap_running) : : "memory");
    __builtin_unreachable();
}

bool smp_cpu_running(void) { return ap_running != 0; }

static void *trampoline_word(const char *label)
{
    return (void *)(uintptr_t)(AP_BASE + (uint32_t)(label - ap_trampoline_start));
}

bool smp_start_cpu(uint32_t apic_id, void (*entry)(void), uint32_t stack_top)
{
    if (lapic == NULL)
        return false;
    uint32_t size = (uint32_t)(ap_trampoline_end - ap_trampoline_start);
    memcpy((void *)(uintptr_t)AP_BASE, ap_trampoline_start, size);
    uint16_t limit;
    uint32_t base;
    gdt_describe(&limit, &base);
    memcpy(trampoline_word(ap_gdt_pointer), &limit, sizeof limit);
    memcpy((char *)trampoline_word(ap_gdt_pointer) + 2, &base, sizeof base);
    uint32_t cr3 = paging_directory_phys(), entry_address = (uint32_t)(uintptr_t)ap_main;
    memcpy(trampoline_word(ap_cr3), &cr3, sizeof cr3);
    memcpy(trampoline_word(ap_stack), &stack_top, sizeof stack_top);
    memcpy(trampoline_word(ap_entry), &entry_address, sizeof entry_address);
    ap_function = entry;
    ap_running = 0;
    __asm__ __volatile__("" : : : "memory");

    send_ipi(apic_id, ICR_INIT_ASSERT);
    wait_ms(10);
    for (uint32_t attempt = 0; attempt < 2u && !ap_running; attempt++) {
        send_ipi(apic_id, ICR_STARTUP | (AP_BASE >> 12));
        wait_ms(10);
    }
    for (uint32_t waited = 0; waited < 200u && !ap_running; waited += 10u)
        wait_ms(10);
    return ap_running != 0;
}
