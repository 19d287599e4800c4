#!/usr/bin/env bash
# Installs the Debian 12 packages Tern needs to build, test and run, and nothing else.
# Usage: scripts/install-deps.sh [--fuzz]. Idempotent and quiet when nothing is missing. Never installs libboost-dev (Boost 1.74), which
# conflicts with the Boost 1.81 packages we use.
set -euo pipefail

# What `make test` and `make run` need. Each later module adds its own here.
packages=(
    build-essential cmake ninja-build ccache pkg-config
    libboost1.81-dev
    libprotobuf-dev protobuf-compiler
    librocksdb-dev
    catch2
    libcli11-dev
    libnats-dev nats-server  # the cluster: the NATS C client, and the servers its tests start
    libssl-dev nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev
    prometheus-cpp-dev
    libgoogle-perftools-dev  # tcmalloc, linked into ternd and tern-bench outside sanitizer builds
    libhowardhinnant-date-dev tzdata  # working hours in IANA time zones (the system's tz database)
    openssl
    prometheus  # promtool, which checks the live /metrics in make test
)
# Node.js and npm run the example push relay's tests (deploy/push-relay); a machine that has a
# node and npm of its own (e.g. NodeSource's) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi
# `--fuzz` adds clang and its libFuzzer runtime, for the fuzz preset.
if [[ "${1:-}" == "--fuzz" ]]; then
    packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
    sudo=sudo
else
    sudo=
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
