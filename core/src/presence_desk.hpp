// Admission and presence: what each user's home shard (router::home_of) decides about the user's
// devices, with the presence registry (presence.hpp) of the users homed there.
//
// - admit(): a device that completed its handshake is admitted on its home shard (the device
//   limit; the same device connecting again replaces its earlier connection, and starts after
//   everything that one acknowledged: session_handover.hpp; a stale handshake is superseded),
//   then opened on its own shard by the device table, or refused there.
// - depart(): its connection closed; the user may go offline; its floor is kept.
// - on_update() and on_subscribe(): a device's PresenceUpdate and PresenceSubscribe, answered on
//   its shard; the change is applied on the home shards, which tell every watcher, one post per
//   shard holding watchers.
//
// Threading: admit() from any thread (it posts to the home shard); depart(), on_update() and
// on_subscribe() on the device's shard; the rest on the home shard. Each registry is touched only
// on its shard.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "device_table.hpp"
#include "presence.hpp"
#include "session_handover.hpp"

namespace tern::v1 {
class Hello;
}

namespace tern::core {

class presence_desk {
public:
    presence_desk(const context& ctx, device_table& devices);

    void admit(const std::shared_ptr<device_port>& device, const v1::Hello& hello,
               v1::Frame welcome);
    // The device's connection closed; `left`: what it leaves (device_table::close).
    void depart(const std::shared_ptr<device_port>& device,
                const device_table::closed_device& left);

    void on_update(const std::shared_ptr<device_port>& device, const v1::Frame& frame);
    void on_subscribe(const std::shared_ptr<device_port>& device, const v1::Frame& frame);

private:
    // What a home shard keeps: its users' presence and the handover of their devices' sessions.
    struct home_shard {
        presence_registry registry;
        session_handover handover;
    };

    void admit_at_home(std::size_t home, const requester& who, const endpoint& where,
                       handshake_order order, std::optional<std::uint64_t> resume, bool desktop,
                       v1::Frame welcome);
    // The device connected again while `predecessor` is open: wait for it to end (or close it
    // after the grace), then open; an earlier admission still waiting is closed.
    void wait_for_predecessor(std::size_t home, const requester& who, const endpoint& where,
                              const endpoint& predecessor, v1::Frame welcome);
    // From the home shard: opens the admitted device on its own shard.
    void open_later(const requester& who, const endpoint& where, const resume_point& resume,
                    v1::Frame welcome);
    void open_on_device_shard(const requester& who, const endpoint& where,
                              const resume_point& resume, v1::Frame welcome);
    // On the home shard: the connection ended; `acked` is its floor.
    void unregister(const requester& who, const endpoint& where,
                    std::optional<std::uint64_t> acked);
    // Registers (or removes) `watcher` with the home shard of each of `users`; registering
    // answers with their current state.
    void follow(storage::tenant_id tenant, const endpoint& watcher,
                const std::vector<storage::user_id>& users, bool start);
    void follow_at_home(std::size_t home, storage::tenant_id tenant, const endpoint& watcher,
                        const std::vector<storage::user_id>& users, bool start);
    // On the user's home shard: the user's presence changed; tell every watcher.
    void announce(std::size_t home, const presence_user& user);

    context ctx_;
    device_table& devices_;
    shard_local<home_shard> homes_;
};

}  // namespace tern::core
