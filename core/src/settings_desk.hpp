// A user's own notification settings (SetNotificationSettings, GetNotificationSettings), the
// working-hours question about any user of the tenant (WorkingHoursRequest), the tenant's
// policy an administrator sets, and each device's push registration (RegisterPushToken):
// docs/notifications.md.
//
// Settings are checked on the device's shard, committed as a put_user_settings entry (through the
// log, so every replica has them), then handed to the device table, which every device of the
// user holds them in for the delivery decision, and told to the user's devices.
//
// Threading: on_set() and on_working_hours() on the device's shard; completions on the writer's
// thread post onward.
#pragma once

#include <functional>
#include <memory>

#include <tern/core/service.hpp>

#include "context.hpp"
#include "device_table.hpp"
#include "queries.hpp"

namespace tern::core {

class settings_desk {
public:
    settings_desk(const context& ctx, device_table& devices);

    void on_set(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    void on_working_hours(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    // RegisterPushToken: the device's push registration, through the log.
    void on_push_token(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    // Any thread: a token the relay reported dead goes, if still the device's.
    void forget_push_token(storage::tenant_id tenant, storage::user_id user,
                           storage::device_id device, const std::string& token);
    // Any thread; `done` on the caller's thread when refused, else on the writer's.
    void set_policy(storage::tenant_id tenant, const v1::TenantPolicy& policy,
                    std::function<void(policy_outcome)> done);

private:
    context ctx_;
    device_table& devices_;
};

// GetNotificationSettings: the caller's settings from the store (a query, request table).
[[nodiscard]] v1::Frame answer_settings(const storage::store& store, const limits& limit,
                                        const requester& who, const v1::Frame& frame);

}  // namespace tern::core
