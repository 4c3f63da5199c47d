/* The default build's API (the tree index), as a core_api table. */
#include "core.h"

const core_api core_fast = {"fast",           hh_init,         hh_alloc,           hh_alloc_aligned,
                            hh_calloc,        hh_realloc,      hh_realloc_aligned, hh_free,
                            hh_usable_size,   hh_check,        hh_stats_get,       hh_walk,
                            hh_problem_count, hh_last_problem, hh_code_name,       hh_min_region};
