// The facade: builds the components and dispatches each request through the request table.
#include <tern/core/service.hpp>

#include <tern/wire/error_frame.hpp>

#include "admin_ops.hpp"
#include "conversation_owner.hpp"
#include "device_table.hpp"
#include "presence_desk.hpp"
#include "receipts.hpp"
#include "requests.hpp"
#include "schedule_desk.hpp"
#include "settings_desk.hpp"
#include "urgent_desk.hpp"

namespace tern::core {

struct service::parts {
    parts(router& r, storage::store& s, commit_port& w, const limits& l, telemetry& t,
          const clock& c, push_port* pushes)
        : ctx{r, s, w, l, t, c},
          devices(ctx, draining, pushes),
          receipts(ctx, devices),
          owner(ctx, devices, receipts),
          presence(ctx, devices),
          settings(ctx, devices),
          urgent(ctx, devices, owner),
          schedule(ctx, devices, owner),
          admin(ctx, devices, draining) {}

    std::atomic<bool> draining{false};
    context ctx;
    device_table devices;
    core::receipts receipts;
    conversation_owner owner;
    presence_desk presence;
    settings_desk settings;
    urgent_desk urgent;
    schedule_desk schedule;
    admin_ops admin;
};

service::service(router& routes, storage::store& store, commit_port& commits, const limits& limits,
                 telemetry& telemetry, const clock& clock, push_port* pushes)
    : parts_(std::make_unique<parts>(routes, store, commits, limits, telemetry, clock, pushes)) {
    parts_->schedule.start();
    parts_->devices.pushes().rearm_escalations();
}

service::~service() = default;

void service::on_open(const std::shared_ptr<device_port>& device, const v1::Hello& hello,
                      v1::Frame welcome) {
    if (parts_->draining) {
        return refuse_handshake(*device, welcome.req_id(), v1::DRAINING,
                                "the server is draining; reconnect");
    }
    parts_->presence.admit(device, hello, std::move(welcome));
}

void service::on_close(const std::shared_ptr<device_port>& device) {
    parts_->presence.depart(device, parts_->devices.close(device));
}

void service::on_request(const std::shared_ptr<device_port>& device, v1::Frame& frame) {
    auto& p = *parts_;
    const auto* kind = find_request(frame.body_case());
    if (!kind) {
        // A body only the server sends (Welcome, Push, Pong...): a client that sends one is
        // broken, and 1xx errors close the connection (docs/protocol.md).
        constexpr auto message = "not a request a client may send";
        device->send(wire::error_frame(frame.req_id(), v1::UNKNOWN_REQUEST, message));
        return device->close(v1::DISCONNECT_PROTOCOL_ERROR, v1::UNKNOWN_REQUEST, message);
    }
    switch (kind->route) {
        case request_route::query:
            return device->send(kind->answer(p.ctx.store, p.ctx.limit, device->who(), frame));
        case request_route::event: {
            if (kind->body == v1::Frame::kSend) p.ctx.report.message_received();
            auto to = reply_to::of(device, frame.req_id());
            const bool urgent = kind->body == v1::Frame::kSend &&
                                (frame.send().content().flags() & v1::MESSAGE_FLAG_URGENT) != 0;
            event_request req{device->who(), std::move(frame), std::move(to), kind};
            if (urgent) return p.urgent.submit(std::move(req));
            return p.owner.submit(std::move(req));
        }
        case request_route::ack:
            p.devices.acknowledged(device, frame.ack().inbox_seq());
            return p.receipts.on_ack(device, frame);
        case request_route::mark_read:
            return p.receipts.on_mark_read(device, frame);
        case request_route::typing:
            return p.owner.submit_typing(device, frame);
        case request_route::presence_update:
            return p.presence.on_update(device, frame);
        case request_route::presence_subscribe:
            return p.presence.on_subscribe(device, frame);
        case request_route::mute:
            return p.owner.submit_mute(device, frame);
        case request_route::settings:
            return p.settings.on_set(device, frame);
        case request_route::working_hours:
            return p.settings.on_working_hours(device, frame);
        case request_route::urgent_ack:
            return p.owner.submit_urgent_ack(device, frame);
        case request_route::push_token:
            return p.settings.on_push_token(device, frame);
        case request_route::app_state:
            return p.devices.pushes().on_app_state(device, frame);
        case request_route::scheduled:
            return p.schedule.on_request(device, frame);
    }
}

void service::list_devices(std::uint64_t after_id, std::size_t limit,
                           std::function<void(std::vector<device_info>)> done) {
    parts_->admin.list_devices(after_id, limit, std::move(done));
}

void service::kick(storage::tenant_id tenant, storage::user_id user,
                   std::optional<storage::device_id> device,
                   std::function<void(std::size_t)> done) {
    parts_->admin.kick(tenant, user, device, std::move(done));
}

void service::drain(std::chrono::milliseconds window) { parts_->admin.drain(window); }

bool service::draining() const noexcept { return parts_->draining; }

void service::set_policy(storage::tenant_id tenant, const v1::TenantPolicy& policy,
                         std::function<void(policy_outcome)> done) {
    parts_->settings.set_policy(tenant, policy, std::move(done));
}

void service::forget_push_token(storage::tenant_id tenant, storage::user_id user,
                                storage::device_id device, const std::string& token) {
    parts_->settings.forget_push_token(tenant, user, device, token);
}

storage::result<std::optional<std::string>> service::policy(storage::tenant_id tenant) const {
    return parts_->ctx.store.user_settings(tenant, storage::tenant_policy_record);
}

bool service::urgent_audit(storage::tenant_id tenant, std::int64_t from_ms, std::size_t limit,
                           v1::UrgentAudit& out) const {
    return core::urgent_audit(parts_->ctx.store, tenant, from_ms, limit, out);
}

}  // namespace tern::core
