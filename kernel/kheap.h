/*
 * The kernel heap: holeheap over a virtual window at 0xC0000000 that starts
 * with 1 MiB of mapped frames and grows up to 16 MiB by mapping more, and
 * shrinks by unmapping pages and returning their frames.
 */
#ifndef KERNEL_KHEAP_H
#define KERNEL_KHEAP_H

#include <stddef.h>
#include <stdint.h>

#include "holeheap.h"
#include "klock.h"

#define KHEAP_START 0xC0000000u
#define KHEAP_INITIAL_SIZE 0x00100000u /* 1 MiB */
#define KHEAP_MAX_SIZE 0x01000000u     /* 16 MiB */

/* The heap's callback context: what grow and shrink did (for the self-test
 * to compare with the frame allocator's own count) and what on_error saw. */
typedef struct kheap_state {
    uint32_t start;                          /* the window's first address */
    uint32_t mapped_end;                     /* everything in [start, mapped_end) is mapped */
    uint32_t limit;                          /* start + the heap's maximum size */
    uint32_t frames_mapped, frames_returned; /* by grow and shrink, not at creation */
    uint32_t grow_calls, shrink_calls, callback_errors;
    uint32_t problems[HH_E_COUNT]; /* reported through on_error, by code */
    uint32_t problem_total;
    hh_problem last_problem;
    irq_lock irq; /* the lock hooks' state: one of them is in use */
    spin_lock spin;
    irqspin_lock smp;
    volatile uint32_t tlb_generation; /* shrink calls that unmapped pages */
    uint32_t tlb_seen[2];             /* per CPU: the generation its TLB has caught up with */
    uint32_t tlb_catchups[2];         /* per CPU: lock acquisitions that found it behind */
} kheap_state;

/* Which lock holeheap's lock/unlock hooks take (see klock.h). */
typedef enum kheap_lock {
    KHEAP_LOCK_SPIN, /* a spinlock, preemptible, counts contention; no heap calls in interrupts */
    KHEAP_LOCK_IRQ,  /* interrupts off while the heap works; heap calls in interrupts are fine */
    KHEAP_LOCK_SMP   /* both, for two CPUs; each CPU flushes its TLB after a shrink elsewhere */
} kheap_lock;

/* Map the initial pages, start holeheap on them with these hh_options.flags
 * (0, or HH_CHECK_ALWAYS | HH_POISON for a hardened heap) and this lock;
 * the heap takes over kmalloc. */
void kheap_init(uint32_t flags, kheap_lock lock);
kheap_lock kheap_lock_kind(void);
hh_heap *kheap(void); /* NULL until kheap_init */
const kheap_state *kheap_counts(void);

#endif
