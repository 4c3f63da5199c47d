/*
 * HOLEHEAP_CHECK=N under the drop-in malloc (tests/port/checkmode.sh runs it
 * with LD_PRELOAD): damage the heap as a bug would, then make CALLS calls of
 * malloc and free that touch nothing near the damage, writing each call's
 * number (1, 2, ...) to stdout before making it. The run must abort within N
 * calls with the port's one line; the last number written says at which call.
 *   usage: checkmode SCENARIO CALLS
 *   live   a 16-byte overflow of a live block: its footer and the next live
 *          block's header (found by the full check: neither was touched lately)
 *   freed  the same overflow onto a freed block's header (the core's front
 *          holds it: the cache is off under HOLEHEAP_CHECK)
 *   hole   a write after free over the first 16 bytes (the index node) of a
 *          freed block that became a hole
 *   fresh  the overflow of a block just allocated (found by the quick check)
 *   none   no damage: nothing may abort
 * Prints "done" and exits 0 if nothing aborted and nothing had to; exits 3
 * ("EXPECT FAILED") when damage outlived the calls HOLEHEAP_CHECK allows.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(const char *s) { (void)!write(STDOUT_FILENO, s, strlen(s)); }

static void say_number(unsigned long n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lu\n", n);
    say(buf);
}

/* Calls that stay away from the damage: blocks of a size nothing else has,
 * carved from the hole past every block made before, and given back. */
static void filler(unsigned long calls, bool announce)
{
    void *x = NULL;
    for (unsigned long i = 1; i <= calls; i++) {
        if (announce)
            say_number(i);
        if (x == NULL) {
            x = malloc(3000);
            if (x == NULL)
                exit(3);
        } else {
            free(x);
            x = NULL;
        }
    }
}

/* 16 bytes past the usable end of p: its footer, then the next header. */
static void overflow(void *p) { memset((char *)p + malloc_usable_size(p), 0x41, 16); }

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const char *what = argv[1];
    unsigned long calls = strtoul(argv[2], NULL, 10);
    void *a = malloc(100), *b = malloc(100), *c = malloc(100);
    void *big = malloc(2000), *d = malloc(100);
    if (!a || !b || !c || !big || !d)
        return 3;
    if (strcmp(what, "fresh") != 0)
        filler(200, false); /* the blocks above leave every quick check's window */
    if (strcmp(what, "live") == 0) {
        overflow(a);
    } else if (strcmp(what, "freed") == 0) {
        free(b); /* the front keeps it: a and c stay its neighbours */
        filler(200, false);
        overflow(a);
    } else if (strcmp(what, "hole") == 0) {
        free(big); /* too big for the front: a hole between c and d */
        filler(200, false);
        memset(big, 0x42, 16); /* the freed block's index node */
    } else if (strcmp(what, "none") == 0) {
        free(b);
        free(big);
    } else if (strcmp(what, "fresh") == 0) {
        void *e = malloc(200), *f = malloc(200), *g = malloc(200); /* g keeps the fillers away */
        if (!e || !f || !g)
            return 3;
        overflow(e);
    } else {
        return 2;
    }
    say("damaged\n");
    filler(calls, true);
    /* The program's own assertion: under HOLEHEAP_CHECK=N (a plain number)
     * damage is found within N calls, within 32 beside a fresh block. */
    unsigned long n = strtoul(getenv("HOLEHEAP_CHECK") ? getenv("HOLEHEAP_CHECK") : "0", NULL, 10);
    unsigned long within = strcmp(what, "fresh") == 0 && n > 32 ? 32 : n;
    if (strcmp(what, "none") != 0 && n >= 1 && calls >= within) {
        say("EXPECT FAILED: the damage was not found\n");
        return 3;
    }
    say("done\n");
    return 0;
}
