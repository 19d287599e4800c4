// The core's administration as the admin listener asks it: each call waits for every shard at
// most `wait` and answers nullopt past it, so that the admin listener, which also serves /metrics
// and the health checks, answers rather than hangs when a shard is stuck (in a long store read,
// say). A late shard still does its part when it gets to it (a kick still closes the
// connections); what it writes is owned by the call's shared state, never by the caller's stack.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include <tern/core/service.hpp>

namespace tern::server::app {

class core_admin {
public:
    static constexpr std::chrono::milliseconds default_wait{5'000};

    explicit core_admin(core::service& core) : core_(core) {}

    [[nodiscard]] std::optional<std::vector<core::device_info>> devices(
        std::uint64_t after_id, std::size_t limit, std::chrono::milliseconds wait = default_wait);
    [[nodiscard]] std::optional<std::size_t> kick(storage::tenant_id tenant, storage::user_id user,
                                                  std::optional<storage::device_id> device,
                                                  std::chrono::milliseconds wait = default_wait);
    // service::set_policy, waited for (nullopt: not durable within `wait`).
    [[nodiscard]] std::optional<core::policy_outcome> set_policy(
        storage::tenant_id tenant, const v1::TenantPolicy& policy,
        std::chrono::milliseconds wait = default_wait);

private:
    core::service& core_;
};

}  // namespace tern::server::app
