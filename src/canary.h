/*
 * Canary mode (HH_CANARY): every block remembers the size its caller asked
 * for, and the slack between that size and the block's end is filled, so that
 * a write of even one byte past the request is seen at free, realloc,
 * hh_usable_size and by hh_check (I14). Internal to the core.
 *
 *   a block of `size` bytes asked for with n bytes (usable = size - 16):
 *
 *     b     b+8                b+8+n                 b+size-16  b+size-8
 *     +-----+------------------+---------------------+----------+--------+
 *     | hdr | payload: n bytes | fill: HH_CANARY_BYTE | record   | footer |
 *     +-----+------------------+---------------------+----------+--------+
 *                               <------- slack ------>
 *
 *   record = { slack ^ mix(seal ^ link_key), mix(slack + key2) ^ seal }   (seal: the block's header's)
 *
 * The record sits where the footer's neighbour would be reached last by an
 * overflow, and it is keyed by the block's own tag (size and position), so
 * that an overflow over it, or a record copied from another block, fails the
 * second word's check. Each block is 8 bytes larger than without the mode
 * (canary_request).
 */
#ifndef HH_CANARY_H
#define HH_CANARY_H

#include "heap.h"
#include "tag.h"

#define CANARY_RECORD_BYTES 8u

/* The request the heap serves for a program's n bytes: room for the record
 * in canary mode. A size no heap can serve stays one. */
static inline size_t canary_request(const hh_heap *h, size_t n)
{
    if (!(h->flags & HH_CANARY) || n > SIZE_MAX - CANARY_RECORD_BYTES)
        return n;
    return n + CANARY_RECORD_BYTES;
}

/* The out-of-line halves of the calls below (canary.c), for canary mode. */
void canary_write(const hh_heap *h, void *p, size_t n);
bool canary_verify(hh_heap *h, tag *b);
size_t canary_requested(const hh_heap *h, tag *b);

/* Remember that the block at payload p (NULL: nothing) was asked for with n
 * bytes: fill its slack, write its record. Inline, so that the default mode
 * pays one test of a flag. */
static inline void canary_set(const hh_heap *h, void *p, size_t n)
{
    if ((h->flags & HH_CANARY) && p)
        canary_write(h, p, n);
}

/* Is the verified block b's canary intact? true when the mode is off; else a
 * failure is reported (HH_E_CORRUPT, the block and its first damaged byte). */
static inline bool canary_intact(hh_heap *h, tag *b) { return !(h->flags & HH_CANARY) || canary_verify(h, b); }

/* Bytes the program may use in the verified block b: what it asked for in
 * canary mode (b's canary intact), all of its payload otherwise. */
static inline size_t canary_usable(const hh_heap *h, tag *b)
{
    return (h->flags & HH_CANARY) ? canary_requested(h, b) : tag_size(b) - HH_OVERHEAD;
}

/* The first damaged byte past b's request (an offset from its payload), or
 * SIZE_MAX when the canary is intact. For hh_check. */
size_t canary_damage(const hh_heap *h, tag *b);

#endif /* HH_CANARY_H */
