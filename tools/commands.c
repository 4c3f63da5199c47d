/* The four subcommands: each loads its trace, replays it and reports. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "html.h"
#include "output.h"

#define PLOT_POINTS 1000u
#define PROGRESS_EVERY 4096u

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int trace_open(const cli *c, trace *t)
{
    char err[TRACE_ERROR_MAX];
    if (trace_load(c->trace_path, t, err) == 0)
        return 0;
    if (strncmp(err, c->trace_path, strlen(c->trace_path)) == 0)
        fprintf(stderr, "holeheap: %s\n", err);
    else
        fprintf(stderr, "holeheap: %s: %s\n", c->trace_path, err);
    return -1;
}

static int replayer_open(replayer *r, const trace *t, const cli *c, size_t region, bool quiet)
{
    replay_config config = {.core = c->core, .region = region, .check_every = c->check_every, .quiet = quiet};
    char err[TRACE_ERROR_MAX];
    if (replay_start(r, t, &config, err) == 0)
        return 0;
    fprintf(stderr, "holeheap: %s\n", err);
    return -1;
}

/* ---- progress on a terminal ---- */

typedef struct progress {
    double start, last;
    bool shown, enabled;
} progress;

static progress progress_start(void)
{
    double t = now_seconds();
    return (progress){t, t, false, isatty(STDERR_FILENO) != 0};
}

static void progress_update(progress *p, size_t done, size_t total)
{
    if (!p->enabled || done % PROGRESS_EVERY != 0)
        return;
    double t = now_seconds();
    if (t - p->start < 1.0 || t - p->last < 0.1)
        return;
    p->last = t;
    p->shown = true;
    int width = 40, filled = (int)((double)done / (double)total * width);
    fprintf(stderr, "\r[%.*s%*s] %3.0f%%  call %zu of %zu", filled, "########################################",
            width - filled, "", 100.0 * (double)done / (double)total, done, total);
}

static void progress_finish(const progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r%*s\r", 78, "");
}

/* Replay up to call `until` (all calls when until is SIZE_MAX), with a progress bar. */
static void replay_until(replayer *r, size_t until)
{
    progress p = progress_start();
    size_t total = until < r->trace->count ? until : r->trace->count;
    while (r->next < total && replay_step(r))
        progress_update(&p, r->next, total);
    progress_finish(&p);
}

/* ---- replay ---- */

/* Free spans inside the span (the trailing hole is not counted) after call `at`. */
static void holes_at(const cli *c, const trace *t, size_t at, size_t *holes, uint64_t *largest)
{
    replayer r;
    *holes = 0;
    *largest = 0;
    if (replayer_open(&r, t, c, REPLAY_DEFAULT_REGION, true) != 0)
        return;
    replay_until(&r, at);
    heap_map m;
    heap_map_take(&r, &m, r.control_bytes + r.span);
    *holes = m.holes;
    *largest = m.largest_hole;
    heap_map_release(&m);
    replay_end(&r);
}

static void summary_print(const cli *c, const replayer *r, double seconds)
{
    char a[32], b[32];
    printf("replayed %zu calls, %zu errors\n", r->next, replay_error_count(r));
    if (r->skipped != 0)
        printf("skipped %zu calls on blocks aligned above HH_MAX_ALIGN (the port maps those itself)\n", r->skipped);
    printf("peak live: %llu bytes (%s) asked for by the program\n", (unsigned long long)r->peak_live_bytes,
           format_bytes(r->peak_live_bytes, a));
    printf("peak span: %zu bytes (%s) after call %zu: from the control data (%zu bytes) to the end of the last block\n",
           r->peak_span, format_bytes(r->peak_span, b), r->peak_span_call, r->control_bytes);
    if (r->peak_live_bytes != 0)
        printf("fragmentation: %.2f (peak span / peak live)\n", (double)r->peak_span / (double)r->peak_live_bytes);
    size_t holes;
    uint64_t largest;
    holes_at(c, r->trace, r->peak_span_call, &holes, &largest);
    printf(
        "at the peak span: %zu free spans inside it (holes, and freed blocks kept for reuse), the largest %llu bytes\n",
        holes, (unsigned long long)largest);
    printf("at the end: %zu live blocks, %llu bytes live\n", r->live_blocks, (unsigned long long)r->live_bytes);
    printf("time: %.0f ns per call (%zu calls in %.3f s, the replay's own bookkeeping included; index %s)\n",
           r->next != 0 ? seconds * 1e9 / (double)r->next : 0.0, r->next, seconds, r->config.core->name);
}

int cmd_replay(const cli *c)
{
    trace t;
    replayer r;
    if (trace_open(c, &t) != 0)
        return 2;
    if (replayer_open(&r, &t, c, c->region != 0 ? c->region : REPLAY_DEFAULT_REGION, false) != 0) {
        trace_release(&t);
        return 2;
    }
    double start = now_seconds();
    replay_until(&r, SIZE_MAX);
    double seconds = now_seconds() - start;
    char where[48];
    if (r.stopped)
        fprintf(stderr, "holeheap: stopped after %s (call %zu): the heap failed hh_check\n",
                trace_where(&t, r.next - 1, where), r.next);
    else
        replay_verify(&r);
    summary_print(c, &r, seconds);
    int status = replay_error_count(&r) == 0 ? 0 : 1;
    replay_end(&r);
    trace_release(&t);
    return status;
}

/* ---- size ---- */

typedef struct size_search {
    const trace *t;
    const cli *c;
    size_t replays;
} size_search;

/* Does a fixed region of `region` bytes serve every call? */
static bool region_serves(size_search *s, size_t region, bool checked)
{
    replayer r;
    replay_config config = {.core = s->c->core, .region = region, .check_every = checked ? 4096 : 0, .quiet = true};
    char err[TRACE_ERROR_MAX];
    s->replays++;
    if (replay_start(&r, s->t, &config, err) != 0)
        return false; /* too small for hh_init */
    while (r.failed_allocations == 0 && replay_step(&r))
        ;
    bool serves =
        r.failed_allocations == 0 && !r.stopped && (!checked || replay_verify(&r)) && replay_error_count(&r) == 0;
    replay_end(&r);
    return serves;
}

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

/* The smallest region in 16-byte steps that serves, between a floor that
 * cannot and the first size found to serve; SIZE_MAX if none up to the default. */
static size_t smallest_region(size_search *s, size_t floor, size_t start)
{
    size_t hi = round16(start);
    while (!region_serves(s, hi, false)) {
        if (hi >= REPLAY_DEFAULT_REGION)
            return SIZE_MAX;
        hi = hi * 2 > REPLAY_DEFAULT_REGION ? REPLAY_DEFAULT_REGION : hi * 2;
    }
    size_t lo = floor & ~(size_t)15;
    while (hi - lo > 16) {
        size_t mid = (lo + (hi - lo) / 2) & ~(size_t)15;
        if (region_serves(s, mid, false))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

static void size_report(const replayer *whole, size_t region, size_t replays, size_t floor, bool below_fails)
{
    char a[32], b[32];
    size_t live = (size_t)whole->peak_live_bytes;
    printf("smallest region: %zu bytes (%s)\n", region, format_bytes(region, a));
    printf("  searched: binary search over region sizes in 16-byte steps between %zu bytes (the peak live\n"
           "  bytes: no smaller region can serve) and the first size that served, %zu replays;\n"
           "  verified by a final replay with hh_check; %zu bytes %s\n",
           floor, replays, region - 16, below_fails ? "fail (replayed)" : "ALSO SERVE: the search was misled");
    printf("peak live: %zu bytes (%s) asked for by the program\n", live, format_bytes(live, b));
    if (live != 0)
        printf("overhead: %zu bytes (%.1f%% of the peak live bytes): control data, headers and footers,\n"
               "  rounding to 16 bytes and the holes left at the worst moment\n",
               region - live, 100.0 * (double)(region - live) / (double)live);
}

int cmd_size(const cli *c)
{
    trace t;
    replayer whole;
    if (trace_open(c, &t) != 0)
        return 2;
    if (replayer_open(&whole, &t, c, REPLAY_DEFAULT_REGION, false) != 0) {
        trace_release(&t);
        return 2;
    }
    replay_until(&whole, SIZE_MAX);
    int status = 0;
    if (!whole.stopped)
        replay_verify(&whole);
    if (replay_error_count(&whole) != 0) {
        fprintf(stderr, "holeheap: the trace does not replay cleanly (%zu errors): no size can serve it\n",
                replay_error_count(&whole));
        status = 1;
    } else {
        size_search s = {&t, c, 0};
        size_t floor = (size_t)whole.peak_live_bytes;
        size_t region = smallest_region(&s, floor, whole.control_bytes + whole.peak_span + 4096);
        if (region == SIZE_MAX || !region_serves(&s, region, true)) {
            fprintf(stderr, "holeheap: no region up to %zu bytes serves the trace\n", REPLAY_DEFAULT_REGION);
            status = 1;
        } else {
            bool below_fails = !region_serves(&s, region - 16, false);
            size_report(&whole, region, s.replays, floor, below_fails);
            if (c->margin != 0) {
                size_t with_margin = round16(region + region / 100 * c->margin + region % 100 * c->margin / 100);
                bool ok = region_serves(&s, with_margin, true);
                printf("with a %u%% margin: %zu bytes (%s by a replay)\n", c->margin, with_margin,
                       ok ? "verified" : "NOT served, the search's monotonicity assumption failed");
                status = ok ? 0 : 1;
            }
        }
    }
    replay_end(&whole);
    trace_release(&t);
    return status;
}

/* ---- map ---- */

typedef enum { MAP_SVG, MAP_HTML, MAP_UNKNOWN } map_format;

static map_format format_of(const char *path)
{
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".svg") == 0)
        return MAP_SVG;
    if (n > 5 && strcmp(path + n - 5, ".html") == 0)
        return MAP_HTML;
    return MAP_UNKNOWN;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* The call after which the span peaks, and the errors of the whole replay
 * (printed unless quiet), with hh_check at the end as replay runs it. */
static int peak_call(const cli *c, const trace *t, bool quiet, size_t *call, size_t *errors)
{
    replayer r;
    if (replayer_open(&r, t, c, REPLAY_DEFAULT_REGION, quiet) != 0)
        return -1;
    replay_until(&r, SIZE_MAX);
    if (!r.stopped)
        replay_verify(&r);
    *call = r.peak_span_call;
    *errors = replay_error_count(&r);
    replay_end(&r);
    return 0;
}

/* The heap after call `at` as SVG: 0 written, 1 written but the replay up to
 * `at` had errors (printed unless quiet), 2 not written. */
static int map_svg(const cli *c, const trace *t, size_t at, bool quiet)
{
    replayer r;
    if (replayer_open(&r, t, c, REPLAY_DEFAULT_REGION, quiet) != 0)
        return 2;
    replay_until(&r, at);
    heap_map m;
    heap_map_take(&r, &m, 0);
    int status = svg_map_write(c->output, &m, base_name(c->trace_path)) != 0 ? 2 : replay_error_count(&r) != 0;
    heap_map_release(&m);
    replay_end(&r);
    return status;
}

/* map --peak: the errors of the whole trace count, as replay counts them
 * (the HTML page replays the whole trace and reports them itself). */
static int map_peak(const cli *c, const trace *t, map_format format)
{
    size_t at, errors;
    if (peak_call(c, t, format != MAP_SVG, &at, &errors) != 0)
        return 2;
    if (format != MAP_SVG)
        return html_map_write(c->output, c->core, t, at, base_name(c->trace_path));
    int status = map_svg(c, t, at, true);
    return status == 2 ? 2 : status != 0 || errors != 0;
}

static int map_check_arguments(const cli *c, map_format *format)
{
    bool at = (c->given & OPT_AT) != 0, peak = (c->given & OPT_PEAK) != 0;
    if (at == peak) {
        fprintf(stderr, "holeheap map: give either --at N or --peak\n");
        return 2;
    }
    if (c->output == NULL) {
        fprintf(stderr, "holeheap map: no output file: -o OUT.svg or -o OUT.html\n");
        return 2;
    }
    *format = format_of(c->output);
    if (*format == MAP_UNKNOWN) {
        fprintf(stderr, "holeheap map: %s: the output must end in .svg or .html\n", c->output);
        return 2;
    }
    return 0;
}

int cmd_map(const cli *c)
{
    map_format format;
    int status = map_check_arguments(c, &format);
    trace t;
    if (status != 0 || trace_open(c, &t) != 0)
        return 2;
    size_t at = c->at;
    if ((c->given & OPT_PEAK) != 0) {
        status = map_peak(c, &t, format);
    } else if (at > t.count) {
        fprintf(stderr, "holeheap map: --at %zu is past the end: the trace has %zu calls\n", at, t.count);
        status = 2;
    } else {
        status = format == MAP_SVG ? map_svg(c, &t, at, false)
                                   : html_map_write(c->output, c->core, &t, at, base_name(c->trace_path));
    }
    trace_release(&t);
    return status;
}

/* ---- plot ---- */

static void series_allocate(plot_series *p, size_t calls)
{
    size_t n = calls < PLOT_POINTS ? calls + 1 : PLOT_POINTS + 1;
    *p = (plot_series){.calls = calls};
    p->call = calloc(n, sizeof *p->call);
    p->span = calloc(n, sizeof *p->span);
    p->live = calloc(n, sizeof *p->live);
    p->holes = calloc(n, sizeof *p->holes);
    if (p->call == NULL || p->span == NULL || p->live == NULL || p->holes == NULL) {
        fprintf(stderr, "holeheap: out of memory\n");
        exit(2);
    }
}

static void series_release(plot_series *p)
{
    free(p->call);
    free(p->span);
    free(p->live);
    free(p->holes);
}

/* The heap's holes now, from its running totals (hh_stats_get, O(1)): all
 * but the free tail of the region past the span. Freed blocks the heap keeps
 * aside for reuse are not holes. */
static size_t holes_now(replayer *r)
{
    hh_stats st;
    r->config.core->stats_get(r->heap, &st);
    bool tail = st.holes > 0 && r->control_bytes + r->span < st.region_bytes;
    return st.holes - tail;
}

/* One sample per stretch of calls: the most span and live bytes reached in
 * it, and the holes at its end. */
static void series_collect(replayer *r, plot_series *p)
{
    size_t stretch = p->calls > PLOT_POINTS ? (p->calls + PLOT_POINTS - 1) / PLOT_POINTS : 1;
    progress pr = progress_start();
    bool more = true;
    while (more) {
        more = replay_step(r);
        size_t i = p->points;
        if (r->next == (i == 0 ? 0 : p->call[i - 1]))
            break; /* nothing replayed since the last sample */
        p->span[i] = p->span[i] > r->span ? p->span[i] : r->span;
        p->live[i] = p->live[i] > r->live_bytes ? p->live[i] : r->live_bytes;
        p->call[i] = r->next;
        if (r->next % stretch == 0 || r->next == p->calls || !more) {
            p->holes[i] = holes_now(r);
            p->points++;
        }
        progress_update(&pr, r->next, p->calls);
    }
    progress_finish(&pr);
}

int cmd_plot(const cli *c)
{
    if (c->output == NULL || format_of(c->output) != MAP_SVG) {
        fprintf(stderr, "holeheap plot: give the output file as -o OUT.svg\n");
        return 2;
    }
    trace t;
    replayer r;
    if (trace_open(c, &t) != 0)
        return 2;
    if (replayer_open(&r, &t, c, REPLAY_DEFAULT_REGION, false) != 0) {
        trace_release(&t);
        return 2;
    }
    plot_series p;
    series_allocate(&p, t.count);
    series_collect(&r, &p);
    int status = svg_plot_write(c->output, &p, base_name(c->trace_path)) != 0 ? 2 : replay_error_count(&r) != 0;
    series_release(&p);
    replay_end(&r);
    trace_release(&t);
    return status;
}
