/*
 * kheap.c: the classic kernel tutorial's kernel heap, on holeheap.
 *
 *   start                start+0x1000          core             end_address   max_address
 *   | heap_t | (unused) | page tables of the    | holeheap: blocks | grows by  |
 *   |        |          | window, if missing    | and holes        | frames -> |
 *
 * Growth maps fresh frames supervisor-only and writable, taking them from the
 * tutorial's frame bitset itself; shrinking unmaps pages and clears their own
 * bits. Neither calls alloc_frame or free_frame (see kheap.h).
 */
#include "kheap.h"

#include "holeheap.h"
#include "monitor.h"
#include "paging.h"

extern u32int end; /* the kernel's end, from the link script */
u32int placement_address = (u32int)&end;
heap_t *kheap = 0;

extern page_directory_t *kernel_directory;
extern u32int *frames; /* paging.c: one bit per frame, set when used */
extern u32int nframes;

#define KH_PAGE 0x1000u
#define KH_TABLE_SPAN 0x400000u /* bytes one page table maps */
#define KH_HEAP_T_ROOM 64u      /* heap_t's room when no page table is needed */
#define KH_NO_FRAME 0xFFFFFFFFu
#define KH_TAG_BYTES (HH_OVERHEAD / 2) /* a header; the footer is its copy */

static u32int page_up(u32int x) { return (x + KH_PAGE - 1u) & ~(KH_PAGE - 1u); }

/* ---- printing, through the tutorial's monitor ---- */

static void say(const char *text) { monitor_write((char *)text); }

static void say_hex(const char *before, u32int value, const char *after)
{
    say(before);
    monitor_write_hex(value);
    say(after);
}

static void say_dec(const char *before, u32int value, const char *after)
{
    say(before);
    monitor_write_dec(value);
    say(after);
}

static void require(int ok, const char *why)
{
    if (!ok)
        panic(why, __FILE__, __LINE__);
}

/* ---- frames: the tutorial's bitset, read and written here ---- */

static void frame_set(u32int frame, int used)
{
    u32int bit = 1u << (frame % 32u);
    if (used)
        frames[frame / 32u] |= bit;
    else
        frames[frame / 32u] &= ~bit;
}

/* The lowest free frame, marked used; never frame 0 (the tutorial's free_frame
 * frees it by mistake while it stays identity-mapped, and page->frame == 0
 * means "no frame" there). KH_NO_FRAME when none is left. */
static u32int frame_take(void)
{
    for (u32int word = 0; word * 32u < nframes; word++) {
        if (frames[word] == 0xFFFFFFFFu)
            continue;
        for (u32int f = word * 32u; f < word * 32u + 32u && f < nframes; f++) {
            if (f != 0 && !(frames[f / 32u] & (1u << (f % 32u)))) {
                frame_set(f, 1);
                return f;
            }
        }
    }
    return KH_NO_FRAME;
}

/* ---- pages ---- */

static void flush_page(u32int virt) { __asm__ __volatile__("invlpg (%0)" : : "r"(virt) : "memory"); }

static page_t *heap_page(u32int virt) { return get_page(virt, 0, kernel_directory); }

/* Map a fresh frame at virt, supervisor-only and writable; 0 when there is no
 * page table (create_heap made them all: a bug) or no frame left. */
static int map_page(u32int virt)
{
    page_t *page = heap_page(virt);
    u32int frame = page ? frame_take() : KH_NO_FRAME;
    if (frame == KH_NO_FRAME) {
        say_hex(page ? "kheap: no free frame left to map " : "kheap: no page table for ", virt, "\n");
        return 0;
    }
    page->frame = frame & 0xFFFFFu;
    page->rw = 1;
    page->user = 0;
    page->present = 1;
    flush_page(virt);
    return 1;
}

/* Unmap virt and clear its own frame's bit. */
static void unmap_page(u32int virt)
{
    page_t *page = heap_page(virt);
    frame_set(page->frame, 0);
    page->present = 0;
    page->frame = 0;
    flush_page(virt);
}

static void unmap_range(u32int from, u32int to)
{
    for (u32int v = from; v < to; v += KH_PAGE)
        unmap_page(v);
}

/* ---- holeheap's callbacks ---- */

/* grow: map [end, end + n), n >= min_bytes page-rounded, all or nothing. */
static size_t heap_grow(void *ctx, void *end_ptr, size_t min_bytes)
{
    heap_t *heap = ctx;
    u32int from = (u32int)end_ptr;
    if (from != heap->end_address || min_bytes == 0 || min_bytes > heap->max_address - from)
        return 0;
    u32int to = from + page_up(min_bytes);
    for (u32int v = from; v < to; v += KH_PAGE) {
        if (!map_page(v)) {
            unmap_range(from, v);
            heap->grow_refusals++;
            say_dec("kheap: growth by ", to - from, " bytes refused, the heap stays as it was\n");
            return 0;
        }
    }
    heap->end_address = to;
    heap->frames_mapped += (to - from) / KH_PAGE;
    return to - from;
}

/* shrink: unmap the whole pages at the top of [new_end, end). */
static size_t heap_shrink(void *ctx, void *new_end, size_t bytes)
{
    heap_t *heap = ctx;
    u32int from = page_up((u32int)new_end);
    u32int top = (u32int)new_end + bytes;
    if (top != heap->end_address || from >= top)
        return 0;
    unmap_range(from, top);
    heap->end_address = from;
    heap->frames_returned += (top - from) / KH_PAGE;
    return top - from;
}

/* Interrupts off while the heap works (the tutorial switches tasks in the
 * timer interrupt); EFLAGS restored, so a call made with them off leaves them off. */
static void heap_lock(void *ctx)
{
    u32int flags;
    __asm__ __volatile__("pushfl; popl %0; cli" : "=r"(flags) : : "memory");
    ((heap_t *)ctx)->saved_eflags = flags;
}

static void heap_unlock(void *ctx)
{
    u32int flags = ((heap_t *)ctx)->saved_eflags;
    __asm__ __volatile__("pushl %0; popfl" : : "r"(flags) : "memory", "cc");
}

/* ---- naming the damage ---- */

/* The block whose payload starts at payload had the bytes at where, at or past
 * its end, overwritten: say which block and which bytes (its footer, which
 * holds a copy of its header, shows how many of its 8 bytes changed). */
static void name_damage(u32int payload, u32int where, const char *found_by)
{
    if (where < payload) {
        say_hex("kheap: block ", payload, ": the tag at ");
        say_hex("", where, ", just before it, overwritten (past the end of the block before it?)\n");
        return;
    }
    const u8int *header = (const u8int *)(payload - KH_TAG_BYTES), *footer = (const u8int *)where;
    u32int changed = 0;
    for (u32int i = 0; i < KH_TAG_BYTES; i++)
        changed += header[i] != footer[i];
    say_hex("kheap: block ", payload, "");
    say_dec(" (", where - payload, " bytes): ");
    say_dec("", changed, " bytes past its end overwritten, in ");
    say_hex("", where, "-");
    say_hex("", where + KH_TAG_BYTES - 1u, "; found by ");
    say(found_by);
    say("\n");
}

static void say_problem(const char *prefix, const hh_problem *problem)
{
    say(prefix);
    say(hh_code_name(problem->code));
    say_hex(" at ", (u32int)problem->where, ": ");
    say(problem->what);
    say("\n");
}

static void heap_report(void *ctx, const hh_problem *problem)
{
    heap_t *heap = ctx;
    say_problem("kheap: ", problem);
    if (problem->code == HH_E_CORRUPT && heap->freeing != 0)
        name_damage(heap->freeing, (u32int)problem->where, "free");
}

/* hh_walk visitor: the end of the last sound block or hole before the damage. */
static int note_end(void *ctx, const hh_span *span)
{
    *(u32int *)ctx = (u32int)span->start + span->size;
    return 0;
}

int kheap_check(heap_t *heap)
{
    hh_problem problem;
    int code = hh_check(heap->core, &problem);
    if (code == HH_OK)
        return 0;
    say_problem("kheap_check: ", &problem);
    u32int sound_end = 0;
    if (code == HH_E_CORRUPT && hh_walk(heap->core, note_end, &sound_end) == -1 && sound_end != 0)
        name_damage(sound_end + KH_TAG_BYTES, (u32int)problem.where, "kheap_check");
    return code;
}

void kheap_trim(heap_t *heap) { hh_trim(heap->core); }

/* ---- create_heap ---- */

/* Growth stops at max, or where the frames of all physical memory would end. */
static u32int window_top(u32int start, u32int max)
{
    u32int memory = nframes * KH_PAGE;
    return max - start > memory ? start + memory : max;
}

/* The initial pages, mapped by initialise_paging (user-accessible and read-only
 * there): supervisor-only and writable now. */
static void remap_initial(u32int start, u32int end_address)
{
    for (u32int v = start; v < end_address; v += KH_PAGE) {
        page_t *page = heap_page(v);
        if (!page || !page->present) {
            say_hex("create_heap: page ", v, " of the initial heap is not mapped\n");
            panic("create_heap: map [start, end) before creating the heap", __FILE__, __LINE__);
        }
        page->rw = 1;
        page->user = 0;
        flush_page(v);
    }
}

/* Page tables the window lacks, made from the region's pages after the first;
 * returns where holeheap starts. They exist before clone_directory copies the
 * directory, so every clone shares them and sees the heap grow. */
static u32int make_tables(u32int start, u32int end_address, u32int top)
{
    u32int next = start + KH_PAGE;
    for (u32int t = start / KH_TABLE_SPAN; t <= (top - 1u) / KH_TABLE_SPAN; t++) {
        if (kernel_directory->tables[t])
            continue;
        require(next + KH_PAGE < end_address, "create_heap: the initial heap is too small for its page tables");
        memset((u8int *)next, 0, KH_PAGE);
        kernel_directory->tables[t] = (page_table_t *)next;
        kernel_directory->tablesPhysical[t] = (u32int)heap_page(next)->frame * KH_PAGE | 0x3u; /* present, rw */
        next += KH_PAGE;
    }
    return next == start + KH_PAGE ? start + KH_HEAP_T_ROOM : next;
}

static u32int heap_key(void)
{
    u32int low, high;
    __asm__ __volatile__("rdtsc" : "=a"(low), "=d"(high));
    u32int key = (low ^ HEAP_MAGIC) * 0x9E3779B1u ^ high;
    return key != 0 ? key : HEAP_MAGIC;
}

static hh_heap *start_core(heap_t *heap, u32int core, u32int top)
{
    hh_options opt = {0};
    opt.grow = heap_grow;
    opt.shrink = heap_shrink;
    opt.lock = heap_lock;
    opt.unlock = heap_unlock;
    opt.on_error = heap_report;
    opt.ctx = heap;
    opt.max_size = top - core;
    opt.key = heap_key();
    return hh_init((void *)core, heap->end_address - core, &opt);
}

heap_t *create_heap(u32int start, u32int end_address, u32int max, u8int supervisor, u8int readonly)
{
    require(start % KH_PAGE == 0 && end_address % KH_PAGE == 0 && max % KH_PAGE == 0 && start < end_address &&
                end_address <= max,
            "create_heap: start, end and max must be page-aligned, with start < end <= max");
    require(!readonly, "create_heap: a read-only heap cannot write its own headers and footers");
    require(kernel_directory != 0 && frames != 0, "create_heap: initialise paging first");
    u32int top = window_top(start, max);
    remap_initial(start, end_address);
    u32int core = make_tables(start, end_address, top);
    heap_t *heap = (heap_t *)start;
    memset((u8int *)heap, 0, sizeof *heap);
    heap->start_address = start;
    heap->end_address = end_address;
    heap->max_address = top;
    heap->supervisor = supervisor;
    heap->core = start_core(heap, core, top);
    require(heap->core != 0, "create_heap: holeheap refused the region (smaller than hh_min_region?)");
    say_hex("kheap: holeheap at ", core, "");
    say_hex("-", end_address, "");
    say_hex(", may grow to ", top, "\n");
    return heap;
}

/* ---- the tutorial's interface ---- */

void *alloc(u32int size, u8int page_align, heap_t *heap)
{
    void *p = page_align ? hh_alloc_aligned(heap->core, size, KH_PAGE) : hh_alloc(heap->core, size);
    if (!p)
        say_dec("kheap: alloc of ", size, " bytes failed: the heap cannot grow that far\n");
    return p;
}

void free(void *p, heap_t *heap)
{
    heap->freeing = (u32int)p;
    hh_free(heap->core, p);
    heap->freeing = 0;
}

/* Before the heap exists: bump allocation above the kernel (an address
 * already page-aligned is not bumped, unlike the tutorial's). */
static u32int placement_alloc(u32int sz, int align, u32int *phys)
{
    if (align && (placement_address & 0xFFFu))
        placement_address = (placement_address & 0xFFFFF000u) + KH_PAGE;
    if (phys)
        *phys = placement_address;
    u32int at = placement_address;
    placement_address += sz;
    return at;
}

u32int kmalloc_int(u32int sz, int align, u32int *phys)
{
    if (!kheap)
        return placement_alloc(sz, align, phys);
    u32int at = (u32int)alloc(sz, (u8int)(align != 0), kheap);
    if (at && phys) /* the first page's frame: heap pages are not physically contiguous */
        *phys = (u32int)heap_page(at)->frame * KH_PAGE + (at & 0xFFFu);
    return at;
}

u32int kmalloc_a(u32int sz) { return kmalloc_int(sz, 1, 0); }
u32int kmalloc_p(u32int sz, u32int *phys) { return kmalloc_int(sz, 0, phys); }
u32int kmalloc_ap(u32int sz, u32int *phys) { return kmalloc_int(sz, 1, phys); }
u32int kmalloc(u32int sz) { return kmalloc_int(sz, 0, 0); }
void kfree(void *p) { free(p, kheap); }

/* ---- kernel stacks with a guard ---- */

static u8int guard_byte(u32int i) { return (u8int)(0x5Au ^ (i * 29u)); }

u32int kmalloc_stack(u32int size)
{
    u32int stack = kmalloc_a(size + KSTACK_GUARD);
    u8int *guard = (u8int *)(stack + size);
    for (u32int i = 0; stack && i < KSTACK_GUARD; i++)
        guard[i] = guard_byte(i);
    return stack;
}

u32int kstack_overrun(u32int stack, u32int size)
{
    const u8int *guard = (const u8int *)(stack + size);
    u32int changed = 0, last = 0;
    for (u32int i = 0; i < KSTACK_GUARD; i++) {
        if (guard[i] != guard_byte(i)) {
            changed++;
            last = i;
        }
    }
    if (changed) {
        say_hex("kheap: kernel stack ", stack, "");
        say_dec(" (", size, " bytes): ");
        say_dec("", changed, " bytes of its guard overwritten, up to ");
        say_dec("", last + 1u, " bytes past its end (esp0)\n");
    }
    return changed;
}
