/*
 * Large requests (>= the mmap threshold) each get a mapping of their own,
 * returned at its start. A registry (an open-addressing hash set of
 * {start, length}, in its own mapping) records them, so that free and realloc
 * tell a large block from a bad pointer without reading memory around it, and
 * a double free of a large block is caught instead of crashing.
 */
#include "port.h"

typedef struct large_entry {
    uintptr_t start; /* 0: empty, 1: deleted */
    size_t length;
} large_entry;

#define LARGE_DELETED ((uintptr_t)1)

static hhp_lock large_lock;
static large_entry *table;
static size_t capacity, live, deleted, live_bytes;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

static size_t slot_of(uintptr_t start)
{
    uint64_t h = (uint64_t)(start >> 12) * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & (capacity - 1);
}

/* The slot holding start, or NULL. */
static large_entry *table_find(uintptr_t start)
{
    if (capacity == 0)
        return NULL;
    for (size_t i = slot_of(start);; i = (i + 1) & (capacity - 1)) {
        if (table[i].start == start)
            return &table[i];
        if (table[i].start == 0)
            return NULL;
    }
}

static void table_put(uintptr_t start, size_t length)
{
    size_t i = slot_of(start);
    while (table[i].start > LARGE_DELETED)
        i = (i + 1) & (capacity - 1);
    if (table[i].start == LARGE_DELETED)
        deleted--;
    table[i] = (large_entry){start, length};
    live++;
    live_bytes += length;
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
            table_put(old[i].start, old[i].length);
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

/* size 0 is served as 1 (a unique pointer, as glibc gives for any alignment). */
void *hhp_large_alloc(size_t size, size_t align)
{
    size_t length = round_up(size == 0 ? 1 : size, hhp_page_size());
    if (length < size || length == 0)
        return NULL;
    char *start = map_aligned(length, align);
    if (start == NULL)
        return NULL;
    hhp_lock_take(&large_lock);
    bool ok = table_make_room();
    if (ok)
        table_put((uintptr_t)start, length);
    hhp_lock_give(&large_lock);
    if (!ok) {
        hhp_unmap(start, length);
        return NULL;
    }
    return start;
}

bool hhp_large_owns(const void *p, size_t *usable)
{
    hhp_lock_take(&large_lock);
    large_entry *e = table_find((uintptr_t)p);
    if (e != NULL && usable != NULL)
        *usable = e->length;
    hhp_lock_give(&large_lock);
    return e != NULL;
}

bool hhp_large_free(void *p)
{
    hhp_lock_take(&large_lock);
    large_entry *e = table_find((uintptr_t)p);
    size_t length = e != NULL ? e->length : 0;
    if (e != NULL)
        table_remove(e);
    hhp_lock_give(&large_lock);
    if (e == NULL)
        return false;
    hhp_unmap(p, length);
    return true;
}

/* Resize with mremap (it may move the mapping); NULL leaves p untouched. */
void *hhp_large_realloc(void *p, size_t size)
{
    size_t length = round_up(size, hhp_page_size());
    if (length < size || length == 0)
        return NULL;
    hhp_lock_take(&large_lock);
    large_entry *e = table_find((uintptr_t)p);
    void *moved = NULL;
    if (e != NULL && e->length == length) {
        moved = p;
    } else if (e != NULL && (moved = hhp_remap(p, e->length, length)) != NULL) {
        table_remove(e);
        table_put((uintptr_t)moved, length); /* the slot just freed makes room */
    }
    hhp_lock_give(&large_lock);
    return moved;
}

void hhp_large_stats(size_t *count, size_t *bytes)
{
    hhp_lock_take(&large_lock);
    *count = live;
    *bytes = live_bytes;
    hhp_lock_give(&large_lock);
}

void hhp_large_lock(void) { hhp_lock_take(&large_lock); }
void hhp_large_unlock(void) { hhp_lock_give(&large_lock); }
void hhp_large_reset(void) { hhp_lock_reset(&large_lock); }
