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

/* Build with the seed's ordered table instead of the fast index. */
/* #define HH_INDEX_TABLE */

#endif /* HH_CONFIG_H */
