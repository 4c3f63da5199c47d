/*
 * Allocation-heavy benchmark programs for the malloc port, one per argument:
 *   small      many small objects (16..256 bytes): batches built and freed in a shuffled order
 *   prodcons   a producer thread allocates, a consumer thread frees (every free is remote)
 *   prodcons-mid  the same with blocks of 4 KiB..256 KiB, at most 64 in flight
 *   realloc    many buffers grown by realloc in small steps, interleaved
 *   churn      larger objects (1 KiB..256 KiB) allocated and freed at random, working set 300
 *   small2     `small` in 2 threads at once (each with half the work)
 * Each prints a checksum of what it wrote, so that no work can be skipped.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- small ---- */

#define BATCH 100000

static uint64_t small_run(unsigned rounds, uint64_t seed)
{
    void **block = xmalloc(BATCH * sizeof *block);
    uint64_t sum = 0;
    for (unsigned r = 0; r < rounds; r++) {
        for (unsigned i = 0; i < BATCH; i++) {
            size_t n = 16 + rng_next(&seed) % 241;
            block[i] = xmalloc(n);
            memset(block[i], (int)(i & 0xFF), n < 32 ? n : 32);
        }
        for (unsigned i = BATCH - 1; i > 0; i--) { /* shuffle, then free */
            unsigned j = (unsigned)(rng_next(&seed) % (i + 1));
            void *t = block[i];
            block[i] = block[j];
            block[j] = t;
        }
        for (unsigned i = 0; i < BATCH; i++) {
            sum += *(unsigned char *)block[i];
            if (i % 2 == 0) {
                free(block[i]);
                block[i] = NULL;
            }
        }
        for (unsigned i = 0; i < BATCH; i++) /* the other half, replaced once first */
            if (block[i] != NULL) {
                free(block[i]);
                block[i] = xmalloc(16 + i % 100);
                free(block[i]);
            }
    }
    free(block);
    return sum;
}

static void *small_thread(void *arg)
{
    uint64_t *result = arg;
    *result = small_run(10, *result);
    return NULL;
}

/* ---- prodcons ---- */

#define RING 4096

typedef struct prodcons_shape {
    unsigned long transfers;
    unsigned long depth; /* blocks in flight at most (<= RING) */
    size_t min, span;    /* sizes min .. min + span - 1 */
} prodcons_shape;

static void *ring[RING];
static unsigned long produced, consumed;
static prodcons_shape shape;

static void *consumer(void *arg)
{
    uint64_t *sum = arg;
    for (unsigned long i = 0; i < shape.transfers; i++) {
        while (__atomic_load_n(&produced, __ATOMIC_ACQUIRE) == i)
            sched_yield();
        unsigned char *p = ring[i % RING];
        *sum += p[0];
        free(p);
        __atomic_store_n(&consumed, i + 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static uint64_t prodcons_run(prodcons_shape how)
{
    uint64_t sum = 0, seed = 7;
    pthread_t t;
    shape = how;
    pthread_create(&t, NULL, consumer, &sum);
    for (unsigned long i = 0; i < how.transfers; i++) {
        while (i - __atomic_load_n(&consumed, __ATOMIC_ACQUIRE) >= how.depth)
            sched_yield();
        size_t n = how.min + rng_next(&seed) % how.span;
        unsigned char *p = xmalloc(n);
        p[0] = (unsigned char)i;
        p[n - 1] = (unsigned char)i;
        ring[i % RING] = p;
        __atomic_store_n(&produced, i + 1, __ATOMIC_RELEASE);
    }
    pthread_join(t, NULL);
    return sum;
}

/* ---- realloc ---- */

static uint64_t realloc_run(void)
{
    enum { BUFFERS = 500, STEPS = 1000 };
    unsigned char *buf[BUFFERS] = {0};
    size_t len[BUFFERS] = {0};
    uint64_t sum = 0, seed = 3;
    for (unsigned round = 0; round < 4; round++) {
        for (unsigned s = 0; s < STEPS; s++)
            for (unsigned b = 0; b < BUFFERS; b++) {
                size_t grow = 8 + rng_next(&seed) % 120;
                unsigned char *q = realloc(buf[b], len[b] + grow);
                if (q == NULL)
                    exit(1);
                memset(q + len[b], (int)(s + b), grow);
                buf[b] = q;
                len[b] += grow;
            }
        for (unsigned b = 0; b < BUFFERS; b++) {
            sum += buf[b][len[b] / 2];
            free(buf[b]);
            buf[b] = NULL;
            len[b] = 0;
        }
    }
    return sum;
}

/* ---- churn ---- */

static uint64_t churn_run(void)
{
    enum { SET = 300, OPS = 300000 };
    unsigned char *block[SET] = {0};
    uint64_t sum = 0, seed = 11;
    for (unsigned i = 0; i < OPS; i++) {
        unsigned k = (unsigned)(rng_next(&seed) % SET);
        if (block[k] != NULL) {
            sum += block[k][0];
            free(block[k]);
        }
        size_t n = 1024 + rng_next(&seed) % (256 * 1024 - 1024);
        if (rng_next(&seed) % 4 == 0)
            n /= 16;
        block[k] = xmalloc(n);
        block[k][0] = (unsigned char)i;
        block[k][n - 1] = (unsigned char)i;
    }
    for (unsigned k = 0; k < SET; k++)
        free(block[k]);
    return sum;
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    uint64_t sum;
    if (strcmp(w, "small") == 0) {
        sum = small_run(20, 1);
    } else if (strcmp(w, "small2") == 0) {
        uint64_t a = 1, b = 2;
        pthread_t t;
        pthread_create(&t, NULL, small_thread, &a);
        small_thread(&b);
        pthread_join(t, NULL);
        sum = a + b;
    } else if (strcmp(w, "prodcons") == 0) {
        sum = prodcons_run((prodcons_shape){2000000, RING, 16, 200});
    } else if (strcmp(w, "prodcons-mid") == 0) {
        sum = prodcons_run((prodcons_shape){100000, 64, (size_t)4 << 10, (size_t)252 << 10});
    } else if (strcmp(w, "realloc") == 0) {
        sum = realloc_run();
    } else if (strcmp(w, "churn") == 0) {
        sum = churn_run();
    } else {
        fprintf(stderr, "usage: %s small|small2|prodcons|prodcons-mid|realloc|churn\n", argv[0]);
        return 2;
    }
    printf("%s %llu\n", w, (unsigned long long)sum);
    return 0;
}
