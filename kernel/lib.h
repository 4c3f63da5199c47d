/* The few C library functions the kernel and the holeheap core need. */
#ifndef KERNEL_LIB_H
#define KERNEL_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
size_t strlen(const char *s);
bool str_has_word(const char *s, const char *word);
/* The decimal number after prefix in a word of s ("seed=42"); false if none. */
bool str_word_number(const char *s, const char *prefix, uint32_t *value);

static inline uint32_t align_up(uint32_t x, uint32_t a) { return (x + a - 1u) & ~(a - 1u); }
static inline uint32_t align_down(uint32_t x, uint32_t a) { return x & ~(a - 1u); }

#endif
