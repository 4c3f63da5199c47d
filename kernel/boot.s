# Multiboot (version 1) entry point, descriptor-table loaders and the
# exception stubs of the holeheap demo kernel. AT&T syntax, i386.

.set MB_MAGIC,    0x1BADB002
.set MB_FLAGS,    0x00000003          # bit 0: page-align modules, bit 1: memory map
.set MB_CHECKSUM, -(MB_MAGIC + MB_FLAGS)

.section .multiboot, "a"
.align 4
.long MB_MAGIC, MB_FLAGS, MB_CHECKSUM

.section .bss
.align 16
boot_stack_bottom:
.skip 32768
boot_stack_top:

.section .text
.global _start
.type _start, @function
# The boot loader leaves eax = 0x2BADB002 and ebx = the multiboot info.
_start:
    mov $boot_stack_top, %esp
    xor %ebp, %ebp
    pushl $0
    popf
    push %ebx
    push %eax
    call kmain
    cli
1:  hlt
    jmp 1b

# void gdt_load(const struct descriptor_pointer *p): lgdt, then reload every
# segment register: data segments with selector 0x10, cs with a far jump to 0x08.
.global gdt_load
.type gdt_load, @function
gdt_load:
    mov 4(%esp), %eax
    lgdt (%eax)
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov %ax, %ss
    ljmp $0x08, $2f
2:  ret

# Exception stubs. Each pushes a zero error code when the CPU does not push
# one, then its vector number, so that every frame has the same shape.
.macro EXC_NO_ERROR vector
exception_stub_\vector:
    pushl $0
    pushl $\vector
    jmp exception_common
.endm
.macro EXC_WITH_ERROR vector
exception_stub_\vector:
    pushl $\vector
    jmp exception_common
.endm

EXC_NO_ERROR 0
EXC_NO_ERROR 1
EXC_NO_ERROR 2
EXC_NO_ERROR 3
EXC_NO_ERROR 4
EXC_NO_ERROR 5
EXC_NO_ERROR 6
EXC_NO_ERROR 7
EXC_WITH_ERROR 8
EXC_NO_ERROR 9
EXC_WITH_ERROR 10
EXC_WITH_ERROR 11
EXC_WITH_ERROR 12
EXC_WITH_ERROR 13
EXC_WITH_ERROR 14
EXC_NO_ERROR 15
EXC_NO_ERROR 16
EXC_WITH_ERROR 17
EXC_NO_ERROR 18
EXC_NO_ERROR 19
EXC_NO_ERROR 20
EXC_WITH_ERROR 21
EXC_NO_ERROR 22
EXC_NO_ERROR 23
EXC_NO_ERROR 24
EXC_NO_ERROR 25
EXC_NO_ERROR 26
EXC_NO_ERROR 27
EXC_NO_ERROR 28
EXC_WITH_ERROR 29
EXC_WITH_ERROR 30
EXC_NO_ERROR 31

# The frame handed to exception_handler: pusha's eight registers, then the
# vector, the error code and what the CPU pushed (eip, cs, eflags).
exception_common:
    pusha
    cld
    push %esp
    call exception_handler
    add $4, %esp
    popa
    add $8, %esp
    iret

.section .rodata
.align 4
.global exception_stubs
exception_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .long exception_stub_\v
.endr

# No executable stack.
.section .note.GNU-stack, "", @progbits
