/*
 * Glue to the host: address-space reservation and page commit, locks,
 * randomness, the environment and messages. Nothing here calls malloc.
 */
#include "port.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/auxv.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- locks: a futex mutex that spins briefly before it sleeps ---- */

static void lock_futex(_Atomic int *word, int op, int value)
{
    syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, value, NULL, NULL, 0);
}

static bool lock_spin_until_free(hhp_lock *l)
{
    for (int i = 0; i < 100; i++) {
        if (atomic_load_explicit(&l->state, memory_order_relaxed) == 0)
            return true;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    return false;
}

void hhp_lock_take(hhp_lock *l)
{
    int seen = 0;
    if (atomic_compare_exchange_strong_explicit(&l->state, &seen, 1, memory_order_acquire, memory_order_relaxed))
        return;
    if (lock_spin_until_free(l)) {
        seen = 0;
        if (atomic_compare_exchange_strong_explicit(&l->state, &seen, 1, memory_order_acquire, memory_order_relaxed))
            return;
    }
    while (atomic_exchange_explicit(&l->state, 2, memory_order_acquire) != 0)
        lock_futex(&l->state, FUTEX_WAIT, 2);
}

void hhp_lock_give(hhp_lock *l)
{
    if (atomic_exchange_explicit(&l->state, 0, memory_order_release) == 2)
        lock_futex(&l->state, FUTEX_WAKE, 1);
}

/* In a child after fork: only the forking thread exists, so nobody waits. */
void hhp_lock_reset(hhp_lock *l) { atomic_store_explicit(&l->state, 0, memory_order_relaxed); }

/* ---- address space ---- */

size_t hhp_page_size(void)
{
    static size_t page; /* set lazily by whichever thread asks first: relaxed atomics (TSan) */
    size_t known = __atomic_load_n(&page, __ATOMIC_RELAXED);
    if (known == 0) {
        known = (size_t)sysconf(_SC_PAGESIZE);
        __atomic_store_n(&page, known, __ATOMIC_RELAXED);
    }
    return known;
}

/* Reserve bytes of address space aligned to align (a power of two): map
 * bytes + align without access, then cut off both unaligned ends. */
void *hhp_reserve(size_t bytes, size_t align)
{
    size_t span = bytes + align;
    char *raw = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    char *start = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (start > raw)
        munmap(raw, (size_t)(start - raw));
    size_t tail = (size_t)(raw + span - (start + bytes));
    if (tail > 0)
        munmap(start + bytes, tail);
    return start;
}

bool hhp_commit(void *at, size_t bytes) { return mprotect(at, bytes, PROT_READ | PROT_WRITE) == 0; }

/* The pages' contents go (they read as zeros again); the range stays mapped
 * readable, so that nothing reading it without a lock can fault, but not
 * writable, so that a program's write after free into memory the heap gave
 * back faults at the write, as before (hhp_commit makes it writable again
 * when the heap grows over it). */
void hhp_discard(void *at, size_t bytes)
{
    madvise(at, bytes, MADV_DONTNEED);
    mprotect(at, bytes, PROT_READ);
}

void *hhp_map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void hhp_unmap(void *at, size_t bytes) { munmap(at, bytes); }

void *hhp_remap(void *at, size_t old_bytes, size_t new_bytes)
{
    void *p = mremap(at, old_bytes, new_bytes, MREMAP_MAYMOVE);
    return p == MAP_FAILED ? NULL : p;
}

uint64_t hhp_now_ms(void)
{
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &t) != 0)
        return 0;
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* ---- randomness and the machine ---- */

static uint64_t random_absorb(uint64_t state, uint64_t value)
{
    return hhp_mix64(state ^ hhp_mix64(value + 0x9E3779B97F4A7C15u));
}

/* When getrandom fails (an old kernel, a seccomp filter, no entropy yet):
 * what differs between processes and between calls. The 16 bytes the kernel
 * gave this process at exec (AT_RANDOM), both clocks, the cycle counter, the
 * pid and thread id, where ASLR put the stack and this library, and a counter,
 * so that two calls never return the same stream. */
static uint64_t random_fallback_word(void)
{
    static _Atomic uint64_t calls;
    uint64_t s = random_absorb(0, atomic_fetch_add_explicit(&calls, 1u, memory_order_relaxed));
    const void *at_random = (const void *)getauxval(AT_RANDOM);
    if (at_random != NULL) {
        uint64_t words[2];
        memcpy(words, at_random, sizeof words);
        s = random_absorb(random_absorb(s, words[0]), words[1]);
    }
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) == 0)
        s = random_absorb(s, (uint64_t)t.tv_sec << 30 ^ (uint64_t)t.tv_nsec);
    if (clock_gettime(CLOCK_REALTIME, &t) == 0)
        s = random_absorb(s, (uint64_t)t.tv_sec << 30 ^ (uint64_t)t.tv_nsec);
#if defined(__x86_64__) || defined(__i386__)
    s = random_absorb(s, __builtin_ia32_rdtsc());
#endif
    s = random_absorb(s, (uint64_t)getpid() << 32 ^ (uint64_t)syscall(SYS_gettid));
    s = random_absorb(s, (uint64_t)(uintptr_t)&t);
    return random_absorb(s, (uint64_t)(uintptr_t)&random_fallback_word);
}

void hhp_random_fill(void *out, size_t bytes)
{
    int saved_errno = errno; /* a successful malloc leaves errno alone */
    unsigned char *p = out;
    while (bytes > 0) {
        ssize_t got = getrandom(p, bytes, GRND_NONBLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        p += got;
        bytes -= (size_t)got;
    }
    while (bytes > 0) {
        uint64_t word = random_fallback_word();
        size_t n = bytes < sizeof word ? bytes : sizeof word;
        memcpy(p, &word, n);
        p += n;
        bytes -= n;
    }
    errno = saved_errno;
}

uint64_t hhp_random_u64(void)
{
    uint64_t v;
    hhp_random_fill(&v, sizeof v);
    return v;
}

/* Never 0: the core takes key 0 for its public default. */
uint32_t hhp_random_u32(void)
{
    uint32_t v = 0;
    for (int tries = 0; v == 0 && tries < 4; tries++)
        hhp_random_fill(&v, sizeof v);
    return v != 0 ? v : 0x2545F491u;
}

unsigned hhp_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? (unsigned)n : 1u;
}

/* ---- the environment (getenv does not allocate) ---- */

const char *hhp_env_text(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

bool hhp_env_flag(const char *name)
{
    const char *v = hhp_env_text(name);
    return v != NULL && v[0] != '0';
}

size_t hhp_env_size(const char *name, size_t fallback)
{
    const char *v = hhp_env_text(name);
    if (v == NULL || v[0] < '0' || v[0] > '9')
        return fallback;
    size_t n = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        n = n * 10 + (size_t)(*v - '0');
    switch (*v) {
    case 'k':
    case 'K': return n << 10;
    case 'm':
    case 'M': return n << 20;
    case 'g':
    case 'G': return n << 30;
    default: return n;
    }
}

/* ---- messages, without stdio ---- */

void hhp_line_str(hhp_line *l, const char *s)
{
    while (*s != '\0' && l->len < sizeof l->text - 1)
        l->text[l->len++] = *s++;
}

static void line_digits(hhp_line *l, uintmax_t v, unsigned base)
{
    char digits[32];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (n > 0 && l->len < sizeof l->text - 1)
        l->text[l->len++] = digits[--n];
}

void hhp_line_dec(hhp_line *l, size_t v) { line_digits(l, v, 10); }

void hhp_line_hex(hhp_line *l, uintptr_t v)
{
    hhp_line_str(l, "0x");
    line_digits(l, v, 16);
}

void hhp_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *at = p;
    while (n > 0) {
        ssize_t w = write(fd, at, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        at += w;
        n -= (size_t)w;
    }
}

void hhp_line_emit(hhp_line *l)
{
    l->text[l->len++] = '\n';
    hhp_write_all(STDERR_FILENO, l->text, l->len);
    l->len = 0;
}

/* "holeheap: free(): double free 0x5555... (HH_E_DOUBLE_FREE)", then abort. */
_Noreturn void hhp_die(const char *call, const char *what, const void *where, int code)
{
    hhp_line l = {.len = 0};
    hhp_line_str(&l, "holeheap: ");
    hhp_line_str(&l, call != NULL ? call : "malloc");
    hhp_line_str(&l, "(): ");
    hhp_line_str(&l, what != NULL ? what : "heap problem");
    hhp_line_str(&l, " ");
    hhp_line_hex(&l, (uintptr_t)where);
    hhp_line_str(&l, " (");
    hhp_line_str(&l, hh_code_name(code));
    hhp_line_str(&l, ")");
    hhp_line_emit(&l);
    abort();
}
