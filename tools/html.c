#include "html.h"

#include <stdio.h>

int html_map_write(const char *path, const core_api *core, const trace *t, size_t at, const char *title)
{
    (void)core; (void)t; (void)at; (void)title;
    fprintf(stderr, "holeheap map: %s: HTML output is not written yet\n", path);
    return 2;
}
