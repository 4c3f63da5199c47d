/*
 * The per-thread cache: a thread keeps the small and mid-size blocks it frees
 * (usable size up to 18 KiB), by size class, and hands them out again without
 * taking an arena lock. Every cached
 * block is a live block of its arena (the core sees it as allocated, so
 * hh_check stays valid); it goes back through hh_free when its arena would
 * have to grow or when its thread exits. A block freed while its bin or the
 * thread's share of the budget is full goes to the core at once.
 * HOLEHEAP_CHECK (any N) turns the cache off, so that every free reaches the core.
 *
 *   bin c (1 .. 32) holds blocks whose usable size is c * 16 bytes; a request
 *   of n <= 512 bytes takes from bin ceil(n / 16); above 512 bytes, 8 bins
 *   per power of two up to 16 KiB, each at most as many blocks as hold
 *   TC_MID_BIN_BYTES (64 KiB) at the next class's size, and at least
 *   TC_MID_BIN_MAX (8): 102 of the smallest, 8 of each class from 8 KiB up
 *   (up to about 144 KiB there; size classes below)
 *
 * Memory held: at most HOLEHEAP_TCACHE_BYTES (default 32 MiB) of usable
 * bytes over all threads, split evenly among the threads that cache (each
 * thread's share is re-read when it reaches it), and TC_PARK_BYTES an arena:
 * a thread that exits with little cached (TC_GROWTH_SLACK) leaves whole bins,
 * up to that, to the next thread bound to its arena (tc_parked), still held
 * and sealed; the rest goes to the core. And the cache never makes a heap
 * grow: while a thread holds cached blocks its arena refuses to grow for it
 * (hhp_tcache_blocks_growth); the caller then gives the whole cache back, and
 * the bins parked at its arena (hhp_tcache_give_back), and tries again.
 *
 * Only blocks of the thread's own arena are cached. A free of another arena's
 * block (a remote free), of any size below the mmap threshold, is validated
 * by the core at once and handed to its arena without taking its lock: the
 * freeing thread chains up to TC_REMOTE of them or TC_REMOTE_BYTES usable
 * bytes (flushed early when a block of a different arena comes, or at thread
 * exit) and pushes the chain onto the arena's pending list with one
 * compare-and-swap. A thread of that arena takes the whole pending list when
 * a bin it allocates from is empty or before any allocation its cache cannot
 * serve (hhp_tcache_drain), checks each block with the core
 * (hhp_usable_size) and caches it, or frees the ones that do not fit into the
 * core under one hold of the lock. A pending list never holds more than
 * TC_PENDING_BYTES usable bytes: the chain that would pass the bound is freed
 * into the core by the freeing thread, with the whole list, under the
 * arena's lock. A thread that exits frees its arena's pending list too. So
 * memory freed remotely is back in use by the owner's next cache miss or
 * larger allocation, and at most TC_PENDING_BYTES per arena plus
 * TC_REMOTE_BYTES per freeing thread wait in between.
 *
 * The links are checked (issue 7). A block in a bin, on a remote chain or on
 * a pending list starts with two words that the program, having freed it,
 * may still overwrite:
 *
 *   | link = next ^ K_link ^ (own address >> 4) | marker = seal(own address, link) ^ K_kind | ...
 *
 * with K_link, K_seal (inside seal, a 64-bit mix) and K_kind (one for bins,
 * one for chains and pending lists) secrets drawn from getrandom at start-up.
 * No block is read before it is opened (tc_open): its address must be
 * 16-aligned inside its arena's committed heap, and its marker must be the
 * seal of its own address and its link word, so a change to either word
 * (a write after free, an overflow from the block before, a stale pointer
 * written into it) is found before the link is decoded, let alone followed:
 * the one-line abort "cached block overwritten (write after free?)", never
 * a signal. The marker also says the block is held: a free, realloc or
 * malloc_usable_size of a block carrying either kind of marker is a double
 * free / "pointer already freed", whichever thread's cache or pending list
 * holds it. A free claims the block in one step, whatever path it takes
 * (a bin, a remote chain, the core): a compare-and-swap of both words at
 * once (cmpxchg16b) from the values it found (tc_claim), so that of two frees of one block at
 * the same instant one wins and the other aborts as a double free; and a
 * block moves between lists, or into the core, without ever being unmarked
 * in between. Every free of a block the cache could hold is validated by the
 * core first, without the arena's lock (hh_usable_size_peek: the entry gate,
 * the block's sealed header of a live block and its footer, read below the
 * arena's readable end, which a shrink never lowers, so nothing can fault);
 * what the peek cannot prove goes through hh_usable_size under the lock,
 * which reports a pointer outside the committed heap, an interior pointer or
 * a block the core sees as free before anything reads it. A block leaving the cache has both words cleared, so
 * no live block carries a marker; only a program that knew the secrets could
 * forge one. What the cache does not see: bytes past a cached block's first
 * 16 (they are not its to check; the block is handed out as it is), and a
 * cached block's core header, which the core checks when the block is freed
 * again.
 */
#include "port.h"

#include <pthread.h>
#include <string.h>

#define TC_GRANULE 16u
#define TC_SMALL_BINS 33u /* one per 16 bytes of usable size, up to 512 */
#ifndef TC_MID_GROUPS
#define TC_MID_GROUPS 5u /* then TC_MID_SPLIT per power of two: 512 B .. 16 KiB */
#endif
#ifndef TC_MID_SPLIT_LOG
#define TC_MID_SPLIT_LOG 3u
#endif
#define TC_MID_SPLIT (1u << TC_MID_SPLIT_LOG)
#define TC_BINS (TC_SMALL_BINS + TC_MID_SPLIT * TC_MID_GROUPS)
#ifndef TC_MID_BIN_MAX
#define TC_MID_BIN_MAX 8u /* blocks per bin above 512 bytes at least; more go to the core */
#endif
#ifndef TC_MID_BIN_BYTES
#define TC_MID_BIN_BYTES ((size_t)64 << 10) /* ... or as many as hold this many bytes (2.8 MiB in all) */
#endif
#define TC_BYTES_DEFAULT ((size_t)32 << 20)
#ifndef TC_PARK_FREE_MAX
#define TC_PARK_FREE_MAX ((size_t)1 << 20) /* free bytes of its heap past which an exiting thread parks nothing */
#endif
#ifndef TC_GROWTH_SLACK
#define TC_GROWTH_SLACK ((size_t)256 << 10) /* cached bytes that do not stop growth */
#endif
#ifndef TC_PARK_BYTES
#define TC_PARK_BYTES ((size_t)64 << 10) /* an exiting thread's bins left to the next thread, at most */
#endif
#define TC_REMOTE 32u /* remote frees chained, then handed over together */
#ifndef TC_REMOTE_BYTES
#define TC_REMOTE_BYTES ((size_t)64 << 10) /* ... or once their usable bytes reach this */
#endif
/* The largest usable size cached: tc_class_bytes_of(TC_BINS) - 1, the
 * least size of the class after the last (k = TC_MID_GROUPS, j = 1). */
#define TC_MAX_CACHED (((size_t)512 << TC_MID_GROUPS) + ((size_t)1 << (9u - TC_MID_SPLIT_LOG + TC_MID_GROUPS)) - 1u)
#ifndef TC_PENDING_BYTES
#define TC_PENDING_BYTES ((long)256 << 10) /* usable bytes on one arena's pending list, at most */
#endif

/* ---- size classes ----
 *
 * Bins 1 .. 32 hold blocks of usable size 16 c exactly. Above 512 bytes a
 * bin holds a range: bin 32 + 8 k + j (k = 0 .. TC_MID_GROUPS - 1, j = 1 .. 8)
 * holds usable sizes from lo = 2^(9+k) + j 2^(6+k) up to the next bin's lo, so
 * every block in it can serve any request up to lo (a block up to two steps
 * of 2^(6+k), about 1/4, larger than asked is handed out). A freed block goes to the bin whose range holds its
 * usable size (tc_class_down), a request to the first bin whose lo covers it
 * (tc_class_up). */

static unsigned tc_log2(size_t x) { return 63u - (unsigned)__builtin_clzll((unsigned long long)x); }

/* The least usable size of bin c's blocks (computed once, then read from
 * tc_class_size). */
static size_t tc_class_bytes_of(size_t c)
{
    if (c < TC_SMALL_BINS)
        return c * TC_GRANULE;
    size_t k = (c - TC_SMALL_BINS) / TC_MID_SPLIT, j = (c - TC_SMALL_BINS) % TC_MID_SPLIT + 1u;
    return ((size_t)512 << k) + (j << (9u - TC_MID_SPLIT_LOG + k));
}

static size_t tc_class_size[TC_BINS + 1];
/* Blocks a bin holds at most: a small bin as many as the thread's share of
 * the budget allows (tc_has_room), a mid-size one TC_MID_BIN_BYTES' worth. */
static uint32_t tc_class_cap[TC_BINS];
static size_t tc_class_bytes(size_t c) { return tc_class_size[c]; }
#define TC_LARGEST_CLASS ((size_t)512 << TC_MID_GROUPS) /* tc_class_bytes_of(TC_BINS - 1u) */

/* The class of a freed block of this usable size (TC_BINS: not cached),
 * computed; tc_class_down reads it from a table. */
static size_t tc_class_down_of(size_t usable)
{
    if (usable <= 512)
        return usable / TC_GRANULE;
    if (usable > TC_MAX_CACHED)
        return TC_BINS; /* not cached */
    unsigned k = tc_log2(usable - 1u) - 9u;
    return TC_SMALL_BINS - 1u + TC_MID_SPLIT * k + ((usable - ((size_t)512 << k)) >> (9u - TC_MID_SPLIT_LOG + k));
}

/* The class that serves a request of size bytes (TC_BINS: none), computed;
 * tc_class_up reads it from a table. */
static size_t tc_class_up_of(size_t size)
{
    if (size <= 512)
        return size == 0 ? 1 : (size + TC_GRANULE - 1u) / TC_GRANULE;
    if (size > TC_LARGEST_CLASS)
        return TC_BINS; /* not cached */
    unsigned k = tc_log2(size - 1u) - 9u;
    size_t step = (size_t)1 << (9u - TC_MID_SPLIT_LOG + k);
    return TC_SMALL_BINS - 1u + TC_MID_SPLIT * k + (size - ((size_t)512 << k) + step - 1u) / step;
}

/* The same by table, one entry per 16 bytes (a branch and a load on the
 * fast paths instead of a logarithm and shifts): every class boundary is a
 * multiple of 16, so a freed size rounds down and a request up to one. */
static uint8_t tc_down_table[(TC_MAX_CACHED >> 4) + 1];
static uint8_t tc_up_table[(TC_LARGEST_CLASS >> 4) + 1];
_Static_assert(TC_BINS <= UINT8_MAX, "a class fits a table entry");

static size_t tc_class_down(size_t usable) { return usable <= TC_MAX_CACHED ? tc_down_table[usable >> 4] : TC_BINS; }

static size_t tc_class_up(size_t size)
{
    return size <= TC_LARGEST_CLASS ? tc_up_table[(size + TC_GRANULE - 1u) >> 4] : TC_BINS;
}

static void tc_class_tables_fill(void)
{
    for (size_t i = 0; i < sizeof tc_down_table; i++)
        tc_down_table[i] = (uint8_t)tc_class_down_of(i << 4);
    tc_up_table[0] = (uint8_t)tc_class_up_of(0);
    for (size_t i = 1; i < sizeof tc_up_table; i++)
        tc_up_table[i] = (uint8_t)tc_class_up_of(i << 4);
}

typedef struct tc_block {
    _Alignas(16) uintptr_t link; /* the next block (or NULL), encoded: tc_encode */
    uintptr_t marker;            /* tc_seal(block, link) ^ the list's kind key */
} tc_block;

/* A block's two words as one value (link in the low half: x86-64 is little
 * endian), the unit a claim compares and swaps (cmpxchg16b, -mcx16). */
__extension__ typedef unsigned __int128 tc_words;
static tc_words tc_words_make(uintptr_t link, uintptr_t marker) { return (tc_words)marker << 64 | link; }
static uintptr_t tc_words_link(tc_words w) { return (uintptr_t)w; }
static uintptr_t tc_words_marker(tc_words w) { return (uintptr_t)(w >> 64); }

/* Which lists a block is on: a bin (TC_LOCAL), or a remote chain or pending
 * list, away from its freeing thread (TC_AWAY). */
typedef enum tc_kind { TC_LOCAL, TC_AWAY } tc_kind;

typedef struct tc_state {
    tc_block *bin[TC_BINS];
    uint32_t count[TC_BINS];
    uint8_t state; /* 0 new, 1 registered for thread exit, 2 exited */
    size_t bytes;  /* usable bytes of all cached blocks */
    size_t limit;  /* this thread's share of the byte budget */
    unsigned remote_count;
    size_t remote_bytes;                 /* usable bytes of the chained remote blocks */
    hhp_arena *remote_arena;             /* the arena every chained remote block belongs to */
    tc_block *remote_head, *remote_tail; /* frees of that arena's blocks, not yet handed over */
} tc_state;

/* The secrets: drawn once, before the first block is cached. */
typedef struct tc_secrets {
    uintptr_t link;    /* hides the next block's address in a link */
    uintptr_t seal;    /* keys the mix that ties a marker to its block and link */
    uintptr_t kind[2]; /* TC_LOCAL, TC_AWAY: distinct */
} tc_secrets;

static HHP_TLS tc_state tc;

/* The bins a thread left at exit for the next thread bound to its arena (one
 * set an arena): a short-lived thread's cache then serves its successor's
 * first calls, instead of every block going back to the core at exit and
 * coming out of it again (bench-server `threads`: two core calls a block).
 * Its blocks stay claimed and sealed as in a bin (their markers do not name
 * a thread), so a free of one meanwhile is a double free. The slot is taken
 * with one compare-and-swap, never waited for: park and adopt may run under
 * an arena's lock (a first call that binds inside the core's grow). */
typedef enum tc_park_state { TC_PARK_EMPTY, TC_PARK_BUSY, TC_PARK_FULL } tc_park_state;
typedef struct tc_parked {
    _Atomic int state; /* tc_park_state */
    size_t bytes;
    tc_block *bin[TC_BINS];
    uint32_t count[TC_BINS];
} tc_parked;
static tc_parked tc_parking[HHP_MAX_ARENAS];
static pthread_key_t tc_exit_key;
static _Atomic int tc_exit_key_made;
static tc_secrets tc_key;
static size_t tc_budget;            /* HOLEHEAP_TCACHE_BYTES */
static _Atomic unsigned tc_threads; /* threads registered, not yet exited */

/* ---- links and markers ---- */

static uintptr_t tc_encode(const tc_block *b, const tc_block *next)
{
    return (uintptr_t)next ^ tc_key.link ^ (uintptr_t)b >> 4;
}

static tc_block *tc_decode(const tc_block *b, uintptr_t link)
{
    return (tc_block *)(link ^ tc_key.link ^ (uintptr_t)b >> 4);
}

/* The marker of b with this link word, before its kind key: a keyed mix of
 * both, so that any change to either word changes it unpredictably. */
static uintptr_t tc_seal(const tc_block *b, uintptr_t link)
{
    uintptr_t where = (uintptr_t)b;
    return hhp_mix64(link ^ tc_key.seal ^ (where << 32 | where >> 32));
}

/* A block's two words are read and written with atomic operations: a free
 * in another thread may read them (tc_held) or claim the block (tc_claim)
 * at any moment. */
static uintptr_t tc_marker_of(const tc_block *b) { return __atomic_load_n(&b->marker, __ATOMIC_ACQUIRE); }
static uintptr_t tc_link_of(const tc_block *b) { return __atomic_load_n(&b->link, __ATOMIC_RELAXED); }
/* Both words, each read atomically (a pair torn by a claim in between only
 * makes the reader's own claim fail). */
static tc_words tc_words_of(const tc_block *b)
{
    uintptr_t marker = tc_marker_of(b);
    return tc_words_make(tc_link_of(b), marker);
}

/* The kind key that b's words, as seen, name (a key: b is held). */
static uintptr_t tc_kind_seen(const tc_block *b, tc_words seen)
{
    return tc_words_marker(seen) ^ tc_seal(b, tc_words_link(seen));
}

/* The core's header of b, the 8 bytes before it: it changes whenever the
 * block stops being live (holeheap.h, hh_usable_size_peek). */
static uint64_t tc_header_of(const tc_block *b)
{
    return __atomic_load_n((const uint64_t *)(const void *)b - 1, __ATOMIC_RELAXED);
}

/* b's two words from `from` to `to` in one step, if they still are `from`. */
static inline __attribute__((always_inline)) bool tc_words_swap(tc_block *b, tc_words from, tc_words to)
{
    return __sync_bool_compare_and_swap((tc_words *)(void *)b, from, to);
}

/* The one step from "not held" to "held" by a list of this kind, with next
 * after it: a compare-and-swap of b's two words, link and marker together,
 * from the values seen when b was found not held (or held by the caller), so
 * that of two frees of b at the same instant exactly one claims it; the
 * other is a double free. Both words at once: a block moving between lists
 * never shows its new link beside its old marker, which a stale free could
 * take for "not held" and swap to the same marker (a review found a block
 * put on two lists so, when a claim stored the link and then swapped the
 * marker alone). header is b's core header as the core proved it live:
 * unchanged after the claim, b was live all along (a free into the core
 * claims it first too), so no free racing this one can have made it a hole
 * in between. */
#ifdef TC_RACE_PAUSE
/* tests only (check-port-race's mover scenario, test-race-paused): a claim
 * that moves a block from a pending list into a bin waits before its swap,
 * as a preemption there would */
static void tc_race_pause(const tc_block *b, tc_words seen, tc_kind kind)
{
    if (kind == TC_LOCAL && tc_kind_seen(b, seen) == tc_key.kind[TC_AWAY])
        for (volatile unsigned spin = 0; spin < TC_RACE_PAUSE; spin++)
            ;
}
#else
#define tc_race_pause(b, seen, kind) ((void)0)
#endif

static inline __attribute__((always_inline)) void tc_claim(tc_block *b, tc_words seen, uint64_t header,
                                                           const tc_block *next, tc_kind kind)
{
    uintptr_t link = tc_encode(b, next);
    tc_words claim = tc_words_make(link, tc_seal(b, link) ^ tc_key.kind[kind]);
    tc_race_pause(b, seen, kind);
    if (__builtin_expect(!tc_words_swap(b, seen, claim) || tc_header_of(b) != header, 0))
        hhp_die(hhp_current_call, "double free", b, HH_E_DOUBLE_FREE);
}

/* b, held by the caller's list, moves to a list of this kind with next
 * after it: claimed again from its marker, so that a stale free racing the
 * move cannot claim it in between. */
static void tc_set_link(tc_block *b, const tc_block *next, tc_kind kind)
{
    tc_claim(b, tc_words_of(b), tc_header_of(b), next, kind);
}

/* b leaves every list: no marker is left in a block the program holds. */
static void tc_clear(tc_block *b)
{
    __atomic_store_n(&b->link, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&b->marker, 0, __ATOMIC_RELEASE);
}

static bool tc_carries(const tc_block *b, tc_kind kind) { return tc_kind_seen(b, tc_words_of(b)) == tc_key.kind[kind]; }

/* Do b's two words, as seen (b readable: a live block of the core), carry
 * either kind's marker? */
static bool tc_held_seen(const tc_block *b, tc_words seen)
{
    uintptr_t kind = tc_kind_seen(b, seen);
    return kind == tc_key.kind[TC_LOCAL] || kind == tc_key.kind[TC_AWAY];
}

static bool tc_held(const tc_block *b) { return tc_held_seen(b, tc_words_of(b)); }

/* May a list's link name b: 16-aligned, its two words in a's committed heap? */
static bool tc_in_heap(const hhp_arena *a, const tc_block *b)
{
    uintptr_t at = (uintptr_t)b;
    uintptr_t end = (uintptr_t)__atomic_load_n(&a->committed_end, __ATOMIC_ACQUIRE);
    return (at & (TC_GRANULE - 1u)) == 0 && at >= (uintptr_t)a->start && at < end && end - at >= sizeof(tc_block);
}

/* Open b, a block of a's list of this kind, before anything else reads it:
 * it must lie in a's heap and carry the list's marker, else the one-line
 * abort. Returns the block after it (NULL at the end). */
static inline __attribute__((always_inline)) tc_block *tc_open(const hhp_arena *a, const tc_block *b, tc_kind kind)
{
    if (__builtin_expect(!tc_in_heap(a, b), 0))
        hhp_die(hhp_current_call, "corrupted cache link (write after free?)", b, HH_E_POISON);
    if (__builtin_expect(!tc_carries(b, kind), 0))
        hhp_die(hhp_current_call, "cached block overwritten (write after free?)", b, HH_E_POISON);
    return tc_decode(b, tc_link_of(b));
}

/* Claim b for bin c (tc_claim: seen and header as read before b was
 * validated). */
static inline __attribute__((always_inline)) void tc_push(size_t c, tc_block *b, tc_words seen, uint64_t header)
{
    tc_claim(b, seen, header, tc.bin[c], TC_LOCAL);
    tc.bin[c] = b;
    tc.count[c]++;
    tc.bytes += tc_class_bytes(c);
}

/* b went into the core still claimed, so that no free racing the step could
 * claim it in between; where the core left both words as they were (b
 * merged with the hole before it: nothing of the core's lies there), they
 * are cleared under the lock, so that no block the core hands out at b later
 * carries a marker. Where the core wrote (a hole's index node, its front's
 * link), the marker no longer matches. */
static void tc_forget(tc_block *b, uintptr_t link, uintptr_t marker)
{
    if (tc_link_of(b) == link && tc_marker_of(b) == marker)
        tc_clear(b);
}

/* Free a list of a's blocks of this kind into the core under one hold of its
 * lock, each opened first; returns their usable bytes if counting. */
static size_t tc_free_list(hhp_arena *a, tc_block *list, tc_kind kind, bool count)
{
    size_t bytes = 0;
    hhp_arena_hold(a);
    while (list != NULL) {
        tc_block *b = list;
        list = tc_open(a, b, kind);
        uintptr_t link = tc_link_of(b), marker = tc_marker_of(b);
        if (count)
            bytes += hhp_usable_size(a, b);
        hh_free(a->heap, b);
        tc_forget(b, link, marker);
    }
    hhp_arena_release(a);
    return bytes;
}

static void tc_limit_refresh(void)
{
    unsigned threads = atomic_load_explicit(&tc_threads, memory_order_relaxed);
    tc.limit = tc_budget / (threads > 0 ? threads : 1u);
}

static __attribute__((noinline, cold)) void tc_register_exit(void)
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
        tc_pending_settle(owner, tc_free_list(owner, list, TC_AWAY, true));
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
        tc_set_link(tail, tc_pending_take(owner), TC_AWAY);
        tc_pending_settle(owner, tc_free_list(owner, head, TC_AWAY, true));
        return;
    }
    void *old = atomic_load_explicit(&owner->pending, memory_order_relaxed);
    do
        tc_set_link(tail, old, TC_AWAY);
    while (!atomic_compare_exchange_weak_explicit(&owner->pending, &old, head, memory_order_release,
                                                  memory_order_relaxed));
}

/* A small block of another thread's arena, already validated: chained,
 * handed over with others. */
static __attribute__((noinline, cold)) void tc_remote_put(hhp_arena *owner, tc_block *b, size_t usable, tc_words seen,
                                                          uint64_t header)
{
    if (owner != tc.remote_arena)
        tc_remote_flush();
    if (__builtin_expect(tc.remote_head == b, 0)) /* as in tc_cache */
        hhp_die(hhp_current_call, "double free", b, HH_E_DOUBLE_FREE);
    tc.remote_arena = owner;
    tc_claim(b, seen, header, tc.remote_head, TC_AWAY);
    if (tc.remote_head == NULL)
        tc.remote_tail = b;
    tc.remote_head = b;
    tc.remote_bytes += usable;
    if (++tc.remote_count == TC_REMOTE || tc.remote_bytes >= TC_REMOTE_BYTES)
        tc_remote_flush();
}

/* Cache b, a valid block of the thread's arena, if its size and the budget
 * allow (claimed: tc_push); false: the caller frees it. */
static bool tc_cache(tc_block *b, size_t usable, tc_words seen, uint64_t header)
{
    size_t c = tc_class_down(usable);
    if (c >= TC_BINS || c == 0 || tc.count[c] >= tc_class_cap[c] || !tc_has_room(usable))
        return false;
    /* Freed twice with its marker wiped in between: at least the latest
     * block is recognised, instead of a bin that hands it out for ever. */
    if (__builtin_expect(tc.bin[c] == b, 0))
        hhp_die(hhp_current_call, "double free", b, HH_E_DOUBLE_FREE);
    tc_push(c, b, seen, header);
    return true;
}

/* Give bins from .. TC_BINS - 1 back to the arena. */
static void tc_flush_bins(size_t from)
{
    for (size_t c = from; c < TC_BINS; c++) {
        if (tc.bin[c] == NULL)
            continue;
        (void)tc_free_list(hhp_thread_arena(), tc.bin[c], TC_LOCAL, false);
        tc.bytes -= tc.count[c] * tc_class_bytes(c);
        tc.bin[c] = NULL;
        tc.count[c] = 0;
    }
}

/* ---- the bins of exited threads (tc_parked) ---- */

static bool tc_slot_take(tc_parked *slot, tc_park_state from)
{
    int seen = (int)from;
    return atomic_compare_exchange_strong_explicit(&slot->state, &seen, TC_PARK_BUSY, memory_order_acquire,
                                                   memory_order_relaxed);
}

/* Take a slot that holds parked bins (a relaxed look first: most are empty). */
static bool tc_slot_take_full(tc_parked *slot)
{
    return atomic_load_explicit(&slot->state, memory_order_relaxed) == TC_PARK_FULL && tc_slot_take(slot, TC_PARK_FULL);
}

static void tc_slot_give(tc_parked *slot, tc_park_state to)
{
    atomic_store_explicit(&slot->state, (int)to, memory_order_release);
}

/* At exit: leave the thread's bins to the next thread bound to a, whole
 * bins, the smallest classes first, up to TC_PARK_BYTES in all (the slot
 * free); what is left in the bins the caller gives to the core. */
static void tc_park(hhp_arena *a)
{
    tc_parked *slot = &tc_parking[a->index];
    if (tc.bytes == 0 || !tc_slot_take(slot, TC_PARK_EMPTY))
        return;
    slot->bytes = 0;
    for (size_t c = 0; c < TC_BINS; c++) {
        size_t bytes = tc.count[c] * tc_class_bytes(c);
        slot->bin[c] = NULL;
        slot->count[c] = 0;
        if (tc.bin[c] == NULL || slot->bytes + bytes > TC_PARK_BYTES)
            continue;
        slot->bin[c] = tc.bin[c];
        slot->count[c] = tc.count[c];
        slot->bytes += bytes;
        tc.bytes -= bytes;
        tc.bin[c] = NULL;
        tc.count[c] = 0;
    }
    tc_slot_give(slot, slot->bytes != 0 ? TC_PARK_FULL : TC_PARK_EMPTY);
}

/* At a thread's first binding to a, its bins still empty: take the bins an
 * exited thread left there, if any. */
static void tc_adopt(hhp_arena *a)
{
    tc_parked *slot = &tc_parking[a->index];
    if (tc.bytes != 0 || !tc_slot_take_full(slot))
        return;
    memcpy(tc.bin, slot->bin, sizeof tc.bin);
    memcpy(tc.count, slot->count, sizeof tc.count);
    tc.bytes = slot->bytes;
    tc_slot_give(slot, TC_PARK_EMPTY);
}

/* Free the bins parked at a into the core (a cannot grow); false if none. */
static bool tc_parked_free(hhp_arena *a)
{
    tc_parked *slot = &tc_parking[a->index];
    if (!tc_slot_take_full(slot))
        return false;
    for (size_t c = 0; c < TC_BINS; c++)
        if (slot->bin[c] != NULL)
            (void)tc_free_list(a, slot->bin[c], TC_LOCAL, false);
    tc_slot_give(slot, TC_PARK_EMPTY);
    return true;
}

/* A block too large for the cache goes back to the arena: the mid-size bins
 * go with it, so that the few blocks they hold do not keep the freed space
 * from merging and the heap from shrinking (a producer of 4-256 KiB blocks
 * kept 8 MiB committed, 3x the resident memory, before this). */
static __attribute__((noinline)) void tc_flush_mid(void) { tc_flush_bins(TC_SMALL_BINS); }

/* Take the blocks other threads freed for this thread's arena into the
 * cache (or the core); false if there were none. */
static __attribute__((noinline, cold)) bool tc_pending_drain(void)
{
    hhp_arena *a = hhp_thread_arena();
    tc_block *list = a != NULL && tc.state != 2 ? tc_pending_take(a) : NULL;
    if (list == NULL)
        return false;
    if (tc.state == 0)
        tc_register_exit();
    tc_block *rest = NULL;
    size_t bytes = 0;
    bool large = false; /* a block too large for the cache came */
    while (list != NULL) {
        tc_block *b = list;
        list = tc_open(a, b, TC_AWAY);
        tc_words seen = tc_words_of(b); /* held by this list: moved by claims */
        uint64_t header;
        size_t usable = hhp_usable_size_header(a, b, &header); /* validates b */
        bytes += usable;
        large |= usable > TC_MAX_CACHED;
        if (!tc_cache(b, usable, seen, header)) {
            tc_claim(b, seen, header, rest, TC_AWAY);
            rest = b;
        }
    }
    tc_pending_settle(a, bytes);
    if (rest != NULL)
        (void)tc_free_list(a, rest, TC_AWAY, false);
    if (large) /* as a local free of such a block does (hhp_tcache_put) */
        tc_flush_mid();
    return true;
}

void hhp_tcache_drain(void)
{
    hhp_arena *a = hhp_thread_arena();
    if (a != NULL && atomic_load_explicit(&a->pending, memory_order_relaxed) != NULL)
        (void)tc_pending_drain();
}

#ifndef TC_TAKE_UP
#define TC_TAKE_UP 2u /* small classes above a request's that a miss may take from */
#endif
#ifndef TC_TAKE_UP_MID
#define TC_TAKE_UP_MID 1u /* ... mid-size classes */
#endif

/* Bin c is empty: the first of the next bins that holds a block, at most
 * TC_TAKE_UP above a small class and never past the small ones (32 bytes
 * more at most), and TC_TAKE_UP_MID above a mid-size one (a mid-size bin
 * holds a class's range of sizes, so a request may get up to 3/8 more than
 * it asked, 1/4 from its own bin; review: a small class reached into the
 * mid-size bins, 497 bytes got 688), so that freed blocks of the sizes around a request
 * serve it before the core does: without this, a thread freeing random sizes
 * kept blocks of every class (bench-server prodcons 1: 424 blocks held for
 * at most 64 live, 254 with this) and sent the rest of its misses to the
 * core. TC_BINS if none. */
static size_t tc_class_near(size_t c)
{
    size_t last = c < TC_SMALL_BINS ? c + TC_TAKE_UP : c + TC_TAKE_UP_MID;
    if (c < TC_SMALL_BINS && last >= TC_SMALL_BINS)
        last = TC_SMALL_BINS - 1u;
    for (size_t up = c + 1; up <= last && up < TC_BINS; up++)
        if (tc.bin[up] != NULL)
            return up;
    return TC_BINS;
}

void *hhp_tcache_take(size_t size)
{
    size_t c = tc_class_up(size);
    if (c >= TC_BINS)
        return NULL;
    tc_block *b = tc.bin[c];
    if (b == NULL) {
        (void)tc_pending_drain(); /* binds a new thread first: it may adopt bins (tc_adopt) */
        if (tc.bin[c] == NULL && (c = tc_class_near(c)) >= TC_BINS)
            return NULL;
        b = tc.bin[c];
    }
    tc.bin[c] = tc_open(hhp_thread_arena(), b, TC_LOCAL);
    tc.count[c]--;
    tc.bytes -= tc_class_bytes(c);
    tc_clear(b);
    return b;
}

/* b, a block of a, validated by the core (which reports a pointer that is
 * no live block; its header as proved in *header, its usable size in
 * *usable) and held by no list (else the one-line abort, `what`): the
 * marker word seen, from which a claim swaps. */
static inline __attribute__((always_inline)) tc_words tc_unheld(hhp_arena *a, tc_block *b, uint64_t *header,
                                                                size_t *usable, const char *what)
{
    *usable = hhp_usable_size_header(a, b, header);
    tc_words seen = tc_words_of(b);
    if (__builtin_expect(tc_held_seen(b, seen), 0)) /* any size: remote chains hold all */
        hhp_die(hhp_current_call, what, b, HH_E_DOUBLE_FREE);
    return seen;
}

void hhp_tcache_hold(hhp_arena *a, void *p, hhp_hold *hold)
{
    tc_block *b = p;
    tc_words seen = tc_unheld(a, b, &hold->header, &hold->usable, "pointer already freed");
    hold->words[0] = tc_words_link(seen);
    hold->words[1] = tc_words_marker(seen);
    tc_claim(b, seen, hold->header, NULL, TC_AWAY); /* a free that won meanwhile: double free */
    hold->link = tc_link_of(b);
    hold->marker = tc_marker_of(b);
}

void hhp_tcache_unhold(void *p, void *q, const hhp_hold *hold)
{
    tc_block *to = q != NULL ? q : p;
    if (to != p)
        tc_forget(p, hold->link, hold->marker); /* as tc_free_list: the lock is held */
    __atomic_store_n(&to->link, hold->words[0], __ATOMIC_RELAXED);
    __atomic_store_n(&to->marker, hold->words[1], __ATOMIC_RELEASE);
}

/* The claim as hhp_tcache_hold made it. */
static tc_words tc_hold_claim(const hhp_hold *hold) { return tc_words_make(hold->link, hold->marker); }

void hhp_tcache_release(void *p, const hhp_hold *hold)
{
    /* One swap, as a claim: a free racing this meets the claim or p as the
     * program left it, never half of each (two stores would let its swap in
     * between). It fails only if p's first words were written while held
     * (the program wrote the block it was reallocating, or a stray write). */
    if (!tc_words_swap(p, tc_hold_claim(hold), tc_words_make(hold->words[0], hold->words[1])))
        hhp_die(hhp_current_call, "block written while realloc held it", p, HH_E_POISON);
}

/* A block in a cache or on a pending list carries a marker: freed again
 * (or reallocated, or asked its size), it is a double free. p must have been
 * validated by the core. */
void hhp_tcache_check_live(const void *p)
{
    if (__builtin_expect(tc_held(p), 0))
        hhp_die(hhp_current_call, "pointer already freed", p, HH_E_DOUBLE_FREE);
}

/* Cache p (a block of owner) if it is small, or queue it with other remote
 * frees if owner is not this thread's arena; false: the caller frees it now.
 * p is validated by the core before anything here reads it. */
static __attribute__((noinline)) bool tc_put_slow(hhp_arena *owner, tc_block *b, size_t usable, tc_words seen,
                                                  uint64_t header)
{
    if (usable > TC_MAX_CACHED && owner == hhp_thread_arena()) {
        tc_flush_mid();
        return false;
    }
    if (tc.state != 1) {
        if (tc.state == 2)
            return false;
        tc_register_exit();
    }
    if (owner != hhp_thread_arena()) {
        tc_remote_put(owner, b, usable, seen, header);
        return true;
    }
    return tc_cache(b, usable, seen, header);
}

/* b goes to the core: claimed first, like a block the cache keeps, so that
 * a free of it racing this one cannot cache it meanwhile. */
static __attribute__((noinline)) void tc_free_now(hhp_arena *owner, tc_block *b, tc_words seen, uint64_t header)
{
    tc_claim(b, seen, header, NULL, TC_AWAY);
    (void)tc_free_list(owner, b, TC_AWAY, false);
}

/* b, a block of owner found not held as seen (or held by the caller: the
 * claim is then swapped from its own), header as proved live: into a bin,
 * a remote chain or the core, claimed in each case. */
static inline __attribute__((always_inline)) void tc_put_seen(hhp_arena *owner, tc_block *b, size_t usable,
                                                              tc_words seen, uint64_t header)
{
    /* The common case, a block of this thread's arena with room in its bin
     * (tc_cache's conditions): pushed at once. */
    size_t c = tc_class_down(usable);
    if (__builtin_expect(owner == hhp_bound_arena && tc.state == 1 && c < TC_BINS && tc.bin[c] != b &&
                             tc.count[c] < tc_class_cap[c] && tc.bytes + usable <= tc.limit,
                         1)) {
        tc_push(c, b, seen, header);
        return;
    }
    if (!tc_put_slow(owner, b, usable, seen, header))
        tc_free_now(owner, b, seen, header);
}

void hhp_tcache_put(hhp_arena *owner, void *p)
{
    tc_block *b = p;
    uint64_t header; /* as proved live: tc_claim */
    size_t usable;
    tc_words seen = tc_unheld(owner, b, &header, &usable, "double free");
    tc_put_seen(owner, b, usable, seen, header);
}

void hhp_tcache_free_held(hhp_arena *owner, void *p, const hhp_hold *hold)
{
    /* held all along: the header the hold proved is still p's (tc_claim
     * compares it again) */
    tc_put_seen(owner, p, hold->usable, tc_hold_claim(hold), hold->header);
}

void hhp_tcache_flush(void)
{
    tc_remote_flush();
    tc_flush_bins(0);
    tc.bytes = 0;
}

bool hhp_tcache_blocks_growth(const hhp_arena *a) { return tc.bytes > TC_GROWTH_SLACK && a == hhp_thread_arena(); }

bool hhp_tcache_give_back(void)
{
    hhp_arena *a = hhp_thread_arena();
    bool pending = a != NULL && atomic_load_explicit(&a->pending, memory_order_relaxed) != NULL;
    if (pending)
        tc_pending_free(a);
    if (a != NULL && tc_parked_free(a))
        pending = true;
    if (tc.bytes == 0)
        return pending;
    hhp_tcache_flush();
    return true;
}

/* Does a's heap hold more free memory than parked blocks may keep from the
 * system (TC_PARK_FREE_MAX)? Blocks parked at its end would pin it until
 * another thread binds there (review: 20 MB pinned by 100 parked blocks of
 * 48 bytes): the exit gives everything back and trims instead. */
static bool tc_heap_roomy(hhp_arena *a)
{
    if (a->heap == NULL)
        return false;
    hh_stats s;
    hh_stats_get(a->heap, &s);
    return s.free_bytes > TC_PARK_FREE_MAX;
}

static void tc_thread_exit(void *unused)
{
    (void)unused;
    tc_remote_flush();
    hhp_arena *a = hhp_thread_arena();
    if (a != NULL) {
        /* A thread that cached a large share, or whose heap holds much free
         * memory, gives it all back and trims,
         * so that it leaves no large hole behind it (the flushed bins merge
         * into holes that the core's own front may keep from the heap's end;
         * a few parked blocks would pin them). One that cached little leaves
         * some bins to the next thread and the pages committed: trimming
         * after every thread made the next fault them in again. */
        bool large = tc.bytes > TC_GROWTH_SLACK || tc_heap_roomy(a);
        if (!large)
            tc_park(a);
        hhp_tcache_flush();
        tc_pending_free(a); /* nobody else may come to take them */
        if (large && a->heap != NULL)
            hh_trim(a->heap);
    }
    tc.state = 2; /* frees after this point go straight to the arenas */
    atomic_fetch_sub_explicit(&tc_threads, 1u, memory_order_relaxed);
    hhp_arena_unbind();
}

void hhp_tcache_bound(hhp_arena *a)
{
    if (tc.state == 0)
        tc_register_exit();
    tc_adopt(a);
}

void hhp_tcache_keys(void)
{
    /* the tables' sizes are written out as constants: they must be the classes' */
    if (tc_class_bytes_of(TC_BINS) - 1u != TC_MAX_CACHED || tc_class_bytes_of(TC_BINS - 1u) != TC_LARGEST_CLASS)
        hhp_die("malloc", "size-class table bounds disagree with the classes (a build error)", NULL, HH_E_CORRUPT);
    for (size_t c = 0; c <= TC_BINS; c++)
        tc_class_size[c] = tc_class_bytes_of(c);
    tc_class_tables_fill();
    for (size_t c = 0; c < TC_BINS; c++) {
        size_t by_bytes = TC_MID_BIN_BYTES / tc_class_size[c + 1];
        tc_class_cap[c] = (uint32_t)(c < TC_SMALL_BINS           ? UINT32_MAX
                                     : by_bytes > TC_MID_BIN_MAX ? by_bytes
                                                                 : TC_MID_BIN_MAX);
    }
    hhp_random_fill(&tc_key, sizeof tc_key);
    while (tc_key.kind[TC_AWAY] == tc_key.kind[TC_LOCAL])
        tc_key.kind[TC_AWAY] = (uintptr_t)hhp_random_u64();
}

void hhp_tcache_setup(void)
{
    tc_budget = hhp_env_size("HOLEHEAP_TCACHE_BYTES", TC_BYTES_DEFAULT);
    if (pthread_key_create(&tc_exit_key, tc_thread_exit) == 0)
        atomic_store(&tc_exit_key_made, 1);
}
