/* The GDT (flat kernel code and data) and the IDT (CPU exceptions; the
 * hardware interrupts are added by interrupts.c). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <stdint.h>

/* What the exception stubs in boot.s and the interrupt stubs in irq.s push,
 * lowest address first. */
typedef struct exception_frame {
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;
} exception_frame;

void gdt_init(void);
void idt_init(void);
/* Load the IDT on this CPU (an application processor shares the BSP's). */
void idt_load(void);
/* The GDT's limit and base, for an application processor's lgdt. */
void gdt_describe(uint16_t *limit, uint32_t *base);
/* Point vector at handler through a ring-0 interrupt gate. */
void idt_set_gate(uint8_t vector, uint32_t handler);
void exception_handler(const exception_frame *frame);

#endif
