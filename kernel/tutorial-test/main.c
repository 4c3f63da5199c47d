/*
 * main.c: the tutorial kit's test kernel. Built like the tutorial's kernels
 * (-nostdlib -nostdinc -fno-builtin -fno-stack-protector), with the kit's
 * kheap.h/kheap.c/ordered_array.h/ordered_array.c as they are shipped and
 * holeheap's core. Every check that fails prints "FAIL: ..."; the verdict
 * leaves QEMU with status 33 (PASS) or 35 (FAIL), 37 on a CPU exception.
 */
#include "common.h"
#include "descriptor_tables.h"
#include "holeheap.h"
#include "kheap.h"
#include "monitor.h"
#include "ordered_array.h"
#include "paging.h"

#define KERNEL_STACK_SIZE 2048 /* the tutorial's chapter 10 */
#define STRESS_OPS 3000
#define STRESS_SLOTS 48
#define PAGE 0x1000u

static u32int failures;

static void check(int ok, const char *what)
{
    if (ok)
        return;
    failures++;
    monitor_write("FAIL: ");
    monitor_write((char *)what);
    monitor_write("\n");
}

static void say_num(const char *before, u32int n, const char *after)
{
    monitor_write((char *)before);
    monitor_write_dec(n);
    monitor_write((char *)after);
}

static int heap_consistent(void) { return kheap_check(kheap) == 0; }

static u32int problems(void) { return (u32int)hh_problem_count(kheap->core); }

/* ---- before and at the handover ---- */

static void test_placement(void)
{
    u32int a = kmalloc(5);
    u32int b = kmalloc_a(64);
    u32int c = kmalloc_a(64); /* b + 64 is not aligned: bumped to the next page */
    placement_address = (placement_address + PAGE - 1u) & ~(PAGE - 1u);
    u32int aligned_now = placement_address;
    u32int d = kmalloc_a(16); /* already aligned: not bumped (the tutorial's was) */
    check(b % PAGE == 0 && c % PAGE == 0 && b > a && c > b, "placement: kmalloc_a is page-aligned");
    check(d == aligned_now, "placement: an aligned placement address is not bumped a page");
    monitor_write("[placement] kmalloc/kmalloc_a bump above the kernel; an aligned address is kept\n");
}

static void test_handover(void)
{
    u32int before = placement_address;
    u32int p = kmalloc(100), q = kmalloc_a(300);
    check(kheap != 0, "handover: kheap was created");
    check(p >= KHEAP_START && q >= KHEAP_START && q % PAGE == 0, "handover: kmalloc now returns heap blocks");
    check(placement_address == before, "handover: the placement allocator no longer moves");
    kfree((void *)p);
    kfree((void *)q);
    check(heap_consistent() && problems() == 0, "handover: heap consistent, no problem reported");
    monitor_write("[handover] after create_heap, kmalloc takes heap blocks; placement_address stays put\n");
}

/* Every heap page present, supervisor-only, writable, and never frame 0. */
static int heap_pages_sound(void)
{
    for (u32int v = KHEAP_START; v < kheap->end_address; v += PAGE) {
        page_t *page = get_page(v, 0, kernel_directory);
        if (!page || !page->present || !page->rw || page->user || page->frame == 0)
            return 0;
    }
    return 1;
}

static void test_page_flags(void)
{
    check(heap_pages_sound(), "pages: every heap page present, supervisor-only, writable, not frame 0");
    check(frames[0] & 1u, "pages: frame 0 still marked used");
    monitor_write("[pages] the initial heap pages (mapped user/read-only, CR0.WP on) are supervisor and writable\n");
}

/* ---- the tutorial's structures on the heap ---- */

static s8int less_than(type_t a, type_t b) { return (s8int)((u32int)a < (u32int)b); }

static void test_ordered_array(void)
{
    ordered_array_t array = create_ordered_array(3, less_than);
    insert_ordered_array((type_t)30, &array);
    insert_ordered_array((type_t)10, &array);
    insert_ordered_array((type_t)20, &array);
    insert_ordered_array((type_t)5, &array); /* full: refused, reported */
    check(array.size == 3 && lookup_ordered_array(0, &array) == (type_t)10 &&
              lookup_ordered_array(2, &array) == (type_t)30 && lookup_ordered_array(3, &array) == 0,
          "ordered_array: sorted, bounded");
    remove_ordered_array(0, &array);
    check(array.size == 2 && lookup_ordered_array(0, &array) == (type_t)20, "ordered_array: remove");
    destroy_ordered_array(&array);
    check(heap_consistent(), "ordered_array: heap consistent after destroy");
}

/* The tutorial's strcpy stops before the NUL; with a heap that reuses blocks
 * without zeroing them, the copy is not terminated. */
static void tutorial_strcpy(char *dest, const char *src)
{
    do {
        *dest++ = *src++;
    } while (*src != 0);
}

static void test_strcpy(void)
{
    char *name = (char *)kmalloc(128);
    memset((u8int *)name, 'x', 128);
    kfree(name);
    char *again = (char *)kmalloc(128); /* the same block, as it was left */
    tutorial_strcpy(again, "initrd.txt");
    int unterminated = strlen(again) != 10;
    strcpy(again, "initrd.txt");
    check(again == name && unterminated, "strcpy: the tutorial's copy is unterminated in a reused block");
    check(strlen(again) == 10, "strcpy: the fixed strcpy terminates");
    kfree(again);
    monitor_write("[strcpy] the tutorial's strcpy leaves a reused block's name unterminated; the fixed one does not\n");
}

/* ---- the kernel stack: esp0 at a heap block's end ---- */

/* Ring 3 and back: int 0x80 is taken on esp0's stack, its frame (ss, esp,
 * eflags, cs, eip) right below esp0. */
static void ring3_round_trip(u32int stack, u32int size)
{
    static u8int user_stack[64];
    set_kernel_stack(stack + size);
    int80_esp = 0;
    enter_user((u32int)&user_stack[64]);
    check(int80_esp == stack + size - 20u, "esp0: int 0x80 from ring 3 pushed its frame just below esp0");
    check(((u32int *)int80_esp)[1] == 0x1Bu, "esp0: the frame holds the user code selector");
}

/* A few bytes past the stack's end: what the tutorial's kernel seems to do. */
static void overrun(u32int stack, u32int size, u8int *saved)
{
    memcpy(saved, (const u8int *)(stack + size), 4);
    for (u32int i = 0; i < 4; i++)
        ((u8int *)(stack + size))[i] ^= 0xFFu;
}

static void test_stack_overrun(void)
{
    u32int stack = kmalloc_a(KERNEL_STACK_SIZE), before = problems();
    u8int saved[4];
    ring3_round_trip(stack, KERNEL_STACK_SIZE);
    check(heap_consistent(), "esp0: heap consistent after ring 3 used the stack");
    overrun(stack, KERNEL_STACK_SIZE, saved);
    kfree((void *)stack); /* refused and reported, naming the block */
    check(problems() == before + 1u, "overrun: kfree reported the stack's overrun");
    check(kheap_check(kheap) == HH_E_CORRUPT, "overrun: kheap_check reports it too");
    memcpy((u8int *)(stack + KERNEL_STACK_SIZE), saved, 4); /* repair, then free */
    kfree((void *)stack);
    check(problems() == before + 1u && heap_consistent(), "overrun: repaired, freed, consistent");
    monitor_write("[overrun] 4 bytes past a kmalloc_a(2048) kernel stack: reported by kfree and kheap_check\n");
}

/* The same overrun found from the other side: freeing the block after it. */
static void test_overrun_neighbour(void)
{
    u32int a = kmalloc(1024), b = kmalloc(1024), before = problems();
    u8int saved[4];
    check(b == a + 1024u + HH_OVERHEAD, "neighbour: two 1 KiB blocks side by side");
    overrun(a, 1024, saved);
    kfree((void *)b); /* its left neighbour's footer is damaged: refused */
    check(problems() == before + 1u, "neighbour: kfree of the next block reported the overrun");
    memcpy((u8int *)(a + 1024u), saved, 4);
    kfree((void *)b);
    kfree((void *)a);
    check(problems() == before + 1u && heap_consistent(), "neighbour: repaired, both freed, consistent");
}

static void test_stack_guard(void)
{
    u32int stack = kmalloc_stack(KERNEL_STACK_SIZE), before = problems();
    u8int saved[4];
    check(stack % PAGE == 0 && kstack_overrun(stack, KERNEL_STACK_SIZE) == 0, "guard: a fresh guard is intact");
    ring3_round_trip(stack, KERNEL_STACK_SIZE);
    check(kstack_overrun(stack, KERNEL_STACK_SIZE) == 0, "guard: ring 3's interrupt stayed below esp0");
    overrun(stack, KERNEL_STACK_SIZE, saved);
    check(kstack_overrun(stack, KERNEL_STACK_SIZE) == 4, "guard: the 4 bytes past esp0 are seen at once");
    kfree((void *)stack);
    check(problems() == before && heap_consistent(), "guard: the heap itself was not damaged");
    monitor_write("[guard] kmalloc_stack: the same overrun seen by kstack_overrun at the next switch, heap intact\n");
}

/* ---- random stress ---- */

typedef struct {
    u32int at, size;
    u8int fill;
} slot_t;

static u32int rng_state, peak_end;

static u32int rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static u32int random_size(void)
{
    u32int r = rng();
    if (r % 4u == 0)
        return 65536u + rng() % (448u * 1024u); /* a large block: the heap grows and shrinks */
    return 1u + rng() % 2048u;
}

static int overlaps(const slot_t *slots, u32int at, u32int size)
{
    for (int i = 0; i < STRESS_SLOTS; i++)
        if (slots[i].at && at < slots[i].at + slots[i].size && slots[i].at < at + size)
            return 1;
    return 0;
}

static int intact(const slot_t *s)
{
    const u8int *p = (const u8int *)s->at;
    for (u32int i = 0; i < s->size; i++)
        if (p[i] != s->fill)
            return 0;
    return 1;
}

static void stress_alloc(slot_t *slots, slot_t *s, u32int op)
{
    u32int size = random_size(), phys = 0, kind = rng() % 8u;
    u32int at = kind == 0 ? kmalloc_ap(size, &phys) : kind == 1 ? kmalloc_a(size) : kmalloc(size);
    check(at != 0, "stress: kmalloc returned 0");
    if (!at)
        return;
    check(kind > 1 || at % PAGE == 0, "stress: kmalloc_a/kmalloc_ap block not page-aligned");
    check(kind != 0 || phys == (u32int)get_page(at, 0, kernel_directory)->frame * PAGE, "stress: kmalloc_ap phys");
    check(!overlaps(slots, at, size), "stress: a new block overlaps a live one");
    s->at = at;
    s->size = size;
    s->fill = (u8int)(op * 7u + 1u);
    memset((u8int *)at, s->fill, size);
    if (kheap->end_address > peak_end)
        peak_end = kheap->end_address;
}

/* Clone the kernel directory into page-aligned heap memory, run on it, come back. */
static void clone_and_run(void)
{
    page_directory_t *saved = current_directory, *dir = clone_directory(kernel_directory);
    check(dir != 0, "clone: kmalloc_ap of a page directory");
    if (!dir)
        return;
    switch_page_directory(dir);
    int ok = heap_consistent(); /* walks the heap through the clone's CR3 */
    switch_page_directory(saved);
    check(ok, "clone: the heap reads the same through the clone");
    kfree(dir);
}

static void flush_page(u32int virt) { __asm__ __volatile__("invlpg (%0)" : : "r"(virt) : "memory"); }

/* A directory whose second page is not in the frame after its first, as when
 * something else took frames between two growths of the heap: the fixed clone
 * still gives CR3 the right frame (the tutorial's phys + offset would not). */
static void test_clone_split(void)
{
    u32int phys;
    page_directory_t *saved = current_directory;
    page_directory_t *dir = (page_directory_t *)kmalloc_ap(sizeof(page_directory_t), &phys);
    page_t *second = get_page((u32int)dir + PAGE, 0, kernel_directory), spare = {0};
    u32int own = second->frame;
    alloc_frame(&spare, 1, 1);
    second->frame = spare.frame;
    flush_page((u32int)dir + PAGE);
    clone_into(dir, phys, kernel_directory);
    switch_page_directory(dir);
    int ok = heap_consistent();
    switch_page_directory(saved);
    check(spare.frame != phys / PAGE + 1u && dir->physicalAddr == spare.frame * PAGE, "clone: split directory's CR3");
    check(ok, "clone: the heap reads the same through a split directory");
    second->frame = own & 0xFFFFFu;
    flush_page((u32int)dir + PAGE);
    frames[spare.frame / 32u] &= ~(1u << (spare.frame % 32u));
    kfree(dir);
    monitor_write("[clone] a page directory in two non-adjacent frames: CR3 from the page tables works\n");
}

static void stress_step(slot_t *slots, u32int op)
{
    slot_t *s = &slots[rng() % STRESS_SLOTS];
    if (!s->at) {
        stress_alloc(slots, s, op);
        return;
    }
    check(intact(s), "stress: a block's contents changed");
    kfree((void *)s->at);
    s->at = 0;
}

static void stress_free_all(slot_t *slots)
{
    for (int i = 0; i < STRESS_SLOTS; i++) {
        if (slots[i].at) {
            check(intact(&slots[i]), "stress: a block's contents changed");
            kfree((void *)slots[i].at);
            slots[i].at = 0;
        }
    }
}

static void test_stress(void)
{
    static slot_t slots[STRESS_SLOTS];
    u32int used = frames_used(), mapped = kheap->frames_mapped, returned = kheap->frames_returned;
    u32int before = problems();
    u32int lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    rng_state = (lo ^ hi) | 1u;
    say_num("[stress] seed ", rng_state, ": ");
    say_num("", STRESS_OPS, " random kmalloc/kmalloc_a/kmalloc_ap/kfree, contents and overlap checked\n");
    u32int consistent = 0;
    for (u32int op = 1; op <= STRESS_OPS; op++) {
        stress_step(slots, op);
        if (op % 500u == 0) {
            consistent += (u32int)heap_consistent();
            clone_and_run();
        }
    }
    check(consistent == STRESS_OPS / 500u, "stress: hh_check every 500 operations");
    say_num("  hh_check consistent ", consistent, " times (every 500 operations), heap at most ");
    say_num("", (peak_end - KHEAP_START) / 1024u, " KiB\n");
    stress_free_all(slots);
    kheap_trim(kheap);
    say_num("  grow mapped ", kheap->frames_mapped - mapped, " frames, ");
    say_num("shrink returned ", kheap->frames_returned - returned, " frames; ");
    say_num("frames used before ", used, ", ");
    say_num("after ", frames_used(), "\n");
    say_num("  page directory clones: ", clones_made, ", ");
    say_num("", clones_not_contiguous,
            " of them not physically contiguous (the tutorial's phys + offset would be wrong)\n");
    check(kheap->frames_mapped > mapped && kheap->frames_returned > returned, "stress: the heap grew and shrank");
    check(kheap->frames_mapped - mapped == kheap->frames_returned - returned, "stress: frames mapped == returned");
    check(frames_used() == used, "stress: frames balanced in the frame bitset");
    check(heap_consistent() && heap_pages_sound() && problems() == before,
          "stress: consistent, pages sound, no new problem");
}

/* ---- out of frames ---- */

static void test_out_of_frames(void)
{
    static u32int blocks[32];
    u32int used = frames_used(), refusals = kheap->grow_refusals, n = 0;
    monitor_write("[frames] 1 MiB blocks until the frames run out (expect kheap's refusal lines):\n");
    while (n < 32 && (blocks[n] = kmalloc(0x100000u)) != 0)
        n++;
    say_num("  ", n, " blocks of 1 MiB, then kmalloc returned 0\n");
    check(n > 4 && n < 32, "frames: the frames ran out before the heap's window");
    check(kheap->grow_refusals > refusals, "frames: the failed growth was reported");
    check(kheap->end_address < kheap->max_address, "frames: stopped by the frames, not by the window");
    while (n > 0)
        kfree((void *)blocks[--n]);
    kheap_trim(kheap);
    say_num("  all freed and trimmed: frames used ", frames_used(), "");
    say_num(", before ", used, "\n");
    check(frames_used() == used && heap_consistent(), "frames: balanced and consistent after running out");
}

/* The boot command line (multiboot: flags bit 2, the string's address at +16)
 * has word in it. */
static int cmdline_has(const u32int *mboot, const char *word)
{
    const char *line = (mboot[0] & 4u) ? (const char *)mboot[4] : "";
    for (; *line; line++) {
        int i = 0;
        while (word[i] && line[i] == word[i])
            i++;
        if (!word[i])
            return 1;
    }
    return 0;
}

/* create-heap-fail: a misaligned heap must end the boot in a panic that says why. */
static void test_create_heap_fails(void)
{
    monitor_write("[create_heap] a misaligned heap: create_heap must panic with a message\n");
    create_heap(0xD0000800u, 0xD0100000u, 0xD1000000u, 1, 0);
    check(0, "create_heap returned from a misaligned start");
}

int kmain(void *mboot, u32int initial_stack);
int kmain(void *mboot, u32int initial_stack)
{
    (void)initial_stack;
    int heap_fails = cmdline_has(mboot, "create-heap-fail");
    monitor_clear();
    init_descriptor_tables();
    monitor_write("[tutorial kit] the tutorial's kheap.h/kheap.c replaced by holeheap's kit\n");
    test_placement();
    initialise_paging();
    test_handover();
    if (heap_fails)
        test_create_heap_fails();
    test_page_flags();
    test_ordered_array();
    test_strcpy();
    test_stack_overrun();
    test_overrun_neighbour();
    test_stack_guard();
    test_clone_split();
    test_stress();
    test_out_of_frames();
    say_num("problems reported by the heap: ", problems(), " (the two planted overruns)\n");
    check(problems() == 2u, "exactly the planted problems were reported");
    monitor_write(failures ? "tutorial kit test: FAIL\n" : "tutorial kit test: PASS\n");
    kernel_exit(failures ? EXIT_FAIL : EXIT_PASS);
    return 0;
}
