/*
 * The fast hole index: an AVL tree threaded through the holes themselves.
 *
 * Every hole in the index carries its node in its first 16 payload bytes:
 *
 *   hole: | header | left | right | parent | height | ... rest of hole ... | footer |
 *
 * Links are positions (granules from h->base), HH_NIL for none; meta is the
 * node's height (a leaf has height 1). The key of a hole is (size_g, pos),
 * packed as size_g << 32 | pos, so keys are unique and ordered first by size,
 * then by address: the leftmost key >= (n, 0) is the exact best fit for n.
 *
 * Insert, remove and best fit are O(log holes) in the worst case: an AVL tree
 * of n nodes is at most 1.44 log2(n + 2) high, and every operation walks one
 * root-to-leaf path and retraces it once. No storage besides the holes.
 */
#ifndef HH_INDEX_TABLE

#include "index.h"
#include "tag.h"

/* An AVL tree of height 48 needs more than 2^32 nodes: no heap holds that many
 * holes, so a deeper walk means a corrupted tree (a cycle, a forged link). */
#define IDX_MAX_HEIGHT 48u

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

/* Point whatever referred to old (parent's link, or the root) at new. */
static void idx_replace_child(hh_heap *h, uint32_t parent, uint32_t old, uint32_t new_child)
{
    if (parent == HH_NIL)
        h->idx.root = new_child;
    else if (idx_left(h, parent) == old)
        idx_node_at(h, parent)->left = new_child;
    else
        idx_node_at(h, parent)->right = new_child;
}

/* ---- rotations and rebalancing ---- */

/*      x              y
 *     / \            / \
 *    a   y    =>    x   c
 *       / \        / \
 *      b   c      a   b
 */
static uint32_t idx_rotate_left(hh_heap *h, uint32_t x)
{
    idx_node *xn = idx_node_at(h, x);
    uint32_t y = xn->right;
    idx_node *yn = idx_node_at(h, y);

    xn->right = yn->left;
    idx_set_parent(h, yn->left, x);
    yn->parent = xn->parent;
    idx_replace_child(h, xn->parent, x, y);
    yn->left = x;
    xn->parent = y;
    idx_update_height(h, x);
    idx_update_height(h, y);
    return y;
}

/* The mirror image of idx_rotate_left. */
static uint32_t idx_rotate_right(hh_heap *h, uint32_t x)
{
    idx_node *xn = idx_node_at(h, x);
    uint32_t y = xn->left;
    idx_node *yn = idx_node_at(h, y);

    xn->left = yn->right;
    idx_set_parent(h, yn->right, x);
    yn->parent = xn->parent;
    idx_replace_child(h, xn->parent, x, y);
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
static uint32_t idx_rebalance(hh_heap *h, uint32_t pos)
{
    int32_t balance = idx_balance(h, pos);

    if (balance > 1) {
        if (idx_balance(h, idx_left(h, pos)) < 0)
            idx_rotate_left(h, idx_left(h, pos));
        return idx_rotate_right(h, pos);
    }
    if (balance < -1) {
        if (idx_balance(h, idx_right(h, pos)) > 0)
            idx_rotate_right(h, idx_right(h, pos));
        return idx_rotate_left(h, pos);
    }
    idx_update_height(h, pos);
    return pos;
}

/* Fix heights and balance from pos upwards. Ancestors depend only on the
 * height of the subtree below them: once a subtree (rotated or not) keeps the
 * height it had, nothing above changes and the walk stops. */
static void idx_retrace(hh_heap *h, uint32_t pos)
{
    while (pos != HH_NIL) {
        uint32_t before = idx_height(h, pos);
        uint32_t top = idx_rebalance(h, pos);
        if (idx_height(h, top) == before)
            return;
        pos = idx_parent(h, top);
    }
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
}

static void idx_attach_leaf(hh_heap *h, uint32_t pos, uint32_t parent)
{
    idx_node *n = idx_node_at(h, pos);
    n->left = HH_NIL;
    n->right = HH_NIL;
    n->parent = parent;
    n->meta = 1;
}

void idx_insert(hh_heap *h, struct tag *hole)
{
    uint32_t pos = block_pos(h, hole);
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
    idx_attach_leaf(h, pos, parent);
    *link = pos;
    if (h->idx.last == HH_NIL || key > idx_key_of(h, h->idx.last))
        h->idx.last = pos;
    h->idx.count++;
    idx_retrace(h, parent);
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

/* Unlink a node with at most one child; returns where retracing starts. */
static uint32_t idx_unlink_simple(hh_heap *h, uint32_t z)
{
    idx_node *zn = idx_node_at(h, z);
    uint32_t child = zn->left != HH_NIL ? zn->left : zn->right;

    idx_replace_child(h, zn->parent, z, child);
    idx_set_parent(h, child, zn->parent);
    return zn->parent;
}

/* Unlink a node with two children by moving its successor y into its place
 * (nodes live in the holes, so links move, not keys); returns where
 * retracing starts. */
static uint32_t idx_unlink_inner(hh_heap *h, uint32_t z)
{
    idx_node *zn = idx_node_at(h, z);
    uint32_t y = idx_leftmost(h, zn->right);
    idx_node *yn = idx_node_at(h, y);
    uint32_t start = y;

    if (yn->parent != z) {
        start = yn->parent;
        idx_replace_child(h, yn->parent, y, yn->right);
        idx_set_parent(h, yn->right, yn->parent);
        yn->right = zn->right;
        idx_set_parent(h, zn->right, y);
    }
    yn->left = zn->left;
    idx_set_parent(h, zn->left, y);
    yn->parent = zn->parent;
    idx_replace_child(h, zn->parent, z, y);
    yn->meta = zn->meta; /* y now stands where z stood, at z's height */
    return start;
}

void idx_remove(hh_heap *h, struct tag *hole)
{
    uint32_t z = block_pos(h, hole);
    idx_node *zn = idx_node_at(h, z);
    uint32_t start;

    if (z == h->idx.last)
        h->idx.last = idx_predecessor_of_last(h, z);
    if (zn->left == HH_NIL || zn->right == HH_NIL)
        start = idx_unlink_simple(h, z);
    else
        start = idx_unlink_inner(h, z);
    zn->left = zn->right = zn->parent = HH_NIL;
    zn->meta = 0;
    h->idx.count--;
    idx_retrace(h, start);
}

/* The in-order neighbours of pos (HH_NIL if none). */
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

/* Does the node at pos still sit between its in-order neighbours? */
static bool idx_in_order(const hh_heap *h, uint32_t pos)
{
    uint64_t key = idx_key_of(h, pos);
    uint32_t prev = idx_prev(h, pos), next = idx_next(h, pos);
    return (prev == HH_NIL || idx_key_of(h, prev) < key) && (next == HH_NIL || key < idx_key_of(h, next));
}

/* Put the saved node at pos and point its parent, children and idx.last at it. */
static void idx_relocate(hh_heap *h, const idx_entry *old, uint32_t pos)
{
    idx_node *n = idx_node_at(h, pos);
    *n = old->node;
    if (pos == old->pos)
        return;
    idx_replace_child(h, n->parent, old->pos, pos);
    idx_set_parent(h, n->left, pos);
    idx_set_parent(h, n->right, pos);
    if (h->idx.last == old->pos)
        h->idx.last = pos;
}

void idx_replace(hh_heap *h, const idx_entry *old, struct tag *hole)
{
    uint32_t pos = block_pos(h, hole);
    idx_relocate(h, old, pos);
    if (!idx_in_order(h, pos)) {
        idx_remove(h, hole);
        idx_insert(h, hole);
    }
}

struct tag *idx_best_fit(hh_heap *h, uint32_t size_g)
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
    return best == HH_NIL ? NULL : block_at(h, best);
}

size_t idx_count(const hh_heap *h) { return h->idx.count; }

/* O(1): the largest key is cached in idx.last. */
uint32_t idx_largest_g(const hh_heap *h)
{
    return h->idx.last == HH_NIL ? 0 : tag_size_g(block_at(h, h->idx.last));
}

static inline uint32_t idx_span_g(const hh_heap *h)
{
    return (uint32_t)((size_t)(h->end - h->base) / HH_GRANULE);
}

bool idx_contains(const hh_heap *h, const struct tag *hole)
{
    uint32_t want_pos = block_pos(h, hole);
    uint64_t want;
    uint32_t pos = h->idx.root;

    if (want_pos >= idx_span_g(h))
        return false;
    want = idx_key_of(h, want_pos);
    for (uint32_t depth = 0; pos != HH_NIL && depth < IDX_MAX_HEIGHT; depth++) {
        uint64_t here = idx_key_of(h, pos);
        if (here == want)
            return true; /* the key holds the position: this is the hole */
        pos = want < here ? idx_left(h, pos) : idx_right(h, pos);
    }
    return false;
}

/* ---- verification (invariant I10), trusting nothing it reads ---- */

typedef struct idx_walk {
    const hh_heap *h;
    uint32_t span_g; /* positions must be below this */
    size_t seen;     /* nodes visited so far */
    uint32_t last;   /* the rightmost node met */
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
    return 0;
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

/* I10b..I10d for one node whose tag already checked out. */
static int idx_check_node(idx_walk *w, uint32_t pos, idx_range r, uint32_t *height)
{
    const idx_node *n = idx_node_at(w->h, pos);
    uint64_t key = idx_key_of(w->h, pos);
    idx_range left = {r.lo, key, r.lo_open, false, pos, r.depth + 1};
    idx_range right = {key, r.hi, false, r.hi_open, pos, r.depth + 1};
    uint32_t hl, hr;
    int rc;

    if ((!r.lo_open && key <= r.lo) || (!r.hi_open && key >= r.hi))
        return idx_fail(w, block_at(w->h, pos), "index out of order"); /* I10b */
    if (n->parent != r.parent)
        return idx_fail(w, n, "index parent link wrong"); /* I10c */
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

/*
 * I10, the fast index's structure:
 *   a. every node is a sealed hole inside the heap (bounds-checked first);
 *   b. keys (size_g, pos) strictly increase in order (so no node appears twice);
 *   c. each node's parent link names the node that links to it; the root's is NIL;
 *   d. each node's stored height is right and subtrees differ by at most one;
 *   e. the number of nodes equals idx.count;
 *   f. idx.last names the rightmost node (the largest key), NIL when empty.
 */
int idx_verify(const hh_heap *h, hh_problem *out)
{
    idx_walk w = {h, idx_span_g(h), 0, HH_NIL, out};
    idx_range all = {0, 0, true, true, HH_NIL, 0};
    uint32_t height;
    int rc;

    if (h->end < h->base)
        return idx_fail(&w, h, "heap bounds wrong");
    rc = idx_check_subtree(&w, h->idx.root, &h->idx.root, all, &height);
    if (rc != 0)
        return rc;
    if (w.seen != h->idx.count)
        return idx_fail(&w, &h->idx, "index holds fewer nodes than its count"); /* I10e */
    if (w.last != h->idx.last)
        return idx_fail(&w, &h->idx, "index's largest hole is not its last node"); /* I10f */
    return 0;
}

#else
typedef int idx_fast_unused; /* the table build uses index_table.c */
#endif /* HH_INDEX_TABLE */
