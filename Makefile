# The front door. `make` builds, `make check` runs the test suite,
# `make demo` runs the main job. CMake does the real work in build*/.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
BUILD ?= build

.PHONY: all deps build check check-asan check-tsan demo demo-torch bench clean install python
all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

check: build
	cd $(BUILD) && ctest --no-tests=error --output-on-failure -j $(JOBS) -LE slow

check-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DFRESH_SANITIZE=address,undefined
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --no-tests=error --output-on-failure -j $(JOBS) -LE slow

check-tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DFRESH_SANITIZE=thread
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --no-tests=error --output-on-failure -j $(JOBS) -L threads

# the Python package in $(BUILD)/python (PYTHONPATH=$(BUILD)/python); `pip install ./python` installs it
python: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target fresh_python

demo: build
	@scripts/demo $(BUILD)

# `fresh run` tuning a PyTorch network (docs/run.md)
demo-torch: build
	@scripts/demo-torch $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf build build-asan build-tsan
