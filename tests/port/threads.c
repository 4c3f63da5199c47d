/*
 * Multithreaded stress on the malloc API: T threads (at least 8) allocate,
 * fill, verify, realloc and free blocks of mixed sizes and alignments, and
 * post blocks to each other so that most frees and reallocs happen in a
 * thread other than the allocating one. Two rounds of threads, so that blocks
 * outlive their thread. Every block's contents are checked before it is
 * resized or freed. The second round also forks 20 times while the threads
 * run. Before that, a producer/consumer pair with mid-size blocks (4-256 KiB)
 * must stay within a bound of max RSS: blocks freed by the other thread are
 * given back, not held. Then 300 short-lived threads, two at a time, each
 * freeing blocks the one before it left: resident memory must not grow with
 * the number of threads created.   usage: test-threads THREADS ITERATIONS [tsan]
 * With "tsan" (the ThreadSanitizer build, check-port-tsan) the same threads
 * run but nothing is measured or forked: TSan's shadow memory swells the
 * resident memory, and its runtime does not follow a fork of many threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 128
#define MAILBOX 256

typedef struct block_head {
    uint64_t size; /* bytes of the block the test owns, head included */
    uint64_t seed;
    uint64_t align;
    uint64_t pad;
} block_head;

typedef struct mailbox {
    pthread_mutex_t lock;
    block_head *item[MAILBOX];
    unsigned count;
} mailbox;

static unsigned threads, iterations;
static bool under_tsan; /* no RSS bounds, no forks */
static mailbox *boxes;
static _Atomic unsigned long errors, cross_frees, cross_reallocs;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static unsigned char pattern(uint64_t seed, size_t i) { return (unsigned char)(seed * 131 + i * 7 + (i >> 9)); }

static void fill(block_head *b, size_t size, uint64_t seed, size_t align)
{
    b->size = size;
    b->seed = seed;
    b->align = align;
    unsigned char *p = (unsigned char *)b;
    for (size_t i = sizeof *b; i < size; i++)
        p[i] = pattern(seed, i);
}

static bool intact_prefix(const block_head *b, size_t upto)
{
    const unsigned char *p = (const unsigned char *)b;
    size_t end = upto < b->size ? upto : b->size;
    for (size_t i = sizeof *b; i < end; i++)
        if (p[i] != pattern(b->seed, i))
            return false;
    return ((uintptr_t)b & (b->align - 1)) == 0;
}

static void verify(const block_head *b, const char *when)
{
    if (!intact_prefix(b, b->size)) {
        if (atomic_fetch_add(&errors, 1) < 5)
            fprintf(stderr, "FAIL block %p (size %llu) damaged %s\n", (const void *)b, (unsigned long long)b->size,
                    when);
    }
}

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng) % 1000;
    if (r < 700)
        return sizeof(block_head) + rng_next(rng) % 480;
    if (r < 990)
        return sizeof(block_head) + rng_next(rng) % 20000;
    if (r < 998)
        return sizeof(block_head) + rng_next(rng) % 200000;
    return ((size_t)1 << 20) + rng_next(rng) % ((size_t)2 << 20);
}

static block_head *make_block(uint64_t *rng)
{
    size_t size = pick_size(rng);
    uint64_t kind = rng_next(rng) % 10;
    size_t align = 16;
    void *p = NULL;
    if (kind < 6) {
        p = malloc(size);
    } else if (kind < 8) {
        p = calloc(1, size);
        if (p != NULL)
            for (size_t i = 0; i < size; i++)
                if (((unsigned char *)p)[i] != 0) {
                    atomic_fetch_add(&errors, 1);
                    fprintf(stderr, "FAIL calloc(%zu) not zeroed\n", size);
                    break;
                }
    } else {
        align = (size_t)32 << (rng_next(rng) % 8); /* 32 .. 4096 */
        if (posix_memalign(&p, align, size) != 0)
            p = NULL;
    }
    if (p == NULL) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "FAIL allocation of %zu bytes failed\n", size);
        return NULL;
    }
    fill(p, size, rng_next(rng), align);
    return p;
}

/* realloc keeps the prefix; the block then gets a fresh pattern. */
static block_head *resize(block_head *b, uint64_t *rng)
{
    verify(b, "before realloc");
    size_t old = b->size;
    uint64_t seed = b->seed;
    size_t size = pick_size(rng);
    block_head *q = realloc(b, size);
    if (q == NULL) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "FAIL realloc to %zu failed\n", size);
        return b;
    }
    q->align = 16;
    if (q->size != old || q->seed != seed || !intact_prefix(q, size)) {
        atomic_fetch_add(&errors, 1);
        fprintf(stderr, "FAIL realloc %zu -> %zu lost contents\n", old, size);
    }
    fill(q, size, rng_next(rng), 16);
    return q;
}

static bool post(unsigned to, block_head *b)
{
    mailbox *m = &boxes[to];
    pthread_mutex_lock(&m->lock);
    bool ok = m->count < MAILBOX;
    if (ok)
        m->item[m->count++] = b;
    pthread_mutex_unlock(&m->lock);
    return ok;
}

/* Take the blocks others sent: free most, realloc and keep some. */
static void receive(unsigned self, block_head **slot, uint64_t *rng)
{
    block_head *got[MAILBOX];
    mailbox *m = &boxes[self];
    pthread_mutex_lock(&m->lock);
    unsigned n = m->count;
    memcpy(got, m->item, n * sizeof got[0]);
    m->count = 0;
    pthread_mutex_unlock(&m->lock);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = (unsigned)(rng_next(rng) % SLOTS);
        if (slot[k] == NULL && rng_next(rng) % 4 == 0) {
            slot[k] = resize(got[i], rng);
            atomic_fetch_add(&cross_reallocs, 1);
        } else {
            verify(got[i], "before a cross-thread free");
            free(got[i]);
            atomic_fetch_add(&cross_frees, 1);
        }
    }
}

static void *worker(void *arg)
{
    unsigned self = (unsigned)(uintptr_t)arg;
    uint64_t rng = 0x9E3779B97F4A7C15u * (self + 1);
    block_head *slot[SLOTS] = {0};
    for (unsigned it = 0; it < iterations; it++) {
        unsigned k = (unsigned)(rng_next(&rng) % SLOTS);
        uint64_t op = rng_next(&rng) % 10;
        if (slot[k] == NULL) {
            slot[k] = make_block(&rng);
        } else if (op < 3) {
            slot[k] = resize(slot[k], &rng);
        } else if (op < 7) {
            if (post((self + 1 + (unsigned)(rng_next(&rng) % (threads - 1))) % threads, slot[k]))
                slot[k] = NULL;
        } else {
            verify(slot[k], "before free");
            free(slot[k]);
            slot[k] = NULL;
        }
        if (it % 64 == 0)
            receive(self, slot, &rng);
    }
    receive(self, slot, &rng);
    for (unsigned k = 0; k < SLOTS; k++)
        if (slot[k] != NULL) {
            verify(slot[k], "at thread end");
            free(slot[k]);
        }
    return NULL;
}

/* Fork while the workers allocate: each child must allocate and free freely
 * (pthread_atfork left no lock held) and exit in time. */
static unsigned fork_while_busy(unsigned times)
{
    unsigned good = 0;
    for (unsigned i = 0; i < times; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(20);
            void *keep[500];
            for (unsigned k = 0; k < 500; k++)
                keep[k] = malloc(16 + k * 9);
            for (unsigned k = 0; k < 500; k++)
                free(keep[k]);
            _exit(0);
        }
        int status = 0;
        if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
            good++;
        else
            fprintf(stderr, "FAIL fork child %u: status %#x\n", i, (unsigned)status);
    }
    return good;
}

/* ---- mid-size producer/consumer ---- */

#define RING 16
#define PC_BLOCKS 1000u
#define PC_MAX_RSS_KIB (24ul * 1024)
static _Atomic(unsigned char *) ring[RING];

static size_t pc_size(unsigned i) { return ((size_t)4 << 10) + (size_t)(i * 2654435761u) % ((size_t)252 << 10); }

static void *producer(void *unused)
{
    (void)unused;
    for (unsigned i = 0; i < PC_BLOCKS; i++) {
        size_t n = pc_size(i);
        unsigned char *p = malloc(n);
        if (p == NULL) {
            atomic_fetch_add(&errors, 1);
            continue;
        }
        memset(p, (int)(i & 0xff), n);
        unsigned char *empty = NULL;
        while (!atomic_compare_exchange_weak(&ring[i % RING], &empty, p)) {
            empty = NULL;
            sched_yield();
        }
    }
    return NULL;
}

static void *consumer(void *unused)
{
    (void)unused;
    for (unsigned i = 0; i < PC_BLOCKS; i++) {
        unsigned char *p;
        while ((p = atomic_exchange(&ring[i % RING], NULL)) == NULL)
            sched_yield();
        size_t n = pc_size(i);
        if (p[0] != (unsigned char)i || p[n / 2] != (unsigned char)i || p[n - 1] != (unsigned char)i)
            atomic_fetch_add(&errors, 1);
        free(p);
    }
    return NULL;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* 1000 blocks of 4-256 KiB (about 130 MB in all) allocated by one thread and
 * freed by another, at most 16 in flight: max RSS must stay below 24 MiB. */
static void run_prodcons(void)
{
    pthread_t p, c;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&c, NULL, consumer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    long rss = max_rss_kib();
    if (under_tsan)
        return;
    printf("threads: mid-size producer/consumer: max RSS %ld KiB (bound %lu)\n", rss, PC_MAX_RSS_KIB);
    if (rss > (long)PC_MAX_RSS_KIB) {
        fprintf(stderr, "FAIL mid-size producer/consumer: max RSS %ld KiB > %lu KiB: remote frees held\n", rss,
                PC_MAX_RSS_KIB);
        atomic_fetch_add(&errors, 1);
    }
}

/* ---- short-lived threads ---- */

#define SL_WAVES 150u
#define SL_AT_ONCE 2u
#define SL_BLOCKS 64u
#define SL_GROWTH_KIB 1024l
static block_head *sl_left[SL_AT_ONCE][SL_BLOCKS / 4]; /* freed by the next wave's thread */

/* Allocate and fill blocks (small, mid and one of 64 KiB), check and free the
 * ones the previous wave's thread of this slot left (remote frees), free most
 * of the own ones, leave a quarter for the next wave. */
static void *short_lived(void *arg)
{
    unsigned slot = (unsigned)(uintptr_t)arg % SL_AT_ONCE;
    uint64_t rng = 0x9E3779B97F4A7C15u * ((uintptr_t)arg + 1);
    block_head *mine[SL_BLOCKS];
    for (unsigned i = 0; i < SL_BLOCKS; i++) {
        size_t size = i == 0 ? 65536 : sizeof(block_head) + rng_next(&rng) % (i % 4 == 0 ? 6000 : 400);
        mine[i] = malloc(size);
        if (mine[i] == NULL) {
            atomic_fetch_add(&errors, 1);
            return NULL;
        }
        fill(mine[i], size, rng_next(&rng), 16);
    }
    for (unsigned i = 0; i < SL_BLOCKS / 4; i++)
        if (sl_left[slot][i] != NULL) {
            verify(sl_left[slot][i], "before a free by the next short-lived thread");
            free(sl_left[slot][i]);
            atomic_fetch_add(&cross_frees, 1);
        }
    for (unsigned i = 0; i < SL_BLOCKS; i++) {
        verify(mine[i], "before a short-lived thread frees it");
        if (i < SL_BLOCKS / 4)
            sl_left[slot][i] = mine[i];
        else
            free(mine[i]);
    }
    return NULL;
}

static void short_lived_wave(unsigned wave)
{
    pthread_t tid[SL_AT_ONCE];
    for (unsigned t = 0; t < SL_AT_ONCE; t++)
        if (pthread_create(&tid[t], NULL, short_lived, (void *)(uintptr_t)(wave * SL_AT_ONCE + t)) != 0) {
            fprintf(stderr, "FAIL pthread_create\n");
            exit(1);
        }
    for (unsigned t = 0; t < SL_AT_ONCE; t++)
        pthread_join(tid[t], NULL);
}

#include "rss.h"

/* 300 threads, 2 at a time, each handing blocks to the next: the memory in
 * use must not grow with the number of threads created (their caches, the
 * blocks they free remotely and their arena bindings are given back at exit):
 * resident memory after the last wave at most 1 MiB above that after the
 * tenth. */
static void run_short_lived(void)
{
    long settled = 0;
    for (unsigned wave = 0; wave < SL_WAVES; wave++) {
        short_lived_wave(wave);
        if (wave == 9)
            settled = rss_kib();
    }
    long end = rss_kib();
    for (unsigned t = 0; t < SL_AT_ONCE; t++)
        for (unsigned i = 0; i < SL_BLOCKS / 4; i++) {
            verify(sl_left[t][i], "after the short-lived threads");
            free(sl_left[t][i]);
            sl_left[t][i] = NULL;
        }
    if (under_tsan)
        return;
    printf("threads: %u short-lived threads: RSS %ld KiB after 20, %ld KiB after all (bound +%ld)\n",
           SL_WAVES * SL_AT_ONCE, settled, end, SL_GROWTH_KIB);
    if (settled <= 0 || end > settled + SL_GROWTH_KIB) {
        fprintf(stderr, "FAIL short-lived threads: RSS grew from %ld to %ld KiB\n", settled, end);
        atomic_fetch_add(&errors, 1);
    }
}

static void run_round(unsigned forks)
{
    pthread_t tid[256];
    for (unsigned t = 0; t < threads; t++)
        if (pthread_create(&tid[t], NULL, worker, (void *)(uintptr_t)t) != 0) {
            fprintf(stderr, "FAIL pthread_create\n");
            exit(1);
        }
    if (fork_while_busy(forks) != forks)
        atomic_fetch_add(&errors, 1);
    for (unsigned t = 0; t < threads; t++)
        pthread_join(tid[t], NULL);
}

int main(int argc, char **argv)
{
    threads = argc > 1 ? (unsigned)atoi(argv[1]) : 8;
    iterations = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
    under_tsan = argc > 3 && strcmp(argv[3], "tsan") == 0;
    if (threads < 2 || threads > 256) {
        fprintf(stderr, "usage: %s THREADS(2..256) ITERATIONS\n", argv[0]);
        return 2;
    }
    boxes = calloc(threads, sizeof *boxes);
    for (unsigned t = 0; t < threads; t++)
        pthread_mutex_init(&boxes[t].lock, NULL);
    alarm(300);     /* a deadlock fails the test instead of hanging it */
    run_prodcons(); /* first: max RSS is the process's high-water mark */
    run_short_lived();
    run_round(0); /* leaves blocks in the mailboxes: the next round frees them */
    run_round(under_tsan ? 0 : 20);
    for (unsigned t = 0; t < threads; t++)
        for (unsigned i = 0; i < boxes[t].count; i++) {
            verify(boxes[t].item[i], "after the threads ended");
            free(boxes[t].item[i]);
        }
    free(boxes);
    printf("threads: %u threads x %u iterations x 2 rounds, %u forks, %lu cross-thread frees, "
           "%lu cross-thread reallocs, %lu errors\n",
           threads, iterations, under_tsan ? 0u : 20u, (unsigned long)cross_frees, (unsigned long)cross_reallocs,
           (unsigned long)errors);
    return errors == 0 && cross_frees > 0 ? 0 : 1;
}
