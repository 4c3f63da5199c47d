/*
 * No bug: every call of the API on heaps in each mode, every block used to
 * its last byte, everything freed. valgrind and ASan must stay silent, so
 * the announcements of mk/tools_annotate.mk raise no false alarm (the core's
 * own accesses to tags, holes, the front and canaries are exempt).
 */
#include <stdlib.h>
#include <string.h>

#include "holeheap.h"

#define SLOTS 64

static _Alignas(16) unsigned char region[1 << 18];
static _Alignas(16) unsigned char growable[1 << 20];

/* Growth from the rest of `growable`, trimming back into it. */
static size_t grow_into(void *ctx, void *end, size_t min_bytes)
{
    (void)ctx;
    size_t room = (size_t)(growable + sizeof growable - (unsigned char *)end);
    return min_bytes <= room ? min_bytes : 0;
}

static size_t shrink_back(void *ctx, void *new_end, size_t bytes)
{
    (void)ctx;
    (void)new_end;
    return bytes;
}

static void fail(const char *what)
{
    (void)what;
    abort();
}

/* Fill every usable byte, read every byte back. */
static void use_block(hh_heap *h, unsigned char *p, size_t n, unsigned char v)
{
    size_t usable = hh_usable_size(h, p);
    if (usable < n)
        fail("usable size below the request");
    memset(p, v, usable);
    for (size_t i = 0; i < usable; i++)
        if (p[i] != v)
            fail("a block lost its contents");
}

static size_t size_for(unsigned i) { return (size_t)(i * 37u % 700u) + (i % 5u == 0 ? 3000u : 0u); }

static void churn(hh_heap *h)
{
    unsigned char *slot[SLOTS] = {0};
    for (unsigned round = 0; round < 2000; round++) {
        unsigned i = (round * 7u) % SLOTS;
        size_t n = size_for(round);
        switch (round % 5u) {
        case 0:
            hh_free(h, slot[i]);
            slot[i] = hh_alloc(h, n);
            break;
        case 1: slot[i] = slot[i] ? hh_realloc(h, slot[i], n + 1) : hh_calloc(h, 1, n + 1); break;
        case 2:
            hh_free(h, slot[i]);
            slot[i] = hh_alloc_aligned(h, n, (size_t)64 << (round % 4u));
            break;
        case 3:
            hh_free(h, slot[i]);
            slot[i] = hh_calloc(h, 3, n / 3 + 1);
            break;
        default:
            if (slot[i])
                slot[i] = hh_realloc(h, slot[i], n / 4 + 1);
            break;
        }
        if (slot[i])
            use_block(h, slot[i], 1, (unsigned char)round);
        if (round % 500u == 0 && hh_check(h, NULL) != 0)
            fail("heap inconsistent");
    }
    for (unsigned i = 0; i < SLOTS; i++)
        hh_free(h, slot[i]);
    hh_trim(h);
    if (hh_check(h, NULL) != 0)
        fail("heap inconsistent at the end");
}

/* What a block held survives a moving realloc as written, for memcheck too:
 * a branch on it must not be "uninitialised". */
static void realloc_keeps_contents_defined(void)
{
    hh_heap *h = hh_init(region, sizeof region, NULL);
    unsigned char *p = hh_alloc(h, 100);
    unsigned char *pin = hh_alloc(h, 16); /* p cannot grow in place */
    memset(p, 1, 100);
    unsigned char *q = hh_realloc(h, p, 5000);
    if (!q || q == p)
        fail("realloc did not move");
    unsigned sum = 0;
    for (size_t i = 0; i < 100; i++)
        sum += q[i];
    if (sum != 100)
        fail("realloc lost the contents");
    hh_free(h, q);
    hh_free(h, pin);
}

int main(void)
{
    realloc_keeps_contents_defined();
    static const uint32_t modes[] = {0, HH_STRICT, HH_POISON, HH_CANARY, HH_CANARY | HH_POISON, HH_CHECK_ALWAYS};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        hh_options o = {.flags = modes[m]};
        hh_heap *h = hh_init(region, sizeof region, &o);
        if (!h)
            fail("init");
        churn(h);
    }
    hh_options g = {.grow = grow_into, .shrink = shrink_back, .max_size = sizeof growable};
    hh_heap *h = hh_init(growable, (size_t)1 << 16, &g);
    if (!h)
        fail("init growable");
    churn(h);
    hh_stats s;
    hh_stats_get(h, &s);
    return s.blocks == 0 ? 0 : 1;
}
