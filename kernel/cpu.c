/*
 * Descriptor tables. Every CPU exception is fatal in this kernel: the handler
 * prints what happened (for a page fault: the faulting address from CR2 and
 * the error code spelled out), then leaves QEMU with KEXIT_FAULT and halts.
 * The hardware interrupts' gates are set by interrupts.c (idt_set_gate).
 */
#include "cpu.h"
#include "console.h"
#include "ports.h"

#define KERNEL_CODE_SELECTOR 0x08u
#define INTERRUPT_GATE 0x8Eu /* present, ring 0, 32-bit interrupt gate */
#define PAGE_FAULT_VECTOR 14u

typedef struct __attribute__((packed)) descriptor_pointer {
    uint16_t limit;
    uint32_t base;
} descriptor_pointer;

typedef struct __attribute__((packed)) gdt_entry {
    uint16_t limit_low, base_low;
    uint8_t base_mid, access, limit_high_and_flags, base_high;
} gdt_entry;

typedef struct __attribute__((packed)) idt_entry {
    uint16_t offset_low, selector;
    uint8_t zero, type;
    uint16_t offset_high;
} idt_entry;

void gdt_load(const descriptor_pointer *p);
extern const uint32_t exception_stubs[32];

static gdt_entry gdt[3];
static idt_entry idt[256];

/* A flat 4 GiB segment with 4 KiB granularity and 32-bit operands. */
static gdt_entry flat_segment(uint8_t access)
{
    gdt_entry e = {0xFFFF, 0, 0, access, 0xCF, 0};
    return e;
}

void gdt_init(void)
{
    gdt[1] = flat_segment(0x9A); /* kernel code: present, ring 0, executable, readable */
    gdt[2] = flat_segment(0x92); /* kernel data: present, ring 0, writable */
    descriptor_pointer p = {sizeof gdt - 1u, (uint32_t)(uintptr_t)gdt};
    gdt_load(&p);
}

void gdt_describe(uint16_t *limit, uint32_t *base)
{
    *limit = sizeof gdt - 1u;
    *base = (uint32_t)(uintptr_t)gdt;
}

/* An interrupt gate: the CPU clears IF on entry, iret restores it. */
void idt_set_gate(uint8_t vector, uint32_t handler)
{
    idt[vector].offset_low = (uint16_t)(handler & 0xFFFFu);
    idt[vector].offset_high = (uint16_t)(handler >> 16);
    idt[vector].selector = KERNEL_CODE_SELECTOR;
    idt[vector].zero = 0;
    idt[vector].type = INTERRUPT_GATE;
}

void idt_init(void)
{
    for (uint32_t v = 0; v < 32u; v++)
        idt_set_gate((uint8_t)v, exception_stubs[v]);
    idt_load();
}

void idt_load(void)
{
    descriptor_pointer p = {sizeof idt - 1u, (uint32_t)(uintptr_t)idt};
    __asm__ __volatile__("lidt %0" : : "m"(p));
}

static void print_page_fault(const exception_frame *f)
{
    uint32_t e = f->error_code;
    kprintf("page fault at 0x%08x, error code 0x%x (%s, %s, %s mode%s), eip 0x%08x\n", read_cr2(), e,
            (e & 1u) ? "protection violation" : "page not present", (e & 2u) ? "write" : "read",
            (e & 4u) ? "user" : "supervisor", (e & 16u) ? ", instruction fetch" : "", f->eip);
}

void exception_handler(const exception_frame *frame)
{
    console_emergency(); /* the fault may have hit inside kprintf, its lock held */
    if (frame->vector == PAGE_FAULT_VECTOR)
        print_page_fault(frame);
    else
        kprintf("CPU exception %u, error code 0x%x, eip 0x%08x\n", frame->vector, frame->error_code, frame->eip);
    kprintf("halting\n");
    kernel_exit(KEXIT_FAULT);
}
