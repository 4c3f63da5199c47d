/*
 * hh_trace_format: one traced call (hh_options.on_trace) as a line of the
 * holeheap tool's text trace format (docs/trace-format.md), without printf:
 *
 *   malloc SIZE = RESULT        calloc COUNT SIZE = RESULT     free PTR
 *   realloc PTR SIZE = RESULT   aligned ALIGNMENT SIZE = RESULT
 */
#include "holeheap.h"

/* A line being written: at most cap - 1 bytes land in buf, len counts all. */
typedef struct line {
    char *buf;
    size_t cap, len;
} line;

static void line_put(line *l, char c)
{
    if (l->len + 1 < l->cap)
        l->buf[l->len] = c;
    l->len++;
}

static void line_text(line *l, const char *s)
{
    while (*s)
        line_put(l, *s++);
}

static void line_decimal(line *l, size_t v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (n > 0)
        line_put(l, digits[--n]);
}

/* A pointer as 0x... in hexadecimal; NULL as 0. */
static void line_pointer(line *l, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    if (v == 0) {
        line_put(l, '0');
        return;
    }
    char digits[2 * sizeof v];
    int n = 0;
    for (; v != 0; v >>= 4)
        digits[n++] = "0123456789abcdef"[v & 15u];
    line_text(l, "0x");
    while (n > 0)
        line_put(l, digits[--n]);
}

/* "NAME N1 [N2] = RESULT": malloc, calloc and aligned. */
static void line_sizes(line *l, const char *name, size_t first, const size_t *second, const void *result)
{
    line_text(l, name);
    line_decimal(l, first);
    if (second) {
        line_put(l, ' ');
        line_decimal(l, *second);
    }
    line_text(l, " = ");
    line_pointer(l, result);
}

static void line_event(line *l, const hh_trace_event *e)
{
    switch (e->op) {
    case HH_TRACE_MALLOC: line_sizes(l, "malloc ", e->size, NULL, e->result); return;
    case HH_TRACE_CALLOC: line_sizes(l, "calloc ", e->count_or_align, &e->size, e->result); return;
    case HH_TRACE_ALIGNED: line_sizes(l, "aligned ", e->count_or_align, &e->size, e->result); return;
    case HH_TRACE_REALLOC:
        line_text(l, "realloc ");
        line_pointer(l, e->ptr);
        line_put(l, ' ');
        line_sizes(l, "", e->size, NULL, e->result);
        return;
    case HH_TRACE_FREE:
        line_text(l, "free ");
        line_pointer(l, e->ptr);
        return;
    }
    line_text(l, "# unknown call");
}

size_t hh_trace_format(const hh_trace_event *event, char *buf, size_t cap)
{
    line l = {buf, cap, 0};
    if (event)
        line_event(&l, event);
    line_put(&l, '\n');
    if (cap > 0)
        buf[l.len < cap ? l.len : cap - 1] = '\0';
    return l.len;
}
