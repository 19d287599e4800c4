# The two commands of the quick start, plus a few helpers. Every target installs what is missing
# first, so each works on a fresh Debian 12 machine.
SHELL := /bin/bash
JOBS ?= $(shell nproc)

.PHONY: deps build release test run bench-storage format clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# Runs the whole suite through CTest; CTest prints the summary.
test: build
	@ctest --preset dev -j $(JOBS)

# The gateway (ternd) arrives with the gateway issue; until then there is nothing to run.
run: deps
	@echo "make run: ternd, the gateway, is not built yet (it lands with the gateway issue)." >&2
	@echo "          What exists today: the wire protocol, the store and their tests (make test)." >&2
	@exit 1

bench-storage: release
	@build/release/bench/tern-storage-bench

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build
