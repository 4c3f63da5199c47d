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
 *   hh_problem_count, which read without the lock, and an allocating call
 *   that calls on_oom, which unlocks around that call. hh_code_name and
 *   hh_min_region touch no heap. hh_check, hh_check_near, hh_walk and
 *   hh_map_text take the lock themselves and verify the control block in
 *   full; they record nothing, and HH_CHECK_ALWAYS does not apply to them.
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
    size_t region_bytes; /* bytes of the heap's regions now (grows and shrinks; the memory
                            between two regions, see hh_add_region, is not counted) */
    size_t used_bytes;   /* bytes in blocks, headers and footers included */
    size_t free_bytes;   /* bytes in holes and in the front (cached_bytes) */
    size_t blocks, holes, largest_hole;
    size_t peak_used_bytes; /* the most used_bytes has been since hh_init or the last
                               hh_stats_reset_peak, moments inside a call included (a moving
                               realloc holds both copies) */
    size_t cached_bytes;    /* of free_bytes, the bytes waiting in the front (see hh_trim), and
                               those put out of service after damage was found there */
    /* ---- added by issue 10 ---- */
    size_t free_low_bytes;     /* the fewest free_bytes the heap has had since hh_init or the last
                                  hh_stats_reset_peak (at the moment of peak_used_bytes, unless the
                                  heap grew, shrank or gained a region since) */
    size_t allocations;        /* blocks handed out: every hh_alloc, hh_calloc, hh_alloc_aligned
                                  that succeeded, and every realloc that moved its block or got NULL
                                  as p; since hh_init */
    size_t frees;              /* blocks given back: hh_free of a block, realloc to size 0, the old
                                  block of a moving realloc; always allocations - blocks */
    size_t failed_allocations; /* allocating calls that returned NULL without reporting a
                                  problem (out of memory, after the on_oom retry if any) */
    size_t frag_permille;      /* 1000 - 1000 * largest_hole / free_bytes, rounded down (0 when
                                  free_bytes is 0): how much of the free memory the largest
                                  request could not use; cached blocks count as free, not as holes */
    size_t frag_umm_percent;   /* umm_malloc's figure over the holes: 100 - 100 * isqrt(sum of
                                  g^2) / (sum of g), g each hole's size in 16-byte granules,
                                  integer arithmetic, isqrt rounded down (0 when no hole) */
} hh_stats;

/* One traced call (hh_options.on_trace). The fields mean what the text trace
 * format's fields mean (docs/trace-format.md). */
typedef enum hh_trace_op {
    HH_TRACE_MALLOC = 1, /* hh_alloc: size */
    HH_TRACE_FREE,       /* hh_free (p not NULL): ptr */
    HH_TRACE_CALLOC,     /* hh_calloc: count, size */
    HH_TRACE_REALLOC,    /* hh_realloc, hh_realloc_aligned: ptr, size (align: 0 for hh_realloc,
                            else the align asked, SIZE_MAX for an align of 0) */
    HH_TRACE_ALIGNED     /* hh_alloc_aligned: align, size */
} hh_trace_op;

typedef struct hh_trace_event {
    hh_trace_op op;
    const void *ptr;       /* the block passed in (free, realloc), else NULL */
    size_t size;           /* bytes asked (calloc: per element) */
    size_t count_or_align; /* calloc: count; aligned and realloc_aligned: align; else 0 */
    const void *result;    /* the block returned, NULL if none (always NULL for free) */
} hh_trace_event;

typedef struct hh_options {
    /* Make [end, end+n) usable, n >= min_bytes; return n, or 0 on failure.
     * The heap uses n rounded down to 16 and never more than max_size allows;
     * bytes past that stay the caller's (they are never offered to shrink). */
    size_t (*grow)(void *ctx, void *end, size_t min_bytes);
    /* [new_end, new_end+bytes) may be given back; return the bytes released,
     * which must be a multiple of 16 taken from the top: the heap then ends at
     * new_end + bytes - released. */
    size_t (*shrink)(void *ctx, void *new_end, size_t bytes);
    void (*lock)(void *ctx); /* both lock and unlock, or neither */
    void (*unlock)(void *ctx);
    /* Called for every detected misuse or corruption, with the lock held. */
    void (*on_error)(void *ctx, const hh_problem *problem);
    void *ctx;
    size_t max_size; /* the heap never grows past mem + max_size (0: no growth) */
    uint32_t key;    /* mixed into every check value (0: a fixed default) */
    uint32_t flags;  /* HH_CHECK_ALWAYS, HH_POISON, HH_STRICT, HH_CANARY */
    /* Out of memory: called when an allocating call (hh_alloc, hh_calloc,
     * hh_alloc_aligned, hh_realloc, hh_realloc_aligned) is about to return NULL
     * with no problem reported (the front flushed, growth tried), with the
     * size asked (calloc: n * size), WITHOUT the lock held: it may free blocks of this heap (a
     * cache) and call hh_trim. Non-zero asks for one retry of the call; the
     * retry's failure returns NULL without a second call. */
    int (*on_oom)(void *ctx, size_t size);
    /* Trace: called once for every call that allocates, frees or reallocates
     * (a failed one too: result NULL), WITH the lock held, in the order the
     * calls took effect; it must not call this heap. hh_trace_format
     * formats an event as a line of the holeheap tool's text trace format. */
    void (*on_trace)(void *ctx, const struct hh_trace_event *event);
    /* Setting either hook sends every call through the general path (a lock
     * alone no longer does: malloc and free of a heap with a lock take the
     * fast paths under it); with both NULL (the default) they cost nothing. */
} hh_options;

/* hh_options.flags */
enum {
    HH_CHECK_ALWAYS = 1u << 0, /* full hh_check before and after every call */
    HH_POISON = 1u << 1,       /* fill holes with a pattern and verify it before a hole is
                                  reused, merged, grown or trimmed: O(hole size) a call */
    HH_STRICT = 1u << 2,       /* no front: every request gets exact best fit over all free
                                  memory, placement is deterministic, O(log span) per call
                                  (O(log^2 span) for a call whose hole widens its bin's key:
                                  docs/design.md) */
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
    HH_E_REGION,      /* hh_add_region: a region the heap cannot take (see there) */
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
 * A request of at most 512 bytes takes a freed block of its size from the
 * front when one waits there, else one up to 32 bytes larger (O(1); its
 * usable size says so); otherwise, and always with
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
 * first when the block is at its end), else moves into the best-fitting hole
 * (allocates, copies, frees); it slides instead into the hole before it
 * (with the one after it, if any: the bytes move down in place, no second
 * block is needed) when that holds it and no other hole of the index does or
 * the best fit is that hole itself (the front's cached blocks are not looked
 * at for this choice). A moved block keeps the
 * alignment p had: its new address is aligned to the largest power of two
 * dividing p, up to 64 KiB (HH_REALLOC_KEEP_ALIGN in config.h; the heap does
 * not record the alignment asked, so a block that sits on a boundary by
 * chance keeps it too, and a block allocated with more than 64 KiB alignment
 * needs hh_realloc_aligned to keep it). Returns NULL with p untouched and
 * still allocated exactly when (besides the contract above): p is not a live
 * block of h (HH_E_BAD_POINTER, HH_E_DOUBLE_FREE reported) or its tags fail
 * their check (HH_E_CORRUPT reported: a write past its end); size >
 * HH_MAX_REQUEST (HH_E_BAD_SIZE reported); a neighbour's tags fail their
 * check (HH_E_CORRUPT reported); the block must move and no hole holds it at
 * that alignment, even after growth (and on_oom's retry). O(log span), plus
 * O(size) to copy when it moves and a flush of the front when hh_alloc would
 * flush; O(blocks) when the aligned move needs hh_alloc_aligned's last-resort
 * scan. */
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

/* hh_usable_size without the lock, for a caller that holds many threads'
 * frees (the drop-in malloc's per-thread cache): the usable size of the live
 * block at p when its own tags prove it one (a sealed header of a live block
 * at p, a size that ends below limit, a footer equal to the header), else 0
 * with nothing reported or recorded: p NULL, outside [heap start, limit),
 * not the start of a block, freed, damaged, or a heap of more than one
 * region or with HH_CANARY, HH_POISON, HH_CHECK_ALWAYS or a hook. On 0 the
 * caller asks hh_usable_size, which reports. Reads p's header and footer
 * and, of the control block, the gate and what it covers (base, end, the
 * bound of the first region, flags, the front's size), nothing else: safe while other threads use h
 * when [h, limit) stays readable meanwhile (the caller keeps it mapped) and
 * p is not being freed by another thread. Of the control block it compares
 * the entry gate (liveness, bounds, flags), as every call does. The fields
 * and tags another thread may be writing are read by relaxed atomic loads
 * (the control block's fields are also written by relaxed atomic stores;
 * the tags are written by plain stores, which race with these loads only
 * when a program frees a block it does not own; a torn read gives 0). A block's header, the 8
 * bytes before p, changes whenever the block stops being live (freed,
 * merged, cached in the front, trimmed away), and a block is never live for
 * a moment only (a shrinking realloc's tail is never one): a caller that
 * read them before this call and finds them unchanged after it knows p was
 * live all along. O(1). */
size_t hh_usable_size_peek(const hh_heap *h, const void *p, const void *limit);

/* hh_usable_size_peek, and, when it returns more than 0, the 8 bytes of p's
 * header that it proved in *header (not NULL), as one value (the header read
 * as a uint64_t): read again later, a different value says that the block
 * stopped being live in between (above). The same value does not prove
 * the contrary in every case: a block freed and handed out again at the
 * same place and size (the front's lists are last in, first out) has the
 * same header again. O(1). */
size_t hh_usable_size_peek_header(const hh_heap *h, const void *p, const void *limit, uint64_t *header);

/* Walk the whole heap and verify every invariant of docs/design.md.
 * Returns 0 (HH_OK) if consistent; else the first problem's HH_E_* code, and
 * *out (if not NULL) names it. h NULL gives HH_E_BAD_POINTER; a heap that is
 * not live or fails I1 gives HH_E_CORRUPT. Does not call on_error and records
 * nothing (hh_last_problem is unchanged). Takes the lock. O(blocks + holes
 * log holes), plus O(span) with HH_POISON. */
int hh_check(hh_heap *h, hh_problem *out);

/* Running totals, O(1) but for largest_hole and frag_permille (O(log span)
 * with the default index). Blocks in the front (freed, waiting for a request
 * of their size) count as free: blocks and used_bytes are what the program
 * holds; free_bytes includes the front's cached_bytes. All regions are
 * counted (hh_add_region). out NULL: does nothing. By the contract above (h
 * NULL, not live, I1): *out is all zeros. Takes the lock. */
void hh_stats_get(hh_heap *h, hh_stats *out);

/* Give every block in the front back to the index (merging it with its
 * neighbours), then offer all trailing free memory beyond the heap's initial
 * size back through shrink (a minimal hole stays). Damage found in the front
 * while flushing is reported (HH_E_INDEX, HH_E_CORRUPT; the damaged list's
 * blocks stay out of service), as is a shrink callback's impossible answer
 * (HH_E_CALLBACK); the rest of the flush goes on. O(cached blocks * log span). */
void hh_trim(hh_heap *h);

/* ---- additions beside the fixed API ---- */

/* aligned realloc: as hh_realloc, and the block returned is aligned to align
 * (a power of two, at most HH_MAX_ALIGN; else, 0 included, HH_E_BAD_ALIGN,
 * NULL, p untouched, even for size 0). p stays where it is when it is already aligned and the size
 * fits in place; else it moves (into the hole before it when that fits,
 * else to a new aligned block). p NULL is hh_alloc_aligned(size, align); size
 * 0 frees p and returns NULL. An alignment of 16 or less asks for nothing
 * more than hh_alloc's: the block may then lose a larger alignment it had.
 * Complexity and failure as hh_alloc_aligned plus the copy; on failure p is
 * untouched. h NULL or destroyed: NULL. Takes the lock. */
void *hh_realloc_aligned(hh_heap *h, void *p, size_t size, size_t align);

/* Add the memory [mem, mem+size) to a live heap as a separate region (a second
 * RAM bank, another SRAM). Returns 0, or an HH_E_* code having written
 * nothing: HH_E_BAD_POINTER for h NULL or not a live heap; the code hh_check
 * gives when the heap fails it (the call runs it first: O(blocks + holes log
 * holes)); HH_E_REGION when mem is NULL, the region is too small to hold a
 * minimal hole (with the table build: and the index's larger table, when the
 * old one is too small for the heap's new span), lies below or overlaps the
 * heap's highest address so far (its end, and the range max_size lets it grow
 * into: regions are added in ascending order of address), is too far from the
 * heap's first block (the heap, from its first block to the new region's end
 * and growth, spans at most HH_MAX_SPAN: 16 GiB on 64-bit targets), or the
 * heap has HH_MAX_REGIONS regions already (config.h, 8 by default).
 * The memory between the heap's last region and the new one is never read or
 * written (the heap keeps 8 bytes of sealed tag at each side of it, in the two
 * regions): it becomes one sealed span that no call allocates, merges, walks
 * (hh_walk) or counts as free. A block never spans two regions. The new
 * region becomes the last: growth continues at its end (up to mem + max_size
 * when the heap has grow: the same limit the first region had) and trimming
 * never shrinks it below mem + size. Takes the lock. */
int hh_add_region(hh_heap *h, void *mem, size_t size);

/* The largest request that hh_alloc serves now without growing the heap:
 * hh_alloc(h, hh_max_alloc(h)) succeeds and a request one byte larger would
 * need growth (or fail), in every mode (front or HH_STRICT) and over every
 * region. 0 when no request at all can be served. Exact while the heap is
 * consistent (hh_check passes). O(log span) with the default index while the
 * front is empty; O(blocks) when the front holds blocks (those merge with the
 * holes around them before a large request fails, so the walk finds the
 * largest run). h NULL or destroyed: 0. Takes the lock. */
size_t hh_max_alloc(hh_heap *h);

/* Restart peak_used_bytes and free_low_bytes from the heap's present use. O(1);
 * h NULL or destroyed: nothing. Takes the lock. */
void hh_stats_reset_peak(hh_heap *h);

/* Write event as one line of the holeheap tool's text trace format
 * (docs/trace-format.md: "malloc 100 = 0x5a3010", "free 0x5a3010", ...; a
 * realloc_aligned is written as a realloc), with its newline, into buf,
 * NUL-terminated when cap allows. Returns the length of the whole line (not
 * counting the NUL); when that is cap or more the line was cut (buf NULL with
 * cap 0 measures it). event NULL writes an empty line. No lock, no heap: safe
 * inside on_trace. A firmware prints "holeheap-trace 1" before the
 * first line and "end" after the last. */
size_t hh_trace_format(const hh_trace_event *event, char *buf, size_t cap);

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

/* Part of hh_check, for checking often between full checks: I1 (the control
 * block) and I2 (the fences), then, for each of the n pointers (ptrs may be
 * NULL when n is 0), the span whose payload it is and that span's two
 * neighbours: I3-I6 (tags sealed, sizes sound, footer equal to header) and
 * I15 (a neighbour between regions). A pointer that is no span's payload (any
 * more: freed and merged, the memory perhaps another block's now; outside h)
 * is skipped, unless the span before it provably ends where its header should
 * be and that header is damaged. So stale pointers are fine: pass the blocks
 * recently allocated, reallocated and freed, around which damage is likeliest
 * (an overflow of a new block, a write after free). Returns as hh_check does,
 * records nothing, does not call on_error. Takes the lock. O(n) (and
 * O(regions)). */
int hh_check_near(hh_heap *h, const void *const *ptrs, size_t n, hh_problem *out);

/* One block or hole as hh_walk shows it. */
typedef struct hh_span {
    const void *start; /* its header */
    size_t size;       /* header to end of footer */
    void *payload;     /* what hh_alloc returned for it (for holes: the unused bytes) */
    bool is_hole;
} hh_span;

/* Call visit for every block and hole in address order, over every region
 * (the memory between two regions is no span and is not visited), while it returns 0;
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
 * cut to cap - 1. The memory between two regions (hh_add_region) shows as ' '
 * where a cell holds nothing else. Takes the lock. O(blocks + holes + columns). */
size_t hh_map_text(hh_heap *h, char *buf, size_t cap, size_t columns);

#ifdef __cplusplus
}
#endif

#endif /* HOLEHEAP_H */
