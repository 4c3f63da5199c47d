/* The parts of the multiboot (version 1) boot information this kernel reads. */
#ifndef KERNEL_MULTIBOOT_H
#define KERNEL_MULTIBOOT_H

#include <stdint.h>

#define MULTIBOOT_BOOT_MAGIC 0x2BADB002u

enum {
    MULTIBOOT_INFO_MEMORY = 1u << 0,  /* mem_lower, mem_upper valid */
    MULTIBOOT_INFO_CMDLINE = 1u << 2, /* cmdline valid */
    MULTIBOOT_INFO_MMAP = 1u << 6     /* mmap_length, mmap_addr valid */
};

typedef struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper; /* KiB below 1 MiB, KiB above 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
} multiboot_info;

/* One memory map entry. Entries are `size` bytes apart plus the size field
 * itself, and not necessarily aligned: read them with memcpy. */
typedef struct __attribute__((packed)) multiboot_mmap_entry {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type; /* 1: available RAM */
} multiboot_mmap_entry;

#define MULTIBOOT_MEMORY_AVAILABLE 1u

#endif
