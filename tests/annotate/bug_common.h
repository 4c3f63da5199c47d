/*
 * Shared by the one-bug programs run under valgrind and ASan (mk/tools_annotate.mk):
 * a heap in a static region, or (with -DON_SYSTEM_MALLOC) the system malloc,
 * so that the tool's report on both can be compared. Each program marks the
 * line of its bug with the comment BUG; the check finds that line in the
 * tool's report.
 */
#ifndef HH_BUG_COMMON_H
#define HH_BUG_COMMON_H

#include <stdlib.h>

#include "holeheap.h"

#ifdef ON_SYSTEM_MALLOC
#define heap_alloc(n) malloc(n)
#define heap_free(p) free(p)
static inline void heap_start(void) {}
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
#define heap_alloc(n) hh_alloc(heap, n)
#define heap_free(p) hh_free(heap, p)
#endif

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
