/*
 * Shared by the one-bug programs run under valgrind and ASan (mk/tools_annotate.mk):
 * a heap in a static region, or (with -DON_SYSTEM_MALLOC) the system malloc,
 * so that the tool's report on both can be compared. Each program marks the
 * line of its bug with the comment BUG; the check finds that line in the
 * tool's report. Each program also asserts what holeheap itself sees of its
 * bug (ASSERT_HEAP: hh_check's code, the blocks it holds); a failed
 * assertion prints "EXPECT FAILED" and main returns 3, which expect.sh
 * refuses.
 * (Under ASan the program stops at its bug, before those assertions.)
 */
#ifndef HH_BUG_COMMON_H
#define HH_BUG_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "holeheap.h"

#ifdef ON_SYSTEM_MALLOC
#define heap_alloc(n) need(malloc(n))
#define heap_free(p) free(p)
static inline void heap_start(void) {}
#define ASSERT_HEAP(code, blocks) ((void)0) /* the tool's report is what expect.sh asserts */
#else
static hh_heap *heap;
static _Alignas(16) unsigned char region[1 << 16];
#ifndef HEAP_FLAGS
#define HEAP_FLAGS 0u
#endif
static inline void heap_start(void)
{
    hh_options o = {.flags = HEAP_FLAGS};
    heap = hh_init(region, sizeof region, &o);
    if (!heap)
        abort();
}
#define heap_alloc(n) need(hh_alloc(heap, n))
#define heap_free(p) hh_free(heap, p)

/* Does hh_check give code, and does the program hold `blocks` blocks? */
static inline int heap_is(int code, size_t blocks)
{
    hh_stats st;
    int got = hh_check(heap, NULL);
    hh_stats_get(heap, &st);
    if (got != code || st.blocks != blocks) {
        fprintf(stderr, "EXPECT FAILED: hh_check %s (expected %s), %zu blocks (expected %zu)\n", hh_code_name(got),
                hh_code_name(code), st.blocks, blocks);
        return 0;
    }
    return 1;
}

/* In main: fail the program (status 3) unless the heap is as expected. */
#define ASSERT_HEAP(code, blocks) \
    do { \
        if (!heap_is((code), (blocks))) \
            return 3; \
    } while (0)
#endif

/* Every allocation of these programs must succeed. */
static inline unsigned char *need(void *p)
{
    if (!p) {
        fprintf(stderr, "EXPECT FAILED: an allocation returned NULL\n");
        exit(3);
    }
    return p;
}

/* Keeps a value alive so that the compiler cannot drop the faulty access. */
static volatile unsigned char sink;

/* The same pointer, through a volatile, so that the compiler cannot see the
 * bug at build time (gcc's -Wuse-after-free would refuse the program). */
static inline unsigned char *unseen(unsigned char *p)
{
    unsigned char *volatile v = p;
    return v;
}

#endif /* HH_BUG_COMMON_H */
