// What the components of the core share: the ports the core was given, the shard-local state
// holder, and how a reply finds its device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <tern/core/clock.hpp>
#include <tern/core/commit_port.hpp>
#include <tern/core/device_port.hpp>
#include <tern/core/limits.hpp>
#include <tern/core/router.hpp>
#include <tern/core/telemetry.hpp>
#include <tern/storage/store.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::core {

struct context {
    router& routes;
    storage::store& store;
    commit_port& commits;
    const limits& limit;
    telemetry& report;
    const clock& time;
};

// One T per shard; the T of shard i is touched only on shard i's thread, so it takes no lock.
template <class T>
class shard_local {
public:
    explicit shard_local(std::size_t shards) {
        items_.reserve(shards);
        for (std::size_t i = 0; i < shards; ++i) items_.push_back(std::make_unique<T>());
    }
    [[nodiscard]] T& operator[](std::size_t shard) { return *items_[shard]; }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }

private:
    std::vector<std::unique_ptr<T>> items_;
};

// Where a reply goes: a device on its shard, and the request it answers.
struct reply_to {
    std::size_t shard = 0;
    std::weak_ptr<device_port> device;
    std::uint64_t req_id = 0;

    [[nodiscard]] static reply_to of(const std::shared_ptr<device_port>& d, std::uint64_t req_id) {
        return {d->shard(), d, req_id};
    }
};

// Sends `frame`, answering r.req_id, to the device of `r` on its shard (nothing if it is gone).
// From any thread.
void reply(router& routes, const reply_to& r, v1::Frame frame);

// A device_port with `frame`, answering `req_id`, from the device's own shard.
void answer(device_port& device, std::uint64_t req_id, v1::Frame frame);

// The protocol's code for a failed store operation (STORAGE_FULL or UNAVAILABLE).
[[nodiscard]] v1::ErrorCode code_of_storage_error(const boost::system::error_code& ec);

// A refused handshake, from the device's own shard: an Error answering the Hello (`req_id`),
// then the Disconnect whose advice agrees with it (wire::handshake_disconnect).
void refuse_handshake(device_port& device, std::uint64_t req_id, v1::ErrorCode code,
                      const std::string& message);

// Frame{ok}, answering req_id.
[[nodiscard]] v1::Frame ok_frame(std::uint64_t req_id);

}  // namespace tern::core
