# The tutorial-style test kernel's entry, descriptor-table loaders, exception
# stubs and the ring-3 round trip. AT&T syntax, i386 (the tutorial uses nasm).

.set MB_MAGIC, 0x1BADB002
.set MB_FLAGS, 0x00000003
.set MB_CHECKSUM, -(MB_MAGIC + MB_FLAGS)

.section .multiboot, "a"
.align 4
.long MB_MAGIC, MB_FLAGS, MB_CHECKSUM

.section .bss
.align 16
stack_bottom:
.skip 16384
stack_top:

.section .data
.global int80_esp
int80_esp: .long 0
user_return_esp: .long 0

.section .text
.global _start
_start:
    mov $stack_top, %esp
    push %esp                 # initial_esp, as the tutorial's boot.s passes it
    push %ebx                 # the multiboot information
    cli
    call kmain                # the tutorial names it main; -Wmain objects to that signature
1:  cli
    hlt
    jmp 1b

.global gdt_flush
gdt_flush:
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

.global tss_flush
tss_flush:
    mov $0x28, %ax
    ltr %ax
    ret

.global idt_flush
idt_flush:
    mov 4(%esp), %eax
    lidt (%eax)
    ret

# Exception stubs: a zero error code where the CPU pushes none, the vector,
# then pusha; isr_handler(registers *) reports and leaves QEMU.
.macro STUB vector, has_error
isr\vector:
    .if \has_error == 0
    pushl $0
    .endif
    pushl $\vector
    jmp isr_common
.endm
STUB 0,0
STUB 1,0
STUB 2,0
STUB 3,0
STUB 4,0
STUB 5,0
STUB 6,0
STUB 7,0
STUB 8,1
STUB 9,0
STUB 10,1
STUB 11,1
STUB 12,1
STUB 13,1
STUB 14,1
STUB 15,0
STUB 16,0
STUB 17,1
STUB 18,0
STUB 19,0
STUB 20,0
STUB 21,1
STUB 22,0
STUB 23,0
STUB 24,0
STUB 25,0
STUB 26,0
STUB 27,0
STUB 28,0
STUB 29,1
STUB 30,1
STUB 31,0

isr_common:
    pusha
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    push %esp
    call isr_handler
3:  cli
    hlt
    jmp 3b

.section .data
.global isr_stubs
isr_stubs:
    .long isr0, isr1, isr2, isr3, isr4, isr5, isr6, isr7, isr8, isr9, isr10, isr11
    .long isr12, isr13, isr14, isr15, isr16, isr17, isr18, isr19, isr20, isr21, isr22
    .long isr23, isr24, isr25, isr26, isr27, isr28, isr29, isr30, isr31

.section .text
# void enter_user(u32int user_esp)
.global enter_user
enter_user:
    push %ebp
    push %ebx
    push %esi
    push %edi
    mov %esp, user_return_esp
    mov 20(%esp), %ecx
    mov $0x23, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    pushl $0x23               # ss
    pushl %ecx                # esp
    pushfl                    # eflags: IF stays clear
    pushl $0x1B               # cs
    pushl $user_code          # eip
    iret

# Ring 3: two software interrupts, both taken on the TSS's esp0 stack.
user_code:
    int $0x80
    int $0x81
4:  jmp 4b

# int 0x80: record where the CPU put its frame, go back to ring 3.
.global int80_stub
int80_stub:
    mov %esp, %ss:int80_esp
    iret

# int 0x81: back to ring 0 for good, as if enter_user returned.
.global int81_stub
int81_stub:
    mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %fs
    mov %ax, %gs
    mov user_return_esp, %esp
    pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    ret

.section .note.GNU-stack, "", @progbits
