/*
 * The two locks this kernel can give holeheap as its lock/unlock hooks.
 *
 * irq_lock: disables interrupts (saving EFLAGS) and puts them back as they
 * were. On one CPU nothing else can run while it is held, so it never waits:
 * a heap call from an interrupt handler is safe under it (the handler cannot
 * have interrupted a holder: a holder has interrupts off).
 *
 * spin_lock: a test-and-set spinlock (xchg) that leaves interrupts on, so a
 * holder can be preempted; a thread that finds it taken counts one contention,
 * registers as a waiter and waits, yielding the CPU so that the holder can
 * finish. A holder that releases it while someone waits yields the CPU at once
 * (when its interrupts are on): plain test-and-set lets the running thread
 * take the lock again at its next call, and a waiter then gets it only if the
 * timer happens to switch between two calls (seen: one thread 15 calls in
 * 1.5 s, another 686, the boot thread's hh_check held off for 6 s). It refuses
 * (panics) when taken in an interrupt handler: the interrupted thread may be
 * the holder, and the handler would wait for it forever.
 *
 * Not a ticket lock: with preemption on one CPU, a fair lock hands the lock to
 * the next ticket even when that thread is not running, and once a holder has
 * been preempted every later acquisition waits for a switch (a lock convoy:
 * tried here, it made nearly every heap call a context switch). Test-and-set
 * lets the running thread take a free lock at once.
 */
#ifndef KERNEL_KLOCK_H
#define KERNEL_KLOCK_H

#include <stdint.h>

typedef struct irq_lock {
    uint32_t saved_eflags; /* the holder's, from before cli */
    volatile uint32_t held;
    uint32_t acquisitions;
} irq_lock;

void irq_lock_acquire(irq_lock *l);
void irq_lock_release(irq_lock *l);

typedef struct spin_lock {
    volatile uint32_t taken; /* 0 free, 1 taken: set with xchg */
    volatile int owner;      /* the holder's thread id, -1 when free */
    uint32_t acquisitions;
    volatile uint32_t contentions; /* acquisitions that found the lock taken */
    uint32_t preempted_holding;    /* holds during which the holder was switched out */
    uint32_t switches_at_acquire;
    volatile uint32_t waiting;        /* threads waiting for it now */
    volatile uint32_t wait_yields;    /* times a waiter gave the CPU away (the waits) */
    volatile uint32_t release_yields; /* releases that yielded to a waiter */
    uint32_t longest_wait_ms;         /* the longest one acquisition waited (timer ms) */
    int longest_wait_thread;
} spin_lock;

/* Kept on one line by hand (clang-format would spread it over four). */
/* clang-format off */
#define SPIN_LOCK_INIT {0, -1, 0, 0, 0, 0, 0, 0, 0, 0, -1}
/* clang-format on */

void spin_lock_acquire(spin_lock *l);
void spin_lock_release(spin_lock *l);

/* For several CPUs: interrupts off (saved EFLAGS), then test-and-set. The
 * holder cannot be preempted, so waiters spin without yielding, and heap
 * calls from interrupt handlers are fine again (a handler waits only for a
 * holder on another CPU, which is running). */
typedef struct irqspin_lock {
    volatile uint32_t taken;
    volatile int owner_cpu; /* -1 when free */
    uint32_t saved_eflags;  /* the holder's */
    uint32_t acquisitions;
    volatile uint32_t contentions;
} irqspin_lock;

/* clang-format off */
#define IRQSPIN_LOCK_INIT {0, -1, 0, 0, 0}
/* clang-format on */

void irqspin_lock_acquire(irqspin_lock *l, uint32_t cpu);
void irqspin_lock_release(irqspin_lock *l);

#endif
