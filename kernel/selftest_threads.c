/*
 * The concurrent self-test. Worker threads, switched by the timer at random
 * moments (the PIT's period is drawn between 5 and 15 ms each tick), run
 * random kmalloc / kmalloc_a / kfree on the one kernel heap until told to stop:
 * every block is filled with a pattern of its own and verified before it is
 * freed, some blocks are handed to the next worker to be verified and freed
 * there, and large blocks make the heap grow meanwhile. The boot thread
 * watches: every report period (half a second; a quarter of phases under 2 s)
 * it makes the heap shrink, runs hh_trim and hh_check (which take the heap's
 * lock like any call) and prints the progress. Afterwards: the heap is
 * checked, the frames the heap mapped and unmapped are compared with what the
 * frame allocator gave and got back, and every count must show real
 * concurrency: threads preempted, calls interrupted mid-way, and (with the
 * spinlock) the lock found taken. Checks that need a long enough phase or more
 * than one worker say so and are skipped when the configuration cannot meet
 * them.
 */
#include "selftest_threads.h"
#include "console.h"
#include "kheap.h"
#include "kmalloc.h"
#include "paging.h"
#include "pmm.h"
#include "ports.h"
#include "sched.h"
#include "smp.h"
#include "timer.h"

#define WORKER_SLOTS 64u
#define MAILBOX_SIZE 16u
#define HAND_OVER_ONE_IN 16u /* of the frees: give the block to the next worker instead */
#define REPORT_EVERY_MS 500u /* at most; a quarter of shorter phases */
#define REPORT_MIN_MS 25u
#define EVIDENCE_MS 1000u          /* shorter phases see too few preemptions to expect */
                                   /* a preempted hold, a wait for the lock, every thread preempted */
#define PROBE_EXTRA (256u * 1024u) /* the shrink probe: the largest hole plus this */
#define MAX_WORKER_FAILURES 10u

typedef struct block {
    uint8_t *p;
    uint32_t size, seed;
} block;

/* Blocks handed over by the previous worker; guarded by irq_save. */
typedef struct mailbox {
    block items[MAILBOX_SIZE];
    uint32_t head, count;
} mailbox;

typedef struct worker {
    int thread;
    uint32_t index, rng;
    block slots[WORKER_SLOTS];
    mailbox inbox;
    uint32_t allocs, aligned, frees, handed, received;
    uint32_t calls, calls_preempted; /* heap calls; those during which the thread was switched out */
    uint32_t preemptions;            /* read from the scheduler before the join */
    uint32_t failures;
    bool on_cpu1; /* the second CPU's worker: no scheduler, no mailbox */
} worker;

static worker workers[THREADS_TEST_MAX_WORKERS + 1u];
static uint32_t worker_count; /* the boot CPU's; the ring of mailboxes */
static worker *cpu1_worker;   /* workers[worker_count] when a second CPU runs one */
static uint8_t *cpu1_stack;
static volatile bool stop;
static uint32_t failures;
static volatile uint32_t irq_allocs, irq_failures; /* by the timer interrupt */
static uint32_t report_ms;                         /* the boot thread's period */
static uint32_t probes, probes_returned;           /* shrink probes; those that gave frames back */

static const char *const worker_names[THREADS_TEST_MAX_WORKERS] = {"worker 1", "worker 2", "worker 3",
                                                                   "worker 4", "worker 5", "worker 6"};

/* ---- small tools ---- */

static bool expect(bool ok, const char *what)
{
    if (!ok) {
        failures++;
        kprintf("FAIL: %s\n", what);
    }
    return ok;
}

static uint32_t rnd(uint32_t *state) /* xorshift32 */
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

static uint32_t pattern_word(uint32_t seed, uint32_t i) { return seed ^ (i * 0x9E3779B1u); }

/* Whole words, then the tail bytes; kmalloc's blocks are 16-aligned. */
static void fill(uint8_t *p, uint32_t size, uint32_t seed)
{
    uint32_t *w = (uint32_t *)(void *)p, words = size / 4u;
    for (uint32_t i = 0; i < words; i++)
        w[i] = pattern_word(seed, i);
    for (uint32_t i = words * 4u; i < size; i++)
        p[i] = (uint8_t)pattern_word(seed, i);
}

static bool intact(const uint8_t *p, uint32_t size, uint32_t seed)
{
    const uint32_t *w = (const uint32_t *)(const void *)p;
    uint32_t words = size / 4u;
    for (uint32_t i = 0; i < words; i++)
        if (w[i] != pattern_word(seed, i))
            return false;
    for (uint32_t i = words * 4u; i < size; i++)
        if (p[i] != (uint8_t)pattern_word(seed, i))
            return false;
    return true;
}

static bool in_heap(const void *p, uint32_t size)
{
    const kheap_state *k = kheap_counts();
    uint32_t a = (uint32_t)(uintptr_t)p;
    return a >= k->start && a + size <= k->mapped_end;
}

/* ---- the workers ---- */

static void worker_fail(worker *w, const char *what, const block *b)
{
    w->failures++;
    kprintf("FAIL: thread %d: %s (block %p, %u bytes)\n", w->thread, what, (void *)b->p, b->size);
}

/* One heap call's bookkeeping: was the thread switched out during it? */
static void count_call(worker *w, uint32_t switches_before)
{
    w->calls++;
    if (!w->on_cpu1 && sched_switches() != switches_before)
        w->calls_preempted++;
}

/* Mostly small, some pages, a few of 64-256 KiB so that the heap grows. */
static uint32_t worker_size(worker *w)
{
    uint32_t kind = rnd(&w->rng) % 64u;
    if (kind < 40u)
        return 1u + rnd(&w->rng) % 256u;
    if (kind < 54u)
        return 1u + rnd(&w->rng) % 4096u;
    if (kind < 60u)
        return 1u + rnd(&w->rng) % 32768u;
    return 65536u + rnd(&w->rng) % 196608u;
}

static void worker_alloc(worker *w, block *b)
{
    bool page_aligned = rnd(&w->rng) % 8u == 0;
    uint32_t size = page_aligned ? 1u + rnd(&w->rng) % (3u * PAGE_SIZE) : worker_size(w);
    uint32_t switches = sched_switches();
    uint8_t *p = page_aligned ? kmalloc_a(size) : kmalloc(size);
    count_call(w, switches);
    block made = {p, size, rnd(&w->rng)};
    if (p == NULL) {
        worker_fail(w, "kmalloc returned NULL", &made);
        return;
    }
    if ((uint32_t)(uintptr_t)p % (page_aligned ? PAGE_SIZE : 16u) != 0)
        worker_fail(w, "block misaligned", &made);
    if (!in_heap(p, size))
        worker_fail(w, "block outside the mapped heap", &made);
    fill(p, size, made.seed);
    *b = made;
    w->allocs++;
    w->aligned += page_aligned ? 1u : 0u;
}

/* Verify, then kfree: a block another thread's block overlapped, or that the
 * heap handed out twice, would have lost its pattern. */
static void release(worker *w, block *b)
{
    if (!intact(b->p, b->size, b->seed))
        worker_fail(w, "block contents changed before kfree", b);
    uint32_t switches = sched_switches();
    kfree(b->p);
    count_call(w, switches);
    w->frees++;
    b->p = NULL;
}

static bool post(mailbox *m, const block *b)
{
    uint32_t flags = irq_save();
    bool room = m->count < MAILBOX_SIZE;
    if (room) {
        m->items[(m->head + m->count) % MAILBOX_SIZE] = *b;
        m->count++;
    }
    irq_restore(flags);
    return room;
}

static bool take(mailbox *m, block *out)
{
    uint32_t flags = irq_save();
    bool any = m->count > 0;
    if (any) {
        *out = m->items[m->head];
        m->head = (m->head + 1u) % MAILBOX_SIZE;
        m->count--;
    }
    irq_restore(flags);
    return any;
}

static void free_received(worker *w)
{
    block b;
    while (take(&w->inbox, &b)) {
        w->received++;
        release(w, &b);
    }
}

static void worker_step(worker *w)
{
    block *b = &w->slots[rnd(&w->rng) % WORKER_SLOTS];
    if (b->p == NULL) {
        worker_alloc(w, b);
        return;
    }
    worker *next = &workers[(w->index + 1u) % worker_count];
    if (!w->on_cpu1 && next != w && rnd(&w->rng) % HAND_OVER_ONE_IN == 0 && post(&next->inbox, b)) {
        b->p = NULL; /* next verifies and frees it */
        w->handed++;
        return;
    }
    release(w, b);
}

static void worker_main(void *arg)
{
    worker *w = arg;
    while (!stop && w->failures < MAX_WORKER_FAILURES) {
        free_received(w);
        worker_step(w);
    }
    for (uint32_t i = 0; i < WORKER_SLOTS; i++)
        if (w->slots[i].p != NULL)
            release(w, &w->slots[i]);
    free_received(w);
}

/* ---- the timer interrupt allocates too (with the interrupt-disabling lock) ---- */

static void irq_alloc_hook(void)
{
    uint32_t size = 16u + timer_ticks() % 500u, seed = timer_ticks() * 0x01000193u;
    uint8_t *p = kmalloc(size);
    if (p == NULL) {
        irq_failures++;
        return;
    }
    fill(p, size, seed);
    if (!intact(p, size, seed))
        irq_failures++;
    kfree(p);
    irq_allocs++;
}

/* ---- the boot thread: start, watch, join, judge ---- */

typedef struct snapshot {
    kheap_state heap;
    uint32_t free_frames, switches, preemptions, ms, cpu1_tlb_flushes;
} snapshot;

static snapshot take_snapshot(void)
{
    snapshot s;
    s.heap = *kheap_counts();
    s.free_frames = pmm_free_frames();
    s.switches = sched_switches();
    s.preemptions = sched_preemptions();
    s.ms = timer_ms();
    s.cpu1_tlb_flushes = paging_tlb_flushes(1u);
    return s;
}

static uint32_t all_workers(void) { return worker_count + (cpu1_worker != NULL ? 1u : 0u); }

static uint32_t total_calls(void)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < all_workers(); i++)
        n += workers[i].calls;
    return n;
}

static bool any_worker_failed(void)
{
    for (uint32_t i = 0; i < all_workers(); i++)
        if (workers[i].failures != 0)
            return true;
    return false;
}

/* A block larger than any hole can only come from grow, at the heap's end;
 * freed at once, the heap's free tail is at least that big and kfree or
 * hh_trim gives it back, unless another thread or CPU allocated past it in
 * between. So the heap shrinks while the others run even when a long-lived
 * block pins the end for the whole phase (seen: 1 smp boot in 17 without it),
 * and on two CPUs every report makes a TLB generation for CPU 1 to catch up. */
static void shrink_probe(void)
{
    hh_stats st;
    hh_stats_get(kheap(), &st);
    uint32_t returned = kheap_counts()->frames_returned;
    void *p = kmalloc(st.largest_hole + PROBE_EXTRA);
    if (p == NULL)
        return; /* near the heap's maximum: no probe this time */
    kfree(p);
    hh_trim(kheap());
    probes++;
    probes_returned += kheap_counts()->frames_returned != returned ? 1u : 0u;
}

static void print_lock_progress(const snapshot *start)
{
    const kheap_state *k = kheap_counts();
    if (kheap_lock_kind() == KHEAP_LOCK_SPIN)
        kprintf("%u contentions, %u waits, ", k->spin.contentions - start->heap.spin.contentions,
                k->spin.wait_yields - start->heap.spin.wait_yields);
    else if (kheap_lock_kind() == KHEAP_LOCK_SMP)
        kprintf("%u contentions, CPU 1 %u calls, ", k->smp.contentions - start->heap.smp.contentions,
                cpu1_worker != NULL ? cpu1_worker->calls : 0u);
    else
        kprintf("%u allocations in the timer interrupt, ", irq_allocs);
}

/* Every report period the boot thread makes the heap shrink (shrink_probe)
 * and gives the heap's free tail back, as a kernel's reclaimer would (kfree
 * shrinks only once the last hole reaches 256 KiB), then checks the heap and
 * prints the progress. */
static void report_progress(const snapshot *start, uint32_t *checks)
{
    shrink_probe();
    hh_trim(kheap());
    hh_problem problem;
    int code = hh_check(kheap(), &problem); /* takes the lock: a consistent moment */
    hh_stats st;
    hh_stats_get(kheap(), &st);
    kprintf("  %4u ms: %u heap calls, %u switches (%u by the timer), ", timer_ms() - start->ms, total_calls(),
            sched_switches() - start->switches, sched_preemptions() - start->preemptions);
    print_lock_progress(start);
    kprintf("heap %zu KiB, %zu blocks live, hh_check %s\n", st.region_bytes / 1024u, st.blocks,
            code == HH_OK ? "consistent" : hh_code_name(code));
    expect(code == HH_OK, "hh_check while the threads run");
    (*checks)++;
}

/* The second CPU's whole life: one worker, then it halts (smp.c). */
static void cpu1_main(void) { worker_main(cpu1_worker); }

static void start_cpu1(void)
{
    cpu1_worker = &workers[worker_count];
    cpu1_worker->on_cpu1 = true;
    uint8_t *stack = cpu1_stack = kmalloc_a(THREAD_STACK_SIZE);
    bool started = expect(stack != NULL && smp_init(), "a stack and the local APIC for CPU 1") &&
                   expect(smp_start_cpu(1u, cpu1_main, (uint32_t)(uintptr_t)(stack + THREAD_STACK_SIZE)),
                          "CPU 1 started (INIT, STARTUP)");
    if (started) {
        cpu1_worker->thread = -1;
        kprintf("  CPU 1 is up: local APIC id %u, stack %p from the heap\n", 1u, (void *)stack);
        return;
    }
    cpu1_worker = NULL;
    kfree(stack);
    cpu1_stack = NULL;
}

static void start_workers(const threads_test_config *cfg)
{
    stop = false;
    worker_count = cfg->workers;
    cpu1_worker = NULL;
    for (uint32_t i = 0; i <= worker_count; i++) {
        worker *w = &workers[i];
        *w = (worker){0};
        w->index = i;
        w->rng = (cfg->seed ^ (0x9E3779B9u * (i + 1u))) | 1u;
    }
    for (uint32_t i = 0; i < worker_count; i++) {
        workers[i].thread = thread_spawn(worker_main, &workers[i], worker_names[i]);
        expect(workers[i].thread > 0, "thread_spawn: a stack from the heap");
    }
    if (cfg->second_cpu)
        start_cpu1();
}

static void stop_and_join(void)
{
    stop = true;
    for (uint32_t i = 0; i < worker_count; i++) {
        if (workers[i].thread <= 0)
            continue;
        workers[i].preemptions = thread_preemptions(workers[i].thread);
        thread_join(workers[i].thread);
    }
    if (cpu1_worker != NULL) {
        while (smp_cpu_running())
            thread_yield();
        kfree(cpu1_stack); /* CPU 1 has halted: its stack goes back to the heap */
        cpu1_stack = NULL;
    }
    for (uint32_t i = 0; i < worker_count; i++) /* handed over after their receiver ended */
        free_received(&workers[i]);
}

static void skipped(const char *check, const char *why) { kprintf("  skipped: %s (%s)\n", check, why); }

static void report_workers(bool long_enough)
{
    uint32_t preempted_calls = 0;
    for (uint32_t i = 0; i < worker_count; i++) {
        const worker *w = &workers[i];
        kprintf("  thread %d (%s): %u calls (%u kmalloc, %u kmalloc_a, %u kfree; %u blocks handed "
                "on, %u received), preempted %u times, %u times inside a heap call\n",
                w->thread, worker_names[i], w->calls, w->allocs - w->aligned, w->aligned, w->frees, w->handed,
                w->received, w->preemptions, w->calls_preempted);
        expect(w->failures == 0, "every block intact, aligned and inside the heap");
        expect(w->calls > 0, "every thread allocated");
        if (long_enough)
            expect(w->preemptions > 0, "every thread was preempted");
        preempted_calls += w->calls_preempted;
    }
    if (cpu1_worker != NULL) {
        const worker *w = cpu1_worker;
        kprintf("  CPU 1's worker: %u calls (%u kmalloc, %u kmalloc_a, %u kfree), interrupts off, "
                "no scheduler\n",
                w->calls, w->allocs - w->aligned, w->aligned, w->frees);
        expect(w->failures == 0, "CPU 1's blocks intact, aligned and inside the heap");
        expect(w->calls > 0, "CPU 1 allocated");
    }
    if (long_enough) {
        expect(preempted_calls > 0, "threads were switched out in the middle of heap calls");
        return;
    }
    skipped("every thread preempted, threads switched out inside heap calls",
            "a phase under 1000 ms has too few timer preemptions to expect them");
}

static void report_spin_lock(const snapshot *start, const threads_test_config *cfg)
{
    const spin_lock *l = &kheap_counts()->spin, *l0 = &start->heap.spin;
    uint32_t contentions = l->contentions - l0->contentions;
    uint32_t held = l->preempted_holding - l0->preempted_holding;
    kprintf("  lock (test-and-set spinlock): %u acquisitions, %u contentions, %u waits (yields while "
            "waiting), %u releases yielded to a waiter, %u holds preempted; ",
            l->acquisitions - l0->acquisitions, contentions, l->wait_yields - l0->wait_yields,
            l->release_yields - l0->release_yields, held);
    if (l->longest_wait_thread < 0)
        kprintf("no wait outlasted a timer tick\n");
    else
        kprintf("longest wait %u ms (thread %d)\n", l->longest_wait_ms, l->longest_wait_thread);
    expect(l->longest_wait_ms <= cfg->run_ms / 2u, "no heap call waited for the lock half the phase");
    if (cfg->run_ms < EVIDENCE_MS) {
        skipped("a holder preempted, the lock found taken",
                "a phase under 1000 ms has too few timer preemptions to expect them");
        return;
    }
    expect(held > 0, "the timer preempted a thread holding the heap's lock");
    if (cfg->workers >= 2u)
        expect(contentions > 0, "threads found the heap's lock taken (contention counted)");
    else
        skipped("the lock found taken", "one worker: only the boot thread's few calls could contend");
}

/* CPU 1 must reload CR3 each time it finds the TLB generation moved, before
 * its heap call: paging counts the reloads each CPU really made. */
static void report_tlb(const snapshot *start)
{
    const kheap_state *k = kheap_counts();
    uint32_t generations = k->tlb_generation - start->heap.tlb_generation;
    uint32_t caught_up = k->tlb_catchups[1] - start->heap.tlb_catchups[1];
    uint32_t reloads = paging_tlb_flushes(1u) - start->cpu1_tlb_flushes;
    kprintf("  TLB: %u generations (shrink calls that unmapped), CPU 1 caught up %u times and "
            "reloaded CR3 %u times\n",
            generations, caught_up, reloads);
    expect(caught_up >= 2u, "CPU 1 met at least two TLB generations");
    expect(reloads == caught_up, "CPU 1 flushed its TLB for every generation it met, before its heap call");
}

static void report_irq_allocs(const threads_test_config *cfg)
{
    if (!cfg->irq_allocs)
        return;
    kprintf("  the timer interrupt allocated and freed %u blocks, %u failed\n", irq_allocs, irq_failures);
    expect(irq_allocs > 0, "the timer interrupt allocated under the lock");
    expect(irq_failures == 0, "the interrupt handler's blocks were intact");
}

static void report_lock(const snapshot *start, const threads_test_config *cfg)
{
    const kheap_state *k = kheap_counts();
    if (kheap_lock_kind() == KHEAP_LOCK_SPIN) {
        report_spin_lock(start, cfg);
    } else if (kheap_lock_kind() == KHEAP_LOCK_SMP) {
        const irqspin_lock *l = &k->smp;
        uint32_t contentions = l->contentions - start->heap.smp.contentions;
        kprintf("  lock (interrupts off + test-and-set, 2 CPUs): %u acquisitions, %u contentions\n",
                l->acquisitions - start->heap.smp.acquisitions, contentions);
        if (cpu1_worker != NULL)
            report_tlb(start);
        if (cfg->run_ms >= EVIDENCE_MS)
            expect(contentions > 0, "the two CPUs found the heap's lock taken (contention counted)");
        else
            skipped("the lock found taken", "a phase under 1000 ms may see no contention");
        report_irq_allocs(cfg);
    } else {
        kprintf("  lock (interrupts off): %u acquisitions, never found taken\n",
                k->irq.acquisitions - start->heap.irq.acquisitions);
        report_irq_allocs(cfg);
    }
}

/* Grew and shrank while they ran; then, with everything freed and trimmed,
 * the frames the heap's callbacks counted match the frame allocator's. */
static void report_frames(const snapshot *start, const snapshot *at_stop)
{
    hh_trim(kheap());
    snapshot end = take_snapshot();
    const kheap_state *k = &end.heap;
    uint32_t grown = at_stop->heap.frames_mapped - start->heap.frames_mapped;
    uint32_t shrunk = at_stop->heap.frames_returned - start->heap.frames_returned;
    uint32_t mapped = k->frames_mapped - start->heap.frames_mapped;
    uint32_t returned = k->frames_returned - start->heap.frames_returned;
    int32_t net_taken = (int32_t)(start->free_frames - end.free_frames);
    kprintf("  while they ran: grow mapped %u frames in %u calls, shrink returned %u in %u calls "
            "(%u of %u shrink probes gave frames back)\n",
            grown, at_stop->heap.grow_calls - start->heap.grow_calls, shrunk,
            at_stop->heap.shrink_calls - start->heap.shrink_calls, probes_returned, probes);
    expect(grown > 0, "the heap grew while the threads ran");
    expect(shrunk > 0, "the heap shrank while the threads ran");
    hh_stats st;
    hh_stats_get(kheap(), &st);
    kprintf("  all freed, hh_trim: %u frames mapped and %u returned in all, the frame allocator "
            "lost %d net; heap %zu KiB, %zu blocks, %zu holes\n",
            mapped, returned, net_taken, st.region_bytes / 1024u, st.blocks, st.holes);
    expect(net_taken == (int32_t)(mapped - returned), "frames counted both ways agree");
    expect(st.region_bytes == k->mapped_end - k->start, "the heap spans exactly its mapped pages");
    expect(st.blocks == 0 && st.holes == 1, "every block freed, one hole left");
    expect(k->problem_total == start->heap.problem_total && k->callback_errors == 0,
           "no problem reported, grow and shrink always asked at the heap's end");
}

static const char *irq_alloc_behaviour(void)
{
    return kheap_lock_kind() == KHEAP_LOCK_SPIN
               ? "; the timer interrupt calls kmalloc too: the spinlock hook must refuse it (PANIC)"
               : "; the timer interrupt allocates too, allowed: the lock turns interrupts off";
}

static uint32_t report_period(uint32_t run_ms)
{
    uint32_t period = run_ms / 4u;
    return period > REPORT_EVERY_MS ? REPORT_EVERY_MS : period < REPORT_MIN_MS ? REPORT_MIN_MS : period;
}

static uint32_t max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* The boot thread's part while they run: a report every period, until the
 * phase's time is up by the timer (or a worker failed). Returns the longest
 * time between two hh_checks (the start and the stop count as ends). */
static uint32_t watch(const snapshot *start, const threads_test_config *cfg, uint32_t *checks)
{
    uint32_t last = start->ms, longest = 0, next_report = start->ms + report_ms;
    while (timer_ms() - start->ms < cfg->run_ms && !any_worker_failed()) {
        if ((int32_t)(timer_ms() - next_report) >= 0) {
            report_progress(start, checks);
            longest = max_u32(longest, timer_ms() - last);
            last = timer_ms();
            next_report = last + report_ms;
        }
        thread_yield();
    }
    return max_u32(longest, timer_ms() - last);
}

uint32_t selftest_threads(const threads_test_config *cfg)
{
    failures = 0;
    irq_allocs = irq_failures = 0;
    probes = probes_returned = 0;
    report_ms = report_period(cfg->run_ms);
    kprintf("[threads] %u threads for %u ms: random kmalloc/kmalloc_a/kfree, contents checked; "
            "lock: %s; timer period random, 5-15 ms; hh_check every %u ms%s\n",
            cfg->workers, cfg->run_ms,
            kheap_lock_kind() == KHEAP_LOCK_SPIN  ? "test-and-set spinlock"
            : kheap_lock_kind() == KHEAP_LOCK_SMP ? "interrupts off + test-and-set, and CPU 1"
                                                  : "interrupts off",
            report_ms, cfg->irq_allocs ? irq_alloc_behaviour() : "");
    snapshot start = take_snapshot();
    timer_set_jitter(cfg->seed | 1u);
    if (cfg->irq_allocs)
        timer_set_hook(irq_alloc_hook);
    start_workers(cfg);
    uint32_t checks = 0, longest_gap = watch(&start, cfg, &checks);
    snapshot at_stop = take_snapshot();
    stop_and_join();
    timer_set_hook(NULL);
    timer_set_jitter(0);
    uint32_t ms = at_stop.ms - start.ms;
    kprintf("  %u ms: %u heap calls by %u threads%s, %u context switches (%u by the timer), "
            "hh_check consistent %u times meanwhile, at most %u ms apart\n",
            ms, total_calls(), worker_count, cpu1_worker != NULL ? " and CPU 1" : "", at_stop.switches - start.switches,
            at_stop.preemptions - start.preemptions, checks, longest_gap);
    expect(at_stop.switches - start.switches > 0, "the scheduler switched threads");
    expect(any_worker_failed() || ms <= cfg->run_ms + report_ms, "the phase ended on time (within one report period)");
    expect(longest_gap <= 2u * report_ms, "hh_check ran every report period (at most twice it apart)");
    report_workers(cfg->run_ms >= EVIDENCE_MS);
    report_lock(&start, cfg);
    report_frames(&start, &at_stop);
    hh_problem problem;
    int code = hh_check(kheap(), &problem);
    if (expect(code == HH_OK, "hh_check after the threads"))
        kprintf("  hh_check after the threads: consistent\n");
    else
        kprintf("  hh_check: %s at %p: %s\n", hh_code_name(code), problem.where, problem.what);
    return failures;
}
