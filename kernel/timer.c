/*
 * PIT channel 0 in mode 2 (rate generator), binary, low byte then high byte.
 * Its input clock is 1193182 Hz; a count of 11932 gives 100 Hz. With jitter,
 * the tick handler writes a new count each time: QEMU's PIT starts it at once,
 * a real one at the end of the running period; either way the periods vary
 * between half and one and a half of 10 ms, and timer_ms adds them up.
 */
#include <stddef.h>

#include "timer.h"
#include "ports.h"

#define PIT_CHANNEL0 0x40u
#define PIT_COMMAND 0x43u
#define PIT_CH0_LOHI_MODE2 0x34u
#define PIT_INPUT_HZ 1193182u
#define PIT_BASE_COUNT ((PIT_INPUT_HZ + TIMER_HZ / 2u) / TIMER_HZ) /* 11932 */

#define PIT_NS_PER_CLOCK 838u /* 1e9 / 1193182 = 838.1 ns per input clock */

static volatile uint32_t ticks;
static volatile uint32_t elapsed_us;
static uint32_t period_count = PIT_BASE_COUNT;
static uint32_t jitter_state; /* xorshift32; 0: no jitter */
static void (*volatile tick_hook)(void);

static void pit_write_count(uint32_t count)
{
    outb(PIT_CHANNEL0, (uint8_t)(count & 0xFFu));
    outb(PIT_CHANNEL0, (uint8_t)(count >> 8));
}

void timer_init(void)
{
    outb(PIT_COMMAND, PIT_CH0_LOHI_MODE2);
    pit_write_count(PIT_BASE_COUNT);
}

static uint32_t next_jitter(void)
{
    jitter_state ^= jitter_state << 13;
    jitter_state ^= jitter_state >> 17;
    jitter_state ^= jitter_state << 5;
    return jitter_state;
}

void timer_tick(void)
{
    ticks++;
    elapsed_us += period_count * PIT_NS_PER_CLOCK / 1000u; /* count <= 17898: no overflow */
    if (jitter_state != 0) {
        period_count = PIT_BASE_COUNT / 2u + next_jitter() % PIT_BASE_COUNT;
        pit_write_count(period_count);
    }
    void (*hook)(void) = tick_hook;
    if (hook != NULL)
        hook();
}

uint32_t timer_ticks(void) { return ticks; }
uint32_t timer_ms(void) { return elapsed_us / 1000u; }

void timer_set_jitter(uint32_t seed)
{
    uint32_t flags = irq_save();
    jitter_state = seed;
    if (seed == 0 && period_count != PIT_BASE_COUNT) {
        period_count = PIT_BASE_COUNT;
        pit_write_count(period_count);
    }
    irq_restore(flags);
}

void timer_set_hook(void (*hook)(void)) { tick_hook = hook; }
