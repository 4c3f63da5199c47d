/*
 * The kernel heap, and the worked example of docs/kernel.md: holeheap asks for
 * memory at its end through grow, gives the tail back through shrink, and
 * reports misuse through on_error. Everything else is holeheap's.
 */
#include "kheap.h"
#include "console.h"
#include "entropy.h"
#include "lib.h"
#include "paging.h"
#include "placement.h"
#include "pmm.h"
#include "smp.h"

/* Writable, supervisor only: the tutorial's heap pages were user-accessible. */
#define KHEAP_PAGE_FLAGS PAGE_WRITABLE

static kheap_state state = {.spin = SPIN_LOCK_INIT, .smp = IRQSPIN_LOCK_INIT};
static hh_heap *heap;
static kheap_lock lock_kind;

/* grow: make [end, end+n) usable, n >= min_bytes, by mapping fresh frames a
 * page at a time; return n (page-rounded) or 0. holeheap passes the end it
 * has, which is always where our mapping stops. */
static size_t kheap_grow(void *ctx, void *end, size_t min_bytes)
{
    kheap_state *pg = ctx;
    uint32_t at = (uint32_t)(uintptr_t)end;
    pg->grow_calls++;
    if (at != pg->mapped_end) {
        kprintf("kheap: grow asked at %p but the mapping ends at 0x%08x\n", end, pg->mapped_end);
        pg->callback_errors++;
        return 0;
    }
    if (min_bytes == 0 || min_bytes > pg->limit - at)
        return 0;
    uint32_t bytes = align_up((uint32_t)min_bytes, PAGE_SIZE);
    if (!paging_map_fresh(at, bytes, KHEAP_PAGE_FLAGS))
        return 0; /* out of frames: holeheap's alloc returns NULL */
    pg->mapped_end = at + bytes;
    pg->frames_mapped += bytes / PAGE_SIZE;
    return bytes;
}

/* shrink: [new_end, new_end+bytes) may go. Only whole pages can be unmapped,
 * so release from the first page boundary at or above new_end to the top and
 * return how much that is (a multiple of 4096, so of 16 too). */
static size_t kheap_shrink(void *ctx, void *new_end, size_t bytes)
{
    kheap_state *pg = ctx;
    uint32_t from = (uint32_t)(uintptr_t)new_end, top = from + (uint32_t)bytes;
    pg->shrink_calls++;
    if (top != pg->mapped_end || from < pg->start) {
        kprintf("kheap: shrink of [%p, +%zu) does not end at the mapping's end 0x%08x\n", new_end, bytes,
                pg->mapped_end);
        pg->callback_errors++;
        return 0;
    }
    uint32_t first_page = align_up(from, PAGE_SIZE);
    if (first_page >= top)
        return 0;
    paging_release(first_page, top - first_page); /* invlpg on this CPU only */
    pg->tlb_generation++;                         /* the other CPU flushes at its next lock */
    pg->mapped_end = first_page;
    pg->frames_returned += (top - first_page) / PAGE_SIZE;
    return top - first_page;
}

static void kheap_report_problem(void *ctx, const hh_problem *problem)
{
    kheap_state *st = ctx;
    if (problem->code > HH_OK && problem->code < HH_E_COUNT)
        st->problems[problem->code]++;
    st->problem_total++;
    st->last_problem = *problem;
    kprintf("holeheap: %s at %p: %s\n", hh_code_name(problem->code), problem->where,
            problem->what != NULL ? problem->what : "");
}

/* The lock hooks. holeheap calls lock once on entry to every public call and
 * unlock on every way out; on_error, grow and shrink run between the two. */
static void kheap_lock_irq(void *ctx) { irq_lock_acquire(&((kheap_state *)ctx)->irq); }
static void kheap_unlock_irq(void *ctx) { irq_lock_release(&((kheap_state *)ctx)->irq); }
static void kheap_lock_spin(void *ctx) { spin_lock_acquire(&((kheap_state *)ctx)->spin); }
static void kheap_unlock_spin(void *ctx) { spin_lock_release(&((kheap_state *)ctx)->spin); }

/* Two CPUs: shrink unmaps pages on the CPU that runs it; the other one may
 * still hold their old translations in its TLB, and grow may map the same
 * addresses to other frames. Every heap address a CPU touches came from a heap
 * call, so a CPU that flushes its TLB when it takes the lock after a shrink
 * (a lazy shootdown) never uses a stale translation. */
static void kheap_lock_smp(void *ctx)
{
    kheap_state *st = ctx;
    uint32_t cpu = cpu_id();
    irqspin_lock_acquire(&st->smp, cpu);
    if (cpu < SMP_MAX_CPUS && st->tlb_seen[cpu] != st->tlb_generation) {
        paging_flush_tlb();
        st->tlb_seen[cpu] = st->tlb_generation;
        st->tlb_catchups[cpu]++; /* the self-test compares it with paging's count of flushes */
    }
}
static void kheap_unlock_smp(void *ctx) { irqspin_lock_release(&((kheap_state *)ctx)->smp); }

static void set_lock_hooks(hh_options *opt, kheap_lock lock)
{
    switch (lock) {
    case KHEAP_LOCK_IRQ:
        opt->lock = kheap_lock_irq;
        opt->unlock = kheap_unlock_irq;
        break;
    case KHEAP_LOCK_SMP:
        opt->lock = kheap_lock_smp;
        opt->unlock = kheap_unlock_smp;
        break;
    case KHEAP_LOCK_SPIN:
    default:
        opt->lock = kheap_lock_spin;
        opt->unlock = kheap_unlock_spin;
        break;
    }
}

void kheap_init(uint32_t flags, kheap_lock lock)
{
    pmm_reserve(0, placement_seal()); /* kernel image and placement memory */
    state.start = KHEAP_START;
    state.limit = KHEAP_START + KHEAP_MAX_SIZE;
    if (!paging_map_fresh(KHEAP_START, KHEAP_INITIAL_SIZE, KHEAP_PAGE_FLAGS))
        panic("no frames for the initial kernel heap");
    state.mapped_end = KHEAP_START + KHEAP_INITIAL_SIZE;

    hh_options opt = {0};
    opt.grow = kheap_grow;
    opt.shrink = kheap_shrink;
    opt.on_error = kheap_report_problem;
    set_lock_hooks(&opt, lock);
    opt.ctx = &state;
    opt.max_size = KHEAP_MAX_SIZE;
    opt.flags = flags;
    /* A random key makes the tags' check values unguessable, so a stray
     * write cannot forge a tag by accident (0 would be the public default). */
    entropy_source source;
    opt.key = entropy_key(&source);
    kprintf("[heap] key from %s\n", entropy_source_name(source));
    lock_kind = lock;
    heap = hh_init((void *)(uintptr_t)KHEAP_START, KHEAP_INITIAL_SIZE, &opt);
    if (heap == NULL)
        panic("hh_init refused the kernel heap");
}

hh_heap *kheap(void) { return heap; }
kheap_lock kheap_lock_kind(void) { return lock_kind; }
const kheap_state *kheap_counts(void) { return &state; }
