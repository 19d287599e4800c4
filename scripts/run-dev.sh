#!/usr/bin/env bash
# `make run`: starts ternd from the release build with a development setup in ./data (git-ignored):
# a signing key pair, a config file, and the store. Prints how to connect, then runs in the
# foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/release
data=data
mkdir -p "$data/keys"
if [[ ! -f "$data/keys/dev.key" ]]; then
    "$bin/tools/ternctl" keygen --kid dev --alg es256 --out "$data/keys" >/dev/null
fi
if [[ ! -f "$data/ternd.toml" ]]; then
    cat > "$data/ternd.toml" <<TOML
# Development configuration written by \`make run\`; see config/ternd.example.toml for every key.
[server]
data_dir = "$data/store"

[listen]
tcp = "127.0.0.1:7400"
ws = "127.0.0.1:7402"

[[auth.keys]]
kid = "dev"
public_key_file = "$data/keys/dev.pub"
TOML
fi

cat <<INFO
ternd (development): store in $data/store, config in $data/ternd.toml
    tcp  127.0.0.1:7400   (4-byte length-prefixed tern.v1.Frame, docs/protocol.md)
  ws   ws://127.0.0.1:7402/   (subprotocol tern.v1, one binary message per Frame)
A token for tenant 1, user 1, device 1 (valid 24 h):
  $bin/tools/ternctl token --key $data/keys/dev.key --kid dev --tenant 1 --user 1 --device 1
Stop with Ctrl-C.
INFO
exec "$bin/server/ternd" -c "$data/ternd.toml"
