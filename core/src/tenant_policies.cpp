#include "tenant_policies.hpp"

namespace tern::core {

storage::result<std::shared_ptr<const tenant_policy>> tenant_policies::of(
    storage::tenant_id tenant) {
    {
        std::lock_guard lock(mutex_);
        if (auto it = known_.find(tenant); it != known_.end()) return it->second;
    }
    // Read outside the lock. A policy set meanwhile is already in the map and wins over what
    // this read found (try_emplace keeps it).
    auto stored = store_.user_settings(tenant, storage::tenant_policy_record);
    if (!stored) return stored.error();
    std::lock_guard lock(mutex_);
    return known_.try_emplace(tenant, policy_of_stored(*stored)).first->second;
}

void tenant_policies::set(storage::tenant_id tenant, std::shared_ptr<const tenant_policy> policy) {
    std::lock_guard lock(mutex_);
    known_.insert_or_assign(tenant, std::move(policy));
}

}  // namespace tern::core
