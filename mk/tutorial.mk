# The tutorial kit (issue 14): kernel/tutorial/ replaces the classic kernel
# tutorial's kheap.h, kheap.c, ordered_array.h and ordered_array.c. Its test
# kernel (kernel/tutorial-test/) is built the tutorial's way: every file copied
# into one flat directory (the kit, holeheap.h, src/*, the test kernel's own
# tutorial-style files), compiled there with the tutorial's flags and no -I,
# linked with ld -T link.ld (no libgcc, as the tutorial). Two builds: the tutorial's flags as they are (the
# compiler's default C dialect), and with -ffreestanding and -std=c11.
#
#   make tutorial-kit         build/tutorial-kit/{plain,freestanding}/kernel.elf
#   make check-tutorial-kit   the core compiled with -DHH_NO_STDINC (-m32, -m64), then both
#                             kernels booted in QEMU, verdicts asserted (kernel/tutorial-test/check.sh)

TUT_DIR    := $(BUILD)/tutorial-kit
TUT_FLAGS  := -m32 -nostdlib -nostdinc -fno-builtin -fno-stack-protector
TUT_FILES  := $(wildcard kernel/tutorial/*) $(wildcard kernel/tutorial-test/*.[chs]) \
  kernel/tutorial-test/link.ld include/holeheap.h $(wildcard src/*.[ch])
TUT_VFLAGS_plain        := $(filter-out -std=c11,$(WARN))
TUT_VFLAGS_freestanding := -ffreestanding $(WARN)

define tutorial_variant
$(TUT_DIR)/$(1)/kernel.elf: $(TUT_FILES) mk/tutorial.mk
	@rm -rf $(TUT_DIR)/$(1) && mkdir -p $(TUT_DIR)/$(1)
	cp $(TUT_FILES) $(TUT_DIR)/$(1)/
	cd $(TUT_DIR)/$(1) && for f in *.c; do \
	  $(KERNEL_CC) $(TUT_FLAGS) $(TUT_VFLAGS_$(1)) -c $$$$f -o $$$${f%.c}.o || exit 1; done && \
	  $(KERNEL_AS) --32 -o boot_s.o boot.s && \
	  $(KERNEL_LD) -m elf_i386 -T link.ld -o kernel.elf *.o
endef
$(foreach v,plain freestanding,$(eval $(call tutorial_variant,$(v))))

.PHONY: tutorial-kit check-tutorial-kit
tutorial-kit: $(TUT_DIR)/plain/kernel.elf $(TUT_DIR)/freestanding/kernel.elf

## check-tutorial-kit: the tutorial kit: the core with -DHH_NO_STDINC, and two test kernels built the tutorial's way booted in QEMU
CHECKS += check-tutorial-kit
check-tutorial-kit:
	@mkdir -p $(TUT_DIR)/nostdinc && for arch in -m32 -m64; do for f in $(CORE_SRCS); do \
	  $(CC) $$arch $(CORE_CFLAGS) -DHH_NO_STDINC -ffreestanding -c $$f -o $(TUT_DIR)/nostdinc/x.o || exit 1; \
	done; done; echo "the core builds with -DHH_NO_STDINC (-m32, -m64)"
	@if command -v $(QEMU_I386) >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory tutorial-kit >/dev/null || exit 1; \
	  QEMU_I386=$(QEMU_I386) sh kernel/tutorial-test/check.sh $(TUT_DIR)/plain $(TUT_DIR)/freestanding; \
	else echo "SKIP: $(QEMU_I386) not installed"; fi
