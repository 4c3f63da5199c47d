/* ordered_array.c: the tutorial's ordered array, bounds checked. */
#include "ordered_array.h"

#include "kheap.h"
#include "monitor.h"

s8int standard_lessthan_predicate(type_t a, type_t b) { return (s8int)((u32int)a < (u32int)b); }

ordered_array_t place_ordered_array(void *addr, u32int max_size, lessthan_predicate_t less_than)
{
    ordered_array_t array;
    array.array = (type_t *)addr;
    array.size = 0;
    array.max_size = addr ? max_size : 0;
    array.less_than = less_than;
    if (addr)
        memset((u8int *)addr, 0, max_size * (u32int)sizeof(type_t));
    return array;
}

ordered_array_t create_ordered_array(u32int max_size, lessthan_predicate_t less_than)
{
    return place_ordered_array((void *)kmalloc(max_size * (u32int)sizeof(type_t)), max_size, less_than);
}

void destroy_ordered_array(ordered_array_t *array)
{
    if (kheap && (u32int)array->array >= kheap->start_address && (u32int)array->array < kheap->end_address)
        kfree(array->array);
    array->array = 0;
    array->size = array->max_size = 0;
}

void insert_ordered_array(type_t item, ordered_array_t *array)
{
    if (array->size >= array->max_size) {
        monitor_write("ordered_array: full, item not inserted\n");
        return;
    }
    u32int i = array->size;
    while (i > 0 && array->less_than(item, array->array[i - 1])) {
        array->array[i] = array->array[i - 1];
        i--;
    }
    array->array[i] = item;
    array->size++;
}

type_t lookup_ordered_array(u32int i, ordered_array_t *array) { return i < array->size ? array->array[i] : 0; }

void remove_ordered_array(u32int i, ordered_array_t *array)
{
    if (i >= array->size)
        return;
    for (; i + 1 < array->size; i++)
        array->array[i] = array->array[i + 1];
    array->size--;
}
