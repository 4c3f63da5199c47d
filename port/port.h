/*
 * The hosted port's internal interfaces: holeheap as the C library's malloc.
 *
 *   malloc.c   the libc entry points, thin wrappers (errno is set only there)
 *   arena.c    arenas: one hh_heap per reserved range, thread binding, fork
 *   tcache.c   the per-thread cache of freed small blocks
 *   large.c    requests >= the mmap threshold: a mapping each, in a registry
 *   trace.c    HOLEHEAP_TRACE: the binary call trace (docs/trace-format.md)
 *   glue.c     everything about the host: mmap, locks, randomness, messages
 *
 * Nothing here may call malloc: messages go out through write(2).
 */
#ifndef HH_PORT_H
#define HH_PORT_H

#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "holeheap.h"

#define HHP_TLS _Thread_local __attribute__((tls_model("initial-exec")))
#define HHP_API __attribute__((visibility("default")))

/* ---- tunables (environment variables override some at start-up) ---- */

/* Address space reserved per arena: the most one heap can span. */
#ifndef HHP_ARENA_SPAN
#define HHP_ARENA_SPAN HH_MAX_SPAN
#endif
/* Most arenas ever; the number used is 2 x the CPUs the process may run on. */
#ifndef HHP_MAX_ARENAS
#define HHP_MAX_ARENAS 64
#endif
/* Committed at hh_init, and the least committed per grow call. */
#ifndef HHP_COMMIT_CHUNK
#define HHP_COMMIT_CHUNK ((size_t)128 * 1024)
#endif
/* Requests this large get a mapping of their own (HOLEHEAP_MMAP_THRESHOLD). */
#ifndef HHP_MMAP_THRESHOLD
#define HHP_MMAP_THRESHOLD ((size_t)1 << 20)
#endif
/* HOLEHEAP_CHECK given something other than a number of calls from 0 to
 * HHP_CHECK_MAX: checking every this many calls (said on stderr). */
#ifndef HHP_CHECK_DEFAULT
#define HHP_CHECK_DEFAULT 1000
#endif
#define HHP_CHECK_MAX 1000000000u
/* Calls between two quick checks (hh_check_near) under HOLEHEAP_CHECK=N, N
 * larger than this: what those calls touched is verified at the end of them. */
#ifndef HHP_CHECK_QUICK
#define HHP_CHECK_QUICK 32u
#endif
/* Bytes of freed large mappings kept for reuse (HOLEHEAP_LARGE_CACHE). */
#ifndef HHP_LARGE_CACHE_BYTES
#define HHP_LARGE_CACHE_BYTES ((size_t)64 << 20)
#endif

/* ---- glue.c: the host ---- */

typedef struct hhp_lock {
    _Atomic int state; /* 0 free, 1 held, 2 held with waiters */
} hhp_lock;

void hhp_lock_take(hhp_lock *l);
void hhp_lock_give(hhp_lock *l);
void hhp_lock_reset(hhp_lock *l);

size_t hhp_page_size(void);
void *hhp_reserve(size_t bytes, size_t align); /* PROT_NONE, NULL on failure */
bool hhp_commit(void *at, size_t bytes);       /* make read/write */
void hhp_discard(void *at, size_t bytes);      /* drop contents, stay readable (zeros), not writable */
void *hhp_map(size_t bytes);                   /* read/write, zeroed; NULL on failure */
void hhp_unmap(void *at, size_t bytes);
void *hhp_remap(void *at, size_t old_bytes, size_t new_bytes); /* may move; NULL on failure */
uint64_t hhp_now_ms(void);                                     /* a coarse monotonic clock */
/* Randomness from getrandom(2); when that fails, from what differs between
 * processes and calls (AT_RANDOM, clocks, pid, ASLR, a counter): never constant. */
void hhp_random_fill(void *out, size_t bytes);
uint64_t hhp_random_u64(void);
uint32_t hhp_random_u32(void); /* never 0 */
/* A bijective 64-bit mixer (the splitmix64 finalizer): every input bit
 * reaches every output bit. */
static inline uint64_t hhp_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9u;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBu;
    x ^= x >> 31;
    return x;
}
unsigned hhp_cpu_count(void);
size_t hhp_env_size(const char *name, size_t fallback); /* decimal, k/m/g suffix */
bool hhp_env_flag(const char *name);
const char *hhp_env_text(const char *name);

/* A fixed-size line buffer for messages without stdio. */
typedef struct hhp_line {
    char text[256];
    size_t len;
} hhp_line;
void hhp_line_str(hhp_line *l, const char *s);
void hhp_line_dec(hhp_line *l, size_t v);
void hhp_line_hex(hhp_line *l, uintptr_t v);
void hhp_line_emit(hhp_line *l); /* appends '\n', writes to stderr */
/* write(2) all n bytes to fd, again after EINTR; stops at the first other failure. */
void hhp_write_all(int fd, const void *p, size_t n);
_Noreturn void hhp_die(const char *call, const char *what, const void *where, int code);

/* ---- arena.c ---- */

typedef struct hhp_arena {
    _Alignas(128) hhp_lock lock; /* arenas never share a cache line */
    /* Read by every call that opens a cached block, written rarely: a line
     * of their own, away from the lock that other threads write. */
    _Alignas(64) hh_heap *heap; /* NULL until first used */
    char *start;                /* its reserved range [start, start + HHP_ARENA_SPAN) */
    char *committed_end;        /* [start, committed_end) is read/write; atomic stores */
    /* [start, readable_end) stays readable for ever: the most ever committed
     * (a shrink discards pages but leaves them mapped), so that a check
     * without the lock never faults; atomic stores, never lowered. */
    char *readable_end;
    unsigned index;
    _Atomic unsigned bound; /* threads bound to it, not yet exited */
    /* Blocks other threads freed, for this arena's threads to take (tcache.c);
     * on a line of their own: remote threads write them. */
    _Alignas(64) _Atomic(void *) pending;
    _Atomic long pending_bytes; /* usable bytes on it, counted before they are pushed */
} hhp_arena;

typedef struct hhp_config {
    size_t mmap_threshold;
    /* HOLEHEAP_CHECK=N: 0 none; 1 HH_CHECK_ALWAYS (a full check before and
     * after every core call); N > 1 hh_check of every arena at every N-th call
     * of each thread (hhp_check_tick). Any N turns the cache off. */
    size_t check_every;
    bool check;               /* check_every != 0: no cache */
    bool stats;               /* HOLEHEAP_STATS */
    bool tcache;              /* HOLEHEAP_TCACHE (default on unless checking) */
    unsigned arenas;          /* HOLEHEAP_ARENAS (default 2 x CPUs) */
    size_t realloc_headroom;  /* HOLEHEAP_REALLOC_HEADROOM (default 0: none) */
    size_t large_cache_bytes; /* HOLEHEAP_LARGE_CACHE: freed mappings kept (large.c) */
} hhp_config;

extern hhp_config hhp_cfg;
extern _Atomic int hhp_ready; /* set once hhp_init has finished */

void hhp_init_slow(void);
static inline void hhp_init(void)
{
    if (__builtin_expect(!atomic_load_explicit(&hhp_ready, memory_order_acquire), 0))
        hhp_init_slow();
}

/* The calling thread's arena: bound at its first call (hhp_thread_arena_bind). */
extern HHP_TLS hhp_arena *hhp_bound_arena;
hhp_arena *hhp_thread_arena_bind(void);
static inline hhp_arena *hhp_thread_arena(void)
{
    hhp_arena *a = hhp_bound_arena;
    return __builtin_expect(a != NULL, 1) ? a : hhp_thread_arena_bind();
}
void hhp_arena_unbind(void);                   /* at thread exit: give the binding back */
hhp_arena *hhp_arena_of(const void *p);        /* owner by address, or NULL */
hhp_arena *hhp_arena_next(const hhp_arena *a); /* round the ring, for fallback */
/* Hold an arena's lock across several core calls: while held, the core's own
 * lock/unlock callbacks on that arena do nothing for this thread. */
void hhp_arena_hold(hhp_arena *a);
void hhp_arena_release(hhp_arena *a);
/* hh_usable_size of p in a, which is never 0: anything the core refuses
 * aborts. Proved without the lock when p's tags allow (hh_usable_size_peek). */
size_t hhp_usable_size_locked(hhp_arena *a, const void *p);
static inline size_t hhp_usable_size(hhp_arena *a, const void *p)
{
    size_t usable = hh_usable_size_peek(a->heap, p, __atomic_load_n(&a->readable_end, __ATOMIC_ACQUIRE));
    return __builtin_expect(usable != 0, 1) ? usable : hhp_usable_size_locked(a, p);
}
/* hhp_usable_size, and p's core header as proved live (by the peek, or
 * read under the lock after hh_usable_size): changed later, p stopped being
 * live in between; unchanged, p stayed live or was freed and handed out
 * again at the same place and size (holeheap.h). */
size_t hhp_usable_size_locked_header(hhp_arena *a, const void *p, uint64_t *header);
static inline size_t hhp_usable_size_header(hhp_arena *a, const void *p, uint64_t *header)
{
    size_t usable = hh_usable_size_peek_header(a->heap, p, __atomic_load_n(&a->readable_end, __ATOMIC_ACQUIRE), header);
    return __builtin_expect(usable != 0, 1) ? usable : hhp_usable_size_locked_header(a, p, header);
}
void hhp_arenas_stats(hh_stats *sum, unsigned *used);
extern HHP_TLS const char *hhp_current_call; /* for error messages */

/* HOLEHEAP_CHECK=N with N > 1: every thread counts its calls; its N-th call
 * since the last full check runs hh_check on every arena first. With N >
 * HHP_CHECK_QUICK, every HHP_CHECK_QUICK-th call in between runs a quick
 * check (hh_check_near) on every arena: control block, fences, and the blocks
 * the thread's calls handed out, resized or freed since its last check, with
 * their neighbours. A problem aborts with one line. */
extern HHP_TLS size_t hhp_check_calls;
extern HHP_TLS unsigned hhp_check_noted;
extern HHP_TLS const void *hhp_check_ring[2 * HHP_CHECK_QUICK]; /* at most 2 a call (realloc) */
void hhp_check_step(void);
static inline void hhp_check_tick(void)
{
    if (__builtin_expect(hhp_cfg.check_every > 1, 0))
        hhp_check_step();
}
/* A block a call handed out, resized or freed, for the next quick check. */
static inline void hhp_check_note(const void *p)
{
    if (__builtin_expect(hhp_cfg.check_every > HHP_CHECK_QUICK, 0) && p != NULL)
        hhp_check_ring[hhp_check_noted++ % (2 * HHP_CHECK_QUICK)] = p;
}

/* ---- large.c ---- */

/* zero: the block must read as zeros (calloc); a reused mapping is cleared. */
void *hhp_large_alloc(size_t size, size_t align, bool zero);
/* p, a pointer no arena owns, must be a live large block that no realloc
 * holds: else the one-line abort (a block freed lately or held: "double
 * free" from free, "pointer already freed" from the others; anything else:
 * "invalid pointer"). */
size_t hhp_large_usable(const void *p);
void hhp_large_free(void *p);
/* realloc claims p (as a free does, in one step under the registry's lock)
 * for as long as it copies or resizes it: a free or realloc of p racing it
 * aborts instead of unmapping the block under the copy. Returns its usable
 * size. Then exactly one of: hhp_large_resize (non-NULL: done, no longer
 * held), hhp_large_free_held (copied elsewhere), hhp_large_unhold (p stays). */
size_t hhp_large_hold(void *p);
void *hhp_large_resize(void *p, size_t size); /* NULL: p unchanged, still held */
void hhp_large_free_held(void *p);
void hhp_large_unhold(void *p);
void hhp_large_stats(size_t *count, size_t *bytes, size_t *cached);
void hhp_large_lock(void);
void hhp_large_unlock(void);
void hhp_large_reset(void);

/* ---- tcache.c ---- */

void *hhp_tcache_take(size_t size);
/* free(p), p a block of owner, with the cache on: cached, chained for owner
 * or freed into the core; claimed first in every case (one compare-and-swap
 * on its marker word), so that of two frees of p at the same instant one
 * wins and the other aborts as a double free. */
void hhp_tcache_put(hhp_arena *owner, void *p);
/* p, a live block of the core (of any size), must not be in any cache,
 * remote chain or pending list: realloc and malloc_usable_size of a freed
 * block abort. */
void hhp_tcache_check_live(const void *p);
/* realloc holds p, a live block of a, against a free racing it: claimed as
 * a free claims it, so that a free or realloc of p by another thread
 * meanwhile aborts as a double free (before, it could cache p while the core
 * moved or shrank it: two blocks handed out over one); its first two words,
 * the program's, are kept, with p's usable size and its core header as
 * proved live. Then exactly one of: hhp_tcache_unhold, with a's lock held
 * since the hold, after the core's realloc returned q (NULL: p stays): puts
 * the words back where p's bytes are now and clears the claim the core left
 * at p; hhp_tcache_free_held: p was copied elsewhere (its first two words
 * from the hold), it goes to a bin, a remote chain or the core, as a free
 * sends it; hhp_tcache_release: p stays the program's, unchanged. */
typedef struct hhp_hold {
    uintptr_t words[2];     /* p's link and marker words as the program left them */
    uintptr_t link, marker; /* the claim */
    size_t usable;          /* p's usable size */
    uint64_t header;        /* p's core header, as proved live */
} hhp_hold;
void hhp_tcache_hold(hhp_arena *a, void *p, hhp_hold *hold);
void hhp_tcache_unhold(void *p, void *q, const hhp_hold *hold);
void hhp_tcache_free_held(hhp_arena *owner, void *p, const hhp_hold *hold);
void hhp_tcache_release(void *p, const hhp_hold *hold);
void hhp_tcache_keys(void);  /* draw the secrets (hhp_init, before the first block) */
void hhp_tcache_setup(void); /* the budget and the thread-exit hook (constructor) */
void hhp_tcache_flush(void);
/* Take the blocks other threads freed for this thread's arena (its pending
 * list), before an allocation the cache cannot serve. */
void hhp_tcache_drain(void);
/* The thread was bound to a for the first time: hook its exit, and take the
 * bins a thread that exited left at a. */
void hhp_tcache_bound(hhp_arena *a);
/* True while this thread caches more than a little (256 KiB) and a is its
 * arena: a must not grow. */
bool hhp_tcache_blocks_growth(const hhp_arena *a);
/* Give every cached block, the arena's pending blocks and the bins parked
 * there by an exited thread back to the core; false if there was none. */
bool hhp_tcache_give_back(void);

/* ---- trace.c ---- */

enum hhp_op {
    HHP_OP_MALLOC = 1,
    HHP_OP_FREE,
    HHP_OP_CALLOC,
    HHP_OP_REALLOC,
    HHP_OP_ALIGNED, /* memalign, aligned_alloc, posix_memalign, valloc, pvalloc */
};

extern bool hhp_tracing;
/* Tracing or HOLEHEAP_CHECK=N (N > 1): the entry points take their slow
 * branch (malloc.c). Set once at start-up. */
extern bool hhp_slow_calls;
void hhp_trace_open(const char *path);
bool hhp_trace_begin(void); /* false: do not trace this call (recursion) */
void hhp_trace_end(enum hhp_op op, const void *ptr, size_t a, size_t b, const void *result);
void hhp_trace_flush(void);
void hhp_trace_lock(void);
void hhp_trace_unlock(void);
void hhp_trace_reset(void);

/* ---- malloc.c: the core entry points the port uses, with arena routing ---- */

void *hhp_malloc(size_t size);
void hhp_free(void *p);

#endif /* HH_PORT_H */
