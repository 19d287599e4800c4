#include "app/core_admin.hpp"

#include <future>
#include <memory>

namespace tern::server::app {
namespace {

// Waits for the value a shard sets, at most `wait`.
template <class T>
std::optional<T> wait_for(std::future<T> answer, std::chrono::milliseconds wait) {
    if (answer.wait_for(wait) != std::future_status::ready) return std::nullopt;
    return answer.get();
}

}  // namespace

std::optional<std::vector<core::device_info>> core_admin::devices(std::uint64_t after_id,
                                                                  std::size_t limit,
                                                                  std::chrono::milliseconds wait) {
    auto promise = std::make_shared<std::promise<std::vector<core::device_info>>>();
    auto answer = promise->get_future();
    core_.list_devices(after_id, limit, [promise](std::vector<core::device_info> list) {
        promise->set_value(std::move(list));
    });
    return wait_for(std::move(answer), wait);
}

std::optional<std::size_t> core_admin::kick(storage::tenant_id tenant, storage::user_id user,
                                            std::optional<storage::device_id> device,
                                            std::chrono::milliseconds wait) {
    auto promise = std::make_shared<std::promise<std::size_t>>();
    auto answer = promise->get_future();
    core_.kick(tenant, user, device, [promise](std::size_t kicked) { promise->set_value(kicked); });
    return wait_for(std::move(answer), wait);
}

std::optional<core::policy_outcome> core_admin::set_policy(storage::tenant_id tenant,
                                                           const v1::TenantPolicy& policy,
                                                           std::chrono::milliseconds wait) {
    auto promise = std::make_shared<std::promise<core::policy_outcome>>();
    auto answer = promise->get_future();
    core_.set_policy(tenant, policy,
                     [promise](core::policy_outcome o) { promise->set_value(std::move(o)); });
    return wait_for(std::move(answer), wait);
}

}  // namespace tern::server::app
