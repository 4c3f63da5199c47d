# The demo kernel (kernel/, issues 4 and 13): a multiboot i386 kernel whose kernel
# heap is holeheap. The core sources are compiled into the image, freestanding.
#
#   make kernel             build/kernel/holeheap-kernel.elf
#   make kernel-run         boot it in QEMU, serial console on the terminal; words in
#                           KERNEL_APPEND: fault-test (end by reading a page the heap
#                           gave back; fault-test=kprintf: read it inside kprintf),
#                           hardened, seed=N, lock=irq (the interrupt-disabling lock
#                           hook), threads=N (1-6 workers), threads-ms=N (100-30000),
#                           irq-alloc-test (kmalloc in the timer interrupt: the
#                           spinlock refuses it, status 35 expected), smp (with
#                           QEMU_SMP=2: a worker on CPU 1); QEMU_MEM=12: too few
#                           frames, the limit check fails
#   make check-kernel-boot  boot it seven times with a timeout, assert the verdicts
#                           (kernel/qemu-boot.sh)

KERNEL_CC   ?= gcc
KERNEL_AS   ?= as
KERNEL_LD   ?= ld
QEMU_I386   ?= qemu-system-i386
QEMU_MEM    ?= 64
QEMU_SMP    ?= 1
KERNEL_DIR  := $(BUILD)/kernel
KERNEL_ELF  := $(KERNEL_DIR)/holeheap-kernel.elf
KERNEL_CFLAGS := -m32 -march=i686 -ffreestanding -nostdlib -fno-builtin -fno-pic -fno-pie \
  -fno-stack-protector -fno-asynchronous-unwind-tables -mno-mmx -mno-sse -mno-sse2 \
  -O2 -g $(WARN) -fno-strict-aliasing -Iinclude -Ikernel
# The kernel's own files see the public header only; the core's see src/ too.
KERNEL_LIBGCC := $(shell $(KERNEL_CC) -m32 -print-libgcc-file-name 2>/dev/null)
KERNEL_HDRS := $(wildcard kernel/*.h) $(CORE_HDRS)
KERNEL_OBJS := $(patsubst kernel/%.s,$(KERNEL_DIR)/obj/%.o,$(wildcard kernel/*.s)) \
  $(patsubst kernel/%.c,$(KERNEL_DIR)/obj/%.o,$(wildcard kernel/*.c)) \
  $(patsubst src/%.c,$(KERNEL_DIR)/obj/core/%.o,$(CORE_SRCS))

.PHONY: kernel kernel-run check-kernel-boot
kernel: $(KERNEL_ELF)

$(KERNEL_DIR)/obj/%.o: kernel/%.s
	@mkdir -p $(@D)
	$(KERNEL_AS) --32 -o $@ $<
$(KERNEL_DIR)/obj/%.o: kernel/%.c $(KERNEL_HDRS)
	@mkdir -p $(@D)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -c $< -o $@
$(KERNEL_DIR)/obj/core/%.o: src/%.c $(KERNEL_HDRS)
	@mkdir -p $(@D)
	$(KERNEL_CC) $(KERNEL_CFLAGS) -Isrc -c $< -o $@

$(KERNEL_ELF): $(KERNEL_OBJS) kernel/link.ld
	$(KERNEL_LD) -m elf_i386 -nostdlib -T kernel/link.ld -o $@ $(KERNEL_OBJS) \
	  $(wildcard $(KERNEL_LIBGCC))
	@if command -v grub-file >/dev/null 2>&1; then \
	  grub-file --is-x86-multiboot $@ && echo "grub-file: $@ is multiboot" || \
	  { echo "grub-file: $@ is not multiboot"; rm -f $@; exit 1; }; fi

kernel-run: $(KERNEL_ELF)
	@QEMU_I386=$(QEMU_I386) QEMU_MEM=$(QEMU_MEM) QEMU_SMP=$(QEMU_SMP) sh kernel/qemu-boot.sh run $(KERNEL_ELF) "$(KERNEL_APPEND)"

## check-kernel-boot: boots the demo kernel in QEMU seven times (threads, faults, hardened, irq lock, irq allocation, two CPUs) and asserts its self-test
CHECKS += check-kernel-boot
check-kernel-boot:
	@if command -v $(QEMU_I386) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory kernel >/dev/null || exit 1; \
	  QEMU_I386=$(QEMU_I386) sh kernel/qemu-boot.sh check $(KERNEL_ELF) $(KERNEL_DIR); \
	else echo "SKIP: $(QEMU_I386) not installed"; fi
