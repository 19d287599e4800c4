#include "settings_desk.hpp"

#include <tern/wire/error_frame.hpp>

#include "tern/v1/notifications.pb.h"

namespace tern::core {

using wire::error_frame;

settings_desk::settings_desk(const context& ctx, device_table& devices)
    : ctx_(ctx), devices_(devices) {}

void settings_desk::on_set(const std::shared_ptr<device_port>& device, const v1::Frame& frame) {
    const auto& settings = frame.set_notification_settings().settings();
    const auto fail = [&](const std::string& why) {
        answer(*device, frame.req_id(), error_frame(0, v1::INVALID_ARGUMENT, why));
    };
    if (settings.dnd_until_ms() < 0) return fail("dnd_until_ms: a Unix time in ms, or 0");
    auto profile = profile_of(settings);
    if (!profile) return fail(profile.error());
    const auto who = device->who();
    if (const auto policy = devices_.policy(who.tenant);
        settings.has_hours() && policy && policy->freedom == hours_freedom::none) {
        return answer(*device, frame.req_id(),
                      error_frame(0, v1::PERMISSION_DENIED,
                                  "hours: your company's policy sets everyone's working hours"));
    }
    // Default settings are no settings: nothing is kept for them.
    auto bytes = settings.ByteSizeLong() == 0 ? std::string() : settings.SerializeAsString();
    if (bytes.size() > storage::max_settings_bytes) return fail("settings: at most 16 KiB");

    const auto here = reply_to::of(device, frame.req_id());
    auto done = [this, here, who, profile = *profile, settings](storage::entry_result r) {
        if (!r) {
            return reply(ctx_.routes, here,
                         error_frame(0, code_of_storage_error(r.error()), "not stored; retry"));
        }
        reply(ctx_.routes, here, ok_frame(0));
        devices_.set_profile(who.tenant, who.user, profile);
        auto update = std::make_shared<v1::Frame>();
        *update->mutable_notification_settings() = settings;
        devices_.to_user(who.tenant, who.user, std::move(update));
    };
    if (!ctx_.commits.try_submit(storage::put_user_settings{who.tenant, who.user, std::move(bytes)},
                                 std::move(done))) {
        ctx_.report.failed(failure::commit_queue_full,
                           "notification settings of tenant " + std::to_string(who.tenant));
        answer(*device, frame.req_id(),
               error_frame(0, v1::UNAVAILABLE, "the server is busy; retry"));
    }
}

void settings_desk::on_push_token(const std::shared_ptr<device_port>& device,
                                  const v1::Frame& frame) {
    const auto& req = frame.register_push_token();
    const auto fail = [&](const std::string& why) {
        answer(*device, frame.req_id(), error_frame(0, v1::INVALID_ARGUMENT, why));
    };
    if (req.token().empty() && !req.platform().empty()) {
        return fail("token: empty removes the registration; then leave platform empty too");
    }
    if (!req.token().empty() && req.platform().empty()) return fail("platform: required");
    if (req.platform().size() > storage::max_push_platform_bytes) {
        return fail("platform: at most 64 bytes");
    }
    if (req.token().size() > storage::max_push_token_bytes) return fail("token: at most 4 KiB");
    if (req.app_id().size() > storage::max_push_app_id_bytes) {
        return fail("app_id: at most 256 bytes");
    }
    const auto who = device->who();
    const auto here = reply_to::of(device, frame.req_id());
    auto done = [this, here, who](storage::entry_result r) {
        if (!r) {
            return reply(ctx_.routes, here,
                         error_frame(0, code_of_storage_error(r.error()), "not stored; retry"));
        }
        reply(ctx_.routes, here, ok_frame(0));
        devices_.pushes().registration_changed(who.tenant, who.user);
    };
    const storage::set_push_token entry{who.tenant,
                                        who.user,
                                        who.device,
                                        {who.device, req.platform(), req.token(), req.app_id()},
                                        ""};
    if (!ctx_.commits.try_submit(entry, std::move(done))) {
        ctx_.report.failed(failure::commit_queue_full,
                           "a push registration of tenant " + std::to_string(who.tenant));
        answer(*device, frame.req_id(),
               error_frame(0, v1::UNAVAILABLE, "the server is busy; retry"));
    }
}

void settings_desk::forget_push_token(storage::tenant_id tenant, storage::user_id user,
                                      storage::device_id device, const std::string& token) {
    const auto what = "removing a dead push token of tenant " + std::to_string(tenant);
    auto done = [this, what, tenant, user](storage::entry_result r) {
        if (!r) {
            return ctx_.report.failed(failure::commit_failed, what + ": " + r.error().message());
        }
        devices_.pushes().registration_changed(tenant, user);
    };
    if (!ctx_.commits.try_submit(storage::set_push_token{tenant, user, device, {}, token},
                                 std::move(done))) {
        // The relay reports it again at the token's next push.
        ctx_.report.failed(failure::commit_queue_full, what);
    }
}

void settings_desk::on_working_hours(const std::shared_ptr<device_port>& device,
                                     const v1::Frame& frame) {
    const auto user = frame.working_hours_request().user_id();
    if (user == 0) {
        return answer(*device, frame.req_id(),
                      error_frame(0, v1::INVALID_ARGUMENT, "user_id: a user of your tenant"));
    }
    const auto tenant = device->who().tenant;
    const auto stored = ctx_.store.user_settings(tenant, user);
    if (!stored) {
        ctx_.report.failed(failure::store_read_failed,
                           "a user's notification settings, tenant " + std::to_string(tenant));
        return answer(*device, frame.req_id(),
                      error_frame(0, v1::UNAVAILABLE, "store read failed; retry"));
    }
    v1::Frame out;
    auto& w = *out.mutable_working_hours();
    w.set_user_id(user);
    w.set_working(true);
    // The policy as the core holds it (no store read but the first for the tenant).
    const auto profile = in_force(profile_of_stored(*stored), devices_.policy(tenant).get());
    if (profile && profile->hours) {
        const auto now = ctx_.time.unix_ms();
        const auto state = profile->hours->at(now);
        const auto next = profile->hours->next_start(now);
        w.set_has_hours(true);
        w.set_working(state.working);
        w.set_until_ms(state.until_ms == work_schedule::never_ms ? 0 : state.until_ms);
        w.set_next_start_ms(next == work_schedule::never_ms ? 0 : next);
        w.set_time_zone(profile->hours->spec().time_zone);
    }
    answer(*device, frame.req_id(), std::move(out));
}

void settings_desk::set_policy(storage::tenant_id tenant, const v1::TenantPolicy& policy,
                               std::function<void(policy_outcome)> done) {
    using status = policy_outcome::status;
    auto checked = policy_of(policy);
    if (!checked) return done({status::invalid, checked.error()});
    // No policy is no record (as with a user's settings).
    auto bytes = policy.ByteSizeLong() == 0 ? std::string() : policy.SerializeAsString();
    if (bytes.size() > storage::max_settings_bytes) {
        return done({status::invalid, "policy: at most 16 KiB"});
    }
    auto in_force_now = bytes.empty() ? nullptr : *checked;
    auto committed = [this, tenant, done, in_force_now](storage::entry_result r) {
        if (!r) {
            return done({status::unavailable, "not stored (" + r.error().message() + "); retry"});
        }
        devices_.set_policy(tenant, in_force_now);
        done({status::stored, {}});
    };
    if (!ctx_.commits.try_submit(
            storage::put_user_settings{tenant, storage::tenant_policy_record, std::move(bytes)},
            std::move(committed))) {
        ctx_.report.failed(failure::commit_queue_full,
                           "the notification policy of tenant " + std::to_string(tenant));
        done({status::unavailable, "the server is busy; retry"});
    }
}

v1::Frame answer_settings(const storage::store& store, const limits&, const requester& who,
                          const v1::Frame& frame) {
    const auto stored = store.user_settings(who.tenant, who.user);
    if (!stored) return error_frame(frame.req_id(), v1::UNAVAILABLE, "store read failed; retry");
    v1::Frame out;
    out.set_req_id(frame.req_id());
    auto& settings = *out.mutable_notification_settings();
    if (*stored && !settings.ParseFromString(**stored)) settings.Clear();
    return out;
}

}  // namespace tern::core
