/*
 * The SVG pictures. The map lays the heap out like a memory dump: bytes run
 * left to right in rows of equal length, so every span's area is in
 * proportion to its bytes; a span that crosses a row's end continues on the
 * next row. The plot draws span, live bytes and holes over the calls.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "output.h"

#define MAP_WIDTH 960.0
#define MAP_LEFT 20.0
#define MAP_TOP 50.0
#define MAP_ROWS_MAX 48
#define MAP_ROW_HEIGHT 14.0
#define MAP_ROW_GAP 2.0
#define HOLE_LABEL_MIN_WIDTH 64.0

static const char *const span_class[] = {"control", "block", "hole"};

static const char *span_fill(const map_span *s, size_t index)
{
    if (s->kind == SPAN_CONTROL)
        return "#7f7f7f";
    if (s->kind == SPAN_HOLE)
        return "#f2b63d";
    return index % 2 == 0 ? "#2f6db5" : "#5b95d9"; /* neighbouring blocks told apart */
}

typedef struct map_layout {
    uint64_t row_bytes;
    size_t rows;
    double scale; /* pixels per byte */
} map_layout;

static map_layout layout_for(uint64_t extent)
{
    map_layout l;
    l.rows = MAP_ROWS_MAX;
    if (extent < (uint64_t)l.rows * 64)
        l.rows = (size_t)(extent / 64) + 1;
    l.row_bytes = (extent + l.rows - 1) / l.rows;
    l.rows = (size_t)((extent + l.row_bytes - 1) / l.row_bytes);
    l.scale = MAP_WIDTH / (double)l.row_bytes;
    return l;
}

static double row_y(size_t row) { return MAP_TOP + (double)row * (MAP_ROW_HEIGHT + MAP_ROW_GAP); }

static void span_title(FILE *f, const map_span *s)
{
    char a[32];
    fprintf(f, "<title>");
    if (s->kind == SPAN_BLOCK)
        fprintf(f, "block at offset 0x%llx (traced 0x%llx): %s, %llu bytes asked for by call %zu",
                (unsigned long long)s->offset, (unsigned long long)s->traced, format_bytes(s->size, a),
                (unsigned long long)s->requested, s->call);
    else
        fprintf(f, "%s at offset 0x%llx: %s", s->kind == SPAN_HOLE ? "hole" : "control data",
                (unsigned long long)s->offset, format_bytes(s->size, a));
    fprintf(f, "</title>");
}

static bool span_narrow(const map_span *s, const map_layout *l) { return (double)s->size * l->scale < 1.0; }

/* A run of spans of one kind, each narrower than a pixel, drawn as one: its title says how many. */
static void run_title(FILE *f, const map_span *run, size_t spans)
{
    char a[32];
    fprintf(f, "<title>%zu %s at offsets 0x%llx to 0x%llx, each under a pixel wide: %s</title>", spans,
            run->kind == SPAN_BLOCK ? "blocks" : "free spans", (unsigned long long)run->offset,
            (unsigned long long)(run->offset + run->size), format_bytes(run->size, a));
}

/* One span (or a run of `spans` narrow ones, spans > 1) as one rectangle per
 * row it covers; a wide hole gets its size as a label. */
static void map_span_write(FILE *f, const map_span *s, size_t spans, const char *fill, const map_layout *l)
{
    uint64_t at = s->offset, end = s->offset + s->size;
    char label[32];
    bool labelled = false;
    while (at < end) {
        uint64_t row = at / l->row_bytes, row_end = (row + 1) * l->row_bytes;
        uint64_t piece = (end < row_end ? end : row_end) - at;
        double x = MAP_LEFT + (double)(at - row * l->row_bytes) * l->scale, w = (double)piece * l->scale;
        double y = row_y((size_t)row);
        fprintf(f,
                "<rect class=\"%s\" x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%.1f\" fill=\"%s\" "
                "data-offset=\"%llu\" data-size=\"%llu\" data-bytes=\"%llu\"",
                span_class[s->kind], x, y, w, MAP_ROW_HEIGHT, fill, (unsigned long long)s->offset,
                (unsigned long long)s->size, (unsigned long long)piece);
        if (spans > 1)
            fprintf(f, " data-spans=\"%zu\">", spans);
        else if (s->kind == SPAN_BLOCK)
            fprintf(f, " data-call=\"%zu\">", s->call);
        else
            fprintf(f, ">");
        if (spans > 1)
            run_title(f, s, spans);
        else
            span_title(f, s);
        fprintf(f, "</rect>\n");
        if (spans == 1 && s->kind == SPAN_HOLE && w >= HOLE_LABEL_MIN_WIDTH && !labelled) {
            labelled = true;
            fprintf(f, "<text class=\"hole-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x + w / 2,
                    y + MAP_ROW_HEIGHT - 3.5, format_bytes(s->size, label));
        }
        at += piece;
    }
}

/* The spans from index i on that are narrower than a pixel, of one kind and
 * back to back: their count, and in *run the one span they make together. */
static size_t narrow_run(const heap_map *m, size_t i, const map_layout *l, map_span *run)
{
    const map_span *first = &m->spans[i];
    size_t j = i;
    uint64_t end = first->offset;
    while (j < m->count && m->spans[j].kind == first->kind && m->spans[j].offset == end &&
           span_narrow(&m->spans[j], l)) {
        end += m->spans[j].size;
        j++;
    }
    *run = (map_span){.offset = first->offset, .size = end - first->offset, .kind = first->kind};
    return j - i;
}

/* Every span in address order; spans narrower than a pixel next to others of
 * their kind merge into one rectangle (a heap of many small blocks would
 * otherwise give millions of invisible ones). */
static void map_spans_write(FILE *f, const heap_map *m, const map_layout *l)
{
    for (size_t i = 0; i < m->count;) {
        map_span run;
        size_t n = narrow_run(m, i, l, &run);
        if (n > 1) {
            map_span_write(f, &run, n, span_fill(&run, i), l);
            i += n;
        } else {
            map_span_write(f, &m->spans[i], 1, span_fill(&m->spans[i], i), l);
            i++;
        }
    }
}

static void legend_item(FILE *f, double x, double y, const char *fill, const char *text)
{
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
            x, y - 10, fill, x + 16, y, text);
}

static void map_stats_write(FILE *f, const heap_map *m, const map_layout *l, double y)
{
    char live[32], span[32], hole[32], row[32];
    fprintf(f,
            "<text class=\"stats\" x=\"%.1f\" y=\"%.1f\">after call %zu of %zu: %zu blocks, %s live; "
            "%zu free spans, the largest %s; span %s</text>\n",
            MAP_LEFT, y, m->call, m->calls, m->blocks, format_bytes(m->live_bytes, live), m->holes,
            format_bytes(m->largest_hole, hole), format_bytes(m->span, span));
    fprintf(f,
            "<text class=\"stats\" x=\"%.1f\" y=\"%.1f\">each row is %s; drawn up to offset %llu "
            "(the end of the last block; the rest of the region is one free hole)</text>\n",
            MAP_LEFT, y + 18, format_bytes(l->row_bytes, row), (unsigned long long)m->extent);
    legend_item(f, MAP_LEFT, y + 42, "#2f6db5", "block (allocated)");
    legend_item(f, MAP_LEFT + 170, y + 42, "#f2b63d", "free (a hole, or a freed block kept for reuse)");
    legend_item(f, MAP_LEFT + 480, y + 42, "#7f7f7f", "control data");
}

int svg_map_write(const char *path, const heap_map *m, const char *title)
{
    FILE *f = output_open(path);
    if (f == NULL)
        return -1;
    map_layout l = layout_for(m->extent);
    double height = row_y(l.rows) + 70;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text class=\"title\" x=\"%.1f\" y=\"28\" font-size=\"16\">heap map: ",
            MAP_WIDTH + 2 * MAP_LEFT, height, MAP_WIDTH + 2 * MAP_LEFT, height, MAP_LEFT);
    put_escaped(f, title);
    fprintf(f, "</text>\n<g class=\"heap\">\n");
    map_spans_write(f, m, &l);
    fprintf(f, "</g>\n");
    map_stats_write(f, m, &l, row_y(l.rows) + 14);
    fprintf(f, "</svg>\n");
    return output_close(f, path);
}

/* ---- the plot ---- */

#define PLOT_LEFT 90.0
#define PLOT_TOP 50.0
#define PLOT_WIDTH 800.0
#define PLOT_HEIGHT 360.0

/* A 1-2-5 step that gives about five ticks up to max. */
static double tick_step(double max)
{
    if (max <= 0)
        return 1;
    double magnitude = pow(10, floor(log10(max / 5)));
    double ratio = max / 5 / magnitude;
    return magnitude * (ratio < 1.5 ? 1 : ratio < 3.5 ? 2 : ratio < 7.5 ? 5 : 10);
}

static double px_x(double call, double calls) { return PLOT_LEFT + call / (calls > 0 ? calls : 1) * PLOT_WIDTH; }
static double px_y(double v, double max) { return PLOT_TOP + PLOT_HEIGHT - v / (max > 0 ? max : 1) * PLOT_HEIGHT; }

/* Ticks at round numbers of KiB, MiB, ... so that their labels read plainly. */
static double tick_step_bytes(double max)
{
    double unit = 1;
    while (max / unit >= 1024 * 2)
        unit *= 1024;
    return unit * tick_step(max / unit);
}

static void axis_bytes_write(FILE *f, double max)
{
    char label[32];
    double step = tick_step_bytes(max);
    for (double v = 0; v <= max * 1.0001; v += step) {
        double y = px_y(v, max);
        fprintf(f,
                "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text class=\"tick-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                PLOT_LEFT, y, PLOT_LEFT + PLOT_WIDTH, y, PLOT_LEFT - 6, y + 4, format_bytes((uint64_t)v, label));
    }
    fprintf(f,
            "<text class=\"axis-label\" transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">"
            "bytes (span, live)</text>\n",
            PLOT_TOP + PLOT_HEIGHT / 2);
}

static void axis_holes_write(FILE *f, double max)
{
    double step = tick_step(max) < 1 ? 1 : tick_step(max);
    double right = PLOT_LEFT + PLOT_WIDTH;
    for (double v = 0; v <= max * 1.0001; v += step)
        fprintf(f,
                "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c27c00\"/>"
                "<text class=\"tick-label\" x=\"%.1f\" y=\"%.1f\">%.0f</text>\n",
                right, px_y(v, max), right + 5, px_y(v, max), right + 8, px_y(v, max) + 4, v);
    fprintf(f,
            "<text class=\"axis-label\" transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\">"
            "holes (inside the span)</text>\n",
            right + 60, PLOT_TOP + PLOT_HEIGHT / 2);
}

static void axis_calls_write(FILE *f, double calls)
{
    double step = tick_step(calls) < 1 ? 1 : tick_step(calls);
    double bottom = PLOT_TOP + PLOT_HEIGHT;
    for (double v = 0; v <= calls * 1.0001; v += step)
        fprintf(f,
                "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>"
                "<text class=\"tick-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n",
                px_x(v, calls), bottom, px_x(v, calls), bottom + 5, px_x(v, calls), bottom + 18, v);
    fprintf(f, "<text class=\"axis-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">calls replayed</text>\n",
            PLOT_LEFT + PLOT_WIDTH / 2, bottom + 40);
}

typedef enum { SERIES_SPAN, SERIES_LIVE, SERIES_HOLES } series_kind;

static double series_value(const plot_series *p, series_kind k, size_t i)
{
    return k == SERIES_SPAN ? (double)p->span[i] : k == SERIES_LIVE ? (double)p->live[i] : (double)p->holes[i];
}

static void series_write(FILE *f, const plot_series *p, series_kind k, double max, const char *id, const char *colour)
{
    fprintf(f, "<polyline id=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%.1f,%.1f", id, colour,
            px_x(0, (double)p->calls), px_y(0, max));
    for (size_t i = 0; i < p->points; i++)
        fprintf(f, " %.1f,%.1f", px_x((double)p->call[i], (double)p->calls), px_y(series_value(p, k, i), max));
    fprintf(f, "\"/>\n");
}

static void plot_legend_write(FILE *f)
{
    double y = PLOT_TOP - 12;
    legend_item(f, PLOT_LEFT, y, "#2f6db5", "span (control data to the end of the last block)");
    legend_item(f, PLOT_LEFT + 330, y, "#2e9e48", "live bytes (asked for)");
    legend_item(f, PLOT_LEFT + 500, y, "#e08a00", "holes (right axis)");
}

int svg_plot_write(const char *path, const plot_series *p, const char *title)
{
    FILE *f = output_open(path);
    if (f == NULL)
        return -1;
    double max_bytes = 0, max_holes = 0;
    for (size_t i = 0; i < p->points; i++) {
        max_bytes = fmax(max_bytes, fmax((double)p->span[i], (double)p->live[i]));
        max_holes = fmax(max_holes, (double)p->holes[i]);
    }
    max_bytes = max_bytes > 0 ? max_bytes * 1.05 : 1;
    max_holes = max_holes > 0 ? max_holes * 1.05 : 1;
    double width = PLOT_LEFT + PLOT_WIDTH + 80, height = PLOT_TOP + PLOT_HEIGHT + 60;
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
            "<text class=\"title\" x=\"%.1f\" y=\"18\" font-size=\"16\">heap over time: ",
            width, height, width, height, PLOT_LEFT);
    put_escaped(f, title);
    fprintf(f, "</text>\n");
    plot_legend_write(f);
    axis_bytes_write(f, max_bytes);
    axis_holes_write(f, max_holes);
    axis_calls_write(f, (double)p->calls);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n",
            PLOT_LEFT, PLOT_TOP, PLOT_WIDTH, PLOT_HEIGHT);
    series_write(f, p, SERIES_HOLES, max_holes, "holes", "#e08a00");
    series_write(f, p, SERIES_LIVE, max_bytes, "live", "#2e9e48");
    series_write(f, p, SERIES_SPAN, max_bytes, "span", "#2f6db5");
    fprintf(f, "</svg>\n");
    return output_close(f, path);
}
