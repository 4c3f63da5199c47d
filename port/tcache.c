/*
 * The per-thread cache: a thread keeps the small blocks it frees, by usable
 * size, and hands them out again without taking an arena lock. Every cached
 * block is a live block of its arena (the core sees it as allocated, so
 * hh_check stays valid); it goes back through hh_free when its bin overflows,
 * when its arena would have to grow, or when its thread exits.
 * HOLEHEAP_CHECK=1 turns the cache off, so that every free reaches the core.
 *
 *   bin c holds blocks whose usable size is c * 16 bytes (c = 1 .. TC_BINS-1);
 *   a request of n bytes takes from bin ceil(n / 16)
 *   a cached block:  | next cached block | marker (key ^ address) | ...
 *
 * The marker catches a double free: see below. A block taken out of the cache
 * must still carry it: a write after free over its first 16 bytes is reported.
 *
 * Memory held: at most HOLEHEAP_TCACHE_BYTES (default 32 MiB) of usable
 * bytes over all threads, split evenly among the threads that cache (each
 * thread's share is re-read when it reaches it). And the cache never makes
 * a heap grow: while a thread holds cached blocks its arena refuses to grow
 * for it (hhp_tcache_blocks_growth); the caller then gives the whole cache back
 * (hhp_tcache_give_back) and tries again.
 *
 * Only blocks of the thread's own arena are cached. A free of another arena's
 * block (a remote free) is validated by the core at once; if it is larger
 * than the cache holds (TC_MAX_CACHED) it is freed into the core right away,
 * under its arena's lock. A small one is handed to its arena instead: the
 * freeing thread chains up to TC_REMOTE of them (flushed early when a block
 * of a different arena comes, or at thread exit) and pushes the chain onto
 * the arena's pending list with one compare-and-swap, without its lock. A
 * thread of that arena takes the whole pending list when a bin it allocates
 * from is empty, checks each block with the core (hh_usable_size) and caches
 * it, or frees it when it does not fit. A pending list never holds more than
 * TC_PENDING_BYTES usable bytes: the chain that would pass the bound is
 * freed into the core by the freeing thread, with the whole list, under the
 * arena's lock. A thread that exits frees its arena's pending list too.
 *
 *   a block on a chain or pending list:  | next | remote marker (~key ^ address) | ...
 *
 * Every free of a block the cache could hold is validated by the core first
 * (hh_usable_size: a pointer outside the committed heap, an interior pointer
 * or a block the core sees as free is reported before anything reads it);
 * then a block that carries either marker is a double free, whichever
 * thread's cache or pending list holds it. Neither marker is ever left in a
 * live block (it is cleared when the block leaves the cache or the list), and
 * a marker names its own address, so only a program that wrote the secret
 * marker value into its block could be reported wrongly.
 */
#include "port.h"

#include <pthread.h>

#define TC_GRANULE 16u
#ifndef TC_BINS
#define TC_BINS 33u     /* usable sizes up to 512 bytes */
#endif
#ifndef TC_BIN_MAX
#define TC_BIN_MAX 8192u /* blocks per bin; a full bin gives half back */
#endif
#define TC_BYTES_DEFAULT ((size_t)32 << 20)
#ifndef TC_GROWTH_SLACK
#define TC_GROWTH_SLACK ((size_t)256 << 10) /* cached bytes that do not stop growth */
#endif
#define TC_REMOTE 32u   /* remote frees chained, then handed over together */
#define TC_MAX_CACHED ((TC_BINS - 1u) * TC_GRANULE) /* the largest usable size cached */
#ifndef TC_PENDING_BYTES
#define TC_PENDING_BYTES ((long)256 << 10) /* usable bytes on one arena's pending list, at most */
#endif

typedef struct tc_block {
    struct tc_block *next;
    uintptr_t marker;
} tc_block;

typedef struct tc_state {
    tc_block *bin[TC_BINS];
    uint16_t count[TC_BINS];
    uint8_t state; /* 0 new, 1 registered for thread exit, 2 exited */
    size_t bytes;  /* usable bytes of all cached blocks */
    size_t limit;  /* this thread's share of the byte budget */
    unsigned remote_count;
    size_t remote_bytes;      /* usable bytes of the chained remote blocks */
    hhp_arena *remote_arena;  /* the arena every chained remote block belongs to */
    tc_block *remote_head, *remote_tail; /* frees of that arena's blocks, not yet handed over */
} tc_state;

static HHP_TLS tc_state tc;
static pthread_key_t tc_exit_key;
static _Atomic int tc_exit_key_made;
static uintptr_t tc_key;
static size_t tc_budget;            /* HOLEHEAP_TCACHE_BYTES */
static _Atomic unsigned tc_threads; /* threads registered, not yet exited */

static uintptr_t tc_marker(const void *p) { return tc_key ^ (uintptr_t)p; }
static uintptr_t tc_remote_marker(const void *p) { return ~tc_key ^ (uintptr_t)p; }

static void tc_push(size_t c, tc_block *b)
{
    b->marker = tc_marker(b);
    b->next = tc.bin[c];
    tc.bin[c] = b;
    tc.count[c]++;
    tc.bytes += c * TC_GRANULE;
}

/* Free a list of cached blocks, holding each owner's lock across a run of
 * blocks of the same arena. */
static void tc_release_list(tc_block *list)
{
    while (list != NULL) {
        hhp_arena *owner = hhp_arena_of(list);
        hhp_arena_hold(owner);
        while (list != NULL && hhp_arena_of(list) == owner) {
            tc_block *next = list->next;
            list->marker = 0;
            hh_free(owner->heap, list);
            list = next;
        }
        hhp_arena_release(owner);
    }
}

/* Give the older half of a full bin back to the arenas. */
static void tc_trim(size_t c)
{
    tc_block *keep = tc.bin[c];
    for (unsigned i = 1; i < TC_BIN_MAX / 2; i++)
        keep = keep->next;
    tc_block *rest = keep->next;
    keep->next = NULL;
    tc.bytes -= (size_t)(tc.count[c] - TC_BIN_MAX / 2) * c * TC_GRANULE;
    tc.count[c] = TC_BIN_MAX / 2;
    tc_release_list(rest);
}

static void tc_limit_refresh(void)
{
    unsigned threads = atomic_load_explicit(&tc_threads, memory_order_relaxed);
    tc.limit = tc_budget / (threads > 0 ? threads : 1u);
}

static void tc_register_exit(void)
{
    tc.state = 1;
    atomic_fetch_add_explicit(&tc_threads, 1u, memory_order_relaxed);
    tc_limit_refresh();
    if (atomic_load(&tc_exit_key_made))
        pthread_setspecific(tc_exit_key, &tc);
}

/* Room for usable more bytes within this thread's share of the budget. */
static bool tc_has_room(size_t usable)
{
    if (__builtin_expect(tc.bytes + usable <= tc.limit, 1))
        return true;
    tc_limit_refresh();
    return tc.bytes + usable <= tc.limit;
}

/* Free a chain of owner's blocks into the core under one hold of its lock;
 * returns their usable bytes. */
static size_t tc_free_chain(hhp_arena *owner, tc_block *list)
{
    size_t bytes = 0;
    hhp_arena_hold(owner);
    while (list != NULL) {
        tc_block *next = list->next;
        list->marker = 0;
        bytes += hh_usable_size(owner->heap, list);
        hh_free(owner->heap, list);
        list = next;
    }
    hhp_arena_release(owner);
    return bytes;
}

/* Take owner's whole pending list; whoever takes it settles its bytes
 * (tc_pending_settle) once it has counted them. */
static tc_block *tc_pending_take(hhp_arena *owner)
{
    if (atomic_load_explicit(&owner->pending, memory_order_relaxed) == NULL)
        return NULL;
    return atomic_exchange_explicit(&owner->pending, NULL, memory_order_acquire);
}

static void tc_pending_settle(hhp_arena *owner, size_t bytes)
{
    atomic_fetch_sub_explicit(&owner->pending_bytes, (long)bytes, memory_order_relaxed);
}

/* Free owner's whole pending list into the core. */
static void tc_pending_free(hhp_arena *owner)
{
    tc_block *list = tc_pending_take(owner);
    if (list != NULL)
        tc_pending_settle(owner, tc_free_chain(owner, list));
}

/* Hand the chain of remote frees to its arena: one push onto its pending
 * list, or, if that would pass TC_PENDING_BYTES, the chain and the whole list
 * into the core. The bytes are counted before the push, so the count is never
 * below what the list holds. */
static void tc_remote_flush(void)
{
    if (tc.remote_count == 0)
        return;
    hhp_arena *owner = tc.remote_arena;
    tc_block *head = tc.remote_head, *tail = tc.remote_tail;
    long bytes = (long)tc.remote_bytes;
    tc.remote_head = tc.remote_tail = NULL;
    tc.remote_count = 0;
    tc.remote_bytes = 0;
    long pending = atomic_fetch_add_explicit(&owner->pending_bytes, bytes, memory_order_relaxed) + bytes;
    if (__builtin_expect(pending > TC_PENDING_BYTES, 0)) {
        tail->next = tc_pending_take(owner);
        tc_pending_settle(owner, tc_free_chain(owner, head));
        return;
    }
    void *old = atomic_load_explicit(&owner->pending, memory_order_relaxed);
    do
        tail->next = old;
    while (!atomic_compare_exchange_weak_explicit(&owner->pending, &old, head,
                                                  memory_order_release, memory_order_relaxed));
}

/* A small block of another thread's arena, already validated: chained,
 * handed over with others. */
static void tc_remote_put(hhp_arena *owner, tc_block *b, size_t usable)
{
    if (owner != tc.remote_arena)
        tc_remote_flush();
    tc.remote_arena = owner;
    b->marker = tc_remote_marker(b);
    b->next = tc.remote_head;
    if (tc.remote_head == NULL)
        tc.remote_tail = b;
    tc.remote_head = b;
    tc.remote_bytes += usable;
    if (++tc.remote_count == TC_REMOTE)
        tc_remote_flush();
}

/* Cache b, a valid block of the thread's arena, if its size and the budget
 * allow; false: the caller frees it. */
static bool tc_cache(tc_block *b, size_t usable)
{
    size_t c = usable / TC_GRANULE;
    if (c >= TC_BINS || c == 0 || !tc_has_room(usable))
        return false;
    tc_push(c, b);
    if (tc.count[c] > TC_BIN_MAX)
        tc_trim(c);
    return true;
}

/* Take the blocks other threads freed for this thread's arena into the
 * cache (or the core); false if there were none. */
static bool tc_pending_drain(void)
{
    hhp_arena *a = hhp_thread_arena();
    tc_block *list = a != NULL && tc.state != 2 ? tc_pending_take(a) : NULL;
    if (list == NULL)
        return false;
    if (tc.state == 0)
        tc_register_exit();
    tc_block *rest = NULL;
    size_t bytes = 0;
    while (list != NULL) {
        tc_block *b = list;
        list = b->next;
        if (b->marker != tc_remote_marker(b))
            hhp_die(hhp_current_call, "write after free", b, HH_E_POISON);
        b->marker = 0;
        size_t usable = hh_usable_size(a->heap, b); /* validates b */
        bytes += usable;
        if (!tc_cache(b, usable)) {
            b->next = rest;
            rest = b;
        }
    }
    tc_pending_settle(a, bytes);
    if (rest != NULL)
        (void)tc_free_chain(a, rest);
    return true;
}

void *hhp_tcache_take(size_t size)
{
    size_t c = size == 0 ? 1 : (size + TC_GRANULE - 1) / TC_GRANULE;
    if (c >= TC_BINS)
        return NULL;
    tc_block *b = tc.bin[c];
    if (b == NULL) {
        if (!tc_pending_drain() || (b = tc.bin[c]) == NULL)
            return NULL;
    }
    if (__builtin_expect(b->marker != tc_marker(b), 0))
        hhp_die("malloc", "write after free", b, HH_E_POISON);
    tc.bin[c] = b->next;
    tc.count[c]--;
    tc.bytes -= c * TC_GRANULE;
    b->marker = 0;
    return b;
}

/* A block in a cache or on a pending list carries a marker; freed again, it
 * is a double free. p must have been validated by the core. */
static void tc_check_not_held(const tc_block *b)
{
    if (__builtin_expect(b->marker == tc_marker(b) || b->marker == tc_remote_marker(b), 0))
        hhp_die("free", "double free", b, HH_E_DOUBLE_FREE);
}

/* Cache p (a block of owner) if it is small, or queue it with other remote
 * frees if owner is not this thread's arena; false: the caller frees it now.
 * p is validated by the core before anything here reads it. */
bool hhp_tcache_put(hhp_arena *owner, void *p)
{
    size_t usable = hh_usable_size(owner->heap, p); /* reports a bad pointer */
    if (usable > TC_MAX_CACHED)
        return false;
    tc_block *b = p;
    tc_check_not_held(b);
    if (tc.state != 1) {
        if (tc.state == 2)
            return false;
        tc_register_exit();
    }
    if (owner != hhp_thread_arena()) {
        tc_remote_put(owner, b, usable);
        return true;
    }
    return tc_cache(b, usable);
}

void hhp_tcache_flush(void)
{
    tc_remote_flush();
    for (size_t c = 0; c < TC_BINS; c++) {
        tc_release_list(tc.bin[c]);
        tc.bin[c] = NULL;
        tc.count[c] = 0;
    }
    tc.bytes = 0;
}

bool hhp_tcache_blocks_growth(const hhp_arena *a)
{
    return tc.bytes > TC_GROWTH_SLACK && a == hhp_thread_arena();
}

bool hhp_tcache_give_back(void)
{
    hhp_arena *a = hhp_thread_arena();
    bool pending = a != NULL && atomic_load_explicit(&a->pending, memory_order_relaxed) != NULL;
    if (pending)
        tc_pending_free(a);
    if (tc.bytes == 0)
        return pending;
    hhp_tcache_flush();
    return true;
}

static void tc_thread_exit(void *unused)
{
    (void)unused;
    hhp_tcache_flush();
    hhp_arena *a = hhp_thread_arena();
    if (a != NULL)
        tc_pending_free(a); /* nobody else may come to take them */
    tc.state = 2; /* frees after this point go straight to the arenas */
    atomic_fetch_sub_explicit(&tc_threads, 1u, memory_order_relaxed);
}

void hhp_tcache_setup(void)
{
    tc_budget = hhp_env_size("HOLEHEAP_TCACHE_BYTES", TC_BYTES_DEFAULT);
    tc_key = (uintptr_t)hhp_random_u32() << 32 | hhp_random_u32();
    if (pthread_key_create(&tc_exit_key, tc_thread_exit) == 0)
        atomic_store(&tc_exit_key_made, 1);
}
