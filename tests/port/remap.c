/*
 * A realloc that grows a large block by mremap makes the system call
 * without the registry's lock, its entry keyed at start + 8 meanwhile
 * (port/large.c, remap_unlocked). A review found two entries keyed alike:
 * thread A's block moved away from p, a new block B mapped at p, and B's
 * own growing realloc failed; B's failure restored A's entry at p, so the
 * registry gave B A's length and free(B) unmapped its neighbour C.
 *
 * This program stands a preemption between A's mremap and its lock take by
 * its own mremap, which holds thread A there (the port's archive is linked
 * in, so the port's mremap calls bind to this one). Passes when B's usable
 * size is its own, free(B) leaves C readable and whole, and A's block keeps
 * its contents. Run with HOLEHEAP_LARGE_CACHE=0 (check-port-race does).
 * Prints whether B landed at p (the address-space layout decides; the
 * checks hold either way).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MiB ((size_t)1 << 20)

static _Atomic int step; /* 1: A's block has moved, A waits; 2: go on */
static pthread_t thread_a;
static _Atomic int thread_a_set;
static void *volatile block_a;

void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
    long r = syscall(SYS_mremap, old, old_size, new_size, flags, NULL);
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return MAP_FAILED;
    }
    if (atomic_load(&thread_a_set) && pthread_equal(pthread_self(), thread_a) && (void *)r != old) {
        atomic_store(&step, 1);
        while (atomic_load(&step) != 2)
            sched_yield();
    }
    return (void *)r;
}

static void *grow_a(void *unused)
{
    (void)unused;
    while (!atomic_load(&thread_a_set)) /* thread_a is known before its mremap */
        sched_yield();
    return realloc(block_a, 64 * MiB);
}

static int fail(const char *what)
{
    fprintf(stderr, "FAIL remap: %s\n", what);
    return 1;
}

static bool filled(const unsigned char *p, size_t n, unsigned char c)
{
    for (size_t i = 0; i < n; i += 4096)
        if (p[i] != c)
            return false;
    return p[n - 1] == c;
}

int main(void)
{
    alarm(30);                     /* a layout where A's block grew in place would leave the handshake waiting */
    void *above = malloc(8 * MiB); /* so that A's block cannot grow in place */
    block_a = malloc(8 * MiB);
    if (above == NULL || block_a == NULL)
        return fail("no memory");
    memset(block_a, 'A', 8 * MiB);
    if (pthread_create(&thread_a, NULL, grow_a, NULL) != 0)
        return fail("pthread_create");
    atomic_store(&thread_a_set, 1);
    while (atomic_load(&step) != 1)
        sched_yield();
    /* A's block has left p; A has not taken the registry's lock back */
    unsigned char *c = malloc(5 * MiB), *b = malloc(3 * MiB);
    if (c == NULL || b == NULL)
        return fail("no memory");
    memset(c, 'C', 5 * MiB);
    memset(b, 'B', 3 * MiB);
    errno = 0;
    /* B's mremap fails in every overcommit mode: 4 EiB is past any 64-bit
     * Linux address space (64 TiB was refused only by the overcommit check) */
    if (realloc(b, (size_t)1 << 62) != NULL || errno != ENOMEM)
        return fail("a 4 EiB realloc did not fail with ENOMEM");
    atomic_store(&step, 2);
    void *moved_a;
    pthread_join(thread_a, &moved_a);
    if ((void *)b != block_a) /* the system's placement decides; top-down, B lands at p */
        printf("SKIP: remap: B was not mapped at A's old start, so the collision was not set up\n");
    if (moved_a == NULL || !filled(moved_a, 8 * MiB, 'A'))
        return fail("A's grown block lost its contents");
    if (malloc_usable_size(b) != 3 * MiB)
        return fail("B's usable size is not its own");
    free(b);
    if (!filled(c, 5 * MiB, 'C'))
        return fail("C changed after free(B)");
    free(c);
    free(moved_a);
    free(above);
    printf("remap: passed\n");
    return 0;
}
