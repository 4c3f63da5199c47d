/* A hosted program built from the single-file holeheap alone (holeheap.c and
 * holeheap.h from `make amalgamation`, nothing of src/ or include/), run by
 * check-amalgamation with each index: allocations, frees, a realloc, an
 * aligned block and hh_check after each step; a double free must be reported. */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "holeheap.h"

static alignas(16) unsigned char region[256 * 1024];
static int problems;

static void count_problem(void *ctx, const hh_problem *p)
{
    (void)ctx;
    (void)p;
    problems++;
}

static int fail(const char *what)
{
    fprintf(stderr, "FAIL: amalgamation: %s\n", what);
    return 1;
}

int main(void)
{
    hh_options opt = {.on_error = count_problem, .key = 0x5eed1234u};
    hh_heap *h = hh_init(region, sizeof region, &opt);
    if (h == NULL)
        return fail("hh_init");
    unsigned char *p[64];
    for (size_t i = 0; i < 64; i++) {
        p[i] = hh_alloc(h, 16 + i * 40);
        if (p[i] == NULL)
            return fail("hh_alloc");
        memset(p[i], (int)i, 16 + i * 40);
    }
    for (size_t i = 0; i < 64; i += 2)
        hh_free(h, p[i]);
    if (hh_check(h, NULL) != HH_OK)
        return fail("hh_check after frees");
    p[1] = hh_realloc(h, p[1], 5000);
    void *a = hh_alloc_aligned(h, 300, 4096);
    if (p[1] == NULL || a == NULL || (uintptr_t)a % 4096 != 0)
        return fail("hh_realloc or hh_alloc_aligned");
    for (size_t i = 0; i < 56; i++)
        if (p[1][i] != 1)
            return fail("realloc lost the block's contents");
    hh_free(h, a);
    hh_free(h, a);
    if (problems != 1 || hh_check(h, NULL) != HH_OK)
        return fail("a double free was not reported once, or the heap is not consistent");
    for (size_t i = 1; i < 64; i += 2)
        hh_free(h, p[i]);
    hh_stats st;
    hh_stats_get(h, &st);
    if (hh_check(h, NULL) != HH_OK || st.blocks != 0)
        return fail("blocks left after freeing all");
    printf("amalgamation: 66 allocations, 1 double free reported, hh_check %s\n", hh_code_name(hh_check(h, NULL)));
    return 0;
}
