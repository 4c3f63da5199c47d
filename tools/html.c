/*
 * The HTML map: one self-contained page (no network) with the heap at a set
 * of moments ("frames") and a slider over them. A frame holds only the spans
 * that changed since the frame before, so the page stays small; its script
 * (tools/map.js, embedded by the build) replays those changes and draws.
 */
#include "html.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map_assets.h" /* generated: page_0 the script, page_1 the style */
#include "output.h"

#define MAX_FRAMES 1000u

static void lines_write(FILE *f, const char *const *lines)
{
    for (; *lines != NULL; lines++)
        fputs(*lines, f);
}

/* The calls at which frames are taken: every call of a short trace, else
 * MAX_FRAMES evenly spread, and `at` in any case. Returns how many. */
static size_t frame_calls(size_t calls, size_t at, size_t **out)
{
    size_t n = calls <= MAX_FRAMES ? calls + 1 : MAX_FRAMES + 1;
    size_t *list = malloc((n + 1) * sizeof *list);
    if (list == NULL) {
        fprintf(stderr, "holeheap: out of memory\n");
        exit(2);
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        size_t call = calls <= MAX_FRAMES ? i : (size_t)((double)i / MAX_FRAMES * (double)calls);
        if (count > 0 && list[count - 1] < at && at < call)
            list[count++] = at;
        if (count == 0 || list[count - 1] != call)
            list[count++] = call;
    }
    *out = list;
    return count;
}

static bool spans_equal(const map_span *a, const map_span *b)
{
    return a->size == b->size && a->kind == b->kind && a->call == b->call;
}

static void span_json(FILE *f, const map_span *s, bool *first)
{
    fprintf(f, "%s[%llu,%llu,%u,%zu,%llu,\"0x%llx\"]", *first ? "" : ",", (unsigned long long)s->offset,
            (unsigned long long)s->size, s->kind, s->call, (unsigned long long)s->requested,
            (unsigned long long)s->traced);
    *first = false;
}

/* What changed from prev to cur, both in address order: spans gone, spans new or changed. */
static void frame_diff_write(FILE *f, const heap_map *prev, const heap_map *cur)
{
    bool first = true;
    size_t i = 0, j = 0;
    fprintf(f, "\"add\":[");
    for (; j < cur->count; j++) {
        while (i < prev->count && prev->spans[i].offset < cur->spans[j].offset)
            i++;
        if (i == prev->count || prev->spans[i].offset != cur->spans[j].offset ||
            !spans_equal(&prev->spans[i], &cur->spans[j]))
            span_json(f, &cur->spans[j], &first);
    }
    fprintf(f, "],\"del\":[");
    first = true;
    for (i = 0, j = 0; i < prev->count; i++) {
        while (j < cur->count && cur->spans[j].offset < prev->spans[i].offset)
            j++;
        if (j == cur->count || cur->spans[j].offset != prev->spans[i].offset) {
            fprintf(f, "%s%llu", first ? "" : ",", (unsigned long long)prev->spans[i].offset);
            first = false;
        }
    }
    fprintf(f, "]");
}

static size_t holes_inside(const heap_map *m, uint64_t end)
{
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++)
        n += m->spans[i].kind == SPAN_HOLE && m->spans[i].offset < end;
    return n;
}

static void frame_write(FILE *f, replayer *r, heap_map *prev, uint64_t extent, bool first)
{
    heap_map cur;
    heap_map_take(r, &cur, extent);
    fprintf(f, "%s\n{\"call\":%zu,\"live\":%llu,\"blocks\":%zu,\"holes\":%zu,\"span\":%zu,", first ? "" : ",", r->next,
            (unsigned long long)r->live_bytes, cur.blocks, holes_inside(&cur, r->control_bytes + r->span), r->span);
    frame_diff_write(f, prev, &cur);
    fprintf(f, "}");
    heap_map_release(prev);
    *prev = cur;
}

static void page_head_write(FILE *f, const char *title, size_t calls)
{
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>heap map: ");
    put_escaped(f, title);
    fprintf(f, "</title>\n<style>\n");
    lines_write(f, page_1);
    fprintf(f, "</style>\n</head>\n<body>\n<h1>heap map: ");
    put_escaped(f, title);
    fprintf(f,
            " (%zu calls)</h1>\n<div id=\"controls\"><input type=\"range\" id=\"slider\" min=\"0\" max=\"0\" "
            "value=\"0\" aria-label=\"call\"><span id=\"call\"></span></div>\n"
            "<canvas id=\"map\"></canvas>\n<div id=\"stats\"></div>\n"
            "<div class=\"legend\"><span style=\"background:#2f6db5\"></span>block (allocated)"
            "<span style=\"background:#f2b63d\"></span>free (a hole, or a freed block kept for reuse)"
            "<span style=\"background:#7f7f7f\"></span>control data</div>\n"
            "<p>Drag the slider or press the arrow keys to step through the trace; hover over a block to see "
            "its address, size and the call that allocated it.</p>\n<div id=\"tip\" hidden></div>\n",
            calls);
}

/* Replay t once for its peak span: the extent every frame is drawn to. */
static int peak_extent(const core_api *core, const trace *t, uint64_t *extent)
{
    replayer r;
    replay_config config = {.core = core, .region = REPLAY_DEFAULT_REGION, .check_every = 0, .quiet = true};
    char err[TRACE_ERROR_MAX];
    if (replay_start(&r, t, &config, err) != 0) {
        fprintf(stderr, "holeheap: %s\n", err);
        return -1;
    }
    while (replay_step(&r))
        ;
    *extent = r.control_bytes + (r.peak_span > 1024 ? r.peak_span : 1024);
    replay_end(&r);
    return 0;
}

static int frames_write(FILE *f, const core_api *core, const trace *t, size_t at, uint64_t extent, size_t *errors)
{
    replayer r;
    replay_config config = {.core = core, .region = REPLAY_DEFAULT_REGION, .check_every = 4096, .quiet = false};
    char err[TRACE_ERROR_MAX];
    if (replay_start(&r, t, &config, err) != 0) {
        fprintf(stderr, "holeheap: %s\n", err);
        return -1;
    }
    size_t *calls, count = frame_calls(t->count, at, &calls), start = 0;
    heap_map prev = {.spans = NULL};
    fprintf(f, "\"frames\":[");
    for (size_t i = 0; i < count; i++) {
        while (r.next < calls[i] && replay_step(&r))
            ;
        start = calls[i] == at ? i : start;
        frame_write(f, &r, &prev, extent, i == 0);
    }
    fprintf(f, "],\n\"start\":%zu};\n", start);
    *errors = replay_error_count(&r);
    heap_map_release(&prev);
    free(calls);
    replay_end(&r);
    return 0;
}

int html_map_write(const char *path, const core_api *core, const trace *t, size_t at, const char *title)
{
    uint64_t extent;
    if (peak_extent(core, t, &extent) != 0)
        return 2;
    FILE *f = output_open(path);
    if (f == NULL)
        return 2;
    page_head_write(f, title, t->count);
    fprintf(f, "<script>\nconst HEAP = {\"calls\":%zu,\"extent\":%llu,\n", t->count, (unsigned long long)extent);
    size_t errors = 0;
    int failed = frames_write(f, core, t, at, extent, &errors);
    fprintf(f, "</script>\n<script>\n");
    lines_write(f, page_0);
    fprintf(f, "</script>\n</body>\n</html>\n");
    if (output_close(f, path) != 0 || failed != 0)
        return 2;
    return errors != 0;
}
