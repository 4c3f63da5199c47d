/*
 * A grow/shrink backing for tests: a larger buffer of which the first
 * `committed` bytes are usable. grow commits more from the end (exactly what
 * is asked, more, nothing, or too little, as the test chooses); shrink gives
 * back whole 4096-byte pages from the top (or nothing, or a lie, as the test
 * chooses). Under AddressSanitizer the bytes
 * past the committed end are poisoned, so any heap access beyond its end is
 * reported. Calls are counted, and calls at an unexpected address recorded.
 */
#ifndef HH_GROWBUF_H
#define HH_GROWBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define GROWBUF_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GROWBUF_ASAN 1
#endif
#endif
#ifdef GROWBUF_ASAN
#include <sanitizer/asan_interface.h>
#define GROWBUF_FORBID(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define GROWBUF_ALLOW(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define GROWBUF_FORBID(p, n) ((void)(p), (void)(n))
#define GROWBUF_ALLOW(p, n) ((void)(p), (void)(n))
#endif

#define GROWBUF_PAGE ((size_t)4096)

typedef enum grow_mode {
    GROW_EXACT, /* exactly min_bytes */
    GROW_MORE,  /* min_bytes + extra */
    GROW_FAIL,  /* 0 */
    GROW_SHORT  /* min_bytes - short_by: breaks the contract */
} grow_mode;

typedef struct growbuf {
    unsigned char *mem;
    size_t cap;       /* bytes of mem that may ever be committed */
    size_t committed; /* [mem, mem + committed) is usable */
    grow_mode mode;
    size_t extra, short_by;
    bool shrink_enabled;
    bool shrink_lies; /* shrink claims to release more than it was offered */
    size_t grow_calls, shrink_calls, granted, released;
    size_t last_min_bytes, max_min_bytes;
    size_t bad_calls; /* calls whose address was not the committed end */
} growbuf;

/* Commit the first `initial` bytes of [mem, mem + cap). */
static inline void growbuf_start(growbuf *g, unsigned char *mem, size_t cap, size_t initial)
{
    memset(g, 0, sizeof *g);
    g->mem = mem;
    g->cap = cap;
    g->committed = initial;
    g->shrink_enabled = true;
    GROWBUF_ALLOW(mem, cap);
    GROWBUF_FORBID(mem + initial, cap - initial);
}

/* Make the whole buffer usable again (call before reusing it for anything else). */
static inline void growbuf_finish(growbuf *g) { GROWBUF_ALLOW(g->mem, g->cap); }

static inline size_t growbuf_grant(const growbuf *g, size_t min_bytes)
{
    switch (g->mode) {
    case GROW_EXACT: return min_bytes;
    case GROW_MORE: return min_bytes + g->extra;
    case GROW_SHORT: return min_bytes > g->short_by ? min_bytes - g->short_by : 0;
    default: return 0;
    }
}

static inline size_t growbuf_grow(void *ctx, void *end, size_t min_bytes)
{
    growbuf *g = ctx;
    g->grow_calls++;
    g->last_min_bytes = min_bytes;
    if (min_bytes > g->max_min_bytes)
        g->max_min_bytes = min_bytes;
    if ((unsigned char *)end != g->mem + g->committed)
        g->bad_calls++;
    size_t n = growbuf_grant(g, min_bytes);
    if (n == 0 || n > g->cap - g->committed)
        return 0;
    GROWBUF_ALLOW(g->mem + g->committed, n);
    g->committed += n;
    g->granted += n;
    return n;
}

static inline size_t growbuf_shrink(void *ctx, void *new_end, size_t bytes)
{
    growbuf *g = ctx;
    g->shrink_calls++;
    if ((unsigned char *)new_end + bytes != g->mem + g->committed)
        g->bad_calls++;
    if (!g->shrink_enabled)
        return 0;
    if (g->shrink_lies)
        return bytes + 16;
    size_t n = bytes / GROWBUF_PAGE * GROWBUF_PAGE; /* whole pages from the top */
    g->committed -= n;
    g->released += n;
    GROWBUF_FORBID(g->mem + g->committed, n);
    return n;
}

#endif /* HH_GROWBUF_H */
