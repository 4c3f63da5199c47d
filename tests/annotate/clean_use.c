/*
 * No bug: every call of the API on heaps in each mode, every block used to
 * its last byte, everything freed. valgrind and ASan must stay silent, so
 * the announcements of mk/tools_annotate.mk raise no false alarm (the core's
 * own accesses to tags, holes, the front and canaries are exempt).
 */
#include <stdint.h>
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

/* Two regions: the memory between them stays the program's (nothing is
 * announced over it), and blocks in both are used to their last byte. */
static void regions_leave_the_memory_between_alone(void)
{
    static _Alignas(16) unsigned char two[3 << 17];
    hh_heap *h = hh_init(two, 1 << 17, NULL);
    if (!h || hh_add_region(h, two + (2 << 17), 1 << 17) != 0)
        fail("two regions");
    memset(two + (1 << 17) + 64, 7, (1 << 17) - 128);
    churn(h);
    unsigned sum = 0;
    for (size_t i = (1 << 17) + 64; i < (2 << 17) - 64; i++)
        sum += two[i];
    if (sum != 7u * ((1u << 17) - 128u))
        fail("the memory between regions changed");
}

/* A trace hook sees every call; hh_realloc_aligned keeps its alignment. */
static size_t traced;
static void count_event(void *ctx, const hh_trace_event *ev)
{
    (void)ctx;
    (void)ev;
    traced++;
}

static void hooks_and_realloc_aligned(void)
{
    hh_options o = {.on_trace = count_event};
    hh_heap *h = hh_init(region, sizeof region, &o);
    if (!h)
        fail("init hooked");
    churn(h);
    unsigned char *p = hh_alloc_aligned(h, 100, 256);
    if (!p)
        fail("aligned");
    memset(p, 3, 100);
    unsigned char *q = hh_realloc_aligned(h, p, 9000, 4096);
    if (!q || (uintptr_t)q % 4096 != 0 || q[99] != 3)
        fail("realloc_aligned");
    use_block(h, q, 9000, 5);
    hh_free(h, q);
    if (traced == 0)
        fail("no trace events");
}

/* A realloc whose freed tail or old block is trimmed through shrink: the
 * memory given back is the caller's again after the call, as after hh_free
 * (the announcement of the realloc must not hide it again). */
static void realloc_trim_gives_back(int aligned)
{
    hh_options g = {.grow = grow_into, .shrink = shrink_back, .max_size = sizeof growable};
    hh_heap *h = hh_init(growable, (size_t)1 << 16, &g);
    unsigned char *low = hh_alloc(h, (size_t)200 << 10); /* grows the heap */
    unsigned char *p = hh_alloc(h, (size_t)600 << 10);   /* ...and again, at its end */
    if (!h || !low || !p)
        fail("grow");
    hh_free(h, low); /* room below p for an aligned block */
    memset(p, 1, 100);
    unsigned char *q = aligned ? hh_realloc_aligned(h, p, 100, (size_t)1 << 16) : hh_realloc(h, p, 100);
    if (!q || q[99] != 1)
        fail("realloc that trims");
    hh_stats s;
    hh_stats_get(h, &s);
    if (s.region_bytes > (size_t)500 << 10)
        fail("the heap was not trimmed");
    memset(growable + s.region_bytes + 4096, 9, (size_t)300 << 10); /* the caller's memory again */
    hh_free(h, q);
}

/* Canary mode: a small block moved by realloc keeps every byte the program
 * wrote defined for memcheck (the old block is freed only after its
 * definedness was copied). */
static void canary_realloc_keeps_small_contents_defined(void)
{
    hh_options o = {.flags = HH_CANARY};
    hh_heap *h = hh_init(region, sizeof region, &o);
    for (size_t n = 1; n <= 24; n++) {
        unsigned char *a = hh_alloc(h, n), *pin = hh_alloc(h, 100);
        if (!a || !pin)
            fail("alloc");
        memset(a, 1, n);
        unsigned char *q = hh_realloc(h, a, 696);
        if (!q || q == a)
            fail("realloc did not move");
        unsigned sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += q[i];
        if (sum != n) /* a branch on every byte: memcheck sees an undefined one */
            fail("realloc lost the contents");
        hh_free(h, q);
        hh_free(h, pin);
    }
}

int main(void)
{
    realloc_trim_gives_back(0);
    realloc_trim_gives_back(1);
    canary_realloc_keeps_small_contents_defined();
    realloc_keeps_contents_defined();
    regions_leave_the_memory_between_alone();
    hooks_and_realloc_aligned();
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
