/*
 * Helpers for test programs that run trials in child processes, so that a
 * crash or a hang of the heap is a verdict, not the end of the run
 * (tests/test_corrupt.c, tests/corrupt_matrix.c).
 */
#ifndef HH_FORKRUN_H
#define HH_FORKRUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

/* Do [a, a+an) and [b, b+bn) meet? An empty span counts as one byte. */
static inline bool spans_meet(uintptr_t a, size_t an, uintptr_t b, size_t bn)
{
    return a < b + (bn ? bn : 1) && b < a + (an ? an : 1);
}

/* Arm the child's limits: cpu_ms of CPU time (SIGPROF: a loop in the heap),
 * that plus 30 s of wall clock (SIGALRM: anything else), and no core file. */
static inline void child_limits(unsigned cpu_ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = (time_t)(cpu_ms / 1000);
    it.it_value.tv_usec = (suseconds_t)(cpu_ms % 1000) * 1000;
    setitimer(ITIMER_PROF, &it, NULL);
    alarm(cpu_ms / 1000 + 30);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
}

/* Zeroed memory shared with the children (it survives their crash). */
static inline void *shared_pages(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    return m;
}

/* Did the child die of a limit of child_limits (a hang)? */
static inline bool died_of_limit(int sig) { return sig == SIGPROF || sig == SIGALRM; }

#endif /* HH_FORKRUN_H */
