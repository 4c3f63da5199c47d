/*
 * The word patterns the damage tests write into every live block
 * (tests/test_corrupt.c, fuzz/fuzz_corrupt.c): each word depends on the
 * block's seed (mix64 of its number) and its offset, so a tag, link or hole
 * header written into a block is seen wherever it lands, and bytes copied to
 * another offset (a realloc that moved them wrong) too.
 */
#ifndef HH_PATTERN64_H
#define HH_PATTERN64_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The splitmix64 finalizer: a bijection in which every bit depends on all. */
static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Word k of the pattern seeded s: s + k * PATTERN64_STEP, one add a word
 * (an odd step: the words of one block never repeat). */
#define PATTERN64_STEP 0x9E3779B97F4A7C15u

static inline void pattern64_fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t w = seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8, w += PATTERN64_STEP)
        memcpy(p + i, &w, 8);
    memcpy(p + i, &w, n - i);
}

/* The offset of the first byte that differs from the pattern, or n. */
static inline size_t pattern64_diff(const unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t w = seed, got;
    size_t i = 0;
    for (; i + 32 <= n; i += 32, w += 4 * PATTERN64_STEP) { /* four words a compare */
        uint64_t g[4];
        memcpy(g, p + i, 32);
        if ((g[0] ^ w) | (g[1] ^ (w + PATTERN64_STEP)) | (g[2] ^ (w + 2 * PATTERN64_STEP)) |
            (g[3] ^ (w + 3 * PATTERN64_STEP)))
            break;
    }
    for (; i + 8 <= n; i += 8, w += PATTERN64_STEP) {
        memcpy(&got, p + i, 8);
        if (got != w)
            break;
    }
    const unsigned char *e = (const unsigned char *)&w;
    for (size_t k = 0; k < 8 && i + k < n; k++)
        if (p[i + k] != e[k])
            return i + k;
    return n;
}

#endif /* HH_PATTERN64_H */
