/*
 * One test by name, from any of the cmocka test programs (test_api,
 * test_grow, test_regress, the index tests):
 *
 *   build/fast/tests/test_api 'i7_*'     the tests whose names match (* any run, ? one character)
 *   build/fast/tests/test_api --list     every test's name, in the order they run
 *
 * A pattern that matches no test is an error (exit status 2), so that a typo
 * does not pass as a run of nothing. main calls select_tests before
 * cmocka_run_group_tests. Include after <cmocka.h>.
 */
#ifndef HH_CMOCKA_SELECT_H
#define HH_CMOCKA_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Does name match pattern? '*' matches any run of characters, '?' one. On a
 * mismatch after a '*', the star takes one more character and matching resumes. */
static inline bool select_matches(const char *pattern, const char *name)
{
    const char *star = NULL, *resume = name;
    while (*name != '\0') {
        if (*pattern == '*') {
            star = pattern++;
            resume = name;
        } else if (*pattern == '?' || *pattern == *name) {
            pattern++;
            name++;
        } else if (star != NULL) {
            pattern = star + 1;
            name = ++resume;
        } else {
            return false;
        }
    }
    while (*pattern == '*')
        pattern++;
    return *pattern == '\0';
}

static inline size_t select_count(const char *pattern, const struct CMUnitTest *tests, size_t count, bool print)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (!select_matches(pattern, tests[i].name))
            continue;
        n++;
        if (print)
            printf("%s\n", tests[i].name);
    }
    return n;
}

/* Reads the command line: no argument runs every test; a pattern sets
 * cmocka's test filter. Returns -1 when main should run the tests, else the
 * status main returns (0 after --list or --help, 2 for a bad command line). */
static inline int select_tests(int argc, char **argv, const struct CMUnitTest *tests, size_t count)
{
    if (argc == 1)
        return -1;
    const char *arg = argv[1];
    if (argc == 2 && strcmp(arg, "--list") == 0) {
        select_count("*", tests, count, true);
        return 0;
    }
    if (argc > 2 || arg[0] == '-') {
        bool help = strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
        fprintf(help ? stdout : stderr, "usage: %s [PATTERN | --list]\n  PATTERN: a test's name, or a glob ('i7_*')\n",
                argv[0]);
        return help ? 0 : 2;
    }
    if (select_count(arg, tests, count, false) == 0) {
        fprintf(stderr, "%s: no test matches '%s' (--list shows every test)\n", argv[0], arg);
        return 2;
    }
    cmocka_set_test_filter(arg);
    return -1;
}

#endif /* HH_CMOCKA_SELECT_H */
