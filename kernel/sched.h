/*
 * Kernel threads and a round-robin preemptive scheduler on one CPU. Each
 * thread has its own stack, page-aligned, taken from the kernel heap; the
 * timer interrupt switches to the next ready thread, and thread_yield does the
 * same on request. The thread that ran kmain is thread 0 and never ends.
 */
#ifndef KERNEL_SCHED_H
#define KERNEL_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_THREADS 8
#define THREAD_STACK_SIZE 0x4000u /* 16 KiB */

typedef void (*thread_fn)(void *arg);

/* Make the running code thread 0. Call once, before interrupts are enabled. */
void sched_init(void);

/* Start fn(arg) in a new thread; its id, or -1 when every slot is taken or the
 * heap has no memory for the stack. It runs when the scheduler gets to it. */
int thread_spawn(thread_fn fn, void *arg, const char *name);

/* Give the CPU to the next ready thread now (through the yield vector). */
void thread_yield(void);

/* End the running thread (returning from fn does the same). */
__attribute__((noreturn)) void thread_exit(void);

/* Wait (yielding) until thread id has ended, then free its stack and slot. */
void thread_join(int id);

int thread_current(void);
const char *thread_name(int id);

/* Switches from one thread to another since boot, all and by the timer. */
uint32_t sched_switches(void);
uint32_t sched_preemptions(void);
/* How often the timer took the CPU away from thread id. */
uint32_t thread_preemptions(int id);

/* From irq_dispatch, interrupts off: save esp as the running thread's
 * context, pick the next ready thread, return its saved stack pointer. */
uint32_t sched_switch(uint32_t esp, bool by_timer);

#endif
