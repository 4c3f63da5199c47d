/* The subcommands of holeheap (commands.c) and what the command line gave them. */
#ifndef TOOLS_COMMANDS_H
#define TOOLS_COMMANDS_H

#include <stddef.h>

#include "core.h"

enum {
    OPT_INDEX = 1u << 0,
    OPT_CHECK_EVERY = 1u << 1,
    OPT_REGION = 1u << 2,
    OPT_MARGIN = 1u << 3,
    OPT_AT = 1u << 4,
    OPT_PEAK = 1u << 5,
    OPT_OUTPUT = 1u << 6,
};

typedef struct cli {
    const char *trace_path;
    const char *output;
    const core_api *core;
    size_t check_every, region, at;
    unsigned margin; /* per cent */
    unsigned given;  /* OPT_* present on the command line */
} cli;

int cmd_replay(const cli *c);
int cmd_size(const cli *c);
int cmd_map(const cli *c);
int cmd_plot(const cli *c);

#endif
