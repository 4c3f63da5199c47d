/*
 * holeheap: init, alloc, aligned alloc, calloc, realloc, free, grow, trim.
 *
 * Every hole comes into service through hole_link (tags written, poisoned,
 * indexed, counted) or hole_move (a retired hole reshaped by a split or merge:
 * its index entry moves along, O(1) when its order holds), and leaves it
 * through hole_retire (uncounted, entry saved) or hole_unlink
 * (retired and unindexed). Blocks are counted by block_make and count_block. Operations validate everything
 * they will touch before they change anything, so a refused call leaves the
 * heap as it was.
 */
#include "mem.h"
#include "tag.h"

/* ---- small arithmetic ---- */

static inline uintptr_t align_up(uintptr_t x, uintptr_t a) { return (x + a - 1) & ~(a - 1); }
static inline uintptr_t align_down(uintptr_t x, uintptr_t a) { return x & ~(a - 1); }
static inline size_t max_size(size_t a, size_t b) { return a > b ? a : b; }
static inline size_t min_size(size_t a, size_t b) { return a < b ? a : b; }
static inline size_t granules(size_t bytes) { return bytes / HH_GRANULE; }

/* The largest request any heap could serve. Below it, a block size plus the
 * worst alignment padding cannot wrap around, on 32-bit targets too. */
#define HH_MAX_REQUEST (HH_MAX_SPAN - HH_MAX_ALIGN - 4 * HH_MIN_BLOCK)

/* Block size (header + payload + footer) for a request of n bytes; 0 if no
 * heap could ever hold it. */
static size_t block_size_for(size_t n)
{
    if (n > HH_MAX_REQUEST)
        return 0;
    return max_size(align_up(n + HH_OVERHEAD, HH_GRANULE), HH_MIN_BLOCK);
}

static inline char *region_end(const hh_heap *h) { return h->end + HH_TAG_BYTES; }

/* ---- problems ---- */

void heap_report(hh_heap *h, int code, const void *where, const char *what)
{
    h->last.code = code;
    h->last.where = where;
    h->last.what = what;
    h->problems++;
    if (h->on_error)
        h->on_error(h->ctx, &h->last);
}

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
    if (sign > 0) {
        h->holes++;
        h->free_bytes += size;
    } else {
        h->holes--;
        h->free_bytes -= size;
    }
}

/* ---- holes and blocks ---- */

/* With HH_POISON: is the hole's poison intact? If not, report the write after
 * free; the caller then leaves the hole alone, so the evidence stays. */
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
    if (h->flags & HH_POISON)
        memset(hole_poison_start(hole), HH_POISON_BYTE, hole_poison_bytes(hole));
}

/* Make [b, b+size) a hole: tags, poison, index, totals. */
static tag *hole_link(hh_heap *h, tag *b, size_t size)
{
    tag_write(h, b, size, true);
    hole_poison_fill(h, b);
    idx_insert(h, b);
    count_hole(h, size, +1);
    return b;
}

/* Take a hole out of service before its tags change, keeping its index entry
 * for hole_move: totals updated, entry saved. (Its poison was checked with
 * hole_clean before the operation changed anything.) */
static idx_entry hole_retire(hh_heap *h, tag *hole)
{
    count_hole(h, tag_size(hole), -1);
    idx_entry e = {block_pos(h, hole), tag_size_g(hole), *(idx_node *)block_payload(hole)};
    return e;
}

/* Take a hole out of service and out of the index, before its tags change. */
static void hole_unlink(hh_heap *h, tag *hole)
{
    hole_retire(h, hole);
    idx_remove(h, hole);
}

/* The retired hole e becomes the hole [b, b+size): a split or a merge reshaped
 * it. Its index entry moves along, in O(1) when its order is unchanged. */
static tag *hole_move(hh_heap *h, const idx_entry *e, tag *b, size_t size)
{
    tag_write(h, b, size, true);
    idx_replace(h, e, b);
    hole_poison_fill(h, b);
    count_hole(h, size, +1);
    return b;
}

static void block_make(hh_heap *h, tag *b, size_t size)
{
    tag_write(h, b, size, false);
    count_block(h, size, +1);
}

/*
 * Place a block of `size` at the start of the free span [b, b+span). The rest
 * becomes a hole when it can be one, else joins the block:
 *
 *   | block (size) | hole (span-size) |     or     | block (span) |
 *
 * `reuse` is the retired hole whose index entry the rest takes over (its tags
 * still intact), or NULL when the span is in no index.
 */
static tag *block_place(hh_heap *h, tag *b, size_t span, size_t size, const idx_entry *reuse)
{
    if (span - size < HH_MIN_BLOCK) {
        if (reuse)
            idx_remove(h, block_at(h, reuse->pos));
        block_make(h, b, span);
        return b;
    }
    block_make(h, b, size);
    if (reuse)
        hole_move(h, reuse, block_next(b), span - size);
    else
        hole_link(h, block_next(b), span - size);
    return b;
}

/* ---- validation of what a caller hands back ---- */

static bool tags_equal(const tag *a, const tag *b) { return a->word == b->word && a->seal == b->seal; }

/* The block whose payload is p, or NULL after reporting why not. */
static tag *block_from_user(hh_heap *h, const void *p)
{
    const char *c = p;
    if (c < h->base + HH_TAG_BYTES || c >= h->end) {
        heap_report(h, HH_E_BAD_POINTER, p, "pointer outside the heap");
        return NULL;
    }
    if (((size_t)(c - h->base) - HH_TAG_BYTES) % HH_GRANULE != 0) {
        heap_report(h, HH_E_BAD_POINTER, p, "misaligned pointer: not the start of a block");
        return NULL;
    }
    tag *b = payload_block(p);
    if (!tag_sealed(h, b, block_pos(h, b))) {
        heap_report(h, HH_E_BAD_POINTER, p, "no block header here: interior pointer or overwritten header");
        return NULL;
    }
    if (tag_size(b) < HH_MIN_BLOCK || tag_size(b) > (size_t)(h->end - (char *)b)) {
        heap_report(h, HH_E_CORRUPT, b, "block header has an impossible size");
        return NULL;
    }
    if (tag_is_hole(b)) {
        heap_report(h, HH_E_DOUBLE_FREE, p, "block is already free (double free)");
        return NULL;
    }
    if (!tags_equal(b, block_footer(b))) {
        heap_report(h, HH_E_CORRUPT, block_footer(b), "footer overwritten: write past the end of the block");
        return NULL;
    }
    return b;
}

/* The hole left of b, NULL if b's left neighbour is a block; *ok false (and
 * reported) when that neighbour's tags are corrupt. */
static tag *left_hole(hh_heap *h, tag *b, bool *ok)
{
    if ((char *)b == h->base)
        return NULL;
    tag *lf = block_left_footer(b);
    size_t size = tag_size(lf);
    tag *left = (tag *)(void *)((char *)b - size);
    if (size < HH_MIN_BLOCK || size > (size_t)((char *)b - h->base) || !tags_equal(lf, left) ||
        !tag_sealed(h, left, block_pos(h, left))) {
        heap_report(h, HH_E_CORRUPT, lf, "left neighbour's footer or header is corrupt");
        *ok = false;
        return NULL;
    }
    return tag_is_hole(left) ? left : NULL;
}

/* The hole right of b, as left_hole. */
static tag *right_hole(hh_heap *h, tag *b, bool *ok)
{
    tag *r = block_next(b);
    if ((char *)r == h->end)
        return NULL;
    size_t size = tag_size(r);
    if (!tag_sealed(h, r, block_pos(h, r)) || size < HH_MIN_BLOCK || size > (size_t)(h->end - (char *)r) ||
        !tags_equal(r, block_footer(r))) {
        heap_report(h, HH_E_CORRUPT, r, "right neighbour's header or footer is corrupt (write past the end?)");
        *ok = false;
        return NULL;
    }
    return tag_is_hole(r) ? r : NULL;
}

/* ---- growth and trimming at the end of the heap ---- */

/* The last block or hole: the one whose footer sits just before the epilogue;
 * NULL, reported, when its tags are corrupt (a write past the last block). */
static tag *heap_last(hh_heap *h)
{
    tag *lf = heap_epilogue(h) - 1;
    size_t size = tag_size(lf);
    tag *last = (tag *)(void *)(h->end - size);
    if (size < HH_MIN_BLOCK || size > (size_t)(h->end - h->base) || !tags_equal(last, lf) ||
        !tag_sealed(h, last, block_pos(h, last))) {
        heap_report(h, HH_E_CORRUPT, lf, "the last block's footer or header is corrupt");
        return NULL;
    }
    return last;
}

/* Move the epilogue to new_end (the region then ends 8 bytes later). */
static void heap_set_end(hh_heap *h, char *new_end)
{
    h->end = new_end;
    fence_write(h, heap_epilogue(h), block_pos(h, heap_epilogue(h)));
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

/*
 * Ask grow for room so that the last hole has at least `need` bytes. Extends the
 * last hole when the heap ends in one, else adds a hole where the epilogue was.
 * Returns that hole, or NULL (heap unchanged) when growth is impossible.
 */
static tag *heap_grow(hh_heap *h, size_t need)
{
    tag *last = h->grow ? heap_last(h) : NULL;
    if (!last || (tag_is_hole(last) && !hole_clean(h, last)))
        return NULL;
    size_t have = tag_is_hole(last) ? tag_size(last) : 0;
    if (need <= have)
        return last;
    size_t missing = need - have;
    size_t room = (size_t)(h->limit_end - h->end);
    if (missing > room)
        return NULL;
    size_t ask = min_size(max_size(missing, HH_GROW_CHUNK), room);
    size_t got = h->grow(h->ctx, region_end(h), ask);
    if (got == 0)
        return NULL;
    if (got < ask) {
        heap_report(h, HH_E_CALLBACK, region_end(h), "grow returned fewer bytes than asked");
        return NULL;
    }
    remember_regrowth(h, need, missing);
    size_t added = align_down(min_size(got, room), HH_GRANULE);
    if (!have) {
        tag *hole = heap_epilogue(h);
        heap_set_end(h, h->end + added);
        return hole_link(h, hole, added);
    }
    idx_entry e = hole_retire(h, last);
    tag *old_end = heap_epilogue(h);
    heap_set_end(h, h->end + added);
    tag_erase(h, old_end - 1); /* the hole's old footer and the old fence, now inside it */
    tag_erase(h, old_end);
    return hole_move(h, &e, last, have + added);
}

/* Offer the trailing memory back when the heap ends in a large hole: keep
 * trim_keep bytes of it, and act only when that gives back at least
 * HH_TRIM_THRESHOLD - HH_TRIM_KEEP, so that small frees never call shrink. */
static void heap_trim(hh_heap *h)
{
    tag *last = h->shrink ? heap_last(h) : NULL;
    if (!last || !tag_is_hole(last))
        return;
    size_t keep = h->trim_keep;
    if (tag_size(last) < keep + (HH_TRIM_THRESHOLD - HH_TRIM_KEEP))
        return;
    size_t spare = min_size(tag_size(last) - keep, (size_t)(h->end - h->floor_end));
    spare = align_down(spare, HH_GRANULE);
    if (spare == 0 || !hole_clean(h, last))
        return;
    size_t size = tag_size(last);
    idx_entry e = hole_retire(h, last);
    size_t released = h->shrink(h->ctx, region_end(h) - spare, spare);
    if (released > spare || released % HH_GRANULE != 0) {
        heap_report(h, HH_E_CALLBACK, region_end(h) - spare, "shrink returned an impossible byte count");
        released = 0;
    }
    heap_set_end(h, h->end - released);
    hole_move(h, &e, last, size - released);
    h->last_trim = released;
    if (released == 0) /* refused: do not ask again until the hole has grown */
        h->trim_keep = max_size(h->trim_keep, size);
}

/* ---- the operations, lock held ---- */

static void *alloc_unlocked(hh_heap *h, size_t n)
{
    size_t size = block_size_for(n);
    if (size == 0) {
        heap_report(h, HH_E_BAD_SIZE, NULL, "allocation size too large for any heap");
        return NULL;
    }
    tag *hole = idx_best_fit(h, (uint32_t)granules(size));
    if (!hole)
        hole = heap_grow(h, size);
    if (!hole || !hole_clean(h, hole))
        return NULL;
    size_t span = tag_size(hole);
    idx_entry e = hole_retire(h, hole);
    return block_payload(block_place(h, hole, span, size, &e));
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
 * Carve an aligned block out of a hole:
 *
 *   | front hole (gap) | block (size) | rest hole |
 */
static void *carve_aligned(hh_heap *h, tag *hole, size_t size, size_t align)
{
    size_t gap = aligned_gap(hole, align);
    size_t span = tag_size(hole);
    idx_entry e = hole_retire(h, hole);
    if (!gap)
        return block_payload(block_place(h, hole, span, size, &e));
    hole_move(h, &e, hole, gap);
    return block_payload(block_place(h, block_next(hole), span - gap, size, NULL));
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
        if (!tag_sealed(h, b, block_pos(h, b)) || tag_size(b) < HH_MIN_BLOCK ||
            tag_size(b) > (size_t)(h->end - (char *)b))
            return NULL;
        if (tag_is_hole(b) && hole_fits_aligned(b, size, align))
            return b;
    }
    return NULL;
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
        heap_report(h, HH_E_BAD_SIZE, NULL, "allocation size too large for any heap");
        return NULL;
    }
    /* First the best fit for the size alone; if its alignment does not work
     * out, the best fit for the size plus the worst gap, which always does;
     * then growth; and before giving up, a scan for any hole that fits. */
    tag *hole = idx_best_fit(h, (uint32_t)granules(size));
    if (!hole_fits_aligned(hole, size, align)) {
        size_t padded = size + align + HH_MIN_BLOCK;
        hole = idx_best_fit(h, (uint32_t)granules(padded));
        if (!hole)
            hole = heap_grow_aligned(h, size, align);
        if (!hole_fits_aligned(hole, size, align))
            hole = aligned_scan(h, size, align);
        if (!hole_fits_aligned(hole, size, align))
            return NULL;
    }
    if (!hole_clean(h, hole))
        return NULL;
    return carve_aligned(h, hole, size, align);
}

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
 * Free the block b, merging with holes on either side:
 *
 *   | left hole | b | right hole |   ->   | one hole |
 */
static void free_block(hh_heap *h, tag *b)
{
    bool ok = true;
    tag *left = left_hole(h, b, &ok);
    tag *right = right_hole(h, b, &ok);
    if (!ok || (left && !hole_clean(h, left)) || (right && !hole_clean(h, right)))
        return;
    size_t size = tag_size(b) + (left ? tag_size(left) : 0) + (right ? tag_size(right) : 0);
    count_block(h, tag_size(b), -1);
    if (left && right)
        hole_unlink(h, right);
    tag *start = left ? left : b;
    tag *keep = left ? left : right; /* the hole whose index entry the merged hole takes over */
    if (!keep) {
        hole_link(h, start, size);
    } else {
        idx_entry e = hole_retire(h, keep);
        erase_inner_tags(h, b, left, right);
        hole_move(h, &e, start, size);
    }
    heap_trim(h);
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
    block_make(h, tail, cur - size);
    free_block(h, tail);
}

/* Grow b in place to `size` into the hole `right` after it, which has room:
 *
 *   | b | right hole |   ->   | b (size) | rest hole |
 */
static void block_extend(hh_heap *h, tag *b, tag *right, size_t size)
{
    size_t cur = tag_size(b);
    idx_entry e = hole_retire(h, right);
    count_block(h, cur, -1);
    block_place(h, b, cur + tag_size(right), size, &e);
    tag_erase(h, (tag *)(void *)((char *)b + cur) - 1); /* b's old footer */
    tag_erase(h, (tag *)(void *)((char *)b + cur));     /* the swallowed hole's header */
}

static void *realloc_unlocked(hh_heap *h, void *p, size_t n)
{
    tag *b = block_from_user(h, p);
    if (!b)
        return NULL;
    size_t size = block_size_for(n);
    if (size == 0) {
        heap_report(h, HH_E_BAD_SIZE, NULL, "reallocation size too large for any heap");
        return NULL;
    }
    /* Validate both neighbours before anything changes: a refused realloc
     * does nothing, and the move below must be able to free b. */
    bool ok = true;
    tag *left = left_hole(h, b, &ok);
    tag *right = ok ? right_hole(h, b, &ok) : NULL;
    if (!ok || (left && !hole_clean(h, left)) || (right && !hole_clean(h, right)))
        return NULL;
    if (size <= tag_size(b)) {
        block_shrink(h, b, size);
        return p;
    }
    if (right && tag_size(b) + tag_size(right) >= size) {
        block_extend(h, b, right, size);
        return p;
    }
    /* At the end of the heap, grow the heap and then the block, in place. */
    tag *grown = (char *)block_next(right ? right : b) == h->end ? heap_grow(h, size - tag_size(b)) : NULL;
    if (grown) {
        block_extend(h, b, grown, size);
        return p;
    }
    void *q = alloc_unlocked(h, n);
    if (!q)
        return NULL;
    memcpy(q, p, tag_size(b) - HH_OVERHEAD);
    free_block(h, b);
    return q;
}

/* ---- entry and exit of every public call ---- */

static bool heap_alive(const hh_heap *h) { return h && h->magic == (HH_MAGIC ^ h->key); }

/* With HH_CHECK_ALWAYS: check the whole heap, report what is wrong. */
static __attribute__((noinline)) bool heap_check_around(hh_heap *h)
{
    hh_problem pr;
    if (heap_check_unlocked(h, &pr) == HH_OK)
        return true;
    heap_report(h, pr.code, pr.where, pr.what);
    return false;
}

/* With HH_POISON: a write after free into a hole's first 16 bytes lands on
 * its index node, where the poison check cannot see it; verify the index (I10)
 * before a call follows its links. */
static __attribute__((noinline)) bool heap_index_sound(hh_heap *h)
{
    hh_problem pr;
    if (idx_verify(h, &pr) == HH_OK)
        return true;
    heap_report(h, pr.code, pr.where, pr.what);
    return false;
}

/* Take the lock and, with HH_CHECK_ALWAYS (or HH_POISON, for the index),
 * refuse to work on a corrupt heap. */
static inline bool heap_enter(hh_heap *h)
{
    if (!heap_alive(h))
        return false;
    if (h->lock)
        h->lock(h->ctx);
    bool sound = true;
    if (h->flags & HH_CHECK_ALWAYS)
        sound = heap_check_around(h);
    else if (h->flags & HH_POISON)
        sound = heap_index_sound(h);
    if (!sound) {
        if (h->unlock)
            h->unlock(h->ctx);
        return false;
    }
    return true;
}

static inline void heap_leave(hh_heap *h)
{
    if (h->flags & HH_CHECK_ALWAYS)
        heap_check_around(h);
    if (h->unlock)
        h->unlock(h->ctx);
}

/* ---- public API ---- */

void *hh_alloc(hh_heap *h, size_t size)
{
    if (!heap_enter(h))
        return NULL;
    void *p = alloc_unlocked(h, size);
    heap_leave(h);
    return p;
}

void *hh_alloc_aligned(hh_heap *h, size_t size, size_t align)
{
    if (!heap_enter(h))
        return NULL;
    void *p = alloc_aligned_unlocked(h, size, align);
    heap_leave(h);
    return p;
}

void *hh_calloc(hh_heap *h, size_t n, size_t size)
{
    if (!heap_enter(h))
        return NULL;
    void *p = NULL;
    if (size != 0 && n > SIZE_MAX / size)
        heap_report(h, HH_E_BAD_SIZE, NULL, "calloc: n * size overflows");
    else
        p = alloc_unlocked(h, n * size);
    heap_leave(h);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *hh_realloc(hh_heap *h, void *p, size_t size)
{
    if (!p)
        return hh_alloc(h, size);
    if (size == 0) {
        hh_free(h, p);
        return NULL;
    }
    if (!heap_enter(h))
        return NULL;
    void *q = realloc_unlocked(h, p, size);
    heap_leave(h);
    return q;
}

void hh_free(hh_heap *h, void *p)
{
    if (!p || !heap_enter(h))
        return;
    tag *b = block_from_user(h, p);
    if (b)
        free_block(h, b);
    heap_leave(h);
}

size_t hh_usable_size(hh_heap *h, const void *p)
{
    if (!p || !heap_enter(h))
        return 0;
    tag *b = block_from_user(h, p);
    size_t n = b ? tag_size(b) - HH_OVERHEAD : 0;
    heap_leave(h);
    return n;
}

void hh_stats_get(hh_heap *h, hh_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!heap_enter(h))
        return;
    out->region_bytes = (size_t)(region_end(h) - h->mem);
    out->used_bytes = h->used_bytes;
    out->free_bytes = h->free_bytes;
    out->blocks = h->blocks;
    out->holes = h->holes;
    out->largest_hole = (size_t)idx_largest_g(h) * HH_GRANULE;
    out->peak_used_bytes = h->peak_used_bytes;
    heap_leave(h);
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

static bool options_valid(const hh_options *o, size_t size)
{
    if ((o->lock == NULL) != (o->unlock == NULL))
        return false;
    if (o->flags & ~(uint32_t)(HH_CHECK_ALWAYS | HH_POISON))
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
    hh_heap *h = (hh_heap *)l.control;
    memset(h, 0, sizeof *h);
    h->key = o->key ? o->key : HH_DEFAULT_KEY;
    h->magic = HH_MAGIC ^ h->key;
    h->flags = o->flags;
    h->mem = mem;
    h->base = (char *)l.base;
    h->grow = o->grow;
    h->shrink = o->shrink;
    h->lock = o->lock;
    h->unlock = o->unlock;
    h->on_error = o->on_error;
    h->ctx = o->ctx;
    h->limit_end = o->max_size ? (char *)(align_down((uintptr_t)mem + o->max_size, HH_GRANULE) - HH_TAG_BYTES)
                               : (char *)l.end;
    idx_init(h, (void *)l.storage, l.storage_bytes);
    fence_write(h, heap_prologue(h), HH_NIL);
    heap_set_end(h, (char *)l.end);
    h->floor_end = h->end;
    h->trim_keep = HH_TRIM_KEEP;
    hole_link(h, heap_first(h), (size_t)(l.end - l.base));
    return h;
}

size_t hh_min_region(void)
{
    /* mem at 1 mod 16 is the worst case: 15 bytes to align the control block,
     * the control block, the table's storage, 16 of padding, the prologue, one
     * minimal hole and the epilogue. The table's storage grows with the region,
     * so iterate to the fixed point. */
    size_t fixed = (HH_GRANULE - 1) + (size_t)align_up(sizeof(hh_heap), HH_GRANULE) + HH_GRANULE +
                   HH_TAG_BYTES + HH_MIN_BLOCK + HH_TAG_BYTES;
    size_t n = fixed;
    for (int i = 0; i < 8; i++)
        n = fixed + (size_t)align_up(idx_storage_bytes(n), HH_GRANULE);
    return n;
}
