/*
 * ordered_array.h: the classic kernel tutorial's ordered array, kept for any
 * code of yours that uses it. The heap no longer does: holeheap keeps its hole
 * index inside the holes. Same names and signatures as the tutorial's; unlike
 * it, insert refuses to write past max_size and lookup and remove check i.
 */
#ifndef ORDERED_ARRAY_H
#define ORDERED_ARRAY_H

#include "common.h"

typedef void *type_t;

/* Non-zero if the first argument is less than the second. */
typedef s8int (*lessthan_predicate_t)(type_t, type_t);

typedef struct {
    type_t *array;
    u32int size;
    u32int max_size;
    lessthan_predicate_t less_than;
} ordered_array_t;

s8int standard_lessthan_predicate(type_t a, type_t b);

/* An array of max_size items from kmalloc, or at addr. */
ordered_array_t create_ordered_array(u32int max_size, lessthan_predicate_t less_than);
ordered_array_t place_ordered_array(void *addr, u32int max_size, lessthan_predicate_t less_than);

void destroy_ordered_array(ordered_array_t *array);

/* Keeps the array sorted; a full array is reported and left as it was. */
void insert_ordered_array(type_t item, ordered_array_t *array);

/* The item at i; 0 when i >= size. */
type_t lookup_ordered_array(u32int i, ordered_array_t *array);

/* Removes the item at i; nothing when i >= size. */
void remove_ordered_array(u32int i, ordered_array_t *array);

#endif
