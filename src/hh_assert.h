/*
 * HH_ASSERT: internal preconditions and "cannot happen" cases of the core.
 *
 * Off by default: the condition is not evaluated, and the code after an
 * assertion still copes with the case (returns, reports) as it would without
 * it. Defined HH_ASSERTS (the sanitizer, fuzz and 32-bit builds and the index
 * unit tests turn it on, see the Makefile's VFLAGS_*), a false condition
 * executes __builtin_trap(): the program stops at once (SIGILL on x86), at
 * the line that assumed wrongly, under a debugger or the sanitizer's report.
 *
 * Only for what no input and no corruption of the heap's memory can cause:
 * what a stray write can cause is checked and reported (HH_E_*), never
 * asserted, so that the corruption tests run with assertions on.
 */
#ifndef HH_ASSERT_H
#define HH_ASSERT_H

#ifdef HH_ASSERTS
#define HH_ASSERT(cond) ((cond) ? (void)0 : __builtin_trap())
#else
#define HH_ASSERT(cond) ((void)0)
#endif

#endif /* HH_ASSERT_H */
