/*
 * timer: run a command RUNS times, optionally with a library preloaded, and
 * print "MEDIAN_WALL_SECONDS MEDIAN_CPU_SECONDS MAX_RSS_KIB" (CPU: user + system
 * of the child; RSS: the largest of the runs; both from wait4's rusage). Its output goes to /dev/null; a run that
 * fails makes timer print "failed" and exit 1.
 *   usage: timer RUNS PRELOAD|- INPUT|- command args...
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run: its wall time, or a negative number if it failed. */
static double run_once(const char *preload, const char *input, char **cmd, long *rss_kib, double *cpu)
{
    double start = now();
    pid_t pid = fork();
    if (pid == 0) {
        int out = open("/dev/null", O_WRONLY);
        dup2(out, 1);
        if (input[0] != '-') {
            int in = open(input, O_RDONLY);
            if (in < 0)
                _exit(126);
            dup2(in, 0);
        }
        if (preload[0] != '-')
            setenv("LD_PRELOAD", preload, 1);
        execvp(cmd[0], cmd);
        _exit(127);
    }
    int status = 0;
    struct rusage use;
    if (wait4(pid, &status, 0, &use) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    double wall = now() - start;
    *cpu = (double)use.ru_utime.tv_sec + (double)use.ru_utime.tv_usec * 1e-6 + (double)use.ru_stime.tv_sec +
           (double)use.ru_stime.tv_usec * 1e-6;
    if (use.ru_maxrss > *rss_kib)
        *rss_kib = use.ru_maxrss;
    return wall;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s RUNS PRELOAD|- INPUT|- command args...\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[1]);
    if (runs < 1 || runs > 99)
        runs = 5;
    double wall[99], cpu[99];
    long rss = 0;
    for (int i = 0; i < runs; i++) {
        wall[i] = run_once(argv[2], argv[3], argv + 4, &rss, &cpu[i]);
        if (wall[i] < 0) {
            printf("failed\n");
            return 1;
        }
    }
    qsort(wall, (size_t)runs, sizeof wall[0], by_value);
    qsort(cpu, (size_t)runs, sizeof cpu[0], by_value);
    printf("%.3f %.3f %ld\n", wall[runs / 2], cpu[runs / 2], rss);
    return 0;
}
