/*
 * HOLEHEAP_TRACE=FILE: every allocation call, in order, as fixed-size binary
 * records (docs/trace-format.md). While tracing, one lock is held around each
 * whole call, so the order in the file is an order the calls really took
 * effect in: a block is always freed in the trace before its address is
 * handed out again. A "%p" in FILE is replaced by the process id. A child
 * after fork stops tracing (it would interleave another address space).
 */
#include "port.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define TRACE_BUFFER 65536u

typedef struct trace_record { /* docs/trace-format.md */
    uint8_t op;
    uint8_t reserved[3];
    uint32_t thread;
    uint64_t ptr;
    uint64_t a;
    uint64_t b;
    uint64_t result;
} trace_record;

_Static_assert(sizeof(trace_record) == 40, "a trace record is 40 bytes");

bool hhp_tracing;
static int trace_fd = -1;
static hhp_lock trace_lock;
static unsigned char buffer[TRACE_BUFFER];
static size_t buffered;
static _Atomic uint32_t next_thread_id = 1;
static HHP_TLS uint32_t thread_id;
static HHP_TLS bool in_call;

static void trace_flush_unlocked(void)
{
    if (trace_fd >= 0 && buffered > 0)
        hhp_write_all(trace_fd, buffer, buffered);
    buffered = 0;
}

/* Copy path into out, "%p" becoming the process id. */
static void trace_path(const char *path, char *out, size_t cap)
{
    hhp_line pid = {.len = 0};
    hhp_line_dec(&pid, (size_t)getpid());
    size_t n = 0;
    for (; *path != '\0' && n + pid.len + 1 < cap; path++) {
        if (path[0] == '%' && path[1] == 'p') {
            memcpy(out + n, pid.text, pid.len);
            n += pid.len;
            path++;
        } else {
            out[n++] = *path;
        }
    }
    out[n] = '\0';
}

void hhp_trace_open(const char *path)
{
    char name[4096];
    trace_path(path, name, sizeof name);
    trace_fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (trace_fd < 0) {
        hhp_line l = {.len = 0};
        hhp_line_str(&l, "holeheap: cannot open the trace file ");
        hhp_line_str(&l, name);
        hhp_line_emit(&l);
        return;
    }
    static const unsigned char header[16] = {'H', 'H', 'T', 'R', 'A', 'C', 'E', '1', 1, 0, 0, 0, 40, 0, 0, 0};
    hhp_write_all(trace_fd, header, sizeof header);
    hhp_tracing = true;
}

bool hhp_trace_begin(void)
{
    if (in_call)
        return false;
    in_call = true;
    hhp_lock_take(&trace_lock);
    return true;
}

void hhp_trace_end(enum hhp_op op, const void *ptr, size_t a, size_t b, const void *result)
{
    if (thread_id == 0)
        thread_id = atomic_fetch_add(&next_thread_id, 1u);
    trace_record r = {
        .op = (uint8_t)op,
        .thread = thread_id,
        .ptr = (uintptr_t)ptr,
        .a = a,
        .b = b,
        .result = (uintptr_t)result,
    };
    if (buffered + sizeof r > sizeof buffer)
        trace_flush_unlocked();
    memcpy(buffer + buffered, &r, sizeof r);
    buffered += sizeof r;
    hhp_lock_give(&trace_lock);
    in_call = false;
}

void hhp_trace_flush(void)
{
    hhp_lock_take(&trace_lock);
    trace_flush_unlocked();
    hhp_lock_give(&trace_lock);
}

/* For fork: written out first, so that the child has nothing to repeat. */
void hhp_trace_lock(void)
{
    hhp_lock_take(&trace_lock);
    trace_flush_unlocked();
}

void hhp_trace_unlock(void) { hhp_lock_give(&trace_lock); }

void hhp_trace_reset(void)
{
    hhp_lock_reset(&trace_lock);
    if (hhp_tracing) {
        hhp_tracing = false;
        close(trace_fd);
        trace_fd = -1;
    }
}
