#include "admin_ops.hpp"

#include <memory>

#include <tern/core/every_shard.hpp>

#include "tern/v1/errors.pb.h"

namespace tern::core {

admin_ops::admin_ops(const context& ctx, device_table& devices, std::atomic<bool>& draining)
    : ctx_(ctx), devices_(devices), draining_(draining) {}

void admin_ops::list_devices(std::uint64_t after_id, std::size_t limit,
                             std::function<void(std::vector<device_info>)> done) {
    // Each shard writes only its own part.
    auto parts = std::make_shared<std::vector<std::vector<device_info>>>(ctx_.routes.shard_count());
    on_every_shard(
        ctx_.routes,
        [this, parts, after_id](std::size_t shard) {
            devices_.for_each(shard, [&](const std::shared_ptr<device_port>& d) {
                if (d->id() > after_id) (*parts)[shard].push_back(d->describe());
            });
        },
        [parts, limit, done = std::move(done)] { done(first_by_id(*parts, limit)); });
}

void admin_ops::kick(storage::tenant_id tenant, storage::user_id user,
                     std::optional<storage::device_id> device,
                     std::function<void(std::size_t)> done) {
    auto kicked = std::make_shared<std::atomic<std::size_t>>(0);
    on_every_shard(
        ctx_.routes,
        [this, kicked, tenant, user, device](std::size_t shard) {
            devices_.for_each(shard, [&](const std::shared_ptr<device_port>& d) {
                const auto& who = d->who();
                if (who.tenant != tenant || who.user != user) return;
                if (device && who.device != *device) return;
                if (d->closing()) return;
                d->close(v1::DISCONNECT_KICKED, v1::ERROR_CODE_UNSPECIFIED,
                         "disconnected by an administrator");
                kicked->fetch_add(1, std::memory_order_relaxed);
            });
        },
        [kicked, done = std::move(done)] { done(kicked->load()); });
}

void admin_ops::drain(std::chrono::milliseconds window) {
    if (draining_.exchange(true)) return;
    for (std::size_t i = 0; i < ctx_.routes.shard_count(); ++i) {
        ctx_.routes.post(i, [this, i, window] { drain_shard(i, window); });
    }
}

namespace {

// Closes the devices from `from` on, `per_step` of them, then the next batch after `interval`.
void close_batch(router& routes, std::size_t shard,
                 std::shared_ptr<std::vector<std::weak_ptr<device_port>>> devices, std::size_t from,
                 std::size_t per_step, std::chrono::milliseconds interval) {
    const auto to = std::min(devices->size(), from + per_step);
    for (auto i = from; i < to; ++i) {
        if (auto d = (*devices)[i].lock()) {
            d->close(v1::DISCONNECT_SERVER_DRAINING, v1::DRAINING,
                     "the server is draining; reconnect");
        }
    }
    if (to == devices->size()) return;
    routes.post_after(shard, interval, [&routes, shard, devices, to, per_step, interval] {
        close_batch(routes, shard, devices, to, per_step, interval);
    });
}

}  // namespace

// Closes a shard's devices in even batches over `window`: all reconnect, not all at once.
void admin_ops::drain_shard(std::size_t shard, std::chrono::milliseconds window) {
    auto devices = std::make_shared<std::vector<std::weak_ptr<device_port>>>();
    devices_.for_each(shard, [&](const std::shared_ptr<device_port>& d) { devices->push_back(d); });
    if (devices->empty()) return;
    constexpr auto step = std::chrono::milliseconds(100);
    const std::size_t steps =
        std::clamp<std::size_t>(static_cast<std::size_t>(window / step), 1, devices->size());
    const std::size_t per_step = (devices->size() + steps - 1) / steps;
    close_batch(ctx_.routes, shard, devices, 0, per_step, window / steps);
}

}  // namespace tern::core
