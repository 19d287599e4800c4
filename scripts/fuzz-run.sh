#!/usr/bin/env bash
# Runs one libFuzzer target of the fuzz preset from its committed seeds for SECONDS, with a fresh
# working corpus (CTest runs each target this way in `make test`; `make fuzz` runs them longer
# and keeps what they find in build/fuzz/corpus). Exit status 0 when nothing was found.
#
#   scripts/fuzz-run.sh FUZZ_BUILD_DIR TARGET SECONDS     (TARGET: frame_codec, connection, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$1 target=$2 seconds=$3
binary="$build/tests/fuzz/tern_fuzz_$target"
if [[ ! -x "$binary" ]]; then
    echo "fuzz-run: $binary is missing: build the fuzz preset first (make test and make fuzz do)" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-fuzz-$target.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# -timeout: an input taking this long is a hang; -rss_limit_mb: a leak or a blow-up.
status=0
"$binary" "$work/corpus" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/" >"$work/log" 2>&1 ||
    status=$?
grep -v "^\[libprotobuf" "$work/log" | tail -n 30
if [[ $status -ne 0 ]]; then
    for crash in "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$work"/leak-*; do
        [[ -f "$crash" ]] || continue
        mkdir -p "$build/fuzz-findings"
        cp "$crash" "$build/fuzz-findings/"
        echo "fuzz-run: $target found $(basename "$crash"), kept in $build/fuzz-findings/" >&2
    done
fi
exit "$status"
