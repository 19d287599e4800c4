#!/usr/bin/env bash
# Starts a ternd for benchmarks in the foreground: a fresh store, a development key and a TLS
# certificate in DIR, the four transports on 127.0.0.1:7500-7503 (admin on 7504), one shard, and the limits a load
# generator needs (a bench client sends far more than an app: the per-connection inbound rate and
# the outbound queues are raised). Pin it with CPU=<core> (taskset), as docs/benchmarks.md does.
#
#   scripts/bench-server.sh [--bin build/release] [--dir /tmp/tern-bench] [--durability fsync|os]
#                           [-- extra ternd arguments, e.g. --set limits.max_group_members=1000]
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/release
dir=/tmp/tern-bench
durability=fsync
port=7500
while [[ $# -gt 0 ]]; do
    case "$1" in
        --bin) bin=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --durability) durability=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "bench-server.sh: unknown argument $1" >&2; exit 3 ;;
    esac
done

rm -rf "$dir/store"
mkdir -p "$dir/keys" "$dir/tls"
[[ -f "$dir/keys/dev.key" ]] || "$bin/tools/ternctl" keygen --kid dev --alg es256 --out "$dir/keys" >/dev/null
if [[ ! -f "$dir/tls/cert.pem" ]]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" 2>/dev/null
fi
cat > "$dir/ternd.toml" <<TOML
[server]
shards = 1
data_dir = "$dir/store"
durability = "$durability"

[listen]
tcp = "127.0.0.1:$port"
tls = "127.0.0.1:$((port + 1))"
ws = "127.0.0.1:$((port + 2))"
wss = "127.0.0.1:$((port + 3))"

[admin]
listen = "127.0.0.1:$((port + 4))"

[tls]
cert_file = "$dir/tls/cert.pem"
key_file = "$dir/tls/key.pem"

[[auth.keys]]
kid = "dev"
public_key_file = "$dir/keys/dev.pub"

[limits]
inbound_frames_per_second = 1000000
inbound_burst = 1000000
outbound_queue_bytes = 67108864
outbound_queue_frames = 200000
heartbeat_interval_ms = 60000
idle_timeout_ms = 150000

[log]
level = "warn"
TOML
ulimit -n "$(ulimit -Hn)"
if [[ -n "${CPU:-}" ]]; then
    exec taskset -c "$CPU" "$bin/server/ternd" -c "$dir/ternd.toml" "$@"
fi
exec "$bin/server/ternd" -c "$dir/ternd.toml" "$@"
