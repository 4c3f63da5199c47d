/*
 * Server-like workloads for the malloc port (issue 12), written from their
 * descriptions. Each takes the number of threads T (1, 2, 4, ...); the total
 * work is the same for every T (split among the threads), so a run's time
 * shows how the allocator scales and a ratio to glibc compares like with like.
 *
 *   larson T     T threads, each with 1000 slots: replace a random slot's block
 *                by a new one of a random small or mid size (16 B - 4 KiB, one
 *                in ten 4-16 KiB); one freed block in four is handed to the
 *                next thread instead (T = 1: to itself, later), which frees it
 *   prodcons T   T/2 producer/consumer pairs (T = 1: one thread plays both in
 *                turn): the producer allocates 16 B - 1 KiB blocks and passes
 *                them through a ring; the consumer checks and frees them
 *   threads T    1000 short-lived threads, T at a time: each allocates 200
 *                blocks (16 B - 8 KiB, and one of 64 KiB), frees most, leaves
 *                20 for the next thread to free, and exits
 *   large T      T threads allocate and free blocks of 1-32 MiB (two live per
 *                thread), writing one byte in each page of every block
 *   realloc T    T threads each grow 4 buffers by realloc in random steps of
 *                4 KiB - 1 MiB up to 2-8 MiB, writing every new page, then free them
 *
 * Each prints a checksum of what it read back, so no work can be skipped, and
 * exits 1 if a block's contents were wrong.   usage: bench-server WORKLOAD T
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define PAGE 4096u

static unsigned nthreads;
static _Atomic unsigned long bad;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* A block carries its size at its start and a tag byte at its end. */
static void *make(size_t n, uint64_t tag)
{
    unsigned char *p = xmalloc(n);
    memcpy(p, &n, sizeof n);
    p[n - 1] = (unsigned char)tag;
    p[sizeof n] = (unsigned char)tag;
    return p;
}

/* Check and free a block made by make; returns its tag byte. */
static unsigned drop(void *block)
{
    unsigned char *p = block;
    size_t n;
    memcpy(&n, p, sizeof n);
    unsigned tag = p[n - 1];
    if (p[sizeof n] != tag)
        atomic_fetch_add(&bad, 1);
    free(p);
    return tag;
}

static void run_threads(unsigned n, void *(*body)(void *), uint64_t *result)
{
    pthread_t tid[MAX_THREADS];
    for (unsigned t = 1; t < n; t++)
        if (pthread_create(&tid[t], NULL, body, &result[t]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
    body(&result[0]);
    for (unsigned t = 1; t < n; t++)
        pthread_join(tid[t], NULL);
}

/* ---- a single-producer single-consumer ring of pointers ---- */

#define RING 1024u

typedef struct ring {
    _Alignas(64) _Atomic unsigned long head; /* written by the producer */
    _Alignas(64) _Atomic unsigned long tail; /* written by the consumer */
    _Alignas(64) void *slot[RING];
} ring;

static int ring_put(ring *r, void *p)
{
    unsigned long h = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING)
        return 0;
    r->slot[h % RING] = p;
    atomic_store_explicit(&r->head, h + 1, memory_order_release);
    return 1;
}

static void *ring_get(ring *r)
{
    unsigned long t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    if (t == atomic_load_explicit(&r->head, memory_order_acquire))
        return NULL;
    void *p = r->slot[t % RING];
    atomic_store_explicit(&r->tail, t + 1, memory_order_release);
    return p;
}

/* ---- larson ---- */

#define LARSON_SLOTS 1000u
#define LARSON_OPS 4000000ul /* in all, split among the threads */

static ring larson_inbox[MAX_THREADS];
static _Atomic unsigned larson_index;

static size_t larson_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng);
    if (r % 10 == 0)
        return 4096 + (size_t)(r >> 8) % (12 * 1024);
    if (r % 10 < 4)
        return 256 + (size_t)(r >> 8) % (4096 - 256);
    return 16 + (size_t)(r >> 8) % 240;
}

static uint64_t larson_take_inbox(ring *in)
{
    uint64_t sum = 0;
    void *p;
    while ((p = ring_get(in)) != NULL)
        sum += drop(p);
    return sum;
}

static void *larson_thread(void *arg)
{
    unsigned self = atomic_fetch_add(&larson_index, 1u);
    ring *in = &larson_inbox[self], *out = &larson_inbox[(self + 1) % nthreads];
    uint64_t rng = 0x9E3779B97F4A7C15u * (self + 1), sum = 0;
    void **slot = calloc(LARSON_SLOTS, sizeof *slot);
    unsigned long ops = LARSON_OPS / nthreads;
    for (unsigned long i = 0; i < ops; i++) {
        unsigned k = (unsigned)(rng_next(&rng) % LARSON_SLOTS);
        if (slot[k] != NULL && (i % 4 != 0 || !ring_put(out, slot[k])))
            sum += drop(slot[k]);
        slot[k] = make(larson_size(&rng), i);
        if (i % 64 == 0)
            sum += larson_take_inbox(in);
    }
    for (unsigned k = 0; k < LARSON_SLOTS; k++)
        if (slot[k] != NULL)
            sum += drop(slot[k]);
    free(slot);
    *(uint64_t *)arg = sum;
    return NULL;
}

static uint64_t larson_finish(void)
{
    uint64_t sum = 0;
    for (unsigned t = 0; t < nthreads; t++)
        sum += larson_take_inbox(&larson_inbox[t]);
    return sum;
}

/* ---- prodcons ---- */

#define PC_BLOCKS 3000000ul /* in all */

static ring pc_ring[MAX_THREADS];
static _Atomic unsigned pc_index;

/* Up to 64 new blocks into the ring, as far as it has room. */
static unsigned long pc_produce(ring *r, uint64_t *rng, unsigned long made, unsigned long blocks)
{
    for (unsigned j = 0; j < 64 && made < blocks; j++) {
        unsigned long h = atomic_load_explicit(&r->head, memory_order_relaxed);
        if (h - atomic_load_explicit(&r->tail, memory_order_acquire) == RING)
            break;
        if (!ring_put(r, make(16 + (size_t)(rng_next(rng) % 1009), made)))
            abort(); /* one producer: the room just seen cannot go */
        made++;
    }
    return made;
}

static void *pc_thread(void *arg)
{
    unsigned self = atomic_fetch_add(&pc_index, 1u);
    ring *r = &pc_ring[self / 2];
    unsigned long blocks = PC_BLOCKS / (nthreads < 2 ? 1 : nthreads / 2);
    uint64_t rng = 0x2545F4914F6CDD1Du * (self / 2 + 1), sum = 0;
    bool produce = nthreads < 2 || self % 2 == 0, consume = nthreads < 2 || self % 2 == 1;
    unsigned long made = 0, freed = 0;
    while (consume ? freed < blocks : made < blocks) {
        if (produce)
            made = pc_produce(r, &rng, made, blocks);
        void *p;
        while (consume && (p = ring_get(r)) != NULL) {
            sum += drop(p);
            freed++;
        }
        if (nthreads >= 2 && (consume ? freed < blocks : made < blocks))
            sched_yield();
    }
    *(uint64_t *)arg = sum;
    return NULL;
}

/* ---- short-lived threads ---- */

#define ST_THREADS 1000u
#define ST_BLOCKS 200u
#define ST_LEFT 20u

static _Atomic(void **) st_left; /* blocks a thread left for the next to free */

static void *st_body(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15u + 1, sum = 0;
    void *block[ST_BLOCKS + 1];
    for (unsigned i = 0; i < ST_BLOCKS; i++)
        block[i] = make(16 + (size_t)(rng_next(&rng) % (rng_next(&rng) % 4 == 0 ? 8192 : 512)), i);
    block[ST_BLOCKS] = make(64 * 1024, 7);
    void **left = xmalloc(ST_LEFT * sizeof *left);
    for (unsigned i = 0; i <= ST_BLOCKS; i++) {
        if (i < ST_LEFT)
            left[i] = block[i];
        else
            sum += drop(block[i]);
    }
    void **prev = atomic_exchange(&st_left, left);
    if (prev != NULL) {
        for (unsigned i = 0; i < ST_LEFT; i++)
            sum += drop(prev[i]);
        free(prev);
    }
    return (void *)(uintptr_t)sum;
}

static uint64_t short_lived(void)
{
    uint64_t sum = 0;
    pthread_t tid[MAX_THREADS];
    for (unsigned wave = 0; wave < ST_THREADS / nthreads; wave++) {
        for (unsigned t = 0; t < nthreads; t++)
            if (pthread_create(&tid[t], NULL, st_body, (void *)(uintptr_t)(wave * nthreads + t)) != 0) {
                fprintf(stderr, "pthread_create failed\n");
                exit(1);
            }
        for (unsigned t = 0; t < nthreads; t++) {
            void *r;
            pthread_join(tid[t], &r);
            sum += (uint64_t)(uintptr_t)r;
        }
    }
    void **left = atomic_exchange(&st_left, NULL);
    for (unsigned i = 0; left != NULL && i < ST_LEFT; i++)
        sum += drop(left[i]);
    free(left);
    return sum;
}

/* ---- large blocks ---- */

#define LARGE_OPS 32u /* in all */
#define MIB ((size_t)1 << 20)

/* One byte in each page, and the block's size at its start. */
static void *large_make(size_t n, unsigned char tag)
{
    unsigned char *p = make(n, tag);
    for (size_t at = PAGE; at < n; at += PAGE)
        p[at] = tag;
    return p;
}

static uint64_t large_drop(void *block)
{
    unsigned char *p = block;
    size_t n;
    memcpy(&n, p, sizeof n);
    if (n > PAGE && p[PAGE] != p[n - 1])
        atomic_fetch_add(&bad, 1);
    return drop(p);
}

static void *large_thread(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15u + 5, sum = 0;
    void *live[2] = {NULL, NULL};
    for (unsigned i = 0; i < LARGE_OPS / nthreads; i++) {
        unsigned k = (unsigned)(rng_next(&rng) % 2);
        if (live[k] != NULL)
            sum += large_drop(live[k]);
        live[k] = large_make(MIB + (size_t)(rng_next(&rng) % (31 * MIB)), (unsigned char)i);
    }
    for (unsigned k = 0; k < 2; k++)
        if (live[k] != NULL)
            sum += large_drop(live[k]);
    *(uint64_t *)arg = sum;
    return NULL;
}

/* ---- realloc growth of large buffers ---- */

#define RG_ROUNDS 4u /* in all */
#define RG_BUFFERS 4u

static uint64_t rg_round(uint64_t *rng)
{
    unsigned char *buf[RG_BUFFERS] = {0};
    size_t len[RG_BUFFERS] = {0}, goal[RG_BUFFERS];
    uint64_t sum = 0;
    for (unsigned b = 0; b < RG_BUFFERS; b++)
        goal[b] = 2 * MIB + (size_t)(rng_next(rng) % (6 * MIB));
    for (unsigned done = 0; done < RG_BUFFERS;) {
        unsigned b = (unsigned)(rng_next(rng) % RG_BUFFERS);
        if (len[b] >= goal[b])
            continue;
        size_t step = 4096 + (size_t)(rng_next(rng) % MIB);
        unsigned char *q = realloc(buf[b], len[b] + step);
        if (q == NULL)
            exit(1);
        if (len[b] > 0 && q[len[b] - 1] != (unsigned char)(b + len[b] - 1))
            atomic_fetch_add(&bad, 1);
        for (size_t at = len[b]; at < len[b] + step; at += at % PAGE == 0 ? PAGE : PAGE - at % PAGE)
            q[at] = (unsigned char)(b + at);
        q[len[b] + step - 1] = (unsigned char)(b + len[b] + step - 1);
        buf[b] = q;
        len[b] += step;
        done += len[b] >= goal[b];
    }
    for (unsigned b = 0; b < RG_BUFFERS; b++) {
        sum += buf[b][len[b] - 1];
        free(buf[b]);
    }
    return sum;
}

static void *rg_thread(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15u + 9, sum = 0;
    for (unsigned r = 0; r < RG_ROUNDS / nthreads; r++)
        sum += rg_round(&rng);
    *(uint64_t *)arg = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    nthreads = argc > 2 ? (unsigned)atoi(argv[2]) : 1;
    if (nthreads < 1 || nthreads > MAX_THREADS) {
        fprintf(stderr, "usage: %s larson|prodcons|threads|large|realloc THREADS(1..%d)\n", argv[0], MAX_THREADS);
        return 2;
    }
    uint64_t result[MAX_THREADS] = {0}, sum = 0;
    for (unsigned t = 0; t < nthreads; t++)
        result[t] = t + 1;
    if (strcmp(w, "larson") == 0) {
        run_threads(nthreads, larson_thread, result);
        sum = larson_finish();
    } else if (strcmp(w, "prodcons") == 0) {
        run_threads(nthreads < 2 ? 1 : nthreads / 2 * 2, pc_thread, result);
    } else if (strcmp(w, "threads") == 0) {
        sum = short_lived();
    } else if (strcmp(w, "large") == 0) {
        run_threads(nthreads, large_thread, result);
    } else if (strcmp(w, "realloc") == 0) {
        run_threads(nthreads, rg_thread, result);
    } else {
        fprintf(stderr, "usage: %s larson|prodcons|threads|large|realloc THREADS\n", argv[0]);
        return 2;
    }
    for (unsigned t = 0; t < nthreads; t++)
        sum += result[t];
    printf("%s %u %llu\n", w, nthreads, (unsigned long long)sum);
    return atomic_load(&bad) == 0 ? 0 : 1;
}
