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
    sink = stale[3]; /* BUG */
    heap_free(keep);
    return 0;
}
