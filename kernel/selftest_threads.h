/* The concurrent phase of the boot self-test: kernel threads, preempted by the
 * timer, hammer the kernel heap at once. */
#ifndef KERNEL_SELFTEST_THREADS_H
#define KERNEL_SELFTEST_THREADS_H

#include <stdbool.h>
#include <stdint.h>

#define THREADS_TEST_MAX_WORKERS 6u
#define THREADS_TEST_MIN_MS 100u
#define THREADS_TEST_MAX_MS 30000u /* the boot check's timeout is 60 s */

typedef struct threads_test_config {
    uint32_t workers; /* 1 to THREADS_TEST_MAX_WORKERS */
    uint32_t run_ms;  /* how long they allocate before they are told to stop: */
                      /* THREADS_TEST_MIN_MS to THREADS_TEST_MAX_MS */
    uint32_t seed;    /* the workers' random sequences and the timer's jitter */
    bool irq_allocs;  /* the timer interrupt allocates and frees too */
    bool second_cpu;  /* one more worker on CPU 1 (lock KHEAP_LOCK_SMP, qemu -smp 2) */
} threads_test_config;

/* Run the phase, print what happened; returns the number of failed checks. */
uint32_t selftest_threads(const threads_test_config *cfg);

#endif
