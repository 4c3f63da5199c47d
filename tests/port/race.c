/*
 * Two threads free the same block at the same instant (issue 12 item 5): one
 * free must be accepted and the other aborted with the one-line "holeheap:
 * free(): double free" message; the block must never be accepted twice (and
 * so handed out twice). Each round runs in a forked child, since the loser
 * aborts the process: the child allocates the block, two threads meet at a
 * spinning barrier and both call free on it. A child that returns from both
 * frees has accepted the block twice (exit 4; 3 when it then handed it out to
 * both threads too). The free paths are raced against each other by scenario,
 * each in a process of its own with the arena count that binds the threads
 * as it needs (the main thread is bound to arena 0, then each thread to the
 * arena with the fewest threads):
 *
 *   local   HOLEHEAP_ARENAS=1: both threads own the block: their caches
 *   remote  HOLEHEAP_ARENAS=4: neither owns it: their remote chains
 *   mixed   HOLEHEAP_ARENAS=2: one owns it (cache), the other not (chain)
 *   core    HOLEHEAP_ARENAS=1, a 12 KiB block: one thread's bin of that
 *           class is full, so its free goes to the core under the lock; the
 *           other's to its cache
 *   large   HOLEHEAP_ARENAS=1, a 32 KiB block: too large to cache, both
 *           into the core
 *   shrink  one thread shrinks a block in place by realloc while the other
 *           frees a stale pointer to the block's old tail (a block that was
 *           there before the first grew over it): the free must be named
 *           (double free or invalid pointer), the tail never cached
 *   realloc one thread shrinks a block in place by realloc while the other
 *           frees it: one of the two aborts naming its call, or the free
 *           came after the realloc; then both threads' next blocks of 4000
 *           bytes must be whole and apart (before realloc claimed its block,
 *           the free could cache it by its old size while the core shrank
 *           it: a review saw overlapping blocks handed out)
 *   large-realloc  HOLEHEAP_LARGE_CACHE=0, a 4 MiB mapping: one thread
 *           reallocs it to 500,000 bytes (moved into the arena: a copy)
 *           while the other frees it, a little later each round: one of the
 *           two aborts naming its call (before large blocks were claimed,
 *           the free could unmap the block under realloc's copy: SIGSEGV)
 *   large-realloc-cached  the same with the large cache on (the freed
 *           mapping stayed readable for the copy; realloc then freed a
 *           mapping no longer its own, "invalid pointer")
 *   large-remap  HOLEHEAP_LARGE_CACHE=0, the 4 MiB mapping grown to 64 MiB:
 *           by mremap, which runs without the registry's lock (the entry
 *           re-keyed meanwhile), while the other thread frees it: one of
 *           the two aborts naming its call (a round where mremap left the
 *           block where it was is not raced: the free may have come after)
 *   mover   (test-race-paused only: the port built with TC_RACE_PAUSE, a
 *           spin inside each claim that moves a block from a pending list
 *           into a bin, standing for a preemption there) HOLEHEAP_ARENAS=3:
 *           thread A's block, freed by a thread of another arena, waits on
 *           A's pending list; A drains it into its bin while a third thread
 *           frees it again (the program's double free): the stale free
 *           must abort. Before claims swapped both words at once, the
 *           mover stored the new link before it swapped the marker, and a
 *           stale free that read the old marker with the new link took the
 *           block for not held, and its swap (old marker to the same
 *           marker) succeeded: the block on two lists
 *   small-move  HOLEHEAP_ARENAS=1, a 4096-byte block grown by realloc to
 *           2 MiB (past the mmap threshold: moved to a mapping, a copy,
 *           then realloc frees the old block) while the other thread frees
 *           it and mallocs 4096 bytes (its bin hands the same block back),
 *           in the middle of the move (the test's mmap holds the move's
 *           mapping until they returned): one of the calls aborts naming
 *           its call. Before realloc held a small block for its move, both
 *           returned: realloc then freed the other thread's live block, and
 *           the next malloc handed it out a second time (exit 3)
 *   small-move-arena  the same grown to 900,000 bytes by a thread that
 *           caches over 256 KiB: its arena may not grow, so the core's
 *           realloc fails and realloc moves the block within the arena
 *           (the pause at the arena's first mprotect: a growth after the
 *           cache was given back)
 *
 *   usage: test-race [ROUNDS]        (each scenario ROUNDS times its weight; 150)
 *          test-race scenario NAME ROUNDS    (the per-scenario process)
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <malloc.h> /* malloc_usable_size */

typedef struct scenario {
    const char *name;
    const char *arenas;      /* HOLEHEAP_ARENAS */
    size_t size;             /* of the raced block */
    unsigned weight;         /* rounds: this many times ROUNDS (its window is narrow) */
    size_t resize;           /* thread 0 reallocs the block to this size (0: it frees it) */
    bool in_place;           /* ... and the round needs the realloc to keep it in place */
    bool moves;              /* ... or to move it (grown by mremap, which may leave it where it is) */
    const char *large_cache; /* HOLEHEAP_LARGE_CACHE, or NULL for the default */
    unsigned spread;         /* thread 1 spins (round % 32) x this many times before its free */
    bool paused;             /* needs the port built with TC_RACE_PAUSE (test-race-paused) */
} scenario;

#define LARGE_BLOCK ((size_t)4 << 20)
#define LARGE_REMAP ((size_t)64 << 20)    /* grown to: by mremap, outside the registry's lock */
#define SMALL_MOVE_TO ((size_t)2 << 20)   /* past the mmap threshold (1 MiB): the block moves */
#define SMALL_MOVE_ARENA ((size_t)900000) /* below it: the move stays in the arena */

static const scenario scenarios[] = {
    {"local", "1", 64, 1, 0, false, false, NULL, 0, false},
    {"remote", "4", 64, 1, 0, false, false, NULL, 0, false},
    {"mixed", "2", 64, 1, 0, false, false, NULL, 0, false},
    {"core", "1", 12288, 1, 0, false, false, NULL, 0, false},
    {"large", "1", 32768, 1, 0, false, false, NULL, 0, false},
    {"shrink", "1", 4096, 4, 64, true, false, NULL, 0, false},
    {"realloc", "1", 4096, 2, 64, true, false, NULL, 0, false},
    {"large-realloc", "1", LARGE_BLOCK, 1, 500000, false, false, "0", 60000, false},
    {"large-realloc-cached", "1", LARGE_BLOCK, 1, 500000, false, false, NULL, 60000, false},
    {"large-remap", "1", LARGE_BLOCK, 1, LARGE_REMAP, false, true, "0", 60000, false},
    {"mover", "3", 128, 1, 0, false, false, NULL, 3000, true},
    {"small-move", "1", 4096, 2, SMALL_MOVE_TO, false, false, NULL, 0, false},
    {"small-move-arena", "1", 4096, 2, SMALL_MOVE_ARENA, false, false, NULL, 0, false},
};
#ifdef RACE_PAUSED
#define PAUSED_BUILD true
#else
#define PAUSED_BUILD false
#endif
#define SCENARIOS (sizeof scenarios / sizeof scenarios[0])
#define FILL_BIN 12 /* more blocks than a 12 KiB bin holds (8) */

static const scenario *current;
static void *volatile raced;     /* the block both threads free */
static void *volatile stale;     /* shrink: the old tail's pointer */
static _Atomic unsigned arrived; /* at the barrier */
static _Atomic unsigned freed;   /* frees (or the realloc) that returned */
static void *volatile got[2];    /* what each thread's malloc gave after both frees */
static unsigned free_delay;      /* thread 1's spins before its free, this round */

/* Both threads leave together: each spins until the other has come
 * (yielding now and then, in case the other waits for the CPU). */
static void meet(_Atomic unsigned *count, unsigned of)
{
    atomic_fetch_add(count, 1u);
    for (unsigned spins = 1; atomic_load(count) < of; spins++)
        if (spins % 4096 == 0)
            sched_yield();
}

/* Thread 0's bin of the raced block's class, filled so that its free of
 * the raced block goes to the core. */
static void fill_bin(void)
{
    void *b[FILL_BIN];
    for (int i = 0; i < FILL_BIN; i++)
        b[i] = malloc(current->size);
    for (int i = 0; i < FILL_BIN; i++)
        free(b[i]);
}

static void *racer(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    free(malloc(16)); /* bound to its arena now, not in the race */
    if (me == 0 && strcmp(current->name, "core") == 0)
        fill_bin();
    meet(&arrived, 2);
    bool resized = current->resize != 0;
    if (resized && me == 0) {
        void *moved = realloc(raced, current->resize);
        if (moved != raced && current->in_place)
            _exit(5); /* the shrink did not stay in place: not the raced case */
        if (moved == raced && current->moves)
            _exit(0); /* grown where it was: the free after it frees the new block, no race */
    } else {
        for (volatile unsigned spins = 0; spins < free_delay; spins++)
            ;
        free(me == 0 || stale == NULL ? raced : stale);
    }
    meet(&freed, 2);
    got[me] = malloc(resized ? 4000 : current->size);
    meet(&freed, 4);
    return NULL;
}

#define SHRINK_FILL 40 /* more blocks of 4000 bytes than their bin holds (16) */

/* p (4000 bytes) freed into the core: the bin of its class filled first (an
 * exiting thread leaves its bins to the next thread, not to the core). */
static void *free_into_core(void *p)
{
    void *fill[SHRINK_FILL];
    for (int i = 0; i < SHRINK_FILL; i++)
        fill[i] = malloc(4000);
    for (int i = 0; i < SHRINK_FILL; i++)
        free(fill[i]);
    free(p);
    return NULL;
}

/* shrink: p (64 bytes), then q (4000), then a guard block; q freed into the
 * core (free_into_core), and p grown in place over it. The raced
 * realloc shrinks p to 64 bytes again: the tail it frees starts where q's
 * block did, so q is the stale pointer. */
static void shrink_setup(void)
{
    char *p = malloc(64), *q = malloc(4000);
    void *guard = malloc(64);
    pthread_t t;
    if (guard == NULL || q != p + 80 || pthread_create(&t, NULL, free_into_core, q) != 0)
        _exit(0); /* not laid out as the round needs: nothing raced */
    pthread_join(t, NULL);
    char *grown = realloc(p, 4080);
    if (grown != p)
        _exit(0);
    free(raced);
    raced = grown;
    stale = q;
}

static _Atomic unsigned mover_step;

/* mover: thread A (arena 1) allocates the raced block and another of its
 * size, lets the remote thread free the raced one (onto A's pending list),
 * frees the other into its bin (so that the raced block's link changes when
 * it moves there), then drains the pending list by a malloc its bin cannot
 * serve, while the stale thread frees the raced block again. */
static void *mover_owner(void *unused)
{
    (void)unused;
    raced = malloc(current->size);
    got[1] = malloc(current->size); /* volatile: the compiler may not drop the pair */
    atomic_store(&mover_step, 1);
    while (atomic_load(&mover_step) < 2)
        sched_yield();
    free(got[1]);
    meet(&arrived, 2);
    got[0] = malloc(64); /* its bin empty: the pending list is drained first */
    return NULL;
}

static void *mover_remote(void *unused)
{
    (void)unused;
    free(raced); /* chained; handed to A's pending list at this thread's exit */
    return NULL;
}

static void *mover_stale(void *unused)
{
    (void)unused;
    free(malloc(16)); /* bound to the remote thread's arena, now free */
    meet(&arrived, 2);
    for (volatile unsigned spins = 0; spins < free_delay; spins++)
        ;
    free(raced); /* the program's double free: must abort */
    _exit(4);    /* accepted: the block is on two lists (the process may abort later, naming another call) */
}

static _Noreturn void mover_child(void)
{
    pthread_t owner, remote, stale_free;
    free(malloc(16)); /* the main thread on arena 0 */
    if (pthread_create(&owner, NULL, mover_owner, NULL) != 0)
        _exit(6);
    while (atomic_load(&mover_step) < 1)
        sched_yield();
    if (pthread_create(&remote, NULL, mover_remote, NULL) != 0 || pthread_join(remote, NULL) != 0 ||
        pthread_create(&stale_free, NULL, mover_stale, NULL) != 0)
        _exit(6);
    atomic_store(&mover_step, 2);
    pthread_join(owner, NULL);
    pthread_join(stale_free, NULL);
    _exit(6); /* not reached: the stale free aborts or exits */
}

/* small-move: the port's mmap calls come here (the test links the port's
 * archive, so this definition is the one its references bind to). The
 * mapping thread 0's realloc asks for to move the block waits until thread 1
 * has freed the block and malloc has handed it back, as a preemption of
 * realloc's move there would (the window is otherwise a few microseconds,
 * or about 100 with a transparent huge page to clear: rounds of a natural
 * race missed it or came before realloc's check by turns). Both builds meet
 * the same order: realloc has checked the block, and has not freed it. */
static _Atomic unsigned move_step; /* 1 realloc begun, 2 its memory asked for, 3 thread 1's free and malloc done */

/* Thread 0's first mapping or commit inside its realloc (the other threads
 * make none meanwhile) waits for thread 1. */
static void move_pause(void)
{
    unsigned begun = 1;
    if (atomic_compare_exchange_strong(&move_step, &begun, 2))
        while (atomic_load(&move_step) != 3)
            sched_yield();
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
    move_pause();
    return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, offset);
}

/* small-move-arena: the move's block comes from the arena, which grows
 * (hhp_commit) or gives pages back (hhp_discard) by mprotect. */
int mprotect(void *addr, size_t len, int prot)
{
    move_pause();
    return (int)syscall(SYS_mprotect, addr, len, prot);
}

#define MOVE_CACHED 2000 /* blocks of 400 bytes: the thread caches over 256 KiB, its arena cannot grow */

static void *small_move_grower(void *unused)
{
    (void)unused;
    free(malloc(16));                      /* bound to arena 0 now, not in the race */
    if (current->resize < SMALL_MOVE_TO) { /* small-move-arena: the core's realloc fails for want of growth */
        static void *cached[MOVE_CACHED];
        for (int i = 0; i < MOVE_CACHED; i++)
            cached[i] = malloc(400);
        for (int i = 0; i < MOVE_CACHED; i++)
            free(cached[i]);
    }
    meet(&arrived, 2);
    atomic_store(&move_step, 1);
    void *moved = realloc(raced, current->resize);
    if (moved == NULL || moved == raced)
        _exit(moved == NULL ? 6 : 0); /* not moved: not the raced case */
    meet(&freed, 2); /* after thread 1's malloc: else it would free the block this one took, legitimately */
    got[0] = malloc(current->size); /* realloc freed the old block into this thread's bin */
    return NULL;
}

static void *small_move_freer(void *unused)
{
    (void)unused;
    free(malloc(16));
    meet(&arrived, 2);
    while (atomic_load(&move_step) != 2)
        sched_yield();
    free(raced);
    got[1] = malloc(current->size); /* the same block, from this thread's bin */
    atomic_store(&move_step, 3);
    meet(&freed, 2);
    return NULL;
}

static _Noreturn void small_move_child(void)
{
    raced = malloc(current->size);
    memset(raced, 1, current->size);
    pthread_t grower, freer;
    if (pthread_create(&grower, NULL, small_move_grower, NULL) != 0 ||
        pthread_create(&freer, NULL, small_move_freer, NULL) != 0)
        _exit(6);
    pthread_join(grower, NULL);
    pthread_join(freer, NULL);
    /* both calls accepted: 3 when the block was handed out to both threads */
    _exit(got[0] == got[1] ? 3 : 4);
}

/* One round in this (forked) process: never returns. */
static _Noreturn void round_child(void)
{
    alarm(30); /* a round takes milliseconds: a deadlock fails it (SIGALRM) instead of hanging the test */
    if (strcmp(current->name, "mover") == 0)
        mover_child();
    if (strncmp(current->name, "small-move", 10) == 0)
        small_move_child();
    raced = malloc(current->size);
    if (current->size >= LARGE_BLOCK) /* resident, as a program's data would be */
        memset(raced, 1, current->size);
    if (strcmp(current->name, "shrink") == 0)
        shrink_setup();
    pthread_t t[2];
    for (unsigned i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)i) != 0)
            _exit(6);
    for (unsigned i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    if (strcmp(current->name, "realloc") == 0) { /* the free came after the realloc: one free */
        char *a = got[0], *b = got[1];
        bool sound = a != NULL && b != NULL && malloc_usable_size(a) >= 4000 && malloc_usable_size(b) >= 4000 &&
                     (a + 4000 <= b || b + 4000 <= a);
        _exit(sound ? 0 : 3);
    }
    _exit(got[0] == raced && got[1] == raced ? 3 : 4);
}

/* The child's stderr must be one line naming free and a double free (or, for
 * a stale pointer, an invalid one), and it must have aborted. */
static bool round_passes(int status, const char *err, bool *raced_out)
{
    *raced_out = true;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        *raced_out = false; /* the layout the round needs did not come */
        return true;
    }
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        return false;
    /* a block the first free merged with a hole before it has no header
     * any more: the second is an invalid pointer */
    static const char *const named[] = {"holeheap: free(): double free 0x",
                                        "holeheap: free(): pointer already freed 0x",
                                        "holeheap: free(): invalid pointer 0x", "holeheap: realloc(): double free 0x",
                                        "holeheap: realloc(): pointer already freed 0x"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strncmp(err, named[i], strlen(named[i])) == 0 && strchr(err, '\n') == err + strlen(err) - 1)
            return true;
    return false;
}

static int run_scenario(const char *name, unsigned rounds)
{
    for (size_t i = 0; i < SCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0)
            current = &scenarios[i];
    if (current == NULL)
        return 2;
    unsigned failures = 0, raced_rounds = 0, crashes = 0;
    for (unsigned r = 0; r < rounds; r++) {
        int err[2];
        if (pipe(err) != 0)
            return 2;
        free_delay = r % 32 * current->spread;
        pid_t pid = fork();
        if (pid == 0) {
            dup2(err[1], 2);
            round_child();
        }
        close(err[1]);
        char text[512];
        ssize_t n = read(err[0], text, sizeof text - 1);
        text[n > 0 ? n : 0] = '\0';
        close(err[0]);
        int status;
        waitpid(pid, &status, 0);
        bool raced_round;
        if (!round_passes(status, text, &raced_round)) {
            if (failures++ < 5)
                fprintf(stderr, "FAIL race %s round %u: status %#x (%s) stderr: %s\n", name, r, (unsigned)status,
                        WIFEXITED(status) && WEXITSTATUS(status) == 3   ? "both frees accepted, handed out twice"
                        : WIFEXITED(status) && WEXITSTATUS(status) == 4 ? "both frees accepted"
                                                                        : "not the double free's one line",
                        text);
        }
        raced_rounds += raced_round;
        crashes += WIFSIGNALED(status) && WTERMSIG(status) != SIGABRT;
    }
    printf("race %s: %u rounds raced, %u failed (%u by a signal other than the abort)\n", name, raced_rounds, failures,
           crashes);
    return failures != 0 || raced_rounds * 2 < rounds;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "scenario") == 0)
        return run_scenario(argv[2], (unsigned)atoi(argv[3]));
    unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 150;
    int failed = 0;
    for (size_t i = 0; i < SCENARIOS; i++) {
        if (scenarios[i].paused != PAUSED_BUILD)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            char count[16];
            snprintf(count, sizeof count, "%u", rounds * scenarios[i].weight);
            setenv("HOLEHEAP_ARENAS", scenarios[i].arenas, 1);
            if (scenarios[i].large_cache != NULL)
                setenv("HOLEHEAP_LARGE_CACHE", scenarios[i].large_cache, 1);
            execl(argv[0], argv[0], "scenario", scenarios[i].name, count, (char *)NULL);
            _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    puts(failed ? "race: FAILED" : "race: all passed");
    return failed;
}
