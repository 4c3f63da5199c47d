/*
 * common.h: the test kernel's copy of the tutorial's common.h, in its style:
 * its own integer types, memcpy and memset that return void, PANIC and ASSERT.
 */
#ifndef COMMON_H
#define COMMON_H

typedef unsigned int u32int;
typedef int s32int;
typedef unsigned short u16int;
typedef short s16int;
typedef unsigned char u8int;
typedef char s8int;

void outb(u16int port, u8int value);
u8int inb(u16int port);
u16int inw(u16int port);

/* The tutorial's signatures. These two also leave a poison value in eax, so
 * that a caller that used what they "return" would crash. */
void memcpy(u8int *dest, const u8int *src, u32int len);
void memset(u8int *dest, u8int val, u32int len);
int strcmp(char *str1, char *str2);
char *strcpy(char *dest, const char *src); /* copies the NUL too (the tutorial's did not) */
int strlen(char *src);

#define PANIC(msg) panic(msg, __FILE__, __LINE__);
#define ASSERT(b) ((b) ? (void)0 : panic_assert(__FILE__, __LINE__, #b))

void panic(const char *message, const char *file, u32int line);
void panic_assert(const char *file, u32int line, const char *desc);

/* Leave QEMU through isa-debug-exit: status 33 passed, 35 failed, 37 exception. */
#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11
#define EXIT_EXCEPTION 0x12
void kernel_exit(u8int code);

#endif
