/* common.c: port I/O, the tutorial's memcpy/memset/string helpers, panic. */
#include "common.h"

#include "monitor.h"

void outb(u16int port, u8int value) { __asm__ __volatile__("outb %1, %0" : : "dN"(port), "a"(value)); }

u8int inb(u16int port)
{
    u8int ret;
    __asm__ __volatile__("inb %1, %0" : "=a"(ret) : "dN"(port));
    return ret;
}

u16int inw(u16int port)
{
    u16int ret;
    __asm__ __volatile__("inw %1, %0" : "=a"(ret) : "dN"(port));
    return ret;
}

/* eax is where a caller would find a return value: make it a wild pointer. */
static void poison_return_register(void) { __asm__ __volatile__("movl $0xDEAD0001, %%eax" : : : "eax"); }

void memcpy(u8int *dest, const u8int *src, u32int len)
{
    for (; len != 0; len--)
        *dest++ = *src++;
    poison_return_register();
}

void memset(u8int *dest, u8int val, u32int len)
{
    for (; len != 0; len--)
        *dest++ = val;
    poison_return_register();
}

int strcmp(char *str1, char *str2)
{
    while (*str1 && *str1 == *str2) {
        str1++;
        str2++;
    }
    return *str1 != *str2;
}

char *strcpy(char *dest, const char *src)
{
    char *d = dest;
    while ((*d++ = *src++) != 0)
        ;
    return dest;
}

int strlen(char *src)
{
    int i = 0;
    while (*src++)
        i++;
    return i;
}

void kernel_exit(u8int code)
{
    outb(0xF4, code);
    for (;;)
        __asm__ __volatile__("cli; hlt");
}

void panic(const char *message, const char *file, u32int line)
{
    __asm__ __volatile__("cli");
    monitor_write("PANIC(");
    monitor_write((char *)message);
    monitor_write(") at ");
    monitor_write((char *)file);
    monitor_write(":");
    monitor_write_dec(line);
    monitor_write("\n");
    kernel_exit(EXIT_FAIL);
}

void panic_assert(const char *file, u32int line, const char *desc) { panic(desc, file, line); }
