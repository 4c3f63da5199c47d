/*
 * Replaying a trace on one holeheap over a fixed region that the replayer
 * maps (MAP_NORESERVE: only the pages the heap touches cost memory). Every
 * traced address is mapped to its replayed block; each block is stamped with
 * the call that made it and the stamp is checked when it is freed or moved.
 *
 * After each step the replayer knows the live bytes (the sizes the program
 * asked for), the span (from the end of the heap's control data to the end
 * of the highest live block, header and footer included: with the control
 * data, the least region a fixed heap needs at that moment) and their peaks.
 */
#ifndef TOOLS_REPLAY_H
#define TOOLS_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "trace.h"

/* The region a replay uses unless told otherwise: address space, mapped on demand. */
#if SIZE_MAX > 0xFFFFFFFFu
#define REPLAY_DEFAULT_REGION ((size_t)8 << 30)
#else
#define REPLAY_DEFAULT_REGION ((size_t)1 << 30)
#endif

typedef struct replay_config {
    const core_api *core;
    size_t region;      /* bytes handed to hh_init; the heap never grows */
    size_t check_every; /* hh_check every N calls (0: only by replay_verify) */
    bool quiet;         /* count errors without printing them */
} replay_config;

typedef struct replay_live replay_live;

/* An entry of the replayer's max-heap of block ends (replay.c). */
struct end_heap {
    uint64_t end;
    size_t born;
};

typedef struct replayer {
    const trace *trace;
    replay_config config;
    unsigned char *mem;
    hh_heap *heap;
    size_t next;                                /* calls replayed so far; the next call's index */
    size_t errors, skipped, failed_allocations; /* errors: each failing call counted once */
    size_t problems_seen;                       /* the core's problem count after the last call */
    bool stopped;                               /* a failed hh_check: the heap is no longer sound */
    uint64_t live_bytes, peak_live_bytes;
    size_t live_blocks;
    size_t span, peak_span, peak_span_call; /* peak_span_call: calls replayed when it was reached */
    size_t control_bytes;                   /* the heap's control data at the region's start */
    size_t tail_bytes;                      /* block end minus (payload + usable size): the footer */
    /* private */
    replay_live *table;
    size_t capacity, occupied;
    struct end_heap *ends;
    size_t ends_count, ends_capacity;
    unsigned char *alive; /* one byte per call: its block is still live */
} replayer;

/* Map the region and start a heap; 0, or -1 with a reason in err. */
int replay_start(replayer *r, const trace *t, const replay_config *config, char err[TRACE_ERROR_MAX]);

/* Replay the next call; false once every call is replayed or the replay stopped. */
bool replay_step(replayer *r);

/* hh_check now; false (and an error counted) if it fails. */
bool replay_verify(replayer *r);

/* Errors so far: calls that failed in the replay (a problem the core reported
 * during a call that the replay already counted is not counted again), and
 * failed hh_checks. */
size_t replay_error_count(const replayer *r);

void replay_end(replayer *r);

/* What the traced program's block that the live call `born` made asked for. */
typedef struct replay_block {
    const void *payload;
    size_t born; /* index of the call that made it (0-based) */
    uint64_t requested;
    uint64_t traced; /* its address in the traced program */
} replay_block;

/* The live block whose payload (usable bytes long) is given, by the stamp
 * the replay wrote in it: O(1), no search. False if it holds no live stamp. */
bool replay_block_at(const replayer *r, const void *payload, size_t usable, replay_block *out);

/* The bytes a call asked for (malloc, realloc: its size; calloc: count * size,
 * at most UINT64_MAX; aligned: its size; free: 0). */
uint64_t trace_call_bytes(const trace_call *c);

#endif
