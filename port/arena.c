/*
 * Arenas: each an hh_heap at the start of its own reserved range of
 * HHP_ARENA_SPAN bytes. All ranges are cut from one reservation aligned to
 * HHP_ARENA_SPAN, so the arena owning an address is (address - base) >> shift.
 *
 *   base                base + SPAN          base + 2 SPAN
 *   | hh_heap ... |none |  hh_heap ... | none |  ...
 *   ^ committed_end     (read/write below, PROT_NONE above)
 *
 * A thread is bound at its first call to the arena with the fewest threads,
 * and gives the binding back at exit (hhp_arena_unbind), so that threads
 * created one after another reuse an arena instead of spreading over all.
 */
#include "port.h"

#include <limits.h>
#include <pthread.h>

hhp_config hhp_cfg;
_Atomic int hhp_ready;
bool hhp_slow_calls;
HHP_TLS const char *hhp_current_call;
HHP_TLS size_t hhp_check_calls;
HHP_TLS unsigned hhp_check_noted;
HHP_TLS const void *hhp_check_ring[2 * HHP_CHECK_QUICK];

static hhp_lock init_lock;
static hhp_arena arenas[HHP_MAX_ARENAS];
static char *arena_base;
static unsigned arena_shift;
static uint32_t heap_key;
HHP_TLS hhp_arena *hhp_bound_arena;
static HHP_TLS bool thread_unbound; /* it gave its binding back at exit */

_Static_assert((HHP_ARENA_SPAN & (HHP_ARENA_SPAN - 1)) == 0, "arena span is a power of two");

/* ---- the core's callbacks ---- */

static size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

/* committed_end changes under the arena's lock; the cache reads it without
 * (to bound the links it follows), so it is stored atomically. A shrink
 * lowers it before the pages go. */
static void arena_set_end(hhp_arena *a, char *end)
{
    if (end > a->readable_end)
        __atomic_store_n(&a->readable_end, end, __ATOMIC_RELEASE);
    __atomic_store_n(&a->committed_end, end, __ATOMIC_RELEASE);
}

static size_t arena_grow(void *ctx, void *end, size_t min_bytes)
{
    hhp_arena *a = ctx;
    if ((char *)end != a->committed_end || hhp_tcache_blocks_growth(a))
        return 0;
    size_t room = (size_t)(a->start + HHP_ARENA_SPAN - a->committed_end);
    size_t want = round_up(min_bytes > HHP_COMMIT_CHUNK ? min_bytes : HHP_COMMIT_CHUNK, hhp_page_size());
    if (want > room)
        want = room;
    if (want < min_bytes || !hhp_commit(a->committed_end, want))
        return 0;
    arena_set_end(a, a->committed_end + want);
    return want;
}

/* Give back whole pages only: the region end stays page-aligned. The pages
 * are discarded but stay mapped (readable_end), so that the checks made
 * without the lock (hhp_usable_size, the cache's links) read zeros there,
 * never fault. */
static size_t arena_shrink(void *ctx, void *new_end, size_t bytes)
{
    hhp_arena *a = ctx;
    char *top = (char *)new_end + bytes;
    if (top != a->committed_end)
        return 0;
    char *from = (char *)round_up((uintptr_t)new_end, hhp_page_size());
    if (from >= top)
        return 0;
    arena_set_end(a, from);
    hhp_discard(from, (size_t)(top - from));
    return (size_t)(top - from);
}

static HHP_TLS hhp_arena *held_arena;

static void arena_lock(void *ctx)
{
    if (ctx != held_arena)
        hhp_lock_take(&((hhp_arena *)ctx)->lock);
}

static void arena_unlock(void *ctx)
{
    if (ctx != held_arena)
        hhp_lock_give(&((hhp_arena *)ctx)->lock);
}

void hhp_arena_hold(hhp_arena *a)
{
    hhp_lock_take(&a->lock);
    held_arena = a;
}

void hhp_arena_release(hhp_arena *a)
{
    held_arena = NULL;
    hhp_lock_give(&a->lock);
}

static const char *problem_text(int code)
{
    switch (code) {
    case HH_E_BAD_POINTER: return "invalid pointer";
    case HH_E_DOUBLE_FREE: return "double free";
    case HH_E_CORRUPT: return "corrupted block tags";
    case HH_E_INDEX: return "corrupted hole index";
    case HH_E_POISON: return "write after free";
    case HH_E_STATS: return "heap totals disagree";
    case HH_E_CALLBACK: return "grow/shrink callback failed";
    default: return "heap problem";
    }
}

/* Impossible requests give NULL (the caller sets errno); the rest abort. */
static void arena_on_error(void *ctx, const hh_problem *problem)
{
    (void)ctx;
    if (problem->code == HH_E_BAD_SIZE || problem->code == HH_E_BAD_ALIGN)
        return;
    hhp_die(hhp_current_call, problem_text(problem->code), problem->where, problem->code);
}

/* hh_usable_size, never 0: a bad pointer is reported through on_error (and
 * aborts there); a call the core refused without a report (its control
 * block failed its check) aborts here, before the caller reads anything at
 * p or copies 0 bytes of it. */
size_t hhp_usable_size_locked(hhp_arena *a, const void *p)
{
    size_t usable = hh_usable_size(a->heap, p); /* reports what the peek refused */
    if (__builtin_expect(usable == 0, 0)) {
        /* Every problem but these two aborted in arena_on_error: any other
         * recorded one is the refusal's own. */
        hh_problem problem = {0}; /* a refused heap fills nothing in */
        int code = hh_last_problem(a->heap, &problem);
        if (code == HH_OK || code == HH_E_BAD_SIZE || code == HH_E_BAD_ALIGN || problem.what == NULL)
            problem = (hh_problem){HH_E_CORRUPT, p, "the heap refused the call", NULL};
        hhp_die(hhp_current_call, problem.what, problem.where, problem.code);
    }
    return usable;
}

size_t hhp_usable_size_locked_header(hhp_arena *a, const void *p, uint64_t *header)
{
    hhp_arena_hold(a); /* no free into the core between the proof and the read */
    size_t usable = hhp_usable_size_locked(a, p);
    *header = __atomic_load_n((const uint64_t *)p - 1, __ATOMIC_RELAXED);
    hhp_arena_release(a);
    return usable;
}

/* ---- arenas ---- */

static bool arena_start_heap(hhp_arena *a)
{
    if (!hhp_commit(a->start, HHP_COMMIT_CHUNK))
        return false;
    arena_set_end(a, a->start + HHP_COMMIT_CHUNK);
    hh_options opt = {
        .grow = arena_grow,
        .shrink = arena_shrink,
        .lock = arena_lock,
        .unlock = arena_unlock,
        .on_error = arena_on_error,
        .ctx = a,
        .max_size = HHP_ARENA_SPAN,
        .key = heap_key,
        .flags = hhp_cfg.check_every == 1 ? HH_CHECK_ALWAYS : 0u,
    };
    hh_heap *heap = hh_init(a->start, HHP_COMMIT_CHUNK, &opt);
    /* published: other threads read it without the init lock (hhp_arena_of) */
    __atomic_store_n(&a->heap, heap, __ATOMIC_RELEASE);
    return heap != NULL;
}

/* The arena's heap starts on first use, under the init lock. */
static hhp_arena *arena_ensure(unsigned index)
{
    hhp_arena *a = &arenas[index];
    if (__atomic_load_n(&a->heap, __ATOMIC_ACQUIRE) != NULL)
        return a;
    hhp_lock_take(&init_lock);
    bool ok = a->heap != NULL || arena_start_heap(a);
    hhp_lock_give(&init_lock);
    return ok ? a : NULL;
}

/* The arena with the fewest threads bound to it (the lowest index on a tie):
 * the arenas that exited threads gave back are used before another starts. */
static unsigned arena_least_bound(void)
{
    unsigned best = 0, least = UINT_MAX;
    for (unsigned i = 0; i < hhp_cfg.arenas; i++) {
        unsigned n = atomic_load_explicit(&arenas[i].bound, memory_order_relaxed);
        if (n < least) {
            least = n;
            best = i;
        }
    }
    return best;
}

hhp_arena *hhp_thread_arena_bind(void)
{
    hhp_arena *a = NULL;
    hhp_init();
    unsigned first = arena_least_bound();
    for (unsigned i = 0; i < hhp_cfg.arenas && a == NULL; i++)
        a = arena_ensure((first + i) % hhp_cfg.arenas);
    hhp_bound_arena = a;
    if (a != NULL && !thread_unbound) {
        atomic_fetch_add_explicit(&a->bound, 1u, memory_order_relaxed);
        hhp_tcache_bound(a); /* its exit hook gives the binding back */
    }
    return a;
}

void hhp_arena_unbind(void)
{
    hhp_arena *a = hhp_bound_arena;
    if (a == NULL || thread_unbound)
        return;
    thread_unbound = true; /* a later call binds again, without counting */
    hhp_bound_arena = NULL;
    atomic_fetch_sub_explicit(&a->bound, 1u, memory_order_relaxed);
}

hhp_arena *hhp_arena_of(const void *p)
{
    uintptr_t offset = (uintptr_t)p - (uintptr_t)arena_base;
    if (arena_base == NULL || offset >= (uintptr_t)hhp_cfg.arenas << arena_shift)
        return NULL;
    hhp_arena *a = &arenas[offset >> arena_shift];
    return __atomic_load_n(&a->heap, __ATOMIC_ACQUIRE) != NULL ? a : NULL;
}

hhp_arena *hhp_arena_next(const hhp_arena *a) { return arena_ensure((a->index + 1) % hhp_cfg.arenas); }

void hhp_arenas_stats(hh_stats *sum, unsigned *used)
{
    *sum = (hh_stats){0};
    *used = 0;
    for (unsigned i = 0; i < hhp_cfg.arenas; i++) {
        if (hhp_arena_of(arenas[i].start) == NULL)
            continue;
        hh_stats s;
        hh_stats_get(arenas[i].heap, &s);
        sum->region_bytes += s.region_bytes;
        sum->used_bytes += s.used_bytes;
        sum->free_bytes += s.free_bytes;
        sum->blocks += s.blocks;
        sum->holes += s.holes;
        sum->peak_used_bytes += s.peak_used_bytes;
        if (s.largest_hole > sum->largest_hole)
            sum->largest_hole = s.largest_hole;
        (*used)++;
    }
}

/* ---- HOLEHEAP_CHECK=N: a full check of every arena every N calls ---- */

/* "full check every N calls: I5: footer differs ..." into l, NUL-terminated. */
static const char *check_problem_text(hhp_line *l, bool full, const hh_problem *problem)
{
    hhp_line_str(l, full ? "full check every " : "quick check every ");
    hhp_line_dec(l, full ? hhp_cfg.check_every : HHP_CHECK_QUICK);
    hhp_line_str(l, full ? " calls: " : " calls of the blocks they touched: ");
    hhp_line_str(l, problem->what != NULL ? problem->what : problem_text(problem->code));
    l->text[l->len < sizeof l->text ? l->len : sizeof l->text - 1] = '\0';
    return l->text;
}

/* Each arena in turn, under its own lock (the core takes it): a thread that
 * checks holds no arena, so it waits for no one but the arena's users. The
 * quick check (full false) looks near the n blocks in ring. */
static void check_arenas(bool full, const void *const *ring, size_t n)
{
    for (unsigned i = 0; i < hhp_cfg.arenas; i++) {
        hh_heap *h = __atomic_load_n(&arenas[i].heap, __ATOMIC_ACQUIRE);
        if (h == NULL)
            continue;
        hh_problem problem = {0};
        int code = full ? hh_check(h, &problem) : hh_check_near(h, ring, n, &problem);
        if (code != HH_OK) {
            hhp_line l = {.len = 0};
            hhp_die(hhp_current_call, check_problem_text(&l, full, &problem), problem.where, code);
        }
    }
}

void hhp_check_step(void)
{
    size_t calls = ++hhp_check_calls;
    unsigned noted = hhp_check_noted < 2 * HHP_CHECK_QUICK ? hhp_check_noted : 2 * HHP_CHECK_QUICK;
    if (calls >= hhp_cfg.check_every) {
        hhp_check_calls = 0;
        hhp_check_noted = 0;
        check_arenas(true, NULL, 0);
    } else if (calls % HHP_CHECK_QUICK == 0 && hhp_cfg.check_every > HHP_CHECK_QUICK) {
        hhp_check_noted = 0;
        check_arenas(false, hhp_check_ring, noted);
    }
}

/* ---- start-up: reads the environment and reserves the arenas ---- */

/* HOLEHEAP_CHECK: unset, empty or 0: none; N from 1 to HHP_CHECK_MAX, in
 * decimal: every N calls (1: around every call). Anything else is said on
 * one line of stderr and means HHP_CHECK_DEFAULT: who asks for checking gets it. */
static size_t config_check(void)
{
    const char *v = hhp_env_text("HOLEHEAP_CHECK");
    if (v == NULL)
        return 0;
    size_t n = 0;
    const char *p = v;
    for (; *p >= '0' && *p <= '9' && n <= HHP_CHECK_MAX; p++)
        n = n * 10 + (size_t)(*p - '0');
    if (p != v && *p == '\0' && n <= HHP_CHECK_MAX)
        return n;
    hhp_line l = {.len = 0};
    hhp_line_str(&l, "holeheap: HOLEHEAP_CHECK='");
    hhp_line_str(&l, v);
    hhp_line_str(&l, "' is not a number of calls from 0 to ");
    hhp_line_dec(&l, HHP_CHECK_MAX);
    hhp_line_str(&l, ": checking every ");
    hhp_line_dec(&l, HHP_CHECK_DEFAULT);
    hhp_line_str(&l, " calls");
    hhp_line_emit(&l);
    return HHP_CHECK_DEFAULT;
}

static void config_read(void)
{
    hhp_cfg.check_every = config_check();
    hhp_cfg.check = hhp_cfg.check_every != 0;
    hhp_cfg.stats = hhp_env_flag("HOLEHEAP_STATS");
    const char *tc = hhp_env_text("HOLEHEAP_TCACHE");
    hhp_cfg.tcache = tc != NULL ? tc[0] != '0' : !hhp_cfg.check;
    if (hhp_cfg.check)
        hhp_cfg.tcache = false;
    hhp_cfg.mmap_threshold = hhp_env_size("HOLEHEAP_MMAP_THRESHOLD", HHP_MMAP_THRESHOLD);
    hhp_cfg.realloc_headroom = hhp_env_size("HOLEHEAP_REALLOC_HEADROOM", 0);
    hhp_cfg.large_cache_bytes = hhp_env_size("HOLEHEAP_LARGE_CACHE", HHP_LARGE_CACHE_BYTES);
    size_t n = hhp_env_size("HOLEHEAP_ARENAS", 2 * (size_t)hhp_cpu_count());
    hhp_cfg.arenas = (unsigned)(n < 1 ? 1 : n > HHP_MAX_ARENAS ? HHP_MAX_ARENAS : n);
}

static void arenas_reserve(void)
{
    arena_shift = (unsigned)__builtin_ctzll((unsigned long long)HHP_ARENA_SPAN);
    for (;;) {
        arena_base = hhp_reserve((size_t)hhp_cfg.arenas * HHP_ARENA_SPAN, HHP_ARENA_SPAN);
        if (arena_base != NULL || hhp_cfg.arenas == 1)
            break;
        hhp_cfg.arenas /= 2;
    }
    if (arena_base == NULL)
        hhp_die("malloc", "cannot reserve address space for the heap", NULL, HH_E_CALLBACK);
    for (unsigned i = 0; i < hhp_cfg.arenas; i++) {
        arenas[i].start = arena_base + (size_t)i * HHP_ARENA_SPAN;
        arenas[i].index = i;
    }
}

void hhp_init_slow(void)
{
    hhp_lock_take(&init_lock);
    if (!atomic_load_explicit(&hhp_ready, memory_order_relaxed)) {
        config_read();
        heap_key = hhp_random_u32(); /* never 0, the core's public default */
        hhp_tcache_keys();           /* the cache's secrets, before any block is cached */
        arenas_reserve();
        const char *trace = hhp_env_text("HOLEHEAP_TRACE");
        if (trace != NULL)
            hhp_trace_open(trace);
        hhp_slow_calls = hhp_tracing || hhp_cfg.check_every > 1;
        atomic_store_explicit(&hhp_ready, 1, memory_order_release);
    }
    hhp_lock_give(&init_lock);
}

/* ---- fork: hold every lock across it so the child sees a quiet heap ---- */

static void fork_prepare(void)
{
    hhp_trace_lock();
    hhp_lock_take(&init_lock);
    for (unsigned i = 0; i < HHP_MAX_ARENAS; i++)
        hhp_lock_take(&arenas[i].lock);
    hhp_large_lock();
}

static void fork_parent(void)
{
    hhp_large_unlock();
    for (unsigned i = HHP_MAX_ARENAS; i-- > 0;)
        hhp_lock_give(&arenas[i].lock);
    hhp_lock_give(&init_lock);
    hhp_trace_unlock();
}

static void fork_child(void)
{
    for (unsigned i = 0; i < HHP_MAX_ARENAS; i++) /* only this thread is left */
        atomic_store_explicit(&arenas[i].bound, &arenas[i] == hhp_bound_arena ? 1u : 0u, memory_order_relaxed);
    hhp_large_reset();
    for (unsigned i = 0; i < HHP_MAX_ARENAS; i++)
        hhp_lock_reset(&arenas[i].lock);
    hhp_lock_reset(&init_lock);
    hhp_trace_reset();
}

/* ---- process start and exit ---- */

static void stats_print(void)
{
    hh_stats s;
    unsigned used;
    size_t large_count, large_bytes, large_cached;
    hhp_arenas_stats(&s, &used);
    hhp_large_stats(&large_count, &large_bytes, &large_cached);
    hhp_line l = {.len = 0};
    hhp_line_str(&l, "holeheap: stats: arenas ");
    hhp_line_dec(&l, used);
    hhp_line_str(&l, ", region ");
    hhp_line_dec(&l, s.region_bytes);
    hhp_line_str(&l, ", used ");
    hhp_line_dec(&l, s.used_bytes);
    hhp_line_str(&l, ", free ");
    hhp_line_dec(&l, s.free_bytes);
    hhp_line_str(&l, ", peak used ");
    hhp_line_dec(&l, s.peak_used_bytes);
    hhp_line_str(&l, ", blocks ");
    hhp_line_dec(&l, s.blocks);
    hhp_line_str(&l, ", holes ");
    hhp_line_dec(&l, s.holes);
    hhp_line_str(&l, ", largest hole ");
    hhp_line_dec(&l, s.largest_hole);
    hhp_line_str(&l, ", large mappings ");
    hhp_line_dec(&l, large_count);
    hhp_line_str(&l, " (");
    hhp_line_dec(&l, large_bytes);
    hhp_line_str(&l, " bytes), large cached ");
    hhp_line_dec(&l, large_cached);
    hhp_line_emit(&l);
}

__attribute__((constructor)) static void port_start(void)
{
    hhp_init();
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    hhp_tcache_setup();
}

__attribute__((destructor)) static void port_stop(void)
{
    if (hhp_cfg.stats)
        stats_print();
    hhp_trace_flush();
}
