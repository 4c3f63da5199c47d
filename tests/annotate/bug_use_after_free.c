/* A read of a block after it was freed. */
#include "bug_common.h"

int main(void)
{
    heap_start();
    unsigned char *p = heap_alloc(40);
    unsigned char *keep = heap_alloc(40); /* p does not merge into the free space */
    p[3] = 7;
    unsigned char *stale = unseen(p);
    heap_free(p);
    sink = stale[3];       /* BUG */
    ASSERT_HEAP(HH_OK, 1); /* a read changes nothing the heap checks */
    heap_free(keep);
    ASSERT_HEAP(HH_OK, 0);
    return 0;
}
