// The core's administration: list the open devices, kick a user's devices, drain. Asked from any
// thread (the admin listener's), done on every shard, answered through a callback that runs on
// the shard that finished last. Nothing here waits: the caller decides how long it waits for
// the answer (the admin listener bounds it and answers 503 past it).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <vector>

#include "context.hpp"
#include "device_table.hpp"

namespace tern::core {

class admin_ops {
public:
    admin_ops(const context& ctx, device_table& devices, std::atomic<bool>& draining);

    void list_devices(std::uint64_t after_id, std::size_t limit,
                      std::function<void(std::vector<device_info>)> done);
    void kick(storage::tenant_id tenant, storage::user_id user,
              std::optional<storage::device_id> device, std::function<void(std::size_t)> done);
    void drain(std::chrono::milliseconds window);

private:
    // Runs `each(shard)` on every shard, then `last()` on the shard that finished last.
    void drain_shard(std::size_t shard, std::chrono::milliseconds window);

    context ctx_;
    device_table& devices_;
    std::atomic<bool>& draining_;
};

}  // namespace tern::core
