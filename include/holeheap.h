/*
 * holeheap: a checkable blocks-and-holes heap over memory its caller hands it.
 *
 * Freestanding: this header includes only <stddef.h>, <stdint.h> and <stdbool.h>
 * (none at all under HH_NO_STDINC, below).
 * The library calls nothing outside itself but memcpy, memset and memmove.
 *
 * Thread safety: a heap is safe to share between threads only when the caller
 * supplies lock/unlock callbacks in hh_options; otherwise the caller serialises
 * every call on one heap. Different heaps never share state.
 *
 * Conventions for every function below that takes a block pointer p: p must be
 * NULL or a pointer returned by this heap and not yet freed. Anything else is
 * detected (see "Bad input" in docs/design.md), reported through on_error and
 * the call then does nothing: it returns NULL, 0 or void as its kind allows.
 *
 * The contract, for every function that takes a heap h (each comment below
 * lists the rest of its failures exhaustively):
 * - h NULL, or not a live heap (its control block's magic is gone: never
 *   initialised, overwritten, or the region reused): the call does nothing,
 *   records nothing (there is no heap to record into) and returns NULL, 0, -1
 *   or HH_E_CORRUPT as its comment says. The same when the fields guarding a
 *   heap's lock (lock, unlock, ctx and their check value) are overwritten:
 *   the lock cannot be trusted, so nothing is recorded.
 * - A live heap whose control block fails its check value (I1: a stray write
 *   over flags, bounds, callbacks or key). Every call compares one gate word
 *   on entry, covering liveness, the bounds and the front's size limit, and,
 *   on a heap with a lock or a slow flag, the lock's own check value; when
 *   that fails, the call does nothing and returns NULL/0/void. The rest of
 *   the control block (the other flags, callbacks, key and secrets, limits)
 *   is verified in full before a callback is called, before anything is set
 *   aside as damaged, and by hh_check: when that fails, the call refuses
 *   there. Either way the problem is recorded (hh_last_problem,
 *   hh_problem_count) but on_error is not called, since no callback of that
 *   block is trusted. A stray write that the gate does not cover and no
 *   such step meets goes unseen until hh_check.
 * - With HH_CHECK_ALWAYS, a failed full check before the call is reported
 *   (on_error) and the call does nothing.
 * - "Reported" means: recorded, then passed to on_error (if set) with the
 *   lock held, once per problem found. A call stops at the first problem in
 *   what it was asked to do; a call that flushes the front (an allocation
 *   the index cannot serve, hh_trim) goes on past a damaged list, and
 *   reports each damaged list it meets.
 * - Locking: every function taking h calls lock before it reads the heap and
 *   unlock before it returns, on every path, except hh_last_problem and
 *   hh_problem_count, which read without the lock. hh_code_name and
 *   hh_min_region touch no heap. hh_check, hh_walk and hh_map_text take the
 *   lock themselves and verify the control block in full; they record
 *   nothing, and HH_CHECK_ALWAYS does not apply to them.
 * - Complexity is given for the default build (fast index); "span" is the
 *   heap's size in bytes. HH_CHECK_ALWAYS adds O(blocks + holes log holes) to
 *   every call; HH_POISON adds O(size of the holes a call reuses, merges,
 *   grows or trims).
 */
#ifndef HOLEHEAP_H
#define HOLEHEAP_H

/* Without the compiler's headers (-nostdinc, as the classic kernel tutorial
 * builds): define HH_NO_STDINC, or nothing where __has_include can tell that
 * <stdint.h> is missing (gcc 10+, clang). The types then come from the
 * compiler's predefined macros (__SIZE_TYPE__, __UINT32_TYPE__, ...). */
#if !defined(HH_NO_STDINC) && defined(__has_include)
#if !__has_include("stdint.h") /* quoted: gcc refuses <> when -nostdinc leaves no path */
#define HH_NO_STDINC 1
#endif
#endif
#ifndef HH_NO_STDINC
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#else
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT32_TYPE__ int32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __INTPTR_TYPE__ intptr_t;
#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef SIZE_MAX
#define SIZE_MAX __SIZE_MAX__
#endif
#ifndef UINT32_MAX
#define UINT32_MAX __UINT32_MAX__
#endif
#ifndef UINT64_MAX
#define UINT64_MAX __UINT64_MAX__
#endif
#ifndef UINTPTR_MAX
#define UINTPTR_MAX __UINTPTR_MAX__
#endif
#if !defined(__cplusplus) && !defined(__bool_true_false_are_defined)
#define bool _Bool
#define true 1
#define false 0
#define __bool_true_false_are_defined 1
#endif
#endif /* HH_NO_STDINC */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hh_heap hh_heap; /* opaque; lives inside the region */

/* A detected problem: its HH_E_* code, the address involved, a static text,
 * and, when the problem lies inside a live block (a canary found damaged,
 * HH_CANARY), that block's payload: the damaged byte is then at offset
 * (char *)where - (char *)block of the block. */
typedef struct hh_problem {
    int code;
    const void *where;
    const char *what;
    const void *block; /* NULL unless the problem lies inside a live block */
} hh_problem;

typedef struct hh_stats {
    size_t region_bytes; /* bytes the heap spans now (grows and shrinks) */
    size_t used_bytes;   /* bytes in blocks, headers and footers included */
    size_t free_bytes;   /* bytes in holes and in the front (cached_bytes) */
    size_t blocks, holes, largest_hole, peak_used_bytes;
    size_t cached_bytes; /* of free_bytes, the bytes waiting in the front (see hh_trim), and
                            those put out of service after damage was found there */
} hh_stats;

typedef struct hh_options {
    /* Make [end, end+n) usable, n >= min_bytes; return n, or 0 on failure.
     * The heap uses n rounded down to 16 and never more than max_size allows;
     * bytes past that stay the caller's (they are never offered to shrink). */
    size_t (*grow)(void *ctx, void *end, size_t min_bytes);
    /* [new_end, new_end+bytes) may be given back; return the bytes released,
     * which must be a multiple of 16 taken from the top: the heap then ends at
     * new_end + bytes - released. */
    size_t (*shrink)(void *ctx, void *new_end, size_t bytes);
    void (*lock)(void *ctx);   /* both lock and unlock, or neither */
    void (*unlock)(void *ctx);
    /* Called for every detected misuse or corruption, with the lock held. */
    void (*on_error)(void *ctx, const hh_problem *problem);
    void *ctx;
    size_t max_size; /* the heap never grows past mem + max_size (0: no growth) */
    uint32_t key;    /* mixed into every check value (0: a fixed default) */
    uint32_t flags;  /* HH_CHECK_ALWAYS, HH_POISON, HH_STRICT, HH_CANARY */
} hh_options;

/* hh_options.flags */
enum {
    HH_CHECK_ALWAYS = 1u << 0, /* full hh_check before and after every call */
    HH_POISON = 1u << 1,       /* fill holes with a pattern and verify it before a hole is
                                  reused, merged, grown or trimmed: O(hole size) a call */
    HH_STRICT = 1u << 2,       /* no front: every request gets exact best fit over all free
                                  memory, placement is deterministic, O(log span) per call */
    /* Remember each block's requested size: the 8 bytes before its footer
     * hold it, keyed (every block is 8 bytes larger), and the slack between
     * the request and that record is filled with HH_CANARY_BYTE. Both are
     * verified at free, realloc, hh_usable_size (which then returns the
     * requested size) and by hh_check (I14), so a write of even one byte
     * past the requested size is reported (HH_E_CORRUPT, problem.block the
     * block, problem.where the first damaged byte) and the call does
     * nothing. O(slack) a call, under 64 bytes; the fast paths are off. */
    HH_CANARY = 1u << 3
};

/* Problem codes. The first five are fixed; the rest are holeheap's own. */
enum {
    HH_OK = 0,
    HH_E_BAD_POINTER, /* not a live block of this heap: outside, interior, misaligned */
    HH_E_DOUBLE_FREE, /* the block is already free: a hole, or waiting in the front */
    HH_E_CORRUPT,     /* a header, footer or fence failed its check value */
    HH_E_INDEX,       /* the hole index disagrees with the heap */
    HH_E_BAD_SIZE,    /* a size no heap could serve: SIZE_MAX, n*size overflow */
    HH_E_BAD_ALIGN,   /* alignment zero, not a power of two, or too large */
    HH_E_POISON,      /* a hole's poison pattern changed: a write after free */
    HH_E_STATS,       /* the running totals disagree with the walk */
    HH_E_CALLBACK,    /* grow or shrink returned an impossible value */
    HH_E_COUNT
};

/* Start a heap in [mem, mem+size). The heap's control data lives at the start
 * of the region. opt NULL means defaults (no growth, no lock, key 0, no flags).
 * Returns NULL, having written nothing, exactly when: mem is NULL; size is
 * below what this alignment of mem needs (at most hh_min_region() when
 * max_size is 0; the ordered-table build also needs room for a table sized
 * for max_size); size is
 * above HH_MAX_SPAN; mem + size or mem + max_size wraps past the address
 * space; only one of lock and unlock is set; flags holds an unknown bit;
 * max_size is non-zero and below size, above HH_MAX_SPAN, or set without
 * grow. Calls no callback. O(1); O(size) with HH_POISON (the first hole is
 * filled). A region may be handed to hh_init again to start over: the old
 * heap is gone (there is no destroy call; the memory is the caller's). */
hh_heap *hh_init(void *mem, size_t size, const hh_options *opt);

/* malloc: at least size bytes, 16-aligned (on 32-bit targets too). size 0
 * gives a unique minimal block. Returns NULL exactly when (besides the
 * contract above): size > HH_MAX_REQUEST (HH_E_BAD_SIZE reported); no hole
 * fits after the front is flushed and growth is not configured, would pass
 * max_size, or grow returns 0 (nothing reported) or fewer bytes than asked
 * (HH_E_CALLBACK reported); the hole or front block it was about to use, or
 * an index link on the way to it, fails its check (HH_E_CORRUPT, HH_E_INDEX
 * or HH_E_POISON reported; that memory is set aside) and nothing else fits.
 * A request of at most 512 bytes takes a freed block of exactly its size
 * from the front when one waits there (O(1)); otherwise, and always with
 * HH_STRICT, exact best fit: the smallest hole that fits, the lowest address
 * among equals. O(log span) with the default index, O(holes) with the
 * ordered table; a flush of the front adds O(cached blocks * log span). */
void *hh_alloc(hh_heap *h, size_t size);

/* aligned_alloc: align is a power of two, at most HH_MAX_ALIGN (1 GiB);
 * align <= 16 is hh_alloc. Returns NULL exactly when (besides the contract
 * above): align is 0, not a power of two or above HH_MAX_ALIGN
 * (HH_E_BAD_ALIGN reported); size > HH_MAX_REQUEST (HH_E_BAD_SIZE
 * reported); no hole can hold the aligned block after the front is flushed,
 * growth fails as for hh_alloc, and a scan of every hole finds none; a check
 * fails as for hh_alloc and nothing else fits. Takes the best fit for size
 * if it can be aligned, else the best fit for size + align + 32, else
 * flushes the front (O(cached blocks * log span)) and tries again, else
 * grows; O(log span). Only when all that fails it scans the heap
 * (O(blocks)). */
void *hh_alloc_aligned(hh_heap *h, size_t size, size_t align);

/* calloc: n*size zeroed bytes. Returns NULL exactly when n*size overflows
 * (HH_E_BAD_SIZE reported) or hh_alloc(h, n*size) would. hh_alloc's
 * complexity, plus O(n*size) to zero the block (outside the lock). */
void *hh_calloc(hh_heap *h, size_t n, size_t size);

/* realloc: p NULL is hh_alloc(size); size 0 is hh_free(p) and returns NULL.
 * Shrinks in place, grows in place into a following hole (growing the heap
 * first when the block is at its end), else moves (allocates, copies, frees).
 * Returns NULL with p untouched and still allocated exactly when (besides the
 * contract above): p is not a live block of h (HH_E_BAD_POINTER,
 * HH_E_DOUBLE_FREE reported) or its tags fail their check (HH_E_CORRUPT
 * reported: a write past its end); size > HH_MAX_REQUEST (HH_E_BAD_SIZE
 * reported); a neighbour's tags fail their check (HH_E_CORRUPT reported);
 * the block must move and hh_alloc(h, size) fails as above. O(log span),
 * plus O(size) to copy when it moves and a flush of the front when
 * hh_alloc would flush. */
void *hh_realloc(hh_heap *h, void *p, size_t size);

/* free: p NULL does nothing. A block of at most 528 bytes (with its tags)
 * waits in the front while the front has room and neither neighbour is a
 * hole (O(1)); any other coalesces with both neighbours and may give the
 * heap's trailing memory back through shrink (O(log span)). The front is
 * off with HH_STRICT, HH_POISON and HH_CHECK_ALWAYS. Does nothing but
 * report when p is not a live block of h (HH_E_BAD_POINTER;
 * HH_E_DOUBLE_FREE for a block already freed), its tags fail their check
 * (HH_E_CORRUPT), a neighbour's tags fail their check (HH_E_CORRUPT), or
 * the index holding a neighbouring hole is found damaged (HH_E_INDEX; that
 * tree is set aside): in all these cases p stays allocated. A shrink
 * callback that returns an impossible value is reported (HH_E_CALLBACK)
 * and the memory kept. */
void hh_free(hh_heap *h, void *p);

/* malloc_usable_size: bytes usable at p (>= the size asked for). Returns 0
 * exactly when p is NULL, when p is not a live block of h or its tags fail
 * their check (reported as by hh_free), or by the contract above. O(1). */
size_t hh_usable_size(hh_heap *h, const void *p);

/* Walk the whole heap and verify every invariant of docs/design.md.
 * Returns 0 (HH_OK) if consistent; else the first problem's HH_E_* code, and
 * *out (if not NULL) names it. h NULL gives HH_E_BAD_POINTER; a heap that is
 * not live or fails I1 gives HH_E_CORRUPT. Does not call on_error and records
 * nothing (hh_last_problem is unchanged). Takes the lock. O(blocks + holes
 * log holes), plus O(span) with HH_POISON. */
int hh_check(hh_heap *h, hh_problem *out);

/* Running totals, O(1) but for largest_hole (O(log span)). Blocks in the
 * front (freed, waiting for a request of their size) count as free: blocks
 * and used_bytes are what the program holds; free_bytes includes the front's
 * cached_bytes. out NULL: does nothing. By the contract above (h NULL, not
 * live, I1): *out is all zeros. */
void hh_stats_get(hh_heap *h, hh_stats *out);

/* Give every block in the front back to the index (merging it with its
 * neighbours), then offer all trailing free memory beyond the heap's initial
 * size back through shrink (a minimal hole stays). Damage found in the front
 * while flushing is reported (HH_E_INDEX, HH_E_CORRUPT; the damaged list's
 * blocks stay out of service), as is a shrink callback's impossible answer
 * (HH_E_CALLBACK); the rest of the flush goes on. O(cached blocks * log span). */
void hh_trim(hh_heap *h);

/* ---- additions beside the fixed API ---- */

/* The largest alignment hh_alloc_aligned accepts. */
#define HH_MAX_ALIGN ((size_t)1 << 30)

/* The most a heap can span (region plus growth): 16 GiB on 64-bit targets,
 * the whole address space on 32-bit ones. */
#if SIZE_MAX > 0xFFFFFFFFu
#define HH_MAX_SPAN ((size_t)1 << 34)
#else
#define HH_MAX_SPAN SIZE_MAX
#endif

/* The largest request any call accepts (above it: HH_E_BAD_SIZE), chosen so
 * that no padded or aligned size computed from a request can wrap. Whether
 * it fits is up to the heap's span. */
#define HH_MAX_REQUEST (HH_MAX_SPAN - HH_MAX_ALIGN - 128)

/* One block or hole as hh_walk shows it. */
typedef struct hh_span {
    const void *start; /* its header */
    size_t size;       /* header to end of footer */
    void *payload;     /* what hh_alloc returned for it (for holes: the unused bytes) */
    bool is_hole;
} hh_span;

/* Call visit for every block and hole in address order while it returns 0;
 * returns the first non-zero value visit returned, or 0, or -1 when a tag is
 * corrupt (the walk stops there; hh_check says more), when h or visit is
 * NULL, or by the contract above. Cached blocks in the front are free memory
 * and shown as holes (is_hole true). Takes the lock for the whole walk: visit must not
 * call back into h. O(blocks + holes). */
int hh_walk(hh_heap *h, int (*visit)(void *ctx, const hh_span *span), void *ctx);

/* The most recent problem reported by any call on this heap (code HH_OK if
 * none yet); *out (if not NULL) gets it. Returns its code; HH_E_CORRUPT (and
 * *out untouched) when h is NULL or not live. Also how problems are seen
 * when no on_error callback is set. Reads without the lock: a record read
 * while another thread reports may mix two problems. O(1). */
int hh_last_problem(hh_heap *h, hh_problem *out);

/* Number of problems reported on this heap since hh_init; 0 when h is NULL
 * or not live. Reads without the lock. O(1). */
size_t hh_problem_count(hh_heap *h);

/* A static name for a code: "HH_E_DOUBLE_FREE", ...; "HH_E_?" if unknown. */
const char *hh_code_name(int code);

/* Smallest size hh_init accepts for this build with max_size 0, at any
 * alignment of mem (control data, fences and one hole). The ordered-table
 * build needs more when max_size is set: its table is sized for max_size. */
size_t hh_min_region(void);

/* Bytes of per-block overhead (header plus footer). */
#define HH_OVERHEAD 16

/* Write a one-line text map of the heap into buf (NUL-terminated, at most cap
 * bytes): each of `columns` cells covers an equal share of the region and shows
 * '#' all in blocks, '.' all in holes, '+' both, '=' control data. Returns the
 * number of characters written, not counting the NUL: 0 (buf "" when cap > 0)
 * when buf is NULL, cap or columns is 0, or by the contract above. columns is
 * cut to cap - 1. Takes the lock. O(blocks + holes + columns). */
size_t hh_map_text(hh_heap *h, char *buf, size_t cap, size_t columns);

#ifdef __cplusplus
}
#endif

#endif /* HOLEHEAP_H */
