# The two commands of the quick start, plus a few helpers. Every target installs what is missing
# first, so each works on a fresh Debian 12 machine.
SHELL := /bin/bash
JOBS ?= $(shell nproc)

.PHONY: deps build release test run cluster cluster-soak bench-storage bench-smoke fuzz fuzz-build format clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# The libFuzzer targets (clang, the fuzz preset), nothing else of that preset.
FUZZ_TARGETS := tern_fuzz_frame_codec tern_fuzz_connection tern_fuzz_websocket tern_fuzz_store_model
fuzz-build:
	@scripts/install-deps.sh --fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) --target $(FUZZ_TARGETS)

# Runs the whole suite through CTest (each fuzz target for 30 s among it); CTest prints the
# summary.
test: build fuzz-build
	@ctest --preset dev -j $(JOBS)

# Builds the release ternd, ternctl and tern-chat (nothing else) and starts ternd with a
# development setup in ./data.
run: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target ternd ternctl tern-chat
	@scripts/run-dev.sh

# Builds the release ternd, ternctl and tern-chat and starts a 3-node cluster on this machine
# (3 nats-server, 3 ternd) with its data in ./cluster-data; Ctrl-C stops everything.
cluster: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target ternd ternctl tern-chat
	@scripts/run-cluster.sh

# Every cluster fault test in a loop, in random order, for SOAK_MINUTES (default 60); stops at
# the first failure, keeping its logs in ./cluster-soak (scripts/cluster-soak.sh).
SOAK_MINUTES ?= 60
cluster-soak: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS) --target tern_cluster_tests ternd ternctl
	@scripts/cluster-soak.sh build/dev $(SOAK_MINUTES)

bench-storage: release
	@build/release/bench/tern-storage-bench

# Every tern-bench scenario for a few seconds at a small scale: completes, counters clean.
# (make test runs it too, through CTest.)
bench-smoke: build
	@scripts/bench-smoke.sh build/dev

# Builds the libFuzzer targets (clang) and runs each from its seeds for FUZZ_SECONDS, keeping
# what they find in build/fuzz/corpus/<target>.
FUZZ_SECONDS ?= 60
fuzz: fuzz-build
	@set -o pipefail; for f in build/fuzz/tests/fuzz/tern_fuzz_*; do \
	    name=$${f##*/tern_fuzz_}; mkdir -p build/fuzz/corpus/$$name; \
	    echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	    $$f build/fuzz/corpus/$$name tests/fuzz/corpus/$$name \
	        -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2>&1 | tail -n 12 || exit 1; \
	done

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	@rm -rf build
