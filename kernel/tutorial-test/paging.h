/* paging.h: the tutorial's paging interface (chapter 9), for the test kernel. */
#ifndef PAGING_H
#define PAGING_H

#include "common.h"

typedef struct page {
    u32int present : 1;
    u32int rw : 1;
    u32int user : 1;
    u32int accessed : 1;
    u32int dirty : 1;
    u32int unused : 7;
    u32int frame : 20;
} page_t;

typedef struct page_table {
    page_t pages[1024];
} page_table_t;

typedef struct page_directory {
    page_table_t *tables[1024];  /* virtual addresses of the tables */
    u32int tablesPhysical[1024]; /* what CR3 points at: the tables' physical addresses */
    u32int physicalAddr;         /* the physical address of tablesPhysical */
} page_directory_t;

void initialise_paging(void);
void switch_page_directory(page_directory_t *new_dir);
page_t *get_page(u32int address, int make, page_directory_t *dir);
page_directory_t *clone_directory(page_directory_t *src);
void clone_into(page_directory_t *dir, u32int phys, page_directory_t *src); /* its second half */

void alloc_frame(page_t *page, int is_kernel, int is_writeable);
void free_frame(page_t *page); /* the tutorial's, bug kept: see paging.c */

extern page_directory_t *kernel_directory, *current_directory;
extern u32int *frames, nframes;

/* What the test reads: used frames, and clones whose tablesPhysical did not
 * sit in the frame after the directory's first one (the tutorial's formula
 * would have given CR3 a wrong frame). */
u32int frames_used(void);
extern u32int clones_made, clones_not_contiguous;

#endif
