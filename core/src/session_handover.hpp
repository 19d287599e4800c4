// The handover between a device's sessions: its next session starts after everything its
// previous session acknowledged, however quickly it reconnects.
//
// An Ack is applied by the commit writer, asynchronously, so the stored device cursor can lag
// what a device acknowledged just before it closed. Two things close that gap, both kept on the
// user's home shard (where admissions are decided):
//
// - A *resume floor*: a session that ends reports the newest inbox_seq it acknowledged (or was
//   resumed from); the device's next session resumes from at least that. A floor is consumed by
//   the next admission and otherwise forgotten after floor_ttl, long after its Ack is durable.
// - A *waiting admission*: a device that connects again while its previous connection is still
//   open (the server has not yet read that connection's end, and maybe its last Acks) is admitted
//   only once the previous one has ended and reported its floor. The previous connection gets
//   replace_grace to end by itself (a client that closed it did), then it is closed as REPLACED;
//   after handover_limit the new session opens regardless.
//
// A device that names its own position (Hello.resume_inbox_seq) gets exactly that, at once.
//
// One per home shard, touched only there: plain state, no locks, no clocks of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include <tern/core/requester.hpp>

#include "presence.hpp"
#include "tern/v1/frame.pb.h"

namespace tern::core {

struct device_key {
    storage::tenant_id tenant = 0;
    storage::user_id user = 0;
    storage::device_id device = 0;
    friend bool operator==(const device_key&, const device_key&) = default;
    [[nodiscard]] static device_key of(const requester& who) noexcept {
        return {who.tenant, who.user, who.device};
    }
};

struct device_key_hash {
    std::size_t operator()(const device_key& k) const noexcept;
};

// Where a new session starts: the device's own word if it gave one, else the later of its
// stored cursor and the floor its previous session left.
struct resume_point {
    std::optional<std::uint64_t> hint;
    std::uint64_t floor = 0;
};

// An admitted session held back until its device's previous connection has ended.
struct waiting_admission {
    requester who;
    endpoint successor;    // the new connection, paused in its handshake
    endpoint predecessor;  // the connection it waits for
    v1::Frame welcome;
    std::uint64_t ticket = 0;  // names this wait to its timers
};

class session_handover {
public:
    static constexpr std::chrono::milliseconds replace_grace{250};
    static constexpr std::chrono::milliseconds handover_limit{5000};
    static constexpr std::chrono::minutes floor_ttl{5};

    // A session of the device ended, having acknowledged up to `acked`.
    void departed(const device_key& key, std::uint64_t acked, std::int64_t now_ms);
    // The floor for the device's next session (0 if none), consumed.
    [[nodiscard]] std::uint64_t take_floor(const device_key& key);

    // Holds `w` back until w.predecessor ends. If the device already had a waiting admission,
    // that one is displaced and returned (its connection is to be closed); when `w` replaced
    // exactly that connection, `w` waits for the displaced one's predecessor instead.
    std::optional<waiting_admission> park(const device_key& key, waiting_admission w);
    // The device's waiting admission with `ticket`, if it still waits.
    [[nodiscard]] const waiting_admission* waiting(const device_key& key,
                                                   std::uint64_t ticket) const;
    // `ended` ended: the admission that waited for it, if any, no longer waits.
    std::optional<waiting_admission> release(const device_key& key, const endpoint& ended);
    // The admission with `ticket` stops waiting (its limit passed), if it still waits.
    std::optional<waiting_admission> expire(const device_key& key, std::uint64_t ticket);
    // The device's waiting admission, if any, no longer waits: a later connection overtook it.
    std::optional<waiting_admission> cancel(const device_key& key);

    [[nodiscard]] std::uint64_t next_ticket() noexcept { return ++tickets_; }
    [[nodiscard]] std::size_t floors() const noexcept { return floors_.size(); }

private:
    struct floor_entry {
        std::uint64_t acked = 0;
        std::int64_t at_ms = 0;
    };
    // Forgets floors older than floor_ttl; run when the map has doubled since the last sweep.
    void sweep(std::int64_t now_ms);

    std::unordered_map<device_key, floor_entry, device_key_hash> floors_;
    std::unordered_map<device_key, waiting_admission, device_key_hash> waiting_;
    std::size_t sweep_at_ = 1024;
    std::uint64_t tickets_ = 0;
};

}  // namespace tern::core
