# What the tests need (issue 8 item 5): Debian packages, installed by apt-get.
#   make deps     as root: install the missing ones, saying which; otherwise name
#                 them and print the one apt-get line that installs them (exit 1)
#   make test     does the same first (test-deps), so that a machine without them
#                 stops there and not in the middle; make test DEPS=skip runs
#                 anyway (a check whose tool is missing SKIPs or fails)
# A part of the build that needs another package adds it here or with
# DEPS_PACKAGES += in its own mk file. The i386 ones are for the -m32 test builds.

DEPS_PACKAGES := build-essential gcc-multilib binutils git pkg-config python3 perl \
  clang libclang-rt-14-dev clang-format clang-tidy \
  libcmocka-dev libcmocka-dev:i386 valgrind qemu-system-x86 qemu-user \
  libjemalloc-dev libjemalloc2 libmimalloc-dev libmimalloc2.0 sqlite3 chromium

DEPS ?= install

.PHONY: deps test-deps
deps:
	@sh tools/deps.sh install $(sort $(DEPS_PACKAGES))

test-deps:
ifeq ($(DEPS),skip)
	@echo "deps: not checked (DEPS=skip)"
else
	@sh tools/deps.sh install $(sort $(DEPS_PACKAGES))
endif
