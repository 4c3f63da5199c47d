/*
 * The PIT (8253/8254) channel 0 on IRQ 0, about 100 interrupts a second. With
 * jitter on, every period is drawn at random between 5 and 15 ms, so that the
 * scheduler preempts threads at unpredictable points of their code.
 */
#ifndef KERNEL_TIMER_H
#define KERNEL_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_HZ 100u

void timer_init(void);
/* IRQ 0: count the tick, draw the next period, run the hook. */
void timer_tick(void);
uint32_t timer_ticks(void);
/* Milliseconds since timer_init, from the periods the PIT was given. */
uint32_t timer_ms(void);
/* Random periods (seed != 0) or the fixed 10 ms (seed == 0). */
void timer_set_jitter(uint32_t seed);
/* A function the timer interrupt calls at every tick (NULL: none). It runs in
 * the interrupt handler, interrupts off. */
void timer_set_hook(void (*hook)(void));

#endif
