/*
 * The C library's allocation functions on holeheap. Each is a thin wrapper:
 * route by size (small: the thread's arena, through its cache; large: a
 * mapping of its own) or by address (the owning arena, or a large mapping),
 * call the core, and set errno. errno is set here and nowhere else.
 */
#include "port.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_ALIGN 16u
#define REALLOC_HEADROOM_MIN ((size_t)1024)

static bool is_power_of_two(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

static bool is_large(size_t size) { return size >= hhp_cfg.mmap_threshold; }

/* ---- the port's own calls, used by every entry point ---- */

/* n x size bytes from arena a: zeroed (calloc) if zero, aligned if align > 16. */
static void *core_alloc(hhp_arena *a, size_t n, size_t size, size_t align, bool zero)
{
    if (zero)
        return hh_calloc(a->heap, n, size);
    return align <= SMALL_ALIGN ? hh_alloc(a->heap, size) : hh_alloc_aligned(a->heap, size, align);
}

static void *arena_alloc_zero(size_t n, size_t size, size_t align, bool zero)
{
    hhp_arena *a = hhp_thread_arena();
    void *p = NULL;
    if (hhp_cfg.tcache)
        hhp_tcache_drain(); /* remote frees back into use first */
    if (a != NULL) {
        p = core_alloc(a, n, size, align, zero);
        /* The arena does not grow while this thread caches blocks: give them back first. */
        if (__builtin_expect(p == NULL, 0) && hhp_tcache_give_back())
            p = core_alloc(a, n, size, align, zero);
    }
    /* The arena is full or cannot start: a mapping of its own still may do. */
    return p != NULL ? p : hhp_large_alloc(n * size, align, zero);
}

static void *arena_alloc(size_t size, size_t align) { return arena_alloc_zero(1, size, align, false); }

/* malloc without its entry: inlined into malloc (its fast path is the
 * cache's take), called as hhp_malloc elsewhere. */
static inline __attribute__((always_inline)) void *port_malloc(size_t size)
{
    if (is_large(size))
        return hhp_large_alloc(size, 0, false);
    if (hhp_cfg.tcache) {
        void *p = hhp_tcache_take(size);
        if (p != NULL)
            return p;
    }
    return arena_alloc(size, 0);
}

void *hhp_malloc(size_t size) { return port_malloc(size); }

static void *port_aligned(size_t align, size_t size)
{
    if (align <= SMALL_ALIGN)
        return hhp_malloc(size);
    if (is_large(size) || align > HH_MAX_ALIGN || is_large(size + align))
        return hhp_large_alloc(size, align, false);
    return arena_alloc(size, align);
}

void hhp_free(void *p)
{
    if (p == NULL)
        return;
    hhp_arena *a = hhp_arena_of(p);
    if (a != NULL) {
        if (hhp_cfg.tcache)
            hhp_tcache_put(a, p);
        else
            hh_free(a->heap, p);
    } else {
        hhp_large_free(p); /* or the one-line abort */
    }
}

/* The usable size of p, a block of arena a, which must be live: not freed
 * into the core (the core reports that) nor held by a cache. */
static size_t live_usable(hhp_arena *a, const void *p)
{
    size_t usable = hhp_usable_size(a, p);
    if (hhp_cfg.tcache)
        hhp_tcache_check_live(p);
    return usable;
}

static size_t port_usable(const void *p)
{
    if (p == NULL)
        return 0;
    hhp_arena *a = hhp_arena_of(p);
    return a != NULL ? live_usable(a, p) : hhp_large_usable(p);
}

/* A fresh block of size bytes holding p's first old bytes (size, if fewer);
 * NULL: none. */
static void *copy_to_fresh(const void *p, size_t old, size_t size)
{
    void *q = hhp_malloc(size);
    if (q != NULL)
        memcpy(q, p, old < size ? old : size);
    return q;
}

/* Move p's contents to a fresh block of size bytes; NULL leaves p alone.
 * Unclaimed: for an arena's block only with the cache off (HOLEHEAP_CHECK,
 * HOLEHEAP_TCACHE=0), where nothing claims blocks. The core validates p again
 * at its hh_free, so a free of p by another thread during the copy makes
 * realloc's own free abort (a double free, or an invalid pointer once p
 * merged into a hole), after the copy may have read memory the core reused
 * (an arena's pages stay readable: no signal). But a block freed during the
 * copy and handed out again by a third call is live again, at the same
 * place and size: nothing tells it from p, and realloc frees that call's
 * block, having perhaps copied its data (docs/design.md, "Threads"). */
static void *realloc_by_moving(void *p, size_t size)
{
    void *q = copy_to_fresh(p, port_usable(p), size);
    if (q != NULL)
        hhp_free(p);
    return q;
}

/* The same for p, a block of arena a that this call holds (hhp_tcache_hold):
 * copied, its first two words from the hold (the claim covers them), then
 * freed as held; or given back unchanged when no fresh block could be had.
 * A free or realloc of p meanwhile meets the claim and aborts. */
static void *held_realloc_by_moving(hhp_arena *a, void *p, size_t size, const hhp_hold *hold)
{
    void *q = copy_to_fresh(p, hold->usable, size);
    if (q == NULL) {
        hhp_tcache_release(p, hold);
        return NULL;
    }
    size_t copied = hold->usable < size ? hold->usable : size;
    memcpy(q, hold->words, copied < sizeof hold->words ? copied : sizeof hold->words);
    hhp_tcache_free_held(a, p, hold);
    return q;
}

/* Move p, a block of arena a: held from before its size is read until it is
 * freed when the cache is on. */
static void *arena_realloc_by_moving(hhp_arena *a, void *p, size_t size)
{
    if (!hhp_cfg.tcache)
        return realloc_by_moving(p, size);
    hhp_hold hold;
    hhp_tcache_hold(a, p, &hold);
    return held_realloc_by_moving(a, p, size, &hold);
}

/* The same for p, a large block of usable bytes that this call holds
 * (hhp_large_hold): freed, or given back unchanged. */
static void *large_realloc_by_moving(void *p, size_t usable, size_t size)
{
    void *q = copy_to_fresh(p, usable, size);
    if (q != NULL)
        hhp_large_free_held(p);
    else
        hhp_large_unhold(p);
    return q;
}

/* HOLEHEAP_REALLOC_HEADROOM=N: a block that must grow past
 * REALLOC_HEADROOM_MIN is given 1/N more than asked, so that a buffer grown in
 * small steps moves O(log n) times instead of at almost every step when a
 * neighbour blocks growth in place. Off by default: it costs max RSS (see
 * docs/performance.md). */
static size_t realloc_target(size_t size, size_t usable)
{
    if (hhp_cfg.realloc_headroom == 0 || size < REALLOC_HEADROOM_MIN || size <= usable)
        return size;
    size_t more = size + size / hhp_cfg.realloc_headroom;
    return is_large(more) ? size : more;
}

/* The core's realloc of p, a block of arena a, to target bytes, else a
 * move to a fresh block of size bytes; NULL leaves p as it was. With the
 * cache on, p is held against a free racing the call (hhp_tcache_hold),
 * under one hold of a's lock, and stays held into the move, so that no free
 * slips in between. */
static void *realloc_in_arena(hhp_arena *a, void *p, size_t target, size_t size)
{
    if (!hhp_cfg.tcache) {
        void *q = hh_realloc_aligned(a->heap, p, target, SMALL_ALIGN);
        return q != NULL ? q : realloc_by_moving(p, size);
    }
    hhp_hold hold;
    hhp_arena_hold(a);
    hhp_tcache_hold(a, p, &hold);
    void *q = hh_realloc_aligned(a->heap, p, target, SMALL_ALIGN);
    if (q != NULL)
        hhp_tcache_unhold(p, q, &hold);
    hhp_arena_release(a);
    return q != NULL ? q : held_realloc_by_moving(a, p, size, &hold);
}

static void *port_realloc(void *p, size_t size)
{
    if (p == NULL)
        return hhp_malloc(size);
    if (size == 0) {
        hhp_free(p);
        return NULL;
    }
    hhp_arena *a = hhp_arena_of(p);
    if (a != NULL) {
        if (is_large(size))
            return arena_realloc_by_moving(a, p, size); /* validates p */
        size_t usable = live_usable(a, p);
        if (size <= usable && size >= usable / 2)
            return p; /* keeps any headroom for the next growth */
        /* C's realloc owes only malloc's alignment. hh_realloc would keep
         * the largest power of two dividing p (up to 64 KiB), so a buffer
         * that once sat on such a boundary by chance moves only to such
         * boundaries for ever, leaving each gap as a hole (bench-workloads
         * realloc: 50.8 MiB resident with it, 45.4 without, glibc 36.6; the rest
         * was the slide, see slide_wanted in src/heap.c). A block from
         * memalign keeps no more than 16 either, as with glibc. */
        return realloc_in_arena(a, p, realloc_target(size, usable), size);
    }
    /* claimed until it is resized or copied: a free racing it cannot unmap it */
    size_t usable = hhp_large_hold(p);
    bool back_to_arena = size < hhp_cfg.mmap_threshold / 2; /* shrunk well below */
    void *q = back_to_arena ? NULL : hhp_large_resize(p, size);
    return q != NULL ? q : large_realloc_by_moving(p, usable, size);
}

static void *port_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total))
        return NULL;
    if (is_large(total))
        return hhp_large_alloc(total, 0, true);
    if (hhp_cfg.tcache) {
        void *p = hhp_tcache_take(total);
        if (p != NULL)
            return memset(p, 0, total);
    }
    return arena_alloc_zero(n, size, 0, true);
}

/* ---- the entry points ---- */

#define ENTER(name) \
    do { \
        hhp_init(); \
        hhp_current_call = (name); \
    } while (0)

static void *set_enomem(void *p)
{
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

/* Each entry point's slow branch, taken only while tracing (HOLEHEAP_TRACE)
 * or checking every N calls (HOLEHEAP_CHECK=N, N > 1): count the call (and
 * check when it is the N-th), trace it, and note the blocks it touched for
 * the next quick check. One flag keeps both off the common path. */

static inline void *noted(void *p)
{
    hhp_check_note(p);
    return p;
}

static __attribute__((noinline)) void *malloc_slow(size_t size)
{
    hhp_check_tick();
    bool traced = hhp_tracing && hhp_trace_begin();
    void *r = set_enomem(hhp_malloc(size));
    if (traced)
        hhp_trace_end(HHP_OP_MALLOC, NULL, size, 0, r);
    return noted(r);
}

static __attribute__((noinline)) void free_slow(void *p)
{
    hhp_check_tick();
    bool traced = hhp_tracing && p != NULL && hhp_trace_begin();
    hhp_free(p);
    if (traced)
        hhp_trace_end(HHP_OP_FREE, p, 0, 0, NULL);
    hhp_check_note(p);
}

static __attribute__((noinline)) void *calloc_slow(size_t n, size_t size)
{
    hhp_check_tick();
    bool traced = hhp_tracing && hhp_trace_begin();
    void *r = set_enomem(port_calloc(n, size));
    if (traced)
        hhp_trace_end(HHP_OP_CALLOC, NULL, n, size, r);
    return noted(r);
}

static __attribute__((noinline)) void *realloc_slow(void *p, size_t size)
{
    hhp_check_tick();
    bool traced = hhp_tracing && hhp_trace_begin();
    void *r = port_realloc(p, size);
    if (traced)
        hhp_trace_end(HHP_OP_REALLOC, p, size, 0, r);
    hhp_check_note(p);
    return noted(r);
}

static __attribute__((noinline)) void *aligned_slow(size_t align, size_t size)
{
    hhp_check_tick();
    bool traced = hhp_tracing && hhp_trace_begin();
    void *r = port_aligned(align, size);
    if (traced)
        hhp_trace_end(HHP_OP_ALIGNED, NULL, align, size, r);
    return noted(r);
}

HHP_API void *malloc(size_t size)
{
    ENTER("malloc");
    if (__builtin_expect(hhp_slow_calls, 0))
        return malloc_slow(size);
    return set_enomem(port_malloc(size));
}

HHP_API void free(void *p)
{
    ENTER("free");
    if (__builtin_expect(hhp_slow_calls, 0))
        free_slow(p);
    else
        hhp_free(p);
}

HHP_API void *calloc(size_t n, size_t size)
{
    ENTER("calloc");
    if (__builtin_expect(hhp_slow_calls, 0))
        return calloc_slow(n, size);
    return set_enomem(port_calloc(n, size));
}

HHP_API void *realloc(void *p, size_t size)
{
    ENTER("realloc");
    void *r = __builtin_expect(hhp_slow_calls, 0) ? realloc_slow(p, size) : port_realloc(p, size);
    if (r == NULL && (size != 0 || p == NULL))
        errno = ENOMEM;
    return r;
}

HHP_API void *reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, total);
}

/* Every aligned entry point ends here, align already valid. */
static void *aligned_entry(const char *name, size_t align, size_t size)
{
    ENTER(name);
    if (__builtin_expect(hhp_slow_calls, 0))
        return aligned_slow(align, size);
    return port_aligned(align, size);
}

HHP_API int posix_memalign(void **out, size_t align, size_t size)
{
    if (!is_power_of_two(align) || align % sizeof(void *) != 0)
        return EINVAL;
    void *p = aligned_entry("posix_memalign", align, size);
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

HHP_API void *aligned_alloc(size_t align, size_t size)
{
    if (!is_power_of_two(align)) {
        errno = EINVAL;
        return NULL;
    }
    return set_enomem(aligned_entry("aligned_alloc", align, size));
}

/* memalign takes any alignment: rounded up to a power of two, as glibc does. */
HHP_API void *memalign(size_t align, size_t size)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    size_t a = SMALL_ALIGN;
    while (a < align)
        a <<= 1;
    return set_enomem(aligned_entry("memalign", a, size));
}

HHP_API void *valloc(size_t size) { return set_enomem(aligned_entry("valloc", hhp_page_size(), size)); }

HHP_API void *pvalloc(size_t size)
{
    size_t page = hhp_page_size();
    size_t rounded = (size + page - 1) & ~(page - 1);
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return set_enomem(aligned_entry("pvalloc", page, rounded == 0 ? page : rounded));
}

HHP_API size_t malloc_usable_size(void *p)
{
    ENTER("malloc_usable_size");
    return port_usable(p);
}
