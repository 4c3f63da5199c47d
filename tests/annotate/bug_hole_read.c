/* A read 64 bytes past a 32-byte block, inside the free memory after it. */
#include "bug_common.h"

int main(void)
{
    heap_start();
    unsigned char *p = heap_alloc(32);
    sink = p[32 + 64]; /* BUG */
    ASSERT_HEAP(HH_OK, 1);
    heap_free(p);
    ASSERT_HEAP(HH_OK, 0);
    return 0;
}
