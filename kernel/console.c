/*
 * COM1 at 115200 8N1 and the 80x25 VGA text screen, and a small printf with
 * %c %s %d %i %u %x %X %p, the '0' flag, a width, and the l, z length modifiers.
 */
#include <stdarg.h>

#include "console.h"
#include "lib.h"
#include "ports.h"
#include "smp.h"

#define COM1 0x3F8u
#define VGA_COLS 80u
#define VGA_ROWS 25u
#define VGA_COLOUR 0x0700u /* light grey on black */
#define DEBUG_EXIT_PORT 0xF4u

static volatile uint16_t *const vga = (volatile uint16_t *)0xB8000;
static uint32_t vga_row, vga_col;
static bool mid_line; /* the last character written was not a newline */

static void serial_init(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* divisor latch on */
    outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8 bits, no parity, one stop bit */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void serial_put(char c)
{
    while ((inb(COM1 + 5) & 0x20u) == 0)
        ;
    outb(COM1, (uint8_t)c);
}

static void vga_scroll(void)
{
    for (uint32_t i = 0; i < (VGA_ROWS - 1u) * VGA_COLS; i++)
        vga[i] = vga[i + VGA_COLS];
    for (uint32_t i = 0; i < VGA_COLS; i++)
        vga[(VGA_ROWS - 1u) * VGA_COLS + i] = VGA_COLOUR | ' ';
    vga_row = VGA_ROWS - 1u;
}

static void vga_put(char c)
{
    if (c == '\n') {
        vga_col = 0;
        vga_row++;
    } else {
        vga[vga_row * VGA_COLS + vga_col] = (uint16_t)(VGA_COLOUR | (uint8_t)c);
        if (++vga_col == VGA_COLS) {
            vga_col = 0;
            vga_row++;
        }
    }
    if (vga_row == VGA_ROWS)
        vga_scroll();
}

void console_init(void)
{
    serial_init();
    for (uint32_t i = 0; i < VGA_ROWS * VGA_COLS; i++)
        vga[i] = VGA_COLOUR | ' ';
    vga_row = vga_col = 0;
}

static void console_put(char c)
{
    if (c == '\n')
        serial_put('\r');
    serial_put(c);
    vga_put(c);
    mid_line = c != '\n';
}

void console_write(const char *s)
{
    while (*s != '\0')
        console_put(*s++);
}

/* Digits of v in base, most significant first, padded to width with pad. */
static void put_number(uint32_t v, uint32_t base, bool upper, uint32_t width, char pad)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[12];
    uint32_t n = 0;
    do {
        buf[n++] = digits[v % base];
        v /= base;
    } while (v != 0);
    while (width > n) {
        console_put(pad);
        width--;
    }
    while (n > 0)
        console_put(buf[--n]);
}

static void put_signed(int32_t v, uint32_t width, char pad)
{
    if (v < 0) {
        console_put('-');
        put_number(0u - (uint32_t)v, 10, false, width > 0 ? width - 1u : 0u, pad);
    } else {
        put_number((uint32_t)v, 10, false, width, pad);
    }
}

static void put_string(const char *s, uint32_t width)
{
    size_t len = strlen(s);
    console_write(s);
    while (width > len) {
        console_put(' ');
        width--;
    }
}

/* One conversion at *fmt (just past the '%'); returns the next position. */
static const char *put_conversion(const char *fmt, va_list *ap)
{
    char pad = ' ';
    uint32_t width = 0;
    if (*fmt == '0') {
        pad = '0';
        fmt++;
    }
    while (*fmt >= '0' && *fmt <= '9')
        width = width * 10u + (uint32_t)(*fmt++ - '0');
    while (*fmt == 'l' || *fmt == 'z')
        fmt++; /* long and size_t are 32 bits here */
    switch (*fmt) {
    case 'c': console_put((char)va_arg(*ap, int)); break;
    case 's': put_string(va_arg(*ap, const char *), width); break;
    case 'd':
    case 'i': put_signed(va_arg(*ap, int32_t), width, pad); break;
    case 'u': put_number(va_arg(*ap, uint32_t), 10, false, width, pad); break;
    case 'x': put_number(va_arg(*ap, uint32_t), 16, false, width, pad); break;
    case 'X': put_number(va_arg(*ap, uint32_t), 16, true, width, pad); break;
    case 'p':
        console_write("0x");
        put_number((uint32_t)(uintptr_t)va_arg(*ap, void *), 16, false, 8, '0');
        break;
    case '%': console_put('%'); break;
    default: console_put('?'); break;
    }
    return *fmt == '\0' ? fmt : fmt + 1;
}

static volatile uint32_t console_taken; /* against the other CPU */
static volatile int console_owner = -1; /* the holder's CPU */
static volatile bool emergency;         /* fault or panic: print without the lock */

static void console_lock(void)
{
    for (;;) {
        uint32_t was = 1;
        __asm__ __volatile__("xchgl %0, %1" : "+r"(was), "+m"(console_taken) : : "memory");
        if (was == 0)
            break;
        cpu_relax();
    }
    console_owner = (int)cpu_id();
}

static void console_unlock(void)
{
    console_owner = -1;
    __asm__ __volatile__("" : : : "memory");
    console_taken = 0;
}

/* The fault and panic path: from now on kprintf takes no lock. The lock is
 * not re-entrant, and a fault inside kprintf (a bad %s pointer) would leave
 * the handler spinning on it forever with interrupts off; the other CPU's
 * lines may interleave with the report, which is the lesser evil. A line cut
 * short by the fault is ended first. */
void console_emergency(void)
{
    emergency = true;
    if (console_owner == (int)cpu_id())
        console_unlock(); /* we faulted while holding it */
    if (mid_line)
        console_put('\n');
}

/* One call prints one uninterrupted piece: interrupts are off meanwhile, so a
 * thread switched in by the timer cannot cut into another thread's line, and
 * a second CPU waits for the line to end. */
void kprintf(const char *fmt, ...)
{
    uint32_t flags = irq_save();
    bool locked = !emergency;
    if (locked)
        console_lock();
    va_list ap;
    va_start(ap, fmt);
    while (*fmt != '\0') {
        if (*fmt == '%')
            fmt = put_conversion(fmt + 1, &ap);
        else
            console_put(*fmt++);
    }
    va_end(ap);
    if (locked)
        console_unlock();
    irq_restore(flags);
}

void kernel_exit(uint8_t code)
{
    outb(DEBUG_EXIT_PORT, code);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void panic(const char *why)
{
    console_emergency();
    kprintf("PANIC: %s\n", why);
    kernel_exit(KEXIT_FAIL);
}
