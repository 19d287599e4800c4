#include "device_directory.hpp"

#include <bit>
#include <limits>
#include <stdexcept>

namespace tern::core {

device_directory::device_directory(std::size_t shards, std::size_t slots)
    : shards_(shards),
      words_per_slot_((shards + 63) / 64),
      slot_mask_(std::bit_ceil(std::max<std::size_t>(slots, 1)) - 1) {
    if (shards == 0 || shards > shard_set::max_shards) {
        throw std::invalid_argument("device_directory: 1 to 256 shards");
    }
    const std::size_t slot_count = slot_mask_ + 1;
    bits_ = std::make_unique<std::atomic<std::uint64_t>[]>(slot_count * words_per_slot_);
    for (std::size_t i = 0; i < shards; ++i) {
        counts_.push_back(std::make_unique<std::uint16_t[]>(slot_count));
    }
}

std::size_t device_directory::slot_of(storage::tenant_id tenant, storage::user_id user) const {
    // splitmix64 over both: consecutive user ids spread over the slots.
    std::uint64_t h = tenant * 0x9e3779b97f4a7c15ULL ^ user;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return static_cast<std::size_t>(h) & slot_mask_;
}

void device_directory::add(std::size_t shard, storage::tenant_id tenant, storage::user_id user) {
    const auto slot = slot_of(tenant, user);
    auto& count = counts_[shard][slot];
    if (count == std::numeric_limits<std::uint16_t>::max()) return;  // stuck: the bit stays
    if (count++ == 0) {
        bits_[slot * words_per_slot_ + shard / 64].fetch_or(std::uint64_t{1} << (shard % 64),
                                                            std::memory_order_seq_cst);
    }
    // Before the caller reads the device's catch-up from the store (see the header).
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

void device_directory::remove(std::size_t shard, storage::tenant_id tenant, storage::user_id user) {
    const auto slot = slot_of(tenant, user);
    auto& count = counts_[shard][slot];
    if (count == std::numeric_limits<std::uint16_t>::max() || count == 0) return;
    if (--count == 0) {
        bits_[slot * words_per_slot_ + shard / 64].fetch_and(~(std::uint64_t{1} << (shard % 64)),
                                                             std::memory_order_relaxed);
    }
}

void device_directory::collect(storage::tenant_id tenant, storage::user_id user,
                               shard_set& out) const {
    const auto* words = &bits_[slot_of(tenant, user) * words_per_slot_];
    for (std::size_t i = 0; i < words_per_slot_; ++i) {
        out.words_[i] |= words[i].load(std::memory_order_relaxed);
    }
}

shard_set device_directory::shards_of(storage::tenant_id tenant, storage::user_id user) const {
    shard_set out;
    collect(tenant, user, out);
    return out;
}

}  // namespace tern::core
