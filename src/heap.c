/*
 * holeheap: init, alloc, aligned alloc, calloc, realloc, free, grow, trim,
 * and the front.
 *
 * Every hole comes into service through hole_link (tags written, poisoned,
 * indexed, counted) and leaves it through hole_unlink (unindexed, uncounted),
 * always after its tags were verified (span_sound, through the index or the
 * neighbour checks). Blocks are counted by block_make and count_block.
 * Operations verify everything they will touch before they change anything,
 * so a refused call leaves the heap as it was.
 *
 * The front: a freed block of at most front_max_g granules is not merged at
 * once but kept, still sealed, marked as cached, in the list of its exact
 * size; the next request of that size, or of up to two granules less when
 * its own list is empty, takes it back in O(1). The lists are
 * flushed into the index before the heap grows or an allocation fails, by
 * hh_trim, and never hold more than front_limit bytes.
 *
 *   a cached block: | header (cached) | link | ... old contents ... | footer (cached) |
 *   link = next cached block's position ^ the block's own (cached) seal (cleared when it leaves)
 */
#include "annotate.h"
HH_TOOLS_EXEMPT_BEGIN; /* to HH_TOOLS_EXEMPT_END: under ASan the core's accesses are exempt */
#include "canary.h"
#include "heap.h"
#include "mem.h"
#include "tag.h"

/* ---- small arithmetic ---- */

static inline uintptr_t align_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }
static inline uintptr_t align_down(uintptr_t x, uintptr_t a) { return x & ~(a - 1); }
static inline size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t granules(size_t bytes) { return bytes / HH_GRANULE; }

/* Block size (header + payload + footer) for a request of n bytes; 0 if no
 * heap could ever hold it. */
static inline size_t block_size_for(size_t n)
{
    if (n > HH_MAX_REQUEST)
        return 0;
    return max_size(align_up(n + HH_OVERHEAD, HH_GRANULE), HH_MIN_BLOCK);
}

static inline char *region_end_at(char *end) { return end + HH_TAG_BYTES; }
static inline char *region_end(const hh_heap *h) { return region_end_at(h->end); }

/* ---- problems ---- */

/* on_error is called only while the control block's check value holds (I1):
 * a stray write over the callback pointer must not be followed. */
static void problem_record(hh_heap *h, int code, const void *block, const void *where, const char *what)
{
    h->last = (hh_problem){code, where, what, block};
    h->problems++;
}

/* The control block failed its check value (I1): recorded, no callback
 * trusted, the call refused. */
static void control_refused(hh_heap *h)
{
    problem_record(h, HH_E_CORRUPT, NULL, h, "I1: control block overwritten: call refused");
}

/* A stray write over the keys or the bounds makes sound memory look damaged:
 * before anything is set aside as damaged, the control block is verified;
 * if it fails, that is what is recorded (I1) and false returned, so that the
 * caller sets nothing aside. */
bool heap_damage_sound(hh_heap *h)
{
    if (control_sound(h))
        return true;
    control_refused(h);
    return false;
}

/* Record a problem and pass it to on_error (after the caller has set the
 * damage aside, so that an on_error that calls back into a lock-free heap
 * does not meet it again); I1 instead when the control block fails. The
 * block is the live block the problem lies in (canary mode), or NULL. */
bool heap_report_in_block(hh_heap *h, int code, const void *block, const void *where, const char *what)
{
    if (!heap_damage_sound(h))
        return false;
    problem_record(h, code, block, where, what);
    if (h->on_error)
        h->on_error(h->ctx, &h->last);
    return true;
}

bool heap_report(hh_heap *h, int code, const void *where, const char *what)
{
    return heap_report_in_block(h, code, NULL, where, what);
}

static void report_size(hh_heap *h) { heap_report(h, HH_E_BAD_SIZE, NULL, "allocation size too large for any heap"); }

/* ---- running totals ---- */

static void count_block(hh_heap *h, size_t size, int sign)
{
    if (sign > 0) {
        h->blocks++;
        h->used_bytes += size;
        h->peak_used_bytes = max_size(h->peak_used_bytes, h->used_bytes);
    } else {
        h->blocks--;
        h->used_bytes -= size;
    }
}

static void count_hole(hh_heap *h, size_t size, int sign)
{
    uint64_t g = granules(size);
    if (sign > 0) {
        h->holes++;
        h->free_bytes += size;
        h->hole_square_g += g * g;
    } else {
        h->holes--;
        h->free_bytes -= size;
        h->hole_square_g -= g * g;
    }
}

/* Up to what the front takes a block: a sixteenth of the bytes the program
 * holds, plus a floor, never more than front_limit (config.h:
 * HH_FRONT_SHARE_SHIFT, HH_FRONT_FLOOR; checked on entry only). Cached blocks
 * are neither live nor mergeable, so they widen the span; tied to the live
 * bytes they widen it by a bounded share. */
static inline size_t front_room(const hh_heap *h)
{
    return min_size(h->front_limit, (h->used_bytes >> HH_FRONT_SHARE_SHIFT) + HH_FRONT_FLOOR);
}

/* The arena is about to change size (growth, trim, a new region): fold the
 * peak of the span that ends into the low-water mark of free memory, which
 * is the arena less the peak while the arena stays the same. The fast paths
 * keep only peak_used_bytes, as before. */
static void stats_close_span(hh_heap *h)
{
    h->free_low_before = min_size(h->free_low_before, heap_arena_bytes(h) - h->peak_used_bytes);
    h->peak_before = max_size(h->peak_before, h->peak_used_bytes);
    h->peak_used_bytes = h->used_bytes;
}

static void stats_restart(hh_heap *h)
{
    h->free_low_before = SIZE_MAX;
    h->peak_before = 0;
    h->peak_used_bytes = h->used_bytes;
}

static void *count_allocation(hh_heap *h, void *p)
{
    h->allocations += p != NULL;
    return p;
}

/* ---- holes and blocks ---- */

/* With HH_POISON: is the hole's poison intact? If not, report the write after
 * free; the caller then leaves the hole alone, so the evidence stays (I12). */
static bool hole_clean(hh_heap *h, tag *hole)
{
    if (!(h->flags & HH_POISON))
        return true;
    const unsigned char *bad = hole_poison_damage(hole);
    if (bad)
        heap_report(h, HH_E_POISON, bad, "freed memory was written after free");
    return bad == NULL;
}

/* With HH_POISON, fill a hole's poison area. */
static void hole_poison_fill(hh_heap *h, tag *hole)
{
    if (!(h->flags & HH_POISON))
        return;
    tool_open(hole_poison_start(hole), hole_poison_bytes(hole));
    memset(hole_poison_start(hole), HH_POISON_BYTE, hole_poison_bytes(hole));
    tool_close(hole_poison_start(hole), hole_poison_bytes(hole));
}

/* A verified hole the index cannot hold or give up (its tree was set aside
 * after damage, reported then) goes out of service as a lost block does:
 * marked cached, in no list, so that no call meets it as a hole again (a
 * merge, growth, a search), and the damage is reported once, not at every
 * call that comes near it. Nothing changes when the damage seen was the
 * control block's (I1). */
static __attribute__((noinline, cold)) void hole_lose(hh_heap *h, tag *hole)
{
    if (!heap_damage_sound(h))
        return;
    tag_flip(h, hole, TAG_HOLE, TAG_CACHED);
    count_hole(h, tag_size(hole), -1);
    h->lost_blocks++;
    h->lost_bytes += tag_size(hole);
}

/* Index the hole b (its tags written) and count it; NULL when its tree is
 * set aside: it is then out of service (hole_lose). */
static inline __attribute__((always_inline)) tag *hole_index(hh_heap *h, tag *b)
{
    count_hole(h, tag_size(b), +1);
    if (__builtin_expect(idx_insert(h, b), 1))
        return b;
    hole_lose(h, b);
    return NULL;
}

/* The hole b, its tags written: poison, index, totals; NULL as hole_index. */
static inline __attribute__((always_inline)) tag *hole_enter(hh_heap *h, tag *b)
{
    hole_poison_fill(h, b);
    return hole_index(h, b);
}

/* Make [b, b+size) a hole: tags, poison, index, totals. */
static tag *hole_link(hh_heap *h, tag *b, size_t size)
{
    tag_write(h, b, size, TAG_HOLE);
    return hole_enter(h, b);
}

/* Take a verified hole out of the index and the totals, before its tags
 * change. false (reported by the index) when its index links are damaged:
 * the hole is then out of service (hole_lose) and the caller changes
 * nothing else. */
static inline __attribute__((always_inline)) bool hole_unlink(hh_heap *h, tag *hole)
{
    if (__builtin_expect(!idx_remove(h, hole), 0)) {
        hole_lose(h, hole);
        return false;
    }
    count_hole(h, tag_size(hole), -1);
    return true;
}

/* Put back a hole that hole_unlink took out, its tags unchanged. */
static void hole_relink(hh_heap *h, tag *hole) { hole_index(h, hole); }

/* Take a neighbour hole (or none) out of the index before a merge. When its
 * tree cannot give it up, it has gone out of service (hole_unlink) and
 * *hole becomes NULL: the merge goes on without it, so a sound block beside
 * damage can still be freed. false only when the damage seen was the
 * control block's (the hole is unchanged): the caller changes nothing. */
static inline __attribute__((always_inline)) bool neighbour_unlink(hh_heap *h, tag **hole)
{
    if (!*hole || hole_unlink(h, *hole))
        return true;
    if (tag_is_hole(*hole))
        return false;
    *hole = NULL;
    return true;
}

/* A span counted as a block, its tags of this state (TAG_BLOCK, or
 * TAG_CACHED for one that must never read as live: free_merge). */
static void block_make_as(hh_heap *h, tag *b, size_t size, uint32_t state)
{
    tag_write(h, b, size, state);
    count_block(h, size, +1);
}

static void block_make(hh_heap *h, tag *b, size_t size) { block_make_as(h, b, size, TAG_BLOCK); }

/*
 * Place a block of `size` at the start of the free span [b, b+span), which
 * is in no index. The rest becomes a hole when it can be one, else joins the
 * block:
 *
 *   | block (size) | hole (span-size) |     or     | block (span) |
 */
static tag *block_place(hh_heap *h, tag *b, size_t span, size_t size)
{
    HH_ASSERT(size <= span && size >= HH_MIN_BLOCK); /* callers chose a span that fits */
    if (span - size < HH_MIN_BLOCK) {
        block_make(h, b, span);
        return b;
    }
    block_make(h, b, size);
    hole_link(h, block_next(b), span - size);
    return b;
}

/* Carve a block of `size` from the start of a verified hole. NULL (nothing
 * changed) when the hole cannot be taken out of the index. */
static inline void *hole_take(hh_heap *h, tag *hole, size_t size)
{
    size_t span = tag_size(hole);
    if (!hole_unlink(h, hole))
        return NULL;
    if (span - size < HH_MIN_BLOCK) { /* taken whole: its verified seal flips, no new mix */
        tag_flip(h, hole, TAG_HOLE, TAG_BLOCK);
        count_block(h, span, +1);
        return block_payload(hole);
    }
    return block_payload(block_place(h, hole, span, size));
}

/* ---- validation of what a caller hands back ---- */

/* What is wrong with p as the payload of a live block, the first failing
 * check in this order; reads nothing at or past `lim` (the epilogue, or a
 * caller's readable end) and nothing in a gap between regions; a sound
 * block's header, as read, in *sound. */
typedef enum {
    BLOCK_SOUND,
    BLOCK_OUTSIDE,
    BLOCK_MISALIGNED,
    BLOCK_IN_GAP,
    BLOCK_UNSEALED,  /* I3 */
    BLOCK_BAD_SIZE,  /* I4, I6 */
    BLOCK_NOT_LIVE,  /* its state: hole, cached, gap */
    BLOCK_BAD_FOOTER /* I5 */
} block_fault;

/* What is wrong with p as a live block's payload, reading below lim and at
 * positions below pos_fast (or beyond it in a later region). The caller
 * holds the lock, or passes the bounds it read atomically (the peek): the
 * tags are read once, by relaxed atomic loads (tag_load). */
static inline block_fault block_fault_at(const hh_heap *h, const void *p, const char *lim, uint32_t pos_fast,
                                         tag *sound)
{
    const char *c = p;
    if (c < h->base + HH_TAG_BYTES || c >= lim)
        return BLOCK_OUTSIDE;
    if (((size_t)(c - h->base) - HH_TAG_BYTES) % HH_GRANULE != 0)
        return BLOCK_MISALIGNED;
    tag *b = payload_block(p);
    uint32_t pos = block_pos(h, b);
    if (!heap_pos_below(h, pos, pos_fast))
        return BLOCK_IN_GAP;
    tag t = tag_load(b); /* read once: hh_usable_size_peek runs without the lock */
    if (!tag_sealed(h, &t, pos))
        return BLOCK_UNSEALED;
    size_t size = tag_size(&t);
    if (size < HH_MIN_BLOCK || size > (size_t)(lim - (char *)b))
        return BLOCK_BAD_SIZE;
    if (tag_state(&t) != TAG_BLOCK)
        return BLOCK_NOT_LIVE;
    tag footer = tag_load((tag *)(void *)((char *)b + size - HH_TAG_BYTES));
    if (!tags_equal(&t, &footer))
        return BLOCK_BAD_FOOTER;
    *sound = t;
    return BLOCK_SOUND;
}

/* The block whose payload is p, or NULL after reporting why not. */
static tag *block_from_user(hh_heap *h, const void *p)
{
    static const struct {
        int code;
        const char *what;
    } why[] = {
        [BLOCK_OUTSIDE] = {HH_E_BAD_POINTER, "pointer outside the heap"},
        [BLOCK_MISALIGNED] = {HH_E_BAD_POINTER, "misaligned pointer: not the start of a block"},
        [BLOCK_IN_GAP] = {HH_E_BAD_POINTER, "pointer between two regions of the heap"},
        [BLOCK_UNSEALED] = {HH_E_BAD_POINTER, "no block header here: interior pointer or overwritten header"},
        [BLOCK_BAD_SIZE] = {HH_E_CORRUPT, "block header has an impossible size"},
        [BLOCK_NOT_LIVE] = {HH_E_DOUBLE_FREE, "block is already free (double free)"},
        [BLOCK_BAD_FOOTER] = {HH_E_CORRUPT, "footer overwritten: write past the end of the block"},
    };
    tag sound;
    block_fault f = block_fault_at(h, p, h->end, h->pos_fast, &sound);
    tag *b = payload_block(p);
    if (f == BLOCK_SOUND)
        return b;
    /* where: the pointer, or the tag found damaged */
    const void *where = f == BLOCK_BAD_SIZE     ? (const void *)b
                        : f == BLOCK_BAD_FOOTER ? (const void *)block_footer(b)
                                                : p;
    heap_report(h, why[f].code, where, why[f].what);
    return NULL;
}

/* A tag of state gap where no gap is: damage (I15: a gap's tags sit only at
 * a region's edges). */
static inline bool gap_misplaced(const hh_heap *h, const tag *t, uint32_t pos)
{
    return tag_state(t) == TAG_GAP && !pos_in_gap(h, pos);
}

/* The hole left of b, NULL if b's left neighbour is no hole; *ok false (and
 * reported) when a neighbour that says it is a hole has corrupt tags (I3-I6).
 * Only a hole is merged with, so only a hole's tags are what the call trusts:
 * a neighbour that says it is a block, a cached block or a gap is left alone
 * unread (damage there is found when that span is itself freed or checked). */
static tag *left_hole(hh_heap *h, tag *b, bool *ok)
{
    if ((char *)b == h->base)
        return NULL;
    tag *lf = block_left_footer(b);
    uint32_t pos = block_pos(h, b);
    if (!tag_is_hole(lf) && !gap_misplaced(h, lf, pos - 1))
        return NULL;
    size_t size = tag_size(lf);
    tag *left = (tag *)(void *)((char *)b - size);
    /* I15: the left neighbour starts in b's own region, never in a gap */
    if (!tag_is_hole(lf) || size < HH_MIN_BLOCK || size > (size_t)(pos - region_start_pos(h, pos)) * HH_GRANULE ||
        !tags_equal(lf, left) || !tag_sealed(h, left, block_pos(h, left))) { /* I3-I5 */
        heap_report(h, HH_E_CORRUPT, lf, "left neighbour's footer or header is corrupt");
        *ok = false;
        return NULL;
    }
    return left;
}

/* The hole right of b, as left_hole. */
static tag *right_hole(hh_heap *h, tag *b, bool *ok)
{
    tag *r = block_next(b);
    if ((char *)r == h->end || (!tag_is_hole(r) && !gap_misplaced(h, r, block_pos(h, r))))
        return NULL;
    if (!tag_is_hole(r) || !span_sound(h, block_pos(h, r))) { /* I3-I6, I15 */
        heap_report(h, HH_E_CORRUPT, r, "right neighbour's header or footer is corrupt (write past the end?)");
        *ok = false;
        return NULL;
    }
    return r;
}

/* Both neighbours of b, verified, and (HH_POISON) clean. */
static bool neighbours(hh_heap *h, tag *b, tag **left, tag **right)
{
    bool ok = true;
    *left = left_hole(h, b, &ok);
    *right = ok ? right_hole(h, b, &ok) : NULL;
    return ok && (!*left || hole_clean(h, *left)) && (!*right || hole_clean(h, *right));
}

/* ---- growth and trimming at the end of the heap ---- */

/* The last block or hole: the one whose footer sits just before the epilogue;
 * NULL, reported, when its tags are corrupt (a write past the last block). */
static tag *heap_last(hh_heap *h)
{
    tag *lf = heap_epilogue(h) - 1;
    size_t size = tag_size(lf);
    uint32_t end_pos = heap_span_g(h);
    tag *last = (tag *)(void *)(h->end - size);
    /* I15: the last span starts in the last region, never in a gap */
    if (size < HH_MIN_BLOCK || size > (size_t)(end_pos - region_start_pos(h, end_pos)) * HH_GRANULE ||
        !tags_equal(last, lf) || !tag_sealed(h, last, block_pos(h, last))) {
        heap_report(h, HH_E_CORRUPT, lf, "the last block's footer or header is corrupt");
        return NULL;
    }
    return last;
}

/* Move the epilogue to new_end (the region then ends 8 bytes later). */
static void heap_move_end(hh_heap *h, char *new_end)
{
    if (h->end)
        stats_close_span(h);
    __atomic_store_n(&h->end, new_end, __ATOMIC_RELAXED); /* read by hh_usable_size_peek, without the lock */
    heap_pos_fast_update(h);
    fence_write(h, heap_epilogue(h), block_pos(h, heap_epilogue(h)));
    control_reseal(h);
}

/* ...at the end of the one region that grows or shrinks: what growth adds is
 * the heap's (no-access to the program); what a trim gives back is the
 * caller's again (annotate.h). */
static void heap_set_end(hh_heap *h, char *new_end)
{
    if (h->end && new_end > h->end)
        tool_hide(region_end(h), (size_t)(new_end - h->end));
    else if (h->end && new_end < h->end)
        tool_give_back(new_end + HH_TAG_BYTES, (size_t)(h->end - new_end));
    heap_move_end(h, new_end);
}

/* Growing back what the last trim gave away means the program frees and
 * allocates large blocks at the end of the heap: keep that much from now on,
 * so that the pair does not call shrink and grow every time. */
static void remember_regrowth(hh_heap *h, size_t need, size_t missing)
{
    if (h->last_trim >= missing)
        h->trim_keep = max_size(h->trim_keep, need);
    h->last_trim = 0;
}

/* A callback is called only while the control block's check value holds. */
static bool callbacks_trusted(hh_heap *h)
{
    if (control_sound(h))
        return true;
    control_refused(h);
    return false;
}

/* Ask grow for `ask` bytes at the end; the bytes added (a multiple of 16), or 0. */
static size_t heap_grow_call(hh_heap *h, size_t ask, size_t room)
{
    if (!callbacks_trusted(h))
        return 0;
    size_t got = h->grow(h->ctx, region_end(h), ask);
    if (got == 0)
        return 0;
    if (got < ask) {
        heap_report(h, HH_E_CALLBACK, region_end(h), "grow returned fewer bytes than asked");
        return 0;
    }
    return align_down(min_size(got, room), HH_GRANULE);
}

/* Take the last hole out of the index before growth extends it. When its
 * tree cannot give it up (set aside after damage), it has gone out of
 * service (hole_unlink) and growth starts a new hole after it: *have
 * becomes 0. false when the damage seen was the control block's (I1). */
static bool heap_grow_take_last(hh_heap *h, tag *last, size_t *have)
{
    if (hole_unlink(h, last))
        return true;
    if (tag_is_hole(last))
        return false;
    *have = 0;
    return true;
}

/* The hole growth made could not be indexed (its tree set aside after
 * damage): it is out of service (hole_index), and the heap grows no more, so
 * that damage cannot make each later call add memory nobody can use. */
static void growth_stop(hh_heap *h)
{
    if (!heap_damage_sound(h))
        return;
    h->grow = NULL;
    control_reseal(h);
}

/* The heap ends in the hole last: true if its tree takes it (it stays the
 * hole growth extends), else it goes out of service at once (its tree was
 * set aside after damage, reported then: hole_lose) and growth starts a new
 * hole after it. false only when the control block fails its check (I1). */
static bool heap_last_in_service(hh_heap *h, tag *last)
{
    if (idx_size_in_service(h, tag_size_g(last)) == tag_size_g(last))
        return true;
    hole_lose(h, last);
    return !tag_is_hole(last);
}

/* What to ask grow for so that the hole at the end (have bytes now, out of
 * the index) holds `missing` more: at least HH_GROW_CHUNK, and enough for a
 * size whose index tree takes holes (idx_size_in_service), within room; 0
 * when no size within room would be taken. */
static size_t heap_grow_ask(hh_heap *h, size_t have, size_t missing, size_t room)
{
    if (missing > room) /* only when the last hole went out of service */
        return 0;
    size_t ask = min_size(max_size(missing, HH_GROW_CHUNK), room);
    size_t taken = (size_t)idx_size_in_service(h, (uint32_t)granules(have + ask)) * HH_GRANULE;
    return taken != 0 && taken - have <= room ? taken - have : 0;
}

/* grow added `added` bytes at the end: the hole there, the last hole (have
 * bytes, out of the index) extended or a new one after the last span; NULL
 * when it cannot be indexed (then growth stops). */
static tag *heap_grown_hole(hh_heap *h, tag *last, size_t have, size_t added)
{
    tag *old_end = heap_epilogue(h), *hole;
    heap_set_end(h, h->end + added);
    if (!have)
        hole = hole_link(h, old_end, added);
    else {
        tag_erase(h, old_end - 1); /* the hole's old footer and the old fence, now inside it */
        tag_erase(h, old_end);
        hole = hole_link(h, last, have + added);
    }
    if (!hole)
        growth_stop(h);
    return hole;
}

/*
 * Ask grow for room so that the last hole has at least `need` bytes. Extends the
 * last hole when the heap ends in one, else adds a hole where the epilogue was.
 * Returns that hole, or NULL (heap unchanged) when growth is impossible.
 */
static void front_flush(hh_heap *h);

static tag *heap_grow(hh_heap *h, size_t need)
{
    if (h->grow && h->front_bytes)
        front_flush(h); /* the front is given back before the heap grows */
    tag *last = h->grow ? heap_last(h) : NULL;
    if (!last || (tag_is_hole(last) && (!hole_clean(h, last) || !heap_last_in_service(h, last))))
        return NULL;
    size_t have = tag_is_hole(last) ? tag_size(last) : 0;
    if (need <= have)
        return last;
    size_t room = (size_t)(h->limit_end - h->end);
    if (have && (need - have > room || !heap_grow_take_last(h, last, &have)))
        return NULL;
    if (!have && need < HH_MIN_BLOCK)
        need = HH_MIN_BLOCK; /* a new hole is a whole block: a 16-byte one cannot be (I4) */
    size_t missing = need - have, ask = heap_grow_ask(h, have, missing, room);
    size_t added = ask ? heap_grow_call(h, ask, room) : 0;
    if (added == 0) {
        if (have)
            hole_relink(h, last);
        return NULL;
    }
    remember_regrowth(h, need, missing);
    return heap_grown_hole(h, last, have, added);
}

/* Offer the trailing memory back when the heap ends in a large hole: keep
 * `keep` bytes of it (and at least a minimal hole), and act only when the
 * hole holds `threshold` bytes more than that. After a free: trim_keep and
 * HH_TRIM_THRESHOLD - HH_TRIM_KEEP, so that small frees never call shrink;
 * hh_trim: everything above the initial size. */
static void heap_trim(hh_heap *h, size_t keep, size_t threshold)
{
    tag *last = h->shrink ? heap_last(h) : NULL;
    if (!last || !tag_is_hole(last) || !span_sound(h, block_pos(h, last)))
        return;
    size_t size = tag_size(last);
    if (size < keep + threshold)
        return;
    /* the hole keeps at least HH_MIN_BLOCK bytes, whatever shrink releases */
    size_t spare =
        align_down(min_size(min_size(size - keep, size - HH_MIN_BLOCK), (size_t)(h->end - h->floor_end)), HH_GRANULE);
    if (spare == 0 || !hole_clean(h, last) || !callbacks_trusted(h) || !hole_unlink(h, last))
        return;
    size_t released = h->shrink(h->ctx, region_end(h) - spare, spare);
    if (released > spare || released % HH_GRANULE != 0) {
        heap_report(h, HH_E_CALLBACK, region_end(h) - spare, "shrink returned an impossible byte count");
        released = 0;
    }
    heap_set_end(h, h->end - released);
    hole_link(h, last, size - released);
    h->last_trim = released;
    if (released == 0) /* refused: do not ask again until the hole has grown */
        h->trim_keep = max_size(h->trim_keep, size);
}

/* heap_trim after a free that merged (or a realloc that freed a tail): the
 * last footer is read unverified only to decide not to act, when it names
 * no hole of the trim threshold's size (a damaged one that does is caught
 * by heap_last before anything is trusted; hh_trim verifies before it trims). Most
 * frees of a heap with a shrink callback stop here, without a seal's mix. */
static void heap_trim_after_free(hh_heap *h)
{
    const tag *last_footer = heap_epilogue(h) - 1;
    if (h->shrink && tag_is_hole(last_footer) &&
        tag_size(last_footer) >= h->trim_keep + HH_TRIM_THRESHOLD - HH_TRIM_KEEP)
        heap_trim(h, h->trim_keep, HH_TRIM_THRESHOLD - HH_TRIM_KEEP);
}

/* ---- free: merge with the neighbours ---- */

/* The tags where b meets the holes it merges with end up inside the new hole. */
static void erase_inner_tags(hh_heap *h, tag *b, tag *left, tag *right)
{
    if (left) {
        tag_erase(h, block_left_footer(b));
        tag_erase(h, b);
    }
    if (right) {
        tag_erase(h, block_footer(b));
        tag_erase(h, right);
    }
}

/*
 * Free the verified block b, merging with holes on either side:
 *
 *   | left hole | b | right hole |   ->   | one hole |
 *
 * Does nothing (the block stays allocated) when a neighbour is damaged.
 * state is b's tags' state: TAG_BLOCK, or TAG_CACHED for a span that is
 * counted as a block but must never read as a live one, not even while
 * this call runs (a shrink's tail, a flushed front block): a free of a stale
 * pointer to it, checked without the lock (hh_usable_size_peek), would pass.
 */
static inline __attribute__((always_inline)) bool free_merge(hh_heap *h, tag *b, uint32_t state)
{
    tag *left, *right;
    if (!neighbours(h, b, &left, &right) || !neighbour_unlink(h, &right))
        return false;
    if (!neighbour_unlink(h, &left)) {
        if (right)
            hole_relink(h, right);
        return false;
    }
    size_t size = tag_size(b) + (left ? tag_size(left) : 0) + (right ? tag_size(right) : 0);
    count_block(h, tag_size(b), -1);
    if (!left && !right) { /* alone: b's verified seal flips to a hole's, no new mix */
        tag_flip(h, b, state, TAG_HOLE);
        hole_enter(h, b);
        return true;
    }
    erase_inner_tags(h, b, left, right);
    hole_link(h, left ? left : b, size);
    return true;
}

static void block_lose(hh_heap *h, tag *b, uint32_t state);

/* Free b, which the program no longer owns (the old block of a moving
 * realloc, the tail of a shrink; its state as free_merge's): if it cannot
 * merge, it goes out of service instead of staying an allocated block that
 * nobody owns. */
static void free_or_lose(hh_heap *h, tag *b, uint32_t state)
{
    if (free_merge(h, b, state))
        heap_trim_after_free(h);
    else
        block_lose(h, b, state);
}

/* ---- the front ---- */

/* The front list for blocks of `size` bytes, or 0 for none. The compile-time
 * bound keeps a stray write over front_max_g from indexing past the lists. */
static inline uint32_t front_list_of(const hh_heap *h, size_t size)
{
    size_t g = granules(size);
    return g <= h->front_max_g && g < FRONT_LISTS ? (uint32_t)g : 0u;
}

/* Is either neighbour of the (verified) block b a hole? Then b merges at
 * once instead of waiting in the front: a cached block next to a hole would
 * keep both from merging, and the heap would span more. Only a decision: the
 * merge verifies the neighbours' tags before it trusts them. */
static inline bool block_near_hole(tag *b)
{
    /* at either end of the heap the neighbour is a fence, whose word is 0 (I2) */
    return tag_is_hole(block_left_footer(b)) || tag_is_hole(block_next(b));
}

static inline bool front_takes(const hh_heap *h, tag *b)
{
    size_t size = tag_size(b);
    return front_list_of(h, size) != 0 && h->front_bytes + size <= front_room(h) && !block_near_hole(b);
}

/* A block that cannot be freed (a neighbour or list is damaged) is marked
 * cached outside any list: out of service for good, never handed out again,
 * and a second free of it is still seen as a double free. state: b's tags'
 * state, as free_merge's. */
static void block_lose(hh_heap *h, tag *b, uint32_t state)
{
    if (!heap_damage_sound(h)) { /* the damage seen was the control block's (I1): b stays a block */
        tag_flip(h, b, state, TAG_BLOCK);
        return;
    }
    tag_flip(h, b, state, TAG_CACHED);
    count_block(h, tag_size(b), -1);
    h->lost_blocks++;
    h->lost_bytes += tag_size(b);
}

/* List g was found damaged: drop it; its blocks are out of service. */
static void front_drop(hh_heap *h, uint32_t g)
{
    size_t bytes = (size_t)h->front_count[g] * g * HH_GRANULE;
    h->front_head[g] = HH_NIL;
    h->lost_blocks += h->front_count[g];
    h->lost_bytes += bytes;
    h->front_bytes -= bytes;
    h->front_count[g] = 0;
}

/* The list a request for blocks of g granules takes from: its own, or when
 * that is empty, the first of the next FRONT_STEP lists that is not (a
 * block up to 32 bytes larger than asked, handed out whole). Cached blocks
 * of the neighbouring sizes then serve instead of memory the heap has not
 * used yet: peak span / peak live on the benchmark's small-random trace
 * 1.289 -> 1.232, power-law 1.301 -> 1.254, holes-10 1.478 -> 1.390 with
 * the front's share an eighth of the live bytes (docs/performance.md). g is
 * at most front_max_g. */
#define FRONT_STEP 2u
static inline uint32_t front_list_for(const hh_heap *h, uint32_t g)
{
    for (uint32_t k = 0; k < FRONT_STEP && h->front_head[g] == HH_NIL && g < h->front_max_g && g + 1u < FRONT_LISTS;
         k++)
        g++;
    return g;
}

/* Keep the verified block b in the front list of its size. */
static void front_push(hh_heap *h, tag *b)
{
    size_t size = tag_size(b);
    uint32_t g = tag_size_g(b);
    HH_ASSERT(g < FRONT_LISTS); /* front_takes chose it */
    tag_flip(h, b, TAG_BLOCK, TAG_CACHED);
    front_link_store(b, h->front_head[g]);
    h->front_head[g] = block_pos(h, b);
    h->front_count[g]++;
    h->front_bytes += size;
    count_block(h, size, -1);
}

/* Take the first block of list g out of the front, verified (I13); NULL if
 * the list is empty or damaged (then reported and dropped: its blocks, this
 * one included, stay out of service). The next link is bounds-checked here
 * and its block verified when it is taken in turn. */
static tag *front_pop(hh_heap *h, uint32_t g)
{
    uint32_t pos = h->front_head[g];
    if (pos == HH_NIL)
        return NULL;
    tag *b = block_at(h, pos);
    if (h->front_count[g] == 0 || !span_sound(h, pos) || !tag_is_cached(b) || tag_size_g(b) != g) {
        if (heap_damage_sound(h)) {
            front_drop(h, g);
            heap_report(h, HH_E_INDEX, b,
                        "I13: front list names a block that is not a sealed cached block of its size");
        }
        return NULL;
    }
    uint32_t next = front_link_load(b);
    if (next != HH_NIL && !heap_pos_ok(h, next)) { /* b itself was written after free: not handed out */
        if (heap_damage_sound(h)) {
            front_drop(h, g);
            heap_report(h, HH_E_INDEX, block_payload(b), "I13: front list link overwritten (write after free?)");
        }
        return NULL;
    }
    h->front_head[g] = next;
    h->front_count[g]--;
    h->front_bytes -= tag_size(b);
    front_link_clear(b);
    return b;
}

/* Hand out a block of exactly g granules from the front (list g, which
 * front_list_for chose), or NULL. */
static void *front_alloc(hh_heap *h, uint32_t g)
{
    tag *b = front_pop(h, g);
    if (!b)
        return NULL;
    tag_flip(h, b, TAG_CACHED, TAG_BLOCK);
    count_block(h, tag_size(b), +1);
    return block_payload(b);
}

/* Give every cached block back to the index, merging. */
static void front_flush(hh_heap *h)
{
    if (!heap_damage_sound(h))
        return; /* the merges would fail on the control block's damage: keep the lists */
    for (uint32_t g = 0; g < FRONT_LISTS && h->front_bytes; g++) {
        tag *b;
        while ((b = front_pop(h, g)) != NULL) {
            count_block(h, tag_size(b), +1);
            if (!free_merge(h, b, TAG_CACHED))
                block_lose(h, b, TAG_CACHED);
        }
    }
}

/* ---- the operations, lock held ---- */

/* A verified hole of at least size bytes: the index's best fit, else after
 * flushing the front, else from growth. */
static tag *hole_for(hh_heap *h, size_t size)
{
    tag *hole = idx_best_fit(h, (uint32_t)granules(size));
    if (!hole && h->front_bytes) {
        front_flush(h);
        hole = idx_best_fit(h, (uint32_t)granules(size));
    }
    return hole ? hole : heap_grow(h, size);
}

static void *alloc_unlocked(hh_heap *h, size_t n)
{
    size_t size = block_size_for(n);
    if (size == 0) {
        report_size(h);
        return NULL;
    }
    uint32_t g = front_list_of(h, size);
    g = g ? front_list_for(h, g) : 0;
    if (g && h->front_head[g] != HH_NIL) {
        void *p = front_alloc(h, g);
        if (p)
            return count_allocation(h, p);
    }
    tag *hole = hole_for(h, size);
    if (!hole || !hole_clean(h, hole))
        return NULL;
    return count_allocation(h, hole_take(h, hole, size));
}

/* Gap from hole start to the header of a block whose payload is aligned:
 * 0 or at least HH_MIN_BLOCK, so that a non-zero gap can become a hole. */
static size_t aligned_gap(const tag *hole, size_t align)
{
    uintptr_t payload = (uintptr_t)(hole + 1);
    size_t gap = (size_t)(align_up(payload, align) - payload);
    return (gap != 0 && gap < HH_MIN_BLOCK) ? gap + align : gap;
}

/*
 * Carve an aligned block out of a verified hole:
 *
 *   | front hole (gap) | block (size) | rest hole |
 */
static void *carve_aligned(hh_heap *h, tag *hole, size_t size, size_t align)
{
    size_t gap = aligned_gap(hole, align);
    size_t span = tag_size(hole);
    if (!gap)
        return hole_take(h, hole, size);
    if (!hole_unlink(h, hole))
        return NULL;
    hole_link(h, hole, gap);
    return block_payload(block_place(h, block_next(hole), span - gap, size));
}

/* Grow the heap just enough for an aligned block at its end: in the last hole,
 * or, when the heap ends in a block, in the hole growth adds at the epilogue. */
static tag *heap_grow_aligned(hh_heap *h, size_t size, size_t align)
{
    tag *last = h->grow ? heap_last(h) : NULL;
    if (!last)
        return NULL;
    tag *start = tag_is_hole(last) ? last : heap_epilogue(h);
    return heap_grow(h, aligned_gap(start, align) + size);
}

static bool hole_fits_aligned(const tag *hole, size_t size, size_t align)
{
    return hole && aligned_gap(hole, align) + size <= tag_size(hole);
}

/* Last resort before giving up on an aligned allocation: the first hole, in
 * address order, where it fits. O(blocks); stops at a corrupt tag. */
static tag *aligned_scan(hh_heap *h, size_t size, size_t align)
{
    for (tag *b = heap_first(h); (char *)b < h->end; b = block_next(b)) {
        if (!span_sound(h, block_pos(h, b)) && !gap_sound(h, block_pos(h, b)))
            return NULL;
        if (tag_is_hole(b) && hole_fits_aligned(b, size, align))
            return b;
    }
    return NULL;
}

/* First the best fit for the size alone; if its alignment does not work
 * out, the best fit for the size plus the worst gap, which always does; then
 * the front flushed, then growth; and before giving up, a scan for any hole
 * that fits. */
static tag *aligned_fit(hh_heap *h, size_t size, size_t align)
{
    tag *hole = idx_best_fit(h, (uint32_t)granules(size));
    if (hole_fits_aligned(hole, size, align))
        return hole;
    return idx_best_fit(h, (uint32_t)granules(size + align + HH_MIN_BLOCK));
}

static tag *aligned_hole_for(hh_heap *h, size_t size, size_t align)
{
    tag *hole = aligned_fit(h, size, align);
    if (!hole && h->front_bytes) { /* once: the flush may leave nothing that fits */
        front_flush(h);
        hole = aligned_fit(h, size, align);
    }
    if (!hole)
        hole = heap_grow_aligned(h, size, align);
    if (!hole_fits_aligned(hole, size, align))
        hole = aligned_scan(h, size, align);
    return hole_fits_aligned(hole, size, align) ? hole : NULL;
}

static void *alloc_aligned_unlocked(hh_heap *h, size_t n, size_t align)
{
    if (align == 0 || (align & (align - 1)) != 0 || align > HH_MAX_ALIGN) {
        heap_report(h, HH_E_BAD_ALIGN, NULL, "alignment not a power of two or too large");
        return NULL;
    }
    if (align <= HH_GRANULE)
        return alloc_unlocked(h, n);
    size_t size = block_size_for(n);
    if (size == 0) {
        report_size(h);
        return NULL;
    }
    tag *hole = aligned_hole_for(h, size, align);
    if (!hole || !hole_clean(h, hole))
        return NULL;
    return count_allocation(h, carve_aligned(h, hole, size, align));
}

/* The bytes of block b valgrind or ASan were told the program owns. */
static inline size_t block_announced_bytes(const hh_heap *h, tag *b)
{
    return HH_TOOLS_ACTIVE ? canary_usable(h, b) : 0;
}

/* Tell valgrind or ASan that the program now owns the block at p (NULL:
 * nothing); a no-op in other builds (annotate.h). */
static void *block_announce(const hh_heap *h, void *p, bool zeroed)
{
    if (HH_TOOLS_ACTIVE && p)
        tool_block_given(p, block_announced_bytes(h, payload_block(p)), zeroed);
    return p;
}

/* ...and the same after a realloc of p (old: the bytes it had) gave q. */
static void block_announce_realloc(const hh_heap *h, void *p, size_t old, void *q)
{
    if (!HH_TOOLS_ACTIVE || !q)
        return;
    size_t bytes = block_announced_bytes(h, payload_block(q));
    if (q == p) {
        tool_block_resized(p, old, bytes);
        return;
    }
    tool_block_given(q, bytes, false);
    tool_copy_definedness(q, p, min_size(old, bytes));
    tool_block_taken(p, old);
}

/* Free the verified block b at p: into the front, or merged (then the
 * heap's end may be trimmed); with a damaged neighbour (reported) the call
 * does nothing. */
static void free_verified(hh_heap *h, tag *b, void *p)
{
    size_t bytes = block_announced_bytes(h, b);
    if (front_takes(h, b)) {
        front_push(h, b);
        tool_block_taken(p, bytes);
    } else if (free_merge(h, b, TAG_BLOCK)) {
        tool_block_taken(p, bytes); /* before a trim gives its memory back */
        heap_trim_after_free(h);
    }
}

/* free on an open heap: no slow flag (no canary), no tool to tell. */
static void free_unlocked(hh_heap *h, void *p)
{
    tag *b = block_from_user(h, p);
    if (b)
        free_verified(h, b, p);
}

/* Shrink b in place to `size`; the tail becomes (or joins) a hole. */
static void block_shrink(hh_heap *h, tag *b, size_t size)
{
    size_t cur = tag_size(b);
    if (cur - size < HH_MIN_BLOCK)
        return;
    count_block(h, cur, -1);
    block_make(h, b, size);
    tag *tail = block_next(b);
    block_make_as(h, tail, cur - size, TAG_CACHED); /* never a live block: free_merge */
    free_or_lose(h, tail, TAG_CACHED);
}

/* Grow b in place to `size` into the verified hole `right` after it, which
 * has room:
 *
 *   | b | right hole |   ->   | b (size) | rest hole |
 */
static bool block_extend(hh_heap *h, tag *b, tag *right, size_t size)
{
    size_t cur = tag_size(b);
    if (!hole_unlink(h, right))
        return false;
    count_block(h, cur, -1);
    block_place(h, b, cur + tag_size(right), size);
    tag_erase(h, (tag *)(void *)((char *)b + cur) - 1); /* b's old footer */
    tag_erase(h, (tag *)(void *)((char *)b + cur));     /* the swallowed hole's header */
    return true;
}

/* Move n bytes from src to dst, which may overlap, with memcpy alone (the
 * fast-index core asks its host for no memmove): chunks as long as the
 * distance never overlap, taken from the end the move leaves first. */
static void bytes_move(unsigned char *dst, const unsigned char *src, size_t n)
{
    size_t d = dst < src ? (size_t)(src - dst) : (size_t)(dst - src);
    if (d == 0)
        return;
    for (size_t done = 0; done < n;) {
        size_t k = min_size(d, n - done);
        size_t at = dst < src ? done : n - done - k;
        memcpy(dst + at, src + at, k);
        done += k;
    }
}

/* The bytes b and the holes around it span (left and b verified; right, if
 * any, too). */
static size_t slide_span(tag *b, tag *left, tag *right)
{
    return tag_size(left) + tag_size(b) + (right ? tag_size(right) : 0);
}

/* Does a block of `size`, aligned to `align`, fit where b slides to? */
static bool slide_fits(tag *b, tag *left, tag *right, size_t size, size_t align)
{
    return aligned_gap(left, align) + size <= slide_span(b, left, right);
}

/*
 * Slide the verified block b down into the hole before it, with the hole
 * after it if any, when the block of `size` fits there at an address aligned
 * to `align`: the bytes move (bytes_move), no other block is needed.
 *
 *   | left hole | b | right hole? |   ->   | gap hole? | block (size) | rest hole? |
 *
 * Every tag is written after the bytes moved, so none lands on them. NULL,
 * nothing changed, when it does not fit or the index refuses a hole.
 */
static void *block_slide(hh_heap *h, tag *b, tag *left, tag *right, size_t size, size_t align)
{
    if (!slide_fits(b, left, right, size, align))
        return NULL;
    size_t cur = tag_size(b), span = slide_span(b, left, right), gap = aligned_gap(left, align);
    if (right && !hole_unlink(h, right))
        return NULL;
    if (!hole_unlink(h, left)) {
        if (right)
            hole_relink(h, right);
        return NULL;
    }
    count_block(h, cur, -1);
    erase_inner_tags(h, b, left, right);
    tag_erase(h, b);
    tag_erase(h, block_footer(b));
    tag *nb = (tag *)(void *)((char *)left + gap);
    bytes_move(block_payload(nb), block_payload(b), min_size(cur, size) - HH_OVERHEAD);
    if (gap)
        hole_link(h, left, gap);
    return block_payload(block_place(h, nb, span - gap, size));
}

/* The alignment a block at p has: the largest power of two dividing p, up to
 * HH_REALLOC_KEEP_ALIGN (what it was allocated with is not recorded: at most
 * this). */
static size_t payload_alignment(const void *p)
{
    uintptr_t a = (uintptr_t)p & -(uintptr_t)p;
    return a == 0 || a > HH_REALLOC_KEEP_ALIGN ? HH_REALLOC_KEEP_ALIGN : (size_t)a;
}

static bool align_valid(size_t align) { return align != 0 && (align & (align - 1)) == 0 && align <= HH_MAX_ALIGN; }

/* Grow b in place into the hole after it, `right` (verified) or the one
 * growth extends or makes at b's end. NULL, *done false, when there is none
 * after b: growth's hole lies after a hole that went out of service (its
 * tree set aside, hole_lose), or `right` itself went out of service when
 * taken from the index; the caller then slides or moves. *done stays true
 * (NULL: refused) only when the damage was the control block's (I1). */
static void *realloc_extend(hh_heap *h, tag *b, tag *right, size_t size, bool *done)
{
    tag *after = right;
    if (!right || tag_size(b) + tag_size(right) < size)
        after = (char *)block_next(right ? right : b) == h->end ? heap_grow(h, size - tag_size(b)) : NULL;
    if (!after || after != block_next(b)) { /* none, or not b's neighbour (after a lost hole) */
        *done = false;
        return NULL;
    }
    if (block_extend(h, b, after, size))
        return block_payload(b);
    *done = tag_is_hole(after); /* still a hole: the control block's damage (I1) */
    return NULL;
}

/* Resize b in place when it is aligned as asked: shrink, grow into the hole
 * after it, or grow the heap at its end and then the block. NULL when none
 * of these applies (or the index refused); *done then false. */
static void *realloc_in_place(hh_heap *h, tag *b, tag *right, size_t size, bool *done)
{
    *done = true;
    if (size <= tag_size(b)) {
        block_shrink(h, b, size);
        return block_payload(b);
    }
    return realloc_extend(h, b, right, size, done);
}

/* Move b to a new block aligned to `align`, copy, free b; or, with
 * moved_from (the dressed path), leave b for the caller to free after it has
 * announced the move: the free writes over b's bytes and may trim the heap.
 * The copy may read and write what valgrind or ASan were told the program
 * may not (b's slack, the new block before it is announced): opened around
 * it (annotate.h). */
static void *realloc_move(hh_heap *h, tag *b, size_t n, size_t align, tag **moved_from)
{
    void *q = align > HH_GRANULE ? alloc_aligned_unlocked(h, n, align) : alloc_unlocked(h, n);
    if (!q)
        return NULL;
    void *p = block_payload(b);
    size_t copy = min_size(tag_size(b) - HH_OVERHEAD, n);
    tool_open(q, copy);
    tool_open(p, copy);
    memcpy(q, p, copy);
    tool_close(q, copy);
    tool_close(p, copy);
    if (moved_from)
        *moved_from = b;
    else
        free_or_lose(h, b, TAG_BLOCK);
    return q;
}

/* Slide b into the hole before it (block_slide) rather than move it, when
 * it fits there and either no hole in the index holds it (the move would
 * take a cached block of the front or grow the heap) or the best fit is that
 * hole before it (the move would give the same layout, at the cost of a
 * copy, an allocation and a free). Otherwise the move: a slide turns the hole
 * before b into slack after it, which only b's growth can use, while a move
 * into the best fit elsewhere frees b's place to merge with its neighbours
 * for any block. Buffers grown in small steps among others
 * (bench/port/workloads.c realloc) kept 1.25x glibc's memory with the slide
 * first, 0.98x so. No search when the slide cannot fit; *stop set when the
 * search reported damage (the call stops at that first problem). No slide
 * under valgrind or ASan: the old and new blocks would overlap. */
static bool slide_wanted(hh_heap *h, tag *b, tag *left, tag *right, size_t size, size_t keep, bool *stop)
{
    if (HH_TOOLS_ACTIVE || !left || !slide_fits(b, left, right, size, keep))
        return false;
    size_t problems = h->problems;
    tag *fit = aligned_fit(h, size, keep);
    *stop = h->problems != problems;
    return !*stop && (!fit || fit == left);
}

/* realloc and realloc_aligned (align already valid): align 0 keeps the
 * alignment p has; *old_bytes is what valgrind or ASan were told p had (0
 * without them); moved_from as realloc_move's. */
static void *realloc_unlocked(hh_heap *h, void *p, size_t n, size_t align, size_t *old_bytes, tag **moved_from)
{
    tag *b = block_from_user(h, p);
    if (!b || !canary_intact(h, b))
        return NULL;
    *old_bytes = block_announced_bytes(h, b);
    size_t size = block_size_for(n);
    if (size == 0) {
        report_size(h);
        return NULL;
    }
    /* Verify both neighbours before anything changes: a refused realloc
     * does nothing, and the move below must be able to free b. */
    tag *left, *right;
    if (!neighbours(h, b, &left, &right))
        return NULL;
    size_t keep = align ? max_size(align, HH_GRANULE) : payload_alignment(p);
    bool done = false;
    void *q = ((uintptr_t)p & (keep - 1)) == 0 ? realloc_in_place(h, b, right, size, &done) : NULL;
    if (done)
        return q;
    /* a failed growth flushed the front: the holes around b may have merged */
    if (!neighbours(h, b, &left, &right))
        return NULL;
    bool stop = false;
    if (slide_wanted(h, b, left, right, size, keep, &stop) &&
        (q = block_slide(h, b, left, right, size, keep)) != NULL) {
        heap_trim_after_free(h); /* the rest may end the heap */
        return q;
    }
    return stop ? NULL : realloc_move(h, b, n, keep, moved_from);
}

/* ---- entry and exit of every public call ---- */

/* With HH_CHECK_ALWAYS: check the whole heap, report what is wrong. */
static __attribute__((noinline)) bool heap_check_around(hh_heap *h)
{
    hh_problem pr;
    if (heap_check_unlocked(h, &pr) == HH_OK)
        return true;
    heap_report(h, pr.code, pr.where, pr.what);
    return false;
}

/* The slow entry: a lock to take, a full check to run, or a control block
 * that fails its check value (I1): that is recorded (no callback is trusted)
 * and the call does nothing. A heap whose magic is gone is not a heap. */
static __attribute__((noinline)) bool heap_enter_slow(hh_heap *h)
{
    if (h->magic != (HH_MAGIC ^ h->key) || !heap_lock(h))
        return false;
    /* Under the lock the gate must be what the flags and the lock say: it
     * covers liveness, base, end and every flag a call reads (I1); the rest
     * of the control block (the other callbacks, the limits) is verified in
     * full before it is used (callbacks_trusted, heap_report). */
    if (h->gate != (control_gate_open(h) ^ control_slow_bits(h))) {
        control_refused(h);
        heap_unlock(h);
        return false;
    }
    if ((h->flags & HH_CHECK_ALWAYS) && !heap_check_around(h)) {
        heap_unlock(h);
        return false;
    }
    return true;
}

/* How a call entered: refused (do nothing), open (no lock, no slow flag,
 * nothing to do on the way out), or through the slow entry (the lock taken,
 * a full check to run on the way out with HH_CHECK_ALWAYS). */
typedef enum { ENTRY_REFUSED, ENTRY_OPEN, ENTRY_SLOW } heap_entry;

/* One compare covers liveness, the bounds the call trusts and the absence of
 * any slow setting: a stray write over any of them takes the slow entry,
 * which verifies the whole control block. */
static inline heap_entry heap_enter(hh_heap *h)
{
    if (!h)
        return ENTRY_REFUSED;
    if (control_fast_open(h))
        return ENTRY_OPEN;
    tool_core_enter();
    if (heap_enter_slow(h))
        return ENTRY_SLOW;
    tool_core_leave();
    return ENTRY_REFUSED;
}

static __attribute__((noinline)) void heap_leave_slow(hh_heap *h)
{
    if (h->flags & HH_CHECK_ALWAYS)
        heap_check_around(h);
    heap_unlock(h);
}

/* The one exit of every call that entered: flags and lock do not change
 * during a call, so an open entry needs nothing here. */
static inline void heap_leave(hh_heap *h, heap_entry e)
{
    if (e == ENTRY_SLOW) {
        heap_leave_slow(h);
        tool_core_leave();
    }
}

/* Liveness for the calls that read one field without the lock: the magic and
 * the fields that never change (another thread may be growing the heap). */
static bool heap_alive(const hh_heap *h)
{
    return h && h->magic == (HH_MAGIC ^ h->key) && h->lock_seal == lock_seal_of(h);
}

/* ---- public API ---- */

/* ---- the front's fast paths: the common case in one pass ---- */

/* Every check of front_pop and block_from_user, fused; anything unusual (a
 * lock, a slow flag, a failed check, an empty list) goes to the slow path,
 * which checks again and reports. */

/* The largest request whose block the front may keep (0 when the front's
 * blocks are too small for any: HH_FRONT_MAX_G 0 or 1). */
#define FRONT_MAX_REQUEST \
    ((size_t)HH_FRONT_MAX_G * HH_GRANULE > HH_OVERHEAD ? (size_t)HH_FRONT_MAX_G * HH_GRANULE - HH_OVERHEAD : 0u)
_Static_assert(FRONT_LISTS == HH_FRONT_MAX_G + 1u, "a block of HH_FRONT_MAX_G granules has a list");

/* A request the front may serve: the block of its size, or up to
 * FRONT_STEP granules larger (front_list_for). */
static inline __attribute__((always_inline)) void *front_fast_alloc(hh_heap *h, size_t n)
{
    if (n > FRONT_MAX_REQUEST)
        return NULL;
    uint32_t g = (uint32_t)granules(block_size_for(n)); /* at most HH_FRONT_MAX_G */
    if (g > h->front_max_g || g >= FRONT_LISTS)         /* the compile-time bound: front_max_g is a stored word */
        return NULL;
    g = front_list_for(h, g);
    size_t size = (size_t)g * HH_GRANULE;
    uint32_t pos = h->front_head[g], span_g = h->pos_fast;
    /* HH_NIL, or a later region's block (the general path serves it) */
    if (pos >= span_g || h->front_count[g] == 0 || g > span_g - pos)
        return NULL;
    tag *b = block_at(h, pos), t = *b, *footer = (tag *)(void *)((char *)b + size - HH_TAG_BYTES);
    if (t.word != (g << 2 | TAG_CACHED) || t.seal != tag_seal(h, g << 2 | TAG_CACHED, pos) || !tags_equal(&t, footer))
        return NULL;                              /* I3-I5, I13 */
    uint32_t next = front_link_decode(b, t.seal); /* the seal just verified is the link's mask */
    if (next != HH_NIL && next >= span_g)
        return NULL; /* I13 */
    h->front_head[g] = next;
    h->front_count[g]--;
    h->front_bytes -= size;
    front_link_clear(b);
    t.word = g << 2; /* state TAG_BLOCK: tag_flip(h, b, TAG_CACHED, TAG_BLOCK), the footer known */
    t.seal ^= h->state_mask[TAG_CACHED] ^ h->state_mask[TAG_BLOCK];
    *b = t;
    *footer = t;
    count_block(h, size, +1);
    h->allocations++;
    return block_payload(b);
}

/* A free the front may take: a sound block of a size it keeps, room left. */
static inline __attribute__((always_inline)) bool front_fast_free(hh_heap *h, void *p)
{
    /* below pos_fast: inside the heap and in no gap (a later region's block takes the general path) */
    size_t off = (size_t)((uintptr_t)p - (uintptr_t)h->base) - HH_TAG_BYTES, span = (size_t)h->pos_fast * HH_GRANULE;
    if (off >= span - HH_TAG_BYTES || off % HH_GRANULE != 0)
        return false; /* not a payload inside the heap */
    tag *b = payload_block(p), t = *b;
    uint32_t g = tag_size_g(&t);
    size_t size = (size_t)g * HH_GRANULE;
    if (tag_state(&t) != TAG_BLOCK || g > h->front_max_g || g - HH_MIN_BLOCK / HH_GRANULE >= FRONT_LISTS - 2u ||
        size > span - off || h->front_bytes + size > front_room(h))
        return false;
    if (block_near_hole(b))
        return false; /* it merges: the general path verifies it (its size keeps the reads inside the heap) */
    uint32_t pos = (uint32_t)(off / HH_GRANULE);
    if (t.seal != tag_seal(h, t.word, pos) || !tags_equal(&t, block_footer(b)))
        return false;                 /* I3, I5 */
    t.word ^= TAG_BLOCK ^ TAG_CACHED; /* tag_flip, the cached seal kept: the link's mask */
    t.seal ^= h->state_mask[TAG_BLOCK] ^ h->state_mask[TAG_CACHED];
    *b = t;
    *block_footer(b) = t;
    front_link_encode(b, h->front_head[g], t.seal);
    h->front_head[g] = pos;
    h->front_count[g]++;
    h->front_bytes += size;
    count_block(h, size, -1);
    return true;
}

/* ---- the general path of the calls that allocate or free ---- */

/* calloc's byte count, or false (reported) when n * size overflows. */
static bool calloc_bytes(hh_heap *h, size_t n, size_t size, size_t *bytes)
{
    if (size != 0 && n > SIZE_MAX / size) {
        heap_report(h, HH_E_BAD_SIZE, NULL, "calloc: n * size overflows");
        return false;
    }
    *bytes = n * size;
    return true;
}

/* A block just allocated for a request of n bytes (p NULL: none): its canary
 * written in canary mode, announced to valgrind or ASan. */
static void *block_dress(hh_heap *h, void *p, size_t n)
{
    canary_set(h, p, n);
    return block_announce(h, p, false); /* calloc zeroes it as the program would */
}

/* free and realloc to 0, general path: the block's canary verified first. */
static void free_checked(hh_heap *h, void *p)
{
    tag *b = block_from_user(h, p);
    if (b && canary_intact(h, b))
        free_verified(h, b, p);
}

/* What a trim gave back since the heap ended at `end` is the caller's again
 * (valgrind and ASan builds; nothing otherwise). */
static void announce_trimmed(const hh_heap *h, char *end)
{
    if (HH_TOOLS_ACTIVE && h->end < end)
        tool_give_back(region_end(h), (size_t)(end - h->end));
}

/* realloc, general path: the canary's room and record, the tools told. A
 * moved block is freed only after the move is announced (its bytes are
 * still what the program wrote); memory a shrink in place gave back through
 * the shrink callback is the caller's again after the announcement, which
 * would otherwise hide it. */
static void *realloc_dressed(hh_heap *h, void *p, size_t size, size_t align)
{
    size_t old = 0;
    tag *moved_from = NULL;
    char *end = h->end;
    void *q = realloc_unlocked(h, p, canary_request(h, size), align, &old, &moved_from);
    canary_set(h, q, size);
    block_announce_realloc(h, p, old, q);
    if (moved_from)
        free_or_lose(h, moved_from, TAG_BLOCK);
    announce_trimmed(h, end);
    return q;
}

/* One call, lock held: the event says which, with its arguments. `dressed`
 * (canary mode, or a valgrind or ASan build) adds the canary's room and the
 * announcements; constant where this is inlined. */
static inline __attribute__((always_inline)) void *call_ops(hh_heap *h, const hh_trace_event *ev, bool dressed)
{
    size_t n = ev->size, bytes = 0;
    void *p = (void *)(uintptr_t)ev->ptr;
    switch (ev->op) {
    case HH_TRACE_MALLOC:
        return dressed ? block_dress(h, alloc_unlocked(h, canary_request(h, n)), n) : alloc_unlocked(h, n);
    case HH_TRACE_CALLOC:
        if (!calloc_bytes(h, ev->count_or_align, n, &bytes))
            return NULL;
        return dressed ? block_dress(h, alloc_unlocked(h, canary_request(h, bytes)), bytes) : alloc_unlocked(h, bytes);
    case HH_TRACE_ALIGNED:
        if (!dressed)
            return alloc_aligned_unlocked(h, n, ev->count_or_align);
        return block_dress(h, alloc_aligned_unlocked(h, canary_request(h, n), ev->count_or_align), n);
    case HH_TRACE_REALLOC:
        if (ev->count_or_align != 0 && !align_valid(ev->count_or_align)) {
            heap_report(h, HH_E_BAD_ALIGN, NULL, "alignment not a power of two or too large");
            return NULL; /* p untouched, size 0 too */
        }
        if (n == 0)
            break; /* realloc to 0 frees */
        return dressed ? realloc_dressed(h, p, n, ev->count_or_align)
                       : realloc_unlocked(h, p, n, ev->count_or_align, &bytes, NULL);
    case HH_TRACE_FREE: break;
    }
    if (dressed)
        free_checked(h, p);
    else
        free_unlocked(h, p);
    return NULL;
}

static __attribute__((noinline)) void *call_dressed(hh_heap *h, const hh_trace_event *ev)
{
    return call_ops(h, ev, true);
}

static inline __attribute__((always_inline)) void *call_unlocked(hh_heap *h, const hh_trace_event *ev)
{
    if (HH_TOOLS_ACTIVE || (h->flags & HH_CANARY))
        return call_dressed(h, ev);
    return call_ops(h, ev, false);
}

/* Out of memory: NULL from a call that allocates, with no problem reported. */
static inline bool call_out_of_memory(const hh_heap *h, const hh_trace_event *ev, const void *p, size_t problems)
{
    bool frees = ev->op == HH_TRACE_FREE || (ev->op == HH_TRACE_REALLOC && ev->size == 0);
    return !p && !frees && h->problems == problems;
}

/* The bytes a call asked for: calloc's product (it did not overflow: an
 * overflow is reported, not out of memory). */
static size_t event_bytes(const hh_trace_event *ev)
{
    return ev->op == HH_TRACE_CALLOC ? ev->count_or_align * ev->size : ev->size;
}

/* Call on_oom without the lock (it may free blocks of this heap). Returns 1
 * to retry, 0 not to, the heap entered again (*e) in both cases; -1 when it
 * cannot be entered again (the lock is not held then). */
static int oom_hook(hh_heap *h, size_t size, heap_entry *e)
{
    if (!callbacks_trusted(h))
        return 0;
    int (*hook)(void *, size_t) = h->on_oom;
    void *ctx = h->ctx;
    heap_leave(h, *e);
    int retry = hook(ctx, size) != 0;
    *e = heap_enter(h);
    return *e == ENTRY_REFUSED ? -1 : retry;
}

/* The general path of a heap with a hook: on_oom may ask for one retry;
 * on_trace sees the call's outcome, lock held. */
static __attribute__((noinline)) void *call_hooked(hh_heap *h, hh_trace_event *ev, heap_entry e)
{
    size_t problems = h->problems;
    void *p = call_unlocked(h, ev);
    bool oom = call_out_of_memory(h, ev, p, problems);
    if (oom && h->on_oom) {
        int retry = oom_hook(h, event_bytes(ev), &e);
        if (retry < 0)
            return NULL;
        if (retry) {
            problems = h->problems;
            p = call_unlocked(h, ev);
            oom = call_out_of_memory(h, ev, p, problems);
        }
    }
    h->failed_allocations += oom;
    if (h->on_trace && callbacks_trusted(h)) {
        ev->result = p;
        h->on_trace(h->ctx, ev);
    }
    heap_leave(h, e);
    return p;
}

/* A call on an entered heap without hooks: the call, and the count of a
 * failure (the only cost the statistics add here). */
static inline __attribute__((always_inline)) void *call_entered(hh_heap *h, hh_trace_event *ev)
{
    size_t problems = h->problems;
    void *p = call_unlocked(h, ev);
    if (__builtin_expect(p == NULL, 0))
        h->failed_allocations += call_out_of_memory(h, ev, p, problems);
    return p;
}

/* Through the entry: a lock, a slow flag or a hook, or a control block that
 * fails its gate (then refused). The event is built in memory only here. */
static __attribute__((noinline)) void *call_general(hh_heap *h, hh_trace_event ev)
{
    heap_entry e = heap_enter(h);
    if (e == ENTRY_REFUSED)
        return NULL;
    if (h->flags & HH_HOOKED)
        return call_hooked(h, &ev, e);
    void *p = call_entered(h, &ev);
    heap_leave(h, e);
    return p;
}

/* Every call that allocates or frees, past its fast path: an open heap (no
 * lock, no slow flag, no hook: the gate compared) goes straight to the work. */
static inline __attribute__((always_inline)) void *heap_call(hh_heap *h, hh_trace_event ev)
{
    if (!h || !control_fast_open(h))
        return call_general(h, ev);
    return call_entered(h, &ev);
}

/* The calls' other paths stay out of line, so that the fast paths save no
 * registers and end in a tail call when they cannot serve: on an open heap
 * (the gate already compared) straight to the work, else through the entry
 * (a heap with a lock reads its gate only under the lock). */
static __attribute__((noinline)) void *alloc_open(hh_heap *h, size_t size)
{
    hh_trace_event ev = {HH_TRACE_MALLOC, NULL, size, 0, NULL};
    return call_entered(h, &ev);
}

/* A heap whose lock is the only thing slow about it: once the slow entry
 * has taken the lock and compared the gate (I1), nothing is left for the
 * general entry to do, and the open path's fused front paths serve the
 * call under the lock (a heap with a lock took the general path for every
 * call before: a small-random loop with no-op lock callbacks took 370
 * instructions a call, 280 now, 212 without a lock). */
static void *alloc_locked(hh_heap *h, size_t size)
{
    if (!heap_enter_slow(h))
        return NULL; /* refused, reported there */
    void *p = front_fast_alloc(h, size);
    if (!p) {
        hh_trace_event ev = {HH_TRACE_MALLOC, NULL, size, 0, NULL};
        p = call_entered(h, &ev);
    }
    heap_unlock(h);
    return p;
}

static __attribute__((noinline)) void *alloc_slow(hh_heap *h, size_t size)
{
    if (h && control_locked_open(h))
        return alloc_locked(h, size);
    return call_general(h, (hh_trace_event){HH_TRACE_MALLOC, NULL, size, 0, NULL});
}

void *hh_alloc(hh_heap *h, size_t size)
{
    if (!h || !control_fast_open(h))
        return alloc_slow(h, size);
    void *p = front_fast_alloc(h, size);
    return p ? p : alloc_open(h, size);
}

void *hh_alloc_aligned(hh_heap *h, size_t size, size_t align)
{
    return heap_call(h, (hh_trace_event){HH_TRACE_ALIGNED, NULL, size, align, NULL});
}

void *hh_calloc(hh_heap *h, size_t n, size_t size)
{
    void *p = heap_call(h, (hh_trace_event){HH_TRACE_CALLOC, NULL, size, n, NULL});
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *hh_realloc(hh_heap *h, void *p, size_t size)
{
    if (!p)
        return hh_alloc(h, size);
    return heap_call(h, (hh_trace_event){HH_TRACE_REALLOC, p, size, 0, NULL});
}

void *hh_realloc_aligned(hh_heap *h, void *p, size_t size, size_t align)
{
    if (!p)
        return hh_alloc_aligned(h, size, align);
    /* 0 means "keep p's alignment" inside (hh_realloc); asked for here it is
     * no power of two, and is refused as one (the event shows SIZE_MAX) */
    size_t asked = align ? align : SIZE_MAX;
    return heap_call(h, (hh_trace_event){HH_TRACE_REALLOC, p, size, asked, NULL});
}

static __attribute__((noinline)) void free_open(hh_heap *h, void *p) { free_unlocked(h, p); }

/* free on a heap whose lock is the only thing slow about it (alloc_locked). */
static void free_locked(hh_heap *h, void *p)
{
    if (!heap_enter_slow(h))
        return; /* refused, reported there */
    if (!front_fast_free(h, p))
        free_unlocked(h, p);
    heap_unlock(h);
}

static __attribute__((noinline)) void free_slow(hh_heap *h, void *p)
{
    if (h && control_locked_open(h))
        free_locked(h, p);
    else
        call_general(h, (hh_trace_event){HH_TRACE_FREE, p, 0, 0, NULL});
}

void hh_free(hh_heap *h, void *p)
{
    if (!p)
        return;
    if (!h || !control_fast_open(h))
        free_slow(h, p);
    else if (!front_fast_free(h, p))
        free_open(h, p);
}

void hh_trim(hh_heap *h)
{
    heap_entry e = heap_enter(h);
    if (e == ENTRY_REFUSED)
        return;
    front_flush(h);
    heap_trim(h, 0, HH_GRANULE); /* all of it, past the initial size */
    heap_leave(h, e);
}

size_t hh_usable_size(hh_heap *h, const void *p)
{
    heap_entry e = p ? heap_enter(h) : ENTRY_REFUSED;
    if (e == ENTRY_REFUSED)
        return 0;
    tag *b = block_from_user(h, p);
    size_t n = b && canary_intact(h, b) ? canary_usable(h, b) : 0;
    heap_leave(h, e);
    return n;
}

size_t hh_usable_size_peek_header(const hh_heap *h, const void *p, const void *limit, uint64_t *header)
{
    /* The entry gate, as an open call compares it (liveness, bounds, flags:
     * the lock's bit included): another thread may be growing the heap, and
     * a gate read in the middle of that fails, which only sends the caller
     * to hh_usable_size. The fields a growth rewrites (end, pos_fast, the
     * gate) are read once each, by relaxed atomic loads, as heap_move_end
     * stores them: no data race, and the position bound is the one the gate
     * proved. The others never change after hh_init in a heap of one region. */
    if (HH_TOOLS_ACTIVE || !h || !p || (h->flags & HH_SLOW_FLAGS) || h->gap_count != 0)
        return 0;
    char *end = __atomic_load_n(&h->end, __ATOMIC_RELAXED);
    uint32_t pos_fast = __atomic_load_n(&h->pos_fast, __ATOMIC_RELAXED);
    if (__atomic_load_n(&h->gate, __ATOMIC_RELAXED) != (control_gate_of(h, end, pos_fast) ^ control_slow_bits(h)))
        return 0;
    tag sound;
    if (block_fault_at(h, p, limit, pos_fast, &sound) != BLOCK_SOUND)
        return 0;
    __builtin_memcpy(header, &sound, sizeof *header);
    return tag_size(&sound) - HH_OVERHEAD;
}

size_t hh_usable_size_peek(const hh_heap *h, const void *p, const void *limit)
{
    uint64_t header;
    return hh_usable_size_peek_header(h, p, limit, &header);
}

/* scale - scale * part / whole, the quotient rounded down; 0 when whole is 0.
 * Halves both while scale * whole could overflow (on 32-bit targets). */
static size_t share_missing(size_t part, size_t whole, size_t scale)
{
    if (whole == 0)
        return 0;
    while (whole > SIZE_MAX / scale) {
        part >>= 1;
        whole >>= 1;
    }
    return scale - scale * part / whole;
}

/* floor(sqrt(x)), bit by bit: no division, no floating point. */
static size_t isqrt64(uint64_t x)
{
    uint64_t root = 0, bit = (uint64_t)1 << 62;
    while (bit > x)
        bit >>= 2;
    for (; bit != 0; bit >>= 2) {
        if (x >= root + bit) {
            x -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
    }
    return (size_t)root;
}

static void stats_fill(const hh_heap *h, hh_stats *out)
{
    out->region_bytes = (size_t)(region_end(h) - h->mem) - h->outside_bytes;
    out->used_bytes = h->used_bytes;
    out->free_bytes = h->free_bytes + h->front_bytes + h->lost_bytes;
    out->cached_bytes = h->front_bytes + h->lost_bytes;
    out->blocks = h->blocks;
    out->holes = h->holes;
    out->largest_hole = (size_t)idx_largest_g(h) * HH_GRANULE;
    out->peak_used_bytes = max_size(h->peak_before, h->peak_used_bytes);
    out->free_low_bytes = min_size(h->free_low_before, heap_arena_bytes(h) - h->peak_used_bytes);
    out->allocations = h->allocations;
    out->frees = h->allocations - h->blocks;
    out->failed_allocations = h->failed_allocations;
    out->frag_permille = share_missing(out->largest_hole, out->free_bytes, 1000);
    out->frag_umm_percent = share_missing(isqrt64(h->hole_square_g), granules(h->free_bytes), 100);
}

void hh_stats_get(hh_heap *h, hh_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    heap_entry e = heap_enter(h);
    if (e == ENTRY_REFUSED)
        return;
    stats_fill(h, out);
    heap_leave(h, e);
}

void hh_stats_reset_peak(hh_heap *h)
{
    heap_entry e = heap_enter(h);
    if (e == ENTRY_REFUSED)
        return;
    stats_restart(h);
    heap_leave(h, e);
}

/* ---- hh_max_alloc ---- */

/* The largest run of free spans (holes and the front's cached blocks, which
 * merge with them when the front is flushed) in one region: what a request
 * that no hole serves finds after the flush. 0 on a damaged tag. */
static size_t largest_free_run(const hh_heap *h)
{
    size_t best = 0, run = 0;
    for (tag *b = heap_first(h); (char *)b < h->end; b = block_next(b)) {
        uint32_t pos = block_pos(h, b);
        if (!span_sound(h, pos) && !gap_sound(h, pos))
            return 0;
        run = tag_is_hole(b) || tag_is_cached(b) ? run + tag_size(b) : 0;
        best = max_size(best, run);
    }
    return best;
}

size_t hh_max_alloc(hh_heap *h)
{
    heap_entry e = heap_enter(h);
    if (e == ENTRY_REFUSED)
        return 0;
    size_t run = h->front_bytes ? largest_free_run(h) : (size_t)idx_largest_g(h) * HH_GRANULE;
    heap_leave(h, e);
    size_t record = (h->flags & HH_CANARY) ? CANARY_RECORD_BYTES : 0; /* canary_request */
    if (run < HH_MIN_BLOCK || run - HH_OVERHEAD < record)
        return 0;
    return min_size(run - HH_OVERHEAD - record, HH_MAX_REQUEST);
}

int hh_last_problem(hh_heap *h, hh_problem *out)
{
    if (!heap_alive(h))
        return HH_E_CORRUPT;
    if (out)
        *out = h->last;
    return h->last.code;
}

size_t hh_problem_count(hh_heap *h) { return heap_alive(h) ? h->problems : 0; }

/* ---- hh_init ---- */

/* Where the parts of a new heap go inside [mem, mem+size). */
typedef struct layout {
    uintptr_t control, storage, base, end;
    size_t storage_bytes;
} layout;

static bool layout_plan(layout *l, void *mem, size_t size, size_t max_span)
{
    uintptr_t start = (uintptr_t)mem, stop = start + size;
    if (stop < start)
        return false;
    l->control = align_up(start, HH_GRANULE);
    l->storage = align_up(l->control + sizeof(hh_heap), HH_GRANULE);
    l->storage_bytes = idx_storage_bytes(max_span);
    l->base = align_up(l->storage + l->storage_bytes, HH_GRANULE) + HH_GRANULE + HH_TAG_BYTES;
    l->end = align_down(stop, HH_GRANULE) - HH_TAG_BYTES;
    return l->control >= start && l->base < stop && l->end >= l->base + HH_MIN_BLOCK;
}

/* The front is off in strict mode and in the modes that hunt corruption
 * (a cached block is neither poisoned nor merged); it holds at most
 * HH_FRONT_BYTES, and at most a sixteenth of the initial heap. */
static void front_setup(hh_heap *h, size_t span)
{
    bool off = (h->flags & (HH_STRICT | HH_POISON | HH_CHECK_ALWAYS)) != 0;
    h->front_max_g = off ? 0 : HH_FRONT_MAX_G;
    h->front_limit = off ? 0 : min_size(HH_FRONT_BYTES, span / 16);
    for (uint32_t g = 0; g < FRONT_LISTS; g++) {
        h->front_head[g] = HH_NIL;
        h->front_count[g] = 0;
    }
}

static bool options_valid(const hh_options *o, size_t size)
{
    if ((o->lock == NULL) != (o->unlock == NULL))
        return false;
    if (o->flags & ~(uint32_t)(HH_CHECK_ALWAYS | HH_POISON | HH_STRICT | HH_CANARY))
        return false;
    if (o->max_size && (o->max_size < size || !o->grow || o->max_size > HH_MAX_SPAN))
        return false;
    return size <= HH_MAX_SPAN;
}

hh_heap *hh_init(void *mem, size_t size, const hh_options *opt)
{
    static const hh_options defaults = {0};
    const hh_options *o = opt ? opt : &defaults;
    layout l;
    if (!mem || !options_valid(o, size) || (uintptr_t)mem + o->max_size < (uintptr_t)mem ||
        !layout_plan(&l, mem, size, max_size(size, o->max_size)))
        return NULL;
    tool_give_back(mem, size); /* the region may have held an earlier heap */
    hh_heap *h = (hh_heap *)l.control;
    memset(h, 0, sizeof *h);
    h->key = o->key ? o->key : HH_DEFAULT_KEY;
    tag_keys_derive(h);
    h->magic = HH_MAGIC ^ h->key;
    h->flags = o->flags;
    h->mem = mem;
    h->base = (char *)l.base;
    h->grow = o->grow;
    h->shrink = o->shrink;
    h->lock = o->lock;
    h->unlock = o->unlock;
    h->on_error = o->on_error;
    h->on_oom = o->on_oom;
    h->on_trace = o->on_trace;
    if (o->on_oom || o->on_trace)
        h->flags |= HH_HOOKED;
    h->ctx = o->ctx;
    h->region_max = o->max_size;
    h->limit_end =
        o->max_size ? (char *)(align_down((uintptr_t)mem + o->max_size, HH_GRANULE) - HH_TAG_BYTES) : (char *)l.end;
    h->lock_seal = lock_seal_of(h);
    front_setup(h, (size_t)(l.end - l.base));
    idx_init(h, (void *)l.storage, l.storage_bytes);
    fence_write(h, heap_prologue(h), HH_NIL);
    heap_set_end(h, (char *)l.end);
    h->floor_end = h->end;
    control_reseal(h);
    h->trim_keep = HH_TRIM_KEEP;
    hole_link(h, heap_first(h), (size_t)(l.end - l.base));
    tool_hide(heap_prologue(h), (size_t)(region_end(h) - (char *)heap_prologue(h)));
    stats_restart(h);
    return h;
}

size_t hh_min_region(void)
{
    /* mem at 1 mod 16 is the worst case: 15 bytes to align the control block,
     * the control block, the table's storage, 16 of padding, the prologue, one
     * minimal hole and the epilogue. The table's storage grows with the region,
     * so iterate to the fixed point. */
    size_t fixed = (HH_GRANULE - 1) + (size_t)align_up(sizeof(hh_heap), HH_GRANULE) + HH_GRANULE + HH_TAG_BYTES +
                   HH_MIN_BLOCK + HH_TAG_BYTES;
    size_t n = fixed;
    for (int i = 0; i < 8; i++)
        n = fixed + (size_t)align_up(idx_storage_bytes(n), HH_GRANULE);
    return n;
}

/* ---- hh_add_region ---- */

/* Where a new region's parts go: the index's new storage if it needs one
 * (table build), the footer of the span between regions, the first hole, the
 * epilogue, and how far growth may take the region. */
typedef struct region_plan {
    uintptr_t storage, first, end, limit;
    size_t storage_bytes;
} region_plan;

/* The furthest epilogue a position and a tag's size can encode: the heap
 * spans at most HH_MAX_SPAN from its first block. */
static uintptr_t region_far_end(const hh_heap *h)
{
    uintptr_t room = align_down(HH_MAX_SPAN - 2 * HH_GRANULE, HH_GRANULE);
    uintptr_t base = (uintptr_t)h->base;
    return base + room < base ? align_down(UINTPTR_MAX, HH_GRANULE) - HH_TAG_BYTES : base + room;
}

/* How far the last region may grow: mem + max_size, as the first could, and
 * never past what positions encode. */
static uintptr_t region_limit(const hh_heap *h, uintptr_t start, uintptr_t end)
{
    uintptr_t far = region_far_end(h);
    if (!h->grow || h->region_max == 0)
        return end;
    uintptr_t want = start + h->region_max < start ? UINTPTR_MAX : start + h->region_max;
    uintptr_t limit = align_down(want, HH_GRANULE) - HH_TAG_BYTES;
    return limit < end ? end : limit > far ? far : limit;
}

/* HH_OK and *r, or HH_E_REGION: the region lies at or above the heap's end
 * and growth range, fits the encoding, holds a hole, and the heap has room
 * for one more region. */
static int region_plan_make(const hh_heap *h, void *mem, size_t size, region_plan *r)
{
    uintptr_t start = (uintptr_t)mem, stop = start + size;
    if (!mem || stop < start || h->gap_count >= GAPS_MAX || start < (uintptr_t)h->limit_end + HH_TAG_BYTES)
        return HH_E_REGION;
    r->end = align_down(stop, HH_GRANULE) - HH_TAG_BYTES;
    if (r->end > region_far_end(h) || r->end < start)
        return HH_E_REGION;
    r->limit = region_limit(h, start, r->end);
    r->storage = align_up(start, HH_GRANULE);
    size_t arena = (size_t)(r->limit - (uintptr_t)h->base) - h->gap_bytes - (size_t)(start - (uintptr_t)h->end);
    r->storage_bytes = align_up(idx_storage_more(h, arena, h->gap_count + 2u), HH_GRANULE);
    r->first = r->storage + r->storage_bytes + HH_TAG_BYTES;
    if (r->first < r->storage || r->first > r->end || r->end - r->first < HH_MIN_BLOCK)
        return HH_E_REGION;
    return HH_OK;
}

/* Seal [end, first) as the span between the last region and the new one,
 * and record it. */
static void region_seal_gap(hh_heap *h, char *old_end, const region_plan *r, uintptr_t start)
{
    size_t bytes = (size_t)(r->first - (uintptr_t)old_end);
    gap_write(h, (tag *)(void *)old_end, bytes);
    uint32_t k = h->gap_count++;
    h->gap_lo[k] = block_pos(h, (tag *)(void *)old_end);
    h->gap_hi[k] = block_pos(h, (tag *)r->first);
    h->gap_bytes += bytes;
    h->outside_bytes += (size_t)(start - (uintptr_t)region_end_at(old_end));
}

static int region_add_unlocked(hh_heap *h, void *mem, size_t size)
{
    region_plan r;
    int rc = region_plan_make(h, mem, size, &r);
    if (rc != HH_OK)
        return rc;
    char *old_end = h->end;
    if (r.storage_bytes)
        idx_extend(h, (void *)r.storage, r.storage_bytes);
    heap_move_end(h, (char *)r.end); /* closes the statistics' span with the old arena */
    tool_hide(mem, (size_t)(r.end + HH_TAG_BYTES - (uintptr_t)mem)); /* not the memory between regions */
    region_seal_gap(h, old_end, &r, (uintptr_t)mem);
    h->limit_end = (char *)r.limit;
    h->floor_end = (char *)r.end;
    heap_pos_fast_update(h);
    idx_extend(h, NULL, 0); /* the index's keys may need more position bits */
    control_reseal(h);
    hole_link(h, (tag *)r.first, (size_t)(r.end - r.first));
    return HH_OK;
}

int hh_add_region(hh_heap *h, void *mem, size_t size)
{
    if (!heap_alive(h))
        return HH_E_BAD_POINTER;
    heap_entry e = heap_enter(h);
    if (e == ENTRY_REFUSED)
        return HH_E_CORRUPT;
    hh_problem pr;
    int rc = heap_check_unlocked(h, &pr);
    if (rc == HH_OK)
        rc = region_add_unlocked(h, mem, size);
    heap_leave(h, e);
    return rc;
}

HH_TOOLS_EXEMPT_END;
