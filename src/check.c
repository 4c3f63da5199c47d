/*
 * hh_check: prove the heap consistent, invariant by invariant (docs/design.md
 * numbers them I1..I15). Each check returns its code instead of asserting, so
 * it works in release builds. Also the walk, the text map and code names.
 */
#include "annotate.h"
HH_TOOLS_EXEMPT_BEGIN; /* to HH_TOOLS_EXEMPT_END: under ASan the core's accesses are exempt */
#include "canary.h"
#include "heap.h"
#include "mem.h"
#include "tag.h"

static int fail_in_block(hh_problem *out, int code, const void *block, const void *where, const char *what)
{
    if (out)
        *out = (hh_problem){code, where, what, block};
    return code;
}

static int fail(hh_problem *out, int code, const void *where, const char *what)
{
    return fail_in_block(out, code, NULL, where, what);
}

/* I1: the control block is intact: its magic, its check value over flags,
 * callbacks, bounds and settings, its entry gate, and plausible pointers. */
static int check_control(const hh_heap *h, hh_problem *out)
{
    if (h->magic != (HH_MAGIC ^ h->key))
        return fail(out, HH_E_CORRUPT, h, "I1: control block magic overwritten");
    if (!control_sound(h))
        return fail(out, HH_E_CORRUPT, h,
                    "I1: control block check value does not match (flags, callbacks or bounds overwritten)");
    bool aligned =
        ((uintptr_t)h->base % HH_GRANULE == HH_TAG_BYTES) && ((uintptr_t)h->end % HH_GRANULE == HH_TAG_BYTES);
    bool ordered = (char *)h < h->base && h->base < h->end && h->floor_end <= h->end && h->end <= h->limit_end;
    if (!aligned || !ordered)
        return fail(out, HH_E_CORRUPT, h, "I1: control block pointers overwritten");
    uint32_t below = 0;
    for (uint32_t k = 0; k < h->gap_count; k++) {
        if (k >= GAPS_MAX || h->gap_lo[k] < below || h->gap_hi[k] <= h->gap_lo[k] || h->gap_hi[k] >= heap_span_g(h))
            return fail(out, HH_E_CORRUPT, h, "I1: the spans between regions are out of order or outside the heap");
        below = h->gap_hi[k];
    }
    return HH_OK;
}

/* I2: the fences at both ends of the arena are sealed. */
static int check_fences(const hh_heap *h, hh_problem *out)
{
    const tag *pro = heap_prologue(h), *epi = heap_epilogue(h);
    if (pro->word != 0 || !tag_sealed(h, pro, HH_NIL))
        return fail(out, HH_E_CORRUPT, pro, "I2: prologue fence overwritten (write before the first block)");
    if (epi->word != 0 || !tag_sealed(h, epi, block_pos(h, epi)))
        return fail(out, HH_E_CORRUPT, epi, "I2: epilogue fence overwritten (write past the last block)");
    return HH_OK;
}

/* I3-I6 for one block or hole at b. */
static int check_tags(const hh_heap *h, tag *b, hh_problem *out)
{
    if (!tag_sealed(h, b, block_pos(h, b)))
        return fail(out, HH_E_CORRUPT, b, "I3: header's check value does not match (header overwritten)");
    if (tag_size(b) < HH_MIN_BLOCK)
        return fail(out, HH_E_CORRUPT, b, "I4: block smaller than the minimum");
    if (tag_size(b) > (size_t)(h->end - (char *)b))
        return fail(out, HH_E_CORRUPT, b, "I6: block runs past the end of the heap");
    const tag *f = block_footer(b);
    if (f->word != b->word || f->seal != b->seal)
        return fail(out, HH_E_CORRUPT, f, "I5: footer differs from header (write past the end of a block)");
    if (tag_state(b) == TAG_STATE_MASK)
        return fail(out, HH_E_CORRUPT, b, "I3: header's state is impossible");
    return HH_OK;
}

/* I12: a poisoned hole still holds its poison. */
static int check_poison(const hh_heap *h, tag *hole, hh_problem *out)
{
    if (!(h->flags & HH_POISON))
        return HH_OK;
    const unsigned char *bad = hole_poison_damage(hole);
    return bad ? fail(out, HH_E_POISON, bad, "I12: freed memory was written after free") : HH_OK;
}

/* I14: with HH_CANARY, a block's slack and size record are as written. */
static int check_canary(const hh_heap *h, tag *b, hh_problem *out)
{
    if (!(h->flags & HH_CANARY))
        return HH_OK;
    size_t offset = canary_damage(h, b);
    if (offset == SIZE_MAX)
        return HH_OK;
    unsigned char *p = block_payload(b);
    return fail_in_block(out, HH_E_CORRUPT, p, p + offset, "I14: canary: written past the requested size");
}

/* What the walk counts, to compare with the running totals. */
typedef struct tally {
    size_t blocks, holes, used, free, largest, cached_blocks, cached;
#ifndef HH_INDEX_TABLE
    tag *unindexed; /* the first hole the tries' lookup did not find (I8) */
#endif
} tally;

/* I15 at b: when the next span between regions starts here, it is sound
 * (*gap set, *next_gap moves on); a block or hole must not run into it. */
static int check_gap_at(const hh_heap *h, tag *b, uint32_t *next_gap, bool *gap, hh_problem *out)
{
    *gap = false;
    if (*next_gap >= h->gap_count)
        return HH_OK;
    uint32_t pos = block_pos(h, b), lo = h->gap_lo[*next_gap];
    if (pos == lo) {
        if (!gap_sound(h, pos))
            return fail(out, HH_E_CORRUPT, b, "I15: the span between two regions lost its seal or its size");
        ++*next_gap;
        *gap = true;
        return HH_OK;
    }
    if (pos > lo || tag_size_g(b) > lo - pos)
        return fail(out, HH_E_CORRUPT, b, "I15: a block or hole runs into the span between two regions");
    return HH_OK;
}

/* I4-I7, I12 and I14 for the sealed span b (not a gap), counted in *t;
 * *left_is_hole says whether the span before it was a hole, and becomes
 * whether b is one. */
static int check_span(const hh_heap *h, tag *b, bool *left_is_hole, tally *t, hh_problem *out)
{
    size_t size = tag_size(b);
    bool hole = tag_is_hole(b), was_hole = *left_is_hole;
    *left_is_hole = hole;
    if (tag_is_cached(b)) {
        t->cached_blocks++;
        t->cached += size;
        return HH_OK;
    }
    if (!hole) {
        t->blocks++;
        t->used += size;
        return check_canary(h, b, out);
    }
    if (was_hole)
        return fail(out, HH_E_CORRUPT, b, "I7: two holes side by side (missed coalescing)");
    t->holes++;
    t->free += size;
    t->largest = size > t->largest ? size : t->largest;
#ifndef HH_INDEX_TABLE
    /* I8 during the walk, saving a second one: the tries' lookup reads only
     * positions inside the heap and stops within its key's width, so it may
     * run before idx_verify has vouched for them; its answer counts only
     * after (check_index_membership). */
    if (!t->unindexed && !idx_contains(h, b))
        t->unindexed = b;
#endif
    return check_poison(h, b, out);
}

/* I3-I7, I12, I14 and I15 over the whole arena, in address order. */
static int check_walk(const hh_heap *h, tally *t, hh_problem *out)
{
    bool left_is_hole = false, gap;
    uint32_t next_gap = 0;
    for (tag *b = heap_first(h); (char *)b < h->end; b = block_next(b)) {
        int rc = check_gap_at(h, b, &next_gap, &gap, out);
        if (rc == HH_OK && gap)
            left_is_hole = false;
        else if (rc == HH_OK)
            rc = check_tags(h, b, out);
        if (rc == HH_OK && !gap)
            rc = check_span(h, b, &left_is_hole, t, out);
        if (rc)
            return rc;
    }
    if (next_gap != h->gap_count)
        return fail(out, HH_E_CORRUPT, h, "I15: the walk did not meet every span between regions");
    return HH_OK;
}

/* I8 and I9: every hole is in the index, and nothing else is. Runs after
 * check_walk and idx_verify, so the tags and the index can be trusted. The
 * table's lookup trusts its count, so it walks again here; the tries' was
 * asked during the walk. */
static int check_index_membership(const hh_heap *h, const tally *t, hh_problem *out)
{
#ifdef HH_INDEX_TABLE
    for (tag *b = heap_first(h); (char *)b < h->end; b = block_next(b))
        if (tag_is_hole(b) && !idx_contains(h, b))
            return fail(out, HH_E_INDEX, b, "I8: a hole is missing from the index");
#else
    if (t->unindexed)
        return fail(out, HH_E_INDEX, t->unindexed, "I8: a hole is missing from the index");
#endif
    if (idx_count(h) != t->holes)
        return fail(out, HH_E_INDEX, h, "I9: the index holds a different number of holes than the heap");
    return HH_OK;
}

/* I11: the running totals equal what the walk found. */
static int check_totals(const hh_heap *h, const tally *t, hh_problem *out)
{
    if (h->blocks != t->blocks || h->holes != t->holes)
        return fail(out, HH_E_STATS, h, "I11: block or hole count differs from the walk");
    if (h->used_bytes != t->used || h->free_bytes != t->free)
        return fail(out, HH_E_STATS, h, "I11: used or free bytes differ from the walk");
    if (t->used + t->free + t->cached != heap_arena_bytes(h))
        return fail(out, HH_E_STATS, h, "I11: blocks and holes do not add up to the arena");
    if ((size_t)idx_largest_g(h) * HH_GRANULE != t->largest)
        return fail(out, HH_E_STATS, h, "I11: the index's largest hole is not the largest hole");
    return HH_OK;
}

/* I13 for list g: every link names a sealed cached block of size g inside
 * the heap (the walk verified every tag); *seen counts them, bounded by the
 * cached blocks the walk found, so that a cycle ends whatever the counts say. */
static int check_front_list(const hh_heap *h, uint32_t g, size_t limit, size_t *seen, size_t *bytes, hh_problem *out)
{
    uint32_t list_seen = 0;
    for (uint32_t pos = h->front_head[g]; pos != HH_NIL;) {
        if (!heap_pos_ok(h, pos))
            return fail(out, HH_E_INDEX, &h->front_head[g],
                        "I13: front list link outside the heap (write after free?)");
        tag *b = block_at(h, pos);
        if (!tag_sealed(h, b, pos) || !tag_is_cached(b) || tag_size_g(b) != g)
            return fail(out, HH_E_INDEX, b, "I13: front list names a block that is not cached, or of another size");
        if (++*seen > limit)
            return fail(out, HH_E_INDEX, b, "I13: front lists hold more blocks than the heap has cached (a cycle?)");
        if (++list_seen > h->front_count[g])
            return fail(out, HH_E_INDEX, b, "I13: a front list holds more blocks than its count (a cycle?)");
        *bytes += tag_size(b);
        pos = front_link_load(b);
    }
    if (list_seen != h->front_count[g])
        return fail(out, HH_E_INDEX, &h->front_count[g], "I13: a front list holds fewer blocks than its count");
    return HH_OK;
}

/* I13: the front's lists hold exactly the cached blocks the walk found. */
static int check_front(const hh_heap *h, const tally *t, hh_problem *out)
{
    size_t seen = 0, bytes = 0;
    for (uint32_t g = 0; g < FRONT_LISTS; g++) {
        if (h->front_head[g] != HH_NIL && (g < HH_MIN_BLOCK / HH_GRANULE || g > h->front_max_g))
            return fail(out, HH_E_INDEX, &h->front_head[g], "I13: front list of a size the front does not keep");
        int rc = check_front_list(h, g, t->cached_blocks, &seen, &bytes, out);
        if (rc)
            return rc;
    }
    if (h->lost_blocks)
        return fail(out, HH_E_INDEX, h, "I13: cached blocks were put out of service after damage");
    if (seen != t->cached_blocks || bytes != h->front_bytes || bytes != t->cached)
        return fail(out, HH_E_INDEX, h, "I13: front lists disagree with the cached blocks (one lost from its list?)");
    return HH_OK;
}

int heap_check_unlocked(hh_heap *h, hh_problem *out)
{
    tally t = {0};
    int rc = check_control(h, out);
    if (!rc)
        rc = check_fences(h, out);
    if (!rc)
        rc = check_walk(h, &t, out);
    if (!rc)
        rc = idx_verify(h, out); /* I10 */
    if (!rc)
        rc = check_index_membership(h, &t, out);
    if (!rc)
        rc = check_totals(h, &t, out);
    if (!rc)
        rc = check_front(h, &t, out);
    if (!rc)
        fail(out, HH_OK, NULL, "consistent");
    return rc;
}

int hh_check(hh_heap *h, hh_problem *out)
{
    if (!h)
        return fail(out, HH_E_BAD_POINTER, NULL, "no heap");
    if (h->magic != (HH_MAGIC ^ h->key) || !heap_lock(h))
        return check_control(h, out);
    tool_core_enter();
    int rc = heap_check_unlocked(h, out);
    tool_core_leave();
    heap_unlock(h);
    return rc;
}

/* ---- the check near given blocks: incremental, between full checks ---- */

/* The gap (I15) that ends at pos or starts at pos, if any: its index, else
 * gap_count. */
static uint32_t gap_ending_at(const hh_heap *h, uint32_t pos)
{
    uint32_t k = 0;
    while (k < h->gap_count && k < GAPS_MAX && h->gap_hi[k] != pos)
        k++;
    return k;
}

static uint32_t gap_starting_at(const hh_heap *h, uint32_t pos)
{
    uint32_t k = 0;
    while (k < h->gap_count && k < GAPS_MAX && h->gap_lo[k] != pos)
        k++;
    return k;
}

/* Is the footer just before b, at pos, sealed for a span that would end at
 * b? *left gets that span's header. */
static bool near_left_footer_sealed(const hh_heap *h, tag *b, uint32_t pos, tag **left)
{
    const tag *lf = block_left_footer(b);
    uint32_t size_g = tag_size_g(lf);
    if (size_g < HH_MIN_BLOCK / HH_GRANULE || size_g > pos || !heap_pos_ok(h, pos - size_g) ||
        !tag_sealed(h, lf, pos - size_g))
        return false;
    *left = block_at(h, pos - size_g);
    return true;
}

/* Does a span provably end just before b: a sealed footer there whose header
 * is sealed and equal to it? A sealed header is a span's (the heap erases the
 * tags a merge or a move leaves inside a span, so that a stale pointer is
 * refused); a footer alone may be left over from a span that no longer is. */
static bool near_span_ends_at(const hh_heap *h, tag *b, uint32_t pos)
{
    tag *left;
    return near_left_footer_sealed(h, b, pos, &left) && tag_sealed(h, left, pos - tag_size_g(left)) &&
           tags_equal(left, block_left_footer(b));
}

/* What lies before b, which starts a span at pos: the prologue (I2, checked
 * apart), a gap between regions (I15), or a span whose footer is just before
 * b (I5) and whose own tags hold (I3-I6). */
static int near_left(const hh_heap *h, tag *b, uint32_t pos, hh_problem *out)
{
    if (b == heap_first(h))
        return HH_OK;
    uint32_t k = gap_ending_at(h, pos);
    if (k < h->gap_count)
        return gap_sound(h, h->gap_lo[k])
                   ? HH_OK
                   : fail(out, HH_E_CORRUPT, b - 1, "I15: the span between two regions lost its seal or its size");
    tag *left;
    if (!near_left_footer_sealed(h, b, pos, &left))
        return fail(out, HH_E_CORRUPT, b - 1, "I5: footer differs from header (write past the end of a block)");
    return check_tags(h, left, out);
}

/* What lies after the sound span b: the epilogue (I2, checked apart), a gap
 * (I15), or a span whose tags hold (I3-I6). */
static int near_right(const hh_heap *h, tag *b, hh_problem *out)
{
    tag *r = block_next(b);
    if ((char *)r == h->end)
        return HH_OK;
    uint32_t pos = block_pos(h, r), k = gap_starting_at(h, pos);
    if (k < h->gap_count)
        return gap_sound(h, pos)
                   ? HH_OK
                   : fail(out, HH_E_CORRUPT, r, "I15: the span between two regions lost its seal or its size");
    if (!heap_pos_ok(h, pos))
        return fail(out, HH_E_CORRUPT, b, "I15: a block or hole runs into the span between two regions");
    return check_tags(h, r, out);
}

/* The span whose payload is p, if p still is one's, and its neighbours. A
 * header at p that is not sealed is damage only when a span provably starts
 * there (the first block's, the one after a gap, or the span before it ends
 * there): otherwise p is no span's payload any more (its block was merged
 * and the tags erased; the memory may be another block's now) and is left
 * alone. Reads only inside the heap. */
static int near_one(const hh_heap *h, const void *p, hh_problem *out)
{
    uintptr_t at = (uintptr_t)p - HH_TAG_BYTES, base = (uintptr_t)h->base;
    if (at < base || at >= (uintptr_t)h->end || (at - base) % HH_GRANULE != 0)
        return HH_OK;
    uint32_t pos = (uint32_t)((at - base) / HH_GRANULE);
    if (!heap_pos_ok(h, pos))
        return HH_OK;
    tag *b = block_at(h, pos);
    if (!tag_sealed(h, b, pos)) {
        if (b == heap_first(h) || gap_ending_at(h, pos) < h->gap_count || near_span_ends_at(h, b, pos))
            return fail(out, HH_E_CORRUPT, b, "I3: header's check value does not match (header overwritten)");
        return HH_OK;
    }
    int rc = check_tags(h, b, out);
    if (!rc)
        rc = near_left(h, b, pos, out);
    if (!rc)
        rc = near_right(h, b, out);
    return rc;
}

int hh_check_near(hh_heap *h, const void *const *ptrs, size_t n, hh_problem *out)
{
    if (!h)
        return fail(out, HH_E_BAD_POINTER, NULL, "no heap");
    if (h->magic != (HH_MAGIC ^ h->key) || !heap_lock(h))
        return check_control(h, out);
    tool_core_enter();
    int rc = check_control(h, out);
    if (!rc)
        rc = check_fences(h, out);
    for (size_t i = 0; !rc && ptrs && i < n; i++)
        rc = near_one(h, ptrs[i], out);
    if (!rc)
        fail(out, HH_OK, NULL, "consistent");
    tool_core_leave();
    heap_unlock(h);
    return rc;
}

/* ---- walking ---- */

static int walk_unlocked(hh_heap *h, int (*visit)(void *ctx, const hh_span *span), void *ctx)
{
    uint32_t next_gap = 0;
    bool gap;
    for (tag *b = heap_first(h); (char *)b < h->end; b = block_next(b)) {
        if (check_gap_at(h, b, &next_gap, &gap, NULL))
            return -1;
        if (gap)
            continue; /* not the heap's */
        if (check_tags(h, b, NULL))
            return -1;
        hh_span s = {b, tag_size(b), block_payload(b), tag_state(b) != TAG_BLOCK};
        int rc = visit(ctx, &s);
        if (rc)
            return rc;
    }
    return 0;
}

int hh_walk(hh_heap *h, int (*visit)(void *ctx, const hh_span *span), void *ctx)
{
    if (!h || !visit || h->magic != (HH_MAGIC ^ h->key) || !heap_lock(h))
        return -1;
    tool_core_enter(); /* the visits too: a tool's view of them is lost (annotate.h) */
    int rc = control_sound(h) ? walk_unlocked(h, visit, ctx) : -1;
    tool_core_leave();
    heap_unlock(h);
    return rc;
}

/* ---- the text map ---- */

enum { CELL_HOLE = 1, CELL_BLOCK = 2, CELL_CONTROL = 4, CELL_OUTSIDE = 8 };

typedef struct map_state {
    char *cells;
    const char *origin;
    size_t cell_bytes, ncells;
} map_state;

static void map_mark(map_state *m, const char *from, size_t bytes, char bit)
{
    size_t first = (size_t)(from - m->origin) / m->cell_bytes;
    size_t last = (size_t)(from + bytes - 1 - m->origin) / m->cell_bytes;
    for (size_t i = first; i <= last && i < m->ncells; i++)
        m->cells[i] = (char)(m->cells[i] | bit);
}

static int map_visit(void *ctx, const hh_span *s)
{
    map_mark(ctx, s->start, s->size, s->is_hole ? CELL_HOLE : CELL_BLOCK);
    return 0;
}

/* Control data and the memory between regions show only where a cell holds
 * nothing else. */
static char map_glyph(char bits)
{
    if (bits & (CELL_HOLE | CELL_BLOCK))
        bits = (char)(bits & ~(CELL_CONTROL | CELL_OUTSIDE));
    if (bits & CELL_OUTSIDE)
        return bits & CELL_CONTROL ? '=' : ' ';
    switch (bits) {
    case CELL_HOLE: return '.';
    case CELL_BLOCK: return '#';
    case 0:
    case CELL_CONTROL: return '=';
    default: return '+';
    }
}

size_t hh_map_text(hh_heap *h, char *buf, size_t cap, size_t columns)
{
    if (!buf || cap == 0)
        return 0;
    buf[0] = '\0';
    if (!h || h->magic != (HH_MAGIC ^ h->key) || columns == 0)
        return 0;
    columns = columns < cap - 1 ? columns : cap - 1;
    if (columns == 0 || !heap_lock(h))
        return 0;
    if (!control_sound(h)) {
        heap_unlock(h);
        return 0;
    }
    size_t span = (size_t)(h->end + HH_TAG_BYTES - h->mem);
    map_state m = {buf, h->mem, (span + columns - 1) / columns, 0};
    m.ncells = (span + m.cell_bytes - 1) / m.cell_bytes;
    memset(buf, 0, m.ncells);
    map_mark(&m, h->mem, (size_t)(h->base - h->mem), CELL_CONTROL);
    for (uint32_t k = 0; k < h->gap_count && k < GAPS_MAX; k++)
        map_mark(&m, (char *)block_at(h, h->gap_lo[k]), (size_t)(h->gap_hi[k] - h->gap_lo[k]) * HH_GRANULE,
                 CELL_OUTSIDE);
    tool_core_enter();
    int rc = walk_unlocked(h, map_visit, &m);
    tool_core_leave();
    heap_unlock(h);
    for (size_t i = 0; i < m.ncells; i++)
        buf[i] = rc < 0 ? '?' : map_glyph(buf[i]);
    buf[m.ncells] = '\0';
    return m.ncells;
}

const char *hh_code_name(int code)
{
    static const char *const names[HH_E_COUNT] = {
        "HH_OK",          "HH_E_BAD_POINTER", "HH_E_DOUBLE_FREE", "HH_E_CORRUPT",  "HH_E_INDEX",  "HH_E_BAD_SIZE",
        "HH_E_BAD_ALIGN", "HH_E_POISON",      "HH_E_STATS",       "HH_E_CALLBACK", "HH_E_REGION",
    };
    return (code >= 0 && code < HH_E_COUNT) ? names[code] : "HH_E_?";
}

HH_TOOLS_EXEMPT_END;
