/* heap_map_take: hh_walk over the heap, each block matched to its call. */
#include "heapmap.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct walk_state {
    heap_map *map;
    const replayer *r;
} walk_state;

static void span_push(heap_map *m, const map_span *s)
{
    if (m->count == m->capacity) {
        m->capacity = m->capacity == 0 ? 256 : m->capacity * 2;
        m->spans = realloc(m->spans, m->capacity * sizeof *m->spans);
        if (m->spans == NULL) {
            fprintf(stderr, "holeheap: out of memory\n");
            exit(2);
        }
    }
    m->spans[m->count++] = *s;
}

static int visit_span(void *ctx, const hh_span *span)
{
    walk_state *w = ctx;
    heap_map *m = w->map;
    const unsigned char *start = span->start;
    uint64_t offset = (uint64_t)(start - w->r->mem);
    if (offset >= m->extent)
        return 1;
    map_span s = {.offset = offset, .size = span->size, .kind = span->is_hole ? SPAN_HOLE : SPAN_BLOCK};
    if (s.size > m->extent - offset)
        s.size = m->extent - offset;
    if (span->is_hole) {
        m->holes++;
        m->largest_hole = span->size > m->largest_hole ? span->size : m->largest_hole;
    } else {
        size_t usable = (size_t)(start + span->size - (const unsigned char *)span->payload) - w->r->tail_bytes;
        replay_block b;
        m->blocks++;
        if (replay_block_at(w->r, span->payload, usable, &b)) {
            s.call = b.born + 1;
            s.requested = b.requested;
            s.traced = b.traced;
        }
    }
    span_push(m, &s);
    return 0;
}

void heap_map_take(replayer *r, heap_map *m, uint64_t extent)
{
    *m = (heap_map){.call = r->next, .calls = r->trace->count, .live_bytes = r->live_bytes, .span = r->span};
    m->extent = extent != 0 ? extent : r->control_bytes + (r->span > 1024 ? r->span : 1024);
    span_push(m, &(map_span){.offset = 0, .size = r->control_bytes, .kind = SPAN_CONTROL});
    walk_state w = {m, r};
    r->config.core->walk(r->heap, visit_span, &w);
}

void heap_map_release(heap_map *m)
{
    free(m->spans);
    *m = (heap_map){.spans = NULL};
}

const char *format_bytes(uint64_t bytes, char buf[32])
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)bytes;
    unsigned u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, 32, "%llu bytes", (unsigned long long)bytes);
    else
        snprintf(buf, 32, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}
