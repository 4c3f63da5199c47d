/* The only functions the core needs from its host; any kernel provides them.
 * Declared here so the core includes no libc header. The core never uses what
 * they return: a host whose memcpy and memset return void (the classic kernel
 * tutorial's) works, with -fno-builtin as such a host compiles. */
#ifndef HH_MEM_H
#define HH_MEM_H

#include "holeheap.h" /* size_t */

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#endif /* HH_MEM_H */
