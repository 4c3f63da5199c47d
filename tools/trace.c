/*
 * The two trace readers (docs/trace-format.md). Neither trusts its input: every
 * length is checked before a byte is read, every number is range-checked, and
 * the first problem ends the parse with one line naming its record or line.
 */
#include "trace.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BINARY_MAGIC "HHTRACE"
#define BINARY_HEADER 16u
#define BINARY_RECORD 40u
#define TEXT_HEADER "holeheap-trace 1"

static int fail(char err[TRACE_ERROR_MAX], const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(err, TRACE_ERROR_MAX, format, ap);
    va_end(ap);
    return -1;
}

const char *trace_op_name(uint8_t op)
{
    static const char *const names[] = {"?", "malloc", "free", "calloc", "realloc", "aligned"};
    return op <= CALL_ALIGNED ? names[op] : "?";
}

void trace_release(trace *t)
{
    free(t->calls);
    free(t->lines);
    *t = (trace){.calls = NULL};
}

const char *trace_where(const trace *t, size_t index, char buf[48])
{
    if (t->lines != NULL && index < t->count)
        snprintf(buf, 48, "line %zu", t->lines[index]);
    else
        snprintf(buf, 48, "record %zu", index + 1);
    return buf;
}

/* posix_memalign and its kin take only powers of two (the port records the
 * alignment it used, always one). */
static bool alignment_valid(uint64_t align) { return align != 0 && (align & (align - 1)) == 0; }

/* ---- binary ---- */

static uint64_t little_endian(const unsigned char *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int binary_header_check(const unsigned char *data, size_t size, char err[TRACE_ERROR_MAX])
{
    if (size < BINARY_HEADER)
        return fail(err, "truncated header: %zu of %u bytes", size, BINARY_HEADER);
    if (memcmp(data, BINARY_MAGIC, 7) != 0)
        return fail(err, "not a holeheap trace (no HHTRACE magic)");
    uint64_t version = little_endian(data + 8, 4);
    if (data[7] != '1' || version != 1)
        return fail(err, "unsupported binary trace version (magic HHTRACE%c, version %llu; this reads HHTRACE1, 1)",
                    data[7] >= '0' && data[7] <= '9' ? data[7] : '?', (unsigned long long)version);
    uint64_t record = little_endian(data + 12, 4);
    if (record != BINARY_RECORD)
        return fail(err, "header: record size %llu, expected %u", (unsigned long long)record, BINARY_RECORD);
    return 0;
}

int trace_parse_binary(const unsigned char *data, size_t size, trace *out, char err[TRACE_ERROR_MAX])
{
    *out = (trace){.calls = NULL};
    if (binary_header_check(data, size, err) != 0)
        return -1;
    size_t records = (size - BINARY_HEADER) / BINARY_RECORD;
    size_t partial = (size - BINARY_HEADER) % BINARY_RECORD;
    if (partial != 0)
        return fail(err, "record %zu: truncated (%zu of %u bytes)", records + 1, partial, BINARY_RECORD);
    out->calls = calloc(records != 0 ? records : 1, sizeof *out->calls);
    if (out->calls == NULL)
        return fail(err, "out of memory for %zu records", records);
    for (size_t i = 0; i < records; i++) {
        const unsigned char *r = data + BINARY_HEADER + i * BINARY_RECORD;
        if (r[0] < CALL_MALLOC || r[0] > CALL_ALIGNED) {
            trace_release(out);
            return fail(err, "record %zu: unknown operation %u", i + 1, r[0]);
        }
        out->calls[i] = (trace_call){.op = r[0],
                                     .ptr = little_endian(r + 8, 8),
                                     .a = little_endian(r + 16, 8),
                                     .b = little_endian(r + 24, 8),
                                     .result = little_endian(r + 32, 8)};
        if (r[0] == CALL_ALIGNED && !alignment_valid(out->calls[i].a)) {
            uint64_t align = out->calls[i].a;
            trace_release(out);
            return fail(err, "record %zu: alignment %llu is not a power of two", i + 1, (unsigned long long)align);
        }
    }
    out->count = records;
    return 0;
}

/* ---- text ---- */

typedef struct cursor { /* one line being parsed */
    const char *p, *end;
    size_t line;
} cursor;

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static void skip_blanks(cursor *c)
{
    while (c->p < c->end && is_blank(*c->p))
        c->p++;
}

static bool at_line_end(cursor *c)
{
    skip_blanks(c);
    return c->p == c->end || *c->p == '#';
}

/* The next word (up to a blank or a comment); its length, 0 at the end. */
static size_t next_word(cursor *c, const char **word)
{
    skip_blanks(c);
    *word = c->p;
    while (c->p < c->end && !is_blank(*c->p) && *c->p != '#')
        c->p++;
    return (size_t)(c->p - *word);
}

enum { SHOWN_MAX = 40 };

/* A word of the input as an error line may show it: at most SHOWN_MAX bytes,
 * anything but printable ASCII as '?'. */
static const char *shown(const char *word, size_t len, char out[SHOWN_MAX + 1])
{
    size_t n = len < SHOWN_MAX ? len : SHOWN_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = word[i] >= 0x20 && word[i] < 0x7f ? word[i] : '?';
    out[n] = '\0';
    return out;
}

static bool word_is(const char *word, size_t len, const char *expected)
{
    return len == strlen(expected) && memcmp(word, expected, len) == 0;
}

static int digit_value(char ch, unsigned base)
{
    int v = ch >= '0' && ch <= '9'   ? ch - '0'
            : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
            : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                     : 99;
    return (unsigned)v < base ? v : -1;
}

/* A decimal or 0x-hexadecimal number that fits in 64 bits. */
static int read_number(cursor *c, const char *what, uint64_t *out, char err[TRACE_ERROR_MAX])
{
    const char *w;
    size_t len = next_word(c, &w);
    if (len == 0)
        return fail(err, "line %zu: missing %s", c->line, what);
    if (word_is(w, len, "="))
        return fail(err, "line %zu: missing %s before '='", c->line, what);
    unsigned base = 10;
    size_t i = 0;
    if (len > 2 && w[0] == '0' && (w[1] == 'x' || w[1] == 'X')) {
        base = 16;
        i = 2;
    }
    uint64_t v = 0;
    char text[SHOWN_MAX + 1];
    for (; i < len; i++) {
        int d = digit_value(w[i], base);
        if (d < 0)
            return fail(err, "line %zu: %s '%s' is not a number", c->line, what, shown(w, len, text));
        if (v > (UINT64_MAX - (uint64_t)d) / base)
            return fail(err, "line %zu: %s '%s' does not fit in 64 bits", c->line, what, shown(w, len, text));
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int expect_word(cursor *c, const char *expected, char err[TRACE_ERROR_MAX])
{
    const char *w;
    size_t len = next_word(c, &w);
    if (!word_is(w, len, expected))
        return fail(err, "line %zu: expected '%s' before the result", c->line, expected);
    return 0;
}

/* "= RESULT" at the end of an allocating call. */
static int read_result(cursor *c, trace_call *call, char err[TRACE_ERROR_MAX])
{
    if (expect_word(c, "=", err) != 0 || read_number(c, "result", &call->result, err) != 0)
        return -1;
    return 0;
}

/* The operands of op, then the end of the line. */
static int read_operands(cursor *c, trace_call *call, char err[TRACE_ERROR_MAX])
{
    int r;
    switch (call->op) {
    case CALL_MALLOC: r = read_number(c, "size", &call->a, err) || read_result(c, call, err); break;
    case CALL_FREE: r = read_number(c, "pointer", &call->ptr, err); break;
    case CALL_CALLOC:
        r = read_number(c, "count", &call->a, err) || read_number(c, "size", &call->b, err) ||
            read_result(c, call, err);
        break;
    case CALL_REALLOC:
        r = read_number(c, "pointer", &call->ptr, err) || read_number(c, "size", &call->a, err) ||
            read_result(c, call, err);
        break;
    default:
        r = read_number(c, "alignment", &call->a, err) || read_number(c, "size", &call->b, err) ||
            read_result(c, call, err);
        if (r == 0 && !alignment_valid(call->a))
            return fail(err, "line %zu: alignment %llu is not a power of two", c->line, (unsigned long long)call->a);
    }
    if (r != 0)
        return -1;
    if (!at_line_end(c))
        return fail(err, "line %zu: unexpected text after the %s call", c->line, trace_op_name(call->op));
    return 0;
}

static uint8_t op_from_word(const char *w, size_t len)
{
    for (uint8_t op = CALL_MALLOC; op <= CALL_ALIGNED; op++)
        if (word_is(w, len, trace_op_name(op)))
            return op;
    return 0;
}

typedef struct call_list {
    trace_call *calls;
    size_t *lines;
    size_t count, capacity;
} call_list;

static void call_list_free(call_list *l)
{
    free(l->calls);
    free(l->lines);
}

static int call_list_push(call_list *l, const trace_call *call, size_t line, char err[TRACE_ERROR_MAX])
{
    if (l->count == l->capacity) {
        size_t capacity = l->capacity == 0 ? 1024 : l->capacity * 2;
        trace_call *grown = realloc(l->calls, capacity * sizeof *grown);
        if (grown != NULL)
            l->calls = grown;
        size_t *lines = grown != NULL ? realloc(l->lines, capacity * sizeof *lines) : NULL;
        if (lines == NULL)
            return fail(err, "out of memory after %zu calls", l->count);
        l->lines = lines;
        l->capacity = capacity;
    }
    l->lines[l->count] = line;
    l->calls[l->count++] = *call;
    return 0;
}

typedef enum { LINE_CALL, LINE_SKIP, LINE_END } line_kind;

/* One line inside the trace: a call, a comment or blank line, or "end". */
static int parse_trace_line(cursor *c, trace_call *call, line_kind *kind, char err[TRACE_ERROR_MAX])
{
    *kind = LINE_SKIP;
    if (at_line_end(c))
        return 0;
    const char *w;
    size_t len = next_word(c, &w);
    if (word_is(w, len, "end")) {
        *kind = LINE_END;
        return at_line_end(c) ? 0 : fail(err, "line %zu: unexpected text after 'end'", c->line);
    }
    *call = (trace_call){.op = op_from_word(w, len)};
    char text[SHOWN_MAX + 1];
    if (call->op == 0)
        return fail(err, "line %zu: unknown call '%s' (malloc, free, calloc, realloc, aligned or end)", c->line,
                    shown(w, len, text));
    *kind = LINE_CALL;
    return read_operands(c, call, err);
}

static bool line_is_header(cursor *c)
{
    const char *w;
    size_t len = next_word(c, &w);
    if (!word_is(w, len, "holeheap-trace"))
        return false;
    len = next_word(c, &w);
    return word_is(w, len, "1") && at_line_end(c);
}

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl != NULL ? nl : end;
}

int trace_parse_text(const unsigned char *data, size_t size, trace *out, char err[TRACE_ERROR_MAX])
{
    *out = (trace){.calls = NULL};
    const char *p = (const char *)data, *end = p + size;
    call_list list = {NULL, NULL, 0, 0};
    bool inside = false, ended = false;
    size_t header_line = 0;
    for (size_t line = 1; p < end && !ended; line++) {
        const char *eol = line_end(p, end);
        cursor c = {p, eol, line};
        p = eol < end ? eol + 1 : end;
        if (!inside) {
            inside = line_is_header(&c);
            header_line = line;
            continue;
        }
        trace_call call;
        line_kind kind;
        if (parse_trace_line(&c, &call, &kind, err) != 0 ||
            (kind == LINE_CALL && call_list_push(&list, &call, line, err) != 0)) {
            call_list_free(&list);
            return -1;
        }
        ended = kind == LINE_END;
    }
    if (!ended) {
        call_list_free(&list);
        if (!inside && memchr(data, '\0', size) != NULL)
            return fail(err,
                        "not a holeheap trace: binary data without the HHTRACE magic, and no '" TEXT_HEADER "' line");
        if (!inside)
            return fail(err, "not a holeheap trace: no '" TEXT_HEADER "' line and no HHTRACE magic");
        return fail(err, "truncated: no 'end' line after the trace that starts at line %zu (%zu calls read)",
                    header_line, list.count);
    }
    out->calls = list.calls;
    out->lines = list.lines;
    out->count = list.count;
    return 0;
}

int trace_parse(const unsigned char *data, size_t size, trace *out, char err[TRACE_ERROR_MAX])
{
    if (size >= 7 && memcmp(data, BINARY_MAGIC, 7) == 0)
        return trace_parse_binary(data, size, out, err);
    if (size < 7 && size > 0 && memcmp(data, BINARY_MAGIC, size) == 0)
        return trace_parse_binary(data, size, out, err);
    return trace_parse_text(data, size, out, err);
}

int trace_load(const char *path, trace *out, char err[TRACE_ERROR_MAX])
{
    *out = (trace){.calls = NULL};
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return fail(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return fail(err, "%s: is a directory, not a trace file", path);
    }
    unsigned char *data = NULL;
    size_t size = 0, capacity = 0;
    for (;;) {
        if (size == capacity) {
            capacity = capacity == 0 ? 65536 : capacity * 2;
            unsigned char *grown = realloc(data, capacity);
            if (grown == NULL) {
                free(data);
                fclose(f);
                return fail(err, "%s: out of memory reading it", path);
            }
            data = grown;
        }
        size_t n = fread(data + size, 1, capacity - size, f);
        size += n;
        if (n == 0)
            break;
    }
    int read_error = ferror(f) != 0 ? errno : 0;
    fclose(f);
    int r = read_error != 0 ? fail(err, "%s: cannot read it: %s", path, strerror(read_error))
                            : trace_parse(data, size, out, err);
    free(data);
    return r;
}
