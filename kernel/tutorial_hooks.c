/* This kernel's side of tutorial_heap.h: pages come from paging.c and pmm.c. */
#include "console.h"
#include "paging.h"
#include "tutorial_heap.h"

int tutorial_heap_map_page(uint32_t virt, int supervisor, int readonly)
{
    uint32_t flags = (supervisor ? 0u : PAGE_USER) | (readonly ? 0u : PAGE_WRITABLE);
    return paging_map_fresh(virt, PAGE_SIZE, flags) ? 0 : -1;
}

void tutorial_heap_unmap_page(uint32_t virt) { paging_release(virt, PAGE_SIZE); }

void tutorial_heap_problem(const char *code_name, const void *where, const char *what)
{
    kprintf("tutorial heap: %s at %p: %s\n", code_name, where, what != NULL ? what : "");
}
