// Work that visits every shard once and finishes with what they found (admin listings and kicks,
// in the core and in a cluster node's relay): each shard's part runs on that shard, the last
// part to finish runs `last`.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <vector>

#include <tern/core/device_port.hpp>
#include <tern/core/router.hpp>

namespace tern::core {

// Runs each(shard) on every shard, then last() on the shard that finished last.
inline void on_every_shard(router& shards, std::function<void(std::size_t)> each,
                           std::function<void()> last) {
    struct round {
        round(std::function<void(std::size_t)> e, std::function<void()> l, std::size_t n)
            : each(std::move(e)), last(std::move(l)), left(n) {}
        std::function<void(std::size_t)> each;
        std::function<void()> last;
        std::atomic<std::size_t> left;
    };
    const auto n = shards.shard_count();
    auto r = std::make_shared<round>(std::move(each), std::move(last), n);
    for (std::size_t i = 0; i < n; ++i) {
        shards.post(i, [i, r] {
            r->each(i);
            // acq_rel: the last shard sees every other shard's part.
            if (r->left.fetch_sub(1, std::memory_order_acq_rel) == 1) r->last();
        });
    }
}

// The devices each shard found, as one list ascending by connection id, at most `limit`.
inline std::vector<device_info> first_by_id(std::vector<std::vector<device_info>>& parts,
                                            std::size_t limit) {
    std::vector<device_info> all;
    for (auto& part : parts) std::move(part.begin(), part.end(), std::back_inserter(all));
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    if (all.size() > limit) all.resize(limit);
    return all;
}

}  // namespace tern::core
