/* A program that uses holeheap through CMake (check-cmake): built with
 * add_subdirectory(holeheap) and with find_package(holeheap) after `make
 * install` and after a CMake install. Only the public header is on its path. */
#include <stdalign.h>
#include <stdio.h>

#include "holeheap.h"

static alignas(16) unsigned char region[64 * 1024];

int main(void)
{
    hh_heap *h = hh_init(region, sizeof region, NULL);
    void *p = h ? hh_alloc(h, 100) : NULL;
    void *q = h ? hh_alloc_aligned(h, 200, 256) : NULL;
    if (p == NULL || q == NULL || hh_check(h, NULL) != HH_OK) {
        fprintf(stderr, "FAIL: holeheap through CMake does not work\n");
        return 1;
    }
    hh_free(h, p);
    hh_free(h, q);
    printf("holeheap through CMake (%s): hh_check %s\n", CONSUMER_HOW, hh_code_name(hh_check(h, NULL)));
    return hh_check(h, NULL) == HH_OK ? 0 : 1;
}
