/* The ordered-table build's API, its symbols renamed hht_* by the build. */
#define hh_init hht_hh_init
#define hh_alloc hht_hh_alloc
#define hh_alloc_aligned hht_hh_alloc_aligned
#define hh_calloc hht_hh_calloc
#define hh_realloc hht_hh_realloc
#define hh_realloc_aligned hht_hh_realloc_aligned
#define hh_free hht_hh_free
#define hh_usable_size hht_hh_usable_size
#define hh_check hht_hh_check
#define hh_stats_get hht_hh_stats_get
#define hh_walk hht_hh_walk
#define hh_problem_count hht_hh_problem_count
#define hh_code_name hht_hh_code_name
#define hh_min_region hht_hh_min_region
#define hh_last_problem hht_hh_last_problem
#define hh_map_text hht_hh_map_text
#include "core.h"

const core_api core_table = {"table",          hh_init,         hh_alloc,           hh_alloc_aligned,
                             hh_calloc,        hh_realloc,      hh_realloc_aligned, hh_free,
                             hh_usable_size,   hh_check,        hh_stats_get,       hh_walk,
                             hh_problem_count, hh_last_problem, hh_code_name,       hh_min_region};
