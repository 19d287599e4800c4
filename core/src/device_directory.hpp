// Which shards may hold a device of a user: the directory that sends a committed event, a
// receipt or a typing frame only to the shards holding a recipient's device, instead of to every
// shard.
//
// Users are hashed into slots; each slot keeps a bit per shard, set while that shard holds at
// least one device of a user in the slot. A user's shards are the bits of its slot: never one
// missing (no device is ever skipped), sometimes one too many when another user of the slot is
// online elsewhere (a post that finds no device there; about online users / slots of them).
//
// Threading: add() and remove() run on the shard they name, which alone counts its devices per
// slot (no lock); the bits are atomics any thread reads with shards_of(). The ordering the
// delivery path needs (docs/threading.md): a shard calls add() before it reads the device's
// catch-up from the store, and a writer completion reads the bits after the store published the
// event; both sides put a sequentially consistent fence in between (add() does; the reader
// calls publish_fence() once per batch), so either the catch-up read sees the event or the
// completion sees the device's bit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <tern/storage/types.hpp>

namespace tern::core {

// A set of shards (at most max_shards).
class shard_set {
public:
    static constexpr std::size_t max_shards = 256;

    void insert(std::size_t shard) noexcept { words_[shard / 64] |= bit(shard); }
    [[nodiscard]] bool contains(std::size_t shard) const noexcept {
        return (words_[shard / 64] & bit(shard)) != 0;
    }
    void merge(const shard_set& other) noexcept {
        for (std::size_t i = 0; i < words; ++i) words_[i] |= other.words_[i];
    }
    [[nodiscard]] bool empty() const noexcept {
        for (auto w : words_) {
            if (w != 0) return false;
        }
        return true;
    }

private:
    friend class device_directory;
    static constexpr std::size_t words = max_shards / 64;
    static constexpr std::uint64_t bit(std::size_t shard) noexcept {
        return std::uint64_t{1} << (shard % 64);
    }
    std::uint64_t words_[words] = {};
};

class device_directory {
public:
    // `slots` is rounded up to a power of two. Memory: slots x 8 bytes per 64 shards, shared,
    // plus slots x 2 bytes per shard for the shards' counts.
    explicit device_directory(std::size_t shards, std::size_t slots = std::size_t{1} << 18);
    device_directory(const device_directory&) = delete;
    device_directory& operator=(const device_directory&) = delete;

    // On `shard`'s thread: a device of the user came online there / went away.
    void add(std::size_t shard, storage::tenant_id tenant, storage::user_id user);
    void remove(std::size_t shard, storage::tenant_id tenant, storage::user_id user);

    // From any thread: the fence a reader puts between the store's publication of what it is
    // about to deliver and its shards_of() reads.
    static void publish_fence() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }

    // From any thread: the shards that may hold a device of the user.
    [[nodiscard]] shard_set shards_of(storage::tenant_id tenant, storage::user_id user) const;
    // Adds them to `out` (a fan-out collects the shards of all its recipients).
    void collect(storage::tenant_id tenant, storage::user_id user, shard_set& out) const;

    [[nodiscard]] std::size_t shard_count() const noexcept { return shards_; }

private:
    [[nodiscard]] std::size_t slot_of(storage::tenant_id tenant, storage::user_id user) const;

    std::size_t shards_;
    std::size_t words_per_slot_;
    std::size_t slot_mask_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> bits_;  // slots x words_per_slot_
    // Per shard, its devices per slot (touched only on that shard). A count that would overflow
    // sticks at its maximum, and the bit stays set: a wasted post, never a missed device.
    std::vector<std::unique_ptr<std::uint16_t[]>> counts_;
};

}  // namespace tern::core
