/* descriptor_tables.h: GDT (kernel and user segments, a TSS), IDT, as in the
 * tutorial's chapter 10: set_kernel_stack sets the TSS's esp0. */
#ifndef DESCRIPTOR_TABLES_H
#define DESCRIPTOR_TABLES_H

#include "common.h"

void init_descriptor_tables(void);
void set_kernel_stack(u32int stack);

/* What an exception stub saved (pusha, then the vector, the error code and
 * what the CPU pushed). */
typedef struct registers {
    u32int edi, esi, ebp, esp, ebx, edx, ecx, eax;
    u32int int_no, err_code;
    u32int eip, cs, eflags, useresp, ss;
} registers_t;

/* Ring 3 for a moment (boot.s): iret to user code that makes int 0x80 (which
 * records its stack pointer, on esp0's stack, in int80_esp) and int 0x81,
 * which comes back here as if enter_user returned. */
void enter_user(u32int user_esp);
extern u32int int80_esp;

#endif
