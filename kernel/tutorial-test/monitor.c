/* monitor.c: the tutorial's monitor, on COM1 (115200 8N1), polled. */
#include "monitor.h"

#define COM1 0x3F8

void monitor_clear(void)
{
    outb(COM1 + 1, 0x00); /* no interrupts */
    outb(COM1 + 3, 0x80); /* divisor follows */
    outb(COM1 + 0, 0x01); /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); /* 8N1 */
    outb(COM1 + 2, 0xC7); /* FIFO on, cleared */
    outb(COM1 + 4, 0x0B);
}

void monitor_put(char c)
{
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (u8int)c);
}

void monitor_write(char *c)
{
    while (*c)
        monitor_put(*c++);
}

void monitor_write_hex(u32int n)
{
    monitor_write("0x");
    for (int shift = 28; shift >= 0; shift -= 4)
        monitor_put("0123456789abcdef"[(n >> shift) & 0xFu]);
}

void monitor_write_dec(u32int n)
{
    char digits[11];
    int i = 0;
    do {
        digits[i++] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0);
    while (i > 0)
        monitor_put(digits[--i]);
}
