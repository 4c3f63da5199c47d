/*
 * The fast hole index: binary tries threaded through the holes themselves.
 *
 * Every hole in the index carries its node in its first 16 payload bytes:
 *
 *   hole: | header | child[0] | child[1] | parent | tree | ... rest of hole ... | footer |
 *
 * Links are positions (granules from h->base), HH_NIL for none. A root's
 * parent word is its tree's mark instead: HH_NIL in a class, the bin's key
 * width (below) in a bin.
 *
 * Trees. Holes of 2 .. 1 + HH_INDEX_BINS granules sit in exact-size bins
 * (tree b holds the holes of 2 + b granules); larger ones in size classes,
 * four per power of two (tree HH_INDEX_BINS + c). A bitmap says which trees
 * are not empty, so the first tree that can serve a request is one
 * count-trailing-zeros away.
 *
 * Each tree is a binary trie (a digital search tree, as dlmalloc's treebins)
 * on a key that is unique per hole: the position in a bin (all its sizes are
 * equal), (size - class base, position) in a class. A node sits anywhere on
 * the path its key's bits spell from the top bit down: at depth d its
 * subtree holds exactly the keys that share its path's first d bits, the
 * keys with a 0 next on the left, those with a 1 on the right:
 *
 *            A (any key)           keys under B:  0...
 *           / \                    keys under C:  1...
 *          B   C                   keys under D:  10..
 *             /
 *            D
 *
 * So there is no rebalancing, and the depth is bounded by the key's width
 * (pos_bits, plus the class's size bits): O(log span) per operation, whatever
 * the order of inserts. The smallest key of a subtree is found walking down
 * its left edge (right only where there is no left child), remembering the
 * smallest key seen; the smallest key >= a bound is the smaller of the
 * fitting keys met on the bound's own path and the smallest key of the
 * deepest right subtree that path passed by. Removing a node puts a leaf of
 * its subtree in its place (a leaf child if it has one).
 *
 * A bin's key width is not pos_bits but the bits its positions need, kept
 * in its root's parent word: the top bits every key shares would otherwise
 * make a chain of single-child nodes at the top of the trie, one per bit,
 * walked by every call (11 of them in a 2 GiB heap whose small holes sit in
 * its first megabyte). A new bin takes its first position's bits and one
 * more; an insert beyond them widens the trie a bit at a time, each a leaf
 * moved to the top (idx_bin_widen, O(key bits)); an emptied bin starts again.
 *
 * Nothing read from a hole is trusted: before a link is followed it must
 * name a node inside the heap whose tree is this tree and whose parent link
 * points back (I10a, I10c); every node the index writes into, and every hole
 * it hands out, is first verified to be a sealed hole of this tree (I3-I6,
 * I10a). A failure sets the tree aside (its bit in idx.broken set, its
 * root replaced by IDX_ASIDE) and is reported (HH_E_INDEX); a set-aside bit
 * without that root is a stray write, reported and cleared where met (I10f).
 */
#ifndef HH_INDEX_TABLE

#include "annotate.h"
HH_TOOLS_EXEMPT_BEGIN; /* to HH_TOOLS_EXEMPT_END: under ASan the core's accesses are exempt */
#include "heap.h"
#include "index.h"
#include "tag.h"

#define IDX_MIN_G (HH_MIN_BLOCK / HH_GRANULE)   /* the smallest hole: bin 0 */
#define IDX_LARGE_G (IDX_MIN_G + HH_INDEX_BINS) /* the smallest hole of the classes */
#define IDX_FL0 5u                              /* classes start at 2^5 granules */
#define IDX_MAX_DEPTH 64u                       /* no key is wider: deeper is a cycle */
#define IDX_BAD 0xFFFFFFFEu                     /* a walk met damage (never a position) */
#define IDX_STRAY 0xFFFFFFFDu                   /* a stray map bit, cleared and reported */
#define IDX_ASIDE 0xFFFFFFFCu                   /* the root of a tree set aside after damage */

_Static_assert(HH_INDEX_BINS >= 32 && HH_INDEX_BINS % 32 == 0, "bins fill whole bitmap words");
_Static_assert(IDX_LARGE_G > (1u << IDX_FL0), "the classes begin above the first class base");
_Static_assert((IDX_CLASSES / 4u) + IDX_FL0 >= 30u, "classes reach the largest block");
_Static_assert(HH_NIL == 0xFFFFFFFFu, "two links are both HH_NIL iff their and is HH_NIL");

/* ---- trees, classes and keys ---- */

static inline uint32_t idx_fls(uint32_t x) { return 31u - (uint32_t)__builtin_clz(x); }
static inline bool idx_is_bin(uint32_t t) { return t < HH_INDEX_BINS; }

/* The tree of a hole of size_g >= IDX_MIN_G granules (IDX_TREES or more for
 * a size no heap can hold). */
static inline uint32_t idx_tree_of(uint32_t size_g)
{
    if (size_g < IDX_LARGE_G)
        return size_g - IDX_MIN_G;
    uint32_t fl = idx_fls(size_g);
    return HH_INDEX_BINS + (fl - IDX_FL0) * 4u + ((size_g >> (fl - 2u)) & 3u);
}

/* A class's sizes: [lo, lo + 2^width_bits). */
static inline uint32_t idx_class_bits(uint32_t t) { return (t - HH_INDEX_BINS) / 4u + IDX_FL0 - 2u; }
static inline uint32_t idx_class_lo(uint32_t t) { return (4u + (t - HH_INDEX_BINS) % 4u) << idx_class_bits(t); }

/* Bits of a position (at most 30: a heap spans at most 2^30 granules). Read
 * on every walk from running state outside the gate: the mask keeps a stray
 * write from making a shift undefined; keys then disagree with the tree and
 * the walk's checks report it (I1 if the control block fails its check). */
static inline uint32_t idx_pos_bits(const hh_heap *h) { return h->idx.pos_bits & 31u; }

static inline uint32_t idx_key_bits(const hh_heap *h, uint32_t t)
{
    return idx_pos_bits(h) + (idx_is_bin(t) ? 0u : idx_class_bits(t));
}

static inline uint64_t idx_key(const hh_heap *h, uint32_t t, uint32_t size_g, uint32_t pos)
{
    if (idx_is_bin(t))
        return pos;
    return (uint64_t)(size_g - idx_class_lo(t)) << idx_pos_bits(h) | pos;
}

static inline idx_node *idx_node_at(const hh_heap *h, uint32_t pos)
{
    return (idx_node *)block_payload(block_at(h, pos));
}

static inline uint64_t idx_key_at(const hh_heap *h, uint32_t t, uint32_t pos)
{
    return idx_is_bin(t) ? pos : idx_key(h, t, tag_size_g(block_at(h, pos)), pos);
}

/* A root's parent word, its mark: HH_NIL in a class; in a bin, the bin's
 * key width (I10c) and its complement under two set top bits, which no
 * position has (positions stay below 2^30), so that a changed width shows.
 * The width is the bits the bin's positions use: far fewer than the heap's
 * pos_bits where the holes of a size sit low in a large heap, so the bin's
 * trie has no chain of single-child nodes at its top, one for each bit all
 * its keys share. */
#define IDX_MARK_BITS 0xC0000000u
#define IDX_BIN_HEADROOM 1u /* a new bin's width: its first key's bits and this */
static inline bool idx_is_mark(uint32_t parent) { return parent >= IDX_MARK_BITS; }
static inline uint32_t idx_mark_of(uint32_t width) { return IDX_MARK_BITS | (~width & 63u) << 8 | width; }
static inline uint32_t idx_mark_width(uint32_t mark) { return mark & 63u; }

/* Is mark a root parent word that tree t may have (I10c)? */
static inline bool idx_mark_ok(const hh_heap *h, uint32_t t, uint32_t mark)
{
    if (!idx_is_bin(t))
        return mark == HH_NIL;
    uint32_t width = idx_mark_width(mark);
    return mark == idx_mark_of(width) && width >= 1u && width <= idx_pos_bits(h);
}

/* The root parent word of tree t, whose root is inside the heap (false if
 * it is not, or holds no mark tree t may have: the walk then fails). */
static inline bool idx_root_mark(const hh_heap *h, uint32_t t, uint32_t *mark)
{
    uint32_t root = h->idx.root[t];
    *mark = HH_NIL;
    if (!idx_is_bin(t) || root == HH_NIL)
        return true;
    if (!heap_pos_ok(h, root))
        return false;
    *mark = idx_node_at(h, root)->parent;
    return idx_mark_ok(h, t, *mark);
}

/* The key width of tree t, whose root parent word is mark. */
static inline uint32_t idx_width(const hh_heap *h, uint32_t t, uint32_t mark)
{
    return idx_is_bin(t) ? idx_mark_width(mark) : idx_key_bits(h, t);
}

/* ---- the bitmap ---- */

static inline uint32_t idx_bit(uint32_t t) { return 1u << (t % 32u); }
static inline bool idx_map_has(const hh_heap *h, uint32_t t) { return (h->idx.map[t / 32u] & idx_bit(t)) != 0; }
static inline bool idx_is_broken(const hh_heap *h, uint32_t t) { return (h->idx.broken[t / 32u] & idx_bit(t)) != 0; }

static void idx_map_update(hh_heap *h, uint32_t t)
{
    if (h->idx.root[t] != HH_NIL && !idx_is_broken(h, t))
        h->idx.map[t / 32u] |= idx_bit(t);
    else
        h->idx.map[t / 32u] &= ~idx_bit(t);
}

/* The first tree >= t in use, IDX_TREES if none. */
static uint32_t idx_first_tree_from(const hh_heap *h, uint32_t t)
{
    if (t >= IDX_TREES)
        return IDX_TREES;
    uint32_t word = t / 32u;
    uint32_t bits = h->idx.map[word] & (~0u << (t % 32u));
    while (bits == 0) {
        if (++word == IDX_MAP_WORDS)
            return IDX_TREES;
        bits = h->idx.map[word];
    }
    return word * 32u + (uint32_t)__builtin_ctz(bits);
}

/* The last tree in use, IDX_TREES if none. */
static uint32_t idx_last_tree(const hh_heap *h)
{
    for (uint32_t word = IDX_MAP_WORDS; word-- > 0;)
        if (h->idx.map[word] != 0)
            return word * 32u + 31u - (uint32_t)__builtin_clz(h->idx.map[word]);
    return IDX_TREES;
}

/* ---- validation ---- */

/* A link followed from `from` (a root mark: a root) to pos in tree t: pos inside
 * the heap, its node of tree t, naming `from` as its parent (I10a, I10c). */
static inline bool idx_link_ok(const hh_heap *h, uint32_t pos, uint32_t from, uint32_t t)
{
    if (!heap_pos_ok(h, pos))
        return false;
    /* parent and tree are adjacent words: one 64-bit compare (little-endian) */
    typedef uint64_t __attribute__((may_alias)) idx_pair;
    _Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the pair compare reads parent low, tree high");
    return *(const idx_pair *)(const void *)&idx_node_at(h, pos)->parent == ((uint64_t)t << 32 | from);
}

/* Is word the header word of a hole that tree t holds (in a bin, exactly
 * the bin's word; in a class, a size in [lo, lo + 2^bits) and above the
 * bins, which the first class in use overlaps)? */
static inline bool idx_word_ok(uint32_t word, uint32_t t)
{
    if (idx_is_bin(t))
        return word == ((t + IDX_MIN_G) << 2 | TAG_HOLE);
    uint32_t lo_word = idx_class_lo(t) << 2 | TAG_HOLE;
    return (word & TAG_STATE_MASK) == TAG_HOLE && word - lo_word < (4u << idx_class_bits(t)) &&
           word >= IDX_LARGE_G << 2;
}

/* The hole at pos, which a verified link reached (idx_link_ok: inside the
 * heap, its node of tree t): a sealed hole header of a size tree t holds
 * (I3, I10a). */
static inline bool idx_hole_sealed(const hh_heap *h, uint32_t pos, uint32_t t)
{
    const tag *b = block_at(h, pos);
    uint32_t word = b->word;
    return idx_word_ok(word, t) && b->seal == tag_seal(h, word, pos);
}

/* A node the index is about to write into: inside the heap, a sealed hole
 * header of a size that belongs to tree t (in a bin, exactly its word), its
 * node marked as tree t (I3, I10a). The footer is not read: the node's own
 * bytes are what is written. */
static inline bool idx_hole_ok(const hh_heap *h, uint32_t pos, uint32_t t)
{
    return heap_pos_ok(h, pos) && idx_node_at(h, pos)->tree == t && idx_hole_sealed(h, pos, t);
}

/* A hole a verified walk reached, which the index is about to hand out:
 * sealed as above, and its whole span sound (I4-I6: the size, at least
 * HH_MIN_BLOCK in any tree, ends inside the heap; the footer equals the
 * header). One seal: span_sound's would be the same computation again. */
static inline bool idx_hole_usable(const hh_heap *h, uint32_t pos, uint32_t t)
{
    if (!idx_hole_sealed(h, pos, t))
        return false;
    tag *b = block_at(h, pos);
    return tag_size_g(b) <= heap_span_g(h) - pos && tags_equal(b, block_footer(b));
}

static const char idx_stray_aside[] =
    "I10f: a tree in service has its set-aside bit set, its root no set-aside mark (a stray write?)";
static const char idx_stray_aside_root[] =
    "I10f: a tree set aside after damage has lost its root's set-aside mark (a stray write?)";

static const char idx_mark_without_bit[] =
    "I10f: a tree's root holds the set-aside mark, its set-aside bit clear (a stray write?)";
static const char idx_aside_map_set[] = "I10f: a tree set aside after damage has its map bit set (a stray write?)";

/* Damage met in tree t whose root holds IDX_ASIDE already (a walk meets it
 * as a link outside the heap): a stray write over the tree's set-aside
 * record, its bit cleared or its map bit set, named as hh_check names it
 * (I10f). Any other damage keeps its own name. */
static void idx_name_aside_stray(const hh_heap *h, uint32_t t, const void **where, const char **what)
{
    if (h->idx.root[t] != IDX_ASIDE)
        return;
    if (!idx_is_broken(h, t)) {
        *where = &h->idx.root[t];
        *what = idx_mark_without_bit;
    } else if (idx_map_has(h, t)) {
        *where = &h->idx.map[t / 32u];
        *what = idx_aside_map_set;
    }
}

/* Set tree t aside (nothing in it is handed out or linked again) and report.
 * Both its set-aside bit and its root record it: the root becomes IDX_ASIDE,
 * which no position is, so that a set-aside bit without it shows a stray
 * write (I10f, idx_set_aside). */
static bool idx_damaged(hh_heap *h, uint32_t t, const void *where, const char *what)
{
    if (!heap_damage_sound(h))
        return false;
    if (t < IDX_TREES) {
        idx_name_aside_stray(h, t, &where, &what);
        h->idx.broken[t / 32u] |= idx_bit(t);
        h->idx.root[t] = IDX_ASIDE;
        idx_map_update(h, t);
    }
    heap_report(h, HH_E_INDEX, where, what);
    return false;
}

/* Was tree t, whose set-aside bit is set but whose root is no IDX_ASIDE, set
 * aside after damage? Its map bit is clear (setting aside cleared it) and its
 * root holds a value, where a tree in service with a root has its map bit
 * set. A root of HH_NIL (0xFF bytes) cannot tell the two apart: the tree
 * serves again, empty; its holes stay out of service (I8 in hh_check). */
static inline bool idx_root_lost_mark(const hh_heap *h, uint32_t t)
{
    return !idx_map_has(h, t) && h->idx.root[t] != HH_NIL;
}

/* Tree t's set-aside bit is set. true if damage set the tree aside (its
 * root says so too: I10f). Else a stray write changed the bit or the root;
 * it is reported at this call and repaired: a root overwritten gets its
 * mark back and the tree stays aside (true), a stray bit is cleared and the
 * tree serves again (false). true when the control block fails its check
 * (I1, recorded): the call does nothing. */
static __attribute__((noinline, cold)) bool idx_aside_met(hh_heap *h, uint32_t t)
{
    if (h->idx.root[t] == IDX_ASIDE || !heap_damage_sound(h))
        return true;
    if (idx_root_lost_mark(h, t)) {
        h->idx.root[t] = IDX_ASIDE;
        heap_report(h, HH_E_INDEX, &h->idx.root[t], idx_stray_aside_root);
        return true;
    }
    h->idx.broken[t / 32u] &= ~idx_bit(t);
    idx_map_update(h, t);
    heap_report(h, HH_E_INDEX, &h->idx.broken[t / 32u], idx_stray_aside);
    return false;
}

/* Is tree t set aside after damage (a stray set-aside bit is reported and
 * cleared on the way: I10f)? */
static inline bool idx_set_aside(hh_heap *h, uint32_t t) { return idx_is_broken(h, t) && idx_aside_met(h, t); }

static const char idx_broken_link[] = "I10: index link broken: a write after free into a hole's first 16 bytes?";

/* ---- walks ---- */

/* The order of the holes in tree t: (size, position), which is the order
 * of their keys (in a bin, of their positions). */
static inline uint64_t idx_order_at(const hh_heap *h, uint32_t pos)
{
    return (uint64_t)tag_size_g(block_at(h, pos)) << 32 | pos;
}

/* The lowest position in bin t (a bin's keys are its positions): walk the
 * left edge (right only where there is no left child), remembering the
 * lowest position seen, every link verified (I10a, I10c). HH_NIL if the bin
 * is empty, IDX_BAD on damage. */
static uint32_t idx_bin_min(const hh_heap *h, uint32_t t)
{
    uint32_t cur = h->idx.root[t], parent, best = HH_NIL;
    if (!idx_root_mark(h, t, &parent))
        return IDX_BAD;
    for (uint32_t depth = 0; cur != HH_NIL; depth++) {
        if (depth == IDX_MAX_DEPTH || !idx_link_ok(h, cur, parent, t))
            return IDX_BAD;
        const idx_node *n = idx_node_at(h, cur);
        best = cur < best ? cur : best;
        parent = cur;
        cur = n->child[n->child[0] == HH_NIL];
    }
    return best;
}

/* The smallest (side 0) or largest (side 1) key under start, reached from
 * parent: walk the subtree's edge on that side (the other child only where
 * that side has none), remembering the best key seen; IDX_BAD on damage. */
static inline uint32_t idx_edge_from(const hh_heap *h, uint32_t t, uint32_t start, uint32_t parent, uint32_t side)
{
    uint32_t best = HH_NIL, cur = start;
    uint64_t best_key = side ? 0 : UINT64_MAX;
    for (uint32_t depth = 0; cur != HH_NIL; depth++) {
        if (depth == IDX_MAX_DEPTH || !idx_link_ok(h, cur, parent, t))
            return IDX_BAD;
        uint64_t key = idx_order_at(h, cur);
        if (side ? key > best_key : key < best_key) {
            best = cur;
            best_key = key;
        }
        const idx_node *n = idx_node_at(h, cur);
        parent = cur;
        cur = n->child[side ^ (n->child[side] == HH_NIL)];
    }
    return best;
}

static uint32_t idx_max(const hh_heap *h, uint32_t t) { return idx_edge_from(h, t, h->idx.root[t], HH_NIL, 1); }

/* The smallest key of tree t: in a bin, its lowest position. */
static uint32_t idx_min(const hh_heap *h, uint32_t t)
{
    return idx_is_bin(t) ? idx_bin_min(h, t) : idx_edge_from(h, t, h->idx.root[t], HH_NIL, 0);
}

/* The smallest key >= (size_g, 0) in class t: the best fitting key on that
 * key's own path, or the smallest key of the deepest right subtree that path
 * passed by, whichever is smaller. Keys are compared as (size, position),
 * their order in t. HH_NIL if none, IDX_BAD on damage. */
static uint32_t idx_lower_bound(const hh_heap *h, uint32_t t, uint32_t size_g)
{
    uint32_t cur = h->idx.root[t], parent = HH_NIL, best = HH_NIL, rst = HH_NIL, rst_parent = HH_NIL;
    uint64_t want = idx_key(h, t, size_g, 0), fit = (uint64_t)size_g << 32, best_order = UINT64_MAX;
    for (uint32_t bit = idx_key_bits(h, t); cur != HH_NIL; bit--) {
        if (!idx_link_ok(h, cur, parent, t))
            return IDX_BAD;
        uint64_t order = idx_order_at(h, cur);
        if (order >= fit && order < best_order) {
            best = cur;
            best_order = order;
        }
        if (bit == 0)
            break;
        const idx_node *n = idx_node_at(h, cur);
        uint32_t dir = (uint32_t)(want >> (bit - 1u)) & 1u;
        if (dir == 0 && n->child[1] != HH_NIL) {
            rst = n->child[1];
            rst_parent = cur;
        }
        parent = cur;
        cur = n->child[dir];
    }
    if (rst == HH_NIL)
        return best;
    uint32_t m = idx_edge_from(h, t, rst, rst_parent, 0);
    if (m == IDX_BAD || best == HH_NIL || idx_order_at(h, m) < best_order)
        return m;
    return best;
}

/* ---- insert and remove ---- */

static uint32_t idx_take_leaf(hh_heap *h, uint32_t z, uint32_t t);

/*
 * Widen bin t's trie by one key bit: a leaf moves to the top and the old
 * root becomes its left child (no key has the new bit), so that every other
 * node keeps its split bit, one level down. O(key bits).
 *
 *        R                 L
 *       / \       ->      /
 *      .   L             R
 *                       /
 *                      .
 */
static __attribute__((noinline, cold)) bool idx_bin_widen(hh_heap *h, uint32_t t, uint32_t *mark)
{
    uint32_t root = h->idx.root[t], wider = idx_mark_of(idx_mark_width(*mark) + 1u);
    if (!idx_mark_ok(h, t, wider) || !idx_link_ok(h, root, *mark, t) || !idx_hole_sealed(h, root, t))
        return idx_damaged(h, t, &h->idx.root[t], idx_broken_link);
    idx_node *rn = idx_node_at(h, root);
    uint32_t top = root;
    if (rn->child[0] != HH_NIL || rn->child[1] != HH_NIL) {
        top = idx_take_leaf(h, root, t);
        if (top == IDX_BAD)
            return idx_damaged(h, t, &h->idx.root[t], idx_broken_link);
        idx_node *tn = idx_node_at(h, top);
        tn->child[0] = root;
        tn->child[1] = HH_NIL;
        rn->parent = top;
        h->idx.root[t] = top;
    }
    idx_node_at(h, top)->parent = *mark = wider;
    return true;
}

/* The root parent word of a new bin whose first key is pos: the bits pos
 * needs and IDX_BIN_HEADROOM more, at most pos_bits. */
static inline uint32_t idx_bin_first_mark(const hh_heap *h, uint32_t pos)
{
    uint32_t width = idx_fls(pos | 1u) + 1u + IDX_BIN_HEADROOM;
    return idx_mark_of(width < idx_pos_bits(h) ? width : idx_pos_bits(h));
}

/* The root parent word of bin t, which is not empty, widened until the
 * bin's key width holds pos. false on damage (reported). */
static bool idx_bin_mark(hh_heap *h, uint32_t t, uint32_t pos, uint32_t *mark)
{
    if (!idx_root_mark(h, t, mark))
        return idx_damaged(h, t, &h->idx.root[t], idx_broken_link);
    while ((uint64_t)pos >> idx_mark_width(*mark) != 0)
        if (!idx_bin_widen(h, t, mark))
            return false;
    return true;
}

/* Hang the hole at pos into tree t through *link, under parent (a root
 * mark when the tree was empty). */
static inline bool idx_hang(hh_heap *h, uint32_t t, uint32_t pos, uint32_t parent, uint32_t *link)
{
    idx_node *n = idx_node_at(h, pos);
    n->child[0] = n->child[1] = HH_NIL;
    n->parent = parent;
    n->tree = t;
    *link = pos;
    h->idx.count++;
    h->idx.map[t / 32u] |= idx_bit(t); /* t is not set aside: insert returned before if it were */
    return true;
}

/* Insert pos, whose key is key, into tree t, which is not empty and whose
 * root parent word is mark: walk the key's path to its end, every link
 * verified, and hang pos under the last node, verified as a sealed hole
 * since it is written into (I10a, I10c). */
static bool idx_insert_below(hh_heap *h, uint32_t t, uint32_t pos, uint64_t key, uint32_t mark)
{
    uint32_t *link = &h->idx.root[t], parent = mark, cur = *link, bit = idx_width(h, t, mark);
    do {
        if (bit == 0 || !idx_link_ok(h, cur, parent, t))
            return idx_damaged(h, t, link, idx_broken_link);
        /* a hole in t already lies on its own key's path: a caller's bug or
         * damage, never hung under itself (a review built a write after free
         * whose links passed every check up to it) */
        if (cur == pos)
            return idx_damaged(h, t, block_at(h, pos), "I10: hole inserted into the index twice");
        bit--;
        link = &idx_node_at(h, cur)->child[(key >> bit) & 1u];
        parent = cur;
    } while ((cur = *link) != HH_NIL);
    if (!idx_hole_sealed(h, parent, t))
        return idx_damaged(h, t, block_at(h, parent), "I10a: index node is not a sealed hole of its tree");
    return idx_hang(h, t, pos, parent, link);
}

bool idx_insert(hh_heap *h, struct tag *hole)
{
    uint32_t pos = block_pos(h, hole), size_g = tag_size_g(hole), t = idx_tree_of(size_g);
    HH_ASSERT(t < IDX_TREES); /* a hole's size is inside the heap */
    if (t >= IDX_TREES || idx_set_aside(h, t))
        return false;             /* set aside: the hole stays out of service */
    if (h->idx.root[t] == HH_NIL) /* an empty tree: pos is its root */
        return idx_hang(h, t, pos, idx_is_bin(t) ? idx_bin_first_mark(h, pos) : HH_NIL, &h->idx.root[t]);
    uint32_t mark = HH_NIL;
    if (idx_is_bin(t) && !idx_bin_mark(h, t, pos, &mark))
        return false; /* reported */
    return idx_insert_below(h, t, pos, idx_key(h, t, size_g, pos), mark);
}

/* The link that points at z from p, its parent (a root mark: the root),
 * which is verified as a sealed hole of t since the caller writes into it
 * (I10a); NULL when it is not one or does not point back at z (I10c). */
static uint32_t *idx_link_to(hh_heap *h, uint32_t z, uint32_t p, uint32_t t)
{
    if (idx_is_mark(p))
        return h->idx.root[t] == z && idx_mark_ok(h, t, p) ? &h->idx.root[t] : NULL;
    if (!idx_hole_ok(h, p, t))
        return NULL;
    idx_node *pn = idx_node_at(h, p);
    return pn->child[0] == z ? &pn->child[0] : pn->child[1] == z ? &pn->child[1] : NULL;
}

static inline bool idx_is_leaf(const hh_heap *h, uint32_t pos)
{
    const idx_node *n = idx_node_at(h, pos);
    return n->child[0] == HH_NIL && n->child[1] == HH_NIL;
}

/* A node of t linked from `from` that the caller writes into: the link
 * agrees both ways and the node is a sealed hole of t (I10a, I10c). */
static inline bool idx_child_ok(const hh_heap *h, uint32_t c, uint32_t from, uint32_t t)
{
    return c == HH_NIL || (idx_link_ok(h, c, from, t) && idx_hole_sealed(h, c, t));
}

/* The leaf that takes the place of z (which has a child), taken off its
 * parent: a child of z that is a leaf if there is one (the right first),
 * else the end of the right-most path below z's right child (the left where
 * there is no right). Each node written into is verified once as a sealed
 * hole of t: z's children (their parent changes, or one is the leaf), the
 * leaf and its parent. IDX_BAD on damage, before anything is written. */
static uint32_t idx_take_leaf(hh_heap *h, uint32_t z, uint32_t t)
{
    const idx_node *zn = idx_node_at(h, z);
    uint32_t c0 = zn->child[0], c1 = zn->child[1];
    if (!idx_child_ok(h, c0, z, t) || !idx_child_ok(h, c1, z, t))
        return IDX_BAD;
    uint32_t prev = z, cur = c1 != HH_NIL ? c1 : c0;
    if (c0 != HH_NIL && c1 != HH_NIL && !idx_is_leaf(h, c1) && idx_is_leaf(h, c0))
        cur = c0;
    for (uint32_t depth = 0;; depth++) {
        const idx_node *n = idx_node_at(h, cur);
        uint32_t next = n->child[n->child[1] != HH_NIL];
        if (next == HH_NIL)
            break;
        if (depth == IDX_MAX_DEPTH || !idx_link_ok(h, next, cur, t))
            return IDX_BAD;
        prev = cur;
        cur = next;
    }
    bool prev_seen = prev == z || prev == c0 || prev == c1;
    if ((!prev_seen && !idx_hole_sealed(h, prev, t)) || (prev != z && !idx_hole_sealed(h, cur, t)))
        return IDX_BAD;
    idx_node *pn = idx_node_at(h, prev);
    pn->child[pn->child[1] == cur] = HH_NIL;
    return cur;
}

/* Point z's children (verified by idx_take_leaf) at their new parent r. */
static void idx_adopt(hh_heap *h, uint32_t r, const idx_node *from)
{
    idx_node *rn = idx_node_at(h, r);
    for (int k = 0; k < 2; k++) {
        rn->child[k] = from->child[k];
        if (from->child[k] != HH_NIL)
            idx_node_at(h, from->child[k])->parent = r;
    }
}

/* The leaf that takes the place of z (which has a child) under z's parent
 * p, moved there with z's children; IDX_BAD on damage, before anything is
 * written. */
static __attribute__((noinline)) uint32_t idx_replace(hh_heap *h, uint32_t z, uint32_t p, uint32_t t)
{
    uint32_t r = idx_take_leaf(h, z, t);
    if (r != IDX_BAD) {
        idx_node_at(h, r)->parent = p;
        idx_adopt(h, r, idx_node_at(h, z));
    }
    return r;
}

bool idx_remove(hh_heap *h, struct tag *hole)
{
    uint32_t z = block_pos(h, hole), t = idx_tree_of(tag_size_g(hole));
    idx_node *zn = idx_node_at(h, z);
    if (t >= IDX_TREES || idx_set_aside(h, t) || zn->tree != t)
        return idx_damaged(h, t, hole, "I8: hole to remove is not in its index tree");
    uint32_t p = zn->parent, r = HH_NIL;
    uint32_t *link = idx_link_to(h, z, p, t);
    if (link && (zn->child[0] & zn->child[1]) != HH_NIL) /* not both HH_NIL: a child */
        r = idx_replace(h, z, p, t);
    if (!link || r == IDX_BAD)
        return idx_damaged(h, t, block_payload(hole), idx_broken_link);
    *link = r;
    zn->child[0] = zn->child[1] = zn->parent = zn->tree = HH_NIL;
    h->idx.count--;
    if (h->idx.root[t] == HH_NIL)
        h->idx.map[t / 32u] &= ~idx_bit(t);
    return true;
}

/* ---- best fit ---- */

/* Tree t, chosen by its map bit, is empty: a stray write set the bit (or
 * cleared the root). Clear the bit and report (I10f), so that the search
 * goes on to the next tree; IDX_BAD when the control block fails its check
 * (I1, recorded). */
static uint32_t idx_map_stray(hh_heap *h, uint32_t t)
{
    if (!heap_damage_sound(h))
        return IDX_BAD;
    idx_map_update(h, t);
    heap_report(h, HH_E_INDEX, &h->idx.map[t / 32u], "I10f: index bitmap names an empty tree (a stray write?)");
    return IDX_STRAY;
}

/* The best hole in tree t for size_g granules (the smallest key >= (size_g,
 * 0); in a tree wholly above size_g, its smallest, whose size, being one
 * that tree holds (idx_hole_usable), fits), verified; HH_NIL if none,
 * IDX_BAD (reported, tree set aside) on damage. */
static inline __attribute__((always_inline)) uint32_t idx_fit_in(hh_heap *h, uint32_t t, uint32_t size_g,
                                                                 bool whole_tree)
{
    uint32_t pos = whole_tree ? idx_min(h, t) : idx_lower_bound(h, t, size_g);
    if (pos == HH_NIL)
        return whole_tree ? idx_map_stray(h, t) : HH_NIL;
    if (pos == IDX_BAD || !idx_hole_usable(h, pos, t) || (!whole_tree && tag_size_g(block_at(h, pos)) < size_g)) {
        idx_damaged(h, t, &h->idx.root[t], idx_broken_link);
        return IDX_BAD;
    }
    return pos;
}

/* The smallest hole of the first tree from `from` on that has one, all of
 * whose holes fit: a damaged tree is set aside and a stray map bit cleared,
 * and the next one may serve. HH_NIL if none, IDX_BAD when the control
 * block failed its check (I1, recorded). */
static uint32_t idx_fit_from(hh_heap *h, uint32_t from, uint32_t size_g)
{
    for (;;) {
        from = idx_first_tree_from(h, from);
        uint32_t pos = from < IDX_TREES ? idx_fit_in(h, from, size_g, true) : HH_NIL;
        /* not set aside (its set-aside bit, if any, a stray write's): the
         * control block failed its check (I1, recorded) */
        if (pos == IDX_BAD && (!idx_is_broken(h, from) || !heap_damage_sound(h)))
            return IDX_BAD;
        if (pos != IDX_BAD && pos != IDX_STRAY)
            return pos;
        from++; /* each tree once: the search ends whatever a stray write set */
    }
}

struct tag *idx_best_fit(hh_heap *h, uint32_t size_g)
{
    if (size_g < IDX_MIN_G)
        size_g = IDX_MIN_G;
    uint32_t t = idx_tree_of(size_g);
    HH_ASSERT(t < IDX_TREES); /* requests are at most HH_MAX_REQUEST */
    if (t >= IDX_TREES)
        return NULL;
    uint32_t pos = HH_NIL;
    if (!idx_is_bin(t) && idx_map_has(h, t))
        pos = idx_fit_in(h, t, size_g, false);
    if (pos == IDX_BAD && !idx_is_broken(h, t))
        return NULL; /* not set aside: the control block failed its check (I1, recorded) */
    if (pos == HH_NIL || pos == IDX_BAD)
        pos = idx_fit_from(h, idx_is_bin(t) ? t : t + 1u, size_g);
    return pos == HH_NIL || pos == IDX_BAD ? NULL : block_at(h, pos);
}

/* ---- the interface ---- */

/* Bits of the highest position growth can reach. */
static uint32_t idx_pos_bits_for(const hh_heap *h)
{
    uint32_t max_pos = (uint32_t)((size_t)(h->limit_end - h->base) / HH_GRANULE);
    return max_pos ? idx_fls(max_pos) + 1u : 1u;
}

size_t idx_storage_bytes(size_t max_span)
{
    (void)max_span;
    return 0;
}

void idx_init(hh_heap *h, void *storage, size_t storage_bytes)
{
    (void)storage;
    (void)storage_bytes;
    for (uint32_t t = 0; t < IDX_TREES; t++)
        h->idx.root[t] = HH_NIL;
    for (uint32_t w = 0; w < IDX_MAP_WORDS; w++)
        h->idx.map[w] = h->idx.broken[w] = 0;
    h->idx.count = 0;
    h->idx.pos_bits = idx_pos_bits_for(h);
}

size_t idx_storage_more(const hh_heap *h, size_t arena_bytes, uint32_t regions)
{
    (void)h;
    (void)arena_bytes;
    (void)regions;
    return 0;
}

/* Every hole out of the trees, chained through its node's parent field,
 * then back in under the new key width. */
void idx_extend(hh_heap *h, void *storage, size_t storage_bytes)
{
    (void)storage;
    (void)storage_bytes;
    uint32_t bits = idx_pos_bits_for(h), taken = HH_NIL;
    if (bits == h->idx.pos_bits)
        return;
    for (uint32_t t = 0; t < IDX_TREES; t++) {
        while (h->idx.root[t] != HH_NIL && h->idx.root[t] != IDX_ASIDE) {
            uint32_t pos = h->idx.root[t];
            if (!idx_remove(h, block_at(h, pos)))
                break; /* reported; cannot happen on a heap that passed hh_check */
            idx_node_at(h, pos)->parent = taken;
            taken = pos;
        }
    }
    h->idx.pos_bits = bits;
    while (taken != HH_NIL) {
        uint32_t next = idx_node_at(h, taken)->parent;
        idx_insert(h, block_at(h, taken));
        taken = next;
    }
}

/* The smallest hole tree t holds. */
static inline uint32_t idx_tree_lo(uint32_t t) { return idx_is_bin(t) ? t + IDX_MIN_G : idx_class_lo(t); }

uint32_t idx_size_in_service(hh_heap *h, uint32_t size_g)
{
    uint32_t t = idx_tree_of(size_g);
    while (t < IDX_TREES && idx_set_aside(h, t))
        if (++t < IDX_TREES)
            size_g = idx_tree_lo(t);
    return t < IDX_TREES ? size_g : 0;
}

size_t idx_count(const hh_heap *h) { return h->idx.count; }

/* O(key bits): the last tree in use says the size, or its largest key does. */
uint32_t idx_largest_g(const hh_heap *h)
{
    uint32_t t = idx_last_tree(h);
    if (t >= IDX_TREES)
        return 0;
    if (idx_is_bin(t))
        return IDX_MIN_G + t;
    uint32_t pos = idx_max(h, t);
    return pos == IDX_BAD || pos == HH_NIL ? 0
                                           : tag_size_g(block_at(h, pos)); /* HH_NIL: a map bit set for an empty tree */
}

bool idx_contains(const hh_heap *h, const struct tag *hole)
{
    uint32_t pos = block_pos(h, hole), size_g = tag_size_g(hole), t = idx_tree_of(size_g);
    if (!heap_pos_ok(h, pos) || t >= IDX_TREES)
        return false;
    uint64_t key = idx_key(h, t, size_g, pos);
    uint32_t cur = h->idx.root[t], mark;
    if (!idx_root_mark(h, t, &mark))
        return false;
    for (uint32_t bit = idx_width(h, t, mark); cur != HH_NIL && heap_pos_ok(h, cur); bit--) {
        if (cur == pos)
            return true;
        if (bit == 0)
            return false;
        cur = idx_node_at(h, cur)->child[(key >> (bit - 1u)) & 1u];
    }
    return false;
}

/* ---- verification (invariant I10), trusting nothing it reads ---- */

typedef struct idx_walk {
    const hh_heap *h;
    uint32_t tree;
    size_t seen;
    hh_problem *out;
} idx_walk;

static int idx_fail(idx_walk *w, const void *where, const char *what)
{
    if (w->out) {
        w->out->code = HH_E_INDEX;
        w->out->where = where;
        w->out->what = what;
        w->out->block = NULL;
    }
    return HH_E_INDEX;
}

/* The node at pos, reached from parent through a path that fixed the key's
 * top bits to `prefix` (the bits set in `mask`), and its subtree. */
static int idx_check_node(idx_walk *w, uint32_t pos, uint32_t parent, uint64_t prefix, uint64_t mask, uint32_t bit,
                          const void *link)
{
    const hh_heap *h = w->h;
    if (!heap_pos_ok(h, pos))
        return idx_fail(w, link, "I10a: index link outside the heap");
    if (idx_node_at(h, pos)->tree != w->tree || !idx_hole_usable(h, pos, w->tree))
        return idx_fail(w, block_at(h, pos), "I10a: index node is not a sealed hole of its tree");
    const idx_node *n = idx_node_at(h, pos);
    if (n->parent != parent)
        return idx_fail(w, n, "I10c: index parent link wrong");
    if ((idx_key_at(h, w->tree, pos) & mask) != prefix)
        return idx_fail(w, n, "I10b: index node off its key's path (or outside its tree's key width)");
    if (++w->seen > h->idx.count)
        return idx_fail(w, n, "I10e: index holds more nodes than its count");
    for (uint32_t k = 0; k < 2; k++) {
        if (n->child[k] == HH_NIL)
            continue;
        if (bit == 0)
            return idx_fail(w, n, "I10d: index deeper than its key's width");
        uint64_t b = (uint64_t)1 << (bit - 1u);
        int rc = idx_check_node(w, n->child[k], pos, prefix | (k ? b : 0), mask | b, bit - 1u, &n->child[k]);
        if (rc)
            return rc;
    }
    return 0;
}

/* I10f: tree t's set-aside bit, root and map bit, when they say that the
 * tree was set aside or that a stray write changed one of them: each state
 * named apart, as the calls that meet it name them (idx_aside_met,
 * idx_name_aside_stray). */
static int idx_check_aside(idx_walk *w, uint32_t t)
{
    const hh_heap *h = w->h;
    bool bit = idx_is_broken(h, t), marked = h->idx.root[t] == IDX_ASIDE;
    if (!bit && marked)
        return idx_fail(w, &h->idx.root[t], idx_mark_without_bit);
    if (!bit)
        return 0;
    if (marked && idx_map_has(h, t))
        return idx_fail(w, &h->idx.map[t / 32u], idx_aside_map_set);
    if (marked)
        return idx_fail(w, &h->idx.root[t], "I10f: an index tree was set aside after damage");
    if (idx_root_lost_mark(h, t))
        return idx_fail(w, &h->idx.root[t], idx_stray_aside_root);
    if (h->idx.root[t] == HH_NIL)
        return idx_fail(w, &h->idx.broken[t / 32u],
                        "I10f: an empty tree's set-aside bit is set (a stray write over the bit, or over a set-aside "
                        "tree's root?)");
    return idx_fail(w, &h->idx.broken[t / 32u], idx_stray_aside);
}

/* I10f: a tree's map bit says whether it holds any node; no tree is set aside. */
static int idx_check_tree(idx_walk *w, uint32_t t)
{
    const hh_heap *h = w->h;
    w->tree = t;
    int rc = idx_check_aside(w, t);
    if (rc)
        return rc;
    if (idx_map_has(h, t) != (h->idx.root[t] != HH_NIL))
        return idx_fail(w, &h->idx.map[t / 32u], "I10f: index bitmap disagrees with its tree");
    if (h->idx.root[t] == HH_NIL)
        return 0;
    uint32_t mark;
    if (!idx_root_mark(h, t, &mark)) /* a root inside the heap, its parent word a mark of its tree */
        return idx_fail(w, &h->idx.root[t], "I10c: index root's parent word is not its tree's mark");
    /* above the key's width every bit is 0 (I10b) */
    uint32_t width = idx_width(h, t, mark);
    return idx_check_node(w, h->idx.root[t], mark, 0, ~(uint64_t)0 << width, width, &h->idx.root[t]);
}

/*
 * I10, the fast index's structure:
 *   a. every node is a sealed hole inside the heap, of its tree's size (bounds first);
 *   b. every node lies on its key's path: its key has the bits the path spelled,
 *      and none above its tree's key width;
 *   c. each node's parent link names the node that links to it; a root's holds
 *      its tree's mark (a class: NIL; a bin: its key width, 1 to pos_bits, and
 *      that width's complement);
 *   d. no node is deeper than its key's width;
 *   e. the number of nodes in all trees equals idx.count;
 *   f. a tree's bit in the map is set iff it is not empty; no tree was set aside
 *      (a set-aside bit and an IDX_ASIDE root that disagree, or a set-aside
 *      tree's map bit, are stray writes, each state named apart).
 */
int idx_verify(const hh_heap *h, hh_problem *out)
{
    idx_walk w = {h, 0, 0, out};
    if (h->end < h->base)
        return idx_fail(&w, h, "heap bounds wrong");
    if (IDX_TREES % 32u && h->idx.map[IDX_MAP_WORDS - 1] >> (IDX_TREES % 32u))
        return idx_fail(&w, &h->idx.map[IDX_MAP_WORDS - 1], "I10f: index bitmap names a tree that does not exist");
    if (IDX_TREES % 32u && h->idx.broken[IDX_MAP_WORDS - 1] >> (IDX_TREES % 32u))
        return idx_fail(&w, &h->idx.broken[IDX_MAP_WORDS - 1],
                        "I10f: a set-aside bit names a tree that does not exist (a stray write?)");
    for (uint32_t t = 0; t < IDX_TREES; t++) {
        int rc = idx_check_tree(&w, t);
        if (rc)
            return rc;
    }
    if (w.seen != h->idx.count)
        return idx_fail(&w, &h->idx, "I10e: index holds fewer nodes than its count");
    return 0;
}

HH_TOOLS_EXEMPT_END;

#else
typedef int idx_fast_unused; /* the table build uses index_table.c */
#endif /* HH_INDEX_TABLE */
