/*
 * The block layout and the heap's control block. Internal to the core.
 *
 *   region: | hh_heap | index table (table build only) | pad | P | blocks and holes ... | E | pad |
 *
 *   P = prologue fence (8 bytes), E = epilogue fence (8 bytes), both sealed tags of size 0.
 *   base = the first block's header, at P + 8; every header sits at 8 mod 16.
 *
 *   one block or hole of `size` bytes (a multiple of 16, at least 32):
 *
 *     b          b+8                                   b+size-8   b+size
 *     +----------+-------------------------------------+----------+
 *     |  header  |  payload (16-aligned), size-16 bytes |  footer  |  next header ...
 *     +----------+-------------------------------------+----------+
 *
 *   header and footer are the same 8 bytes:
 *     word = (size / 16) << 1 | is_hole
 *     seal = mix(word, key, HH_MAGIC, position of b in granules)
 *   A hole's first 16 payload bytes belong to the hole index (its node).
 */
#ifndef HH_TAG_H
#define HH_TAG_H

#include "config.h"
#include "holeheap.h"
#include "index.h"

#define HH_GRANULE 16u
#define HH_TAG_BYTES 8u
#define HH_MIN_BLOCK 32u /* header, 16-byte index node, footer */
#define HH_NIL 0xFFFFFFFFu

typedef struct tag {
    uint32_t word;
    uint32_t seal;
} tag;

_Static_assert(sizeof(tag) == HH_TAG_BYTES, "a tag is 8 bytes");
_Static_assert(2 * HH_TAG_BYTES == HH_OVERHEAD, "overhead is one header and one footer");

struct hh_heap {
    uint32_t magic; /* HH_MAGIC ^ key: identifies a live control block */
    uint32_t key;
    uint32_t flags;
    char *base;       /* header of the first block */
    char *end;        /* the epilogue fence; the region ends at end + 8 */
    char *floor_end;  /* end at hh_init: never shrink below */
    char *limit_end;  /* the furthest end growth may reach */
    char *mem;        /* start of the region */
    size_t (*grow)(void *ctx, void *end, size_t min_bytes);
    size_t (*shrink)(void *ctx, void *new_end, size_t bytes);
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void (*on_error)(void *ctx, const hh_problem *problem);
    void *ctx;
    size_t trim_keep; /* bytes of the last hole trimming keeps (grows on re-growth) */
    size_t last_trim; /* bytes the last trim gave back, until the next growth */
    size_t used_bytes, free_bytes, blocks, holes, peak_used_bytes;
    size_t problems;
    hh_problem last;
    idx_state idx;
};

/* ---- sizes and positions ---- */

static inline size_t tag_size(const tag *t) { return (size_t)(t->word >> 1) * HH_GRANULE; }
static inline bool tag_is_hole(const tag *t) { return (t->word & 1u) != 0; }
static inline uint32_t tag_size_g(const tag *t) { return t->word >> 1; }

static inline tag *block_footer(tag *b) { return (tag *)(void *)((char *)b + tag_size(b) - HH_TAG_BYTES); }
static inline tag *block_next(tag *b) { return (tag *)(void *)((char *)b + tag_size(b)); }
static inline tag *block_left_footer(tag *b) { return b - 1; }
static inline void *block_payload(tag *b) { return b + 1; }
static inline tag *payload_block(const void *p) { return (tag *)(uintptr_t)p - 1; }

static inline uint32_t block_pos(const hh_heap *h, const tag *b)
{
    return (uint32_t)((size_t)((const char *)b - h->base) / HH_GRANULE);
}
static inline tag *block_at(const hh_heap *h, uint32_t pos)
{
    return (tag *)(void *)(h->base + (size_t)pos * HH_GRANULE);
}
static inline tag *heap_first(const hh_heap *h) { return (tag *)(void *)h->base; }
static inline tag *heap_epilogue(const hh_heap *h) { return (tag *)(void *)h->end; }
static inline tag *heap_prologue(const hh_heap *h) { return (tag *)(void *)h->base - 1; }

/* ---- sealing ---- */

static inline uint32_t tag_mix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    x *= 0x846CA68Bu;
    x ^= x >> 16;
    return x;
}

/* One mix of a bijective function of the position (an odd multiplier), the
 * word, the key and the magic: the same word at another position, or under
 * another key, always seals differently. */
static inline uint32_t tag_seal(const hh_heap *h, uint32_t word, uint32_t pos)
{
    return tag_mix(word ^ (pos * 0x9E3779B1u) ^ h->key ^ HH_MAGIC);
}

static inline uint32_t tag_word(size_t size, bool hole)
{
    return (uint32_t)(size / HH_GRANULE) << 1 | (hole ? 1u : 0u);
}

/* Write the header and footer of a block or hole at b. */
static inline void tag_write(const hh_heap *h, tag *b, size_t size, bool hole)
{
    tag t = {tag_word(size, hole), 0};
    t.seal = tag_seal(h, t.word, block_pos(h, b));
    *b = t;
    *block_footer(b) = t;
}

/* The fences: the prologue has position HH_NIL, the epilogue its own. */
static inline void fence_write(const hh_heap *h, tag *f, uint32_t pos)
{
    f->word = 0;
    f->seal = tag_seal(h, 0, pos);
}

/* Make a tag that a merge leaves inside a hole unrecognisable, so that freeing
 * the old block again is refused as a bad pointer instead of trusted. */
static inline void tag_erase(const hh_heap *h, tag *t)
{
    t->word = 0;
    t->seal = ~tag_seal(h, 0, block_pos(h, t));
}

static inline bool tag_sealed(const hh_heap *h, const tag *t, uint32_t pos)
{
    return t->seal == tag_seal(h, t->word, pos);
}

/* ---- shared between heap.c and check.c ---- */

/* Record a problem and pass it to on_error. */
void heap_report(hh_heap *h, int code, const void *where, const char *what);
/* hh_check without taking the lock. */
int heap_check_unlocked(hh_heap *h, hh_problem *out);
/* The poison area of a hole: its payload up to its footer, less the index
 * node at its start where the index keeps one (the fast index does). */
#ifdef HH_INDEX_TABLE
#define HOLE_NODE_BYTES 0u
#else
#define HOLE_NODE_BYTES sizeof(idx_node)
#endif
static inline unsigned char *hole_poison_start(tag *b) { return (unsigned char *)block_payload(b) + HOLE_NODE_BYTES; }
static inline size_t hole_poison_bytes(tag *b) { return tag_size(b) - HH_OVERHEAD - HOLE_NODE_BYTES; }

/* The first byte of a hole's poison area that lost its poison, or NULL.
 * Compares 8 bytes at a time: the area is 8-aligned and a multiple of 16. */
typedef uint64_t __attribute__((may_alias)) poison_word;
static inline const unsigned char *hole_poison_damage(tag *b)
{
    const unsigned char *p = hole_poison_start(b);
    size_t words = hole_poison_bytes(b) / sizeof(poison_word);
    const poison_word *w = (const poison_word *)(const void *)p;
    const poison_word all = (poison_word)0x0101010101010101ull * HH_POISON_BYTE;
    for (size_t i = 0; i < words; i++) {
        if (w[i] != all) {
            size_t j = i * sizeof(poison_word);
            while (p[j] == HH_POISON_BYTE)
                j++;
            return p + j;
        }
    }
    return NULL;
}

#endif /* HH_TAG_H */
