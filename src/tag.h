/*
 * The block layout: tags, positions, the seals of tags and of the control
 * block (whose fields are in heap.h), and what the front and poisoning keep
 * inside blocks. Internal to the core.
 *
 *   region: | hh_heap | index table (table build only) | pad | P | blocks and holes ... | E | pad |
 *
 *   P = prologue fence (8 bytes), E = epilogue fence (8 bytes), both sealed tags of size 0.
 *   base = the first block's header, at P + 8; every header sits at 8 mod 16.
 *
 *   one block, hole or cached block of `size` bytes (a multiple of 16, at least 32):
 *
 *     b          b+8                                   b+size-8   b+size
 *     +----------+-------------------------------------+----------+
 *     |  header  |  payload (16-aligned), size-16 bytes |  footer  |  next header ...
 *     +----------+-------------------------------------+----------+
 *
 *   header and footer are the same 8 bytes:
 *     word = (size / 16) << 2 | state        state: 0 block, 1 hole, 2 cached (in the front),
 *                                            3 gap (size > 0: the memory between two regions;
 *                                            size 0: an erased tag)
 *     seal = (mix(mix1(((size word ^ key1) * (2 * position + 1)) ^ position * C ^ HH_MAGIC) + key2)
 *             + key3) ^ state_mask[state]
 *   A hole's first 16 payload bytes belong to the hole index (its node); a
 *   cached block's first 4 hold its front list link, the next position xor the
 *   block's own seal.
 */
#ifndef HH_TAG_H
#define HH_TAG_H

#include "annotate.h"
#include "config.h"
#include "heap.h"
#include "hh_assert.h"
#include "holeheap.h"
#include "index.h"

#define HH_GRANULE 16u
#define HH_TAG_BYTES 8u
#define HH_MIN_BLOCK 32u /* header, 16-byte index node, footer */
#define HH_NIL 0xFFFFFFFFu

/* The state of a block in its tag's low bits. */
enum { TAG_BLOCK = 0u, TAG_HOLE = 1u, TAG_CACHED = 2u, TAG_GAP = 3u, TAG_STATE_MASK = 3u };

/* More than one region (hh_add_region): between two regions, one sealed span
 * of state TAG_GAP whose header sits where the lower region's epilogue was and
 * whose footer sits in the first 8 bytes of the upper region's heap:
 *
 *   | ... last block | G header | (not the heap's: never read) | G footer | first block ... | E |
 *     lower region     old E                                       upper region
 *
 * The control block records each one as a range of positions (heap.h: gap_lo, gap_hi).
 */

typedef struct tag {
    uint32_t word;
    uint32_t seal;
} tag;

_Static_assert(sizeof(tag) == HH_TAG_BYTES, "a tag is 8 bytes");
_Static_assert(2 * HH_TAG_BYTES == HH_OVERHEAD, "overhead is one header and one footer");

/* ---- sizes and positions ---- */

static inline uint32_t tag_size_g(const tag *t) { return t->word >> 2; }
static inline size_t tag_size(const tag *t) { return (size_t)tag_size_g(t) * HH_GRANULE; }
static inline uint32_t tag_state(const tag *t) { return t->word & TAG_STATE_MASK; }
static inline bool tag_is_hole(const tag *t) { return tag_state(t) == TAG_HOLE; }
static inline bool tag_is_cached(const tag *t) { return tag_state(t) == TAG_CACHED; }

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
/* Granules from base to the epilogue: every valid position is below it. */
static inline uint32_t heap_span_g(const hh_heap *h) { return (uint32_t)((size_t)(h->end - h->base) / HH_GRANULE); }

/* Is pos inside the memory between two regions (where nothing may be read)? */
static inline bool pos_in_gap(const hh_heap *h, uint32_t pos)
{
    for (uint32_t k = 0; k < h->gap_count && k < GAPS_MAX; k++)
        if (pos >= h->gap_lo[k] && pos < h->gap_hi[k])
            return true;
    return false;
}

/* The first position of the region that holds pos (0: the first region): no
 * span that starts in this region may reach below it (I15). */
static inline uint32_t region_start_pos(const hh_heap *h, uint32_t pos)
{
    for (uint32_t k = h->gap_count < GAPS_MAX ? h->gap_count : GAPS_MAX; k-- > 0;)
        if (h->gap_hi[k] <= pos)
            return h->gap_hi[k];
    return 0;
}

/* A position past pos_fast: in a later region, and in no gap. */
static __attribute__((noinline, cold, unused)) bool heap_pos_beyond_ok(const hh_heap *h, uint32_t pos)
{
    return h->gap_count != 0 && pos < heap_span_g(h) && !pos_in_gap(h, pos);
}

/* heap_pos_ok with pos_fast as given (read by the caller). */
static inline bool heap_pos_below(const hh_heap *h, uint32_t pos, uint32_t pos_fast)
{
    return __builtin_expect(pos < pos_fast, 1) || heap_pos_beyond_ok(h, pos);
}

/* A position the heap may read a tag at: below the epilogue, in no gap. One
 * compare on a heap of one region, and for the first region of any heap. */
static inline bool heap_pos_ok(const hh_heap *h, uint32_t pos) { return heap_pos_below(h, pos, h->pos_fast); }

/* pos_fast after the end or the gaps changed (then reseal: the gate covers
 * it). Stored atomically: hh_usable_size_peek reads it without the lock. */
static inline void heap_pos_fast_update(hh_heap *h)
{
    __atomic_store_n(&h->pos_fast, h->gap_count ? h->gap_lo[0] : heap_span_g(h), __ATOMIC_RELAXED);
}

/* Bytes of blocks, holes and cached blocks: from base to the epilogue, less the gaps. */
static inline size_t heap_arena_bytes(const hh_heap *h) { return (size_t)(h->end - h->base) - h->gap_bytes; }

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

/* The key enters twice, on both sides of a non-linear mix: inverting the mix
 * of one tag no longer gives the key (as it did when the key entered once),
 * and nothing short of trying each of the 2^32 keys is known to find it.
 * Word and position meet through a product with the keyed word, not an xor:
 * when they met by xor, a tag read at one position was valid at any other
 * with its word adjusted by the two positions' difference, forged without the
 * key; now finding that word needs the key. The same word at another
 * position, or under another key, seals differently. */
/* One round of the same: still a bijection, so for a fixed position and key
 * two words never seal alike; the key's second entry (key2, after the mix)
 * is what keeps it from being read back. */
static inline uint32_t tag_mix1(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7FEB352Du;
    x ^= x >> 15;
    return x;
}

/* Three derived keys around two mixes: key1 before the first, key2 between
 * them, key3 after the last, so no public bijection can be peeled off the
 * outside (key3) and no difference of two seals cancels a key (key2 sits
 * between two mixes). With one round and key2 added last (this version's
 * second draft), seals of sizes differing in one bit gave away bits of the
 * mix's input: a review recovered the key from 15 headers in about 2^17
 * trials. The state enters last, as a key-derived mask: a block becomes a
 * cached block or back by two xors, without mixing again (tag_flip). */
static inline uint32_t tag_seal(const hh_heap *h, uint32_t word, uint32_t pos)
{
    uint32_t size_word = word & ~(uint32_t)TAG_STATE_MASK;
    uint32_t x = ((size_word ^ h->key1) * (2u * pos + 1u)) ^ (pos * 0x9E3779B1u) ^ HH_MAGIC;
    return (tag_mix(tag_mix1(x) + h->key2) + h->key3) ^ h->state_mask[word & TAG_STATE_MASK];
}

/* The secrets derived from the key (key2, the state masks, the front's link
 * key): the sum of two mixes of the key, which no known shortcut inverts, so
 * a program that learns one (a state mask, from the same span read in two
 * states) must still try keys to find the key. A single mix would not do:
 * mix is a bijection and inverts in a few instructions. */
static inline uint32_t tag_derive(uint32_t key, uint32_t c)
{
    return tag_mix(key ^ c) + tag_mix(key ^ (c * 0x9E3779B9u) ^ 0x5BE0CD19u);
}
static inline uint32_t tag_key1(uint32_t key) { return tag_derive(key, 0xA54FF53Au); }
static inline uint32_t tag_key2(uint32_t key) { return tag_derive(key, 0x6A09E667u) | 1u; }
static inline uint32_t tag_key3(uint32_t key) { return tag_derive(key, 0x9B05688Cu); }
static inline uint32_t tag_state_mask(uint32_t key, uint32_t state)
{
    return state == TAG_BLOCK ? 0u : tag_derive(key, 0xBB67AE85u * state) | 1u;
}
static inline uint32_t tag_link_key(uint32_t key) { return tag_derive(key, 0x3C6EF372u); }

/* Every secret the heap derives from its key, written into h. */
static inline void tag_keys_derive(hh_heap *h)
{
    h->key1 = tag_key1(h->key);
    h->key2 = tag_key2(h->key);
    h->key3 = tag_key3(h->key);
    h->link_key = tag_link_key(h->key);
    for (uint32_t state = 0; state <= TAG_STATE_MASK; state++)
        h->state_mask[state] = tag_state_mask(h->key, state);
}

static inline uint32_t tag_word(size_t size, uint32_t state) { return (uint32_t)(size / HH_GRANULE) << 2 | state; }

/* The sealed tag pair of any span: header at b, footer at its end. */
static inline void tag_pair_write(const hh_heap *h, tag *b, size_t size, uint32_t state)
{
    tag t = {tag_word(size, state), 0};
    t.seal = tag_seal(h, t.word, block_pos(h, b));
    *b = t;
    *block_footer(b) = t;
}

/* Write the header and footer of a block, hole or cached block at b. */
static inline void tag_write(const hh_heap *h, tag *b, size_t size, uint32_t state)
{
    HH_ASSERT(size % HH_GRANULE == 0 && size >= HH_MIN_BLOCK && state <= TAG_CACHED);
    tag_pair_write(h, b, size, state);
}

/* Write the tags of the span between two regions (at least one granule:
 * header and footer). */
static inline void gap_write(const hh_heap *h, tag *b, size_t size)
{
    HH_ASSERT(size % HH_GRANULE == 0 && size >= HH_GRANULE);
    tag_pair_write(h, b, size, TAG_GAP);
}

/* Turn the sound tags of b from one state to another: two xors, header and
 * footer. */
static inline void tag_flip(const hh_heap *h, tag *b, uint32_t from, uint32_t to)
{
    tag t = *b;
    t.word ^= from ^ to;
    t.seal ^= h->state_mask[from] ^ h->state_mask[to];
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
 * the old block again is refused as a bad pointer instead of trusted: state 3,
 * which no tag ever has, with a seal that fails (and were it to seal by
 * chance, one in 2^32, the state is still refused everywhere). */
static inline void tag_erase(const hh_heap *h, tag *t)
{
    (void)h;
    t->word = TAG_STATE_MASK;
    t->seal = 0;
}

static inline bool tag_sealed(const hh_heap *h, const tag *t, uint32_t pos)
{
    return t->seal == tag_seal(h, t->word, pos);
}

static inline bool tags_equal(const tag *a, const tag *b) { return a->word == b->word && a->seal == b->seal; }

/* A tag read by relaxed atomic loads, for the reads that may run without
 * the lock (hh_usable_size_peek) while another thread writes the tag under
 * it (a double free, a stale pointer): a torn read fails the seal, and the
 * caller takes the locked path. One 8-byte load on 64-bit targets, as a
 * plain read of the tag. */
static inline tag tag_load(const tag *t)
{
#if UINTPTR_MAX > 0xFFFFFFFFu
    uint64_t v = __atomic_load_n((const uint64_t *)(const void *)t, __ATOMIC_RELAXED);
    tag r;
    __builtin_memcpy(&r, &v, sizeof r);
    return r;
#else
    return (tag){__atomic_load_n(&t->word, __ATOMIC_RELAXED), __atomic_load_n(&t->seal, __ATOMIC_RELAXED)};
#endif
}

/* I3-I6 for the span at pos, trusting nothing: pos inside the heap, the
 * header sealed, a size of at least HH_MIN_BLOCK that ends inside the heap,
 * and a footer equal to the header. Reads only inside [base, end). */
static inline bool span_sound(const hh_heap *h, uint32_t pos)
{
    uint32_t span_g = heap_span_g(h);
    if (!heap_pos_ok(h, pos))
        return false;
    tag *t = block_at(h, pos);
    uint32_t size_g = tag_size_g(t);
    return tag_sealed(h, t, pos) && size_g >= HH_MIN_BLOCK / HH_GRANULE && size_g <= span_g - pos &&
           tags_equal(t, block_footer(t));
}

/* The span between two regions recorded at pos, trusting nothing: a gap
 * starts there, and its tags are sealed, equal and of the recorded size. */
static inline bool gap_sound(const hh_heap *h, uint32_t pos)
{
    for (uint32_t k = 0; k < h->gap_count && k < GAPS_MAX; k++) {
        if (h->gap_lo[k] != pos)
            continue;
        tag *t = block_at(h, pos);
        return t->word == ((h->gap_hi[k] - pos) << 2 | TAG_GAP) && tag_sealed(h, t, pos) &&
               tags_equal(t, block_footer(t));
    }
    return false;
}

/* ---- the control block's own check value (I1) ---- */

/* Mix every configuration field into one word: a stray write to flags,
 * callbacks, bounds, key or the front's settings changes it. */
static inline uint32_t control_fold(uint32_t acc, uintptr_t v)
{
    acc = tag_mix(acc ^ (uint32_t)v);
#if UINTPTR_MAX > 0xFFFFFFFFu
    acc = tag_mix(acc ^ (uint32_t)(v >> 32));
#endif
    return acc;
}

static inline uint32_t control_seal_of(const hh_heap *h)
{
    uint32_t acc = h->magic ^ h->key2;
    acc = control_fold(acc, h->flags);
    acc = control_fold(acc, h->front_max_g);
    acc = control_fold(acc, (uintptr_t)h->base);
    acc = control_fold(acc, (uintptr_t)h->end);
    acc = control_fold(acc, (uintptr_t)h->floor_end);
    acc = control_fold(acc, (uintptr_t)h->limit_end);
    acc = control_fold(acc, (uintptr_t)h->mem);
    acc = control_fold(acc, (uintptr_t)h->grow);
    acc = control_fold(acc, (uintptr_t)h->shrink);
    acc = control_fold(acc, (uintptr_t)h->lock);
    acc = control_fold(acc, (uintptr_t)h->unlock);
    acc = control_fold(acc, (uintptr_t)h->on_error);
    acc = control_fold(acc, (uintptr_t)h->ctx);
    acc = control_fold(acc, h->front_limit);
    acc = control_fold(acc, h->lock_seal);
    acc = control_fold(acc, (uintptr_t)h->on_oom);
    acc = control_fold(acc, (uintptr_t)h->on_trace);
    acc = control_fold(acc, h->region_max);
    acc = control_fold(acc, h->gap_count);
    for (uint32_t k = 0; k < h->gap_count && k < GAPS_MAX; k++)
        acc = control_fold(control_fold(acc, h->gap_lo[k]), h->gap_hi[k]);
    acc = control_fold(acc, h->gap_bytes);
    acc = control_fold(acc, h->outside_bytes);
#ifndef HH_INDEX_TABLE
    acc = control_fold(acc, h->idx.pos_bits);
#endif
    return acc;
}

/* The lock's own check value: valid while the lock is not held, since these
 * fields never change after hh_init. */
static inline uint32_t lock_fold(uintptr_t v, uint32_t odd)
{
#if UINTPTR_MAX > 0xFFFFFFFFu
    v ^= v >> 32;
#endif
    return (uint32_t)v * odd;
}

/* Checked on every call of a heap with a lock, so a few multiplies, not
 * mixes: it guards against stray writes, and a forger who could write the
 * control block could write the lock pointer's caller too. */
static inline uint32_t lock_seal_of(const hh_heap *h)
{
    return h->key2 ^ lock_fold((uintptr_t)h->lock, 0x9E3779B1u) ^ lock_fold((uintptr_t)h->unlock, 0x85EBCA6Bu) ^
           lock_fold((uintptr_t)h->ctx, 0xC2B2AE35u);
}

/* The gate folds whole pointers into 32 bits: each one multiplied by its own
 * small odd number (a bijection, no bit lost), so the same stray value
 * written over two of them does not cancel, then the high half onto the
 * low. It guards against stray writes, cheaply, on every call; the whole
 * control block's check value (control_seal) is verified on the slow paths. */
#if UINTPTR_MAX > 0xFFFFFFFFu
static inline uint32_t gate_fold(uintptr_t v) { return (uint32_t)(v ^ v >> 32); }
#else
static inline uint32_t gate_fold(uintptr_t v) { return (uint32_t)v; }
#endif

/* The table build's slots pointer and capacity are read on every call too. */
static inline uintptr_t control_gate_index(const hh_heap *h)
{
#ifdef HH_INDEX_TABLE
    return (uintptr_t)h->idx.slots * 5u ^ (uintptr_t)h->idx.capacity * 7u;
#else
    (void)h;
    return 0;
#endif
}

/* The gate's expected value: liveness, the bounds and the front's size limit
 * that every call reads (whole pointers, on 64-bit too), end and pos_fast as
 * the caller read them. */
static inline uint32_t control_gate_of(const hh_heap *h, const char *end, uint32_t pos_fast)
{
    uintptr_t bounds = (uintptr_t)h->base ^ (uintptr_t)end * 3u ^ (uintptr_t)pos_fast * 9u ^ control_gate_index(h);
    /* the odd multiple keeps every bit of front_max_g; the constant keeps a
     * zeroed control block (gate 0, magic 0, bounds 0) from passing */
    return h->magic ^ gate_fold(bounds) ^ h->front_max_g * 0x85EBCA6Bu ^ 0x6C8E9CF5u;
}

static inline uint32_t control_gate_open(const hh_heap *h) { return control_gate_of(h, h->end, h->pos_fast); }

/* The flags that send every call through the slow entry. */
#define HH_SLOW_FLAGS ((uint32_t)(HH_CHECK_ALWAYS | HH_POISON | HH_CANARY | HH_HOOKED))
static inline uint32_t control_slow_bits(const hh_heap *h)
{
    return (h->flags & HH_SLOW_FLAGS) | (h->lock ? 0x80000000u : 0u);
}

/* The fast entry: the gate open, and no lock or slow flag, tested directly
 * (the gate alone would let one flipped bit of magic stand for the lock's). */
static inline bool control_fast_open(const hh_heap *h)
{
    if (HH_TOOLS_ACTIVE)
        return false; /* valgrind or ASan is told of every block on the general path */
    /* lock and flags first: they never change after hh_init, while the gate
     * of a heap with a lock may be rewritten under it by another thread */
    return h->lock == NULL && (h->flags & HH_SLOW_FLAGS) == 0 && h->gate == control_gate_open(h);
}

/* A heap with a lock and no slow flag: its calls may take the open path's
 * fast paths once the lock is held and the gate compared under it
 * (heap_enter_slow), the gate covering the flags and the lock's presence. */
static inline bool control_locked_open(const hh_heap *h)
{
    return !HH_TOOLS_ACTIVE && h->lock != NULL && (h->flags & HH_SLOW_FLAGS) == 0;
}

/* Re-seal the control block after a configuration field changed. */
static inline void control_reseal(hh_heap *h)
{
    h->control_seal = control_seal_of(h);
    /* read by hh_usable_size_peek without the lock */
    __atomic_store_n(&h->gate, control_gate_open(h) ^ control_slow_bits(h), __ATOMIC_RELAXED);
}

/* Take the lock, if the heap has one, only while its fields are sound: the
 * rest of the control block is verified once it is held (other threads may
 * be growing the heap until then). */
static inline bool heap_lock(const hh_heap *h)
{
    if (!h->lock)
        return h->unlock == NULL && h->lock_seal == lock_seal_of(h);
    if (h->lock_seal != lock_seal_of(h))
        return false;
    h->lock(h->ctx);
    return true;
}

static inline void heap_unlock(const hh_heap *h)
{
    if (h->unlock)
        h->unlock(h->ctx);
}

static inline bool control_sound(const hh_heap *h)
{
    return h->magic == (HH_MAGIC ^ h->key) && h->key1 == tag_key1(h->key) && h->key2 == tag_key2(h->key) &&
           h->key3 == tag_key3(h->key) && h->link_key == tag_link_key(h->key) &&
           h->state_mask[TAG_HOLE] == tag_state_mask(h->key, TAG_HOLE) &&
           h->state_mask[TAG_CACHED] == tag_state_mask(h->key, TAG_CACHED) &&
           h->state_mask[TAG_STATE_MASK] == tag_state_mask(h->key, TAG_STATE_MASK) && h->state_mask[TAG_BLOCK] == 0 &&
           h->lock_seal == lock_seal_of(h) && h->control_seal == control_seal_of(h) &&
           h->gate == (control_gate_open(h) ^ control_slow_bits(h));
}

/* ---- a hole's poison area (heap.c and check.c) ---- */

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

/* ---- the front's list links (heap.c and check.c) ---- */

/* A cached block's link to the next one of its size, as stored in its
 * payload: the position xor the block's own seal (its header's, cached
 * state), which the code that reads or writes the link has just verified or
 * computed: no mix of its own. The seal is a keyed mix of the position and
 * size (every bit of it depends on every bit of both), so a write after free
 * over the link decodes to a position that fails validation. The mask is
 * public (the seal sits in the header 8 bytes before it): the stored word
 * gives away the next cached block's position, which the program freed, and
 * nothing else; no key enters it, so none can be read back from it. The
 * link's integrity never rested on its mask (a program that knows the next
 * position reads any mask off the link): the block it names is verified in
 * full (its seal recomputed for its position) before it is handed out. The
 * word is cleared when the block leaves the front. */
static inline uint32_t front_link_mask(const hh_heap *h, uint32_t size_g, uint32_t pos)
{
    return tag_seal(h, size_g << 2 | TAG_CACHED, pos);
}
static inline uint32_t front_link_decode(tag *b, uint32_t mask) { return *(uint32_t *)block_payload(b) ^ mask; }
static inline void front_link_encode(tag *b, uint32_t next, uint32_t mask)
{
    *(uint32_t *)block_payload(b) = next ^ mask;
}
/* The link of the cached block b, whose header was verified (sealed, cached). */
static inline uint32_t front_link_load(tag *b) { return front_link_decode(b, b->seal); }
/* Store the link of b, whose tags were just made cached (tag_flip). */
static inline void front_link_store(tag *b, uint32_t next) { front_link_encode(b, next, b->seal); }
static inline void front_link_clear(tag *b) { *(uint32_t *)block_payload(b) = 0; }

#endif /* HH_TAG_H */
