#include "placement.h"
#include "console.h"
#include "lib.h"

#define PLACEMENT_ALIGN 16u
#define PAGE_SIZE 4096u

static uint32_t next_free, limit_end;
static bool sealed;

void placement_init(uint32_t start, uint32_t limit)
{
    next_free = align_up(start, PLACEMENT_ALIGN);
    limit_end = limit;
    sealed = false;
}

/* An address that is already page-aligned stays where it is (the tutorial's
 * placement allocator bumped it by a whole page). */
void *placement_alloc(size_t size, bool page_align, uint32_t *phys)
{
    if (sealed)
        panic("placement_alloc after the kernel heap took over");
    uint32_t at = align_up(next_free, page_align ? PAGE_SIZE : PLACEMENT_ALIGN);
    if (size > limit_end - at)
        panic("placement allocator ran past the identity-mapped memory");
    next_free = align_up(at + (uint32_t)size, PLACEMENT_ALIGN);
    if (phys != NULL)
        *phys = at;
    return (void *)(uintptr_t)at;
}

uint32_t placement_end(void) { return next_free; }

uint32_t placement_seal(void)
{
    sealed = true;
    return next_free;
}

bool placement_sealed(void) { return sealed; }
