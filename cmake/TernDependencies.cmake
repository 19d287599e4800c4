# Third-party packages, all from Debian 12 (scripts/install-deps.sh installs them).
find_package(Boost 1.81.0 EXACT REQUIRED CONFIG COMPONENTS headers)
find_package(Protobuf 3.21 REQUIRED)
find_package(RocksDB 7.8 REQUIRED CONFIG)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(tomlplusplus 3 REQUIRED CONFIG)
find_package(spdlog REQUIRED CONFIG)
find_package(prometheus-cpp REQUIRED CONFIG COMPONENTS core)  # Debian ships no version file
find_package(date 3 REQUIRED CONFIG)  # Howard Hinnant's date/tz: working hours in IANA time zones
# The allocator of ternd and tern-bench (see tern_use_fast_allocator); sanitized builds link it
# only into the one test of the heap keeper on it (tests/CMakeLists.txt).
find_package(PkgConfig REQUIRED)
pkg_check_modules(TCMALLOC REQUIRED IMPORTED_TARGET libtcmalloc_minimal)
# libnats 3.4, the NATS C client (the cluster), through pkg-config: Debian's CMake package
# names a static library the package does not ship.
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats>=3.4)
if(TERN_BUILD_TESTS)
    find_package(Catch2 2.13 REQUIRED)
endif()
