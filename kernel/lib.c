/*
 * memcpy, memset and memmove for the kernel and the holeheap core, written
 * with string instructions so that the compiler cannot turn their loops back
 * into calls to themselves.
 */
#include "lib.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

/* Overlapping copies to a higher address run backwards (direction flag set). */
void *memmove(void *dst, const void *src, size_t n)
{
    if ((uintptr_t)dst <= (uintptr_t)src || (uintptr_t)dst >= (uintptr_t)src + n)
        return memcpy(dst, src, n);
    if (n == 0)
        return dst;
    void *d = (char *)dst + n - 1;
    const void *s = (const char *)src + n - 1;
    __asm__ __volatile__("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return dst;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

/* Is word one of the space-separated words of s? */
bool str_has_word(const char *s, const char *word)
{
    size_t len = strlen(word);
    while (*s != '\0') {
        while (*s == ' ')
            s++;
        size_t i = 0;
        while (s[i] != '\0' && s[i] != ' ')
            i++;
        bool same = i == len;
        for (size_t k = 0; same && k < len; k++)
            same = s[k] == word[k];
        if (same)
            return true;
        s += i;
    }
    return false;
}

bool str_word_number(const char *s, const char *prefix, uint32_t *value)
{
    size_t len = strlen(prefix);
    for (; *s != '\0'; s++) {
        bool word_start = true;
        for (size_t k = 0; word_start && k < len; k++)
            word_start = s[k] == prefix[k];
        if (!word_start || s[len] < '0' || s[len] > '9')
            continue;
        uint32_t v = 0;
        for (const char *d = s + len; *d >= '0' && *d <= '9'; d++)
            v = v * 10u + (uint32_t)(*d - '0');
        *value = v;
        return true;
    }
    return false;
}
