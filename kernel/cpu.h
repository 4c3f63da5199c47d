/* The GDT (flat kernel code and data) and the IDT (CPU exceptions only). */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include <stdint.h>

/* What the exception stubs in boot.s push, lowest address first. */
typedef struct exception_frame {
    uint32_t edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error_code;
    uint32_t eip, cs, eflags;
} exception_frame;

void gdt_init(void);
void idt_init(void);
void exception_handler(const exception_frame *frame);

#endif
