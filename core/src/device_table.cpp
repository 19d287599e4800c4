#include "device_table.hpp"

#include <algorithm>

namespace tern::core {

device_table::device_table(const context& ctx, const std::atomic<bool>& draining, push_port* pushes)
    : ctx_(ctx),
      draining_(draining),
      directory_(ctx.routes.shard_count()),
      shards_(ctx.routes.shard_count()),
      policies_(ctx.store),
      pushes_(ctx, pushes, policies_,
              [this](storage::tenant_id tenant, storage::user_id user,
                     std::shared_ptr<const v1::Frame> frame) {
                  to_user(tenant, user, std::move(frame));
              }) {}

bool device_table::open(const std::shared_ptr<device_port>& device, const resume_point& resume,
                        v1::Frame welcome) {
    const auto& who = device->who();
    const auto shard = device->shard();
    const user_key user{who.tenant, who.user};
    // In the directory before the store is read: a commit published after this read finds the
    // device's shard (device_directory.hpp).
    directory_.add(shard, user.tenant, user.user);
    const auto first = first_page(who, resume);
    if (!first) {
        directory_.remove(shard, user.tenant, user.user);
        ctx_.report.failed(failure::store_read_failed,
                           "a device's first page, tenant " + std::to_string(who.tenant));
        refuse_handshake(*device, welcome.req_id(), v1::UNAVAILABLE, "store read failed; retry");
        return false;
    }
    if (draining_.load()) {
        // Admitted by the home shard while the drain began: this shard's drain has listed its
        // devices already, so the device is refused here.
        directory_.remove(shard, user.tenant, user.user);
        refuse_handshake(*device, welcome.req_id(), v1::DRAINING,
                         "the server is draining; reconnect");
        return false;
    }
    // The user's notification settings and the tenant's policy: a failed read only costs the
    // announcements they would have silenced, so it does not refuse the device.
    auto own = own_profile(who);
    auto profile = in_force(own, policy(who.tenant).get());
    welcome.mutable_welcome()->set_inbox_head(first->head);
    welcome.mutable_welcome()->set_resume_from(first->after);
    if (!device->admit(welcome)) {
        directory_.remove(shard, user.tenant, user.user);
        return false;
    }
    auto& devices = shards_[shard].online[user];
    devices.push_back(
        {device, first->after, first->after, true, {}, std::move(own), std::move(profile), {}});
    // The first page now, not posted: its pushes join the Welcome in one write (the
    // connection's writer runs after this handler), a system call fewer per login.
    push_page(shard, user, devices.back(), first->items);
    return true;
}

void device_table::acknowledged(const std::shared_ptr<device_port>& device,
                                std::uint64_t inbox_seq) {
    auto* entry = find(device->shard(), {device->who().tenant, device->who().user}, device.get());
    if (entry) entry->acked = std::max(entry->acked, inbox_seq);
}

device_table::closed_device device_table::close(const std::shared_ptr<device_port>& device) {
    const auto shard = device->shard();
    auto& online = shards_[shard].online;
    const user_key user{device->who().tenant, device->who().user};
    auto it = online.find(user);
    if (it == online.end()) return {};
    auto entry = std::find_if(it->second.begin(), it->second.end(),
                              [&](const device_entry& d) { return d.port == device; });
    if (entry == it->second.end()) return {};
    closed_device left{std::move(entry->watching), entry->acked};
    it->second.erase(entry);
    if (it->second.empty()) online.erase(it);
    directory_.remove(shard, user.tenant, user.user);
    return left;
}

device_table::device_entry* device_table::find(std::size_t shard, const user_key& user,
                                               const device_port* port) {
    auto& online = shards_[shard].online;
    auto it = online.find(user);
    if (it == online.end()) return nullptr;
    for (auto& d : it->second) {
        if (d.port.get() == port) return &d;
    }
    return nullptr;
}

std::vector<storage::user_id>* device_table::watching(const std::shared_ptr<device_port>& device) {
    auto* entry = find(device->shard(), {device->who().tenant, device->who().user}, device.get());
    return entry ? &entry->watching : nullptr;
}

void device_table::for_each(std::size_t shard,
                            const std::function<void(const std::shared_ptr<device_port>&)>& f) {
    // Copied first: f may close a device, which may change the table.
    std::vector<std::shared_ptr<device_port>> ports;
    for (const auto& [user, devices] : shards_[shard].online) {
        for (const auto& d : devices) ports.push_back(d.port);
    }
    for (const auto& p : ports) f(p);
}

// ---- fan-out ----------------------------------------------------------------------------------

void device_table::dispatch(storage::tenant_id tenant, std::shared_ptr<const delivery> batch) {
    device_directory::publish_fence();
    shard_set targets;
    for (const auto& a : batch->inbox) directory_.collect(tenant, a.user, targets);
    for (std::size_t i = 0; i < directory_.shard_count(); ++i) {
        if (!targets.contains(i)) continue;
        ctx_.routes.post(i, [this, i, tenant, batch] { deliver(i, tenant, *batch); });
    }
    pushes_.dispatch(tenant, batch);
}

void device_table::to_user(storage::tenant_id tenant, storage::user_id user,
                           std::shared_ptr<const v1::Frame> frame) {
    const auto targets = directory_.shards_of(tenant, user);
    for (std::size_t i = 0; i < directory_.shard_count(); ++i) {
        if (!targets.contains(i)) continue;
        ctx_.routes.post(
            i, [this, i, key = user_key{tenant, user}, frame] { send_to_user(i, key, *frame); });
    }
}

void device_table::set_profile(storage::tenant_id tenant, storage::user_id user,
                               std::shared_ptr<const user_profile> profile) {
    pushes_.settings_changed(tenant, user, profile);
    const auto targets = directory_.shards_of(tenant, user);
    for (std::size_t i = 0; i < directory_.shard_count(); ++i) {
        if (!targets.contains(i)) continue;
        ctx_.routes.post(i, [this, i, key = user_key{tenant, user}, profile] {
            auto it = shards_[i].online.find(key);
            if (it == shards_[i].online.end()) return;
            // The policy now, on the shard: a policy set meanwhile reached the cache first.
            const auto effective = in_force(profile, policy(key.tenant).get());
            for (auto& device : it->second) {
                device.own = profile;
                device.profile = effective;
                device.hours = {};
            }
        });
    }
}

void device_table::set_policy(storage::tenant_id tenant,
                              std::shared_ptr<const tenant_policy> policy) {
    policies_.set(tenant, policy);
    for (std::size_t i = 0; i < directory_.shard_count(); ++i) {
        ctx_.routes.post(i, [this, i, tenant, policy] {
            for (auto& [key, devices] : shards_[i].online) {
                if (key.tenant != tenant || devices.empty()) continue;
                // Every device of a user holds the same own settings: resolved once per user.
                const auto effective = in_force(devices.front().own, policy.get());
                for (auto& device : devices) {
                    device.profile = effective;
                    device.hours = {};
                }
            }
        });
    }
}

std::shared_ptr<const tenant_policy> device_table::policy(storage::tenant_id tenant) {
    auto known = policies_.of(tenant);
    if (known) return *known;
    ctx_.report.failed(failure::store_read_failed,
                       "a tenant's notification policy, tenant " + std::to_string(tenant));
    return nullptr;
}

std::shared_ptr<const user_profile> device_table::own_profile(const requester& who) {
    auto settings = ctx_.store.user_settings(who.tenant, who.user);
    if (settings) return profile_of_stored(*settings);
    ctx_.report.failed(failure::store_read_failed,
                       "a user's notification settings, tenant " + std::to_string(who.tenant));
    return nullptr;
}

void device_table::to_members(storage::tenant_id tenant,
                              std::shared_ptr<const std::vector<storage::user_id>> members,
                              storage::user_id except, std::shared_ptr<const v1::Frame> frame) {
    shard_set targets;
    for (auto m : *members) {
        if (m != except) directory_.collect(tenant, m, targets);
    }
    for (std::size_t i = 0; i < directory_.shard_count(); ++i) {
        if (!targets.contains(i)) continue;
        ctx_.routes.post(i, [this, i, tenant, members, except, frame] {
            send_to_members(i, tenant, *members, except, *frame);
        });
    }
}

// On every shard the batch was posted to: push the event to this shard's devices of its
// recipients.
void device_table::deliver(std::size_t shard, storage::tenant_id tenant, const delivery& batch) {
    auto& online = shards_[shard].online;
    std::size_t pushed = 0;
    const auto facts = batch.basis.facts();
    const auto now_ms = ctx_.time.unix_ms();
    for (const auto& [user, inbox_seq] : batch.inbox) {
        auto it = online.find({tenant, user});
        if (it == online.end()) continue;
        // Every device of the user holds the same settings: the first one keeps the hours.
        auto& first = it->second.front();
        const auto announce = decide_for(facts, batch.basis.mutes.get(), user, first.profile.get(),
                                         first.hours, now_ms)
                                  .level;
        for (auto& device : it->second) {
            if (device.catching_up || inbox_seq <= device.cursor) continue;
            if (inbox_seq != device.cursor + 1) {
                // A gap (a push lost or overtaken): the store has everything up to here.
                start_catch_up(shard, {tenant, user}, device);
                continue;
            }
            if (push(device, inbox_seq, batch.event, announce)) ++pushed;
        }
    }
    if (pushed != 0) {
        ctx_.report.messages_delivered(pushed,
                                       std::chrono::steady_clock::now() - batch.accepted_at);
    }
}

bool device_table::push(device_entry& device, std::uint64_t inbox_seq,
                        const storage::event_bytes& event, notice announce) {
    if (!device.port->push(inbox_seq, event, announce)) {
        // decide() bounds every event under the frame limit: this is a bug, reported. The cursor
        // stays, so the next push finds the gap and the device reads the store.
        ctx_.report.failed(failure::push_not_framed,
                           "an event of " + std::to_string(event->size()) + " bytes");
        return false;
    }
    device.cursor = inbox_seq;
    return true;
}

void device_table::send_to_user(std::size_t shard, const user_key& user, const v1::Frame& frame) {
    auto& online = shards_[shard].online;
    auto it = online.find(user);
    if (it == online.end()) return;
    for (auto& device : it->second) device.port->send(frame);
}

void device_table::send_to_members(std::size_t shard, storage::tenant_id tenant,
                                   const std::vector<storage::user_id>& members,
                                   storage::user_id except, const v1::Frame& frame) {
    auto& online = shards_[shard].online;
    const auto size = frame.ByteSizeLong() + 16;  // with the framing's few bytes
    const auto send = [&](std::vector<device_entry>& devices) {
        for (auto& d : devices) {
            if (d.port->has_room(size)) d.port->send(frame);
        }
    };
    // Whichever is smaller: the members, looked up online, or the online users, looked up among
    // the members.
    if (members.size() <= online.size()) {
        for (auto m : members) {
            if (m == except) continue;
            if (auto it = online.find({tenant, m}); it != online.end()) send(it->second);
        }
        return;
    }
    for (auto& [user, devices] : online) {
        if (user.tenant != tenant || user.user == except) continue;
        if (std::binary_search(members.begin(), members.end(), user.user)) send(devices);
    }
}

}  // namespace tern::core
