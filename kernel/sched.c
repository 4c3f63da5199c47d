/*
 * The scheduler. A thread that is not running is described by one number: the
 * stack pointer at which irq.s saved its registers (its interrupt frame). A
 * switch stores the running thread's frame pointer and returns the next one's,
 * and irq.s resumes from there. A new thread gets a frame built by hand on its
 * fresh stack, as if it had been interrupted at the first instruction of
 * thread_start with interrupts on.
 */
#include "sched.h"
#include "console.h"
#include "interrupts.h"
#include "kmalloc.h"
#include "ports.h"

#define KERNEL_CODE_SELECTOR 0x08u
#define STACK_CANARY 0x57AC4B0Bu /* the lowest word of every thread stack */

typedef enum thread_state { THREAD_FREE, THREAD_READY, THREAD_DONE } thread_state;

typedef struct thread {
    volatile thread_state state;
    uint32_t esp;    /* saved frame, while not running */
    uint32_t *stack; /* kmalloc_a'd; NULL for thread 0 (the boot stack) */
    thread_fn fn;
    void *arg;
    const char *name;
    uint32_t preemptions;
} thread;

static thread threads[MAX_THREADS];
static volatile int current;
static volatile uint32_t switches, preemptions;
static bool started;

void sched_init(void)
{
    threads[0].state = THREAD_READY;
    threads[0].name = "kmain";
    current = 0;
    started = true;
}

/* Where a new thread starts: its function, then thread_exit. */
static void thread_start(void)
{
    thread *t = &threads[current];
    t->fn(t->arg);
    thread_exit();
}

/* The frame irq.s pops for a thread that has not run yet (lowest address
 * first, as in exception_frame), under a fake return address for
 * thread_start; esp then ends 16-byte aligned minus 4, as after a call. */
static uint32_t initial_frame(uint32_t *stack)
{
    uint32_t *top = stack + THREAD_STACK_SIZE / sizeof *stack;
    exception_frame *f = (exception_frame *)(void *)(top - 1) - 1;
    top[-1] = 0; /* thread_start's return address: it never returns */
    *f = (exception_frame){0};
    f->eip = (uint32_t)(uintptr_t)thread_start;
    f->cs = KERNEL_CODE_SELECTOR;
    f->eflags = EFLAGS_IF | 0x2u; /* bit 1 is always set */
    return (uint32_t)(uintptr_t)f;
}

int thread_spawn(thread_fn fn, void *arg, const char *name)
{
    uint32_t *stack = kmalloc_a(THREAD_STACK_SIZE);
    if (stack == NULL)
        return -1;
    stack[0] = STACK_CANARY;
    uint32_t flags = irq_save();
    int id = 1;
    while (id < MAX_THREADS && threads[id].state != THREAD_FREE)
        id++;
    if (id < MAX_THREADS) {
        thread *t = &threads[id];
        t->stack = stack;
        t->fn = fn;
        t->arg = arg;
        t->name = name;
        t->preemptions = 0;
        t->esp = initial_frame(stack);
        t->state = THREAD_READY; /* last: the scheduler may pick it from here on */
    }
    irq_restore(flags);
    if (id == MAX_THREADS) {
        kfree(stack);
        return -1;
    }
    return id;
}

void thread_yield(void) { __asm__ __volatile__("int $0x30" : : : "memory"); }

void thread_exit(void)
{
    (void)irq_save(); /* no switch between marking it done and leaving it; never restored */
    threads[current].state = THREAD_DONE;
    thread_yield(); /* a done thread is never picked again */
    panic("thread_exit: a finished thread was resumed");
}

void thread_join(int id)
{
    if (id <= 0 || id >= MAX_THREADS || id == current || threads[id].state == THREAD_FREE)
        panic("thread_join: no such thread");
    while (threads[id].state != THREAD_DONE)
        thread_yield();
    kfree(threads[id].stack);
    threads[id].stack = NULL;
    threads[id].state = THREAD_FREE;
}

int thread_current(void) { return current; }
const char *thread_name(int id) { return threads[id].name; }
uint32_t sched_switches(void) { return switches; }
uint32_t sched_preemptions(void) { return preemptions; }
uint32_t thread_preemptions(int id) { return threads[id].preemptions; }

uint32_t sched_switch(uint32_t esp, bool by_timer)
{
    if (!started)
        return esp;
    thread *t = &threads[current];
    t->esp = esp;
    if (t->stack != NULL && t->stack[0] != STACK_CANARY) {
        kprintf("thread %d (%s) ran off the bottom of its stack at %p\n", current, t->name, (void *)t->stack);
        panic("kernel stack overflow");
    }
    int next = current;
    do
        next = (next + 1) % MAX_THREADS;
    while (threads[next].state != THREAD_READY); /* thread 0 always is */
    if (next != current) {
        switches++;
        if (by_timer) {
            preemptions++;
            t->preemptions++;
        }
        current = next;
    }
    return threads[next].esp;
}
