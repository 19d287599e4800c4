// The device registry and presence of the users homed on one shard.
//
// Every user has a home shard (a hash of tenant and user). Its registry knows each online device
// of the user (which shard and connection holds it), enforces the devices-per-user limit, replaces
// a device that connects again, aggregates the devices' presence into the user's, and keeps the
// connections that follow the user's presence. It only decides: the service posts what it
// returns (closes, notifications) to the shards concerned. One registry per shard, touched only
// on that shard's thread, so nothing here locks.
//
// Connections are named by weak pointers, compared by owner: the registry's own weak pointer keeps
// the control block alive, so an entry can never be confused with a later connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <tern/core/device_port.hpp>
#include <tern/storage/types.hpp>

#include "tern/v1/presence.pb.h"

namespace tern::core {

// A connection, and the shard that holds it.
struct endpoint {
    std::size_t shard = 0;
    std::weak_ptr<device_port> device;
    std::uint64_t connection = 0;  // device_port::id(): later connections have larger ids

    [[nodiscard]] static endpoint of(const std::shared_ptr<device_port>& d) {
        return {d->shard(), d, d->id()};
    }
    [[nodiscard]] bool same(const endpoint& other) const noexcept {
        return !device.owner_before(other.device) && !other.device.owner_before(device);
    }
};

// Which of two connections of one device is the newer (Hello.client_instance and attempt). A
// client instance numbers its attempts, which stays right when a proxy or a slow handshake
// reorders them; across instances (or for clients that send none) accept order decides.
struct handshake_order {
    std::string instance;
    std::uint64_t attempt = 0;
};

struct presence_user {
    storage::tenant_id tenant = 0;
    storage::user_id user = 0;
    friend bool operator==(const presence_user&, const presence_user&) = default;
};

struct presence_user_hash {
    std::size_t operator()(const presence_user& u) const noexcept;
};

class presence_registry {
public:
    struct admission {
        bool admitted = false;
        std::optional<endpoint> replaced;  // the same device's previous connection: close it
        bool superseded = false;           // refused: the device already has a later connection
        bool changed = false;              // the user's presence changed: notify the watchers
    };

    // Registers a device that completed its handshake (ONLINE). The same device id replaces its
    // earlier connection; a connection older than the one registered (a stale handshake that
    // finished late, after a quick reconnect: see handshake_order) is refused as superseded; a
    // new device beyond `max_devices` is refused.
    admission admit(const presence_user& u, storage::device_id device, endpoint where,
                    handshake_order order, std::size_t max_devices, std::int64_t now_ms);

    // The connection closed. Returns whether the user's presence changed. A connection that was
    // replaced (or never admitted) changes nothing.
    bool remove(const presence_user& u, storage::device_id device, const endpoint& where,
                std::int64_t now_ms);

    // The device set its status. Returns whether the user's presence changed.
    bool update(const presence_user& u, storage::device_id device, const endpoint& where,
                v1::PresenceStatus status, std::string text, std::int64_t now_ms);

    // Starts (or stops) sending the user's presence changes to `watcher`.
    void watch(const presence_user& u, const endpoint& watcher);
    void unwatch(const presence_user& u, const endpoint& watcher);

    // The user's presence as subscribers see it (OFFLINE and last_seen 0 for unknown users).
    [[nodiscard]] v1::UserPresence state(const presence_user& u, std::int64_t now_ms) const;
    [[nodiscard]] const std::vector<endpoint>& watchers(const presence_user& u) const;
    [[nodiscard]] std::size_t online_devices(const presence_user& u) const;

private:
    struct device_state {
        storage::device_id id = 0;
        endpoint where;
        handshake_order order;
        v1::PresenceStatus status = v1::PRESENCE_ONLINE;
        std::string text;
        std::uint64_t updated = 0;  // update order: the newest text of the winning status shows
    };
    struct record {
        std::vector<device_state> devices;
        std::vector<endpoint> watchers;
        v1::PresenceStatus status = v1::PRESENCE_OFFLINE;  // as last announced
        std::string text;
    };
    using record_map = std::unordered_map<presence_user, record, presence_user_hash>;

    // Recomputes the user's presence from the devices; true if it differs from the announced one.
    // A user whose last device left is remembered as last seen now.
    bool reaggregate(const presence_user& u, record& r, std::int64_t now_ms);
    // Forgets a record with no device and no watcher (its last-seen time stays).
    void drop_if_empty(record_map::iterator it);

    record_map users_;
    // Users with no device online, and when they were last seen: a few bytes per user seen since
    // the start, so that subscribers learn "last seen" of users nobody was watching.
    std::unordered_map<presence_user, std::int64_t, presence_user_hash> last_seen_;
    std::uint64_t updates_ = 0;
};

// ONLINE > AWAY > DO_NOT_DISTURB > OFFLINE: the user shows the most available device's status.
[[nodiscard]] int availability(v1::PresenceStatus status) noexcept;

}  // namespace tern::core
