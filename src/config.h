/*
 * holeheap tunables: every one has a default here and can be overridden with
 * -DNAME=value, or all at once from a header named by HH_CONFIG_HEADER.
 */
#ifndef HH_CONFIG_H
#define HH_CONFIG_H

#ifdef HH_CONFIG_HEADER
#include HH_CONFIG_HEADER
#endif

/* Magic mixed into every tag's check value (the seed used 0x123890AB). */
#ifndef HH_MAGIC
#define HH_MAGIC 0x123890ABu
#endif

/* Default key when hh_options.key is 0. Not secret: pass a random key to make
 * forged tags hard to write. */
#ifndef HH_DEFAULT_KEY
#define HH_DEFAULT_KEY 0x5A17C0DEu
#endif

/* free gives trailing memory back only when the last hole reaches this size,
 * so that alloc/free at the end of the heap does not thrash grow/shrink. */
#ifndef HH_TRIM_THRESHOLD
#define HH_TRIM_THRESHOLD ((size_t)256 * 1024)
#endif

/* ...and then keeps this much of the last hole, for the next allocations. */
#ifndef HH_TRIM_KEEP
#define HH_TRIM_KEEP ((size_t)64 * 1024)
#endif

/* Growth asks for at least this much at a time (fewer, larger grow calls). */
#ifndef HH_GROW_CHUNK
#define HH_GROW_CHUNK ((size_t)64 * 1024)
#endif

/* Byte written into holes when HH_POISON is set. */
#ifndef HH_POISON_BYTE
#define HH_POISON_BYTE 0xDBu
#endif

/* Byte written between a block's requested size and its size record when
 * HH_CANARY is set (a write of this very byte there goes unseen). */
#ifndef HH_CANARY_BYTE
#define HH_CANARY_BYTE 0xCAu
#endif

/* The front: freed blocks of at most this many granules (header and footer
 * included; 33 granules = requests up to 512 bytes) wait in exact-size lists
 * for the next request of their size (or of up to 32 bytes less, when none of
 * that size waits), instead of merging at once. Larger
 * requests always get exact best fit over all free memory. 0: no front. */
#ifndef HH_FRONT_MAX_G
#define HH_FRONT_MAX_G 33u
#endif

/* ...and the front holds at most this many bytes (and at most a sixteenth of
 * the heap's initial size), so that it cannot hide much free memory from
 * exact best fit. It is also flushed before the heap grows or an
 * allocation fails. */
#ifndef HH_FRONT_BYTES
#define HH_FRONT_BYTES ((size_t)256 * 1024)
#endif

/* ...and takes a block only while it holds at most (bytes the program holds
 * >> this) plus HH_FRONT_FLOOR, checked on entry (later frees shed nothing):
 * cached blocks are neither live nor merged, so they widen the heap's span;
 * a sixteenth of the live bytes bounds that widening (on the benchmark's
 * small-random trace, with a request served from a list up to two sizes
 * larger: peak span / peak live 1.211 against 1.232 with an eighth, and
 * 1.201 with no front, at 2 instructions a call; docs/performance.md). */
#ifndef HH_FRONT_SHARE_SHIFT
#define HH_FRONT_SHARE_SHIFT 4
#endif
#ifndef HH_FRONT_FLOOR
#define HH_FRONT_FLOOR ((size_t)4096)
#endif

/* hh_realloc keeps, when it moves a block, the alignment its address has (the
 * largest power of two dividing it), up to this: the heap does not record the
 * alignment a block was allocated with. Above it, placement would depend on
 * address bits far above the heap's own layout (a heap at another base would
 * place blocks differently); hh_realloc_aligned keeps any alignment asked. */
#ifndef HH_REALLOC_KEEP_ALIGN
#define HH_REALLOC_KEEP_ALIGN ((size_t)64 * 1024)
#endif

/* The most regions one heap can have (hh_add_region): each region past the
 * first costs 8 bytes of control data, and every check of a position against
 * the memory between regions is a loop over them. */
#ifndef HH_MAX_REGIONS
#define HH_MAX_REGIONS 8u
#endif

/* The fast index's exact-size bins for the small holes: bin b holds the holes
 * of 2 + b granules (the default 64 bins: 32 bytes up to 1040). A multiple of
 * 32, at least 32. */
#ifndef HH_INDEX_BINS
#define HH_INDEX_BINS 64u
#endif

/* Build with the seed's ordered table instead of the fast index. */
/* #define HH_INDEX_TABLE */

#endif /* HH_CONFIG_H */
