# holeheap build. `make` builds the libraries; `make demo`, `make test`,
# `make bench`, `make fuzz`, `make install PREFIX=...`. Parts of the project
# add their own targets from mk/*.mk.

.DEFAULT_GOAL := all

CC      ?= cc
CLANG   ?= clang
AR      ?= ar
PREFIX  ?= /usr/local
BUILD   := build
VERSION := 0.1.0

WARN := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wconversion -Wsign-conversion \
        -Wshadow -Wcast-align -Wstrict-prototypes -Wmissing-prototypes -Wvla
CORE_CFLAGS := $(WARN) -Iinclude -Isrc -fno-strict-aliasing
CORE_SRCS := $(wildcard src/*.c)
CORE_HDRS := include/holeheap.h $(wildcard src/*.h)

# Core variants: build/<variant>/libholeheap.a. Each sets a compiler and flags.
# The checking variants (sanitizers, fuzz, 32-bit) trap on a failed HH_ASSERT
# (src/hh_assert.h); fast and table are the release and benchmark builds.
ASSERTS := -DHH_ASSERTS
VARIANTS := fast table asan asan-table m32 m32-table fuzz fuzz-table
VCC_fast       := $(CC)
VFLAGS_fast    := -O2 -g -fPIC
VCC_table      := $(CC)
VFLAGS_table   := -O2 -g -DHH_INDEX_TABLE
SAN            := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
VCC_asan       := $(CLANG)
VFLAGS_asan    := -O1 -g $(SAN) $(ASSERTS)
VCC_asan-table := $(CLANG)
VFLAGS_asan-table := -O1 -g $(SAN) $(ASSERTS) -DHH_INDEX_TABLE
VCC_m32        := $(CC)
VFLAGS_m32     := -m32 -O2 -g $(ASSERTS)
VCC_m32-table  := $(CC)
VFLAGS_m32-table := -m32 -O2 -g $(ASSERTS) -DHH_INDEX_TABLE
VCC_fuzz       := $(CLANG)
VFLAGS_fuzz    := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(ASSERTS)
VCC_fuzz-table := $(CLANG)
VFLAGS_fuzz-table := $(VFLAGS_fuzz) -DHH_INDEX_TABLE

define variant_rules
$(BUILD)/$(1)/obj/%.o: src/%.c $(CORE_HDRS)
	@mkdir -p $$(@D)
	$$(VCC_$(1)) $$(CORE_CFLAGS) $$(VFLAGS_$(1)) -c $$< -o $$@
$(BUILD)/$(1)/libholeheap.a: $(patsubst src/%.c,$(BUILD)/$(1)/obj/%.o,$(CORE_SRCS))
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach v,$(VARIANTS),$(eval $(call variant_rules,$(v))))

LIB_A  := $(BUILD)/fast/libholeheap.a
LIB_SO := $(BUILD)/fast/libholeheap.so

.PHONY: all lib demo test bench fuzz install clean freestanding
all: lib
lib: $(LIB_A) $(LIB_SO)

$(LIB_SO): $(patsubst src/%.c,$(BUILD)/fast/obj/%.o,$(CORE_SRCS))
	$(CC) -shared -Wl,-soname,libholeheap.so.0 -o $@ $^

# The undefined symbols of object $(1) other than those the freestanding core
# may use (also the amalgamation's check, mk/amalgamation.mk).
freestanding_extra = nm -u $(1) | awk '{print $$2}' | sort -u | \
  grep -vxE 'memcpy|memset|memmove|_GLOBAL_OFFSET_TABLE_|__x86.get_pc_thunk.*' || true

# The core alone, freestanding, for both targets and both indexes: proves it needs no libc.
freestanding:
	@for arch in -m64 -m32 "-m64 -DHH_INDEX_TABLE" "-m32 -DHH_INDEX_TABLE"; do \
	  dir=$(BUILD)/free$$(echo $$arch | tr -d ' '); mkdir -p $$dir; rm -f $$dir/*.o; \
	  for f in $(CORE_SRCS); do \
	    $(CC) $$arch $(CORE_CFLAGS) -O2 -ffreestanding -fno-builtin -nostdlib \
	      -c $$f -o $$dir/$$(basename $$f .c).o || exit 1; \
	  done; \
	  $(CC) $$arch -nostdlib -r -o $$dir/core.ro $$dir/*.o || exit 1; \
	  undef=$$($(call freestanding_extra,$$dir/core.ro)); \
	  if [ -n "$$undef" ]; then echo "freestanding core ($$arch) needs: $$undef"; exit 1; fi; \
	  echo "freestanding core ($$arch): calls only memcpy/memset/memmove"; \
	done

# How 32-bit test programs run: natively where this kernel runs i386 code,
# else under qemu-i386 (Debian's qemu-user), else the 32-bit checks SKIP.
# M32_RUN is the command prefix ("" natively); M32_HOW says which, or "none".
M32_HOW := $(shell mkdir -p $(BUILD) && printf 'int main(void){return 0;}\n' | \
  $(CC) -m32 -x c - -o $(BUILD)/.m32probe 2>/dev/null && \
  { timeout 20 ./$(BUILD)/.m32probe 2>/dev/null && echo native || \
    { command -v qemu-i386 >/dev/null 2>&1 && timeout 20 qemu-i386 ./$(BUILD)/.m32probe && echo qemu-i386; }; } || echo none)
M32_RUN := $(if $(filter qemu-i386,$(M32_HOW)),qemu-i386,)
m32_cannot_run = if [ "$(M32_HOW)" = none ]; then \
  echo "SKIP: this machine cannot run 32-bit programs (no gcc-multilib, or no IA32 support and no qemu-i386)"; exit 0; fi

# ---- tests: every part appends make targets to CHECKS; `make test` runs them all
## freestanding: the core alone compiled -ffreestanding -nostdlib for -m64 and -m32, both indexes, needs nothing but memcpy/memset/memmove (nm -u)
CHECKS := freestanding
include $(sort $(wildcard mk/*.mk))

test: test-deps
	@pass=0; fail=0; failed=""; \
	for t in $(CHECKS); do \
	  echo "=== $$t"; \
	  if $(MAKE) --no-print-directory $$t; then pass=$$((pass+1)); \
	  else fail=$$((fail+1)); failed="$$failed $$t"; fi; \
	done; \
	echo; [ -z "$$failed" ] || echo "failed:$$failed"; \
	echo "$$pass passed, $$fail failed"; [ $$fail = 0 ]

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/holeheap.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(LIB_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIB_SO) $(DESTDIR)$(PREFIX)/lib/libholeheap.so.0
	ln -sf libholeheap.so.0 $(DESTDIR)$(PREFIX)/lib/libholeheap.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' holeheap.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/holeheap.pc
	install -d $(DESTDIR)$(PREFIX)/lib/cmake/holeheap
	for f in holeheapConfig holeheapConfigVersion; do \
	  sed -e 's|@HH_PREFIX_FROM_CONFIG@|../../..|g' -e 's|@HH_LIBRARY@|lib/libholeheap.a|g' \
	    -e 's|@HH_INCLUDEDIR@|include|g' -e 's|@HH_VERSION@|$(VERSION)|g' \
	    -e "s|@HH_SIZEOF_VOID_P@|$$($(CC) -dM -E -x c /dev/null | sed -n 's/^#define __SIZEOF_POINTER__ //p')|g" \
	    cmake/$$f.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/holeheap/$$f.cmake || exit 1; \
	done

# `make install` into a scratch prefix, then build and run a program against it
# through pkg-config, with the shared library and with the static one.
## check-install: make install into a scratch prefix, then a program built through pkg-config runs with the shared and the static library
CHECKS += check-install
check-install:
	@command -v pkg-config >/dev/null || { echo "SKIP: pkg-config is not installed"; exit 0; }; \
	prefix=$$(mktemp -d) && trap 'rm -rf "$$prefix"' EXIT && \
	$(MAKE) --no-print-directory -s install PREFIX=$$prefix >/dev/null && \
	export PKG_CONFIG_PATH=$$prefix/lib/pkgconfig && \
	$(CC) $(WARN) tests/install/use_installed.c $$(pkg-config --cflags --libs holeheap) -o $$prefix/use_so && \
	LD_LIBRARY_PATH=$$prefix/lib $$prefix/use_so && \
	$(CC) $(WARN) -static tests/install/use_installed.c $$(pkg-config --cflags --libs --static holeheap) -o $$prefix/use_a && \
	$$prefix/use_a

clean:
	rm -rf $(BUILD)

# `make bench`: the core benchmark (mk/bench.mk) and the drop-in malloc's (mk/port.mk)
bench: bench-port

# ---- the demo
$(BUILD)/demo: demo/demo.c include/holeheap.h $(LIB_A)
	$(CC) $(WARN) -O2 -g -Iinclude $< $(LIB_A) -o $@

demo: $(BUILD)/demo
	./$(BUILD)/demo
