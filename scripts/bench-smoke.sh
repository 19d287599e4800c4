#!/usr/bin/env bash
# `make bench-smoke` (and a CTest test): every tern-bench scenario for a few seconds at a small
# scale against a fresh ternd, over tcp and once over tls and ws. Asserts only what a benchmark may
# assert in CI: each scenario completes and its correctness counters are zero (tern-bench exits
# non-zero otherwise). Never a duration.
#
#   scripts/bench-smoke.sh [BUILD_DIR]        (default build/dev)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/dev}
dir=$(mktemp -d /tmp/tern-bench-smoke.XXXXXX)
port=$((20000 + $$ % 3000 * 4))  # below the ephemeral range; four ports from here
server_pid=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

scripts/bench-server.sh --bin "$bin" --dir "$dir" --port "$port" >"$dir/ternd.log" 2>&1 &
server_pid=$!
up=""
for _ in $(seq 1 100); do
    kill -0 "$server_pid" 2>/dev/null || break  # e.g. the port was taken
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && up=1 && break
    sleep 0.1
done
if [[ -z "$up" ]]; then
    echo "bench smoke: ternd did not start on port $port:" >&2
    cat "$dir/ternd.log" >&2
    exit 1
fi
trap 'echo "bench smoke failed; ternd log:" >&2; tail -n 30 "$dir/ternd.log" >&2' ERR

bench=("$bin/bench/tern-bench" --key "$dir/keys/dev.key" --url "tcp://127.0.0.1:$port"
       --server-pid "$server_pid" --quiet --settle-timeout 60)
run() {
    echo "== tern-bench $*"
    "${bench[@]}" "$@" --json "$dir/last.json"
}
run conn --clients 200 --rate 1000 --seconds 1 --sources 2
run send --clients 20 --rate 200 --seconds 2 --warmup 0.5
metrics="http://127.0.0.1:$((port + 4))/metrics"  # ternd's own delivery latency (admin)
run e2e --clients 10 --rate 100 --seconds 2 --warmup 0.5 --threshold 'e2e.count>0' \
    --metrics "$metrics" --threshold 'server_delivery.count>0'
run group --groups 3 --members 10 --senders 2 --rate 100 --seconds 2 --warmup 0.5
run group --groups 2 --members 10 --rate 50 --seconds 1 --warmup 0.5 --notify-settings
run churn --clients 50 --missed 5 --feeders 2 --rate 100 --seconds 2
run send --clients 10 --rate 100 --seconds 1 --warmup 0.5 \
    --url "tls://127.0.0.1:$((port + 1))" --ca "$dir/tls/cert.pem"
run conn --clients 50 --rate 500 --seconds 1 --url "ws://127.0.0.1:$((port + 2))/"
run send --clients 20 --rate 100 --seconds 1 --warmup 0.5 --procs 2 \
    --metrics "$metrics" --threshold 'server_delivery.count>0'
echo "bench smoke: every scenario completed with clean counters"
