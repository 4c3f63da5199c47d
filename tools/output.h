/* Output files: opened with a clear error, closed with every write checked. */
#ifndef TOOLS_OUTPUT_H
#define TOOLS_OUTPUT_H

#include <stdio.h>

#include "heapmap.h"

/* NULL after printing "holeheap: cannot write PATH: reason". */
FILE *output_open(const char *path);

/* 0, or -1 after printing the error and removing the partial file (only a
 * regular file: a symlink or a device named by PATH stays). */
int output_close(FILE *f, const char *path);

/* Text safe inside XML and HTML. */
void put_escaped(FILE *f, const char *s);

/* The pictures (svg.c, html.c); each returns 0 or -1 (error printed). */
int svg_map_write(const char *path, const heap_map *m, const char *title);

typedef struct plot_series {
    size_t points;         /* samples, in call order */
    size_t *call;          /* the call each sample ends at */
    uint64_t *span, *live; /* the most in its stretch of calls */
    size_t *holes;
    size_t calls; /* calls in the trace */
} plot_series;

int svg_plot_write(const char *path, const plot_series *p, const char *title);

#endif
