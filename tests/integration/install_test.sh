#!/usr/bin/env bash
# The installed SDK works for an app: `cmake --install` into a temporary prefix, then the example
# in client-sdk/examples is built with find_package(tern), and a one-file program with
# pkg-config. Usage: install_test.sh BUILD_DIR SOURCE_DIR CXX
set -euo pipefail
build_dir=$1 source_dir=$2 cxx=$3
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
test -f "$prefix/include/tern/client/client.hpp"
test -f "$prefix/lib/cmake/tern/tern-config.cmake"

# CMake: the example app, against the package only.
cmake -S "$source_dir/client-sdk/examples" -B "$prefix/examples" -G Ninja \
    -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/examples" >/dev/null
test -x "$prefix/examples/tern-hello"

# pkg-config: the flags it gives are enough to build and link.
cat > "$prefix/one.cpp" <<'CPP'
#include <tern/client/client.hpp>
int main() {
    auto where = tern::client::endpoint::parse("ws://127.0.0.1:7402/");
    return where && where->port == 7402 ? 0 : 1;
}
CPP
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
"$cxx" "$prefix/one.cpp" $(pkg-config --cflags --libs tern) -o "$prefix/one"
echo "installed package: find_package(tern) and pkg-config both build"
