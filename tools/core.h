/*
 * The public holeheap API as a table of functions, so that one program can
 * replay on either hole index: core_fast is the default build (the tree),
 * core_table the ordered-table build (-DHH_INDEX_TABLE), whose symbols the
 * build renames with the prefix hht_ (mk/tools.mk).
 */
#ifndef TOOLS_CORE_H
#define TOOLS_CORE_H

#include "holeheap.h"

typedef struct core_api {
    const char *name;
    hh_heap *(*init)(void *mem, size_t size, const hh_options *opt);
    void *(*alloc)(hh_heap *h, size_t size);
    void *(*alloc_aligned)(hh_heap *h, size_t size, size_t align);
    void *(*calloc)(hh_heap *h, size_t n, size_t size);
    void *(*realloc)(hh_heap *h, void *p, size_t size);
    void *(*realloc_aligned)(hh_heap *h, void *p, size_t size, size_t align);
    void (*free)(hh_heap *h, void *p);
    size_t (*usable_size)(hh_heap *h, const void *p);
    int (*check)(hh_heap *h, hh_problem *out);
    void (*stats_get)(hh_heap *h, hh_stats *out);
    int (*walk)(hh_heap *h, int (*visit)(void *ctx, const hh_span *span), void *ctx);
    size_t (*problem_count)(hh_heap *h);
    int (*last_problem)(hh_heap *h, hh_problem *out);
    const char *(*code_name)(int code);
    size_t (*min_region)(void);
} core_api;

extern const core_api core_fast, core_table;

/* The API of the index named "fast" or "table"; NULL for any other name. */
const core_api *core_by_name(const char *name);

#endif
