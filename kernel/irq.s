# Hardware interrupt stubs (IRQ 0-15 at vectors 32-47) and the yield vector
# (48). AT&T syntax, i386.
#
# Every stub builds the same frame as the exception stubs (boot.s): a zero
# error code, the vector, then pusha. irq_dispatch gets a pointer to that
# frame and returns the stack pointer to resume from: the same frame, or the
# frame another thread left on its own stack when it was switched out. That is
# the whole context switch: all threads run in ring 0 with flat segments and
# no FPU state, so the general registers and eip/cs/eflags are all there is.

.macro IRQ_STUB vector
irq_stub_\vector:
    pushl $0
    pushl $\vector
    jmp irq_common
.endm

.section .text
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48
IRQ_STUB \v
.endr

irq_common:
    pusha
    cld
    push %esp                 # the frame's address: irq_dispatch's argument
    call irq_dispatch
    mov %eax, %esp            # resume this thread's frame, or another one's
    popa
    add $8, %esp              # the vector and the error code
    iret

.section .rodata
.align 4
.global irq_stubs
irq_stubs:
.irp v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48
    .long irq_stub_\v
.endr

.section .note.GNU-stack, "", @progbits
