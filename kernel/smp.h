/*
 * A second CPU (issue 13, item 4): the local APIC found through CPUID and the
 * APIC base MSR, mapped uncached, and an application processor started with
 * INIT and STARTUP IPIs (the trampoline is ap_boot.s). The AP runs one
 * function with interrupts off; it takes no part in the scheduler.
 */
#ifndef KERNEL_SMP_H
#define KERNEL_SMP_H

#include <stdbool.h>
#include <stdint.h>

#define SMP_MAX_CPUS 2u

/* The page table for the local APIC's page; call before paging_enable. */
void smp_prepare(void);
/* Map the local APIC; false (and a message) if the CPU has none. */
bool smp_init(void);
/* This CPU's local APIC id: 0 for the boot CPU; 0 before smp_init. */
uint32_t cpu_id(void);
/* Start the CPU with this APIC id on entry(), with the stack below
 * stack_top (16-aligned); true once it runs, false after 200 ms. */
bool smp_start_cpu(uint32_t apic_id, void (*entry)(void), uint32_t stack_top);
/* Still in entry()? False once it returned and the CPU halted for good (its
 * stack is then free to go). */
bool smp_cpu_running(void);

#endif
