/*
 * The fast hole index: AVL trees threaded through the holes themselves.
 *
 * Every hole in the index carries its node in its first 16 payload bytes:
 *
 *   hole: | header | left | right | parent | height | ... rest of hole ... | footer |
 *
 * Links are positions (granules from h->base), HH_NIL for none; meta is the
 * node's height (a leaf has height 1).
 *
 * Small holes (2 .. 1 + HH_INDEX_BINS granules) sit in exact-size bins:
 *
 *   bin_map  |0|1|1|0|...|        bit b: bin b is not empty
 *   bins[b]  root -> AVL tree of the holes of 2 + b granules, by position
 *            min  -> its leftmost node, the lowest position
 *
 * Within a bin every size is the same, so the position alone orders it (no
 * tag reads to compare) and the bin's best fit is its cached min. Larger holes
 * sit in one tree keyed by (size_g, pos), packed as size_g << 32 | pos, whose
 * rightmost node is cached in `last`. The best fit for n granules is the min
 * of the first non-empty bin >= n (a count-trailing-zeros on the bitmap), else
 * the leftmost key >= (n, 0) of the large tree: the smallest hole that fits,
 * the lowest address among equal sizes.
 *
 * Insert, remove and best fit are O(log holes) in the worst case: an AVL tree
 * of n nodes is at most 1.44 log2(n + 2) high, every operation walks one
 * root-to-leaf path of one tree and retraces it once, and the bitmap has
 * HH_INDEX_BINS / 32 words. No storage besides the holes and idx_state.
 */
#ifndef HH_INDEX_TABLE

#include "index.h"
#include "tag.h"

/* An AVL tree of height 48 needs more than 2^32 nodes: no heap holds that many
 * holes, so a deeper walk means a corrupted tree (a cycle, a forged link). */
#define IDX_MAX_HEIGHT 48u

#define IDX_MIN_G (HH_MIN_BLOCK / HH_GRANULE)   /* the smallest hole: bin 0 */
#define IDX_LARGE_G (IDX_MIN_G + HH_INDEX_BINS) /* the smallest hole of the large tree */
#define IDX_MAP_WORDS (HH_INDEX_BINS / 32u)

_Static_assert(HH_INDEX_BINS >= 32 && HH_INDEX_BINS % 32 == 0, "bins fill whole bitmap words");
_Static_assert(IDX_LARGE_G < 0x10000u, "bin sizes stay far below any heap's span");

/* ---- keys and nodes ---- */

static inline uint64_t idx_key(uint32_t size_g, uint32_t pos)
{
    return (uint64_t)size_g << 32 | pos;
}

static inline uint64_t idx_key_of(const hh_heap *h, uint32_t pos)
{
    return idx_key(tag_size_g(block_at(h, pos)), pos);
}

static inline idx_node *idx_node_at(const hh_heap *h, uint32_t pos)
{
    return (idx_node *)block_payload(block_at(h, pos));
}

static inline uint32_t idx_left(const hh_heap *h, uint32_t pos) { return idx_node_at(h, pos)->left; }
static inline uint32_t idx_right(const hh_heap *h, uint32_t pos) { return idx_node_at(h, pos)->right; }
static inline uint32_t idx_parent(const hh_heap *h, uint32_t pos) { return idx_node_at(h, pos)->parent; }

static inline uint32_t idx_height(const hh_heap *h, uint32_t pos)
{
    return pos == HH_NIL ? 0 : idx_node_at(h, pos)->meta;
}

static inline void idx_set_parent(hh_heap *h, uint32_t pos, uint32_t parent)
{
    if (pos != HH_NIL)
        idx_node_at(h, pos)->parent = parent;
}

static inline uint32_t idx_max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

static inline void idx_update_height(hh_heap *h, uint32_t pos)
{
    idx_node *n = idx_node_at(h, pos);
    n->meta = 1 + idx_max_u32(idx_height(h, n->left), idx_height(h, n->right));
}

/* ---- bins: which one, and the bitmap ---- */

/* The bin of a hole of size_g granules; HH_INDEX_BINS or more means the large
 * tree (a size below IDX_MIN_G wraps around to a huge number: never a bin). */
static inline uint32_t idx_bin_of(uint32_t size_g) { return size_g - IDX_MIN_G; }
static inline bool idx_is_bin(uint32_t bin) { return bin < HH_INDEX_BINS; }

static inline void idx_map_set(hh_heap *h, uint32_t bin)
{
    h->idx.bin_map[bin / 32] |= 1u << (bin % 32);
}
static inline void idx_map_clear(hh_heap *h, uint32_t bin)
{
    h->idx.bin_map[bin / 32] &= ~(1u << (bin % 32));
}

static inline bool idx_map_has(const hh_heap *h, uint32_t bin)
{
    return (h->idx.bin_map[bin / 32] >> (bin % 32) & 1u) != 0;
}

/* The first non-empty bin >= bin, HH_INDEX_BINS if none. 32-bit words, so
 * __builtin_ctz is one instruction on every target (no libgcc helper). */
static uint32_t idx_first_bin_from(const hh_heap *h, uint32_t bin)
{
    uint32_t word = bin / 32;
    uint32_t bits = h->idx.bin_map[word] & (~0u << (bin % 32));

    while (bits == 0) {
        if (++word == IDX_MAP_WORDS)
            return HH_INDEX_BINS;
        bits = h->idx.bin_map[word];
    }
    return word * 32 + (uint32_t)__builtin_ctz(bits);
}

/* The last non-empty bin, HH_INDEX_BINS if none. */
static uint32_t idx_last_bin(const hh_heap *h)
{
    for (uint32_t word = IDX_MAP_WORDS; word-- > 0;)
        if (h->idx.bin_map[word] != 0)
            return word * 32 + 31 - (uint32_t)__builtin_clz(h->idx.bin_map[word]);
    return HH_INDEX_BINS;
}

/* The root link of the tree that holds holes of size_g granules. */
static inline uint32_t *idx_root_for(hh_heap *h, uint32_t size_g)
{
    uint32_t bin = idx_bin_of(size_g);
    return idx_is_bin(bin) ? &h->idx.bins[bin].root : &h->idx.root;
}

/* ---- one AVL tree, whichever root it hangs from ---- */

/* Point whatever referred to old (parent's link, or the root) at new. */
static void idx_replace_child(hh_heap *h, uint32_t *root, uint32_t parent, uint32_t old, uint32_t new_child)
{
    if (parent == HH_NIL)
        *root = new_child;
    else if (idx_left(h, parent) == old)
        idx_node_at(h, parent)->left = new_child;
    else
        idx_node_at(h, parent)->right = new_child;
}

/*      x              y
 *     / \            / \
 *    a   y    =>    x   c
 *       / \        / \
 *      b   c      a   b
 */
static uint32_t idx_rotate_left(hh_heap *h, uint32_t *root, uint32_t x)
{
    idx_node *xn = idx_node_at(h, x);
    uint32_t y = xn->right;
    idx_node *yn = idx_node_at(h, y);

    xn->right = yn->left;
    idx_set_parent(h, yn->left, x);
    yn->parent = xn->parent;
    idx_replace_child(h, root, xn->parent, x, y);
    yn->left = x;
    xn->parent = y;
    idx_update_height(h, x);
    idx_update_height(h, y);
    return y;
}

/* The mirror image of idx_rotate_left. */
static uint32_t idx_rotate_right(hh_heap *h, uint32_t *root, uint32_t x)
{
    idx_node *xn = idx_node_at(h, x);
    uint32_t y = xn->left;
    idx_node *yn = idx_node_at(h, y);

    xn->left = yn->right;
    idx_set_parent(h, yn->right, x);
    yn->parent = xn->parent;
    idx_replace_child(h, root, xn->parent, x, y);
    yn->right = x;
    xn->parent = y;
    idx_update_height(h, x);
    idx_update_height(h, y);
    return y;
}

/* Height of the left subtree minus that of the right one. */
static inline int32_t idx_balance(const hh_heap *h, uint32_t pos)
{
    return (int32_t)idx_height(h, idx_left(h, pos)) - (int32_t)idx_height(h, idx_right(h, pos));
}

/* Restore |balance| <= 1 at pos with one or two rotations; returns the
 * subtree's new root. */
static uint32_t idx_rebalance(hh_heap *h, uint32_t *root, uint32_t pos)
{
    int32_t balance = idx_balance(h, pos);

    if (balance > 1) {
        if (idx_balance(h, idx_left(h, pos)) < 0)
            idx_rotate_left(h, root, idx_left(h, pos));
        return idx_rotate_right(h, root, pos);
    }
    if (balance < -1) {
        if (idx_balance(h, idx_right(h, pos)) > 0)
            idx_rotate_right(h, root, idx_right(h, pos));
        return idx_rotate_left(h, root, pos);
    }
    idx_update_height(h, pos);
    return pos;
}

/* Fix heights and balance from pos upwards. Ancestors depend only on the
 * height of the subtree below them: once a subtree (rotated or not) keeps the
 * height it had, nothing above changes and the walk stops. */
static void idx_retrace(hh_heap *h, uint32_t *root, uint32_t pos)
{
    while (pos != HH_NIL) {
        idx_node *n = idx_node_at(h, pos);
        uint32_t before = n->meta;
        uint32_t hl = idx_height(h, n->left), hr = idx_height(h, n->right);

        if (hl > hr + 1 || hr > hl + 1) {
            uint32_t top = idx_rebalance(h, root, pos);
            if (idx_height(h, top) == before)
                return;
            pos = idx_parent(h, top);
        } else {
            n->meta = 1 + idx_max_u32(hl, hr); /* balanced here: only the height may change */
            if (n->meta == before)
                return;
            pos = n->parent;
        }
    }
}

/* Hang pos as a new leaf at *link under parent, and rebalance. */
static void idx_attach_leaf(hh_heap *h, uint32_t *root, uint32_t *link, uint32_t pos, uint32_t parent)
{
    idx_node *n = idx_node_at(h, pos);
    n->left = HH_NIL;
    n->right = HH_NIL;
    n->parent = parent;
    n->meta = 1;
    *link = pos;
    h->idx.count++;
    idx_retrace(h, root, parent);
}

static uint32_t idx_leftmost(const hh_heap *h, uint32_t pos)
{
    while (idx_left(h, pos) != HH_NIL)
        pos = idx_left(h, pos);
    return pos;
}

static uint32_t idx_rightmost(const hh_heap *h, uint32_t pos)
{
    while (idx_right(h, pos) != HH_NIL)
        pos = idx_right(h, pos);
    return pos;
}

/* The rightmost node has no right child: its predecessor is the rightmost of
 * its left subtree (in an AVL tree, that lone child itself), else its parent. */
static uint32_t idx_predecessor_of_last(const hh_heap *h, uint32_t last)
{
    uint32_t left = idx_left(h, last);
    return left != HH_NIL ? idx_rightmost(h, left) : idx_parent(h, last);
}

/* The mirror image: the successor of the leftmost node. */
static uint32_t idx_successor_of_first(const hh_heap *h, uint32_t first)
{
    uint32_t right = idx_right(h, first);
    return right != HH_NIL ? idx_leftmost(h, right) : idx_parent(h, first);
}

/* Unlink a node with at most one child; returns where retracing starts. */
static uint32_t idx_unlink_simple(hh_heap *h, uint32_t *root, uint32_t z)
{
    idx_node *zn = idx_node_at(h, z);
    uint32_t child = zn->left != HH_NIL ? zn->left : zn->right;

    idx_replace_child(h, root, zn->parent, z, child);
    idx_set_parent(h, child, zn->parent);
    return zn->parent;
}

/* Unlink a node with two children by moving its successor y into its place
 * (nodes live in the holes, so links move, not keys); returns where
 * retracing starts. */
static uint32_t idx_unlink_inner(hh_heap *h, uint32_t *root, uint32_t z)
{
    idx_node *zn = idx_node_at(h, z);
    uint32_t y = idx_leftmost(h, zn->right);
    idx_node *yn = idx_node_at(h, y);
    uint32_t start = y;

    if (yn->parent != z) {
        start = yn->parent;
        idx_replace_child(h, root, yn->parent, y, yn->right);
        idx_set_parent(h, yn->right, yn->parent);
        yn->right = zn->right;
        idx_set_parent(h, zn->right, y);
    }
    yn->left = zn->left;
    idx_set_parent(h, zn->left, y);
    yn->parent = zn->parent;
    idx_replace_child(h, root, zn->parent, z, y);
    yn->meta = zn->meta; /* y now stands where z stood, at z's height */
    return start;
}

/* Take z out of the tree at *root (links only: no key is read). */
static void idx_tree_remove(hh_heap *h, uint32_t *root, uint32_t z)
{
    idx_node *zn = idx_node_at(h, z);
    uint32_t start;

    if (zn->left == HH_NIL || zn->right == HH_NIL)
        start = idx_unlink_simple(h, root, z);
    else
        start = idx_unlink_inner(h, root, z);
    zn->left = zn->right = zn->parent = HH_NIL;
    zn->meta = 0;
    h->idx.count--;
    idx_retrace(h, root, start);
}

/* ---- the bins and the large tree ---- */

static void idx_bin_insert(hh_heap *h, uint32_t bin, uint32_t pos)
{
    idx_bin *b = &h->idx.bins[bin];
    uint32_t parent = HH_NIL;
    uint32_t *link = &b->root;

    while (*link != HH_NIL) {
        if (pos == *link)
            return; /* already present: keep the tree intact */
        parent = *link;
        link = pos < parent ? &idx_node_at(h, parent)->left : &idx_node_at(h, parent)->right;
    }
    if (b->min == HH_NIL)
        idx_map_set(h, bin);
    if (b->min == HH_NIL || pos < b->min)
        b->min = pos;
    idx_attach_leaf(h, &b->root, link, pos, parent);
}

static void idx_bin_remove(hh_heap *h, uint32_t bin, uint32_t z)
{
    idx_bin *b = &h->idx.bins[bin];

    if (z == b->min)
        b->min = idx_successor_of_first(h, z);
    idx_tree_remove(h, &b->root, z);
    if (b->root == HH_NIL)
        idx_map_clear(h, bin);
}

static void idx_large_insert(hh_heap *h, uint32_t pos)
{
    uint64_t key = idx_key_of(h, pos);
    uint32_t parent = HH_NIL;
    uint32_t *link = &h->idx.root;

    while (*link != HH_NIL) {
        uint64_t here = idx_key_of(h, *link);
        if (key == here)
            return; /* already present: keep the tree intact */
        parent = *link;
        link = key < here ? &idx_node_at(h, parent)->left : &idx_node_at(h, parent)->right;
    }
    if (h->idx.last == HH_NIL || key > idx_key_of(h, h->idx.last))
        h->idx.last = pos;
    idx_attach_leaf(h, &h->idx.root, link, pos, parent);
}

static void idx_large_remove(hh_heap *h, uint32_t z)
{
    if (z == h->idx.last)
        h->idx.last = idx_predecessor_of_last(h, z);
    idx_tree_remove(h, &h->idx.root, z);
}

/* The leftmost key >= (size_g, 0) in the large tree, HH_NIL if none. */
static uint32_t idx_large_best_fit(const hh_heap *h, uint32_t size_g)
{
    uint64_t want = idx_key(size_g, 0);
    uint32_t pos = h->idx.root;
    uint32_t best = HH_NIL;

    while (pos != HH_NIL) {
        if (idx_key_of(h, pos) >= want) {
            best = pos;
            pos = idx_left(h, pos);
        } else {
            pos = idx_right(h, pos);
        }
    }
    return best;
}

/* Remove the node at z from the tree of holes of size_g granules. */
static void idx_remove_sized(hh_heap *h, uint32_t size_g, uint32_t z)
{
    uint32_t bin = idx_bin_of(size_g);
    if (idx_is_bin(bin))
        idx_bin_remove(h, bin, z);
    else
        idx_large_remove(h, z);
}

/* ---- the interface ---- */

size_t idx_storage_bytes(size_t max_span)
{
    (void)max_span;
    return 0;
}

void idx_init(hh_heap *h, void *storage, size_t storage_bytes)
{
    (void)storage;
    (void)storage_bytes;
    h->idx.root = HH_NIL;
    h->idx.last = HH_NIL;
    h->idx.count = 0;
    for (uint32_t w = 0; w < IDX_MAP_WORDS; w++)
        h->idx.bin_map[w] = 0;
    for (uint32_t b = 0; b < HH_INDEX_BINS; b++)
        h->idx.bins[b].root = h->idx.bins[b].min = HH_NIL;
}

void idx_insert(hh_heap *h, struct tag *hole)
{
    uint32_t pos = block_pos(h, hole);
    uint32_t bin = idx_bin_of(tag_size_g(hole));

    if (idx_is_bin(bin))
        idx_bin_insert(h, bin, pos);
    else
        idx_large_insert(h, pos);
}

void idx_remove(hh_heap *h, struct tag *hole)
{
    idx_remove_sized(h, tag_size_g(hole), block_pos(h, hole));
}

/* The in-order neighbours of pos within its tree (HH_NIL if none). */
static uint32_t idx_prev(const hh_heap *h, uint32_t pos)
{
    if (idx_left(h, pos) != HH_NIL)
        return idx_rightmost(h, idx_left(h, pos));
    uint32_t up = idx_parent(h, pos);
    while (up != HH_NIL && idx_left(h, up) == pos) {
        pos = up;
        up = idx_parent(h, up);
    }
    return up;
}

static uint32_t idx_next(const hh_heap *h, uint32_t pos)
{
    if (pos == h->idx.last)
        return HH_NIL;
    if (idx_right(h, pos) != HH_NIL)
        return idx_leftmost(h, idx_right(h, pos));
    uint32_t up = idx_parent(h, pos);
    while (up != HH_NIL && idx_right(h, up) == pos) {
        pos = up;
        up = idx_parent(h, up);
    }
    return up;
}

/* Does the node at pos still sit between its in-order neighbours? (Within a
 * bin all sizes are equal, so the (size, pos) key orders a bin too.) */
static bool idx_in_order(const hh_heap *h, uint32_t pos)
{
    uint64_t key = idx_key_of(h, pos);
    uint32_t prev = idx_prev(h, pos), next = idx_next(h, pos);
    return (prev == HH_NIL || idx_key_of(h, prev) < key) && (next == HH_NIL || key < idx_key_of(h, next));
}

/* Put the saved node at pos, in the tree of old's size, and point its parent,
 * children and the cached min or last at it. */
static void idx_relocate(hh_heap *h, const idx_entry *old, uint32_t pos)
{
    idx_node *n = idx_node_at(h, pos);
    uint32_t bin = idx_bin_of(old->size_g);

    *n = old->node;
    if (pos == old->pos)
        return;
    idx_replace_child(h, idx_root_for(h, old->size_g), n->parent, old->pos, pos);
    idx_set_parent(h, n->left, pos);
    idx_set_parent(h, n->right, pos);
    if (idx_is_bin(bin) && h->idx.bins[bin].min == old->pos)
        h->idx.bins[bin].min = pos;
    if (h->idx.last == old->pos)
        h->idx.last = pos;
}

/* Do holes of a and b granules share a tree (the same bin, or both large)? */
static inline bool idx_same_tree(uint32_t a_g, uint32_t b_g)
{
    return a_g == b_g || (!idx_is_bin(idx_bin_of(a_g)) && !idx_is_bin(idx_bin_of(b_g)));
}

void idx_replace(hh_heap *h, const idx_entry *old, struct tag *hole)
{
    uint32_t pos = block_pos(h, hole);

    idx_relocate(h, old, pos);
    if (idx_same_tree(old->size_g, tag_size_g(hole)) && idx_in_order(h, pos))
        return;
    idx_remove_sized(h, old->size_g, pos);
    idx_insert(h, hole);
}

struct tag *idx_best_fit(hh_heap *h, uint32_t size_g)
{
    uint32_t bin = size_g < IDX_MIN_G ? 0 : idx_bin_of(size_g);
    uint32_t best;

    if (idx_is_bin(bin)) {
        bin = idx_first_bin_from(h, bin);
        if (idx_is_bin(bin))
            return block_at(h, h->idx.bins[bin].min);
    }
    best = idx_large_best_fit(h, size_g);
    return best == HH_NIL ? NULL : block_at(h, best);
}

size_t idx_count(const hh_heap *h) { return h->idx.count; }

/* O(1): the large tree's largest key is cached in idx.last; without large
 * holes, the last non-empty bin says the size. */
uint32_t idx_largest_g(const hh_heap *h)
{
    uint32_t bin;

    if (h->idx.last != HH_NIL)
        return tag_size_g(block_at(h, h->idx.last));
    bin = idx_last_bin(h);
    return idx_is_bin(bin) ? IDX_MIN_G + bin : 0;
}

static inline uint32_t idx_span_g(const hh_heap *h)
{
    return (uint32_t)((size_t)(h->end - h->base) / HH_GRANULE);
}

bool idx_contains(const hh_heap *h, const struct tag *hole)
{
    uint32_t want_pos = block_pos(h, hole);
    uint32_t bin, pos;
    uint64_t want;

    if (want_pos >= idx_span_g(h))
        return false;
    want = idx_key_of(h, want_pos);
    bin = idx_bin_of(tag_size_g(block_at(h, want_pos)));
    pos = idx_is_bin(bin) ? h->idx.bins[bin].root : h->idx.root;
    for (uint32_t depth = 0; pos != HH_NIL && depth < IDX_MAX_HEIGHT; depth++) {
        uint64_t here = idx_is_bin(bin) ? idx_key(IDX_MIN_G + bin, pos) : idx_key_of(h, pos);
        if (here == want)
            return true; /* the key holds the position: this is the hole */
        pos = want < here ? idx_left(h, pos) : idx_right(h, pos);
    }
    return false;
}

/* ---- verification (invariant I10), trusting nothing it reads ---- */

typedef struct idx_walk {
    const hh_heap *h;
    uint32_t span_g;    /* positions must be below this */
    uint32_t bin;       /* the bin being walked, HH_INDEX_BINS for the large tree */
    size_t seen;        /* nodes visited so far, in all trees */
    uint32_t first;     /* the leftmost node met in this tree */
    uint32_t last;      /* the rightmost node met in this tree */
    hh_problem *out;
} idx_walk;

static int idx_fail(idx_walk *w, const void *where, const char *what)
{
    if (w->out) {
        w->out->code = HH_E_INDEX;
        w->out->where = where;
        w->out->what = what;
    }
    return HH_E_INDEX;
}

/* I10g: a bin holds only its own size, the large tree only larger sizes. */
static int idx_check_tree_size(idx_walk *w, const tag *t)
{
    if (idx_is_bin(w->bin) && tag_size_g(t) != IDX_MIN_G + w->bin)
        return idx_fail(w, t, "index bin holds a hole of another size");
    if (!idx_is_bin(w->bin) && tag_size_g(t) < IDX_LARGE_G)
        return idx_fail(w, t, "index large tree holds a small hole");
    return 0;
}

/* I10a: a node is a sealed hole header lying wholly inside the heap. */
static int idx_check_hole(idx_walk *w, uint32_t pos, const void *link)
{
    const tag *t;

    if (pos >= w->span_g)
        return idx_fail(w, link, "index link outside the heap");
    t = block_at(w->h, pos);
    if (!tag_sealed(w->h, t, pos) || !tag_is_hole(t))
        return idx_fail(w, t, "index node is not a sealed hole");
    if (tag_size_g(t) < HH_MIN_BLOCK / HH_GRANULE || tag_size_g(t) > w->span_g - pos)
        return idx_fail(w, t, "index node's hole size out of bounds");
    return idx_check_tree_size(w, t);
}

/* Bounds a subtree's keys must lie strictly within (I10b), and where the
 * link to it sits (for reports). */
typedef struct idx_range {
    uint64_t lo, hi; /* exclusive; lo_open/hi_open when unbounded */
    bool lo_open, hi_open;
    uint32_t parent;
    uint32_t depth;
} idx_range;

static int idx_check_subtree(idx_walk *w, uint32_t pos, const void *link, idx_range r,
                             uint32_t *height);

/* I10b..I10d for one node whose tag already checked out. A bin's key is the
 * position alone; the large tree's is (size, position). */
static int idx_check_node(idx_walk *w, uint32_t pos, idx_range r, uint32_t *height)
{
    const idx_node *n = idx_node_at(w->h, pos);
    uint64_t key = idx_is_bin(w->bin) ? pos : idx_key_of(w->h, pos);
    idx_range left = {r.lo, key, r.lo_open, false, pos, r.depth + 1};
    idx_range right = {key, r.hi, false, r.hi_open, pos, r.depth + 1};
    uint32_t hl, hr;
    int rc;

    if ((!r.lo_open && key <= r.lo) || (!r.hi_open && key >= r.hi))
        return idx_fail(w, block_at(w->h, pos), "index out of order"); /* I10b */
    if (n->parent != r.parent)
        return idx_fail(w, n, "index parent link wrong"); /* I10c */
    if (r.lo_open && n->left == HH_NIL)
        w->first = pos; /* on the leftmost path, and its end */
    if (r.hi_open && n->right == HH_NIL)
        w->last = pos; /* on the rightmost path, and its end */
    if (++w->seen > w->h->idx.count)
        return idx_fail(w, n, "index holds more nodes than its count"); /* I10e */
    if ((rc = idx_check_subtree(w, n->left, &n->left, left, &hl)) != 0 ||
        (rc = idx_check_subtree(w, n->right, &n->right, right, &hr)) != 0)
        return rc;
    *height = 1 + idx_max_u32(hl, hr);
    if (n->meta != *height)
        return idx_fail(w, n, "index node height wrong"); /* I10d */
    if (hl > hr + 1 || hr > hl + 1)
        return idx_fail(w, n, "index out of balance"); /* I10d */
    return 0;
}

static int idx_check_subtree(idx_walk *w, uint32_t pos, const void *link, idx_range r,
                             uint32_t *height)
{
    int rc;

    *height = 0;
    if (pos == HH_NIL)
        return 0;
    if (r.depth >= IDX_MAX_HEIGHT)
        return idx_fail(w, link, "index deeper than any valid tree"); /* I10d */
    if ((rc = idx_check_hole(w, pos, link)) != 0)
        return rc;
    return idx_check_node(w, pos, r, height);
}

/* Walk one whole tree (a bin, or the large tree) from *root. */
static int idx_check_tree(idx_walk *w, uint32_t bin, const uint32_t *root)
{
    idx_range all = {0, 0, true, true, HH_NIL, 0};
    uint32_t height;

    w->bin = bin;
    w->first = w->last = HH_NIL;
    return idx_check_subtree(w, *root, root, all, &height);
}

/* I10h: each bin's cached min is its leftmost node, its bitmap bit says
 * whether it holds any. */
static int idx_check_bin(idx_walk *w, uint32_t bin)
{
    const idx_bin *b = &w->h->idx.bins[bin];
    int rc = idx_check_tree(w, bin, &b->root);

    if (rc != 0)
        return rc;
    if (w->first != b->min)
        return idx_fail(w, &b->min, "index bin's cached lowest hole is not its first node");
    if (idx_map_has(w->h, bin) != (b->root != HH_NIL))
        return idx_fail(w, &w->h->idx.bin_map[bin / 32], "index bin bitmap disagrees with the bin");
    return 0;
}

/*
 * I10, the fast index's structure:
 *   a. every node is a sealed hole inside the heap (bounds-checked first);
 *   b. keys strictly increase in order in each tree (so no node appears twice
 *      in a tree): (size_g, pos) in the large tree, pos in a bin;
 *   c. each node's parent link names the node that links to it; a root's is NIL;
 *   d. each node's stored height is right and subtrees differ by at most one;
 *   e. the number of nodes in all trees equals idx.count;
 *   f. idx.last names the large tree's rightmost node, NIL when it is empty;
 *   g. bin b holds only holes of 2 + b granules, the large tree only larger ones
 *      (so no hole sits in two trees);
 *   h. each bin's min is its leftmost node (NIL when empty), and its bit in
 *      bin_map is set iff it is not empty.
 */
int idx_verify(const hh_heap *h, hh_problem *out)
{
    idx_walk w = {h, idx_span_g(h), HH_INDEX_BINS, 0, HH_NIL, HH_NIL, out};
    int rc;

    if (h->end < h->base)
        return idx_fail(&w, h, "heap bounds wrong");
    rc = idx_check_tree(&w, HH_INDEX_BINS, &h->idx.root);
    if (rc != 0)
        return rc;
    if (w.last != h->idx.last)
        return idx_fail(&w, &h->idx, "index's largest hole is not its last node"); /* I10f */
    for (uint32_t bin = 0; bin < HH_INDEX_BINS; bin++)
        if ((rc = idx_check_bin(&w, bin)) != 0)
            return rc;
    if (w.seen != h->idx.count)
        return idx_fail(&w, &h->idx, "index holds fewer nodes than its count"); /* I10e */
    return 0;
}

#else
typedef int idx_fast_unused; /* the table build uses index_table.c */
#endif /* HH_INDEX_TABLE */
