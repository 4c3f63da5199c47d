/*
 * What valgrind's memcheck and AddressSanitizer are told about the heap, so
 * that they see its blocks as they see the system malloc's: each block is
 * announced when the program gets it and when it gives it back, and
 * everything else in the arena (tags, holes, the front's cached blocks, the
 * slack a canary guards) is no-access to the program. Internal to the core.
 *
 *   -DHH_VALGRIND (make HH_VALGRIND=1): valgrind client requests, from
 *       <valgrind/memcheck.h> (Debian's valgrind package; each request is a
 *       few no-op instructions outside valgrind).
 *   -fsanitize=address under clang: ASan's manual poisoning interface,
 *       detected by __has_feature(address_sanitizer), no flag needed.
 *       Under gcc (__SANITIZE_ADDRESS__) nothing is announced: see below.
 *   -DHH_NO_ANNOTATIONS turns both off: the sanitizer builds that check the
 *       core's own memory accesses (Makefile SAN) use it.
 *
 * The core's own accesses to what the program may not touch are exempt, as
 * a system allocator's are: under valgrind, error reporting is off from the
 * entry to the exit of each call (tool_core_enter/leave); under ASan, every
 * core function is compiled without instrumentation (each core .c file
 * includes this header first, then opens HH_TOOLS_EXEMPT_BEGIN, clang's
 * attribute push, before its other headers and closes it at its end, which
 * also keeps the single-file build balanced), so only libc's memset and
 * memcpy, which ASan checks wherever they are called from, need the range
 * opened around them (tool_open, tool_close).
 * gcc has no way to exempt a whole file, so under gcc's ASan the core
 * announces nothing and stays checked like any other code.
 *
 * Every call below is a no-op without these builds; HH_TOOLS_ACTIVE is then
 * 0 and the fast paths stay on (in these builds they are off: every call
 * takes the general path, where the announcements are).
 */
#ifndef HH_ANNOTATE_H
#define HH_ANNOTATE_H

#include "holeheap.h"

#if !defined(HH_NO_ANNOTATIONS) && defined(__clang__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HH_ASAN_ANNOTATE 1
#endif
#endif

#if !defined(HH_NO_ANNOTATIONS) && defined(HH_VALGRIND)
#define HH_VALGRIND_ANNOTATE 1
#endif

#if defined(HH_ASAN_ANNOTATE) || defined(HH_VALGRIND_ANNOTATE)
#define HH_TOOLS_ACTIVE 1
#else
#define HH_TOOLS_ACTIVE 0
#endif

#ifdef HH_VALGRIND_ANNOTATE
#include <valgrind/memcheck.h>
#endif

#ifdef HH_ASAN_ANNOTATE
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define TOOLS_EXEMPT_PUSH \
    _Pragma("clang attribute push(__attribute__((no_sanitize(\"address\"))), apply_to = function)")
#define TOOLS_EXEMPT_POP _Pragma("clang attribute pop")
#else
#define TOOLS_EXEMPT_PUSH
#define TOOLS_EXEMPT_POP
#endif
/* Written `HH_TOOLS_EXEMPT_BEGIN;` and `HH_TOOLS_EXEMPT_END;`: each ends in
 * a struct declaration, so that the semicolon is a declaration's. */
#define HH_TOOLS_EXEMPT_BEGIN TOOLS_EXEMPT_PUSH struct hh_tools_exempt_begin
#define HH_TOOLS_EXEMPT_END TOOLS_EXEMPT_POP struct hh_tools_exempt_end

/* One request to each tool, or nothing: TOOL_VG's argument is not even
 * compiled without valgrind; the ASan calls still use their arguments. */
#ifdef HH_VALGRIND_ANNOTATE
#define TOOL_VG(request) \
    do { \
        request; \
    } while (0)
#else
#define TOOL_VG(request) \
    do { \
    } while (0)
#endif
#ifdef HH_ASAN_ANNOTATE
#define TOOL_POISON(p, n) __asan_poison_memory_region((p), (n))
#define TOOL_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define TOOL_POISON(p, n) ((void)(p), (void)(n))
#define TOOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A public call starts and ends: the core's own accesses are not the program's. */
static inline void tool_core_enter(void) { TOOL_VG(VALGRIND_DISABLE_ERROR_REPORTING); }
static inline void tool_core_leave(void) { TOOL_VG(VALGRIND_ENABLE_ERROR_REPORTING); }

/* [p, p+bytes) is the heap's: no-access to the program. */
static inline void tool_hide(const void *p, size_t bytes)
{
    TOOL_VG(VALGRIND_MAKE_MEM_NOACCESS(p, bytes));
    TOOL_POISON(p, bytes);
}

/* [p, p+bytes) is the caller's again (a region trimmed, or started anew). */
static inline void tool_give_back(const void *p, size_t bytes)
{
    TOOL_VG(VALGRIND_MAKE_MEM_UNDEFINED(p, bytes));
    TOOL_UNPOISON(p, bytes);
}

/* The program owns the block at p, `bytes` of it, from now on. */
static inline void tool_block_given(const void *p, size_t bytes, bool zeroed)
{
    TOOL_VG(VALGRIND_MALLOCLIKE_BLOCK(p, bytes, 0, zeroed));
    TOOL_UNPOISON(p, bytes);
    (void)zeroed;
}

/* The program gave the block at p (`bytes` it owned) back. */
static inline void tool_block_taken(const void *p, size_t bytes)
{
    TOOL_VG(VALGRIND_FREELIKE_BLOCK(p, 0));
    TOOL_POISON(p, bytes);
}

/* The block at p stayed where it was and now has `bytes` instead of `old`. */
static inline void tool_block_resized(const void *p, size_t old, size_t bytes)
{
    TOOL_VG(VALGRIND_RESIZEINPLACE_BLOCK(p, old, bytes, 0));
    TOOL_POISON(p, old);
    TOOL_UNPOISON(p, bytes);
}

/* A moving realloc copied `bytes` from src to dst: memcheck's record of
 * which of them were ever written moves along (the copy itself ran with
 * error reporting off, before dst was announced). */
static inline void tool_copy_definedness(const void *dst, const void *src, size_t bytes)
{
#ifdef HH_VALGRIND_ANNOTATE
    unsigned char vbits[256];
    for (size_t done = 0; done < bytes; done += sizeof vbits) {
        size_t n = bytes - done < sizeof vbits ? bytes - done : sizeof vbits;
        if (VALGRIND_GET_VBITS((const char *)src + done, vbits, n) == 1)
            (void)VALGRIND_SET_VBITS((const char *)dst + done, vbits, n);
    }
#endif
    (void)dst;
    (void)src;
    (void)bytes;
}

/* Around the core's memset and memcpy into memory the program may not
 * touch: ASan checks libc's calls wherever they come from. */
static inline void tool_open(const void *p, size_t bytes) { TOOL_UNPOISON(p, bytes); }
static inline void tool_close(const void *p, size_t bytes) { TOOL_POISON(p, bytes); }

#endif /* HH_ANNOTATE_H */
