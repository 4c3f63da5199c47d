# holeheap in CMake builds (issue 10 item 6): CMakeLists.txt builds the core
# library; `make install` and a CMake install both write holeheapConfig.cmake
# (cmake/*.in) for find_package(holeheap).
#   make check-cmake   a small program (tests/cmake/) built three ways, each run:
#                      add_subdirectory(holeheap) with target_link_libraries(app holeheap);
#                      find_package(holeheap) after `make install` into a scratch prefix;
#                      find_package after a CMake install (the table index, BUILD_SHARED_LIBS);
#                      and find_package(holeheap 99) must be refused

DEPS_PACKAGES += cmake
CMAKE ?= cmake

# Configure, build and run tests/cmake's program: $(1) its source dir, $(2) its build dir, $(3) cmake options.
cmake_consumer = $(CMAKE) -S $(1) -B $(2) $(3) >$(2).log 2>&1 && $(CMAKE) --build $(2) >>$(2).log 2>&1 && \
  LD_LIBRARY_PATH=$$s/cmake-prefix/lib $(2)/consumer || { cat $(2).log; echo "FAIL: check-cmake: $(2)"; exit 1; }

.PHONY: check-cmake
## check-cmake: a program built with add_subdirectory(holeheap), and with find_package(holeheap) after make install and after a CMake install
CHECKS += check-cmake
check-cmake:
	@command -v $(CMAKE) >/dev/null || { echo "SKIP: cmake is not installed (make deps)"; exit 0; }; \
	s=$$(mktemp -d) && trap 'rm -rf "$$s"' EXIT && \
	mkdir $$s/app && cp tests/cmake/consumer.c tests/cmake/subdir/CMakeLists.txt $$s/app/ && ln -s $(CURDIR) $$s/app/holeheap && \
	$(call cmake_consumer,$$s/app,$$s/app-build,-DHOLEHEAP_WARNINGS=ON) && \
	$(MAKE) --no-print-directory -s install PREFIX=$$s/make-prefix >/dev/null && \
	$(call cmake_consumer,tests/cmake/package,$$s/make-build,-DCMAKE_PREFIX_PATH=$$s/make-prefix) && \
	$(CMAKE) -S . -B $$s/hh-build -DHOLEHEAP_INDEX_TABLE=ON -DBUILD_SHARED_LIBS=ON >$$s/hh-build.log 2>&1 && \
	$(CMAKE) --build $$s/hh-build >>$$s/hh-build.log 2>&1 && \
	$(CMAKE) --install $$s/hh-build --prefix $$s/cmake-prefix >>$$s/hh-build.log 2>&1 || \
	  { cat $$s/hh-build.log; echo "FAIL: check-cmake: the CMake build or install of holeheap"; exit 1; }; \
	$(call cmake_consumer,tests/cmake/package,$$s/cmake-build,-DCMAKE_PREFIX_PATH=$$s/cmake-prefix) && \
	if $(CMAKE) -S tests/cmake/package -B $$s/too-new -DCMAKE_PREFIX_PATH=$$s/make-prefix -DHOLEHEAP_WANT=99 \
	     >$$s/too-new.log 2>&1; then echo "FAIL: check-cmake: find_package(holeheap 99) found version $(VERSION)"; exit 1; \
	else echo "find_package(holeheap 99) refused: $$(grep -o 'version: [0-9.]*' $$s/too-new.log | head -1)"; fi
