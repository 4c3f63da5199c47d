/* A write one byte past a 48-byte block: onto its footer (the system malloc: its redzone). */
#include "bug_common.h"

int main(void)
{
    heap_start();
    unsigned char *p = heap_alloc(48);
    unsigned char *next = heap_alloc(48);
    p[48] = 1; /* BUG */
    heap_free(next);
    heap_free(p);
    return 0;
}
