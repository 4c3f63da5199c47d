/* A block never freed, its last pointer dropped. */
#include "bug_common.h"

static void lose_a_block(void)
{
    unsigned char *p = heap_alloc(100); /* BUG */
    p[0] = 1;
    sink = p[0];
}

int main(void)
{
    heap_start();
    lose_a_block();
    ASSERT_HEAP(HH_OK, 1); /* the heap still holds the lost block */
    return 0;
}
