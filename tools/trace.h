/*
 * Traces of allocation calls, in either of the two formats of
 * docs/trace-format.md: the binary HOLEHEAP_TRACE file and the text format.
 * Both readers parse a whole file held in memory and either fill a trace or
 * give one error line naming the record or line where the input went wrong.
 */
#ifndef TOOLS_TRACE_H
#define TOOLS_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum { CALL_MALLOC = 1, CALL_FREE, CALL_CALLOC, CALL_REALLOC, CALL_ALIGNED };

/* One call as traced. Addresses are the traced program's; 0 is NULL. */
typedef struct trace_call {
    uint64_t ptr;    /* free, realloc: the pointer passed in */
    uint64_t a;      /* malloc: size; calloc: count; realloc: new size; aligned: alignment */
    uint64_t b;      /* calloc: element size; aligned: size */
    uint64_t result; /* the pointer returned (0 for free and for a failed call) */
    uint8_t op;      /* CALL_* */
} trace_call;

typedef struct trace {
    trace_call *calls;
    size_t count;
    size_t *lines; /* text traces: the line of each call (1-based); NULL for binary ones */
} trace;

enum { TRACE_ERROR_MAX = 256 };

/* 0 and *out filled, or -1 with a one-line reason in err. The format is
 * recognised by its first bytes. */
int trace_parse(const unsigned char *data, size_t size, trace *out, char err[TRACE_ERROR_MAX]);
int trace_parse_binary(const unsigned char *data, size_t size, trace *out, char err[TRACE_ERROR_MAX]);
int trace_parse_text(const unsigned char *data, size_t size, trace *out, char err[TRACE_ERROR_MAX]);

/* trace_parse on a whole file; err also says when the file cannot be read. */
int trace_load(const char *path, trace *out, char err[TRACE_ERROR_MAX]);

void trace_release(trace *t);

const char *trace_op_name(uint8_t op);

/* Where call `index` (0-based) is in its file, for an error line:
 * "line N" in a text trace, "record N" in a binary one. */
const char *trace_where(const trace *t, size_t index, char buf[48]);

#endif
