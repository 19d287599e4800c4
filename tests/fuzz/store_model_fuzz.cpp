// libFuzzer target: the RocksDB store against the in-memory reference store. The fuzzer's bytes
// choose the log entries (tests/support/store_model.hpp generates plausible ones, some invalid on
// purpose), the batch sizes, the durability mode and when to reopen; after every batch both
// stores must have decided every entry alike and answer every read alike.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "store_model.hpp"
#include "temp_dir.hpp"

namespace {

using namespace tern::test;

struct fuzzed_source {
    FuzzedDataProvider& bytes;
    std::uint64_t pick(std::uint64_t lo, std::uint64_t hi) {
        return bytes.ConsumeIntegralInRange<std::uint64_t>(lo, hi);
    }
};

std::unique_ptr<st::store> open_store(const st::rocks_options& options) {
    auto s = st::open_rocks_store(options);
    if (!s) {
        std::fprintf(stderr, "cannot open the store: %s\n", s.error().message().c_str());
        std::abort();
    }
    return std::move(*s);
}

[[noreturn]] void differ(const std::string& what) {
    std::fprintf(stderr, "the RocksDB store differs from the model: %s\n", what.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider bytes(data, size);
    fuzzed_source source{bytes};
    model::generator gen(source);
    temp_dir dir("tern-fuzz-store");
    auto options = small_rocks_options(dir.str());
    // Small writer caches on some inputs: eviction paths are compared too.
    if (bytes.ConsumeBool()) {
        options.cached_conversations = options.cached_users = options.cached_cursors =
            bytes.ConsumeIntegralInRange<std::size_t>(0, 2);
    }
    auto rocks = open_store(options);
    const auto reference = st::make_memory_store();
    std::set<std::string> cmids;

    for (int step = 0; step < 48 && bytes.remaining_bytes() > 0; ++step) {
        std::vector<st::log_entry> batch;
        std::vector<st::entry_result> expected;
        const auto entries = bytes.ConsumeIntegralInRange<int>(1, 4);
        for (int i = 0; i < entries; ++i) {
            auto entry = gen.next(*reference, cmids);
            auto r = reference->apply(std::span(&entry, 1), st::durability::memory);
            if (!r) differ("the reference store refused a batch");
            expected.push_back(std::move((*r)[0]));
            batch.push_back(std::move(entry));
        }
        auto actual = rocks->apply(batch, st::durability::os);
        if (!actual || actual->size() != expected.size()) differ("a batch was not written");
        for (std::size_t i = 0; i < expected.size(); ++i) {
            if ((*actual)[i].has_value() != expected[i].has_value()) differ("an entry's verdict");
            if (!expected[i]) continue;
            if ((*actual)[i]->inbox != expected[i]->inbox) differ("an entry's inbox assignments");
            if ((*actual)[i]->cursors != expected[i]->cursors) differ("an entry's cursors");
        }
        const bool reopen = bytes.ConsumeIntegralInRange<int>(0, 15) == 0;
        if (reopen) {
            rocks.reset();
            rocks = open_store(options);
        }
        // Every read of both stores is compared after a reopen, every eighth batch and at the
        // end (comparing after every batch costs most of the run time).
        if (reopen || step % 8 == 7) {
            if (const auto why = model::first_difference(*reference, *rocks, cmids); !why.empty()) {
                differ(why);
            }
        }
    }
    if (const auto why = model::first_difference(*reference, *rocks, cmids); !why.empty()) {
        differ(why);
    }
    if (!rocks->verify()) differ("verify() failed");
    return 0;
}
