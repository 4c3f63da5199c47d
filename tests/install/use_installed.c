/* Built against an installed holeheap through pkg-config by check-install:
 * the header and the library must work from the install prefix alone. */
#include <holeheap.h>
#include <stdio.h>

static _Alignas(16) unsigned char region[64 * 1024];

int main(void)
{
    hh_heap *h = hh_init(region, sizeof region, NULL);
    void *p = h ? hh_alloc(h, 100) : NULL;
    if (!p || hh_check(h, NULL) != HH_OK) {
        fprintf(stderr, "FAIL: the installed holeheap does not work\n");
        return 1;
    }
    hh_free(h, p);
    printf("installed holeheap works: hh_check %s\n", hh_code_name(hh_check(h, NULL)));
    return 0;
}
