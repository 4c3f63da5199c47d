/*
 * fuzz_trace: libFuzzer target for both trace readers (tools/trace.c) and the
 * replayer behind them. Any input is parsed as a trace (binary or text, by its
 * first bytes); whatever parses is replayed on a small fixed region with
 * hh_check every 64 calls. A parse must succeed or give a one-line error; a
 * replay must end without a crash and with the heap passing hh_check, whatever
 * the trace says (its nonsense is counted as replay errors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REGION ((size_t)4 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace t;
    char err[TRACE_ERROR_MAX];
    err[0] = '\0';
    if (trace_parse(data, size, &t, err) != 0) {
        if (err[0] == '\0' || memchr(err, '\n', strlen(err)) != NULL)
            abort(); /* every refusal says why, in one line */
        return 0;
    }
    replayer r;
    replay_config config = {.core = &core_fast, .region = FUZZ_REGION, .check_every = 64, .quiet = true};
    if (replay_start(&r, &t, &config, err) != 0)
        abort();
    while (replay_step(&r))
        ;
    if (r.stopped || !replay_verify(&r))
        abort(); /* the replay broke the heap */
    replay_end(&r);
    trace_release(&t);
    return 0;
}
