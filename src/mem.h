/* The only functions the core needs from its host; any kernel provides them.
 * Declared here so the core includes no libc header. */
#ifndef HH_MEM_H
#define HH_MEM_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);

#endif /* HH_MEM_H */
