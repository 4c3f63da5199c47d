/*
 * Canary mode (HH_CANARY): the requested size kept in a keyed record before
 * each block's footer, the slack before it filled. Layout in canary.h.
 */
#include "annotate.h"
HH_TOOLS_EXEMPT_BEGIN; /* to HH_TOOLS_EXEMPT_END: under ASan the core's accesses are exempt */
#include "canary.h"
#include "heap.h"
#include "mem.h"
#include "tag.h"

/* A damaged record is matched against every slack up to this many bytes
 * (the heap never leaves more than 47: rounding to 16 plus a sliver too
 * small to split, or a block of the front up to 32 bytes larger than the
 * request's). */
#define CANARY_SLACK_SEARCH 255u

/* The record's bytes as they lie in memory: two 32-bit words, least
 * significant byte first, the slack masked by the block's pad, then the
 * check, mix(slack + pad) ^ seal. */
typedef struct canary_record {
    unsigned char byte[CANARY_RECORD_BYTES];
} canary_record;

_Static_assert(sizeof(canary_record) == CANARY_RECORD_BYTES, "the record fills the room canary_request adds");

static inline size_t min_bytes(size_t a, size_t b) { return a < b ? a : b; }

/* Offset of the record from the payload: the last 8 bytes before the footer. */
static size_t record_offset(tag *b) { return tag_size(b) - HH_OVERHEAD - CANARY_RECORD_BYTES; }

static unsigned char *record_at(tag *b) { return (unsigned char *)block_payload(b) + record_offset(b); }

/* 64 bits keyed by b's tag (its seal covers its size and position): the
 * block's pad and its seal. The pad is mix(mix(seal ^ link key) + key2) +
 * link key: a program that knows a block's slack reads its pad off the
 * record, but a secret enters after the last mix, so nothing public can be
 * peeled off the outside, and the inner secrets meet between full mixes.
 * Two earlier pads fell to a review: mix(seal ^ link key) and mix(slack +
 * key2) gave both back from one record (one inverted mix); mix(mix1(seal ^
 * link key) + key2) from 8 records in about 2^15 trials (the public outer
 * mix undone, key2 cancelled by a difference, mix1's low bits guessed 16
 * bits at a time: test canary_record_resists_prune_attack). */
static uint64_t block_hash(const hh_heap *h, tag *b)
{
    return (uint64_t)b->seal << 32 | (tag_mix(tag_mix(b->seal ^ h->link_key) + h->key2) + h->link_key);
}

static void word_put(unsigned char *to, uint32_t w)
{
    for (unsigned i = 0; i < 4; i++)
        to[i] = (unsigned char)(w >> 8 * i);
}

static uint32_t word_get(const unsigned char *from)
{
    uint32_t w = 0;
    for (unsigned i = 0; i < 4; i++)
        w |= (uint32_t)from[i] << 8 * i;
    return w;
}

static canary_record record_for(uint64_t hash, size_t slack)
{
    uint32_t s = (uint32_t)slack;
    canary_record r = {{0}};
    word_put(r.byte, s ^ (uint32_t)hash);
    word_put(r.byte + 4, tag_mix(s + (uint32_t)hash) ^ (uint32_t)(hash >> 32));
    return r;
}

/* b's record as found; the loop may become a memcpy, which ASan checks. */
static canary_record record_read(tag *b)
{
    canary_record r = {{0}};
    const unsigned char *at = record_at(b);
    tool_open(at, CANARY_RECORD_BYTES);
    for (unsigned i = 0; i < CANARY_RECORD_BYTES; i++)
        r.byte[i] = at[i];
    tool_close(at, CANARY_RECORD_BYTES);
    return r;
}

void canary_write(const hh_heap *h, void *p, size_t n)
{
    tag *b = payload_block(p);
    size_t slack = record_offset(b) - n;
    tool_open((unsigned char *)p + n, slack + CANARY_RECORD_BYTES);
    memset((unsigned char *)p + n, HH_CANARY_BYTE, slack);
    canary_record r = record_for(block_hash(h, b), slack);
    for (unsigned i = 0; i < CANARY_RECORD_BYTES; i++)
        record_at(b)[i] = r.byte[i];
    tool_close((unsigned char *)p + n, slack + CANARY_RECORD_BYTES);
}

static unsigned record_distance(const canary_record *found, const canary_record *wanted, size_t *first);

/* The slack b's record holds, or SIZE_MAX when the record is damaged. */
static size_t record_slack(const hh_heap *h, tag *b)
{
    uint64_t hash = block_hash(h, b);
    canary_record found = record_read(b);
    size_t slack = word_get(found.byte) ^ (uint32_t)hash, first;
    if (slack > record_offset(b))
        return SIZE_MAX;
    canary_record wanted = record_for(hash, slack);
    return record_distance(&found, &wanted, &first) == 0 ? slack : SIZE_MAX;
}

/* The first byte of b's payload in [from, to) that lost the fill, or SIZE_MAX. */
static size_t fill_damage(tag *b, size_t from, size_t to)
{
    const unsigned char *p = block_payload(b);
    for (size_t i = from; i < to; i++)
        if (p[i] != HH_CANARY_BYTE)
            return i;
    return SIZE_MAX;
}

/* How many bytes of the record found differ from the one wanted; the first
 * of them, as an index into the record, in *first. */
static unsigned record_distance(const canary_record *found, const canary_record *wanted, size_t *first)
{
    unsigned differ = 0;
    *first = CANARY_RECORD_BYTES;
    for (size_t i = CANARY_RECORD_BYTES; i-- > 0;) {
        if (found->byte[i] != wanted->byte[i]) {
            differ++;
            *first = i;
        }
    }
    return differ;
}

/* The record is damaged: the slack whose record it is closest to (fewest
 * bytes differ) is taken as the block's, and the first damaged byte is the
 * first that differs from what that slack wrote, fill or record. Exact for
 * a write that leaves part of the record intact; for one over all of it, a
 * byte inside the damaged span. */
static size_t damage_with_record(const hh_heap *h, tag *b)
{
    uint64_t hash = block_hash(h, b);
    canary_record found = record_read(b);
    size_t rec = record_offset(b), best_offset = rec;
    unsigned best = CANARY_RECORD_BYTES + 1;
    for (size_t slack = 0; slack <= min_bytes(rec, CANARY_SLACK_SEARCH); slack++) {
        canary_record wanted = record_for(hash, slack);
        size_t first;
        unsigned differ = record_distance(&found, &wanted, &first);
        if (differ < best) {
            best = differ;
            best_offset = min_bytes(fill_damage(b, rec - slack, rec), rec + first);
        }
    }
    return best_offset;
}

size_t canary_damage(const hh_heap *h, tag *b)
{
    size_t slack = record_slack(h, b);
    if (slack == SIZE_MAX)
        return damage_with_record(h, b);
    return fill_damage(b, record_offset(b) - slack, record_offset(b));
}

bool canary_verify(hh_heap *h, tag *b)
{
    size_t offset = canary_damage(h, b);
    if (offset == SIZE_MAX)
        return true;
    unsigned char *p = block_payload(b);
    heap_report_in_block(h, HH_E_CORRUPT, p, p + offset, "canary: written past the requested size");
    return false;
}

size_t canary_requested(const hh_heap *h, tag *b) { return record_offset(b) - record_slack(h, b); }

HH_TOOLS_EXEMPT_END;
