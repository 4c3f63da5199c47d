#include "klock.h"
#include "console.h"
#include "interrupts.h"
#include "ports.h"
#include "sched.h"
#include "timer.h"

/* Spins with pause before giving the CPU away: on one CPU the holder can only
 * make progress if the waiter yields; on several it might be about to release. */
#define SPINS_BEFORE_YIELD 64u

void irq_lock_acquire(irq_lock *l)
{
    uint32_t flags = irq_save();
    if (l->held)
        panic("irq_lock taken twice: did on_error, grow or shrink call the heap?");
    l->held = 1;
    l->saved_eflags = flags;
    l->acquisitions++;
}

void irq_lock_release(irq_lock *l)
{
    uint32_t flags = l->saved_eflags;
    l->held = 0;
    irq_restore(flags); /* interrupts on again only if they were before acquire */
}

/* Atomically store value in *p; return what it held before (xchg with a
 * memory operand is locked without a lock prefix). */
static uint32_t exchange(volatile uint32_t *p, uint32_t value)
{
    __asm__ __volatile__("xchgl %0, %1" : "+r"(value), "+m"(*p) : : "memory");
    return value;
}

static void atomic_increment(volatile uint32_t *p)
{
    __asm__ __volatile__("lock incl %0" : "+m"(*p) : : "memory", "cc");
}

static void atomic_decrement(volatile uint32_t *p)
{
    __asm__ __volatile__("lock decl %0" : "+m"(*p) : : "memory", "cc");
}

/* Registered as a waiter: spin a little, read-only, then yield; again until
 * the exchange wins. Then record how long that took (we hold the lock). */
static void spin_lock_wait(spin_lock *l)
{
    uint32_t since = timer_ms();
    atomic_increment(&l->waiting);
    do {
        for (uint32_t spins = 1; l->taken != 0; spins++) { /* read, do not write, while taken */
            cpu_relax();
            if (spins % SPINS_BEFORE_YIELD == 0) {
                atomic_increment(&l->wait_yields);
                thread_yield();
            }
        }
    } while (exchange(&l->taken, 1u) != 0);
    atomic_decrement(&l->waiting);
    uint32_t waited = timer_ms() - since;
    if (waited > l->longest_wait_ms) {
        l->longest_wait_ms = waited;
        l->longest_wait_thread = thread_current();
    }
}

void spin_lock_acquire(spin_lock *l)
{
    if (in_interrupt())
        panic("kmalloc/kfree in an interrupt handler: the heap's spinlock hook refuses it "
              "(the interrupted thread may hold the lock); use the interrupt-disabling hook (lock=irq)");
    if (exchange(&l->taken, 1u) != 0) {
        atomic_increment(&l->contentions);
        if (l->owner == thread_current()) /* only this thread could have written its id */
            panic("spin_lock taken twice by one thread: did on_error, grow or shrink call the heap?");
        spin_lock_wait(l);
    }
    l->owner = thread_current();
    l->switches_at_acquire = sched_switches();
    l->acquisitions++;
}

/* After releasing, give the CPU away if a thread waits: otherwise this thread
 * takes the lock again at its next call, before any waiter runs. Not with
 * interrupts off (the caller chose not to be switched out). */
void spin_lock_release(spin_lock *l)
{
    if (sched_switches() != l->switches_at_acquire)
        l->preempted_holding++; /* the timer switched threads while we held it */
    l->owner = -1;
    __asm__ __volatile__("" : : : "memory"); /* the heap's writes first: x86 keeps stores in order */
    l->taken = 0;
    if (l->waiting != 0 && interrupts_enabled()) {
        atomic_increment(&l->release_yields);
        thread_yield();
    }
}

void irqspin_lock_acquire(irqspin_lock *l, uint32_t cpu)
{
    uint32_t flags = irq_save();
    if (exchange(&l->taken, 1u) != 0) {
        atomic_increment(&l->contentions);
        if (l->owner_cpu == (int)cpu) /* only this CPU could have written its id */
            panic("irqspin_lock taken twice on one CPU: did on_error, grow or shrink call the heap?");
        do {
            while (l->taken != 0)
                cpu_relax();
        } while (exchange(&l->taken, 1u) != 0);
    }
    l->owner_cpu = (int)cpu;
    l->saved_eflags = flags;
    l->acquisitions++;
}

void irqspin_lock_release(irqspin_lock *l)
{
    uint32_t flags = l->saved_eflags;
    l->owner_cpu = -1;
    __asm__ __volatile__("" : : : "memory");
    l->taken = 0;
    irq_restore(flags);
}
