/* In canary mode a write one byte past a 13-byte request: inside the block's
 * rounding slack, so only the mode's announced size makes it an error. */
#define HEAP_FLAGS HH_CANARY
#include "bug_common.h"

int main(void)
{
    heap_start();
    unsigned char *p = heap_alloc(13);
    p[13] = 1;                    /* BUG */
    ASSERT_HEAP(HH_E_CORRUPT, 1); /* the canary caught the one byte */
    p[13] = 0xCA;                 /* the canary's own byte: the heap itself sees nothing */
    ASSERT_HEAP(HH_OK, 1);
    heap_free(p);
    ASSERT_HEAP(HH_OK, 0);
    return 0;
}
