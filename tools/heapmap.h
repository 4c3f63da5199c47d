/*
 * A picture-ready description of a replayed heap at one moment: every span
 * (control data, block, hole) from the region's start up to an extent, with
 * the call that made each block.
 */
#ifndef TOOLS_HEAPMAP_H
#define TOOLS_HEAPMAP_H

#include "replay.h"

enum { SPAN_CONTROL, SPAN_BLOCK, SPAN_HOLE };

typedef struct map_span {
    uint64_t offset, size; /* from the region's start; size clipped to the extent */
    uint64_t requested;    /* blocks: the size the program asked for */
    uint64_t traced;       /* blocks: its address in the traced program */
    size_t call;           /* blocks: the 1-based number of the call that made it */
    uint8_t kind;          /* SPAN_* */
} map_span;

typedef struct heap_map {
    map_span *spans;
    size_t count, capacity;
    uint64_t extent; /* bytes drawn: the trailing hole is cut there */
    size_t call;     /* calls replayed */
    size_t calls;    /* calls in the trace */
    size_t blocks, holes;
    uint64_t live_bytes, largest_hole, span;
} heap_map;

/* The heap as it is now, cut at extent (0: the control data and the current
 * span, at least 1 KiB of it): the holes counted are those before the extent. */
void heap_map_take(replayer *r, heap_map *m, uint64_t extent);
void heap_map_release(heap_map *m);

/* "12.5 KiB" and the like, into buf. */
const char *format_bytes(uint64_t bytes, char buf[32]);

#endif
