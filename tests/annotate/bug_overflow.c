/* A write one byte past a 48-byte block: onto its footer (the system malloc: its redzone). */
#include "bug_common.h"

int main(void)
{
    heap_start();
    unsigned char *p = heap_alloc(48);
    unsigned char *next = heap_alloc(48);
    p[48] = 1;                    /* BUG */
    ASSERT_HEAP(HH_E_CORRUPT, 2); /* p's footer no longer equals its header (I5) */
    heap_free(next);              /* refused: p's footer now says hole (state 1), and a merge would trust it */
    heap_free(p);                 /* refused: p's own footer */
    ASSERT_HEAP(HH_E_CORRUPT, 2);
    return 0;
}
