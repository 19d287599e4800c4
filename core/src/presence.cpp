#include "presence.hpp"

#include <algorithm>
#include <functional>

namespace tern::core {

std::size_t presence_user_hash::operator()(const presence_user& u) const noexcept {
    const auto h = std::hash<std::uint64_t>{}(u.tenant);
    return h ^ (std::hash<std::uint64_t>{}(u.user) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

int availability(v1::PresenceStatus status) noexcept {
    switch (status) {
        case v1::PRESENCE_ONLINE:
            return 3;
        case v1::PRESENCE_AWAY:
            return 2;
        case v1::PRESENCE_DO_NOT_DISTURB:
            return 1;
        default:
            return 0;
    }
}

namespace {

// Whether a handshake (`where`, `order`) is newer than the device's registered connection.
bool newer_than(const endpoint& where, const handshake_order& order,
                const endpoint& registered_where, const handshake_order& registered) {
    if (!order.instance.empty() && order.instance == registered.instance &&
        order.attempt != registered.attempt) {
        return order.attempt > registered.attempt;
    }
    return where.connection > registered_where.connection;
}

}  // namespace

presence_registry::admission presence_registry::admit(const presence_user& u,
                                                      storage::device_id device, endpoint where,
                                                      handshake_order order,
                                                      std::size_t max_devices,
                                                      std::int64_t now_ms) {
    auto& r = users_[u];
    admission out;
    auto same_device = std::find_if(r.devices.begin(), r.devices.end(),
                                    [&](const auto& d) { return d.id == device; });
    if (same_device != r.devices.end()) {
        if (!newer_than(where, order, same_device->where, same_device->order)) {
            out.superseded = true;
            return out;
        }
        out.replaced = std::move(same_device->where);
        *same_device = {device, std::move(where), std::move(order), v1::PRESENCE_ONLINE,
                        {},     ++updates_};
    } else if (r.devices.size() >= max_devices) {
        drop_if_empty(users_.find(u));
        return out;
    } else {
        r.devices.push_back(
            {device, std::move(where), std::move(order), v1::PRESENCE_ONLINE, {}, ++updates_});
    }
    out.admitted = true;
    out.changed = reaggregate(u, r, now_ms);
    return out;
}

bool presence_registry::remove(const presence_user& u, storage::device_id device,
                               const endpoint& where, std::int64_t now_ms) {
    auto it = users_.find(u);
    if (it == users_.end()) return false;
    auto& r = it->second;
    const auto removed = std::erase_if(
        r.devices, [&](const auto& d) { return d.id == device && d.where.same(where); });
    const bool changed = removed > 0 && reaggregate(u, r, now_ms);
    drop_if_empty(it);
    return changed;
}

bool presence_registry::update(const presence_user& u, storage::device_id device,
                               const endpoint& where, v1::PresenceStatus status, std::string text,
                               std::int64_t now_ms) {
    auto it = users_.find(u);
    if (it == users_.end()) return false;
    auto& r = it->second;
    for (auto& d : r.devices) {
        if (d.id != device || !d.where.same(where)) continue;
        d.status = status;
        d.text = std::move(text);
        d.updated = ++updates_;
        return reaggregate(u, r, now_ms);
    }
    return false;
}

void presence_registry::watch(const presence_user& u, const endpoint& watcher) {
    auto& watchers = users_[u].watchers;
    const bool known = std::any_of(watchers.begin(), watchers.end(),
                                   [&](const auto& w) { return w.same(watcher); });
    if (!known) watchers.push_back(watcher);
}

void presence_registry::unwatch(const presence_user& u, const endpoint& watcher) {
    auto it = users_.find(u);
    if (it == users_.end()) return;
    std::erase_if(it->second.watchers, [&](const auto& w) { return w.same(watcher); });
    drop_if_empty(it);
}

v1::UserPresence presence_registry::state(const presence_user& u, std::int64_t now_ms) const {
    v1::UserPresence out;
    out.set_user_id(u.user);
    out.set_status(v1::PRESENCE_OFFLINE);
    if (auto it = users_.find(u); it != users_.end() && !it->second.devices.empty()) {
        out.set_status(it->second.status);
        out.set_status_text(it->second.text);
        out.set_last_seen_ms(now_ms);  // online now
        return out;
    }
    if (auto seen = last_seen_.find(u); seen != last_seen_.end()) {
        out.set_last_seen_ms(seen->second);
    }
    return out;
}

const std::vector<endpoint>& presence_registry::watchers(const presence_user& u) const {
    static const std::vector<endpoint> none;
    auto it = users_.find(u);
    return it == users_.end() ? none : it->second.watchers;
}

std::size_t presence_registry::online_devices(const presence_user& u) const {
    auto it = users_.find(u);
    return it == users_.end() ? 0 : it->second.devices.size();
}

bool presence_registry::reaggregate(const presence_user& u, record& r, std::int64_t now_ms) {
    v1::PresenceStatus status = v1::PRESENCE_OFFLINE;
    const device_state* shown = nullptr;
    for (const auto& d : r.devices) {
        if (!shown || availability(d.status) > availability(status) ||
            (availability(d.status) == availability(status) && d.updated > shown->updated)) {
            status = d.status;
            shown = &d;
        }
    }
    std::string text = shown ? shown->text : std::string{};
    if (r.devices.empty()) {
        last_seen_[u] = now_ms;
    } else {
        last_seen_.erase(u);
    }
    if (status == r.status && text == r.text) return false;
    r.status = status;
    r.text = std::move(text);
    return true;
}

void presence_registry::drop_if_empty(record_map::iterator it) {
    if (it == users_.end()) return;
    if (it->second.devices.empty() && it->second.watchers.empty()) users_.erase(it);
}

}  // namespace tern::core
