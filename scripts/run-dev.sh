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
if [[ ! -f "$data/tls/cert.pem" ]]; then
    # A self-signed development certificate for localhost (never for production).
    mkdir -p "$data/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$data/tls/key.pem" -out "$data/tls/cert.pem" 2>/dev/null
fi
if [[ ! -f "$data/ternd.toml" ]]; then
    cat > "$data/ternd.toml" <<TOML
# Development configuration written by \`make run\`; see config/ternd.example.toml for every key.
[server]
data_dir = "$data/store"

[listen]
tcp = "127.0.0.1:7400"
tls = "127.0.0.1:7401"
ws = "127.0.0.1:7402"
wss = "127.0.0.1:7403"

[tls]
cert_file = "$data/tls/cert.pem"
key_file = "$data/tls/key.pem"

[admin]
listen = "127.0.0.1:7480"

[[auth.keys]]
kid = "dev"
public_key_file = "$data/keys/dev.pub"
TOML
fi

cat <<INFO
ternd (development): store in $data/store, config in $data/ternd.toml
  tcp  127.0.0.1:7400           4-byte length-prefixed tern.v1.Frame (docs/protocol.md)
  tls  127.0.0.1:7401           the same over TLS (self-signed: trust $data/tls/cert.pem)
  ws   ws://127.0.0.1:7402/     subprotocol tern.v1, one binary message per Frame
  wss  wss://127.0.0.1:7403/    the same over TLS
  admin http://127.0.0.1:7480/  /metrics, /readyz, /admin/v1/varz (docs/operations.md)
A token for tenant 1, user 1, device 1 (valid 24 h):
  $bin/tools/ternctl token --key $data/keys/dev.key --kid dev --tenant 1 --user 1 --device 1
Chat between two terminals (type /help in either):
  $bin/tools/tern-chat --key $data/keys/dev.key --user 1     then: /open 2
  $bin/tools/tern-chat --key $data/keys/dev.key --user 2     then: /open 1
Stop with Ctrl-C (at once), or kill -TERM (a drain, as in production).
INFO
exec "$bin/server/ternd" -c "$data/ternd.toml"
