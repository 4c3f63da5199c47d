/*
 * The ordered table, as in the seed: an array of hole positions kept sorted by
 * key (size_g, pos), so the first slot whose key is >= (n, 0) is the exact best
 * fit for n granules. Binary search finds a slot in O(log holes); insert and
 * remove shift the tail with memmove, O(holes).
 *
 *   slots: | pos of smallest hole | ... | pos of largest hole | unused ... |
 *          0                            count-1                capacity
 *
 * The heap places the slots after its control block, sized by
 * idx_storage_bytes for the largest span the heap may ever reach, which is
 * more holes than that span can hold: the table cannot fill up. Insert still
 * refuses to write past the end if it is ever called when full.
 */
#ifdef HH_INDEX_TABLE

#include "annotate.h"
HH_TOOLS_EXEMPT_BEGIN; /* to HH_TOOLS_EXEMPT_END: under ASan the core's accesses are exempt */
#include "heap.h"
#include "index.h"
#include "mem.h" /* memmove shifts the slots, memcpy moves them to new storage */
#include "tag.h"

/* Slots beyond the bound on holes, for the prologue/epilogue slack. */
#define IDX_SLACK_SLOTS 8u

/*
 * The set-aside record (I10f): the word idx.broken says whether the table
 * serves, and idx.aside_mark, at the other end of idx_state, remembers that
 * damage set it aside. Each value has 16 bits of the heap's keys between a
 * fixed first and last byte that differ, so no fill of one byte value (0,
 * 0xFF), no single bit flipped in another and no constant makes one (a copy
 * of another heap's control block does with a chance of 2^-16):
 *
 *   broken      aside_mark   the table
 *   in service  0            serves
 *   set aside   (any)        set aside after damage: serves no more
 *   other       aside        set aside, its word overwritten: stays aside
 *               (the in-service value included: a call reads the mark
 *               whenever it is not 0)
 *   other       not aside    in service, its word overwritten: serves again
 *   in service  other        in service, its mark overwritten: serves again
 *
 * So a table set aside needs two stray writes to come back (one of them the
 * exact keyed value), and one stray write never sets a table in service
 * aside: each is reported at the call that meets it and repaired.
 */
#define IDX_KEYED_BITS 0x00FFFF00u
static inline uint32_t idx_word_in_service(const hh_heap *h) { return (h->key1 & IDX_KEYED_BITS) ^ 0xA500005Au; }
static inline uint32_t idx_word_aside(const hh_heap *h) { return (h->key1 & IDX_KEYED_BITS) ^ 0x5E0000A1u; }
static inline uint32_t idx_mark_aside(const hh_heap *h) { return (h->key3 & IDX_KEYED_BITS) ^ 0x3C0000C3u; }

static inline uint64_t idx_key(uint32_t size_g, uint32_t pos) { return (uint64_t)size_g << 32 | pos; }

/* The key of the hole at pos; a position outside the heap (a damaged slot)
 * reads nothing and sorts last. */
static inline uint64_t idx_key_of(const hh_heap *h, uint32_t pos)
{
    return heap_pos_ok(h, pos) ? idx_key(tag_size_g(block_at(h, pos)), pos) : UINT64_MAX;
}

/* The first slot whose key is >= key (count if none). */
static size_t idx_lower_bound(const hh_heap *h, uint64_t key)
{
    size_t lo = 0, hi = h->idx.count <= h->idx.capacity ? h->idx.count : 0; /* a damaged count reads nothing */

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (idx_key_of(h, h->idx.slots[mid]) < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The slot holding pos, or count if it is not in the table. */
static size_t idx_find(const hh_heap *h, uint32_t pos)
{
    size_t i = idx_lower_bound(h, idx_key_of(h, pos));
    return i < h->idx.count && h->idx.slots[i] == pos ? i : h->idx.count;
}

/* Holes never touch and each block or hole takes at least 32 bytes, so a
 * span of max_span bytes holds at most max_span / 64 + 1 holes. */
size_t idx_storage_bytes(size_t max_span)
{
    return (max_span / (2 * HH_MIN_BLOCK) + 1 + IDX_SLACK_SLOTS) * sizeof(uint32_t);
}

void idx_init(hh_heap *h, void *storage, size_t storage_bytes)
{
    h->idx.slots = storage;
    h->idx.capacity = storage ? storage_bytes / sizeof(uint32_t) : 0;
    h->idx.count = 0;
    h->idx.broken = idx_word_in_service(h);
    h->idx.aside_mark = 0;
}

size_t idx_storage_more(const hh_heap *h, size_t arena_bytes, uint32_t regions)
{
    size_t need = idx_storage_bytes(arena_bytes) + (size_t)regions * sizeof(uint32_t);
    return need <= h->idx.capacity * sizeof(uint32_t) ? 0 : need;
}

/* Positions do not change when a region is added above: the slots keep their
 * order and move as they are. */
void idx_extend(hh_heap *h, void *storage, size_t storage_bytes)
{
    if (!storage)
        return;
    memcpy(storage, h->idx.slots, h->idx.count * sizeof(uint32_t));
    h->idx.slots = storage;
    h->idx.capacity = storage_bytes / sizeof(uint32_t);
}

/* A slot's hole about to be used: a sealed hole inside the heap (I10a). */
static bool idx_slot_ok(const hh_heap *h, uint32_t pos) { return span_sound(h, pos) && tag_is_hole(block_at(h, pos)); }

/* The table is damaged: stop handing out or linking anything, and report. */
static bool idx_damaged(hh_heap *h, const void *where, const char *what)
{
    if (!heap_damage_sound(h))
        return false;
    h->idx.broken = idx_word_aside(h);
    h->idx.aside_mark = idx_mark_aside(h);
    heap_report(h, HH_E_INDEX, where, what);
    return false;
}

static const char idx_stray_word_in_service[] =
    "I10f: the index's set-aside word was overwritten while the table served (a stray write?)";
static const char idx_stray_mark[] = "I10f: the index's set-aside mark holds neither 0 nor the mark (a stray write?)";
static const char idx_stray_word_aside[] =
    "I10f: the set-aside word of an index set aside after damage was overwritten (a stray write?)";

/* The set-aside word holds neither of its values: a stray write. Reported
 * and repaired from the set-aside mark (the table above): true if the table
 * stays aside, false if it serves again. true when the control block fails
 * its check (I1, recorded): the call does nothing. */
static __attribute__((noinline, cold)) bool idx_aside_met(hh_heap *h)
{
    if (h->idx.broken == idx_word_aside(h) || !heap_damage_sound(h))
        return true;
    bool aside = h->idx.aside_mark == idx_mark_aside(h);
    bool mark_hit = !aside && h->idx.broken == idx_word_in_service(h); /* the word serves: the mark was written */
    h->idx.broken = aside ? idx_word_aside(h) : idx_word_in_service(h);
    if (!aside)
        h->idx.aside_mark = 0;
    heap_report(h, HH_E_INDEX, mark_hit ? (const void *)&h->idx.aside_mark : &h->idx.broken,
                aside      ? idx_stray_word_aside
                : mark_hit ? idx_stray_mark
                           : idx_stray_word_in_service);
    return aside;
}

/* Is the table set aside after damage? A stray write over its set-aside
 * word or mark is reported and repaired on the way (I10f). The mark is read
 * whenever it is not 0, so a set-aside table whose word a stray write put
 * back to the in-service value stays aside (two stray writes, one of them
 * the keyed mark's 0, bring it back). */
static inline bool idx_set_aside(hh_heap *h)
{
    return (h->idx.broken != idx_word_in_service(h) || h->idx.aside_mark != 0) && idx_aside_met(h);
}

/* The count, running state outside the control block's seal, bounds every
 * access to the slots: a stray write over it is damage (I10e). */
static bool idx_count_sound(hh_heap *h)
{
    if (h->idx.count <= h->idx.capacity)
        return true;
    return idx_damaged(h, &h->idx.count, "I10e: index count exceeds its capacity");
}

bool idx_insert(hh_heap *h, struct tag *hole)
{
    uint32_t pos = block_pos(h, hole);
    uint32_t *slots = h->idx.slots;

    if (idx_set_aside(h) || !idx_count_sound(h))
        return false;
    if (h->idx.count >= h->idx.capacity)
        return idx_damaged(h, hole, "I10e: index table full"); /* cannot happen when sized by idx_storage_bytes */
    size_t i = idx_lower_bound(h, idx_key_of(h, pos));
    if (i < h->idx.count && slots[i] == pos)
        return idx_damaged(h, hole, "I10b: hole already in the index");
    memmove(&slots[i + 1], &slots[i], (h->idx.count - i) * sizeof slots[0]);
    slots[i] = pos;
    h->idx.count++;
    return true;
}

bool idx_remove(hh_heap *h, struct tag *hole)
{
    bool aside = idx_set_aside(h);
    if (!aside && !idx_count_sound(h))
        return false;
    size_t i = aside ? h->idx.count : idx_find(h, block_pos(h, hole));
    uint32_t *slots = h->idx.slots;

    if (i == h->idx.count)
        return idx_damaged(h, hole, "I8: hole to remove is not in the index");
    memmove(&slots[i], &slots[i + 1], (h->idx.count - i - 1) * sizeof slots[0]);
    h->idx.count--;
    return true;
}

struct tag *idx_best_fit(hh_heap *h, uint32_t size_g)
{
    if (idx_set_aside(h) || !idx_count_sound(h))
        return NULL;
    size_t i = idx_lower_bound(h, idx_key(size_g, 0));
    if (i == h->idx.count)
        return NULL;
    uint32_t pos = h->idx.slots[i];
    if (!idx_slot_ok(h, pos) || tag_size_g(block_at(h, pos)) < size_g) {
        idx_damaged(h, &h->idx.slots[i], "I10a: index slot is not a sealed hole that fits");
        return NULL;
    }
    return block_at(h, pos);
}

uint32_t idx_size_in_service(hh_heap *h, uint32_t size_g) { return idx_set_aside(h) ? 0 : size_g; }

size_t idx_count(const hh_heap *h) { return h->idx.count; }

uint32_t idx_largest_g(const hh_heap *h)
{
    /* a table set aside (or its record overwritten) serves nothing: none */
    if (h->idx.count == 0 || h->idx.count > h->idx.capacity || h->idx.broken != idx_word_in_service(h) ||
        h->idx.aside_mark != 0)
        return 0;
    uint32_t pos = h->idx.slots[h->idx.count - 1];
    return heap_pos_ok(h, pos) ? tag_size_g(block_at(h, pos)) : 0;
}

bool idx_contains(const hh_heap *h, const struct tag *hole)
{
    uint32_t pos = block_pos(h, hole);
    return heap_pos_ok(h, pos) && idx_find(h, pos) < h->idx.count;
}

/* ---- verification (invariant I10), trusting nothing it reads ---- */

static int idx_fail(hh_problem *out, const void *where, const char *what)
{
    if (out) {
        out->code = HH_E_INDEX;
        out->where = where;
        out->what = what;
        out->block = NULL;
    }
    return HH_E_INDEX;
}

/* I10a: the slot names a sealed hole lying wholly inside the heap. */
static int idx_check_slot(const hh_heap *h, size_t i, hh_problem *out)
{
    uint32_t span_g = heap_span_g(h);
    uint32_t pos = h->idx.slots[i];
    const tag *t;

    if (!heap_pos_ok(h, pos))
        return idx_fail(out, &h->idx.slots[i], "I10a: index slot outside the heap");
    t = block_at(h, pos);
    if (!tag_sealed(h, t, pos) || !tag_is_hole(t))
        return idx_fail(out, t, "I10a: index slot is not a sealed hole");
    if (tag_size_g(t) < HH_MIN_BLOCK / HH_GRANULE || tag_size_g(t) > span_g - pos)
        return idx_fail(out, t, "I10a: index slot's hole size out of bounds");
    return 0;
}

/* I10f: the table serves, and its set-aside record says so; else the state
 * the record is in, each named apart (the table at idx_aside_met). */
static int idx_check_aside(const hh_heap *h, hh_problem *out)
{
    bool word_serves = h->idx.broken == idx_word_in_service(h), word_aside = h->idx.broken == idx_word_aside(h);
    bool marked = h->idx.aside_mark == idx_mark_aside(h);

    if (word_aside && marked)
        return idx_fail(out, &h->idx, "I10f: the index was set aside after damage");
    if (word_aside)
        return idx_fail(
            out, &h->idx.aside_mark,
            "I10f: the index was set aside after damage, and its set-aside mark overwritten (a stray write?)");
    if (!word_serves)
        return idx_fail(out, &h->idx.broken, marked ? idx_stray_word_aside : idx_stray_word_in_service);
    if (marked) /* calls take it as set aside (idx_set_aside) */
        return idx_fail(out, &h->idx.broken, idx_stray_word_aside);
    if (h->idx.aside_mark != 0)
        return idx_fail(out, &h->idx.aside_mark, idx_stray_mark);
    return 0;
}

/*
 * I10, the ordered table's structure:
 *   a. every used slot names a sealed hole inside the heap (bounds-checked first);
 *   b. keys (size_g, pos) strictly increase from slot to slot (no hole twice);
 *   e. count <= capacity, and a table with slots has storage;
 *   f. the table was not set aside after damage: its set-aside word holds
 *      its in-service value and its set-aside mark 0 (every other state of
 *      the two is named apart: idx_check_aside).
 */
int idx_verify(const hh_heap *h, hh_problem *out)
{
    uint64_t prev = 0;
    int rc;

    if (h->end < h->base)
        return idx_fail(out, h, "heap bounds wrong");
    if ((rc = idx_check_aside(h, out)) != 0) /* I10f */
        return rc;
    if (h->idx.count > h->idx.capacity || (h->idx.capacity != 0 && h->idx.slots == NULL))
        return idx_fail(out, &h->idx, "I10e: index count exceeds its capacity"); /* I10e */
    for (size_t i = 0; i < h->idx.count; i++) {
        uint64_t key;
        if ((rc = idx_check_slot(h, i, out)) != 0) /* I10a */
            return rc;
        key = idx_key_of(h, h->idx.slots[i]);
        if (i > 0 && key <= prev)
            return idx_fail(out, &h->idx.slots[i], "I10b: index out of order"); /* I10b */
        prev = key;
    }
    return 0;
}

HH_TOOLS_EXEMPT_END;

#else
typedef int idx_table_unused; /* the default build uses index_fast.c */
#endif /* HH_INDEX_TABLE */
