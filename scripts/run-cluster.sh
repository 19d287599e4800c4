#!/usr/bin/env bash
# `make cluster`: a 3-node Tern cluster on this machine, from the release build: 3 nats-server
# (JetStream, clustered) and 3 ternd, each with its own ports and data under ./cluster-data
# (git-ignored). Prints every endpoint and how to connect, runs until Ctrl-C, then stops
# everything it started, by PID. docs/cluster.md explains what runs.
#
# Usage: scripts/run-cluster.sh [BIN_DIR [DATA_DIR]]   (default build/release, cluster-data)
# Ports of node N (1..3): ternd tcp 74N0, ws 74N2, admin 74N8; NATS client 1422N, routes 1622N,
# monitoring 1822N.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-build/release}
data=${2:-cluster-data}
mkdir -p "$data/keys"
data=$(realpath "$data")
if [[ ! -f "$data/keys/dev.key" ]]; then
    "$bin/tools/ternctl" keygen --kid dev --alg es256 --out "$data/keys" >/dev/null
fi

nats_pids=()
ternd_pids=()
stop_all() {
    trap - INT TERM EXIT
    echo
    echo "stopping the cluster"
    # ternd first (each drains briefly, handing its partitions over), then NATS.
    for pid in "${ternd_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${ternd_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for pid in "${nats_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${nats_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_all INT TERM EXIT

routes_of() {
    local self=$1 out=""
    for j in 1 2 3; do
        [[ $j == "$self" ]] && continue
        out+="${out:+, }nats-route://127.0.0.1:1622$j"
    done
    echo "$out"
}

for n in 1 2 3; do
    mkdir -p "$data/n$n"
    cat > "$data/n$n/nats.conf" <<CONF
# nats-server for Tern node n$n (written by make cluster; deploy/ has the production shape).
server_name: n$n
# Cut a route that stops reading within seconds (docs/cluster.md, "The 2.9.10 caveats").
ping_interval: "2s"
ping_max: 2
write_deadline: "2s"
listen: 127.0.0.1:1422$n
http: 127.0.0.1:1822$n
jetstream { store_dir: "$data/n$n/jetstream", max_memory_store: 64MB, max_file_store: 4GB }
cluster { name: tern, listen: 127.0.0.1:1622$n, routes: [$(routes_of $n)] }
CONF
    nats-server -c "$data/n$n/nats.conf" -l "$data/n$n/nats.log" &
    nats_pids+=($!)
done

for n in 1 2 3; do
    others=""
    for j in 1 2 3; do [[ $j != "$n" ]] && others+=", \"nats://127.0.0.1:1422$j\""; done
    cat > "$data/n$n/ternd.toml" <<TOML
# ternd node n$n (written by make cluster); config/ternd.example.toml documents every key.
[server]
data_dir = "$data/n$n/store"
shards = 2

[listen]
tcp = "127.0.0.1:74${n}0"
ws = "127.0.0.1:74${n}2"

[admin]
listen = "127.0.0.1:74${n}8"
drain_seconds = 2

[cluster]
enabled = true
node = "n$n"
nats_servers = ["nats://127.0.0.1:1422$n"$others]
partitions = 8

[[auth.keys]]
kid = "dev"
public_key_file = "$data/keys/dev.pub"
TOML
    "$bin/server/ternd" -c "$data/n$n/ternd.toml" > "$data/n$n/ternd.log" 2>&1 &
    ternd_pids+=($!)
done

# Ready once every node has caught up with every partition.
for n in 1 2 3; do
    for _ in $(seq 1 300); do
        curl -sf "http://127.0.0.1:74${n}8/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
done

cat <<INFO
Tern cluster (development): 3 nodes, data and logs in $data/n1..n3
  node  ternd tcp        ternd ws               admin                    NATS
  n1    127.0.0.1:7410   ws://127.0.0.1:7412/   http://127.0.0.1:7418/   nats://127.0.0.1:14221
  n2    127.0.0.1:7420   ws://127.0.0.1:7422/   http://127.0.0.1:7428/   nats://127.0.0.1:14222
  n3    127.0.0.1:7430   ws://127.0.0.1:7432/   http://127.0.0.1:7438/   nats://127.0.0.1:14223
Partitions, their leaders and how far each node applied them:
  curl -s http://127.0.0.1:7418/admin/v1/partitions
A token for tenant 1, user 1, device 1 (valid 24 h):
  $bin/tools/ternctl token --key $data/keys/dev.key --kid dev --tenant 1 --user 1 --device 1
Chat across nodes (type /help in either):
  $bin/tools/tern-chat --endpoint tcp://127.0.0.1:7410 --key $data/keys/dev.key --kid dev --user 1   then: /open 2
  $bin/tools/tern-chat --endpoint tcp://127.0.0.1:7430 --key $data/keys/dev.key --kid dev --user 2   then: /open 1
Stop everything with Ctrl-C.
INFO
# Runs until Ctrl-C, or until a process of the cluster exits on its own.
while true; do
    for pid in "${nats_pids[@]}" "${ternd_pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "process $pid of the cluster exited; see the logs in $data"
            exit 1
        fi
    done
    sleep 1
done
