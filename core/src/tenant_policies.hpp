// The tenants' notification policies as the core last committed or read them: read from the
// store the first time a tenant's device opens, replaced when an administrator sets a new one.
//
// Threading: any thread (a mutex; used when a device opens and when settings or a policy
// change, never per delivery).
#pragma once

#include <memory>
#include <mutex>
#include <unordered_map>

#include <tern/storage/store.hpp>

#include "user_profile.hpp"

namespace tern::core {

class tenant_policies {
public:
    explicit tenant_policies(const storage::store& store) : store_(store) {}

    // The tenant's policy (null: none); an error when it was not known and the read failed.
    [[nodiscard]] storage::result<std::shared_ptr<const tenant_policy>> of(
        storage::tenant_id tenant);

    // After the commit of a new policy (null: removed).
    void set(storage::tenant_id tenant, std::shared_ptr<const tenant_policy> policy);

private:
    const storage::store& store_;
    std::mutex mutex_;
    std::unordered_map<storage::tenant_id, std::shared_ptr<const tenant_policy>> known_;
};

}  // namespace tern::core
