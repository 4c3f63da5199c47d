/*
 * Randomness for the kernel heap's key: RDRAND when the CPU has it, else the
 * time-stamp counter, mixed. Never 0 (hh_init takes 0 for its public default).
 */
#ifndef KERNEL_ENTROPY_H
#define KERNEL_ENTROPY_H

#include <stdint.h>

typedef enum entropy_source {
    ENTROPY_RDRAND,            /* CPUID.1:ECX[30], and RDRAND gave a value */
    ENTROPY_TSC,               /* no RDRAND: RDTSC samples, mixed */
    ENTROPY_TSC_RDRAND_FAILED, /* RDRAND never gave a valid value: the TSC */
    ENTROPY_FIXED,             /* neither instruction: a fixed key (a 486 has no TSC) */
} entropy_source;

/* A random non-zero 32-bit key; *source says where it came from. */
uint32_t entropy_key(entropy_source *source);
/* "RDRAND", "the time-stamp counter", ... */
const char *entropy_source_name(entropy_source source);

#endif
