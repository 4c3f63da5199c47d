/*
 * Hardware interrupts: the two 8259 PICs remapped to vectors 32-47 (the CPU's
 * exceptions own 0-31), IRQ 0 (the timer) unmasked, and the yield vector 48
 * that threads raise with `int` to give up the CPU. Every one of them enters
 * irq_dispatch through the stubs in irq.s, which may switch threads.
 */
#ifndef KERNEL_INTERRUPTS_H
#define KERNEL_INTERRUPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu.h"

#define IRQ_BASE 32u
#define YIELD_VECTOR 48u /* 0x30: also in sched.c's `int $0x30` */

/* Remap the PICs, mask every IRQ but the timer's, install the gates.
 * Interrupts stay off until the caller runs irq_enable(). */
void interrupts_init(void);

/* Called by irq.s with the interrupted context's frame; returns the stack
 * pointer to resume (the frame of the thread the scheduler picked). */
uint32_t irq_dispatch(exception_frame *frame);

/* True while the CPU runs an interrupt handler (irq_dispatch and below). */
bool in_interrupt(void);

/* IRQs 7 and 15 the PICs raised without cause, and were not acknowledged. */
uint32_t spurious_irqs(void);

#endif
