// Model-based test: random sequences of log entries applied to the RocksDB store and to the
// in-memory reference store, with reopens of the RocksDB store in between, and every observable
// read compared after every step (tests/support/store_model.hpp; the fuzz target
// tests/fuzz/store_model_fuzz.cpp drives the same model from the fuzzer's bytes).
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "store_fixtures.hpp"
#include "store_model.hpp"

using namespace tern::test;

namespace {

struct seeded_source {
    std::mt19937_64 rng;
    std::uint64_t pick(std::uint64_t lo, std::uint64_t hi) {
        return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
    }
};

}  // namespace

TEST_CASE("the RocksDB store behaves like the model under random entries and reopens",
          "[unit][storage][model]") {
    // Seeds 1 and 2 use the default writer caches; 3 caches one entry (constant eviction) and 4
    // none at all, so every path through overlay, cache and RocksDB is compared with the model.
    const auto seed = GENERATE(1u, 2u, 3u, 4u);
    CAPTURE(seed);
    rocks_factory rocks = seed == 3   ? rocks_factory(1)
                          : seed == 4 ? rocks_factory(0)
                                      : rocks_factory();
    const auto reference = st::make_memory_store();
    seeded_source source{std::mt19937_64(seed)};
    model::generator gen(source);
    std::mt19937 rng(seed);
    std::set<std::string> cmids;

    for (int step = 0; step < 200; ++step) {
        CAPTURE(step);
        std::vector<st::log_entry> batch;
        const auto size = 1 + rng() % 4;
        // Entries of one batch are generated against the reference as it will be after the earlier
        // ones, so each batch is applied to the reference one entry at a time while building it.
        std::vector<st::entry_result> expected;
        for (std::size_t i = 0; i < size; ++i) {
            auto entry = gen.next(*reference, cmids);
            auto r = reference->apply(std::span(&entry, 1), st::durability::memory);
            REQUIRE(r.has_value());
            expected.push_back(std::move((*r)[0]));
            batch.push_back(std::move(entry));
        }
        const auto mode = static_cast<st::durability>(rng() % 2);  // fsync or os
        auto actual = rocks.store->apply(batch, mode);
        REQUIRE(actual.has_value());
        REQUIRE(actual->size() == expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            REQUIRE(actual->at(i).has_value() == expected[i].has_value());
            if (!expected[i]) continue;
            REQUIRE(actual->at(i)->inbox == expected[i]->inbox);
            REQUIRE(actual->at(i)->cursors == expected[i]->cursors);
        }
        if (rng() % 20 == 0) rocks.reopen();
        REQUIRE(model::first_difference(*reference, *rocks.store, cmids) == "");
    }
    REQUIRE(reference->verify().has_value());
    REQUIRE(rocks.store->verify().has_value());
}
