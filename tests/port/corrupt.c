/*
 * The drop-in malloc under memory corruption as real bugs make it (issue 7).
 *
 * Each trial runs in a process of its own (forked, so that every trial starts
 * from the same heap). It allocates blocks of many sizes with malloc, calloc,
 * realloc and posix_memalign (small ones go through the per-thread cache;
 * some are allocated or freed by a second thread, so that remote chains and
 * pending lists hold them), keeping a model of every live block: pointer,
 * size, a byte pattern. Then it makes ONE corruption:
 *
 *   overflow  1-64 bytes past a block's requested size: random bytes, 'A's,
 *             copies of a valid tag (the 8 bytes before another block),
 *             addresses of other blocks
 *   header    the 8 bytes before a block: the same kinds of values
 *   waf       1-16 bytes at any offset within the first 48 bytes of a freed
 *             block: random bytes, 'A's, zeros, small integers, addresses of
 *             other blocks (live or freed, or its own)
 *   stale     realloc, malloc_usable_size or free of a freed pointer
 *
 * and goes on with hundreds of random calls. Every block handed out must be
 * 16-aligned (or as asked) and clear of every live block; every live block's
 * bytes must stay as written, except bytes the test itself overwrote.
 *
 * A trial passes when its process exits 0 or dies by SIGABRT after a line
 * starting "holeheap:" (the port's one-line abort). It fails on any other
 * signal (a SIGSEGV or SIGBUS is reported with its backtrace, resolved with
 * addr2line, and said to be in the port, the core or elsewhere), a hang (a
 * SIGALRM after --timeout seconds), an overlap or changed contents. Ends with
 * "N passed, N failed" and a table of what each kind of corruption gave.
 * Before the trials, one more check: with getrandom refused (a seccomp
 * filter), the port's keys are still non-zero, and differ between processes.
 *
 *   test-corrupt [--trials N] [--seed S] [--ops N] [--timeout S] [--budget S] [--verbose]
 *   test-corrupt --one SEED     one trial in this process, no fork (for gdb)
 * Trial k of a run uses seed S + k: `--seed S+k --trials 1` repeats it exactly.
 */
#include <errno.h>
#include <execinfo.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* The port's randomness (hidden in the shared library, linkable from the archive). */
uint32_t hhp_random_u32(void);
uint64_t hhp_random_u64(void);

enum { SLOTS = 128, RECENT = 64, MAX_WRITE = 64 };
#define LARGE_SIZE ((size_t)1 << 20) /* the port's mmap threshold: own mappings */

/* ---- random numbers (xorshift64*) ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static size_t rng_below(size_t n) { return n == 0 ? 0 : (size_t)(rng_next() % n); }
static size_t rng_range(size_t lo, size_t hi) { return lo + rng_below(hi - lo + 1); }
static bool rng_percent(unsigned p) { return rng_below(100) < p; }

/* ---- the model ---- */

typedef struct live {
    unsigned char *p; /* NULL: free slot */
    size_t size;
    uint32_t seed;
    bool tainted; /* the test overwrote some of its bytes */
} live;

typedef struct freed {
    uintptr_t addr; /* a number: the compiler need not see the test misuse it */
    size_t usable;
} freed;

static unsigned char *freed_bytes(const freed *f) { return (unsigned char *)f->addr; }

static live slots[SLOTS];
static freed recent[RECENT];
static unsigned recent_next;
static unsigned long ops_done;
static bool verbose;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static _Noreturn void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void test_fail(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    say("test-fail: %s (after %lu calls)\n", line, ops_done);
    _exit(3);
}

/* A block's bytes are a window of one long random pattern, at an offset
 * drawn from its seed: copied and compared with memcpy and memcmp. */
#define MAX_BLOCK (LARGE_SIZE + 300000)
enum { PATTERN_OFFSETS = 4093 };
static unsigned char pattern_bytes[MAX_BLOCK + PATTERN_OFFSETS];

static void pattern_make(void)
{
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < sizeof pattern_bytes; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern_bytes[i] = (unsigned char)x;
    }
}

static const unsigned char *pattern(uint32_t seed) { return pattern_bytes + seed % PATTERN_OFFSETS; }

static void fill(live *l)
{
    memcpy(l->p, pattern(l->seed), l->size);
    l->tainted = false;
}

/* The first n bytes of l still hold its pattern (unless the test overwrote them). */
static void verify(const live *l, size_t n, const char *when)
{
    if (l->tainted || memcmp(l->p, pattern(l->seed), n) == 0)
        return;
    size_t i = 0;
    while (l->p[i] == pattern(l->seed)[i])
        i++;
    test_fail("%s: live block %p (size %zu) changed at offset %zu: 0x%02x, wrote 0x%02x", when, (void *)l->p, l->size,
              i, l->p[i], pattern(l->seed)[i]);
}

static void verify_all(const char *when)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL)
            verify(&slots[i], slots[i].size, when);
}

static size_t extent(size_t size) { return size > 0 ? size : 1; }

static bool ranges_meet(const void *a, size_t an, const void *b, size_t bn)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return x < y + bn && y < x + an;
}

/* A block just handed out: aligned, clear of every other live block. */
static void check_new(const char *call, const unsigned char *p, size_t size, size_t align, const live *self)
{
    if (p == NULL)
        test_fail("%s(%zu) returned NULL", call, size);
    if ((uintptr_t)p % align != 0)
        test_fail("%s(%zu) returned %p, not %zu-aligned", call, size, (const void *)p, align);
    for (unsigned i = 0; i < SLOTS; i++) {
        const live *l = &slots[i];
        if (l != self && l->p != NULL && ranges_meet(p, extent(size), l->p, extent(l->size)))
            test_fail("%s(%zu) returned %p, overlapping the live block %p (size %zu)", call, size, (const void *)p,
                      (void *)l->p, l->size);
    }
}

static void remember_freed(uintptr_t p, size_t usable)
{
    if (usable >= LARGE_SIZE / 2)
        return; /* a mapping of its own: gone after free */
    recent[recent_next++ % RECENT] = (freed){p, usable};
}

static live *free_slot(void)
{
    unsigned start = (unsigned)rng_below(SLOTS);
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[(start + i) % SLOTS].p == NULL)
            return &slots[(start + i) % SLOTS];
    return NULL;
}

static live *live_slot(void)
{
    unsigned start = (unsigned)rng_below(SLOTS);
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[(start + i) % SLOTS].p != NULL)
            return &slots[(start + i) % SLOTS];
    return NULL;
}

static size_t random_size(void)
{
    unsigned r = (unsigned)rng_below(1000);
    if (r < 15)
        return 0;
    if (r < 640)
        return rng_range(1, 512); /* the cache's sizes */
    if (r < 880)
        return rng_range(513, 4096);
    if (r < 985)
        return rng_range(4097, 65536);
    if (r < 998)
        return rng_range(65537, 262144);
    return rng_range(LARGE_SIZE, MAX_BLOCK); /* a mapping of its own */
}

/* Through volatile pointers: the compiler neither folds the calls nor
 * reasons about the freed pointers the test keeps on purpose. */
static void (*volatile free_v)(void *) = free;
static void *(*volatile realloc_v)(void *, size_t) = realloc;

/* ---- the second thread: frees and allocates when asked ---- */

enum job_kind { JOB_NONE, JOB_FREE, JOB_ALLOC, JOB_EXIT };
typedef struct job {
    enum job_kind kind;
    unsigned n;
    unsigned char *ptr[16];
    size_t size[16];
} job;

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cond = PTHREAD_COND_INITIALIZER;
static job job_box;
static bool job_posted;
static pthread_t helper;

static void *helper_main(void *unused)
{
    (void)unused;
    sigset_t alarm_set;
    sigemptyset(&alarm_set);
    sigaddset(&alarm_set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm_set, NULL); /* the hang report comes from the main thread */
    for (;;) {
        pthread_mutex_lock(&job_lock);
        while (!job_posted)
            pthread_cond_wait(&job_cond, &job_lock);
        job *j = &job_box;
        enum job_kind kind = j->kind;
        for (unsigned i = 0; i < j->n; i++) {
            if (kind == JOB_FREE)
                free_v(j->ptr[i]);
            else if (kind == JOB_ALLOC)
                j->ptr[i] = malloc(j->size[i]);
        }
        job_posted = false;
        pthread_cond_broadcast(&job_cond);
        pthread_mutex_unlock(&job_lock);
        if (kind == JOB_EXIT)
            return NULL;
    }
}

/* Hand the job to the second thread and wait until it is done. */
static void helper_run(job *j)
{
    pthread_mutex_lock(&job_lock);
    job_box = *j;
    job_posted = true;
    pthread_cond_broadcast(&job_cond);
    while (job_posted)
        pthread_cond_wait(&job_cond, &job_lock);
    *j = job_box;
    pthread_mutex_unlock(&job_lock);
}

/* ---- the calls ---- */

static void op_alloc(void)
{
    live *l = free_slot();
    if (l == NULL)
        return;
    size_t size = random_size(), align = 16;
    unsigned char *p;
    const char *call;
    unsigned r = (unsigned)rng_below(100);
    if (r < 60) {
        call = "malloc";
        p = malloc(size);
    } else if (r < 75) {
        call = "calloc";
        size_t n = rng_range(1, 8);
        size = size / n;
        p = calloc(n, size);
        size *= n;
        for (size_t i = 0; p != NULL && i < size; i++)
            if (p[i] != 0)
                test_fail("calloc(%zu) returned %p with byte %zu not zero", size, (void *)p, i);
    } else if (r < 90) {
        call = "posix_memalign";
        static const size_t aligns[] = {16, 32, 64, 128, 256, 1024, 4096};
        align = aligns[rng_below(sizeof aligns / sizeof aligns[0])];
        if (size > 400000)
            size = 400000;
        void *q = NULL;
        if (posix_memalign(&q, align, size) != 0)
            q = NULL;
        p = q;
    } else {
        call = "realloc(NULL)";
        p = realloc(NULL, size);
    }
    check_new(call, p, size, align, NULL);
    *l = (live){p, size, (uint32_t)rng_next(), false};
    fill(l);
}

static void op_free(void)
{
    live *l = live_slot();
    if (l == NULL)
        return;
    verify(l, l->size, "before free");
    size_t usable = malloc_usable_size(l->p);
    free_v(l->p);
    remember_freed((uintptr_t)l->p, usable);
    l->p = NULL;
}

static void op_realloc(void)
{
    live *l = live_slot();
    if (l == NULL)
        return;
    verify(l, l->size, "before realloc");
    size_t size = rng_percent(50) ? random_size() : l->size + rng_range(0, 200) - (l->size > 100 ? 100 : 0);
    if (size == 0)
        size = 1; /* realloc(p, 0) frees: op_free does that */
    size_t usable = malloc_usable_size(l->p);
    uintptr_t old = (uintptr_t)l->p;
    unsigned char *p = realloc_v(l->p, size);
    check_new("realloc", p, size, 16, l);
    if ((uintptr_t)p != old)
        remember_freed(old, usable);
    l->p = p;
    size_t kept = size < l->size ? size : l->size;
    l->size = kept;
    verify(l, kept, "after realloc");
    l->size = size;
    fill(l);
}

/* Up to 16 live blocks freed by the second thread (remote frees when the
 * block belongs to another arena). */
static void op_remote_free(void)
{
    job j = {JOB_FREE, 0, {0}, {0}};
    unsigned want = (unsigned)rng_range(1, 16);
    for (unsigned i = 0; i < want; i++) {
        live *l = live_slot();
        if (l == NULL)
            break;
        verify(l, l->size, "before a remote free");
        j.size[j.n] = malloc_usable_size(l->p);
        j.ptr[j.n++] = l->p;
        l->p = NULL;
    }
    helper_run(&j);
    for (unsigned i = 0; i < j.n; i++)
        remember_freed((uintptr_t)j.ptr[i], j.size[i]);
}

/* Small blocks allocated by the second thread, kept by this one. */
static void op_remote_alloc(void)
{
    job j = {JOB_ALLOC, (unsigned)rng_range(1, 16), {0}, {0}};
    for (unsigned i = 0; i < j.n; i++)
        j.size[i] = rng_percent(85) ? rng_range(1, 512) : rng_range(513, 8192);
    helper_run(&j);
    for (unsigned i = 0; i < j.n; i++) {
        live *l = free_slot();
        check_new("malloc (second thread)", j.ptr[i], j.size[i], 16, NULL);
        if (l == NULL) {
            free(j.ptr[i]);
            continue;
        }
        *l = (live){j.ptr[i], j.size[i], (uint32_t)rng_next(), false};
        fill(l);
    }
}

static void random_call(void)
{
    unsigned r = (unsigned)rng_below(100);
    if (r < 40)
        op_alloc();
    else if (r < 73)
        op_free();
    else if (r < 88)
        op_realloc();
    else if (r < 94)
        op_remote_free(); /* a handoff to the other thread: few, with more blocks each */
    else
        op_remote_alloc();
    if (++ops_done % 64 == 0)
        verify_all("periodic check");
}

/* ---- the corruption ---- */

static int probe_pipe[2];

/* Can the test read (so, in the heap, write) [p, p+n) without a fault? */
static bool accessible(const void *p, size_t n)
{
    if (write(probe_pipe[1], p, n) != (ssize_t)n)
        return false;
    char sink[MAX_WRITE];
    (void)!read(probe_pipe[0], sink, n);
    return true;
}

/* [p, p+n) may be written by the program: its bytes go through the pipe and
 * back into place (a page the heap gave back is readable, not writable: a
 * program's write there faults in the program, not in the allocator). */
static bool writable(void *p, size_t n)
{
    if (write(probe_pipe[1], p, n) != (ssize_t)n)
        return false;
    if (read(probe_pipe[0], p, n) == (ssize_t)n)
        return true;
    char sink[MAX_WRITE];
    (void)!read(probe_pipe[0], sink, n); /* the bytes the failed read left */
    return false;
}

/* Taint every live block whose bytes [p, p+n) covers: the test wrote them. */
static void taint(const void *p, size_t n)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL && ranges_meet(p, n, slots[i].p, extent(slots[i].size)))
            slots[i].tainted = true;
}

static bool overlaps_live(const void *p, size_t n)
{
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL && ranges_meet(p, n, slots[i].p, extent(slots[i].size)))
            return true;
    return false;
}

static const char *const mode_names[] = {"random", "A", "tag-copy", "pointer", "small-int", "zeros", "own-address"};
enum mode { M_RANDOM, M_A, M_TAG, M_POINTER, M_SMALL, M_ZEROS, M_SELF, M_COUNT };

static const unsigned char *any_live_block(void)
{
    const live *l = live_slot();
    return l != NULL ? l->p : NULL;
}

/* n bytes of the mode's kind into buf (for a write at target). */
static void make_bytes(enum mode m, unsigned char *buf, size_t n, const unsigned char *target)
{
    uint64_t word = 0;
    const unsigned char *other = any_live_block();
    switch (m) {
    case M_RANDOM:
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rng_next();
        return;
    case M_A: memset(buf, 'A', n); return;
    case M_ZEROS: memset(buf, 0, n); return;
    case M_TAG: /* the 8 bytes before another live (arena) block */
        if (other != NULL && accessible(other - 8, 8))
            memcpy(&word, other - 8, 8);
        break;
    case M_POINTER: /* another live block, or a freed one */
        if (rng_percent(50) || recent_next == 0)
            word = (uint64_t)(uintptr_t)other;
        else
            word = (uint64_t)recent[rng_below(recent_next < RECENT ? recent_next : RECENT)].addr;
        break;
    case M_SMALL: word = rng_below(4097); break;
    case M_SELF: word = (uint64_t)(uintptr_t)target; break;
    default: break;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(word >> (8 * (i % 8)));
}

/* A live block below LARGE_SIZE / 2 (16 tries), or NULL: a target to write around. */
static live *live_target(void)
{
    live *l = NULL;
    for (int tries = 0; tries < 16 && l == NULL; tries++) {
        l = live_slot();
        if (l != NULL && l->size >= LARGE_SIZE / 2)
            l = NULL;
    }
    return l;
}

static void corrupt_overflow(void)
{
    live *l = live_target();
    if (l == NULL) {
        say("corrupt: overflow none (no target)\n");
        return;
    }
    enum mode m = (enum mode)rng_below(4); /* random, A, tag copy, pointer */
    size_t n = rng_range(1, MAX_WRITE);
    unsigned char *at = l->p + l->size;
    while (n > 0 && !accessible(at, n))
        n--;
    unsigned char buf[MAX_WRITE];
    make_bytes(m, buf, n, at);
    say("corrupt: overflow %s: %zu bytes past the %zu of %p\n", mode_names[m], n, l->size, (void *)l->p);
    taint(at, n);
    memcpy(at, buf, n);
}

static void corrupt_header(void)
{
    live *l = live_target();
    if (l == NULL) {
        say("corrupt: header none (no target)\n");
        return;
    }
    static const enum mode modes[] = {M_RANDOM, M_A, M_TAG, M_POINTER, M_SMALL, M_ZEROS};
    enum mode m = modes[rng_below(sizeof modes / sizeof modes[0])];
    unsigned char buf[8];
    make_bytes(m, buf, 8, l->p - 8);
    say("corrupt: header %s: the 8 bytes before %p (size %zu)\n", mode_names[m], (void *)l->p, l->size);
    memcpy(l->p - 8, buf, 8);
}

/* A recently freed block no live block overlaps now (header included), or
 * NULL; its first bytes readable, and writable when the test will write. */
static const freed *freed_target(bool to_write)
{
    unsigned have = recent_next < RECENT ? recent_next : RECENT;
    for (int tries = 0; tries < 32 && have > 0; tries++) {
        const freed *f = &recent[rng_below(have)];
        unsigned char *at = freed_bytes(f) - 8;
        size_t n = 8 + (f->usable < 48 ? f->usable : 48);
        if (!overlaps_live(at, f->usable + 8) && (to_write ? writable(at, n) : accessible(at, n)))
            return f;
    }
    return NULL;
}

static void corrupt_after_free(void)
{
    const freed *f = freed_target(true);
    if (f == NULL) {
        say("corrupt: waf none (no target)\n");
        return;
    }
    size_t room = f->usable < 48 ? f->usable : 48;
    size_t offset = rng_below(room);
    size_t n = rng_range(1, 16);
    if (n > room - offset)
        n = room - offset;
    static const enum mode modes[] = {M_RANDOM, M_A, M_POINTER, M_SMALL, M_ZEROS, M_SELF};
    enum mode m = modes[rng_below(sizeof modes / sizeof modes[0])];
    unsigned char buf[16];
    make_bytes(m, buf, n, freed_bytes(f));
    say("corrupt: waf %s: %zu bytes at offset %zu of the freed %p (usable %zu)\n", mode_names[m], n, offset,
        (void *)freed_bytes(f), f->usable);
    memcpy(freed_bytes(f) + offset, buf, n);
}

static void corrupt_stale_call(void)
{
    const freed *f = freed_target(false);
    if (f == NULL) {
        say("corrupt: stale none (no target)\n");
        return;
    }
    unsigned which = (unsigned)rng_below(3);
    static const char *const names[] = {"realloc", "malloc_usable_size", "free"};
    say("corrupt: stale %s: of the freed %p (usable %zu)\n", names[which], (void *)freed_bytes(f), f->usable);
    unsigned char *volatile stale = freed_bytes(f);
    if (which == 0) {
        void *q = realloc_v(stale, rng_range(1, 1000));
        test_fail("realloc of the freed %p returned %p", (void *)stale, q);
    } else if (which == 1) {
        size_t n = malloc_usable_size(stale);
        test_fail("malloc_usable_size of the freed %p returned %zu", (void *)stale, n);
    } else {
        free_v(stale);
        test_fail("free of the freed %p returned", (void *)stale);
    }
}

/* ---- a trial ---- */

static unsigned trial_ops = 600;

static void run_trial(uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15u + 0x632BE59BD9B4E019u;
    for (int i = 0; i < 4; i++)
        rng_next();
    if (pipe(probe_pipe) != 0)
        test_fail("pipe: %s", strerror(errno));
    if (pthread_create(&helper, NULL, helper_main, NULL) != 0)
        test_fail("pthread_create failed");
    unsigned before = (unsigned)rng_range(trial_ops / 4, trial_ops / 2);
    for (unsigned i = 0; i < before; i++)
        random_call();
    unsigned kind = (unsigned)rng_below(100);
    if (kind < 30)
        corrupt_overflow();
    else if (kind < 45)
        corrupt_header();
    else if (kind < 88)
        corrupt_after_free();
    else
        corrupt_stale_call();
    for (unsigned i = before; i < trial_ops; i++)
        random_call();
    verify_all("at the end");
    for (unsigned i = 0; i < SLOTS; i++)
        if (slots[i].p != NULL) {
            free(slots[i].p);
            slots[i].p = NULL;
        }
    job bye = {JOB_EXIT, 0, {0}, {0}};
    helper_run(&bye);
    pthread_join(helper, NULL); /* its thread exit walks its cache and pending list */
    if (verbose)
        say("trial done: %lu calls\n", ops_done);
}

/* ---- crash reports (async-signal-safe: no stdio, no malloc) ---- */

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s != '\0' && at + 1 < cap)
        buf[at++] = *s++;
    return at;
}

static size_t put_hex(char *buf, size_t at, size_t cap, uintptr_t v)
{
    char digits[2 * sizeof v];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v & 15u];
        v >>= 4;
    } while (v != 0);
    at = put_str(buf, at, cap, "0x");
    while (n > 0 && at + 1 < cap)
        buf[at++] = digits[--n];
    return at;
}

static uintptr_t context_pc(const void *context)
{
    const ucontext_t *uc = context;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

/* "crash: SIGSEGV pc 0x... address 0x...", then "frames: 0x... 0x...". */
static void on_fatal_signal(int sig, siginfo_t *info, void *context)
{
    char line[1024];
    size_t n = put_str(line, 0, sizeof line, "crash: signal ");
    n = put_str(line, n, sizeof line, sig == SIGALRM ? "SIGALRM (hang)" : sigabbrev_np(sig));
    n = put_str(line, n, sizeof line, " pc ");
    n = put_hex(line, n, sizeof line, context_pc(context));
    n = put_str(line, n, sizeof line, " address ");
    n = put_hex(line, n, sizeof line, (uintptr_t)info->si_addr);
    n = put_str(line, n, sizeof line, "\nframes:");
    void *frames[40];
    int count = backtrace(frames, 40);
    for (int i = 0; i < count; i++) {
        n = put_str(line, n, sizeof line, " ");
        n = put_hex(line, n, sizeof line, (uintptr_t)frames[i]);
    }
    n = put_str(line, n, sizeof line, "\n");
    (void)!write(STDERR_FILENO, line, n);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_fatal_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal_signal;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGALRM};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
}

/* ---- the parent: trials, verdicts, the table ---- */

enum verdict { V_CLEAN, V_CAUGHT, V_FAILED };

typedef struct outcome {
    int status;
    bool hung;
    char err[4096];
} outcome;

static void read_child(int fd, pid_t pid, unsigned timeout, outcome *out)
{
    size_t n = 0;
    time_t deadline = time(NULL) + (time_t)timeout + 5;
    for (;;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, 1000);
        if (ready == 0 && time(NULL) > deadline) {
            kill(pid, SIGKILL); /* hung with SIGALRM blocked: the timer could not end it */
            out->hung = true;
            continue;
        }
        if (ready <= 0)
            continue;
        char sink[512];
        char *dst = n + 1 < sizeof out->err ? out->err + n : sink;
        size_t cap = n + 1 < sizeof out->err ? sizeof out->err - 1 - n : sizeof sink;
        ssize_t r = read(fd, dst, cap);
        if (r <= 0)
            break;
        if (dst != sink)
            n += (size_t)r;
    }
    out->err[n] = '\0';
    waitpid(pid, &out->status, 0);
}

static void run_forked(uint64_t seed, unsigned timeout, outcome *out)
{
    int err[2];
    memset(out, 0, sizeof *out);
    fflush(NULL); /* nothing buffered is written twice by the child's exit */
    if (pipe(err) != 0) {
        perror("pipe");
        exit(2);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        close(err[0]);
        dup2(err[1], STDERR_FILENO);
        close(err[1]);
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* aborts are expected: no core files */
        catch_fatal_signals();
        alarm(timeout);
        run_trial(seed);
        exit(0);
    }
    close(err[1]);
    read_child(err[0], pid, timeout, out);
    close(err[0]);
}

static const char *line_starting(const char *text, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *at = text; at != NULL && *at != '\0'; at = strchr(at, '\n'), at = at ? at + 1 : NULL)
        if (strncmp(at, prefix, len) == 0)
            return at;
    return NULL;
}

static enum verdict judge(const outcome *o)
{
    if (o->hung)
        return V_FAILED;
    if (WIFEXITED(o->status) && WEXITSTATUS(o->status) == 0)
        return V_CLEAN;
    if (WIFSIGNALED(o->status) && WTERMSIG(o->status) == SIGABRT && line_starting(o->err, "holeheap:") != NULL)
        return V_CAUGHT;
    return V_FAILED;
}

/* "overflow random" from "corrupt: overflow random: ..." */
static void corruption_of(const outcome *o, char *kind, size_t kind_cap, char *mode, size_t mode_cap)
{
    snprintf(kind, kind_cap, "?");
    snprintf(mode, mode_cap, "?");
    const char *line = line_starting(o->err, "corrupt: ");
    if (line != NULL && sscanf(line, "corrupt: %15s %15[^: \n]", kind, mode) < 1)
        snprintf(kind, kind_cap, "?");
}

/* The message of the holeheap line, without its address: "malloc(): cached block overwritten". */
static void message_of(const outcome *o, char *out, size_t cap)
{
    const char *line = line_starting(o->err, "holeheap: ");
    snprintf(out, cap, "?");
    if (line == NULL)
        return;
    line += strlen("holeheap: ");
    const char *end = strstr(line, " 0x");
    const char *eol = strchr(line, '\n');
    if (end == NULL || (eol != NULL && eol < end))
        end = eol != NULL ? eol : line + strlen(line);
    snprintf(out, cap, "%.*s", (int)(end - line), line);
}

/* ---- the table of outcomes: by corruption kind, and by message ---- */

enum { KINDS = 5, MESSAGES = 24 };
static const char *const kind_names[KINDS] = {"overflow", "header", "waf", "stale", "none"};
static unsigned long by_kind[KINDS][3];
static char message_text[MESSAGES][96];
static unsigned long message_count[MESSAGES];

static unsigned kind_index(const char *kind, const char *mode)
{
    if (strcmp(mode, "none") == 0)
        return KINDS - 1;
    for (unsigned i = 0; i + 1 < KINDS; i++)
        if (strcmp(kind, kind_names[i]) == 0)
            return i;
    return KINDS - 1;
}

static void count_message(const char *text)
{
    for (unsigned i = 0; i < MESSAGES; i++) {
        if (message_text[i][0] == '\0')
            snprintf(message_text[i], sizeof message_text[i], "%s", text);
        if (strcmp(message_text[i], text) == 0) {
            message_count[i]++;
            return;
        }
    }
}

/* ---- failures, resolved at the end (addr2line allocates; the trials' heap stays the same) ---- */

enum { KEEP_FAILURES = 12 };
typedef struct failure {
    uint64_t seed;
    outcome o;
} failure;
static failure failures[KEEP_FAILURES];
static unsigned failures_kept;
static char exe_path[4096];

/* Every failure, in brief: its seed and, for a crash or a hang, the pc. */
enum { BRIEF_MAX = 8192 };
typedef struct brief {
    uint64_t seed;
    uintptr_t pc; /* 0: no crash (an overlap, changed contents, an abort without a line...) */
} brief;
static brief briefs[BRIEF_MAX];
static unsigned briefs_kept;

static uintptr_t crash_pc(const outcome *o)
{
    const char *crash = line_starting(o->err, "crash: ");
    const char *at = crash != NULL ? strstr(crash, " pc ") : NULL;
    return at != NULL ? (uintptr_t)strtoull(at + 4, NULL, 16) : 0;
}

/* Where addr is: "function file:line" lines from addr2line, innermost first. */
static void resolve(uintptr_t addr, char *out, size_t cap)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "addr2line -f -i -C -e '%s' 0x%lx 2>/dev/null", exe_path, (unsigned long)addr);
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return;
    char fn[512], loc[1024];
    size_t n = 0;
    while (fgets(fn, sizeof fn, f) != NULL && fgets(loc, sizeof loc, f) != NULL) {
        fn[strcspn(fn, "\n")] = '\0';
        loc[strcspn(loc, "\n")] = '\0';
        const char *base = loc; /* the path inside the project, if it is one */
        static const char *const dirs[] = {"/tests/", "/port/", "/src/"};
        for (size_t d = 0; d < sizeof dirs / sizeof dirs[0] && base == loc; d++)
            if (strstr(loc, dirs[d]) != NULL)
                base = strstr(loc, dirs[d]) + 1;
        int w = snprintf(out + n, cap - n, "%s%s %s", n > 0 ? " <- " : "", fn, base);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    pclose(f);
}

static const char *site_of(const char *where)
{
    if (strstr(where, "tests/port/") != NULL)
        return "the test itself";
    if (strstr(where, "port/tcache.c") != NULL)
        return "the port's cache (port/tcache.c)";
    if (strstr(where, "port/") != NULL)
        return "the port (port/)";
    if (strstr(where, "src/") != NULL)
        return "the core (src/)";
    return NULL;
}

static void report_failure(const failure *f, const char *self)
{
    const outcome *o = &f->o;
    printf("FAIL seed %llu: ", (unsigned long long)f->seed);
    if (o->hung)
        printf("hung (killed)\n");
    else if (WIFSIGNALED(o->status))
        printf("killed by %s%s\n", sigabbrev_np(WTERMSIG(o->status)),
               WTERMSIG(o->status) == SIGABRT ? " without a holeheap: line" : "");
    else
        printf("exit status %d\n", WEXITSTATUS(o->status));
    const char *line;
    if ((line = line_starting(o->err, "corrupt: ")) != NULL)
        printf("  %.*s\n", (int)strcspn(line, "\n"), line);
    if ((line = line_starting(o->err, "test-fail: ")) != NULL)
        printf("  %.*s\n", (int)strcspn(line, "\n"), line);
    const char *crash = line_starting(o->err, "crash: ");
    const char *frames = line_starting(o->err, "frames:");
    if (crash != NULL)
        printf("  %.*s\n", (int)strcspn(crash, "\n"), crash);
    const char *site = NULL;
    char where[2048];
    uintptr_t pc = 0;
    if (crash != NULL && (line = strstr(crash, " pc ")) != NULL)
        pc = (uintptr_t)strtoull(line + 4, NULL, 16);
    if (pc != 0) {
        resolve(pc, where, sizeof where);
        printf("    pc %#lx: %s\n", (unsigned long)pc, where[0] ? where : "?? (not in the test program)");
        site = site_of(where);
    }
    for (const char *at = frames != NULL ? frames + 7 : NULL; at != NULL && *at == ' ';) {
        char *end;
        uintptr_t addr = (uintptr_t)strtoull(at + 1, &end, 16);
        resolve(addr - 1, where, sizeof where); /* a return address: the call is just before it */
        if (where[0] != '\0' && strncmp(where, "??", 2) != 0 && strstr(where, "on_fatal_signal") == NULL) {
            printf("    %#lx: %s\n", (unsigned long)addr, where);
            if (site == NULL)
                site = site_of(where);
        }
        at = end;
        if (strncmp(where, "main ", 5) == 0 || strstr(where, "<- main ") != NULL)
            break;
    }
    if (crash != NULL)
        printf("  crash site: %s\n", site != NULL ? site : "outside the test program (libc?)");
    printf("  reproduce: %s --seed %llu --trials 1 --verbose   (in gdb: gdb --args %s --one %llu)\n", self,
           (unsigned long long)f->seed, self, (unsigned long long)f->seed);
}

/* Where every failure happened, with one addr2line for all of them: the
 * crash sites counted by part (the core, the port's cache, ...), each with
 * its seeds. */
static void print_sites(void)
{
    static char cmd[BRIEF_MAX * 20 + 4200];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "addr2line -f -e '%s'", exe_path);
    for (unsigned i = 0; i < briefs_kept; i++)
        if (briefs[i].pc != 0)
            n += (size_t)snprintf(cmd + n, sizeof cmd - n, " %#lx", (unsigned long)briefs[i].pc);
    static const char *site[BRIEF_MAX];
    FILE *f = popen(cmd, "r");
    char fn[512], loc[1024];
    for (unsigned i = 0; i < briefs_kept; i++) {
        site[i] = "no crash: an overlap, changed contents or a bare abort (see above)";
        if (briefs[i].pc == 0)
            continue;
        site[i] = "outside the test program (libc?)";
        if (f != NULL && fgets(fn, sizeof fn, f) != NULL && fgets(loc, sizeof loc, f) != NULL) {
            const char *s = site_of(loc);
            site[i] = s != NULL ? s : site[i];
        }
    }
    if (f != NULL)
        pclose(f);
    printf("failures by where they crashed:\n");
    for (unsigned i = 0; i < briefs_kept; i++) {
        bool first = true;
        for (unsigned j = 0; j < i && first; j++)
            first = strcmp(site[j], site[i]) != 0;
        if (!first)
            continue;
        unsigned count = 0;
        for (unsigned j = i; j < briefs_kept; j++)
            count += strcmp(site[j], site[i]) == 0;
        printf("  %5u  %s; seeds:", count, site[i]);
        unsigned shown = 0;
        for (unsigned j = i; j < briefs_kept && shown < 20; j++)
            if (strcmp(site[j], site[i]) == 0 && ++shown)
                printf(" %llu", (unsigned long long)briefs[j].seed);
        printf("%s\n", count > shown ? " ..." : "");
    }
}

/* ---- the key's fallback: getrandom refused by a seccomp filter ---- */

static bool refuse_getrandom(void)
{
#if defined(__x86_64__)
    const unsigned arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
    const unsigned arch = AUDIT_ARCH_AARCH64;
#else
    return false;
#endif
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getrandom, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof code / sizeof code[0]), code};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

/* In a child without getrandom: four keys, all non-zero and different;
 * printed, so that two children can be compared. */
static int fallback_child(int fd)
{
    if (!refuse_getrandom())
        return 77;
    uint32_t k[4];
    for (int i = 0; i < 4; i++)
        k[i] = hhp_random_u32();
    uint64_t wide = hhp_random_u64();
    bool ok = true;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            ok &= k[i] != 0 && k[i] != k[j];
    dprintf(fd, "%08x %08x %08x %08x %016llx\n", k[0], k[1], k[2], k[3], (unsigned long long)wide);
    return ok && wide != 0 ? 0 : 1;
}

static bool check_key_fallback(void)
{
    char seen[2][128] = {"", ""};
    for (int run = 0; run < 2; run++) {
        int fds[2];
        if (pipe(fds) != 0)
            return false;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            _exit(fallback_child(fds[1]));
        }
        close(fds[1]);
        ssize_t n = read(fds[0], seen[run], sizeof seen[run] - 1);
        seen[run][n > 0 ? n : 0] = '\0';
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
            printf("SKIP key fallback: no seccomp filter here\n");
            return true;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("FAIL key fallback: without getrandom the keys were zero or repeated: %s", seen[run]);
            return false;
        }
    }
    if (strcmp(seen[0], seen[1]) == 0) {
        printf("FAIL key fallback: two processes without getrandom drew the same keys: %s", seen[0]);
        return false;
    }
    printf("key fallback: without getrandom, two processes drew different non-zero keys (%.8s..., %.8s...)\n", seen[0],
           seen[1]);
    return true;
}

/* ---- main ---- */

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void print_table(void)
{
    printf("%-9s %8s %8s %8s %8s\n", "corrupt", "trials", "clean", "caught", "failed");
    for (unsigned k = 0; k < KINDS; k++) {
        unsigned long *c = by_kind[k];
        if (c[0] + c[1] + c[2] > 0)
            printf("%-9s %8lu %8lu %8lu %8lu\n", kind_names[k], c[0] + c[1] + c[2], c[V_CLEAN], c[V_CAUGHT],
                   c[V_FAILED]);
    }
    printf("caught as:\n");
    for (unsigned i = 0; i < MESSAGES && message_text[i][0] != '\0'; i++)
        printf("  %6lu  holeheap: %s\n", message_count[i], message_text[i]);
}

int main(int argc, char **argv)
{
    unsigned long trials = 2000;
    uint64_t seed = 1;
    unsigned timeout = 10;
    double budget = 50;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verbose") == 0) {
            verbose = true;
        } else if (v == NULL) {
            fprintf(stderr,
                    "usage: %s [--trials N] [--seed S] [--ops N] [--timeout S] [--budget S] "
                    "[--verbose] | --one SEED\n",
                    argv[0]);
            return 2;
        } else if (strcmp(a, "--one") == 0) {
            pattern_make();
            catch_fatal_signals();
            run_trial(strtoull(v, NULL, 10));
            return 0;
        } else {
            unsigned long long n = strtoull(v, NULL, 10);
            if (strcmp(a, "--trials") == 0)
                trials = (unsigned long)n;
            else if (strcmp(a, "--seed") == 0)
                seed = n;
            else if (strcmp(a, "--ops") == 0)
                trial_ops = (unsigned)n;
            else if (strcmp(a, "--timeout") == 0)
                timeout = (unsigned)n;
            else if (strcmp(a, "--budget") == 0)
                budget = (double)n;
            i++;
        }
    }
    ssize_t len = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[len > 0 ? len : 0] = '\0';
    void *warm[4];
    backtrace(warm, 4); /* loads the unwinder now, not in a crashed child */
    pattern_make();
    printf("port corruption test: %lu trials from seed %llu, %u calls each, timeout %u s\n", trials,
           (unsigned long long)seed, trial_ops, timeout);
    fflush(stdout);
    bool key_ok = check_key_fallback();
    fflush(stdout);

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long passed = 0, failed = 0, run = 0;
    static outcome o;
    for (; run < trials && seconds_since(&t0) < budget; run++) {
        run_forked(seed + run, timeout, &o);
        enum verdict v = judge(&o);
        char kind[16], mode[16], message[96];
        corruption_of(&o, kind, sizeof kind, mode, sizeof mode);
        by_kind[kind_index(kind, mode)][v]++;
        if (v == V_CAUGHT) {
            message_of(&o, message, sizeof message);
            count_message(message);
        }
        if (v == V_FAILED) {
            failed++;
            if (failures_kept < KEEP_FAILURES)
                failures[failures_kept++] = (failure){seed + run, o};
            if (briefs_kept < BRIEF_MAX)
                briefs[briefs_kept++] = (brief){seed + run, crash_pc(&o)};
        } else {
            passed++;
        }
        if (verbose)
            fputs(o.err, stdout);
    }
    double trial_seconds = seconds_since(&t0);
    for (unsigned i = 0; i < failures_kept; i++)
        report_failure(&failures[i], argv[0]);
    if (failed > failures_kept)
        printf("(%lu more failures not shown)\n", failed - failures_kept);
    if (failed > 0)
        print_sites();
    print_table();
    if (run < trials)
        printf("time budget of %.0f s reached after %lu of %lu trials\n", budget, run, trials);
    printf("%lu trials in %.1f s\n", run, trial_seconds);
    if (!key_ok)
        failed++;
    printf("%lu passed, %lu failed\n", passed + (key_ok ? 1u : 0u), failed);
    return failed == 0 ? 0 : 1;
}
