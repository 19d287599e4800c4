// Helpers for storage tests: entry builders and the two store implementations behind one
// factory, so that every conformance test runs against both.
#pragma once

#include <unistd.h>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <tern/storage/memory_store.hpp>
#include <tern/storage/rocks_store.hpp>

#include "store_builders.hpp"
#include "temp_dir.hpp"

namespace tern::test {

inline std::unique_ptr<st::store> open_rocks(const std::string& path) {
    auto s = st::open_rocks_store(small_rocks_options(path));
    REQUIRE(s.has_value());
    return std::move(*s);
}

// Factories for TEMPLATE_TEST_CASE: each owns the store and whatever it needs (a directory).
struct memory_factory {
    std::unique_ptr<st::store> store = st::make_memory_store();
    static constexpr bool durable = false;
    void reopen() {}
};

struct rocks_factory {
    temp_dir dir{"tern-store"};
    st::rocks_options options = small_rocks_options(dir.str());
    std::unique_ptr<st::store> store = open(options);
    static constexpr bool durable = true;

    rocks_factory() = default;
    // With writer caches of the given capacity (0 disables them), to exercise eviction.
    explicit rocks_factory(std::size_t cache_entries) {
        options.cached_conversations = options.cached_users = options.cached_cursors =
            cache_entries;
        reopen();
    }
    void reopen() {
        store.reset();
        store = open(options);
    }
    static std::unique_ptr<st::store> open(const st::rocks_options& o) {
        auto s = st::open_rocks_store(o);
        REQUIRE(s.has_value());
        return std::move(*s);
    }
};

// Applies entries as one batch and requires the batch to be written; returns per-entry results.
inline std::vector<st::entry_result> apply(st::store& s, std::vector<st::log_entry> entries,
                                           st::durability mode = st::durability::fsync) {
    auto r = s.apply(entries, mode);
    REQUIRE(r.has_value());
    return std::move(*r);
}

// Applies one entry and requires it to succeed.
inline st::apply_outcome apply_ok(st::store& s, st::log_entry entry) {
    auto results = apply(s, {std::move(entry)});
    REQUIRE(results.size() == 1);
    REQUIRE(results[0].has_value());
    return std::move(*results[0]);
}

}  // namespace tern::test
