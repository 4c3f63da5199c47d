# The application processor's first instructions. smp.c copies the bytes from
# ap_trampoline_start to ap_trampoline_end to physical 0x8000 (AP_BASE), fills
# in the four words at the end, and sends INIT and STARTUP IPIs with vector
# 0x08: the AP starts in real mode at 0x0800:0000, that is here. It loads the
# kernel's GDT, enters protected mode, takes the kernel's page directory, turns
# paging on and calls ap_entry on ap_stack, interrupts off throughout.
# Addresses inside the copy are AP_BASE + (label - ap_trampoline_start).

.set AP_BASE, 0x8000
.set CR0_PE, 0x00000001
.set CR0_PG_WP, 0x80010000

.section .data
.global ap_trampoline_start, ap_trampoline_end
.global ap_gdt_pointer, ap_cr3, ap_stack, ap_entry

.code16
ap_trampoline_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    lgdtl AP_BASE + (ap_gdt_pointer - ap_trampoline_start)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $0x08, $(AP_BASE + (ap_protected - ap_trampoline_start))

.code32
ap_protected:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    mov AP_BASE + (ap_cr3 - ap_trampoline_start), %eax
    mov %eax, %cr3
    mov %cr0, %eax
    or $CR0_PG_WP, %eax
    mov %eax, %cr0
    mov AP_BASE + (ap_stack - ap_trampoline_start), %esp
    xor %ebp, %ebp
    mov AP_BASE + (ap_entry - ap_trampoline_start), %eax
    call *%eax
1:  cli
    hlt
    jmp 1b

.align 4
ap_gdt_pointer:         # limit (16 bits), base (32 bits): the kernel's GDT
    .word 0
    .long 0
.align 4
ap_cr3:   .long 0       # the kernel's page directory (physical)
ap_stack: .long 0       # the top of the AP's stack
ap_entry: .long 0       # void entry(void), never returns
ap_trampoline_end:

.section .note.GNU-stack, "", @progbits
