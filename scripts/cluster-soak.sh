#!/usr/bin/env bash
# Runs every cluster fault test (tests/cluster: kills, pauses, drains, quorum loss, lost disks,
# rolling restarts, network partitions, slow links) in a loop for as long as asked, against the
# dev build: `make cluster-soak SOAK_MINUTES=120`. Each round runs the whole cluster suite once,
# in a random order; a round that fails keeps its processes' logs and data (TERN_KEEP_TEST_DIRS)
# under the soak directory and stops the soak. The figures the tests measure ("measured: ...")
# are collected into <dir>/measured.txt, so a long soak gives the spread of stall times.
#
#   scripts/cluster-soak.sh BUILD_DIR MINUTES [DIR]
set -euo pipefail

build=${1:?usage: cluster-soak.sh BUILD_DIR MINUTES [DIR]}
minutes=${2:?usage: cluster-soak.sh BUILD_DIR MINUTES [DIR]}
dir=${3:-$PWD/cluster-soak}
tests="$build/tests/tern_cluster_tests"
[[ -x $tests ]] || { echo "cluster-soak: $tests is not built" >&2; exit 2; }

mkdir -p "$dir"
deadline=$(( $(date +%s) + minutes * 60 ))
round=0
passed=0
echo "cluster-soak: every cluster test in a loop for $minutes min; logs in $dir"
while (( $(date +%s) < deadline )); do
    round=$(( round + 1 ))
    work="$dir/round-$round"
    mkdir -p "$work"
    started=$(date +%s)
    # The test processes' temporary directories go under this round's directory.
    if TMPDIR="$work" TERN_KEEP_TEST_DIRS=1 "$tests" "[cluster]" --order rand --rng-seed time \
        --warn NoTests >"$work/output.txt" 2>&1; then
        passed=$(( passed + 1 ))
        grep '^measured:' "$work/output.txt" | sed "s/^/round $round: /" >>"$dir/measured.txt" || true
        rm -rf "$work"
        echo "round $round passed in $(( $(date +%s) - started )) s"
    else
        echo "round $round FAILED after $(( $(date +%s) - started )) s: see $work/output.txt" \
             "and the processes' logs beside it" >&2
        grep -E 'FAILED|with expansion|^  ' "$work/output.txt" | head -40 >&2 || true
        echo "cluster-soak: $passed of $round rounds passed" >&2
        exit 1
    fi
done
echo "cluster-soak: all $passed rounds passed; figures in $dir/measured.txt"
