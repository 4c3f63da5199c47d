/*
 * make demo: a heap on a static buffer, a small workload, then what holeheap
 * can tell about itself: stats, the consistency check, a map of the region,
 * and two caught mistakes (a double free and a write past a block's end).
 */
#include <stdio.h>
#include <string.h>

#include "holeheap.h"

static _Alignas(16) unsigned char region[256 * 1024];

static void print_problem(void *ctx, const hh_problem *p)
{
    (void)ctx;
    printf("  caught: %-16s at %p: %s\n", hh_code_name(p->code), p->where, p->what);
}

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static unsigned rng(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static void print_state(hh_heap *h, const char *when)
{
    hh_stats s;
    hh_problem pr;
    char map[4 * 64 + 1];
    hh_stats_get(h, &s);
    int rc = hh_check(h, &pr);
    size_t cells = hh_map_text(h, map, sizeof map, 4 * 64);
    printf("%s\n", when);
    printf("  region %zu B: %zu blocks using %zu B, %zu holes with %zu B free, largest hole %zu B, peak used %zu B\n",
           s.region_bytes, s.blocks, s.used_bytes, s.holes, s.free_bytes, s.largest_hole, s.peak_used_bytes);
    printf("  hh_check: %s (%s)\n", hh_code_name(rc), pr.what);
    printf("  map (%zu cells, # block . hole + both = control):\n", cells);
    for (size_t row = 0; row < cells; row += 64)
        printf("    |%.64s|\n", map + row);
}

int main(void)
{
    hh_options opt = {.on_error = print_problem, .key = 0xC0FFEEu};
    hh_heap *h = hh_init(region, sizeof region, &opt);
    if (!h) {
        fprintf(stderr, "hh_init failed\n");
        return 1;
    }
    print_state(h, "fresh heap on a 256 KiB static buffer:");

    void *live[200] = {0};
    for (int step = 0; step < 5000; step++) {
        unsigned i = rng(200);
        if (live[i]) {
            hh_free(h, live[i]);
            live[i] = NULL;
        } else if (rng(8) == 0) {
            live[i] = hh_alloc_aligned(h, 1 + rng(3000), 4096);
        } else {
            live[i] = hh_alloc(h, 1 + rng(1500));
        }
        if (live[i])
            memset(live[i], (int)i, 1);
    }
    print_state(h, "\nafter 5000 random alloc/aligned alloc/free steps:");

    printf("\nmistakes a program makes, and what holeheap says:\n");
    void *p = hh_alloc(h, 100);
    hh_free(h, p);
    hh_free(h, p); /* double free */
    char *q = hh_alloc(h, 40);
    memset(q, 'x', hh_usable_size(h, q) + 4); /* overflows into the footer */
    hh_free(h, q);
    hh_problem pr;
    int rc = hh_check(h, &pr);
    printf("  hh_check now: %s at %p: %s\n", hh_code_name(rc), pr.where, pr.what);
    return rc == HH_E_CORRUPT ? 0 : 1;
}
