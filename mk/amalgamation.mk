# The single-file build (issue 10 item 6).
#   make amalgamation         build/amalgamation/holeheap.c and holeheap.h (tools/amalgamate.sh),
#                             every src/*.c and the src/*.h they include, in one file
#   make check-amalgamation   they compile alone (copied to a scratch directory, no -I) and
#                             freestanding for -m64 and -m32 with both indexes, needing nothing but
#                             memcpy/memset/memmove (nm -u, as `make freestanding`); a hosted program
#                             built from them runs allocations, frees and hh_check with both indexes

AMALG_DIR := $(BUILD)/amalgamation
AMALG_C   := $(AMALG_DIR)/holeheap.c

.PHONY: amalgamation check-amalgamation
amalgamation: $(AMALG_C)

$(AMALG_C): $(CORE_SRCS) $(CORE_HDRS) tools/amalgamate.sh Makefile
	@sh tools/amalgamate.sh $(AMALG_DIR) $(VERSION)

## check-amalgamation: make amalgamation's holeheap.c/.h compile alone, freestanding -m64/-m32 (both indexes, nm -u as freestanding), and a program built from them runs
CHECKS += check-amalgamation
check-amalgamation: $(AMALG_C)
	@dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && cp $(AMALG_DIR)/holeheap.c $(AMALG_DIR)/holeheap.h $$dir/ && \
	for f in $(CORE_SRCS); do grep -qx "#line 1 \"$$f\"" $$dir/holeheap.c || \
	  { echo "FAIL: $$f is not in the amalgamation"; exit 1; }; done && \
	for arch in -m64 -m32; do for idx in "" -DHH_INDEX_TABLE; do \
	  (cd $$dir && $(CC) $$arch $(WARN) -fno-strict-aliasing -O2 -ffreestanding -fno-builtin -nostdlib $$idx \
	    -c holeheap.c -o core.o && $(CC) $$arch -nostdlib -r -o core.ro core.o) || \
	    { echo "FAIL: the amalgamation does not compile alone ($$arch $$idx)"; exit 1; }; \
	  undef=$$($(call freestanding_extra,$$dir/core.ro)); \
	  if [ -n "$$undef" ]; then echo "FAIL: freestanding amalgamation ($$arch $$idx) needs: $$undef"; exit 1; fi; \
	  echo "amalgamation, freestanding $$arch $${idx:-(tree index)}: compiles alone, calls only memcpy/memset/memmove"; \
	done; done && \
	for idx in "" -DHH_INDEX_TABLE; do \
	  $(CC) $(WARN) -fno-strict-aliasing -O2 $$idx -I$$dir tests/amalgamation/use_amalgamation.c $$dir/holeheap.c \
	    -o $$dir/use && $$dir/use || { echo "FAIL: a program built from the amalgamation ($$idx)"; exit 1; }; \
	done
