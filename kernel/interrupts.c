/*
 * The 8259 PIC pair, remapped: master IRQs 0-7 at vectors 32-39, slave IRQs
 * 8-15 at 40-47. Only IRQ 0 (the PIT) is unmasked. irq_dispatch acknowledges
 * the interrupt first (end of interrupt), then runs the timer and asks the
 * scheduler which thread resumes; the handler runs with interrupts off (an
 * interrupt gate), so handlers never nest.
 */
#include "interrupts.h"
#include "console.h"
#include "ports.h"
#include "sched.h"
#include "timer.h"

#define PIC1_COMMAND 0x20u
#define PIC1_DATA 0x21u
#define PIC2_COMMAND 0xA0u
#define PIC2_DATA 0xA1u
#define PIC_EOI 0x20u
#define PIC_READ_ISR 0x0Bu
#define ICW1_INIT_WITH_ICW4 0x11u
#define ICW4_8086 0x01u
#define SLAVE_ON_IRQ2 0x04u  /* master: a slave hangs on line 2 */
#define SLAVE_IDENTITY 0x02u /* slave: you are on the master's line 2 */
#define IRQ_TIMER 0u
#define IRQ_SPURIOUS_MASTER 7u
#define IRQ_SPURIOUS_SLAVE 15u
#define IRQ_COUNT 16u

extern const uint32_t irq_stubs[IRQ_COUNT + 1u]; /* irq.s: vectors 32-48 */

static volatile uint32_t nesting;
static uint32_t spurious;

/* A write to an unused port: gives the old PICs time between commands. */
static void io_wait(void) { outb(0x80, 0); }

static void pic_remap(void)
{
    outb(PIC1_COMMAND, ICW1_INIT_WITH_ICW4);
    io_wait();
    outb(PIC2_COMMAND, ICW1_INIT_WITH_ICW4);
    io_wait();
    outb(PIC1_DATA, (uint8_t)IRQ_BASE); /* ICW2: vector offsets */
    io_wait();
    outb(PIC2_DATA, (uint8_t)(IRQ_BASE + 8u));
    io_wait();
    outb(PIC1_DATA, SLAVE_ON_IRQ2); /* ICW3: the cascade */
    io_wait();
    outb(PIC2_DATA, SLAVE_IDENTITY);
    io_wait();
    outb(PIC1_DATA, ICW4_8086); /* ICW4: 8086 mode */
    io_wait();
    outb(PIC2_DATA, ICW4_8086);
    io_wait();
    outb(PIC1_DATA, (uint8_t)(~(1u << IRQ_TIMER))); /* masks: the timer only */
    outb(PIC2_DATA, 0xFFu);
}

void interrupts_init(void)
{
    pic_remap();
    for (uint32_t i = 0; i <= IRQ_COUNT; i++)
        idt_set_gate((uint8_t)(IRQ_BASE + i), irq_stubs[i]);
}

/* Is the IRQ really in service? The PICs raise IRQ 7 (15) when a request
 * vanished before it was acknowledged; such a one must get no EOI from its
 * own PIC (a spurious 15 still needs one from the master, for the cascade). */
static bool genuine(uint32_t irq)
{
    if (irq != IRQ_SPURIOUS_MASTER && irq != IRQ_SPURIOUS_SLAVE)
        return true;
    uint16_t command = irq == IRQ_SPURIOUS_MASTER ? PIC1_COMMAND : PIC2_COMMAND;
    outb(command, PIC_READ_ISR);
    if (inb(command) & 0x80u)
        return true;
    spurious++;
    if (irq == IRQ_SPURIOUS_SLAVE)
        outb(PIC1_COMMAND, PIC_EOI);
    return false;
}

static void end_of_interrupt(uint32_t irq)
{
    if (irq >= 8u)
        outb(PIC2_COMMAND, PIC_EOI);
    outb(PIC1_COMMAND, PIC_EOI);
}

uint32_t irq_dispatch(exception_frame *frame)
{
    uint32_t esp = (uint32_t)(uintptr_t)frame;
    nesting++;
    if (frame->vector == YIELD_VECTOR) {
        esp = sched_switch(esp, false);
    } else {
        uint32_t irq = frame->vector - IRQ_BASE;
        if (genuine(irq)) {
            end_of_interrupt(irq); /* before a switch: the next thread may not come back here */
            if (irq == IRQ_TIMER) {
                timer_tick();
                esp = sched_switch(esp, true);
            }
        }
    }
    nesting--;
    return esp;
}

bool in_interrupt(void) { return nesting != 0; }
uint32_t spurious_irqs(void) { return spurious; }
