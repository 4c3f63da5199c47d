/* The HTML map: one self-contained page with a slider over the trace (html.c). */
#ifndef TOOLS_HTML_H
#define TOOLS_HTML_H

#include "core.h"
#include "trace.h"

/* Replay t, write the page to path with the slider at call `at`; 0, 1 (replay
 * errors, page written) or 2 (error printed). */
int html_map_write(const char *path, const core_api *core, const trace *t, size_t at, const char *title);

#endif
