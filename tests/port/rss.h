/* The process's resident memory now, in KiB (-1 if /proc cannot say): for
 * the port's tests, which include this after <stdio.h> and <unistd.h>. */
#ifndef HH_TESTS_PORT_RSS_H
#define HH_TESTS_PORT_RSS_H

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    if (f != NULL)
        fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

#endif
