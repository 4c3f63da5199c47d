/* Kernel console: COM1 (what the tests read) mirrored on the VGA text screen. */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <stdint.h>

void console_init(void);
void console_write(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For the fault and panic path: kprintf stops taking its lock (released first
 * if this CPU holds it, so a fault inside kprintf is still reported) and a
 * line cut short is ended. */
void console_emergency(void);

/* QEMU's isa-debug-exit device (iobase 0xf4): qemu exits with (code << 1) | 1. */
enum {
    KEXIT_PASS = 0x10, /* qemu exit status 33 */
    KEXIT_FAIL = 0x11, /* 35: the self-test failed */
    KEXIT_FAULT = 0x12 /* 37: a CPU exception (page fault, ...) */
};

/* Leave QEMU with this code; without the device, halt forever. */
__attribute__((noreturn)) void kernel_exit(uint8_t code);
__attribute__((noreturn)) void panic(const char *why);

#endif
