/*
 * The replay engine (replay.h). The traced-address table is open addressing
 * with tombstones; the span is the top of a max-heap of block ends whose
 * dead entries are dropped lazily when they reach the top.
 */
#include "replay.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOT_EMPTY, SLOT_LIVE, SLOT_DELETED };
enum { ERRORS_SHOWN = 10 };

struct replay_live {
    uint64_t traced;
    void *block; /* OUTSIDE for a block aligned past HH_MAX_ALIGN; FAILED if the replay could not make it */
    uint64_t requested;
    size_t born;
    uint8_t state;
};

/* The replayed "block" of a traced block that the port kept outside its heaps. */
static char outside_heap;
#define OUTSIDE ((void *)&outside_heap)

/* The replayed "block" of a traced block the replay failed to allocate (an
 * error counted once): the program's later free or realloc of its address
 * is then not a second error. */
static char failed_here;
#define FAILED ((void *)&failed_here)

static bool is_replayed(const void *block) { return block != OUTSIDE && block != FAILED; }

/* One error line, named by where the call is in the trace file (its line in
 * a text trace, its record in a binary one): the call being replayed, or
 * between calls (after_call) the last one replayed. */
static void replay_error(replayer *r, bool after_call, const char *format, ...)
{
    if (r->errors++ >= ERRORS_SHOWN || r->config.quiet)
        return;
    char where[48];
    if (!after_call)
        fprintf(stderr, "holeheap: %s: ", trace_where(r->trace, r->next, where));
    else if (r->next == 0)
        fprintf(stderr, "holeheap: before the first call: ");
    else
        fprintf(stderr, "holeheap: after %s: ", trace_where(r->trace, r->next - 1, where));
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void out_of_memory(void)
{
    fprintf(stderr, "holeheap: out of memory\n");
    exit(2);
}

/* ---- traced address -> replayed block ---- */

static size_t slot_of(const replayer *r, uint64_t key)
{
    uint64_t h = (key >> 4) * 0x9E3779B97F4A7C15u;
    return (size_t)(h ^ h >> 32) & (r->capacity - 1);
}

static replay_live *live_find(const replayer *r, uint64_t traced)
{
    for (size_t i = slot_of(r, traced);; i = (i + 1) & (r->capacity - 1)) {
        replay_live *e = &r->table[i];
        if (e->state == SLOT_EMPTY)
            return NULL;
        if (e->state == SLOT_LIVE && e->traced == traced)
            return e;
    }
}

/* Into the first free slot of its chain, a tombstone included (the caller
 * knows the key is absent): a hot address reused again and again keeps one slot. */
static void live_put(replayer *r, const replay_live *entry)
{
    size_t i = slot_of(r, entry->traced);
    while (r->table[i].state == SLOT_LIVE)
        i = (i + 1) & (r->capacity - 1);
    r->occupied += r->table[i].state == SLOT_EMPTY;
    r->table[i] = *entry;
}

/* Twice the capacity when it is more than a quarter full of live entries, else the same. */
static void live_rehash(replayer *r)
{
    replay_live *old = r->table;
    size_t old_capacity = r->capacity;
    if (r->capacity == 0)
        r->capacity = 4096;
    else if (r->live_blocks * 4 > r->capacity)
        r->capacity *= 2;
    r->table = calloc(r->capacity, sizeof *r->table);
    if (r->table == NULL)
        out_of_memory();
    r->occupied = 0;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].state == SLOT_LIVE)
            live_put(r, &old[i]);
    free(old);
}

static void live_insert(replayer *r, const replay_live *entry)
{
    if ((r->occupied + 1) * 2 > r->capacity)
        live_rehash(r);
    live_put(r, entry);
}

/* ---- the span: the highest end of a live block ---- */

static void ends_swap(struct end_heap *a, struct end_heap *b)
{
    struct end_heap t = *a;
    *a = *b;
    *b = t;
}

static void ends_push(replayer *r, uint64_t end, size_t born)
{
    if (r->ends_count == r->ends_capacity) {
        r->ends_capacity = r->ends_capacity == 0 ? 1024 : r->ends_capacity * 2;
        r->ends = realloc(r->ends, r->ends_capacity * sizeof *r->ends);
        if (r->ends == NULL)
            out_of_memory();
    }
    size_t i = r->ends_count++;
    r->ends[i] = (struct end_heap){end, born};
    while (i > 0 && r->ends[(i - 1) / 2].end < r->ends[i].end) {
        ends_swap(&r->ends[(i - 1) / 2], &r->ends[i]);
        i = (i - 1) / 2;
    }
}

static void ends_pop(replayer *r)
{
    r->ends[0] = r->ends[--r->ends_count];
    for (size_t i = 0;;) {
        size_t big = i, left = 2 * i + 1, right = left + 1;
        if (left < r->ends_count && r->ends[left].end > r->ends[big].end)
            big = left;
        if (right < r->ends_count && r->ends[right].end > r->ends[big].end)
            big = right;
        if (big == i)
            return;
        ends_swap(&r->ends[i], &r->ends[big]);
        i = big;
    }
}

static size_t current_span(replayer *r)
{
    while (r->ends_count > 0 && !r->alive[r->ends[0].born])
        ends_pop(r);
    return r->ends_count > 0 ? (size_t)r->ends[0].end - r->control_bytes : 0;
}

/* ---- blocks ---- */

static void stamp_write(replayer *r, void *block, uint64_t stamp)
{
    size_t usable = r->config.core->usable_size(r->heap, block);
    memcpy(block, &stamp, usable < sizeof stamp ? usable : sizeof stamp);
}

static bool stamp_holds(replayer *r, const void *block, uint64_t stamp)
{
    size_t usable = r->config.core->usable_size(r->heap, block);
    return memcmp(block, &stamp, usable < sizeof stamp ? usable : sizeof stamp) == 0;
}

static uint64_t block_end(replayer *r, void *block)
{
    size_t usable = r->config.core->usable_size(r->heap, block);
    return (uint64_t)((unsigned char *)block - r->mem) + usable + r->tail_bytes;
}

/* A call made block (NULL: the replay could not) for the traced address. */
static void born(replayer *r, uint64_t traced, void *block, uint64_t requested)
{
    if (traced == 0)
        return;
    if (live_find(r, traced) != NULL) {
        replay_error(r, false, "address 0x%llx handed out twice", (unsigned long long)traced);
        if (block != NULL && is_replayed(block))
            r->config.core->free(r->heap, block);
        return;
    }
    if (block == NULL) {
        r->failed_allocations++;
        replay_error(r, false, "the replay could not allocate %llu bytes for 0x%llx", (unsigned long long)requested,
                     (unsigned long long)traced);
        block = FAILED;
    }
    size_t call = r->next;
    live_insert(r, &(replay_live){traced, block, requested, call, SLOT_LIVE});
    r->live_blocks++;
    r->live_bytes += requested;
    if (!is_replayed(block))
        return;
    stamp_write(r, block, call);
    r->alive[call] = 1;
    ends_push(r, block_end(r, block), call);
}

/* The live entry of a traced address, or NULL (an error) if there is none. */
static replay_live *live_lookup(replayer *r, uint64_t traced, const char *call)
{
    replay_live *e = live_find(r, traced);
    if (e == NULL)
        replay_error(r, false, "%s of 0x%llx, which is not a live block", call, (unsigned long long)traced);
    return e;
}

static void stamp_check(replayer *r, const replay_live *e)
{
    if (is_replayed(e->block) && !stamp_holds(r, e->block, e->born))
        replay_error(r, false, "the contents of 0x%llx changed", (unsigned long long)e->traced);
}

/* Drop a live entry from the books; returns its replayed block. */
static void *live_forget(replayer *r, replay_live *e)
{
    e->state = SLOT_DELETED;
    r->live_blocks--;
    r->live_bytes -= e->requested;
    if (e->block == OUTSIDE)
        r->skipped++;
    else if (e->block != FAILED)
        r->alive[e->born] = 0;
    return e->block;
}

/* Forget a traced block; returns its replayed block, or NULL (an error) if unknown. */
static void *live_take(replayer *r, uint64_t traced, const char *call)
{
    replay_live *e = live_lookup(r, traced, call);
    if (e == NULL)
        return NULL;
    stamp_check(r, e);
    return live_forget(r, e);
}

/* A realloc the replay failed: the old block stays live, as realloc leaves
 * it, under the address the program went on to use (its realloc succeeded). */
static void live_rename(replayer *r, replay_live *e, uint64_t traced)
{
    if (traced == e->traced)
        return;
    replay_live moved = *e;
    e->state = SLOT_DELETED;
    if (live_find(r, traced) != NULL) { /* that address is taken too: the block is lost to the books */
        r->live_blocks--;
        r->live_bytes -= moved.requested;
        r->alive[moved.born] = 0;
        return;
    }
    moved.traced = traced;
    live_insert(r, &moved);
}

static uint64_t product_or_max(uint64_t n, uint64_t size)
{
    return size != 0 && n > UINT64_MAX / size ? UINT64_MAX : n * size;
}

uint64_t trace_call_bytes(const trace_call *c)
{
    switch (c->op) {
    case CALL_CALLOC: return product_or_max(c->a, c->b);
    case CALL_ALIGNED: return c->b;
    case CALL_FREE: return 0;
    default: return c->a;
    }
}

static size_t to_size(uint64_t v) { return v > SIZE_MAX ? SIZE_MAX : (size_t)v; }

/* posix_memalign and friends; past HH_MAX_ALIGN the port maps the block
 * itself, outside any heap: counted as skipped, not replayed. */
static void replay_aligned(replayer *r, const trace_call *c)
{
    const core_api *core = r->config.core;
    if (c->result == 0)
        return;
    if (c->a > HH_MAX_ALIGN) {
        r->skipped++;
        born(r, c->result, OUTSIDE, c->b);
    } else if (c->a <= 16) {
        born(r, c->result, core->alloc(r->heap, to_size(c->b)), c->b);
    } else {
        born(r, c->result, core->alloc_aligned(r->heap, to_size(c->b), to_size(c->a)), c->b);
    }
}

/* realloc to 0 bytes, or of a block the replay does not hold: a free, then a fresh block. */
static void replay_realloc_fresh(replayer *r, const trace_call *c)
{
    void *old = live_take(r, c->ptr, "realloc");
    if (old == NULL)
        return;
    if (is_replayed(old))
        r->config.core->free(r->heap, old);
    if (c->a != 0)
        born(r, c->result, r->config.core->alloc(r->heap, to_size(c->a)), c->a);
}

static void replay_realloc(replayer *r, const trace_call *c)
{
    const core_api *core = r->config.core;
    if (c->ptr == 0) {
        if (c->result != 0)
            born(r, c->result, core->alloc(r->heap, to_size(c->a)), c->a);
        return;
    }
    if (c->result == 0 && c->a != 0)
        return; /* failed in the program: nothing changed */
    replay_live *e = live_find(r, c->ptr);
    if (e == NULL || c->a == 0 || !is_replayed(e->block)) {
        replay_realloc_fresh(r, c);
        return;
    }
    stamp_check(r, e);
    /* as the drop-in malloc does (port/malloc.c): C's realloc owes malloc's
     * alignment only, not what the address happened to have */
    void *moved = core->realloc_aligned(r->heap, e->block, to_size(c->a), 16);
    if (moved == NULL) {
        r->failed_allocations++;
        replay_error(r, false, "the replay could not reallocate 0x%llx to %llu bytes", (unsigned long long)c->ptr,
                     (unsigned long long)c->a);
        live_rename(r, e, c->result);
        return;
    }
    live_forget(r, e);
    born(r, c->result, moved, c->a);
}

static void replay_call(replayer *r, const trace_call *c)
{
    const core_api *core = r->config.core;
    switch (c->op) {
    case CALL_MALLOC:
        if (c->result != 0)
            born(r, c->result, core->alloc(r->heap, to_size(c->a)), c->a);
        break;
    case CALL_CALLOC:
        if (c->result != 0)
            born(r, c->result, core->calloc(r->heap, to_size(c->a), to_size(c->b)), trace_call_bytes(c));
        break;
    case CALL_ALIGNED: replay_aligned(r, c); break;
    case CALL_FREE: {
        void *block = c->ptr != 0 ? live_take(r, c->ptr, "free") : NULL;
        if (block != NULL && is_replayed(block))
            core->free(r->heap, block);
        break;
    }
    default: replay_realloc(r, c);
    }
}

static void peaks_update(replayer *r)
{
    r->span = current_span(r);
    if (r->live_bytes > r->peak_live_bytes)
        r->peak_live_bytes = r->live_bytes;
    if (r->span > r->peak_span) {
        r->peak_span = r->span;
        r->peak_span_call = r->next;
    }
}

/* A problem the core reported during the last call, when the replay's own
 * error line did not already count that call. */
static void core_problems_note(replayer *r, size_t errors_before)
{
    size_t problems = r->config.core->problem_count(r->heap);
    if (problems == r->problems_seen)
        return;
    r->problems_seen = problems;
    if (r->errors != errors_before)
        return;
    hh_problem p = {0, NULL, NULL, NULL};
    r->config.core->last_problem(r->heap, &p);
    r->next--; /* the error names the call just replayed */
    replay_error(r, false, "the heap reported %s: %s", r->config.core->code_name(p.code), p.what != NULL ? p.what : "");
    r->next++;
}

bool replay_verify(replayer *r)
{
    hh_problem p;
    int code = r->config.core->check(r->heap, &p);
    r->problems_seen = r->config.core->problem_count(r->heap);
    if (code == 0)
        return true;
    replay_error(r, true, "hh_check failed: %s at offset %td: %s", r->config.core->code_name(p.code),
                 (const unsigned char *)p.where - r->mem, p.what != NULL ? p.what : "");
    r->stopped = true;
    return false;
}

bool replay_step(replayer *r)
{
    if (r->stopped || r->next >= r->trace->count)
        return false;
    size_t errors_before = r->errors;
    replay_call(r, &r->trace->calls[r->next]);
    r->next++;
    core_problems_note(r, errors_before);
    peaks_update(r);
    if (r->config.check_every != 0 && r->next % r->config.check_every == 0)
        replay_verify(r);
    return !r->stopped;
}

size_t replay_error_count(const replayer *r) { return r->errors; }

/* ---- layout facts, learnt from the public API on a scratch heap ---- */

static int first_span(void *ctx, const hh_span *span)
{
    memcpy(ctx, span, sizeof *span);
    return 1;
}

/* The footer's bytes past payload + usable size, and the control data before the first span. */
static int learn_layout(const core_api *core, size_t *tail, size_t *control)
{
    static alignas(64) unsigned char scratch[1 << 16];
    hh_heap *h = core->init(scratch, sizeof scratch, NULL);
    if (h == NULL)
        return -1;
    hh_span first;
    core->walk(h, first_span, &first);
    *control = (size_t)((const unsigned char *)first.start - scratch);
    void *p = core->alloc(h, 1);
    core->walk(h, first_span, &first);
    *tail = (size_t)((const unsigned char *)first.start + first.size - ((unsigned char *)p + core->usable_size(h, p)));
    return first.is_hole ? -1 : 0;
}

/* Every replay's region starts at the same alignment (1 MiB), so that two
 * replays of one trace place every block alike: what realloc keeps of a
 * block's alignment depends on its address (docs/design.md). MAP_FAILED when
 * the mapping fails. */
#define REPLAY_REGION_ALIGN ((size_t)1 << 20)
static void *map_region(size_t bytes)
{
    if (bytes > SIZE_MAX - REPLAY_REGION_ALIGN)
        return MAP_FAILED;
    size_t whole = bytes + REPLAY_REGION_ALIGN;
    unsigned char *raw = mmap(NULL, whole, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return MAP_FAILED;
    size_t lead = (REPLAY_REGION_ALIGN - (uintptr_t)raw % REPLAY_REGION_ALIGN) % REPLAY_REGION_ALIGN;
    size_t page = (size_t)sysconf(_SC_PAGESIZE); /* munmap's unit */
    size_t used = (lead + bytes + page - 1) / page * page;
    if (lead)
        munmap(raw, lead);
    if (used < whole)
        munmap(raw + used, whole - used);
    return raw + lead;
}

int replay_start(replayer *r, const trace *t, const replay_config *config, char err[TRACE_ERROR_MAX])
{
    *r = (replayer){.trace = t, .config = *config};
    size_t scratch_control;
    if (learn_layout(config->core, &r->tail_bytes, &scratch_control) != 0) {
        snprintf(err, TRACE_ERROR_MAX, "cannot start a scratch heap to learn its layout");
        return -1;
    }
    void *mem = map_region(config->region);
    if (mem == MAP_FAILED) {
        snprintf(err, TRACE_ERROR_MAX, "cannot map a region of %zu bytes", config->region);
        return -1;
    }
    r->mem = mem;
    r->heap = config->core->init(mem, config->region, NULL);
    if (r->heap == NULL) {
        replay_end(r);
        snprintf(err, TRACE_ERROR_MAX, "hh_init refuses a region of %zu bytes", config->region);
        return -1;
    }
    hh_span first;
    config->core->walk(r->heap, first_span, &first);
    r->control_bytes = (size_t)((const unsigned char *)first.start - r->mem);
    r->problems_seen = config->core->problem_count(r->heap);
    r->alive = calloc(t->count + 1, 1);
    if (r->alive == NULL)
        out_of_memory();
    live_rehash(r);
    return 0;
}

void replay_end(replayer *r)
{
    if (r->mem != NULL)
        munmap(r->mem, r->config.region);
    free(r->table);
    free(r->ends);
    free(r->alive);
    *r = (replayer){.trace = NULL};
}

bool replay_block_at(const replayer *r, const void *payload, size_t usable, replay_block *out)
{
    uint64_t stamp = 0;
    memcpy(&stamp, payload, usable < sizeof stamp ? usable : sizeof stamp);
    if (stamp >= r->trace->count || !r->alive[stamp])
        return false;
    const trace_call *c = &r->trace->calls[stamp];
    *out = (replay_block){payload, (size_t)stamp, trace_call_bytes(c), c->result};
    return true;
}
