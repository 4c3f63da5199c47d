/*
 * holeheap: replay, size, map and plot a trace of allocation calls
 * (docs/trace-format.md) on holeheap. One command, one subcommand per question:
 *   holeheap replay TRACE     does it replay cleanly, how fragmented, how fast
 *   holeheap size TRACE       the smallest fixed region that serves it
 *   holeheap map TRACE ...    the heap after a given call, as SVG or HTML
 *   holeheap plot TRACE ...   span, live bytes and holes over the calls
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

const core_api *core_by_name(const char *name)
{
    if (strcmp(name, "fast") == 0)
        return &core_fast;
    if (strcmp(name, "table") == 0)
        return &core_table;
    return NULL;
}

typedef struct command {
    const char *name;
    int (*run)(const cli *c);
    unsigned options; /* OPT_* it accepts */
    const char *usage;
    const char *help;
} command;

static const command commands[] = {
    {"replay", cmd_replay, OPT_INDEX | OPT_CHECK_EVERY | OPT_REGION,
     "holeheap replay TRACE [--index fast|table] [--check-every N] [--region BYTES]",
     "Replay every call of TRACE on one holeheap and print a summary: calls, errors, peak live bytes,\n"
     "peak span, fragmentation (peak span / peak live), holes and the largest hole at the peak span,\n"
     "and the time per call. hh_check runs every N calls (default 4096) and at the end.\n"
     "The heap lives in a fixed region of --region bytes (default 8 GiB of address space, mapped\n"
     "on demand; the heap never grows past it).\n"
     "Exit status: 0 clean, 1 replay errors, 2 bad input (or output that cannot be written)."},
    {"size", cmd_size, OPT_INDEX | OPT_MARGIN, "holeheap size TRACE [--margin PCT] [--index fast|table]",
     "Find the smallest region that serves the whole trace without a failed allocation, by\n"
     "replaying it in regions of different sizes (a binary search in 16-byte steps), and verify\n"
     "the answer with a final replay. With --margin, also the size PCT per cent larger (verified too)."},
    {"map", cmd_map, OPT_INDEX | OPT_AT | OPT_PEAK | OPT_OUTPUT,
     "holeheap map TRACE (--at N | --peak) -o OUT.svg|OUT.html [--index fast|table]",
     "Draw the heap after call N (0: before the first call), or at its peak span.\n"
     "OUT.svg: every block and hole in address order, area in proportion to bytes.\n"
     "OUT.html: one self-contained page with a slider that steps through the trace."},
    {"plot", cmd_plot, OPT_INDEX | OPT_OUTPUT, "holeheap plot TRACE -o OUT.svg [--index fast|table]",
     "Plot the span, the live bytes and the number of holes over the calls, as SVG (holes: the\n"
     "heap's count from hh_stats_get, less the free tail of the region; freed blocks the heap\n"
     "keeps aside for reuse are not holes)."},
};

enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

static void help_print(FILE *f)
{
    fprintf(f, "holeheap: replay, size, map and plot a trace of allocation calls on holeheap\n\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(f, "  %s\n", commands[i].usage);
    fprintf(f, "\nTRACE is a HOLEHEAP_TRACE file (binary) or the text format, both described in\n"
               "docs/trace-format.md. `holeheap CMD --help` says more about one command.\n");
}

typedef struct option_spec {
    const char *name;
    unsigned flag;
    bool takes_value;
} option_spec;

static const option_spec option_specs[] = {
    {"--index", OPT_INDEX, true},   {"--check-every", OPT_CHECK_EVERY, true},
    {"--region", OPT_REGION, true}, {"--margin", OPT_MARGIN, true},
    {"--at", OPT_AT, true},         {"--peak", OPT_PEAK, false},
    {"-o", OPT_OUTPUT, true},       {"--output", OPT_OUTPUT, true},
};

static const option_spec *option_find(const char *arg)
{
    for (size_t i = 0; i < sizeof option_specs / sizeof option_specs[0]; i++)
        if (strcmp(arg, option_specs[i].name) == 0)
            return &option_specs[i];
    return NULL;
}

static int usage_error(const command *cmd, const char *format, const char *what)
{
    fprintf(stderr, "holeheap %s: ", cmd->name);
    fprintf(stderr, format, what);
    fprintf(stderr, " (usage: %s)\n", cmd->usage);
    return 2;
}

/* A whole decimal number; false if arg is anything else. */
static bool number_parse(const char *arg, unsigned long long max, unsigned long long *out)
{
    if (arg[0] < '0' || arg[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return false;
    *out = v;
    return true;
}

static int option_store(const command *cmd, const option_spec *o, const char *value, cli *c)
{
    unsigned long long v = 0;
    c->given |= o->flag;
    switch (o->flag) {
    case OPT_INDEX:
        c->core = core_by_name(value);
        return c->core != NULL ? 0 : usage_error(cmd, "--index must be fast or table, not '%s'", value);
    case OPT_OUTPUT: c->output = value; return 0;
    case OPT_PEAK: return 0;
    case OPT_MARGIN:
        if (!number_parse(value, 1000, &v))
            return usage_error(cmd, "--margin needs a whole percentage from 0 to 1000, not '%s'", value);
        c->margin = (unsigned)v;
        return 0;
    default:
        if (!number_parse(value, SIZE_MAX, &v))
            return usage_error(cmd, "%s needs a whole number", o->name);
        if (o->flag == OPT_REGION && v == 0)
            return usage_error(cmd, "--region needs a size in bytes above 0, not '%s'", value);
        if (o->flag == OPT_AT)
            c->at = (size_t)v;
        else if (o->flag == OPT_REGION)
            c->region = (size_t)v;
        else
            c->check_every = (size_t)v;
        return 0;
    }
}

static int arguments_parse(const command *cmd, int argc, char **argv, cli *c)
{
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const option_spec *o = option_find(arg);
        if (o == NULL && arg[0] == '-' && arg[1] != '\0')
            return usage_error(cmd, "unknown option '%s'", arg);
        if (o == NULL) {
            if (c->trace_path != NULL)
                return usage_error(cmd, "one trace file only; '%s' is one too many", arg);
            c->trace_path = arg;
            continue;
        }
        if ((cmd->options & o->flag) == 0)
            return usage_error(cmd, "option '%s' does not apply to this command", arg);
        if (o->takes_value && i + 1 >= argc)
            return usage_error(cmd, "option '%s' needs a value", arg);
        int r = option_store(cmd, o, o->takes_value ? argv[++i] : NULL, c);
        if (r != 0)
            return r;
    }
    if (c->trace_path == NULL)
        return usage_error(cmd, "which trace? %s", "no TRACE file given");
    return 0;
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Everything printed reached standard output (a full disk, a closed pipe:
 * an error line and status 2, never a silent success). */
static int stdout_finish(int status)
{
    if (fflush(stdout) == 0 && ferror(stdout) == 0)
        return status;
    fprintf(stderr, "holeheap: cannot write to standard output: %s\n", strerror(errno));
    return 2;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int command_run(const char *name, int argc, char **argv)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const command *cmd = &commands[i];
        if (strcmp(name, cmd->name) != 0)
            continue;
        if (wants_help(argc, argv)) {
            printf("usage: %s\n\n%s\n", cmd->usage, cmd->help);
            return 0;
        }
        cli c = {.core = &core_fast, .check_every = 4096};
        int r = arguments_parse(cmd, argc, argv, &c);
        return r != 0 ? r : cmd->run(&c);
    }
    fprintf(stderr, "holeheap: unknown command '%s' (replay, size, map, plot or help)\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help_print(stderr);
        return 2;
    }
    if (is_help(argv[1]) && (argc == 2 || is_help(argv[2]))) {
        help_print(stdout);
        return stdout_finish(0);
    }
    if (is_help(argv[1])) { /* "holeheap help CMD" is "holeheap CMD --help" */
        static char help_flag[] = "--help";
        char *flag[] = {help_flag};
        return stdout_finish(command_run(argv[2], 1, flag));
    }
    return stdout_finish(command_run(argv[1], argc - 2, argv + 2));
}
