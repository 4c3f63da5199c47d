/* The boot self-test: exercises kmalloc, the kernel heap and tutorial_heap.h,
 * prints the verdict and leaves QEMU with KEXIT_PASS or KEXIT_FAIL. */
#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

/* Page tables for the test's own windows; call before paging_enable. */
void selftest_prepare(void);
/* Runs everything, kheap_init included. "fault-test" in cmdline ends the run
 * by reading the first page past the heap's end, which must fault. */
__attribute__((noreturn)) void selftest_run(const char *cmdline);

#endif
