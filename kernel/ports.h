/* x86 port I/O and a few privileged instructions. */
#ifndef KERNEL_PORTS_H
#define KERNEL_PORTS_H

#include <stdbool.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t value)
{
    __asm__ __volatile__("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t value;
    __asm__ __volatile__("inb %1, %0" : "=a"(value) : "Nd"(port));
    return value;
}

static inline uint32_t read_cr2(void)
{
    uint32_t v;
    __asm__ __volatile__("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline void invlpg(uint32_t virt) { __asm__ __volatile__("invlpg (%0)" : : "r"(virt) : "memory"); }

#define EFLAGS_IF 0x200u /* interrupts enabled */

/* Disable interrupts and return EFLAGS as it was, for irq_restore. */
static inline uint32_t irq_save(void)
{
    uint32_t flags;
    __asm__ __volatile__("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
    return flags;
}

/* Put EFLAGS back as irq_save found it: interrupts on again only if they were. */
static inline void irq_restore(uint32_t flags)
{
    __asm__ __volatile__("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}

/* Are interrupts on (EFLAGS.IF)? */
static inline bool interrupts_enabled(void)
{
    uint32_t flags;
    __asm__ __volatile__("pushfl; popl %0" : "=r"(flags));
    return (flags & EFLAGS_IF) != 0;
}

static inline void irq_enable(void) { __asm__ __volatile__("sti" : : : "memory"); }

/* Wait for the next interrupt (interrupts must be on). */
static inline void cpu_halt(void) { __asm__ __volatile__("hlt" : : : "memory"); }

/* The spin-wait hint: lets a sibling hyperthread run, saves power. */
static inline void cpu_relax(void) { __asm__ __volatile__("pause" : : : "memory"); }

#endif
