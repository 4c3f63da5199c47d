/*
 * The heap's control block (struct hh_heap: the public header's opaque
 * hh_heap) and the functions the core's files share. Internal to the core.
 *
 * The control block sits at the start of the region, before the blocks
 * (docs/design.md, "The region"). tag.h lays out the blocks and tags after it
 * and computes, from the keys kept here, both the tags' seals and the control
 * block's own check value (control_seal, the gate, the lock's seal: I1).
 */
#ifndef HH_HEAP_H
#define HH_HEAP_H

#include "config.h"
#include "holeheap.h"
#include "index.h"

/* Spans between regions (hh_add_region), one less than the regions: tag.h
 * draws one. */
#define GAPS_MAX (HH_MAX_REGIONS - 1u)

/* Internal flag: a hook is set (on_oom, on_trace): every call takes the general
 * path, as with a slow flag. Not accepted from hh_options.flags. */
#define HH_HOOKED (1u << 30)

/* The front: exact-size lists of recently freed small blocks (HH_FRONT_*). */
#define FRONT_LISTS (HH_FRONT_MAX_G + 1u)

struct hh_heap {
    /* checked on entry to every call: gate == magic ^ fold(base, end) when no
     * slow bit is set (I1) */
    uint32_t gate;
    uint32_t magic; /* HH_MAGIC ^ key: identifies a live control block */
    uint32_t key;
    uint32_t key1;          /* derived from key: enters every seal first */
    uint32_t key2;          /* derived from key: enters every seal between its two mixes */
    uint32_t key3;          /* derived from key: enters every seal last */
    uint32_t link_key;      /* derived from key: keys the canary record (no longer the front's links) */
    uint32_t state_mask[4]; /* derived from key: xored into a seal by the tag's state */
    uint32_t flags;
    uint32_t front_max_g; /* largest block the front keeps, in granules (0: no front) */
    uint32_t pos_fast;    /* every position below it is inside the heap and in no gap between
                             regions: the span in granules, or the first gap's start (in the gate) */
    char *base;           /* header of the first block */
    char *end;            /* the epilogue fence; the region ends at end + 8 */
    char *floor_end;      /* end at hh_init: never shrink below */
    char *limit_end;      /* the furthest end growth may reach */
    char *mem;            /* start of the region */
    size_t (*grow)(void *ctx, void *end, size_t min_bytes);
    size_t (*shrink)(void *ctx, void *new_end, size_t bytes);
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void (*on_error)(void *ctx, const hh_problem *problem);
    void *ctx;
    size_t front_limit; /* most bytes the front holds */
    int (*on_oom)(void *ctx, size_t size);
    void (*on_trace)(void *ctx, const hh_trace_event *event);
    size_t region_max;  /* hh_options.max_size: how far the last region may grow from its start */
    uint32_t gap_count; /* spans between regions (one less than the regions), in address order: */
    uint32_t gap_lo[GAPS_MAX], gap_hi[GAPS_MAX]; /* [gap_lo, gap_hi) in positions */
    size_t gap_bytes;                            /* bytes of those spans (their tags included) */
    size_t outside_bytes;                        /* of gap_bytes, those that lie in no region */
    uint32_t lock_seal;                          /* over lock, unlock, ctx and key: checked before the lock is taken */
    uint32_t control_seal;                       /* over everything above but gate and itself, and idx.pos_bits (I1) */
    /* ---- running state, not sealed ---- */
    uint32_t front_head[FRONT_LISTS];  /* position of the first cached block of each size, HH_NIL */
    uint32_t front_count[FRONT_LISTS]; /* blocks in each list */
    size_t front_bytes;                /* bytes of the blocks in the lists (each list counts its own) */
    size_t lost_bytes, lost_blocks;    /* cached blocks out of service: their list was damaged, or their merge failed */
    size_t trim_keep;                  /* bytes of the last hole trimming keeps (grows on re-growth) */
    size_t last_trim;                  /* bytes the last trim gave back, until the next growth */
    size_t used_bytes, free_bytes, blocks, holes;
    size_t peak_used_bytes; /* the most used_bytes since the arena last changed size (or the
                               last reset): with the arena, it gives the low-water mark */
    size_t peak_before;     /* the most used_bytes before that */
    size_t free_low_before; /* the fewest free bytes before that (SIZE_MAX: none yet) */
    size_t allocations, failed_allocations;
    uint64_t hole_square_g; /* sum over the holes of (size in granules)^2 */
    size_t problems;
    hh_problem last;
    idx_state idx;
};

/* ---- shared between the core's files (defined in heap.c and check.c) ---- */

/* Record a problem and pass it to on_error; false (I1 recorded instead) when
 * the control block fails its check. */
bool heap_report(hh_heap *h, int code, const void *where, const char *what);
/* The same for a problem inside the live block whose payload is `block`. */
bool heap_report_in_block(hh_heap *h, int code, const void *block, const void *where, const char *what);
/* Before setting damaged memory aside: true if the control block is sound,
 * else I1 is recorded, false returned, and the caller sets nothing aside. */
bool heap_damage_sound(hh_heap *h);
/* hh_check without taking the lock. */
int heap_check_unlocked(hh_heap *h, hh_problem *out);

#endif /* HH_HEAP_H */
