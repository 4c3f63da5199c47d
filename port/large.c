/*
 * Large requests (>= the mmap threshold) each get a mapping of their own,
 * returned at its start. A registry (an open-addressing hash set of
 * {start, length, held}, in its own mapping) records them, so that free and
 * realloc tell a large block from a bad pointer without reading memory
 * around it, and a double free of a large block is caught instead of
 * crashing: the starts of the last LARGE_FREED_SLOTS blocks freed are
 * remembered, so that a second free of one is named a double free (an
 * older one, or an address never handed out, is an invalid pointer).
 *
 * A free and a realloc both claim the block before anything unmaps or reads
 * it, in one step under the registry's lock, so that of two calls racing on
 * one block (the program's bug) one goes on and the other aborts with one
 * line, never a signal inside the allocator: a free takes the entry out of
 * the registry; a realloc marks it held (hhp_large_hold) for as long as it
 * copies the block, and a free or realloc meeting a held entry is a double
 * free / "pointer already freed". The claim needs no word in the block: a
 * large block has no header (it starts at its mapping's start, page
 * aligned or more), and every large call takes the lock anyway. The one
 * system call made under a claim but not under the lock is a realloc's
 * mremap (remap_unlocked): its entry stays held, keyed apart meanwhile.
 *
 * Freed mappings are kept for reuse in a small cache (issue 12), because a
 * fresh mapping costs a page fault for every page the program touches (about
 * 30 us a page on the build machine's VM) where glibc reuses its heap:
 *
 *   free      the mapping joins the cache, as it is (pages resident, read/write),
 *             merged with the cached ranges just before and after it (while the
 *             result stays within the cache's bytes); to keep within them, the
 *             oldest mapping loses its tail, or all of it
 *   alloc S   the smallest cached mapping of length >= S: if the rest is at
 *             least LARGE_SPLIT bytes it stays cached as a mapping of its own
 *             (munmap and mremap work on any page range), else it is handed out
 *             whole; with none that fits, the largest cached one that is at
 *             least half of S grows by mremap (its resident pages kept); else a
 *             fresh mapping
 *   realloc   in place when the cached range right after the block holds what
 *             it lacks, or when it shrinks (the tail joins the cache); else
 *             moved into a cached mapping that fits (a copy), else by mremap
 *
 * Bounds (docs/performance.md): at most LARGE_CACHE_SLOTS mappings and
 * HOLEHEAP_LARGE_CACHE bytes (default 64 MiB; 0 turns the cache off), and
 * none older than LARGE_CACHE_AGE_MS: every large call first unmaps what has
 * waited longer (a program that stops making large calls keeps at most the
 * byte bound). The cache lives in the port's own data, never inside the
 * mappings, so nothing a program writes after free is ever followed;
 * calloc zeroes a reused mapping (fresh ones are zero already).
 */
#include "port.h"

#include <string.h>

#ifndef LARGE_CACHE_SLOTS
#define LARGE_CACHE_SLOTS 16u
#endif
#ifndef LARGE_CACHE_AGE_MS
#define LARGE_CACHE_AGE_MS 1000u
#endif
#define LARGE_SPLIT ((size_t)1 << 20) /* a smaller remainder is handed out with the block */

typedef struct large_entry {
    uintptr_t start; /* 0: empty, 1: deleted */
    size_t length;
    bool held; /* claimed by a realloc that copies it (hhp_large_hold) */
} large_entry;

#define LARGE_DELETED ((uintptr_t)1)
#define LARGE_MOVING ((uintptr_t)8) /* added to the start of an entry being remapped (remap_unlocked) */
#ifndef LARGE_FREED_SLOTS
#define LARGE_FREED_SLOTS 64u /* starts of freed blocks remembered, to name a double free */
#endif

static hhp_lock large_lock;
static large_entry *table;
static size_t capacity, live, deleted, live_bytes;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

static size_t slot_of(uintptr_t start)
{
    uint64_t h = (uint64_t)(start >> 12) * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & (capacity - 1);
}

/* The slot holding start, or NULL. Every put is preceded by
 * table_make_room, so an empty slot ends the probe; it is bounded by the
 * capacity all the same, so that a table without one can never spin. */
static large_entry *table_find(uintptr_t start)
{
    for (size_t i = capacity != 0 ? slot_of(start) : 0, n = 0; n < capacity; i = (i + 1) & (capacity - 1), n++) {
        if (table[i].start == start)
            return &table[i];
        if (table[i].start == 0)
            return NULL;
    }
    return NULL;
}

static large_entry *table_put(uintptr_t start, size_t length)
{
    size_t i = slot_of(start);
    while (table[i].start > LARGE_DELETED)
        i = (i + 1) & (capacity - 1);
    if (table[i].start == LARGE_DELETED)
        deleted--;
    table[i] = (large_entry){start, length, false};
    live++;
    live_bytes += length;
    return &table[i];
}

/* Keep the table at most half full (counting deleted slots): rebuild it. */
static bool table_make_room(void)
{
    if ((live + deleted + 1) * 2 <= capacity)
        return true;
    size_t new_capacity = capacity == 0 ? 256 : (live + 1) * 4 > capacity ? capacity * 2 : capacity;
    large_entry *old = table;
    size_t old_capacity = capacity;
    large_entry *fresh = hhp_map(new_capacity * sizeof *fresh);
    if (fresh == NULL)
        return false;
    table = fresh;
    capacity = new_capacity;
    live = deleted = live_bytes = 0;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].start > LARGE_DELETED)
            table_put(old[i].start, old[i].length)->held = old[i].held; /* a realloc's claim survives */
    if (old != NULL)
        hhp_unmap(old, old_capacity * sizeof *old);
    return true;
}

static void table_remove(large_entry *e)
{
    live--;
    live_bytes -= e->length;
    deleted++;
    e->start = LARGE_DELETED;
}

/* ---- freed starts, remembered to name a double free (under large_lock) ---- */

static uintptr_t freed_start[LARGE_FREED_SLOTS];
static unsigned freed_next;

static void freed_note(uintptr_t start) { freed_start[freed_next++ % LARGE_FREED_SLOTS] = start; }

static bool freed_lately(uintptr_t start)
{
    for (unsigned i = 0; i < LARGE_FREED_SLOTS; i++)
        if (freed_start[i] == start)
            return true;
    return false;
}

/* p's entry, a live block that no realloc holds, with large_lock taken;
 * else the lock is given back and the call aborts with one line: freed_text
 * ("double free", "pointer already freed") for a block freed lately or held
 * by a realloc racing this call, "invalid pointer" for anything else. */
static large_entry *entry_claimable(const void *p, const char *freed_text)
{
    if ((uintptr_t)p % hhp_page_size() != 0) { /* no large block starts there, nor a moving entry's key */
        hhp_lock_give(&large_lock);
        hhp_die(hhp_current_call, "invalid pointer", p, HH_E_BAD_POINTER);
    }
    large_entry *e = table_find((uintptr_t)p);
    if (__builtin_expect(e != NULL && !e->held, 1))
        return e;
    bool freed = e != NULL || freed_lately((uintptr_t)p) || table_find((uintptr_t)p + LARGE_MOVING) != NULL;
    hhp_lock_give(&large_lock);
    if (freed)
        hhp_die(hhp_current_call, freed_text, p, HH_E_DOUBLE_FREE);
    hhp_die(hhp_current_call, "invalid pointer", p, HH_E_BAD_POINTER);
}

/* p's entry, held by the caller (hhp_large_hold), with large_lock taken. */
static large_entry *entry_held(const void *p)
{
    large_entry *e = table_find((uintptr_t)p);
    if (__builtin_expect(e == NULL || !e->held, 0)) /* the hold keeps every other call off it */
        hhp_die(hhp_current_call, "large block lost while held", p, HH_E_BAD_POINTER);
    return e;
}

/* ---- the cache of freed mappings (under large_lock) ---- */

typedef struct large_cached {
    char *start; /* NULL: an empty slot */
    size_t length;
    uint64_t since_ms; /* when it was freed */
} large_cached;

static large_cached cache[LARGE_CACHE_SLOTS];
static size_t cache_bytes;

/* Mappings to unmap once large_lock is given back. */
typedef struct large_unmaps {
    large_cached item[LARGE_CACHE_SLOTS + 1];
    unsigned count;
} large_unmaps;

static void unmaps_add(large_unmaps *u, char *start, size_t length)
{
    u->item[u->count++] = (large_cached){start, length, 0};
}

static void unmaps_run(const large_unmaps *u)
{
    for (unsigned i = 0; i < u->count; i++)
        hhp_unmap(u->item[i].start, u->item[i].length);
}

static void cache_clear_slot(large_cached *c)
{
    cache_bytes -= c->length;
    c->start = NULL;
}

/* Drop what has waited LARGE_CACHE_AGE_MS or longer. */
static void cache_expire(uint64_t now, large_unmaps *u)
{
    for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++)
        if (cache[i].start != NULL && now - cache[i].since_ms >= LARGE_CACHE_AGE_MS) {
            unmaps_add(u, cache[i].start, cache[i].length);
            cache_clear_slot(&cache[i]);
        }
}

/* Drop need bytes from c: its tail when that is enough, else all of it. */
static void cache_drop(large_cached *c, size_t need, large_unmaps *u)
{
    if (need > 0 && need < c->length) {
        c->length -= need;
        cache_bytes -= need;
        unmaps_add(u, c->start + c->length, need);
        return;
    }
    unmaps_add(u, c->start, c->length);
    cache_clear_slot(c);
}

/* A free slot with room for length more bytes, after dropping from the
 * oldest mappings as needed; NULL if length alone passes the bound. */
static large_cached *cache_make_room(size_t length, large_unmaps *u)
{
    if (length > hhp_cfg.large_cache_bytes)
        return NULL;
    for (;;) {
        large_cached *empty = NULL, *oldest = NULL;
        for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
            large_cached *c = &cache[i];
            if (c->start == NULL)
                empty = c;
            else if (oldest == NULL || c->since_ms < oldest->since_ms)
                oldest = c;
        }
        if (empty != NULL && cache_bytes + length <= hhp_cfg.large_cache_bytes)
            return empty;
        if (oldest == NULL) /* all empty: cache_bytes is 0 then, unless it drifted */
            return NULL;
        /* no slot: drop the oldest whole; no room: as many bytes as lack */
        cache_drop(oldest, empty == NULL ? 0 : cache_bytes + length - hhp_cfg.large_cache_bytes, u);
    }
}

/* Join [*start, *start + *length) with the cached mappings that touch it
 * (the rest of a split, a neighbour freed earlier): a whole range again. */
static void cache_merge(char **start, size_t *length)
{
    for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
        large_cached *c = &cache[i];
        if (c->start == NULL || *length + c->length > hhp_cfg.large_cache_bytes)
            continue; /* a merge past the bound would drop the whole range */
        if (c->start == *start + *length) {
            *length += c->length;
            cache_clear_slot(c);
        } else if (c->start + c->length == *start) {
            *start = c->start;
            *length += c->length;
            cache_clear_slot(c);
        }
    }
}

static void cache_put(char *start, size_t length, uint64_t now, large_unmaps *u)
{
    cache_merge(&start, &length);
    large_cached *slot = cache_make_room(length, u);
    if (slot == NULL) {
        unmaps_add(u, start, length);
        return;
    }
    *slot = (large_cached){start, length, now};
    cache_bytes += length;
}

/* The smallest cached mapping of at least length bytes, else the largest;
 * NULL when the cache is empty. */
static large_cached *cache_best(size_t length)
{
    large_cached *fit = NULL, *largest = NULL;
    for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
        large_cached *c = &cache[i];
        if (c->start == NULL)
            continue;
        if (c->length >= length && (fit == NULL || c->length < fit->length))
            fit = c;
        if (largest == NULL || c->length > largest->length)
            largest = c;
    }
    return fit != NULL ? fit : largest;
}

/* Take a cached mapping for length bytes: one that fits (its rest of
 * LARGE_SPLIT or more stays cached) or one of at least half of length for
 * the caller to grow. NULL: none. */
static large_cached cache_take(size_t length)
{
    large_cached *c = cache_best(length);
    if (c == NULL || c->length < length / 2)
        return (large_cached){NULL, 0, 0};
    large_cached got = *c;
    cache_clear_slot(c);
    if (got.length >= length + LARGE_SPLIT) {
        *c = (large_cached){got.start + length, got.length - length, got.since_ms};
        cache_bytes += c->length;
        got.length = length;
    }
    return got;
}

/* A mapping of at least length bytes from the cache (length updated), or NULL. */
static char *cache_reuse(size_t *length, bool zero)
{
    large_unmaps u = {.count = 0};
    hhp_lock_take(&large_lock);
    cache_expire(hhp_now_ms(), &u);
    large_cached got = cache_take(*length);
    hhp_lock_give(&large_lock);
    unmaps_run(&u);
    if (got.start == NULL)
        return NULL;
    size_t old = got.length;
    char *start = old < *length ? hhp_remap(got.start, old, *length) : got.start;
    if (start == NULL) {
        /* the range may span mappings the cache merged: mremap refuses it
         * (EFAULT); it goes back to the system, and the caller maps afresh */
        hhp_unmap(got.start, old);
        return NULL;
    }
    if (zero)
        memset(start, 0, old < *length ? old : *length); /* grown pages are fresh */
    if (old > *length)
        *length = old;
    return start;
}

/* A mapping of length bytes at an align boundary: over-map, cut the ends. */
static char *map_aligned(size_t length, size_t align)
{
    size_t page = hhp_page_size();
    if (align <= page)
        return hhp_map(length);
    if (length + align < length)
        return NULL;
    char *raw = hhp_map(length + align);
    if (raw == NULL)
        return NULL;
    char *start = (char *)round_up((uintptr_t)raw, align);
    if (start > raw)
        hhp_unmap(raw, (size_t)(start - raw));
    size_t tail = (size_t)(raw + length + align - (start + length));
    if (tail > 0)
        hhp_unmap(start + length, tail);
    return start;
}

/* Record a mapping as a live block; false (and it is unmapped) if the
 * registry cannot grow. */
static bool large_register(char *start, size_t length)
{
    hhp_lock_take(&large_lock);
    bool ok = table_make_room();
    if (ok)
        table_put((uintptr_t)start, length);
    hhp_lock_give(&large_lock);
    if (!ok)
        hhp_unmap(start, length);
    return ok;
}

/* size 0 is served as 1 (a unique pointer, as glibc gives for any
 * alignment); zero: the block must read as zeros (calloc). */
void *hhp_large_alloc(size_t size, size_t align, bool zero)
{
    size_t length = round_up(size == 0 ? 1 : size, hhp_page_size());
    if (length < size || length == 0)
        return NULL;
    char *start = NULL;
    if (align <= hhp_page_size() && hhp_cfg.large_cache_bytes > 0)
        start = cache_reuse(&length, zero);
    if (start == NULL)
        start = map_aligned(length, align);
    return start != NULL && large_register(start, length) ? start : NULL;
}

size_t hhp_large_usable(const void *p)
{
    hhp_lock_take(&large_lock);
    size_t usable = entry_claimable(p, "pointer already freed")->length;
    hhp_lock_give(&large_lock);
    return usable;
}

size_t hhp_large_hold(void *p)
{
    hhp_lock_take(&large_lock);
    large_entry *e = entry_claimable(p, "pointer already freed");
    e->held = true;
    size_t usable = e->length;
    hhp_lock_give(&large_lock);
    return usable;
}

void hhp_large_unhold(void *p)
{
    hhp_lock_take(&large_lock);
    entry_held(p)->held = false;
    hhp_lock_give(&large_lock);
}

/* p leaves the registry, its start noted (a second free is named), claimed
 * in the same step (held: by the caller's realloc); the mapping joins the
 * cache, or is unmapped once the lock is given back. */
static void large_release(void *p, bool held)
{
    large_unmaps u = {.count = 0};
    hhp_lock_take(&large_lock);
    large_entry *e = held ? entry_held(p) : entry_claimable(p, "double free");
    size_t length = e->length;
    table_remove(e);
    freed_note((uintptr_t)p);
    uint64_t now = hhp_now_ms();
    cache_expire(now, &u);
    cache_put(p, length, now, &u);
    hhp_lock_give(&large_lock);
    unmaps_run(&u);
}

void hhp_large_free(void *p) { large_release(p, false); }
void hhp_large_free_held(void *p) { large_release(p, true); }

/* Grow e in place over the cached range right after it, if that range holds
 * all it lacks: no system call, and those pages are resident already. */
static bool cache_extend(large_entry *e, size_t length)
{
    size_t need = length - e->length;
    char *end = (char *)e->start + e->length;
    for (unsigned i = 0; i < LARGE_CACHE_SLOTS; i++) {
        large_cached *c = &cache[i];
        if (c->start != end || c->length < need)
            continue;
        c->start += need;
        c->length -= need;
        cache_bytes -= need;
        if (c->length == 0)
            c->start = NULL;
        e->length = length;
        live_bytes += need;
        return true;
    }
    return false;
}

/* Shrink e in place: its tail joins the cache. */
static void large_shrink(large_entry *e, size_t length, large_unmaps *u)
{
    char *tail = (char *)e->start + length;
    size_t bytes = e->length - length;
    e->length = length;
    live_bytes -= bytes;
    cache_put(tail, bytes, hhp_now_ms(), u);
}

/* Does the cache hold a mapping of length bytes or more? */
static bool cache_fits(size_t length)
{
    large_cached *c = cache_best(length);
    return c != NULL && c->length >= length;
}

/* e, p's held entry, now describes the block mremap moved to `moved`
 * (perhaps p itself), still held; the lock is taken. */
static large_entry *entry_moved(large_entry *e, void *p, void *moved, size_t length)
{
    table_remove(e);
    e = table_put((uintptr_t)moved, length); /* finds e's slot at least */
    e->held = true;
    if (moved != p)
        freed_note((uintptr_t)p); /* a free of the old start is a double free */
    return e;
}

/* Resize e, p's held entry, by mremap without the registry's lock (the
 * call may take a millisecond, and every other thread's large calls would
 * wait for it): the entry is keyed p + LARGE_MOVING meanwhile, so that a
 * new mapping the system places at p (once mremap has moved the block
 * away) registers under its own start, while a free or realloc of p is
 * still named a double free (entry_claimable). That key must be unique: if
 * an entry holds it already (a block mapped at p since and being remapped
 * too, or one a fork's child inherited mid-remap), the mremap runs under
 * the lock, as it always did (a review: two entries keyed alike, the wrong
 * one restored when one mremap failed, gave a block another's length).
 * Called and returns with the lock taken; the moved block's entry, or NULL
 * (p unchanged, still held). */
static large_entry *remap_unlocked(large_entry *e, void *p, size_t length, void **moved)
{
    size_t old = e->length;
    uintptr_t moving = (uintptr_t)p + LARGE_MOVING;
    if (table_find(moving) != NULL) {
        *moved = hhp_remap(p, old, length);
        return *moved != NULL ? entry_moved(e, p, *moved, length) : NULL;
    }
    e->start = moving; /* the same probe sequence: slot_of ignores the page offset */
    hhp_lock_give(&large_lock);
    *moved = hhp_remap(p, old, length);
    hhp_lock_take(&large_lock);
    (void)table_make_room(); /* may move the entries; a failure leaves e's slot for the put below */
    e = entry_held((void *)moving);
    if (*moved == NULL) {
        e->start = (uintptr_t)p; /* nothing else can lie at p: its mapping is still there */
        return NULL;
    }
    return entry_moved(e, p, *moved, length);
}

/* Resize p, held by the caller, in place (over a cached range after it, or
 * giving the tail to the cache) or by mremap, which may move it; the block
 * returned is no longer held. NULL leaves p as it was, still held: the
 * caller moves the block itself. It does so when the cache holds a mapping
 * that fits (copying into resident pages costs less than faulting in fresh
 * ones: about 0.5 us against 30 us a page on the build machine), or when
 * mremap failed (p's range may span mappings that merged in the cache). */
void *hhp_large_resize(void *p, size_t size)
{
    size_t length = round_up(size, hhp_page_size());
    if (length < size || length == 0)
        return NULL;
    large_unmaps u = {.count = 0};
    hhp_lock_take(&large_lock);
    bool room = table_make_room(); /* before e is found: a rebuild moves the entries */
    large_entry *e = entry_held(p);
    void *moved = NULL;
    if (e->length == length || (e->length < length && cache_extend(e, length))) {
        moved = p;
    } else if (e->length > length) {
        large_shrink(e, length, &u);
        moved = p;
    } else if (room && !cache_fits(length)) {
        e = remap_unlocked(e, p, length, &moved);
    }
    if (moved != NULL)
        e->held = false; /* the realloc is done with it */
    hhp_lock_give(&large_lock);
    unmaps_run(&u);
    return moved;
}

void hhp_large_stats(size_t *count, size_t *bytes, size_t *cached)
{
    hhp_lock_take(&large_lock);
    *count = live;
    *bytes = live_bytes;
    *cached = cache_bytes;
    hhp_lock_give(&large_lock);
}

void hhp_large_lock(void) { hhp_lock_take(&large_lock); }
void hhp_large_unlock(void) { hhp_lock_give(&large_lock); }
void hhp_large_reset(void) { hhp_lock_reset(&large_lock); }
