#include "presence_desk.hpp"

#include <algorithm>
#include <iterator>

#include <tern/wire/error_frame.hpp>

#include "tern/v1/frame.pb.h"

namespace tern::core {

using wire::error_frame;

namespace {

void close_later(router& routes, const endpoint& where, v1::DisconnectReason reason,
                 const char* message) {
    routes.post(where.shard, [device = where.device, reason, message] {
        if (auto d = device.lock()) d->close(reason, v1::ERROR_CODE_UNSPECIFIED, message);
    });
}

// A handshake refused on the home shard, answered on the device's.
void refuse_later(router& routes, const endpoint& where, std::uint64_t req_id, v1::ErrorCode code,
                  std::string message) {
    routes.post(where.shard, [device = where.device, req_id, code, message = std::move(message)] {
        if (auto d = device.lock()) refuse_handshake(*d, req_id, code, message);
    });
}

// A desktop or web app: while one is in front of its user, their phones wait (push_desk.hpp).
bool is_desktop(v1::Platform platform) {
    return platform == v1::PLATFORM_WINDOWS || platform == v1::PLATFORM_MACOS ||
           platform == v1::PLATFORM_LINUX || platform == v1::PLATFORM_WEB;
}

}  // namespace

presence_desk::presence_desk(const context& ctx, device_table& devices)
    : ctx_(ctx), devices_(devices), homes_(ctx.routes.shard_count()) {}

void presence_desk::admit(const std::shared_ptr<device_port>& device, const v1::Hello& hello,
                          v1::Frame welcome) {
    const auto who = device->who();
    const auto home = ctx_.routes.home_of(who.tenant, who.user);
    std::optional<std::uint64_t> resume;
    if (hello.has_resume_inbox_seq()) resume = hello.resume_inbox_seq();
    const bool desktop = is_desktop(hello.platform());
    ctx_.routes.post(home, [this, home, who, where = endpoint::of(device),
                            order = handshake_order{hello.client_instance(), hello.attempt()},
                            resume, desktop, welcome = std::move(welcome)]() mutable {
        admit_at_home(home, who, where, std::move(order), resume, desktop, std::move(welcome));
    });
}

// On the user's home shard: admit the device (replacing its previous connection) or refuse it,
// then finish the handshake on the device's shard.
void presence_desk::admit_at_home(std::size_t home, const requester& who, const endpoint& where,
                                  handshake_order order, std::optional<std::uint64_t> resume,
                                  bool desktop, v1::Frame welcome) {
    const presence_user user{who.tenant, who.user};
    auto& local = homes_[home];
    auto admission = local.registry.admit(user, who.device, where, std::move(order),
                                          ctx_.limit.max_devices_per_user, ctx_.time.unix_ms());
    if (admission.superseded) {
        return refuse_later(ctx_.routes, where, welcome.req_id(), v1::REPLACED,
                            "the device has a later connection");
    }
    if (!admission.admitted) {
        return refuse_later(
            ctx_.routes, where, welcome.req_id(), v1::TOO_MANY_DEVICES,
            "the user has " + std::to_string(ctx_.limit.max_devices_per_user) + " devices online");
    }
    if (admission.changed) announce(home, user);
    devices_.pushes().connected(home, who, where.connection, desktop);
    const auto key = device_key::of(who);
    if (admission.replaced && !resume) {
        return wait_for_predecessor(home, who, where, *admission.replaced, std::move(welcome));
    }
    if (admission.replaced) {
        // The device said where it is: nothing to wait for. An admission still waiting is
        // overtaken, and so is the connection it waited for.
        if (auto overtaken = local.handover.cancel(key)) {
            close_later(ctx_.routes, overtaken->predecessor, v1::DISCONNECT_REPLACED,
                        "the same device connected again");
            if (!overtaken->successor.same(*admission.replaced)) {
                close_later(ctx_.routes, overtaken->successor, v1::DISCONNECT_REPLACED,
                            "the same device connected again");
            }
        }
        close_later(ctx_.routes, *admission.replaced, v1::DISCONNECT_REPLACED,
                    "the same device connected again");
    }
    open_later(who, where, {resume, local.handover.take_floor(key)}, std::move(welcome));
}

void presence_desk::wait_for_predecessor(std::size_t home, const requester& who,
                                         const endpoint& where, const endpoint& predecessor,
                                         v1::Frame welcome) {
    auto& handover = homes_[home].handover;
    const auto key = device_key::of(who);
    const auto ticket = handover.next_ticket();
    auto displaced = handover.park(key, {who, where, predecessor, std::move(welcome), ticket});
    if (displaced) {
        close_later(ctx_.routes, displaced->successor, v1::DISCONNECT_REPLACED,
                    "the same device connected again");
    }
    // A client that closed its connection before reconnecting ends it at once; one that did not
    // (a dead network) is closed for it after the grace.
    ctx_.routes.post_after(home, session_handover::replace_grace, [this, home, key, ticket] {
        if (const auto* w = homes_[home].handover.waiting(key, ticket)) {
            close_later(ctx_.routes, w->predecessor, v1::DISCONNECT_REPLACED,
                        "the same device connected again");
        }
    });
    ctx_.routes.post_after(home, session_handover::handover_limit, [this, home, key, ticket] {
        auto& local = homes_[home];
        if (auto w = local.handover.expire(key, ticket)) {
            ctx_.report.failed(
                failure::handover_timed_out,
                "a device's previous connection, tenant " + std::to_string(key.tenant));
            const resume_point from{std::nullopt, local.handover.take_floor(key)};
            open_later(w->who, w->successor, from, std::move(w->welcome));
        }
    });
}

void presence_desk::open_later(const requester& who, const endpoint& where,
                               const resume_point& resume, v1::Frame welcome) {
    ctx_.routes.post(where.shard,
                     [this, who, where, resume, welcome = std::move(welcome)]() mutable {
                         open_on_device_shard(who, where, resume, std::move(welcome));
                     });
}

void presence_desk::open_on_device_shard(const requester& who, const endpoint& where,
                                         const resume_point& resume, v1::Frame welcome) {
    auto device = where.device.lock();
    if (!device || !devices_.open(device, resume, std::move(welcome))) {
        unregister(who, where, std::nullopt);
    }
}

void presence_desk::depart(const std::shared_ptr<device_port>& device,
                           const device_table::closed_device& left) {
    const auto where = endpoint::of(device);
    unregister(device->who(), where, left.acked);
    if (!left.watched.empty()) follow(device->who().tenant, where, left.watched, false);
}

void presence_desk::unregister(const requester& who, const endpoint& where,
                               std::optional<std::uint64_t> acked) {
    const auto home = ctx_.routes.home_of(who.tenant, who.user);
    ctx_.routes.post(home, [this, home, who, where, acked] {
        auto& local = homes_[home];
        const presence_user user{who.tenant, who.user};
        const auto now = ctx_.time.unix_ms();
        if (local.registry.remove(user, who.device, where, now)) announce(home, user);
        devices_.pushes().disconnected(home, who, where.connection);
        const auto key = device_key::of(who);
        if (acked) local.handover.departed(key, *acked, now);
        // The admission that waited for this connection to end goes ahead.
        if (auto w = local.handover.release(key, where)) {
            const resume_point from{std::nullopt, local.handover.take_floor(key)};
            open_later(w->who, w->successor, from, std::move(w->welcome));
        }
    });
}

void presence_desk::announce(std::size_t home, const presence_user& user) {
    auto& registry = homes_[home].registry;
    const auto& watchers = registry.watchers(user);
    if (watchers.empty()) return;
    auto frame = std::make_shared<v1::Frame>();
    *frame->mutable_presence_notify()->add_users() = registry.state(user, ctx_.time.unix_ms());
    std::vector<std::vector<std::weak_ptr<device_port>>> by_shard(homes_.size());
    for (const auto& w : watchers) by_shard[w.shard].push_back(w.device);
    for (std::size_t i = 0; i < by_shard.size(); ++i) {
        if (by_shard[i].empty()) continue;
        ctx_.routes.post(i, [frame, devices = std::move(by_shard[i])] {
            for (const auto& w : devices) {
                if (auto d = w.lock()) d->send(*frame);
            }
        });
    }
}

void presence_desk::on_update(const std::shared_ptr<device_port>& device, const v1::Frame& frame) {
    const auto& update = frame.presence_update();
    const auto status = update.status();
    if (status != v1::PRESENCE_ONLINE && status != v1::PRESENCE_AWAY &&
        status != v1::PRESENCE_DO_NOT_DISTURB) {
        return device->send(error_frame(frame.req_id(), v1::INVALID_ARGUMENT,
                                        "status must be ONLINE, AWAY or DO_NOT_DISTURB"));
    }
    if (update.status_text().size() > ctx_.limit.max_status_text_bytes) {
        return device->send(error_frame(frame.req_id(), v1::CONTENT_TOO_LARGE,
                                        "status_text is limited to " +
                                            std::to_string(ctx_.limit.max_status_text_bytes) +
                                            " bytes"));
    }
    device->send(ok_frame(frame.req_id()));
    const auto who = device->who();
    const auto home = ctx_.routes.home_of(who.tenant, who.user);
    ctx_.routes.post(home, [this, home, who, where = endpoint::of(device), status,
                            text = update.status_text()]() mutable {
        const presence_user user{who.tenant, who.user};
        if (homes_[home].registry.update(user, who.device, where, status, std::move(text),
                                         ctx_.time.unix_ms())) {
            announce(home, user);
        }
    });
}

// Follows (or stops following) users of the caller's tenant. Answered by Ok at once; each home
// shard then sends the current state of its users (one PresenceNotify per home shard), and every
// later change follows it on the same path, so nothing arrives out of order.
void presence_desk::on_subscribe(const std::shared_ptr<device_port>& device,
                                 const v1::Frame& frame) {
    auto* watching = devices_.watching(device);
    if (!watching) return;
    const auto& req = frame.presence_subscribe();
    std::vector<storage::user_id> users(req.user_ids().begin(), req.user_ids().end());
    std::erase(users, storage::user_id{0});
    std::sort(users.begin(), users.end());
    users.erase(std::unique(users.begin(), users.end()), users.end());
    std::vector<storage::user_id> merged;
    if (req.unsubscribe()) {
        std::set_difference(watching->begin(), watching->end(), users.begin(), users.end(),
                            std::back_inserter(merged));
    } else {
        std::set_union(watching->begin(), watching->end(), users.begin(), users.end(),
                       std::back_inserter(merged));
        if (merged.size() > ctx_.limit.max_presence_subscriptions) {
            return device->send(
                error_frame(frame.req_id(), v1::INVALID_ARGUMENT,
                            "at most " + std::to_string(ctx_.limit.max_presence_subscriptions) +
                                " presence subscriptions per connection"));
        }
    }
    *watching = std::move(merged);
    device->send(ok_frame(frame.req_id()));
    follow(device->who().tenant, endpoint::of(device), users, !req.unsubscribe());
}

void presence_desk::follow(storage::tenant_id tenant, const endpoint& watcher,
                           const std::vector<storage::user_id>& users, bool start) {
    std::vector<std::vector<storage::user_id>> by_home(homes_.size());
    for (auto u : users) by_home[ctx_.routes.home_of(tenant, u)].push_back(u);
    for (std::size_t home = 0; home < by_home.size(); ++home) {
        if (by_home[home].empty()) continue;
        ctx_.routes.post(home,
                         [this, home, tenant, watcher, start, users = std::move(by_home[home])] {
                             follow_at_home(home, tenant, watcher, users, start);
                         });
    }
}

void presence_desk::follow_at_home(std::size_t home, storage::tenant_id tenant,
                                   const endpoint& watcher,
                                   const std::vector<storage::user_id>& users, bool start) {
    auto& registry = homes_[home].registry;
    if (!start) {
        for (auto u : users) registry.unwatch({tenant, u}, watcher);
        return;
    }
    auto frame = std::make_shared<v1::Frame>();
    auto* notify = frame->mutable_presence_notify();
    const auto now = ctx_.time.unix_ms();
    for (auto u : users) {
        registry.watch({tenant, u}, watcher);
        *notify->add_users() = registry.state({tenant, u}, now);
    }
    ctx_.routes.post(watcher.shard, [device = watcher.device, frame] {
        if (auto d = device.lock()) d->send(*frame);
    });
}

}  // namespace tern::core
