/*
 * The kernel heap's key (issue 7). The CPU says what it has through CPUID
 * (present when EFLAGS.ID can be toggled): leaf 1 gives RDRAND in ECX bit 30
 * and the time-stamp counter in EDX bit 4. RDRAND sets CF when its value is
 * valid; it may clear it when its entropy source is momentarily drained, so a
 * few retries are allowed (Intel suggests 10). Some CPUs have been seen to
 * return all ones with CF set, so 0 and ~0 count as failures too. Without
 * RDRAND the key comes from the time-stamp counter: several samples, each
 * after a CPUID (serializing, with a latency that varies, a trap to the host
 * under a hypervisor), folded through a 64-bit mixer into 32 bits.
 */
#include "entropy.h"

#include <stdbool.h>

#define EFLAGS_ID (1u << 21)
#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID1_EDX_TSC (1u << 4)
#define RDRAND_TRIES 10u
#define TSC_SAMPLES 16u

typedef struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
} cpuid_regs;

/* CPUID exists iff the ID flag of EFLAGS can be flipped. */
static bool cpuid_present(void)
{
    uint32_t original, flipped;
    __asm__ __volatile__("pushfl\n\t"
                         "pushfl\n\t"
                         "xorl %2, (%%esp)\n\t"
                         "popfl\n\t"
                         "pushfl\n\t"
                         "popl %0\n\t"
                         "movl (%%esp), %1\n\t"
                         "popfl"
                         : "=&r"(flipped), "=&r"(original)
                         : "i"(EFLAGS_ID)
                         : "cc", "memory");
    return ((flipped ^ original) & EFLAGS_ID) != 0;
}

static cpuid_regs cpuid(uint32_t leaf)
{
    cpuid_regs r;
    __asm__ __volatile__("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(0u));
    return r;
}

/* One RDRAND; false when the CPU says (CF clear) the value is not valid. */
static bool rdrand32(uint32_t *out)
{
    uint32_t value;
    uint8_t valid;
    __asm__ __volatile__("rdrand %0\n\t"
                         "setc %1"
                         : "=r"(value), "=qm"(valid)
                         :
                         : "cc");
    *out = value;
    return valid != 0;
}

static uint64_t rdtsc(void)
{
    uint32_t low, high;
    __asm__ __volatile__("rdtsc" : "=a"(low), "=d"(high));
    return (uint64_t)high << 32 | low;
}

/* A bijective 64-bit mixer (the splitmix64 finalizer). */
/* A copy of port/port.h's hhp_mix64: the kernel's own files see only include/ and kernel/. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 31;
    return x;
}

static uint32_t fold32(uint64_t x) { return (uint32_t)x ^ (uint32_t)(x >> 32); }

static bool key_from_rdrand(uint32_t *key)
{
    for (uint32_t i = 0; i < RDRAND_TRIES; i++)
        if (rdrand32(key) && *key != 0u && *key != 0xFFFFFFFFu)
            return true;
    return false;
}

static uint32_t key_from_tsc(void)
{
    uint64_t state = 0;
    for (uint32_t i = 0; i < TSC_SAMPLES; i++) {
        state = mix64(state ^ rdtsc());
        (void)cpuid(0);
    }
    uint32_t key = fold32(state);
    for (uint64_t more = 1; key == 0u; more++)
        key = fold32(mix64(state + more));
    return key;
}

uint32_t entropy_key(entropy_source *source)
{
    cpuid_regs leaf1 = {0, 0, 0, 0};
    if (cpuid_present() && cpuid(0).eax >= 1u)
        leaf1 = cpuid(1);
    bool has_rdrand = (leaf1.ecx & CPUID1_ECX_RDRAND) != 0;
    uint32_t key;
    if (has_rdrand && key_from_rdrand(&key)) {
        *source = ENTROPY_RDRAND;
        return key;
    }
    if (leaf1.edx & CPUID1_EDX_TSC) {
        *source = has_rdrand ? ENTROPY_TSC_RDRAND_FAILED : ENTROPY_TSC;
        return key_from_tsc();
    }
    *source = ENTROPY_FIXED;
    return 0x6A09E667u;
}

const char *entropy_source_name(entropy_source source)
{
    switch (source) {
    case ENTROPY_RDRAND: return "RDRAND";
    case ENTROPY_TSC: return "the time-stamp counter (no RDRAND)";
    case ENTROPY_TSC_RDRAND_FAILED: return "the time-stamp counter (RDRAND gave no valid value)";
    default: return "none: a fixed key (no RDRAND, no time-stamp counter)";
    }
}
