#!/usr/bin/env bash
# Reproduces the tables of docs/benchmarks.md: every scenario three times against a fresh ternd
# pinned to core 1, tern-bench pinned to core 0, from the release build. Each run's JSON lands in
# OUT; the medians are printed at the end (python3). Takes about 15 minutes.
#
#   scripts/bench-record.sh [OUT]             (default /tmp/tern-record)
#   ONLY=send scripts/bench-record.sh         (the scenarios whose name starts with "send")
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/tern-record}
bin=build/release
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

server_pid=""
start_server() {  # durability
    stop_server
    if (echo >/dev/tcp/127.0.0.1/7500) 2>/dev/null; then
        echo "port 7500 is taken: stop the ternd that holds it first" >&2
        exit 1
    fi
    CPU=1 scripts/bench-server.sh --bin "$bin" --dir "$out/server" --durability "$1" \
        >"$out/ternd.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do
        kill -0 "$server_pid" 2>/dev/null || break
        (echo >/dev/tcp/127.0.0.1/7500) 2>/dev/null && return 0
        sleep 0.1
    done
    cat "$out/ternd.log" >&2
    echo "ternd did not start" >&2
    exit 1
}
stop_server() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

# name durability url scenario-arguments...
record() {
    local name=$1 durability=$2 url=$3
    shift 3
    [[ -n "${ONLY:-}" && "$name" != "$ONLY"* ]] && return 0
    for i in 1 2 3; do
        start_server "$durability"
        echo "== $name run $i: tern-bench $* --url $url"
        taskset -c 0 "$bin/bench/tern-bench" "$@" --url "$url" --key "$out/server/keys/dev.key" \
            --ca "$out/server/tls/cert.pem" --server-pid "$server_pid" --quiet \
            --metrics http://127.0.0.1:7504/metrics \
            --json "$out/$name-$i.json" | grep -E "tern-bench|correctness" || true
    done
    stop_server
}

tcp=tcp://127.0.0.1:7500
tls=tls://127.0.0.1:7501
ws=ws://127.0.0.1:7502/

record conn-tcp fsync $tcp conn --clients 19000 --rate 5000 --seconds 5 --sources 4
record conn-ws fsync $ws conn --clients 19000 --rate 5000 --seconds 5 --sources 4
record conn-tls fsync $tls conn --clients 19000 --rate 2000 --seconds 5 --sources 4
record send-ceiling-fsync fsync $tcp send --clients 1000 --rate 40000 --seconds 5
record send-ceiling-os os $tcp send --clients 1000 --rate 40000 --seconds 5
record e2e-half-fsync fsync $tcp e2e --clients 1000 --rate 18000 --seconds 5
record e2e-half-os os $tcp e2e --clients 1000 --rate 18000 --seconds 5
# The same for 20 s: a 5 s window holds at most the store's first flush.
record e2e-half-20s-fsync fsync $tcp e2e --clients 1000 --rate 18000 --seconds 20
record e2e-half-20s-os os $tcp e2e --clients 1000 --rate 18000 --seconds 20
record group-100 fsync $tcp group --groups 10 --members 100 --rate 3500 --seconds 5
record group-1000 fsync $tcp group --groups 2 --members 1000 --rate 350 --seconds 5
# The same for 30 s: flushes and compactions of a growing store, which 5 s on a fresh one hide.
record group-1000-sustained fsync $tcp group --groups 2 --members 1000 --rate 350 --seconds 30
record churn-tcp fsync $tcp churn --clients 10000 --missed 20 --feeders 10 --rate 1000 --seconds 5
record churn-tls fsync $tls churn --clients 10000 --missed 20 --feeders 10 --rate 1000 --seconds 5

# Issue 19: one group of the default limit, and one member catching up 1,000 messages.
record group-10000 fsync $tcp group --groups 1 --members 10000 --senders 1 --rate 30 --seconds 5
record group-10000-at-10 fsync $tcp group --groups 1 --members 10000 --senders 1 --rate 10 --seconds 5
record catchup-1000 fsync $tcp churn --clients 1 --missed 1000 --feeders 1 --rate 10 --seconds 5

python3 - "$out" "${ONLY:-}" <<'PY'
import glob, json, os, statistics, sys
out, only = sys.argv[1], sys.argv[2]
names = sorted({os.path.basename(p).rsplit("-", 1)[0] for p in glob.glob(f"{out}/{only}*-[123].json")})
keys = ["connections", "memory_per_conn", "logins_per_sec", "delivered_per_sec", "acked_per_sec",
        "e2e.p50", "e2e.p90", "e2e.p99", "e2e.p99.9", "server_delivery.p50", "server_delivery.p99",
        "ack.p99", "fanout.p99", "login.p99", "resync_per_sec", "resync_seconds",
        "server_cpu_cores", "server_rss_bytes", "bench_cpu_cores", "bench_busiest_thread_cores",
        "login_server_cpu_cores", "login_bench_cpu_cores", "login_bench_busiest_thread_cores",
        "bench_saturated"]
for name in names:
    runs = [json.load(open(p)) for p in sorted(glob.glob(f"{out}/{name}-[123].json"))]
    ok = all(r["completed"] and not any(r["correctness"].values()) for r in runs)
    print(f"{name}: {len(runs)} runs, {'all complete and clean' if ok else 'NOT CLEAN'}")
    for k in keys:
        values = [r["figures"][k] for r in runs if k in r["figures"]]
        if values:
            print(f"  {k:20s} median {statistics.median(values):14.6g}   runs {', '.join(f'{v:.6g}' for v in values)}")
PY
